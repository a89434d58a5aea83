"""Live network on loopback: a tiny TCP server plays the real capture as a receiver."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from overflight.frames import FrameBatch
from overflight.sources.beast import encode_beast, parse_beast
from overflight.sources.net import FanoutServer, FeedHub, connect_feed, serve_ingest
from overflight.sources.sbs import SbsRecord, format_sbs

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
HOST = "127.0.0.1"


def run(coro: Coroutine[Any, Any, None], timeout_s: float = 20.0) -> None:
    asyncio.run(asyncio.wait_for(coro, timeout_s))


class Collector:
    def __init__(self) -> None:
        self.batches: list[FrameBatch] = []

    def __call__(self, b: FrameBatch) -> None:
        self.batches.append(b)

    @property
    def frames(self) -> FrameBatch:
        return FrameBatch.concat(self.batches)

    def __len__(self) -> int:
        return sum(len(b) for b in self.batches)


async def until(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
        if loop.time() > end:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)


async def player(data: bytes, port: int = 0, chunk: int = 97) -> asyncio.Server:
    """A receiver: sends ``data`` to each client in small chunks, then closes the connection."""

    async def handle(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        for i in range(0, len(data), chunk):
            w.write(data[i : i + chunk])
            await w.drain()
            await asyncio.sleep(0)
        w.close()

    return await asyncio.start_server(handle, HOST, port)


def test_receiver_killed_mid_frame_then_restarted(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    want = parse_beast(raw, final=True).frames
    cut = 2000 + 5  # inside a frame
    before = parse_beast(raw[:cut]).frames  # the complete frames before the cut

    async def main() -> None:
        hub = FeedHub()
        got = Collector()
        hub.subscribe(got)
        srv = await player(raw[:cut])
        port = srv.sockets[0].getsockname()[1]
        task = asyncio.create_task(connect_feed(HOST, port, hub, min_backoff_s=0.05))
        await until(lambda: len(got) >= len(before))
        srv.close()  # the receiver dies mid-frame
        await srv.wait_closed()
        await asyncio.sleep(0.2)  # the client retries against a closed port meanwhile
        srv2 = await player(raw, port=port)
        await until(lambda: len(got) >= len(before) + len(want))
        task.cancel()
        srv2.close()
        frames = got.frames
        assert len(frames) == len(before) + len(want)
        assert np.array_equal(frames.data[: len(before)], before.data)
        assert np.array_equal(frames.data[len(before) :], want.data)
        st = hub.receivers[f"{HOST}:{port}"]
        assert st.connects >= 2 and st.messages == len(frames)
        assert st.beast.truncated_bytes > 0  # the cut frame is counted, not invented
        assert np.all(np.isfinite(frames.time_s))

    run(main())


def test_several_feeders_push_at_once_and_bad_feeder_is_isolated(
    shared: Callable[[str], Path],
) -> None:
    raw = shared(SAMPLE).read_bytes()

    async def feed(port: int, data: bytes) -> None:
        _r, w = await asyncio.open_connection(HOST, port)
        for i in range(0, len(data), 61):
            w.write(data[i : i + 61])
            await w.drain()
            await asyncio.sleep(0)
        w.close()
        await w.wait_closed()

    async def main() -> None:
        hub = FeedHub()
        got = Collector()
        hub.subscribe(got)
        srv = await serve_ingest(hub, port=0)
        port = srv.sockets[0].getsockname()[1]
        junk = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 50
        await asyncio.gather(
            feed(port, raw), feed(port, raw), feed(port, raw), feed(port, junk + raw[:500])
        )
        await until(lambda: len(got) >= 3 * 239 + len(parse_beast(raw[:500]).frames))
        srv.close()
        frames = got.frames
        per = {r: int((frames.receiver == r).sum()) for r in np.unique(frames.receiver).tolist()}
        assert sorted(per.values())[-3:] == [239, 239, 239]
        bad = [s for s in hub.receivers.values() if s.beast.garbage_bytes > 0]
        assert len(bad) == 1 and bad[0].resyncs >= 1
        good = [s for s in hub.receivers.values() if s.messages == 239]
        assert len(good) == 3 and all(s.bad_frames == 0 for s in good)

    run(main())


def test_downstream_reads_beast_back_byte_identical(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()

    async def main() -> None:
        hub = FeedHub()
        beast_out = FanoutServer("beast")
        raw_out = FanoutServer("raw")
        hub.subscribe(beast_out)
        hub.subscribe(raw_out)
        await beast_out.start(port=0)
        await raw_out.start(port=0)
        r1, w1 = await asyncio.open_connection(HOST, beast_out.port)
        r2, w2 = await asyncio.open_connection(HOST, raw_out.port)
        await until(lambda: len(beast_out.clients) == 1 and len(raw_out.clients) == 1)
        srv = await serve_ingest(hub, port=0)
        _r, w = await asyncio.open_connection(HOST, srv.sockets[0].getsockname()[1])
        w.write(raw)
        await w.drain()
        back = await r1.readexactly(len(raw))
        assert back == raw
        lines = [(await r2.readline()) for _ in range(239)]
        want = parse_beast(raw, final=True).frames
        assert [ln.decode().strip() for ln in lines] == [
            f"*{want.frame_hex(i)};" for i in range(239)
        ]
        for x in (w, w1, w2):
            x.close()
        srv.close()
        await beast_out.close()
        await raw_out.close()

    run(main())


def test_slow_client_is_dropped_and_others_keep_flowing(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    batch = parse_beast(raw, final=True).frames
    rounds = 3000  # ~12.6 MB: more than loopback socket buffers hold

    async def main() -> None:
        out = FanoutServer("beast", queue_chunks=64, write_timeout_s=2.0)
        await out.start(port=0)
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect((HOST, out.port))  # never reads
        fast_r, fast_w = await asyncio.open_connection(HOST, out.port)
        await until(lambda: len(out.clients) == 2)
        received = 0

        async def reader() -> None:
            nonlocal received
            while received < rounds * len(raw):
                data = await fast_r.read(1 << 20)
                if not data:
                    return
                received += len(data)

        rt = asyncio.create_task(reader())
        for i in range(rounds):
            out(batch)
            await asyncio.sleep(0.001 if i % 10 == 0 else 0)  # ~40 MB/s, far above any feed
        await asyncio.wait_for(rt, 15)
        assert received == rounds * len(raw)
        assert out.dropped_clients == 1 and len(out.clients) == 1
        slow.close()
        fast_w.close()
        await out.close()

    run(main(), timeout_s=30)


def test_sbs_fanout_and_reconnect_to_sbs_feed() -> None:
    rec = SbsRecord(
        transmission_type=3, icao24="48520a", time_s=1_720_248_189.525, altitude_ft=35000,
        latitude_deg=43.62920, longitude_deg=1.37400, on_ground=False,
    )

    async def main() -> None:
        out = FanoutServer("sbs")
        await out.start(port=0)
        hub = FeedHub()
        seen: list[SbsRecord] = []
        hub.subscribe_sbs(seen.extend)
        task = asyncio.create_task(
            connect_feed(HOST, out.port, hub, fmt="sbs", min_backoff_s=0.05)
        )
        await until(lambda: len(out.clients) == 1)
        out.send_sbs([rec, rec])
        await until(lambda: len(seen) == 2)
        task.cancel()
        await out.close()
        assert seen[0] == SbsRecord(**{**_fields(rec), "logged_time_s": rec.time_s})
        assert format_sbs(seen[0]) == format_sbs(rec)

    run(main())


def _fields(r: SbsRecord) -> dict[str, Any]:
    return {k: getattr(r, k) for k in r.__slots__}


def test_encode_of_batches_concatenates(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    b = parse_beast(raw, final=True).frames
    halves = encode_beast(b.take(np.arange(100))) + encode_beast(b.take(np.arange(100, 239)))
    assert halves == raw


T_REC = 1_720_248_189.525094  # 2024-07-06 06:43:09 UTC: the time records' timescale
SERIAL = 0x1A2B_3C4D_5E6F_7081  # an 0xe3 receiver id with an escaped 0x1a byte


def _dated_feed(
    raw: bytes, reset_at: int | None = None
) -> tuple[FrameBatch, list[tuple[int, bytes]]]:
    """The capture as a feeder with an 0xe3 id and 2024 time records (before the first frame
    of every second), as writes: each second's record and first frame, then the rest of that
    second, each with the number of frames it holds. ``reset_at``: the receiver restarts there
    (its counter starts again near 0)."""
    b = parse_beast(raw, final=True).frames
    ticks = b.ticks.astype(np.int64)
    truth = T_REC + (ticks - ticks[0]) / 12e6
    if reset_at is not None:
        ticks[reset_at:] = ticks[reset_at:] - ticks[reset_at] + 5_000
    sec = np.floor(truth - truth[0])
    rec = np.ones(len(b), bool)
    rec[1:] = sec[1:] != sec[:-1]
    assert reset_at is None or not rec[reset_at]
    fb = FrameBatch(
        b.data, b.length_bytes, truth, np.full(len(b), SERIAL, np.uint64), b.signal_dbfs,
        ticks.astype(np.uint64),
    )
    writes: list[tuple[int, bytes]] = []
    starts = np.flatnonzero(rec).tolist()
    for a, e in zip(starts, [*starts[1:], len(b)], strict=True):
        writes.append((1, encode_beast(fb.take(np.arange(a, a + 1)), receiver_ids=True,
                                       time_records=np.ones(1, bool))))
        if e > a + 1:
            writes.append((e - a - 1, encode_beast(fb.take(np.arange(a + 1, e)),
                                                   receiver_ids=True)))
    return fb, writes


@pytest.mark.parametrize("reset_at", [None, 150])
def test_live_feed_with_2024_time_records_stays_on_their_timescale(
    shared: Callable[[str], Path], caplog: pytest.LogCaptureFixture, reset_at: int | None
) -> None:
    """Real frames pushed over loopback with 0xe9 records two years before arrival: every frame
    keeps the records' time (no flip-flop with the wall clock), times never go backwards, and
    the clock anchors once (twice with a counter reset, staying on the records' timescale)."""
    want, writes = _dated_feed(shared(SAMPLE).read_bytes(), reset_at)
    caplog.set_level(logging.INFO, logger="overflight.sources.net")

    async def main() -> None:
        hub = FeedHub()
        got = Collector()
        hub.subscribe(got)
        srv = await serve_ingest(hub, port=0)
        _r, w = await asyncio.open_connection(HOST, srv.port)
        sent = 0
        for n, data in writes:  # one read each (most carry no time record), faster than real time
            w.write(data)
            await w.drain()
            sent += n
            await until(lambda: len(got) >= sent)  # noqa: B023 - awaited at once
        w.close()
        await w.wait_closed()
        srv.close()
        await srv.wait_closed()
        fb = got.frames
        assert np.array_equal(fb.data, want.data) and set(fb.receiver.tolist()) == {SERIAL}
        assert np.all(np.diff(fb.time_s) >= 0)
        assert fb.time_s.min() >= T_REC and fb.time_s.max() <= want.time_s.max()
        (st,) = hub.receivers.values()
        assert st.serials == [SERIAL] and st.name == "receiver 1a2b3c4d5e6f7081"
        clk = st.clocks[SERIAL]
        assert clk.drift == 0 and clk.far_records == 0
        if reset_at is None:
            assert clk.anchors == 1 and clk.backwards == 0
            assert np.abs(fb.time_s - want.time_s).max() < 1e-5
        else:  # one re-anchor, on arrival (on the records' timescale); records agree again
            assert clk.anchors == 2 and clk.backwards == 1
            assert np.abs(fb.time_s - want.time_s)[:reset_at].max() < 1e-5
            assert np.abs(fb.time_s - want.time_s)[reset_at:].max() < 2.0
        assert clk.records == sum(1 for _, x in writes if b"\x1a\xe9" in x)

    run(main())
    assert "is receiver 1a2b3c4d5e6f7081" in caplog.text
    assert "as receiver 1 " not in caplog.text


def _tasks_left() -> list[asyncio.Task[Any]]:
    """Tasks other than the test's own (``main`` and the ``body`` it awaits)."""
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not me]


