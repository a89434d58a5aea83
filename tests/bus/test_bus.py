"""The receiver network on a real nats-server (JetStream, loopback): real captures through
1 ingest + 2 workers + 1 API node give the single station's picture and flights; a worker
killed mid-replay (SIGKILL) and started again loses and doubles nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ._replay import (
    capture_batches,
    flights_rows,
    picture_rows,
    reference,
)

SHARDS = 8


@pytest.fixture(scope="module")
def captures(shared: Callable[[str], Path]) -> tuple[list[Any], Any, Any]:
    shared("modes-traffic-samples/sample_dump1090.bin")
    batches = capture_batches(shared("modes-traffic-samples/full_flight_short.jsonl.gz")
                              .parent.parent)
    st, collected = reference(batches)
    return batches, st, collected


async def _ingest(url: str, batches: list[Any], *, pause_after: int | None = None,
                  pause: Any = None, ingest_only: bool = False) -> Any:
    """The ingest side: a station with the bus attached (as ``serve --bus``; with
    ``ingest_only``, as ``serve --bus --ingest-only``)."""
    from overflight.bus.ingest import IngestStation
    from overflight.bus.publish import attach_bus
    from overflight.station import Station, StationConfig

    cfg = StationConfig(identify=False, flights=False)
    st = IngestStation(cfg) if ingest_only else Station(cfg)
    handle = await attach_bus(st, url, shards=SHARDS, block=True)
    loop = asyncio.get_running_loop()

    def feed(part: list[Any]) -> None:
        for b in part:
            st.process(b)

    if pause_after is None:
        await asyncio.to_thread(feed, batches)
    else:
        await asyncio.to_thread(feed, batches[:pause_after])
        await pause()
        await asyncio.to_thread(feed, batches[pause_after:])
    def finish() -> None:
        st.finish()
        st.close()

    await loop.run_in_executor(None, finish)
    await handle.end()
    return handle


def _check_same(ref: Any, collected: Any, picture: Any) -> None:
    snap = picture.snapshot()
    want = ref.snapshot()
    assert picture_rows(snap.aircraft) == picture_rows(want.aircraft)
    assert snap.messages == want.messages
    assert snap.time_s == want.time_s
    assert snap.aircraft_json()["aircraft"] == want.aircraft_json()["aircraft"]
    got_f = flights_rows(picture.flights_table())
    want_f = flights_rows(collected.table("flights"))
    assert got_f == want_f
    assert [(f["icao24"], f["departure_airport"], f["arrival_airport"]) for f in got_f] == [
        ("393322", "LFPG", "LFBO")]
    ev = picture.events_table()
    want_ev = collected.table("events")
    assert want_ev is not None
    assert sorted(ev.column("event_id").to_pylist()) == sorted(
        want_ev.column("event_id").to_pylist())


def test_two_workers_give_the_single_station_picture(nats_server: Any, captures: Any) -> None:
    from overflight.bus.picture import BusPicture
    from overflight.bus.worker import make_station_factory, run_worker

    batches, ref, collected = captures

    async def main() -> None:
        stop = asyncio.Event()
        factory = make_station_factory(identify=False)
        workers = [asyncio.create_task(run_worker(nats_server.url, shards, make_station=factory,
                                                  stop=stop))
                   for shards in ((0, 1, 2, 3), (4, 5, 6, 7))]
        picture = BusPicture()
        await picture.start(nats_server.url)
        try:
            handle = await _ingest(nats_server.url, batches)
            await picture.wait_ended(handle.publisher.run_id, SHARDS)
            await handle.close()
        finally:
            stop.set()
            stats = await asyncio.gather(*workers)
            await picture.close()
        _check_same(ref, collected, picture)
        # both workers had aircraft: the flight's shard and the sample's are different ones
        assert all(s.frames > 0 for s in stats)
        assert sum(s.frames for s in stats) == sum(len(b) for b in batches)
        # a second API node started after the end builds the same picture from the stream
        late = BusPicture()
        await late.start(nats_server.url)
        try:
            await late.wait_ended(handle.publisher.run_id, SHARDS)
        finally:
            await late.close()
        _check_same(ref, collected, late)

    asyncio.run(main())


def test_ingest_only_node_and_api_node_serve_the_single_station_picture(
        nats_server: Any, captures: Any) -> None:
    """``serve --ingest-only`` (no tracking) + 2 workers + ``serve --api-only`` (HTTP on a
    real socket): the API node's aircraft.json is the single station's."""
    import json
    import urllib.request

    from overflight.bus.api import run_api_node
    from overflight.bus.worker import make_station_factory, run_worker

    batches, ref, collected = captures

    async def main() -> None:
        stop = asyncio.Event()
        factory = make_station_factory(identify=False)
        workers = [asyncio.create_task(run_worker(nats_server.url, shards, make_station=factory,
                                                  stop=stop))
                   for shards in ((0, 1, 2, 3), (4, 5, 6, 7))]
        port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        api = asyncio.create_task(run_api_node(nats_server.url, "127.0.0.1", 0, identify=False,
                                               ready=port.set_result, stop=stop))
        await asyncio.wait_for(asyncio.shield(port), 30)
        try:
            handle = await _ingest(nats_server.url, batches, ingest_only=True)
            assert handle.publisher.stats.frames == sum(len(b) for b in batches)
            picture = None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                body = await asyncio.to_thread(lambda: urllib.request.urlopen(
                    f"http://127.0.0.1:{port.result()}/data/aircraft.json", timeout=10).read())
                doc = json.loads(body)
                if doc["messages"] == ref.snapshot().messages:
                    picture = doc
                    break
                await asyncio.sleep(0.5)
            await handle.close()
        finally:
            stop.set()
            await asyncio.gather(*workers)
            got = await api
        assert picture is not None
        want = ref.snapshot().aircraft_json()
        assert picture["aircraft"] == json.loads(json.dumps(want["aircraft"]))
        assert picture["now"] == want["now"]
        _check_same(ref, collected, got)

    asyncio.run(main())


def _history_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    from overflight.history import open_history

    store = open_history(db, read_only=True)
    try:
        con = store.con
        return {
            "positions": con.execute(
                "SELECT frame_seq, address, time_s, lat_deg, lon_deg, altitude_ft, source "
                "FROM positions ORDER BY frame_seq, address, time_s").fetchall(),
            "events": con.execute("SELECT event_id, kind, time_s, address FROM events "
                                  "ORDER BY event_id").fetchall(),
            "flights": con.execute("SELECT flight_id, address, first_seen_s, last_seen_s "
                                   "FROM flights ORDER BY flight_id").fetchall(),
        }
    finally:
        store.close()


def test_bus_history_writer_stores_the_single_station_history_once(
        nats_server: Any, captures: Any, tmp_path: Path) -> None:
    """``overflight worker --history``: the workers' updates stored equal what a station's
    own history writer stores; a second writer that is given every message again (its
    durable consumer deleted) stores nothing twice."""
    from overflight.bus.history import HISTORY_CONSUMER, run_history_writer
    from overflight.bus.picture import BusPicture
    from overflight.bus.publish import connect
    from overflight.bus.worker import make_station_factory, run_worker
    from overflight.history import HistoryWriter, open_history
    from overflight.station import Station, StationConfig

    batches, _, _ = captures
    want_db = tmp_path / "single.duckdb"
    st = Station(StationConfig(identify=False))
    writer = HistoryWriter(open_history(want_db), seq_first=0)
    st.subscribe(writer, inline=True)
    for b in batches:
        st.process(b)
    st.finish()
    st.close()
    writer.close()
    want = _history_rows(want_db)
    assert len(want["positions"]) > 1000 and want["flights"]

    got_db = tmp_path / "bus.duckdb"

    async def main() -> tuple[Any, Any]:
        stop = asyncio.Event()
        factory = make_station_factory(identify=False)
        workers = [asyncio.create_task(run_worker(nats_server.url, shards, make_station=factory,
                                                  stop=stop))
                   for shards in ((0, 1, 2, 3), (4, 5, 6, 7))]
        hist = asyncio.create_task(run_history_writer(nats_server.url, got_db, stop=stop))
        picture = BusPicture()
        await picture.start(nats_server.url)
        try:
            handle = await _ingest(nats_server.url, batches)
            await picture.wait_ended(handle.publisher.run_id, SHARDS)  # all updates are out
            await handle.close()
            await picture.close()
            nc = await connect(nats_server.url)
            js = nc.jetstream()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # every updates message stored and acked
                info = await js.consumer_info(subj_updates(), HISTORY_CONSUMER)
                stream = await js.stream_info(subj_updates())
                ended = stream.state.messages > 0 and info.num_pending == 0 and \
                    info.num_ack_pending == 0 and info.delivered.stream_seq == \
                    stream.state.last_seq
                if ended:
                    break
                await asyncio.sleep(0.5)
        finally:
            stop.set()
            await asyncio.gather(*workers)
            first = await hist
        # again from the stream's first message, into the same database
        await js.delete_consumer(subj_updates(), HISTORY_CONSUMER)
        await nc.close()
        stop2 = asyncio.Event()
        again = asyncio.create_task(run_history_writer(nats_server.url, got_db, stop=stop2))
        nc = await connect(nats_server.url)
        js = nc.jetstream()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                info = await js.consumer_info(subj_updates(), HISTORY_CONSUMER)
                if info.num_pending == 0 and info.num_ack_pending == 0 and \
                        info.delivered.stream_seq > 0:
                    break
            await asyncio.sleep(0.5)
        stop2.set()
        second = await again
        await nc.close()
        return first, second

    first, second = asyncio.run(main())
    assert first.skipped == 0 and second.skipped > 0
    assert sum(second.stats.stored.values()) == 0
    assert _history_rows(got_db) == want


def subj_updates() -> str:
    from overflight.bus.subjects import UPDATES_STREAM

    return UPDATES_STREAM


def test_serve_bus_node_options_are_checked() -> None:
    from typer.testing import CliRunner

    from overflight.cli import app

    r = CliRunner().invoke(app, ["serve", "--connect", "127.0.0.1:1", "--ingest-only"])
    assert r.exit_code == 2 and "needs --bus" in r.output
    r = CliRunner().invoke(app, ["serve", "--connect", "127.0.0.1:1", "--ingest-only",
                                 "--bus", "nats://127.0.0.1:1", "--http", "0"])
    assert r.exit_code == 2 and "--api-only" in r.output
    r = CliRunner().invoke(app, ["serve", "--api-only", "--bus", "nats://127.0.0.1:1"])
    assert r.exit_code == 2 and "needs --bus and --http" in r.output
    r = CliRunner().invoke(app, ["serve", "--api-only", "--bus", "nats://127.0.0.1:1",
                                 "--http", "0", "--connect", "127.0.0.1:1"])
    assert r.exit_code == 2 and "no receivers" in r.output


def _worker(url: str, shards: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log, "ab") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "overflight", "worker", "--bus", url, "--shards", shards,
             "--no-identify", "--ack-wait", "2"], stdout=f, stderr=subprocess.STDOUT, env=env)


def test_worker_killed_and_replaced_loses_and_doubles_nothing(
        nats_server: Any, captures: Any, tmp_path: Path) -> None:
    from overflight.bus.codec import shard_of
    from overflight.bus.picture import BusPicture
    from overflight.bus.publish import connect
    from overflight.bus.subjects import FRAMES_STREAM, consumer_name

    batches, ref, collected = captures
    # the shard of the long flight (393322) is the one killed
    victim = int(shard_of([0x393322], SHARDS)[0])
    mine = ",".join(str(k) for k in range(SHARDS) if k != victim)
    log = tmp_path / "workers.log"
    procs: list[subprocess.Popen[bytes]] = []

    async def main() -> None:
        picture = BusPicture()
        await picture.start(nats_server.url)
        procs.append(_worker(nats_server.url, mine, log))
        procs.append(_worker(nats_server.url, str(victim), log))

        async def kill_and_replace() -> None:
            # wait until the victim has published some of the flight and acknowledged a
            # batch (its consumer's ack floor moved: a kill between its first publish and its
            # first ack would leave the replacement nothing to replay), then SIGKILL it
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            nc = await connect(nats_server.url)
            try:
                js = nc.jetstream()
                while True:
                    assert loop.time() < deadline, log.read_text()[-3000:]
                    if picture._last.get(victim) is not None:
                        info = await js.consumer_info(FRAMES_STREAM, consumer_name(victim))
                        if info.ack_floor and (info.ack_floor.stream_seq or 0) > 0:
                            break
                    await asyncio.sleep(0.05)
            finally:
                await nc.close()
            procs[1].send_signal(signal.SIGKILL)
            procs[1].wait(30)
            procs.append(_worker(nats_server.url, str(victim), log))

        handle = await _ingest(nats_server.url, batches, pause_after=len(batches) // 3,
                               pause=kill_and_replace)
        try:
            await picture.wait_ended(handle.publisher.run_id, SHARDS, timeout_s=240)
        finally:
            await handle.close()
            await picture.close()
        _check_same(ref, collected, picture)

    try:
        asyncio.run(main())
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    # the replacement rebuilt the shard's state from the stream before pulling on
    replayed = [int(x) for x in re.findall(r"(\d+) replayed to warm up", text)]
    assert len(replayed) == 2 and max(replayed) > 0, text[-3000:]


def test_positions_on_the_bus_are_the_single_stations_once_each(
        nats_server: Any, captures: Any) -> None:
    """Positions, as the history writer would store them from ``overflight.updates.*``: the
    same rows (same frame numbers) as the single station's, each once."""
    from overflight.bus.codec import unpack
    from overflight.bus.worker import make_station_factory, run_worker

    batches, _ref, collected = captures

    async def main() -> pa.Table:
        import nats
        from nats.js.api import DeliverPolicy

        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(
            nats_server.url, tuple(range(SHARDS)), make_station=make_station_factory(
                identify=False), stop=stop))
        handle = await _ingest(nats_server.url, batches)
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        sub = await js.subscribe("overflight.updates.*", ordered_consumer=True,
                                 deliver_policy=DeliverPolicy.ALL)
        tables: list[pa.Table] = []
        ended: set[str] = set()
        t_end = time.monotonic() + 120
        while len(ended) < SHARDS:
            assert time.monotonic() < t_end
            msg = await sub.next_msg(timeout=60)
            for kind, t in unpack(msg.data):
                if kind == "positions":
                    tables.append(t)
                elif kind == "end":
                    ended.add((msg.headers or {})["Overflight-Shard"])
        stop.set()
        await worker
        await nc.close()
        await handle.close()
        return pa.concat_tables(tables, promote_options="permissive")

    got = asyncio.run(main())
    want = collected.table("positions")
    assert want is not None and want.num_rows > 8000

    def key(t: pa.Table) -> list[tuple[Any, ...]]:
        d = t.select(["frame_seq", "pair_frame_seq", "address", "time_s", "lat_deg",
                      "lon_deg", "altitude_ft", "source"]).to_pylist()
        return sorted(tuple(r.values()) for r in d)

    assert key(got) == key(want)
