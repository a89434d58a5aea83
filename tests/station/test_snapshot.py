"""The live snapshot: a copy of the tracker's live records taken under the lock, its aircraft,
identities and aircraft.json built from the copy when first read; the same as building them
from ``Tracker.live()`` at the moment it was taken, however the tracker moved on since."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from overflight.frames import FrameBatch
from overflight.jsonout import dumps
from overflight.sources.files import read_batches
from overflight.station import Snapshot, Station, StationConfig
from overflight.station import snapshot as snapshot_module
from overflight.station.snapshot import take_snapshot
from overflight.tracking import aircraft_json
from overflight.tracking.records import AircraftState

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
SAMPLE = "modes-traffic-samples/sample_dump1090.bin"


@dataclasses.dataclass(frozen=True)
class Ident:
    registration: str | None
    type_code: str | None
    description: str | None
    operator: str | None
    db_flags: int
    year: int | None = None


class Registry:
    """An identifier with hostile strings; counts lookups."""

    def __init__(self) -> None:
        self.calls = 0

    def identify(self, address: int) -> Ident | None:
        self.calls += 1
        if address % 3 == 0:
            return None
        return Ident(f'R-{address:06X}"<b>', "B738", "Boeing </script>", "Ops\\\x00",
                     address % 16, 1990 + address % 30)


def _batches(path: Path) -> list[FrameBatch]:
    return list(read_batches(path, batch_size=2048))


def _states(states: tuple[AircraftState, ...] | list[AircraftState]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(a) for a in states]


def _expected(st: Station) -> tuple[list[AircraftState], dict[int, Any], bytes]:
    """What the snapshot must hold, built eagerly the old way: live states, identities and
    the per-aircraft writer's document."""
    tr = st.tracker
    live = sorted(tr.live(), key=lambda a: -a.last_seen_s)
    ids = {a.address: i for a in live if not a.non_icao
           and (i := st.identify(a.address)) is not None}
    doc = aircraft_json(live, tr.now_s, tr.messages, identify=ids.get)
    if st.config.simulated:
        doc["simulated"] = True
    return live, ids, dumps(doc).encode()


@pytest.mark.parametrize("capture", [SAMPLE, FLIGHT])
def test_snapshot_is_the_live_picture_when_taken(
    shared: Callable[[str], Path], capture: str
) -> None:
    batches = _batches(shared(capture))
    half = max(len(batches) // 2, 1)
    st = Station(StationConfig(identify=False), identifier=Registry())
    for b in batches[:half]:
        st.process(b)
    want_live, want_ids, want_bytes = _expected(st)
    assert want_live
    snap = take_snapshot(st)
    for b in batches[half:]:  # the tracker moves on; the snapshot must not
        st.process(b)
    st.finish()
    assert snap.aircraft_json_bytes() == want_bytes
    assert _states(snap.aircraft) == _states(want_live)
    assert dict(snap.identities) == want_ids
    assert snap.aircraft_json() == json.loads(want_bytes)
    a = next(x for x in snap.aircraft if x.address in want_ids)
    assert snap.identity(a) == want_ids[a.address]
    # the old construction from states gives the same document
    old = Snapshot(snap.time_s, snap.wall_s, snap.messages, snap.aircraft, snap.identities)
    assert old.aircraft_json_bytes() == want_bytes


def test_snapshot_builds_nothing_until_read(shared: Callable[[str], Path]) -> None:
    st = Station(StationConfig(identify=False, simulated=True))
    for b in _batches(shared(SAMPLE)):
        st.process(b)
    snap = take_snapshot(st)
    assert snap._aircraft is None and snap._json == {}  # the copy only
    raw = snap.aircraft_json_bytes()
    assert snap._aircraft is None  # aircraft.json needs no AircraftState
    assert raw is snap.aircraft_json_bytes()
    assert json.loads(raw)["simulated"] is True
    assert _expected(st)[2] == raw
    with pytest.raises(AttributeError):
        snap.messages = 0


def test_identities_looked_up_once_then_again_after_the_refresh(
    shared: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = Registry()
    st = Station(StationConfig(identify=False), identifier=reg)
    for b in _batches(shared(SAMPLE)):
        st.process(b)
    first = take_snapshot(st)
    icao = sum(1 for a in first.aircraft if not a.non_icao)
    assert reg.calls == icao
    second = take_snapshot(st)
    assert reg.calls == icao  # held
    assert second.aircraft_json_bytes() == first.aircraft_json_bytes() == _expected(st)[2]
    before = reg.calls
    monkeypatch.setattr(snapshot_module, "IDENTITY_REFRESH_S", -1.0)
    third = take_snapshot(st)
    assert reg.calls == before + icao
    assert third.aircraft_json_bytes() == first.aircraft_json_bytes()


def test_snapshot_before_any_message_is_empty() -> None:
    st = Station(StationConfig(identify=False))
    snap = take_snapshot(st)
    assert snap.aircraft == ()
    assert np.isnan(snap.time_s)
    doc = json.loads(snap.aircraft_json_bytes())
    assert doc["aircraft"] == [] and doc["messages"] == 0
