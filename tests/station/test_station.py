"""The station over real captures: the same tracking as the tracker's own loop, evidence keys,
events and flights, and subscribers that fail or fall behind without touching ingest."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from overflight.frames import FrameBatch
from overflight.modes import decode
from overflight.pipeline import decode_frames
from overflight.sources.files import read_batches
from overflight.station import (
    SCHEMAS,
    Changed,
    Events,
    Flights,
    Frames,
    Positions,
    Station,
    StationConfig,
    Update,
)
from overflight.tracking import Tracker

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
SAMPLE = "modes-traffic-samples/sample_dump1090.bin"


def _station(**kw: Any) -> Station:
    return Station(StationConfig(identify=False, **kw))


def _batches(path: Path, size: int) -> list[FrameBatch]:
    return list(read_batches(path, batch_size=size))


def _collect(st: Station) -> list[Update]:
    got: list[Update] = []
    st.subscribe(got.append, name="collect", inline=True)
    return got


@pytest.mark.parametrize("capture", [SAMPLE, FLIGHT])
def test_station_tracks_as_the_trackers_own_loop(
    shared: Callable[[str], Path], capture: str
) -> None:
    """Behaviour is unchanged: the station's positions and final states equal a plain
    decode + ``Tracker.update`` loop over the same batches (the pre-station pipeline)."""
    path = shared(capture)
    batches = _batches(path, 4096)
    plain = Tracker()
    expected = [plain.update(decode_frames(b)) for b in batches]
    st = _station(flights=False)
    got = _collect(st)
    st.run_batches(batches)
    positions = [u.table for u in got if isinstance(u, Positions)]
    want = pa.concat_tables([t for t in expected if t.num_rows])
    have = pa.concat_tables(positions).drop_columns(["frame_seq", "pair_frame_seq"])
    assert have.num_rows == want.num_rows > 0
    assert have.drop_columns([c for c in have.column_names if c not in want.column_names]) \
        .equals(want.select(have.column_names))
    assert [a.__repr__() for a in st.tracker.all_aircraft()] == \
        [a.__repr__() for a in plain.all_aircraft()]


def test_every_update_is_in_its_declared_schema(shared: Callable[[str], Path]) -> None:
    """Code and schema cannot drift apart: every table published on a real flight (frames,
    positions, events, flights...) has exactly the schema ``station.schema`` declares."""
    st = _station()
    got = _collect(st)
    st.run_file(shared(FLIGHT))
    kinds = Counter(u.name for u in got)
    assert {"frames", "positions", "events", "flights", "changed"} <= set(kinds)
    for u in got:
        if u.name in SCHEMAS:
            assert u.table.schema.equals(SCHEMAS[u.name]), u.name


def test_positions_name_the_frames_they_came_from(shared: Callable[[str], Path]) -> None:
    """Evidence keys: each CPR position names the frame that completed it and the other frame
    of its pair; both are frames of the same aircraft, of opposite CPR parity."""
    st = _station(flights=False)
    got = _collect(st)
    st.run_batches(_batches(shared(FLIGHT), 8192))
    raw: dict[int, bytes] = {}
    for u in got:
        if isinstance(u, Frames):
            t = u.table
            raw.update(zip(t.column("seq").to_pylist(), t.column("raw").to_pylist(), strict=True))
    assert len(raw) == st.stats.frames == max(raw) + 1  # numbered 0..n-1, none twice
    pos = pa.concat_tables([u.table for u in got if isinstance(u, Positions)]).to_pylist()
    paired = 0
    for p in pos[:: max(1, len(pos) // 400)]:
        m = decode(raw[p["frame_seq"]])
        assert m.icao24 == p["icao24"]
        if p["pair_frame_seq"] >= 0:
            other = decode(raw[p["pair_frame_seq"]])
            assert other.icao24 == p["icao24"]
            assert other.cpr_odd != m.cpr_odd
            paired += 1
    assert paired > 100


def test_a_real_flight_gives_first_seen_takeoff_landing_and_one_closed_flight(
    shared: Callable[[str], Path],
) -> None:
    """The A321 of the sample leaves Paris CDG and lands at Toulouse: one first_seen, one
    take-off at LFPG, one landing at LFBO (each once, although flights are re-examined many
    times), and one closed flight LFPG -> LFBO at the end."""
    st = Station(StationConfig(identify=False, flights_every_s=60.0))
    got = _collect(st)
    st.run_batches(_batches(shared(FLIGHT), 2048))
    events = pa.concat_tables([u.table for u in got if isinstance(u, Events)]).to_pylist()
    by_kind = Counter(e["kind"] for e in events)
    assert by_kind["first_seen"] == 1
    assert by_kind["takeoff"] == 1 and by_kind["landing"] == 1
    takeoff = next(e for e in events if e["kind"] == "takeoff")
    landing = next(e for e in events if e["kind"] == "landing")
    assert (takeoff["airport"], landing["airport"]) == ("LFPG", "LFBO")
    assert takeoff["time_s"] < landing["time_s"]
    assert takeoff["flight_id"] == landing["flight_id"]
    flights = [f for u in got if isinstance(u, Flights) for f in u.flights]
    assert len(flights) == 1
    f = flights[0]
    assert (f.departure.code, f.arrival.code) == ("LFPG", "LFBO")
    assert f.id == takeoff["flight_id"]
    table = pa.concat_tables([u.table for u in got if isinstance(u, Flights)]).to_pylist()
    assert table[0]["departure_airport"] == "LFPG"
    assert table[0]["position_sources"] == ["adsb"]


def test_changed_names_each_aircraft_a_batch_touched(shared: Callable[[str], Path]) -> None:
    st = _station(flights=False)
    got = _collect(st)
    batches = _batches(shared(SAMPLE), 50)
    st.run_batches(batches)
    changed = [u for u in got if isinstance(u, Changed)]
    assert len(changed) == len(batches)
    heard = {a.address for a in st.tracker.all_aircraft()}
    touched = {a for u in changed for a in u.table.column("address").to_pylist()}
    assert touched == heard


def test_a_subscriber_that_raises_is_removed_and_ingest_goes_on(
    shared: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    st = _station(flights=False)
    calls = Counter[str]()

    def bad(u: Update) -> None:
        calls["bad"] += 1
        raise RuntimeError("subscriber bug")

    class Good:
        def on_update(self, u: Update) -> None:
            calls["good"] += 1

    bad_inline = st.subscribe(bad, name="bad-inline", inline=True)
    bad_thread = st.subscribe(bad, name="bad-thread")
    st.subscribe(Good(), name="good", inline=True)
    batches = _batches(shared(SAMPLE), 20)
    st.run_batches(batches)
    st.close()
    assert not bad_inline.alive and not bad_thread.alive
    assert "RuntimeError: subscriber bug" in (bad_inline.stats.failed or "")
    assert calls["bad"] == 2  # once each, then removed
    assert calls["good"] > 2 * len(batches)  # frames, changed... for every batch
    assert st.stats.frames == sum(len(b) for b in batches)
    assert "subscriber bad-inline failed and was removed" in caplog.text


def test_a_slow_subscriber_never_stalls_ingest(shared: Callable[[str], Path]) -> None:
    """A subscriber stuck until released: the whole capture is still processed (on another
    thread, with a deadline that would catch a stall), the updates that did not fit its
    bounded queue are counted as dropped, and delivered + dropped = published."""
    st = _station(flights=False)
    release = threading.Event()
    seen: list[str] = []

    def stuck(u: Update) -> None:
        release.wait()
        seen.append(u.name)

    slow = st.subscribe(stuck, name="slow", queue_size=3)
    published = Counter[str]()
    st.subscribe(lambda u: published.update([u.name]), inline=True)
    batches = _batches(shared(FLIGHT), 1024)
    runner = threading.Thread(target=st.run_batches, args=(batches,))
    runner.start()
    runner.join(120)
    assert not runner.is_alive(), "ingest stalled behind a slow subscriber"
    assert st.stats.frames == sum(len(b) for b in batches)
    assert slow.stats.dropped > 0
    release.set()
    st.close()
    assert slow.stats.delivered + slow.stats.dropped == sum(published.values())
    assert len(seen) == slow.stats.delivered


def test_blocking_subscriber_gets_everything(shared: Callable[[str], Path]) -> None:
    """File runs (history ingest) subscribe with ``block=True``: nothing is dropped."""
    st = _station(flights=False)
    got: list[str] = []
    sub = st.subscribe(lambda u: got.append(u.name), queue_size=1, block=True)
    published = Counter[str]()
    st.subscribe(lambda u: published.update([u.name]), inline=True)
    st.run_batches(_batches(shared(FLIGHT), 1024))
    st.close()
    assert sub.stats.dropped == 0
    assert Counter(got) == published


def test_expired_aircraft_leave_and_are_published_as_gone(shared: Callable[[str], Path]) -> None:
    """An aircraft silent for longer than ``expire_after_s`` leaves the state (published as
    gone); when heard again it is first seen again."""
    batches = _batches(shared(SAMPLE), 1000)
    b = batches[0]
    later = FrameBatch(b.data, b.length_bytes, b.time_s + 10_000.0, b.receiver,
                       b.signal_dbfs, b.ticks)
    st = Station(StationConfig(identify=False, flights=False, expire_after_s=600.0))
    got = _collect(st)
    st.process(b)
    heard = len(st.tracker)
    st.process(later)
    gone = pa.concat_tables([u.table for u in got if u.name == "gone"])
    assert gone.num_rows == heard
    assert gone.schema.equals(SCHEMAS["gone"])
    firsts = [e for u in got if isinstance(u, Events) for e in u.table.to_pylist()
              if e["kind"] == "first_seen"]
    assert len(firsts) == 2 * heard
    assert len(st.tracker) == heard


def test_snapshot_is_immutable_and_rebuilt_only_when_due(shared: Callable[[str], Path]) -> None:
    st = Station(StationConfig(identify=False, flights=False, snapshot_every_s=3600.0))
    st.run_file(shared(SAMPLE))
    a = st.snapshot()
    assert a is st.snapshot()  # not rebuilt per request
    doc = a.aircraft_json()
    assert doc is a.aircraft_json()
    assert doc["now"] == pytest.approx(st.tracker.now_s, abs=0.1)
    assert {x["hex"] for x in doc["aircraft"]} == {s.icao24 for s in a.aircraft}
    with pytest.raises(AttributeError):
        a.time_s = 0.0  # type: ignore[misc]
    assert np.isfinite(a.wall_s)
