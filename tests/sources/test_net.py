"""Live network on loopback: a tiny TCP server plays the real capture as a receiver."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np

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
