"""Play a simulation live on real sockets (asyncio), paced by the simulated arrival times.

* :func:`serve_fanout` — an aggregator's Beast output port: every receiver interleaved, with
  ``0xe3`` receiver-id and ``0xe9`` time records (the same bytes as the Beast file), served to
  any number of clients through :class:`overflight.sources.net.FanoutServer`.
* :func:`push_feeders` — one TCP connection per receiver pushing its own Beast stream (with its
  ``0xe3`` id) to an ingest port, as readsb's ``--net-connector host,30004,beast_out`` does; an
  :func:`overflight.sources.net.serve_ingest` listener tags every frame with the right receiver.

``speed`` is simulated seconds per wall-clock second (``math.inf``: as fast as the peer reads).

Time records. Played live, the simulator stands in for receivers on the air *now*: a user
running ``overflight sim --push`` beside ``overflight serve --sbs-out`` expects today's
aircraft in Virtual Radar Server or tar1090, SBS lines dated today, and aircraft that expire by
the wall clock, as with a real readsb feeder. So by default the ``0xe9`` time records carry
the scenario moved to the wall clock: the scenario's start becomes the moment play starts
(``start_time_s=None``), every record keeps its exact distance from the scenario start, and at
``speed`` 1 a record says the time its frame is sent. The records stay consistent with the
receivers' 12 MHz counters (which follow simulated time), so at any speed the ingest clock
never has to re-anchor. Pass ``start_time_s=result.scenario.start_time_s`` to send the
scenario's own UTC times instead (to compare live output with the truth table).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from overflight.frames import FrameBatch
from overflight.sim.result import SimResult
from overflight.sources.beast import encode_beast
from overflight.sources.net import DEFAULT_HOST, FanoutServer

__all__ = ["beast_chunks", "push_feeders", "push_stream", "serve_fanout"]


def beast_chunks(
    result: SimResult,
    *,
    chunk_s: float = 0.1,
    time_record_interval_s: float = 1.0,
    receiver_id: int | None = None,
    time_shift_s: float = 0.0,
) -> Iterator[tuple[float, int, bytes]]:
    """``(due_s, frames, bytes)`` per ``chunk_s`` of simulated arrival time (seconds since the
    scenario start); only ``receiver_id``'s frames when given. Time records carry the
    simulated UTC arrival plus ``time_shift_s`` seconds. Concatenated, the chunks of all
    receivers equal :meth:`SimResult.beast_bytes` (with no shift) up to restated receiver-id
    records."""
    arrival = result.receptions.arrival_s
    marks = result.time_records(time_record_interval_s)
    sel = np.arange(len(result.frames))
    if receiver_id is not None:
        sel = np.flatnonzero(result.frames.receiver == np.uint64(receiver_id))
    if sel.size == 0:
        return
    bucket = np.floor(arrival[sel] / chunk_s).astype(np.int64)
    edges = np.flatnonzero(np.diff(bucket)) + 1
    for part in np.split(np.arange(sel.size), edges):
        rows = sel[part]
        fb = result.frames.take(rows)
        if time_shift_s:
            fb = FrameBatch(
                fb.data, fb.length_bytes, fb.time_s + time_shift_s, fb.receiver, fb.signal_dbfs,
                fb.ticks,
            )
        data = encode_beast(fb, receiver_ids=True, time_records=marks[rows])
        yield float(arrival[rows[-1]]), int(rows.size), data


def _time_shift_s(result: SimResult, start_time_s: float | None) -> float:
    """Seconds added to the scenario's UTC times: its start becomes ``start_time_s`` (None:
    now, the wall-clock time play starts)."""
    start = time.time() if start_time_s is None else start_time_s
    return start - result.scenario.start_time_s


async def _pace(t0: float, due_s: float, speed: float) -> None:
    if math.isinf(speed):
        await asyncio.sleep(0)
        return
    delay = t0 + due_s / speed - time.monotonic()
    await asyncio.sleep(max(delay, 0.0))


async def serve_fanout(
    result: SimResult,
    host: str = DEFAULT_HOST,
    port: int = 30005,
    *,
    speed: float = 1.0,
    wait_for_clients: int = 1,
    chunk_s: float = 0.1,
    on_listening: Callable[[int], None] | None = None,
    drain_timeout_s: float = 30.0,
    start_time_s: float | None = None,
) -> int:
    """Serve ``result`` as one aggregated Beast stream on ``host:port``; returns frames sent.

    Waits for ``wait_for_clients`` clients before starting (so they see every frame), then plays
    the frames in arrival order and waits for the clients to receive everything.
    ``on_listening(port)`` is called once the socket is bound (``port=0`` picks a free one).
    ``start_time_s``: UTC epoch seconds the scenario's start is sent as (None: when play starts,
    see the module docstring).
    """
    server = FanoutServer("beast", queue_chunks=1024)
    await server.start(host, port)
    if on_listening is not None:
        on_listening(server.port)
    try:
        while len(server.clients) < wait_for_clients:
            await asyncio.sleep(0.01)
        shift = _time_shift_s(result, start_time_s)
        t0 = time.monotonic()
        sent = 0
        for due, n, data in beast_chunks(result, chunk_s=chunk_s, time_shift_s=shift):
            await _pace(t0, due, speed)
            while server.backlog() > server.queue_chunks // 2:  # never outrun the clients
                await asyncio.sleep(0.005)
            server.send_bytes(data)
            sent += n
        deadline = time.monotonic() + drain_timeout_s
        while time.monotonic() < deadline and (
            server.backlog() > 0
            or any(c.writer.transport.get_write_buffer_size() for c in server.clients.values())
        ):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        return sent
    finally:
        await server.close()


async def push_feeders(
    result: SimResult,
    host: str = DEFAULT_HOST,
    port: int = 30004,
    *,
    speed: float = 1.0,
    chunk_s: float = 0.1,
    start_time_s: float | None = None,
) -> int:
    """Connect one feeder per receiver to ``host:port`` and push each receiver's frames as
    Beast (its ``0xe3`` id first), paced by arrival time; returns frames sent.

    ``start_time_s``: UTC epoch seconds the scenario's start is sent as in the time records
    (None: the wall-clock time play starts, see the module docstring)."""
    ids = [r.receiver_id for r in result.scenario.receivers]
    writers: dict[int, asyncio.StreamWriter] = {}
    try:
        for rid in ids:
            _, w = await asyncio.open_connection(host, port)
            writers[rid] = w
        # Merge the per-receiver chunk streams by due time.
        shift = _time_shift_s(result, start_time_s)
        streams = {
            rid: beast_chunks(result, chunk_s=chunk_s, receiver_id=rid, time_shift_s=shift)
            for rid in ids
        }
        heads: dict[int, tuple[float, int, bytes]] = {}
        for rid, it in streams.items():
            first = next(it, None)
            if first is not None:
                heads[rid] = first
        t0 = time.monotonic()
        sent = 0
        while heads:
            rid = min(heads, key=lambda k: heads[k][0])
            due, n, data = heads[rid]
            await _pace(t0, due, speed)
            writers[rid].write(data)
            await writers[rid].drain()
            sent += n
            nxt = next(streams[rid], None)
            if nxt is None:
                del heads[rid]
            else:
                heads[rid] = nxt
        return sent
    finally:
        for w in writers.values():
            w.close()
        for w in writers.values():
            with contextlib.suppress(Exception):
                await w.wait_closed()


def _tagged(
    k: int, chunks: Iterator[tuple[float, int, bytes]]
) -> Iterator[tuple[float, int, int, bytes]]:
    """``(due, k, frames, bytes)``: the chunks of receiver ``k`` (ordered by due, then k)."""
    for due, n, data in chunks:
        yield due, k, n, data


async def push_stream(
    results: Iterable[SimResult],
    receiver_ids: list[int],
    host: str = DEFAULT_HOST,
    port: int = 30004,
    *,
    from_s: float = 0.0,
    speed: float = 1.0,
    chunk_s: float = 0.1,
    start_time_s: float | None = None,
    scenario_start_s: float = 0.0,
) -> int:
    """:func:`push_feeders` over a streamed simulation (one result per time window, e.g.
    :func:`overflight.sim.stream.simulate_stream`): one connection per receiver for the whole
    run, paced from ``from_s`` (seconds since the scenario start); returns frames sent.

    ``start_time_s``: UTC epoch seconds that ``from_s`` is sent as in the time records (None:
    the wall-clock time play starts); ``scenario_start_s``: the scenario's UTC start."""
    writers: dict[int, asyncio.StreamWriter] = {}
    try:
        for rid in receiver_ids:
            _, w = await asyncio.open_connection(host, port)
            writers[rid] = w
        start = time.time() if start_time_s is None else start_time_s
        shift = start - (scenario_start_s + from_s)
        t0 = time.monotonic()
        sent = 0
        for result in results:
            streams = [
                beast_chunks(result, chunk_s=chunk_s, receiver_id=rid, time_shift_s=shift)
                for rid in receiver_ids
            ]
            merged = heapq.merge(*[_tagged(k, it) for k, it in enumerate(streams)])
            for due, k, n, data in merged:
                await _pace(t0, due - from_s, speed)
                w = writers[receiver_ids[k]]
                w.write(data)
                await w.drain()
                sent += n
        return sent
    finally:
        for w in writers.values():
            w.close()
        for w in writers.values():
            with contextlib.suppress(Exception):
                await w.wait_closed()
