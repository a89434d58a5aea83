"""connect_feed's reconnect back-off on real loopback sockets: it doubles while a receiver is
down and starts again at the minimum after every connection that delivered frames, however that
connection ended (closed by the receiver, or stalled into the idle timeout)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np

from overflight.sources.beast import encode_beast, parse_beast
from overflight.sources.net import FeedHub, connect_feed, reconnect_delay

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
MIN_S = 0.001
MAX_S = 0.016


def test_reconnect_delay_rule() -> None:
    assert reconnect_delay(0.5, False, 0.5, 30.0) == (0.5, 1.0)
    assert reconnect_delay(16.0, False, 0.5, 30.0) == (16.0, 30.0)
    assert reconnect_delay(30.0, False, 0.5, 30.0) == (30.0, 30.0)
    assert reconnect_delay(30.0, True, 0.5, 30.0) == (0.5, 1.0)


def test_backoff_restarts_after_a_connection_that_delivered_frames(
    shared: Callable[[str], Path],
) -> None:
    """Refused x6 (the wait grows to the maximum), then connections that send 40 real Beast
    frames and then stall (idle timeout: an error) or close, then refused again."""
    frames = parse_beast(shared(SAMPLE).read_bytes(), final=True).frames
    few = encode_beast(frames.take(np.arange(40)))  # the first 40 real frames
    waits: list[float] = []
    deliveries: list[int] = []

    async def run() -> None:
        hub = FeedHub()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        mode = {"end": "stall"}
        server: asyncio.Server | None = None

        async def handle(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(few)
            await w.drain()
            if mode["end"] == "stall":
                await asyncio.sleep(5)  # the client's idle timeout ends it
            w.close()

        done = asyncio.Event()

        async def sleep(s: float) -> None:
            """The feed's wait: record it, and move the scenario on by attempt number."""
            nonlocal server
            waits.append(s)
            deliveries.append(hub.stats_for(f"127.0.0.1:{port}").messages)
            k = len(waits)
            if k == 6:
                server = await asyncio.start_server(handle, sock=sock)
            elif k == 9:
                mode["end"] = "close"
            elif k == 12 and server is not None:
                server.close()
                await server.wait_closed()
            elif k == 15:
                done.set()
            await asyncio.sleep(0)

        task = asyncio.create_task(
            connect_feed(
                "127.0.0.1", port, hub, min_backoff_s=MIN_S, max_backoff_s=MAX_S,
                idle_timeout_s=0.3, connect_timeout_s=2.0, sleep=sleep,
            )
        )
        await asyncio.wait_for(done.wait(), 20)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run())
    assert deliveries[:6] == [0] * 6
    assert deliveries[6:12] == [40 * k for k in range(1, 7)]  # 40 frames on each connection
    refused = [MIN_S, 2 * MIN_S, 4 * MIN_S, 8 * MIN_S, MAX_S, MAX_S]
    assert waits[:6] == refused
    assert waits[6:9] == [MIN_S] * 3  # stalled after delivering frames: timed out, an error
    assert waits[9:12] == [MIN_S] * 3  # closed after delivering frames
    assert waits[12:15] == [2 * MIN_S, 4 * MIN_S, 8 * MIN_S]  # down again: grows from the minimum
