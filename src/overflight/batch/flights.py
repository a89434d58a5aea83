"""``overflight batch flights``: flights rebuilt from archived positions by Spark.

Positions of the window are read from the Parquet days (partition pruning by ``day``),
repartitioned by aircraft address and sorted by ``(address, time_s)`` inside each partition,
and each partition (every position of its aircraft) goes through
:func:`overflight.flights.find_flights` in ``mapInArrow``: the very function a single machine
uses (:func:`embedded_flights`), so the result equals the embedded rebuild on the same data.
Flights come back as :data:`~overflight.station.schema.FLIGHTS_SCHEMA` rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

__all__ = [
    "embedded_flights",
    "flights_of_positions",
    "read_positions",
    "spark_flights",
    "spark_session",
]

_COLUMNS = ("address", "non_icao", "time_s", "lat_deg", "lon_deg", "altitude_ft",
            "groundspeed_kt", "track_deg", "vertical_rate_fpm", "on_ground", "callsign")


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).date().isoformat()


def flights_of_positions(positions: pa.Table, *, destinations: bool = True) -> pa.Table:
    """Flights (``FLIGHTS_SCHEMA``, in flight id order) of a table of archived positions:
    every position of each aircraft it holds must be in it."""
    from overflight.flights.build import find_flights
    from overflight.station.flights import positions_for_flights
    from overflight.station.schema import FLIGHTS_SCHEMA
    from overflight.station.updates import flights_table

    if positions.num_rows == 0:
        return FLIGHTS_SCHEMA.empty_table()
    cols = [c for c in _COLUMNS if c in positions.column_names]
    positions = positions.select(cols)
    if positions.schema.field("address").type != pa.uint32():
        positions = positions.set_column(
            0, "address", positions.column("address").cast(pa.uint32()))
    res = find_flights(positions_for_flights(positions), destinations=destinations)
    t = flights_table(res.flights)
    return t.sort_by("flight_id")


def read_positions(archive: Path | str, start_s: float | None = None,
                   end_s: float | None = None) -> pa.Table:
    """The archived positions of the window, read by pyarrow on one machine."""
    import pyarrow.dataset as ds

    base = Path(archive) / "positions"
    if not base.is_dir():
        raise FileNotFoundError(f"{base}: no archived positions")
    d = ds.dataset(str(base), format="parquet", partitioning="hive")
    filt = None
    if start_s is not None:
        filt = ds.field("time_s") >= float(start_s)
    if end_s is not None:
        f2 = ds.field("time_s") < float(end_s)
        filt = f2 if filt is None else filt & f2
    cols = [c for c in _COLUMNS if c in d.schema.names]
    return d.to_table(columns=cols, filter=filt)


def embedded_flights(archive: Path | str, start_s: float | None = None,
                     end_s: float | None = None) -> pa.Table:
    """The embedded rebuild: every position of the window in one process, one
    ``find_flights`` call."""
    return flights_of_positions(read_positions(archive, start_s, end_s))


def spark_session(master: str = "local[*]", app_name: str = "overflight-batch",
                  conf: dict[str, str] | None = None) -> Any:
    """A Spark session on ``master`` whose Python workers run this interpreter.

    Local workers are started by the JVM with ``PYSPARK_PYTHON`` (else whatever ``python3`` its
    PATH finds: outside an activated virtualenv, one without Overflight); the configuration key
    alone is not used by them (PySpark 4), so the variable is set too, when the user has not."""
    import os
    import sys

    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    b = (SparkSession.builder.master(master).appName(app_name)
         .config("spark.pyspark.python", sys.executable)
         .config("spark.pyspark.driver.python", sys.executable)
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", "8"))
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    return b.getOrCreate()


def _partition_job(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """One Spark partition: all positions of its aircraft -> their flights."""
    parts = list(batches)
    if not parts:
        return
    table = pa.Table.from_batches(parts)
    out = flights_of_positions(table)
    yield from out.cast(_wire_schema()).to_batches()


def _wire_schema() -> pa.Schema:
    """FLIGHTS_SCHEMA as Spark holds it: no unsigned integers, no fixed-size lists."""
    from overflight.station.schema import FLIGHTS_SCHEMA

    s = FLIGHTS_SCHEMA
    s = s.set(s.get_field_index("address"), pa.field("address", pa.int64(), nullable=False))
    return s.set(s.get_field_index("gaps_s"), pa.field("gaps_s", pa.list_(pa.list_(pa.float64()))))


def _spark_schema() -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(_wire_schema())


def spark_flights(spark: Any, archive: Path | str, start_s: float | None = None,
                  end_s: float | None = None, *, partitions: int | None = None) -> pa.Table:
    """Flights of the window rebuilt by Spark (see the module text), in flight id order."""
    from pyspark.sql import functions as sf

    from overflight.station.schema import FLIGHTS_SCHEMA

    base = str(Path(archive) / "positions")
    df = spark.read.option("basePath", base).parquet(base)
    if start_s is not None:
        df = df.where((sf.col("day") >= sf.lit(_day(start_s)).cast("date"))
                      & (sf.col("time_s") >= float(start_s)))
    if end_s is not None and math.isfinite(end_s):
        df = df.where((sf.col("day") <= sf.lit(_day(end_s)).cast("date"))
                      & (sf.col("time_s") < float(end_s)))
    cols = [c for c in _COLUMNS if c in df.columns]
    n = partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
    df = (df.select(*cols).repartition(n, "address")
          .sortWithinPartitions("address", "non_icao", "time_s"))
    out = df.mapInArrow(_partition_job, _spark_schema())
    table = out.toArrow() if hasattr(out, "toArrow") else out._collect_as_arrow()
    if isinstance(table, list):
        table = pa.Table.from_batches(table)
    return table.select(FLIGHTS_SCHEMA.names).cast(FLIGHTS_SCHEMA).sort_by("flight_id")
