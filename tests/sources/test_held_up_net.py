"""Issue 17, held up and kept so: Beast chunking invariance on thousands of streams, no leak
over many connect/close cycles, a feeder killed mid-frame never invents a frame."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from overflight.frames import FrameBatch
from overflight.sources.beast import BeastParser, encode_beast, parse_beast
from overflight.sources.net import FanoutServer, FeedHub, serve_ingest

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
HOST = "127.0.0.1"


def _fields(b: FrameBatch) -> tuple[Any, ...]:
    return (
        b.data.tobytes(), b.length_bytes.tobytes(), b.receiver.tobytes(), b.ticks.tobytes(),
        b.signal_dbfs.tobytes(),
    )


def test_six_thousand_beast_streams_parse_alike_in_one_go_and_in_random_cuts(
    shared: Callable[[str], Path],
) -> None:
    real = parse_beast(shared(SAMPLE).read_bytes(), final=True).frames
    rng = np.random.default_rng(2017)
    n_frames = len(real)
    escapes_seen = 0
    for s in range(6000):
        k = int(rng.integers(1, 12))
        idx = rng.integers(0, n_frames, k)
        b = real.take(idx)
        # receivers change within the stream, and some ticks/receivers carry 0x1a bytes
        rid = rng.choice(np.array([1, 0x1A1A, 0x1A00000000001A, 7], np.uint64), k)
        ticks = b.ticks.copy()
        ticks[rng.random(k) < 0.3] = 0x1A1A1A1A1A1A
        b = FrameBatch.from_columns(b.data, b.length_bytes, time_s=1.7e9 + np.arange(k),
                                    receiver=rid, signal_dbfs=b.signal_dbfs, ticks=ticks)
        raw = encode_beast(b, receiver_ids=True, time_records=rng.random(k) < 0.5)
        escapes_seen += raw.count(b"\x1a\x1a")
        # garbage between records: bytes that are not 0x1a, at a random place
        if s % 3 == 0:
            junk = bytes(rng.integers(0x20, 0x7F, int(rng.integers(1, 20)), dtype=np.uint8))
            at = raw.find(b"\x1a", int(rng.integers(1, max(2, len(raw)))))
            if at > 0:
                raw = raw[:at] + junk + raw[at:]
        whole = BeastParser()
        one = whole.feed(raw, final=True)
        cut = BeastParser()
        cuts = np.sort(rng.integers(0, len(raw) + 1, int(rng.integers(1, 8))))
        parts = []
        prev = 0
        for c in [*cuts.tolist(), len(raw)]:
            parts.append(cut.feed(raw[prev:c]).frames)
            prev = c
        parts.append(cut.close().frames)
        many = FrameBatch.concat(parts)
        assert _fields(many) == _fields(one.frames), f"stream {s}"
        a = dataclasses.asdict(whole.stats)
        c2 = dataclasses.asdict(cut.stats)
        a.pop("resyncs"), c2.pop("resyncs")  # documented: counted once per read
        assert a == c2, f"stream {s}"
        if s % 3 != 0:
            assert len(one.frames) == k and whole.stats.garbage_bytes == 0
            assert np.array_equal(one.frames.data, b.data)
            assert np.array_equal(one.frames.receiver, rid)
        assert cut.pending_bytes == 0
    assert escapes_seen > 1000


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_two_hundred_connect_close_cycles_to_ingest_leak_no_task_or_fd(
    shared: Callable[[str], Path],
) -> None:
    raw = shared(SAMPLE).read_bytes()

    async def body() -> None:
        hub = FeedHub()
        ingest = await serve_ingest(hub, port=0)
        await asyncio.sleep(0.05)
        tasks0 = len(asyncio.all_tasks())
        fds0 = _fds()
        for i in range(200):
            _r, w = await asyncio.open_connection(HOST, ingest.port)
            if i % 2:
                w.write(raw[: 50 + i])  # some send a partial stream
                await w.drain()
            w.close()
            await w.wait_closed()
        await _settle(lambda: not ingest.connections and len(asyncio.all_tasks()) == tasks0)
        assert not ingest.connections
        assert len(asyncio.all_tasks()) == tasks0
        assert _fds() == fds0
        assert len(hub.receivers) == 200
        assert all(s.connects == 1 and s.disconnects == 1 for s in hub.receivers.values())
        ingest.close()
        await ingest.wait_closed()

    async def main() -> None:
        async with asyncio.timeout(30):
            await body()

    asyncio.run(main())


async def _settle(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond() and loop.time() < end:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)


def test_two_hundred_connect_close_cycles_to_an_idle_fanout_leak_no_task_or_fd() -> None:
    async def body() -> None:
        out = FanoutServer("beast")
        await out.start(host=HOST, port=0)
        await asyncio.sleep(0.05)
        tasks0 = len(asyncio.all_tasks())
        fds0 = _fds()
        for _ in range(200):
            _r, w = await asyncio.open_connection(HOST, out.port)
            w.close()
            await w.wait_closed()
        try:
            await _settle(lambda: not out.clients)
            assert not out.clients
            assert len(asyncio.all_tasks()) == tasks0
            assert _fds() == fds0
        finally:
            await out.close()

    async def main() -> None:
        async with asyncio.timeout(30):
            await body()

    asyncio.run(main())


def test_two_hundred_connect_close_cycles_to_a_fanout_with_traffic_leak_nothing(
    shared: Callable[[str], Path],
) -> None:
    """With frames flowing, each hung-up client is dropped at the next write: nothing left."""
    raw = shared(SAMPLE).read_bytes()
    frames = parse_beast(raw, final=True).frames

    async def body() -> None:
        out = FanoutServer("beast")
        await out.start(host=HOST, port=0)
        await asyncio.sleep(0.05)
        tasks0 = len(asyncio.all_tasks())
        fds0 = _fds()
        for i in range(200):
            _r, w = await asyncio.open_connection(HOST, out.port)
            w.close()
            await w.wait_closed()
            out(frames.take([i % len(frames)]))
        for _ in range(20):
            out(frames.take([0]))
            await asyncio.sleep(0.01)
        await _settle(lambda: not out.clients and len(asyncio.all_tasks()) == tasks0)
        assert not out.clients
        assert len(asyncio.all_tasks()) == tasks0
        assert _fds() == fds0
        await out.close()

    async def main() -> None:
        async with asyncio.timeout(30):
            await body()

    asyncio.run(main())


def test_a_feeder_killed_mid_frame_is_counted_truncated_never_invented(
    shared: Callable[[str], Path],
) -> None:
    raw = shared(SAMPLE).read_bytes()
    want = parse_beast(raw, final=True).frames
    cut = 3000 + 12
    probe = BeastParser()
    before = probe.feed(raw[:cut]).frames
    assert probe.pending_bytes == 5  # the cut is inside a frame

    async def body() -> None:
        hub = FeedHub()
        got: list[FrameBatch] = []
        hub.subscribe(got.append)
        ingest = await serve_ingest(hub, port=0)
        s = socket.create_connection((HOST, ingest.port))
        s.sendall(raw[:cut])
        # abrupt close: RST instead of FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while not any(st.disconnects for st in hub.receivers.values()) and loop.time() < end:
            await asyncio.sleep(0.02)
        frames = FrameBatch.concat(got) if got else FrameBatch.concat([before.take([])])
        assert len(frames) <= len(before)
        assert np.array_equal(frames.data, before.data[: len(frames)])
        (st,) = hub.receivers.values()
        assert st.disconnects == 1 and st.messages == len(frames)
        if st.bytes_in == cut:  # all bytes arrived before the reset
            assert len(frames) == len(before)
            assert st.beast.truncated_bytes == 5
        # the feeder comes back and sends the whole capture: every frame, once
        _r, w = await asyncio.open_connection(HOST, ingest.port)
        w.write(raw)
        await w.drain()
        w.close()
        await w.wait_closed()
        end = loop.time() + 10
        while sum(len(b) for b in got) < len(frames) + len(want) and loop.time() < end:
            await asyncio.sleep(0.02)
        allf = FrameBatch.concat(got)
        assert len(allf) == len(frames) + len(want)
        assert np.array_equal(allf.data[len(frames):], want.data)
        ingest.close()
        await ingest.wait_closed()

    async def main() -> None:
        async with asyncio.timeout(30):
            await body()

    asyncio.run(main())