def test_servers_close_their_client_connections(
    shared: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Closing the ingest and fan-out servers disconnects idle feeders and clients (they read
    the end of file) and leaves no task behind."""
    raw = shared(SAMPLE).read_bytes()
    caplog.set_level(logging.INFO)

    async def main() -> None:
        async with asyncio.timeout(20):
            await body()

    async def body() -> None:
        hub = FeedHub()
        ingest = await serve_ingest(hub, port=0)
        out = FanoutServer("beast")
        await out.start(port=0)
        hub.subscribe(out)
        feeders = [await asyncio.open_connection(HOST, ingest.port) for _ in range(3)]
        clients = [await asyncio.open_connection(HOST, out.port) for _ in range(2)]
        await until(lambda: len(ingest.connections) == 3 and len(out.clients) == 2)
        feeders[0][1].write(raw)
        await feeders[0][1].drain()
        first = await clients[0][0].readexactly(len(raw))
        assert first == raw
        ingest.close()
        await ingest.wait_closed()
        await out.close()
        for r, _w in [*feeders, *clients]:
            assert await asyncio.wait_for(r.read(), 5) in (b"", raw)  # the end of file
        for _r, w in [*feeders, *clients]:
            w.close()
            await w.wait_closed()
        assert _tasks_left() == []
        assert not ingest.connections and not out.clients and out.dropped_clients == 0
        assert all(s.disconnects == 1 for s in hub.receivers.values())

    asyncio.run(main())
    assert "Task was destroyed" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_overlong_line_on_a_text_feed_is_dropped_whole_and_counted_once() -> None:
    """A line over 4 KiB arriving in pieces is skipped to its newline: its tail is never parsed
    as a frame, it is counted once, and the next line is read (it used to be cut at 4 KiB, its
    rest collected again and the tail parsed)."""
    from overflight.sources.net import ReceiverStats, StreamDecoder

    dec = StreamDecoder("raw", ReceiverStats(receiver=1, peer="test"))
    frame = b"*8D4840D6202CC371C32CE0576098;"
    junk = b"x" * 5000 + frame  # ends like a frame: must not be parsed
    got = []
    data = junk + b"\n" + frame + b"\n"
    for k in range(0, len(data), 700):
        fb, _ = dec.feed(data[k : k + 700], 0.0)
        got.append(len(fb))
    assert sum(got) == 1
    assert dec.stats.bad_lines == 1
