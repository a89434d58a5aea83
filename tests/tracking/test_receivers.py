"""The receiver that heard a frame is its surface (and local airborne) reference (issue 15): a
tracker given the receivers table decodes surface positions of an aircraft first heard on the
ground, with no station-wide receiver position."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.encode import encode_surface_position
from overflight.tracking import OUTCOME_NAMES, Tracker
from overflight.tracking._cpr import greatcircle_m

from ._frames import batch_from_hex, cut_hex, load_jsonl

FULL = "modes-traffic-samples/full_flight_short.jsonl.gz"
LFPG = (49.0097, 2.5479)
SVMI = (10.6031, -66.9906)
TAXI = 2000  # the first 2000 frames of the capture: taxiing at LFPG


@pytest.fixture(scope="module")
def taxi(shared: Callable[[str], Path]) -> pa.Table:
    recs = load_jsonl(shared(FULL))[:TAXI]
    frames = [cut_hex(r["frame"]) for r in recs]
    return decode_batch(batch_from_hex(frames, [r["timestamp"] for r in recs]))


def _heard_by(table: pa.Table, ids: Any) -> pa.Table:
    rx = pa.array(np.broadcast_to(np.asarray(ids, np.uint64), (table.num_rows,)), pa.uint64())
    return table.set_column(table.schema.get_field_index("receiver"), "receiver", rx)


def _rows(pos: pa.Table) -> list[tuple[float, float, bool]]:
    return list(zip(pos.column("lat_deg").to_pylist(), pos.column("lon_deg").to_pylist(),
                    pos.column("on_ground").to_pylist(), strict=True))  # fmt: skip


def test_the_hearing_receiver_resolves_surface_positions_as_the_station_position_does(
    taxi: pa.Table,
) -> None:
    station = Tracker(receiver_lat_lon=LFPG, airports=False).update(taxi)
    assert station.num_rows > 900 and all(station.column("on_ground").to_pylist())
    # two receivers around LFPG (the second 15 km east) hear alternate frames; no station position
    table = _heard_by(taxi, np.arange(taxi.num_rows) % 2 + 1)
    tr = Tracker(receivers={1: LFPG, 2: (49.0097, 2.75)}, airports=False)
    pos = tr.update(table)
    assert _rows(pos) == _rows(station)
    assert pos.column("reference").to_pylist()[0] == "receiver"
    # the hearing receiver wins over a station position that is wrong for this frame
    far = Tracker(receiver_lat_lon=SVMI, receivers={1: LFPG, 2: (49.0097, 2.75)}, airports=False)
    assert _rows(far.update(table)) == _rows(station)


def test_frames_from_receivers_outside_the_table_keep_the_old_references(taxi: pa.Table) -> None:
    table = _heard_by(taxi, 9)
    tr = Tracker(receivers={1: LFPG}, airports=False)
    assert tr.update(table).num_rows == 0
    assert tr.outcomes["no_reference"] > 900
    # ... the station's position where it has one
    pos = Tracker(LFPG, receivers={1: SVMI}, airports=False).update(table)
    assert pos.num_rows > 900
    # bad entries (not a position on Earth) are left out, not fatal
    bad = Tracker(receivers={9: (float("nan"), 0.0), 10: (95.0, 0.0)}, airports=False)
    assert bad.update(table).num_rows == 0


def _parked(icao: str, lat: float, lon: float, t0: float, n: int) -> list[tuple[bytes, float]]:
    return [
        (encode_surface_position(icao, lat, lon, 0.0, None, k % 2 == 1), t0 + 5.0 * k)
        for k in range(n)
    ]


def test_an_aircraft_first_heard_parked_at_svmi_is_placed_by_the_receiver_that_heard_it() -> None:
    """The An-124 of the caracas-2019 scenario, parked at SVMI for a day and heard by a
    receiver 15 km away: every surface frame after the first is a position on the ground."""
    stand = (10.5985, -66.9981)
    msgs = _parked("154073", *stand, t0=1_553_440_000.0, n=24)
    batch = FrameBatch.from_bytes(
        [m for m, _ in msgs],
        time_s=np.array([t for _, t in msgs]),
        receiver=np.full(len(msgs), 3201, np.uint64),
    )
    table = decode_batch(batch)
    rx = (10.7316, -66.9906)
    assert 14_000 < greatcircle_m(*rx, *stand) < 16_000
    # without a reference (no station position, no airports) nothing can be decoded
    none = Tracker(airports=False)
    assert none.update(table).num_rows == 0
    assert none.outcomes["no_reference"] == len(msgs)
    tr = Tracker(receivers={3201: rx}, airports=False)
    pos = tr.update(table)
    assert pos.num_rows == len(msgs) - 1
    assert all(pos.column("on_ground").to_pylist())
    assert pos.column("reference").to_pylist()[0] == "receiver"
    d = [greatcircle_m(la, lo, *stand) for la, lo, _ in _rows(pos)]
    assert max(d) < 10.0  # metres: the surface CPR resolution is ~1.3 m
    assert tr.rejections == dict.fromkeys(tr.rejections, 0)
    assert OUTCOME_NAMES.index("global") in tr.last_outcomes
