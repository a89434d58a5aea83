"""Evidence keys: every MLAT fix, event and flight the station publishes names the frames it
came from (station sequence numbers), and those frames really are that aircraft's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from overflight.modes import decode
from overflight.sim import mlat_demo, simulate
from overflight.station import SCHEMAS, Station, StationConfig, Update
from overflight.station.updates import Events, Fixes, Flights, Frames, Positions
from overflight.tracking.mlat_feed import PER_AIRCRAFT_MAX, MlatFeedStats

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"


class _Collect:
    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.raw: dict[int, bytes] = {}
        self.receiver: dict[int, int] = {}
        self.time: dict[int, float] = {}

    def on_update(self, u: Update) -> None:
        if isinstance(u, Frames):
            t = u.table
            seq = t.column("seq").to_pylist()
            self.raw.update(zip(seq, t.column("raw").to_pylist(), strict=True))
            self.receiver.update(zip(seq, t.column("receiver").to_pylist(), strict=True))
            self.time.update(zip(seq, t.column("time_s").to_pylist(), strict=True))
        else:
            self.updates.append(u)

    def rows(self, kind: type[Any]) -> list[dict[str, Any]]:
        tabs = [u.table for u in self.updates if isinstance(u, kind)]
        return pa.concat_tables(tabs).to_pylist() if tabs else []


def _run(path: Path, **config: Any) -> _Collect:
    st = Station(StationConfig(**config))
    c = _Collect()
    st.subscribe(c.on_update, inline=True)
    st.run_file(path)
    st.close()
    for u in c.updates:
        if u.name in SCHEMAS:
            assert u.table.schema.equals(SCHEMAS[u.name]), u.name
    return c


@pytest.fixture(scope="module")
def mlat_run(tmp_path_factory: pytest.TempPathFactory) -> _Collect:
    d = tmp_path_factory.mktemp("mlat-demo")
    sim = simulate(mlat_demo(seed=1, duration_s=90.0))
    sim.write_beast(d / "demo.beast")
    sim.write_receivers_csv(d / "demo.receivers.csv")
    return _run(d / "demo.beast", receivers_csv=d / "demo.receivers.csv", flights=False)


def test_fixes_name_every_reception_they_were_solved_from(mlat_run: _Collect) -> None:
    """A fix lists its receivers and, parallel to them, the frames each one heard: the same
    bytes from the fix's aircraft, each from the receiver named beside it."""
    fixes = mlat_run.rows(Fixes)
    assert len(fixes) > 50
    for f in fixes:
        seqs, rx = f["frame_seqs"], f["receivers"]
        assert len(seqs) == len(rx) >= 3 and min(seqs) >= 0
        raws = {mlat_run.raw[s] for s in seqs}
        assert len(raws) == 1  # one transmission
        assert [mlat_run.receiver[s] for s in seqs] == rx
        assert decode(raws.pop()).icao24 == f["icao24"]
    accepted = [f for f in fixes if f["accepted"]]
    assert 0 < len(accepted) <= len(fixes)
    positions = [p for p in mlat_run.rows(Positions) if p["source"] == "mlat"]
    assert len(positions) == len(accepted)
    by_seq = {min(f["frame_seqs"]): f for f in accepted}
    for p in positions:
        f = by_seq[p["frame_seq"]]  # the position names the first reception of its fix
        assert (f["icao24"], f["time_s"], f["lat_deg"]) == (p["icao24"], p["time_s"], p["lat_deg"])


def test_events_and_flights_name_frames_of_their_aircraft(
    shared: Callable[[str], Path],
) -> None:
    run = _run(shared(FLIGHT))
    events = run.rows(Events)
    kinds = {e["kind"] for e in events}
    assert {"first_seen", "takeoff", "landing"} <= kinds
    for e in events:
        s = e["frame_seq"]
        assert s >= 0, e
        assert decode(run.raw[s]).icao24 == e["icao24"], e
        if e["kind"] == "first_seen":
            assert run.time[s] == pytest.approx(e["time_s"], abs=60.0)
        if e["kind"] in ("takeoff", "landing"):  # the position nearest the end
            assert abs(run.time[s] - e["time_s"]) < 30.0, e
    (flight,) = run.rows(Flights)
    for end in ("departure", "arrival", "first", "last"):
        s = flight[f"{end}_frame_seq"]
        assert s >= 0 and decode(run.raw[s]).icao24 == flight["icao24"]
    assert run.time[flight["first_frame_seq"]] == pytest.approx(flight["first_seen_s"])
    assert run.time[flight["last_frame_seq"]] == pytest.approx(flight["last_seen_s"])
    assert abs(run.time[flight["departure_frame_seq"]] - flight["departure_time_s"]) < 30.0
    assert abs(run.time[flight["arrival_frame_seq"]] - flight["arrival_time_s"]) < 30.0


def test_the_per_aircraft_fix_count_stays_bounded() -> None:
    st = MlatFeedStats()
    st.count_aircraft(["abcdef"] * 5)
    for k in range(3):
        lo = k * PER_AIRCRAFT_MAX
        st.count_aircraft([f"{i:06x}" for i in range(lo, lo + PER_AIRCRAFT_MAX)])
    assert len(st.per_aircraft) <= PER_AIRCRAFT_MAX
    assert st.per_aircraft["abcdef"] == 5  # the busiest are kept
    assert st.per_aircraft_dropped + len(st.per_aircraft) == 3 * PER_AIRCRAFT_MAX + 1
