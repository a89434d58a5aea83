"""The Spark job over a small Parquet history (made with ``overflight ingest`` and
``overflight history archive``) equals the embedded rebuild, with ICAO airports."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

DAY_START = 1720224000.0  # 2024-07-06 00:00 UTC
DAY_END = DAY_START + 86400.0


def _run(*args: str) -> str:
    """``overflight ARGS`` in this process (the compiled kernels are loaded once)."""
    from typer.testing import CliRunner

    from overflight.cli import app

    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def history(shared: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    flight = shared("modes-traffic-samples/full_flight_short.jsonl.gz")
    sample = shared("modes-traffic-samples/sample_dump1090.bin")
    d = tmp_path_factory.mktemp("history")
    db = d / "h.duckdb"
    _run("ingest", str(flight), "--db", str(db))
    _run("ingest", str(sample), "--db", str(db), "--start-time", "1720248189.5")
    out = _run("history", "archive", "--before", "2024-07-07", "--db", str(db))
    assert "positions" in out
    archive = d / "h-archive"
    assert list((archive / "positions").glob("day=2024-07-06/*.parquet"))
    return archive


def test_spark_job_equals_embedded_rebuild(history: Path) -> None:
    pytest.importorskip("pyspark",
                        reason="pyspark is not installed (pip install overflight[spark])")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime for Spark (Debian: apt-get install default-jre-headless)")
    from overflight.batch.flights import embedded_flights, spark_flights, spark_session

    want = embedded_flights(history, DAY_START, DAY_END)
    assert [(r["icao24"], r["departure_airport"], r["arrival_airport"])
            for r in want.to_pylist()] == [("393322", "LFPG", "LFBO")]
    spark = spark_session("local[1]", conf={"spark.sql.shuffle.partitions": "3"})
    try:
        got = spark_flights(spark, history, DAY_START, DAY_END)
        # a window that holds nothing gives nothing
        none = spark_flights(spark, history, DAY_END, DAY_END + 86400.0)
    finally:
        spark.stop()
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()
    assert none.num_rows == 0


def test_cli_embedded(history: Path) -> None:
    out = _run("batch", "flights", "--from", "2024-07-06", "--to", "2024-07-07", "--history",
               str(history), "--embedded")
    assert "393322" in out and "LFPG" in out and "LFBO" in out and "AFR34ZG" in out
