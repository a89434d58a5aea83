"""Shared helpers of the bus tests: the real captures as batches, a reference single station,
and the bus replay (ingest side) over the same batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

BATCH_FRAMES = 4000


def capture_batches(data: Path) -> list[Any]:
    """The one-aircraft flight (LFPG -> LFBO) with the four aircraft of the dump1090 sample
    dated into its first minute, in batches of :data:`BATCH_FRAMES` frames, as a live station
    would take them."""
    from overflight.frames import FrameBatch
    from overflight.sources.files import read_batches

    d = data / "modes-traffic-samples"
    flight = FrameBatch.concat(list(read_batches(d / "full_flight_short.jsonl.gz")))
    t0 = float(np.nanmin(flight.time_s))
    sample = FrameBatch.concat(list(read_batches(d / "sample_dump1090.bin", start_time_s=t0)))
    both = FrameBatch.concat([sample, flight])
    order = np.argsort(both.time_s, kind="stable")
    both = both.take(order)
    return [both.take(np.arange(i, min(i + BATCH_FRAMES, len(both))))
            for i in range(0, len(both), BATCH_FRAMES)]


class Collect:
    def __init__(self) -> None:
        self.tables: dict[str, list[pa.Table]] = {}

    def __call__(self, update: Any) -> None:
        if update.name != "frames":
            self.tables.setdefault(update.name, []).append(update.table)

    def table(self, name: str) -> pa.Table | None:
        t = self.tables.get(name)
        return pa.concat_tables(t) if t else None


def reference(batches: list[Any]) -> tuple[Any, Collect]:
    """The single process: one station over the same batches."""
    from overflight.station import Station, StationConfig

    st = Station(StationConfig(identify=False))
    c = Collect()
    st.subscribe(c, inline=True)
    for b in batches:
        st.process(b)
    st.finish()
    st.close()
    return st, c


def picture_rows(aircraft: Any) -> list[tuple[Any, ...]]:
    """Comparable rows of a picture's aircraft, by address."""
    rows = []
    for a in aircraft:
        rows.append((a.address, a.non_icao, a.icao24, a.callsign, a.squawk, a.messages,
                     a.positions, a.lat_deg, a.lon_deg, a.altitude_baro_ft, a.last_seen_s,
                     a.position_time_s, a.on_ground, a.groundspeed_kt, a.track_deg))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def flights_rows(t: pa.Table | None) -> list[dict[str, Any]]:
    if t is None:
        return []
    return sorted(t.to_pylist(), key=lambda r: r["flight_id"])


def chunks(xs: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(xs), n):
        yield xs[i:i + n]
