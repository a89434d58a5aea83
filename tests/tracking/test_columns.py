"""Tracking a ``decode_batch(columns=TRACKER_COLUMNS)`` table equals tracking the full table."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from overflight.frames import FrameBatch
from overflight.mlat import ReceiverRegistry
from overflight.modes import decode_batch
from overflight.modes.batch import TABLE_COLUMNS
from overflight.pipeline import MLAT_SLICE_S, decode_frames, time_slices
from overflight.sim import mlat_demo, simulate
from overflight.sources.files import read_batches
from overflight.tracking import TRACKER_COLUMNS, Tracker
from overflight.tracking.mlat_feed import MlatFeed
from overflight.tracking.sbs import sbs_records

from ._frames import batch_from_hex, cut_hex, load_jsonl

FULL = "modes-traffic-samples/full_flight_short.jsonl.gz"
LFPG = (49.0097, 2.5479)


def _track_with_mlat(
    tr: Tracker,
    batch: FrameBatch,
    table: pa.Table,
    mlat: MlatFeed,
    emit: Callable[[pa.Table, pa.Table, pa.Table], None],
) -> None:
    """Track ``batch`` slice by slice, feeding MLAT and applying its fixes in between (as the
    pipeline does); ``emit(table_slice, positions, mlat_positions)``."""
    none = pa.table({})
    for a, b in time_slices(batch.time_s, MLAT_SLICE_S):
        part = table.slice(a, b - a)
        positions = tr.update(part)
        emit(part, positions, positions.slice(0, 0))
        mlat.add(batch.take(np.arange(a, b)), part, tr)
        fixes = mlat.flush(tr)
        if fixes.num_rows:
            emit(none, positions.slice(0, 0), fixes)


def _run(
    batches: Iterable[FrameBatch],
    decode: Callable[[FrameBatch], pa.Table],
    receiver_lat_lon: tuple[float, float] | None = None,
    mlat: MlatFeed | None = None,
) -> tuple[list[Any], list[Any], list[Any], Tracker]:
    """Positions, SBS records and final states of tracking ``batches`` decoded by ``decode``."""
    tr = Tracker(receiver_lat_lon)
    positions: list[pa.Table] = []
    records: list[Any] = []

    def emit(part: pa.Table, pos: pa.Table, fixes: pa.Table) -> None:
        if part.num_rows:
            records.extend(sbs_records(tr, part, pos))
        positions.extend([pos, fixes])

    for batch in batches:
        table = decode(batch)
        if mlat is not None:
            _track_with_mlat(tr, batch, table, mlat, emit)
        else:
            emit(table, tr.update(table), pa.table({}))
    rows = pa.concat_tables([p for p in positions if p.num_rows]).to_pylist()
    return rows, records, [repr(a) for a in tr.all_aircraft()], tr


def _same(batches: list[FrameBatch], **kw: Any) -> tuple[Tracker, Tracker]:
    full = _run(batches, decode_batch, **kw)
    sub = _run(batches, decode_frames, **{**kw, "mlat": _fresh(kw.get("mlat"))})
    assert sub[0] == full[0]  # every accepted position, value for value
    assert sub[1] == full[1]  # every SBS record
    assert sub[2] == full[2]  # every aircraft state with its stamps
    assert sub[3].outcomes == full[3].outcomes and sub[3].dropped == full[3].dropped
    return full[3], sub[3]


def _fresh(feed: MlatFeed | None) -> MlatFeed | None:
    return None if feed is None else MlatFeed(feed.registry)


def test_tracker_columns_are_decode_batch_columns() -> None:
    assert set(TRACKER_COLUMNS) <= set(TABLE_COLUMNS)
    assert len(TRACKER_COLUMNS) == len(set(TRACKER_COLUMNS)) < len(TABLE_COLUMNS)
    # Comm-B supplies callsigns (BDS 2,0) and air speeds: those columns stay
    assert {"callsign", "tas_kt", "ias_kt", "selected_altitude_ft"} <= set(TRACKER_COLUMNS)
    with pytest.raises(ValueError):
        decode_batch(np.zeros((1, 14), np.uint8), columns=["no_such_column"])


def test_full_flight_same_with_column_subset(shared: Callable[[str], Path]) -> None:
    recs = load_jsonl(shared(FULL))
    batch = batch_from_hex(
        [cut_hex(r["frame"]) for r in recs], np.array([r["timestamp"] for r in recs])
    )
    n = len(batch)
    parts = [batch.take(np.arange(s, min(s + 5000, n))) for s in range(0, n, 5000)]
    full, _ = _same(parts, receiver_lat_lon=LFPG)
    assert full.get("393322") is not None and full.outcomes["global"] > 1000


def test_sample_dump1090_same_with_column_subset(shared: Callable[[str], Path]) -> None:
    batches = list(read_batches(shared("modes-traffic-samples/sample_dump1090.bin")))
    full, sub = _same(batches)
    # TJT62CB's callsign comes only from Comm-B BDS 2,0
    assert "TJT62CB" in {a.callsign for a in sub.all_aircraft()}
    assert len(full) == 3  # 440062, heard once, is not tracked (probation)


def test_mlat_demo_same_with_column_subset(tmp_path: Path) -> None:
    sim = simulate(mlat_demo(seed=2, duration_s=30.0))
    sim.write_receivers_csv(tmp_path / "rx.csv")
    feed = MlatFeed(ReceiverRegistry.from_csv(tmp_path / "rx.csv"))
    fb = sim.frames
    step = np.floor(fb.time_s - float(np.nanmin(fb.time_s))).astype(np.int64)
    batches = [fb.take(np.flatnonzero(step // 5 == k)) for k in range(int(step.max()) // 5 + 1)]
    full, _ = _same([b for b in batches if len(b)], mlat=feed)
    assert full.outcomes.get("direct", 0) > 0  # MLAT fixes were applied


def test_track_file_reads_raw_iq(shared: Callable[[str], Path]) -> None:
    """``track_file(fmt="iq")``: the RTL-SDR capture tracks one aircraft, 4D2023 (Air Malta
    A319 9H-AEM), descending through about 21,000 ft at 373-382 kt (iq-rtlsdr-modes1 README);
    times count from the first sample."""
    from overflight.pipeline import track_file

    tr = track_file(shared("iq-rtlsdr-modes1/modes1.bin"), fmt="iq", sample_rate_hz=2.0e6)
    (a,) = tr.all_aircraft()
    assert a.icao24 == "4d2023" and a.messages >= 214
    assert a.altitude_baro_ft is not None and 20_000 <= a.altitude_baro_ft <= 21_900
    assert a.groundspeed_kt is not None and 370 <= a.groundspeed_kt <= 385
    assert a.callsign == "AMC421" and a.lat_deg is not None
    assert 0.0 <= a.first_seen_s < a.last_seen_s < 0.2  # 0.178 s of samples
