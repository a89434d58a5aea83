"""Live play on real loopback sockets: an aggregator port and feeders pushing to an ingest port."""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pytest

from overflight.frames import FrameBatch
from overflight.sim import SimResult, mlat_demo, simulate
from overflight.sim.serve import push_feeders, serve_fanout
from overflight.sources.beast import parse_beast
from overflight.sources.net import FeedHub, serve_ingest


@pytest.fixture(scope="module")
def short() -> SimResult:
    return simulate(mlat_demo(seed=2, duration_s=20.0))


def test_fanout_delivers_every_frame_to_a_client(short: SimResult) -> None:
    async def run() -> bytes:
        loop = asyncio.get_running_loop()
        port_f: asyncio.Future[int] = loop.create_future()
        task = asyncio.create_task(
            serve_fanout(short, "127.0.0.1", 0, speed=math.inf, on_listening=port_f.set_result)
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", await port_f)
        buf = bytearray()

        async def read_all() -> None:
            while chunk := await reader.read(65536):
                buf.extend(chunk)

        rt = asyncio.create_task(read_all())
        sent = await asyncio.wait_for(task, 30)
        await asyncio.wait_for(rt, 10)
        writer.close()
        assert sent == len(short.frames)
        return bytes(buf)

    before = time.time()
    data = asyncio.run(run())
    chunk = parse_beast(data, final=True)
    assert chunk.stats.errors == 0 and chunk.stats.garbage_bytes == 0
    got = chunk.frames
    assert len(got) == len(short.frames)
    assert np.array_equal(got.receiver, short.frames.receiver)
    assert np.array_equal(got.data, short.frames.data)
    assert np.array_equal(got.ticks, short.frames.ticks)
    assert np.isfinite(chunk.record_time_s).sum() == chunk.stats.time_records > 0
    # live play: records carry the scenario moved to the wall clock, by one constant shift
    rec = np.isfinite(chunk.record_time_s)
    shift = chunk.record_time_s[rec] - short.frames.time_s[rec]
    assert np.ptp(shift) < 1e-5
    assert before <= short.scenario.start_time_s + shift[0] <= time.time()


def _push(result: SimResult, start_time_s: float | None) -> tuple[FrameBatch, FeedHub]:
    async def run() -> tuple[FrameBatch, FeedHub]:
        hub = FeedHub()
        got: list[FrameBatch] = []
        hub.subscribe(got.append)
        server = await serve_ingest(hub, host="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        try:
            sent = await push_feeders(
                result, "127.0.0.1", port, speed=math.inf, chunk_s=1.0, start_time_s=start_time_s
            )
            assert sent == len(result.frames)
            for _ in range(500):
                if sum(len(b) for b in got) >= sent:
                    break
                await asyncio.sleep(0.01)
        finally:
            server.close()
            await server.wait_closed()
        assert len(hub.receivers) == len(result.scenario.receivers)  # one connection each
        return FrameBatch.concat(got), hub

    return asyncio.run(run())


def test_feeders_push_every_frame_to_an_ingest_port(short: SimResult) -> None:
    fb, hub = _push(short, short.scenario.start_time_s)
    assert len(fb) == len(short.frames)
    for r in short.scenario.receivers:
        mine = fb.receiver == np.uint64(r.receiver_id)
        want = short.frames.receiver == np.uint64(r.receiver_id)
        assert mine.sum() == want.sum() > 0
        # each feeder's frames arrive in its own order, bytes and ticks intact
        assert np.array_equal(fb.ticks[mine], short.frames.ticks[want])
        assert np.array_equal(fb.data[mine], short.frames.data[want])
        # asked for the scenario's own (2024) UTC arrival, the time records carry it
        assert np.abs(fb.time_s[mine] - short.frames.time_s[want]).max() < 1e-3
    for st in hub.receivers.values():  # one anchor per receiver, the counters are consistent
        ((serial, clock),) = st.clocks.items()
        assert st.serials == [serial] and clock.anchors == 1 and clock.drift == 0


def test_feeders_send_wall_clock_times_by_default(short: SimResult) -> None:
    """Played live, the scenario starts when play starts: every frame is dated by the wall
    clock (shifted by one constant), even played 20 times faster than real time."""
    before = time.time()
    fb, hub = _push(short, None)
    after = time.time()
    for r in short.scenario.receivers:
        mine = fb.receiver == np.uint64(r.receiver_id)
        want = short.frames.receiver == np.uint64(r.receiver_id)
        shift = fb.time_s[mine] - short.frames.time_s[want]
        assert np.ptp(shift) < 1e-3  # exact distances from the scenario's start
        start = short.scenario.start_time_s + float(shift.mean())
        assert before - 1e-3 <= start <= after
        assert np.all(np.diff(fb.time_s[mine]) >= 0)
    assert all(c.anchors == 1 for st in hub.receivers.values() for c in st.clocks.values())


def test_paced_play_follows_the_simulated_clock(short: SimResult) -> None:
    """At speed 20, 20 simulated seconds take about one second (not asserted: timing is only
    reported); every frame still arrives."""
    one = simulate(mlat_demo(seed=2, duration_s=3.0))

    async def run() -> int:
        hub = FeedHub()
        got: list[FrameBatch] = []
        hub.subscribe(got.append)
        server = await serve_ingest(hub, host="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        try:
            await push_feeders(one, "127.0.0.1", port, speed=20.0)
            for _ in range(300):
                if sum(len(b) for b in got) >= len(one.frames):
                    break
                await asyncio.sleep(0.01)
        finally:
            server.close()
            await server.wait_closed()
        return sum(len(b) for b in got)

    assert asyncio.run(run()) == len(one.frames)
