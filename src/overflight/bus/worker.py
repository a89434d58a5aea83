"""A worker: owns some shards, runs one station per shard over that shard's frames, and
publishes what each station made of them on ``overflight.updates.<shard>``.

One :class:`ShardStation` per shard (not per worker) makes a shard's state a pure function of
its frames in stream order, so a shard can move to another worker, and a replacement worker
rebuilds exactly the state the dead one had:

1. read the durable consumer ``overflight-shard-<k>``'s ack floor (every frames message up to
   it was fully handled and its updates published);
2. replay the shard's frames up to the floor through a fresh station without publishing
   (an ordered consumer: warm-up);
3. pull from the durable consumer (one message in flight, explicit acks): a batch's chunks
   are gathered, the batch processed, its updates published with
   ``Nats-Msg-Id = u:<shard>:<stream seq of the batch's last chunk>:<part>``, then acked.

A worker killed between publishing and acking gets the message again (or its replacement
does): the same state gives the same updates with the same ids, which JetStream stores once
(duplicate window) and readers skip by ``(stream seq, part)`` per shard. Nothing is lost,
nothing doubled. Warm-up reads the shard from the stream's first message; a long-running
network bounds it with the stream's ``max_age`` (longer than ``expire_after_s`` and a
flight) or a state checkpoint (see ``docs/scaling.md``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.bus import subjects as subj
from overflight.bus.codec import pack, split_parts, states_table, table_from_ipc
from overflight.station.schema import FRAMES_SCHEMA
from overflight.station.station import Station

__all__ = ["BatchGatherer", "ShardRunner", "ShardStation", "WorkerStats", "publish_end",
           "run_clock_sync", "run_worker"]

log = logging.getLogger("overflight.worker")

END = "Overflight-End"


_MAX_PENDING = 64
"""Most batches held part-received (the oldest is dropped, counted malformed, beyond it)."""

class ShardStation(Station):
    """A :class:`Station` whose frames come numbered (the ingest's ``seq``): the same
    processing as :meth:`Station.process`, without publishing the frames again."""

    def process_numbered(self, batch: Any, seq: npt.NDArray[np.int64]) -> None:
        """:meth:`Station.process` with the ingest's numbers (one definition of the work)."""
        self.process(batch, seq)


@dataclass(slots=True)
class WorkerStats:
    messages: int = 0
    redelivered: int = 0
    batches: int = 0
    frames: int = 0
    warmup_messages: int = 0
    malformed: int = 0
    published: int = 0
    busy_s: float = 0.0
    per_shard: dict[int, int] = field(default_factory=dict)


class BatchGatherer:
    """The frames messages of one input, in stream order: redeliveries skipped, a station
    batch's chunks gathered into one table, the end of a run recognised."""

    def __init__(self, stats: WorkerStats) -> None:
        self.stats = stats
        self._pending: dict[tuple[str, str], dict[int, pa.Table]] = {}
        self.last_in = 0
        """Stream sequence of the last message handled."""

    def add(self, data: bytes, headers: dict[str, str], stream_seq: int
            ) -> tuple[str, pa.Table | str] | None:
        """``("batch", table)`` when the message completed a batch, ``("end", run id)`` when
        it ended a run, None otherwise (a chunk, or a message seen already)."""
        if stream_seq <= self.last_in:
            self.stats.redelivered += 1
            return None
        self.last_in = stream_seq
        self.stats.messages += 1
        if headers.get(END):
            return ("end", headers[END])
        key = (headers.get(subj.H_RUN, ""), headers.get(subj.H_BATCH, ""))
        try:  # what came over the network is untrusted: a bad message is dropped, counted
            i, n = subj.part_of(headers, subj.H_CHUNK)
            table = table_from_ipc(data)
            if not 0 <= i < n <= 1 << 20 or not table.schema.equals(FRAMES_SCHEMA):
                raise ValueError(f"chunk {i}/{n}, schema {table.schema.names}")
        except (ValueError, OSError, pa.ArrowException) as exc:
            self.stats.malformed += 1
            log.warning("dropped a malformed frames message (stream seq %d): %s", stream_seq,
                        exc)
            return None
        chunks = self._pending.setdefault(key, {})
        chunks[i] = table
        if len(chunks) < n:
            while len(self._pending) > _MAX_PENDING:  # a batch whose chunk was lost: let go
                self._pending.pop(next(iter(self._pending)))
                self.stats.malformed += 1
            return None
        del self._pending[key]
        return ("batch", pa.concat_tables([chunks[k] for k in sorted(chunks)]))


class ShardRunner:
    """One shard: its station, the batch being gathered, and what was handled. The input,
    output and consumer names are attributes, so :func:`run_shard` also runs the clock-sync
    worker's :class:`~overflight.bus.clocks.ClockSyncRunner`."""

    in_stream = subj.FRAMES_STREAM

    def __init__(self, shard: int, make_station: Callable[[], Station],
                 stats: WorkerStats) -> None:
        self.shard = shard
        self.label = f"shard {shard}"
        self.in_subject = subj.frames_subject(shard)
        self.durable = subj.consumer_name(shard)
        self.out_subject = subj.updates_subject(shard)
        self.station = make_station()
        self.stats = stats
        self._out: list[Any] = []
        self.station.subscribe(self._collect, name="bus-out", inline=True)
        self.gather = BatchGatherer(stats)

    @property
    def last_in(self) -> int:
        """Stream sequence of the last frames message handled."""
        return self.gather.last_in

    @last_in.setter
    def last_in(self, value: int) -> None:
        self.gather.last_in = value

    def _collect(self, update: Any) -> None:
        if update.name != "frames":
            self._out.append(update)

    def handle(self, data: bytes, headers: dict[str, str], stream_seq: int
               ) -> list[tuple[str, pa.Table]] | None:
        """Handle one frames message; the tables to publish when it completed a batch (or
        ended the input), else None. Runs on a worker thread."""
        got = self.gather.add(data, headers, stream_seq)
        if got is None:
            return None
        kind, value = got
        if kind == "end":
            self.station.finish()
            return [*self._drain(), ("end", pa.table({"run": [str(value)]}))]
        assert isinstance(value, pa.Table)
        table = value
        from overflight.history.rebuild import frame_batch

        seq = table.column("seq").to_numpy(zero_copy_only=False).astype(np.int64)
        assert isinstance(self.station, ShardStation)
        self.station.process_numbered(frame_batch(table), seq)
        self.stats.batches += 1
        self.stats.frames += table.num_rows
        self.stats.per_shard[self.shard] = self.stats.per_shard.get(self.shard, 0) + \
            table.num_rows
        return self._drain()

    def _drain(self) -> list[tuple[str, pa.Table]]:
        out, self._out = self._out, []
        parts: list[tuple[str, pa.Table]] = []
        keys: dict[tuple[int, bool], None] = {}
        for u in out:
            parts.append((u.name, u.table))
            if u.name == "changed":
                a = u.table.column("address").to_pylist()
                n = u.table.column("non_icao").to_pylist()
                for k in zip(a, n, strict=True):
                    keys[(int(k[0]), bool(k[1]))] = None
        tr = self.station.tracker
        states = [s for s in (tr.get(a, non_icao=n) for a, n in keys) if s is not None]
        if states:
            parts.append(("aircraft", states_table(states)))
        parts.append(("clock", pa.table({
            "time_s": pa.array([float(tr.now_s)], pa.float64()),
            "messages": pa.array([int(tr.messages)], pa.int64()),
        })))
        return parts


def make_station_factory(*, receivers_csv: Any = None, identify: bool = True,
                         identity_db: Any = None, flights: bool = True,
                         receiver_lat_lon: tuple[float, float] | None = None,
                         clocks: Any = None) -> Callable[[], Station]:
    """A factory of shard stations with one configuration (no snapshots: API nodes make
    those). ``clocks``: a :class:`~overflight.bus.clocks.ClockBoard` whose published clock
    models the stations' MLAT solves with (given to :func:`run_worker` too), instead of
    each shard fitting its own from its aircraft."""
    from pathlib import Path

    from overflight.station.config import StationConfig

    cfg = StationConfig(
        receivers_csv=Path(receivers_csv) if receivers_csv else None, identify=identify,
        identity_db=Path(identity_db) if identity_db else None, flights=flights,
        receiver_lat_lon=receiver_lat_lon, snapshot_every_s=1e12,
    )
    if clocks is None or receivers_csv is None:
        return lambda: ShardStation(cfg)

    def make() -> Station:
        from overflight.bus.clocks import SharedClockFeed
        from overflight.mlat import ReceiverRegistry

        registry = ReceiverRegistry.from_csv(receivers_csv)
        if len(registry) == 0:
            raise ValueError(f"{receivers_csv}: no receivers")
        feed = SharedClockFeed(registry, clocks.view(registry),
                               slice_s=max(1.0, cfg.mlat_slice_s))
        return ShardStation(cfg, mlat=feed)

    return make


def _headers(msg: Any) -> dict[str, str]:
    return dict(msg.headers or {})


async def _warm_up(js: Any, runner: ShardRunner, floor: int) -> None:
    """Replay the shard's frames up to stream sequence ``floor`` without publishing."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import DeliverPolicy

    if floor <= 0:
        return
    sub = await js.subscribe(runner.in_subject, stream=runner.in_stream,
                             ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=30.0)
            except NatsTimeout:
                log.warning("%s: warm-up stopped before %d", runner.label, floor)
                return
            seq = msg.metadata.sequence.stream
            if seq > floor:
                return
            await asyncio.to_thread(runner.handle, msg.data, _headers(msg), seq)
            runner.stats.warmup_messages += 1
            if seq >= floor or msg.metadata.num_pending == 0:
                return
    finally:
        await sub.unsubscribe()


async def _publish(js: Any, nc: Any, runner: Any, in_seq: int,
                   parts: list[tuple[str, pa.Table]], stats: WorkerStats) -> None:
    groups = split_parts(parts, int(getattr(nc, "max_payload", 1 << 20) or (1 << 20)))
    shard = runner.shard
    prefix = "u" if shard >= 0 else "c"
    for i, g in enumerate(groups):
        await js.publish(runner.out_subject, pack(g), headers={
            "Nats-Msg-Id": f"{prefix}:{shard}:{in_seq}:{i}",
            subj.H_SHARD: str(shard), subj.H_IN: str(in_seq), subj.H_PART: f"{i}/{len(groups)}",
        })
        stats.published += 1


async def run_shard(nc: Any, js: Any, runner: Any, stop: asyncio.Event, *,
                    ack_wait_s: float = 30.0) -> None:
    """Own one shard (a :class:`ShardRunner`, or the clock-sync worker's runner: the same
    durable consumer, warm-up and publishing) until ``stop`` is set."""
    import time

    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    subject = runner.in_subject
    durable = runner.durable
    try:
        info = await js.consumer_info(runner.in_stream, durable)
    except NotFoundError:
        info = await js.add_consumer(runner.in_stream, ConsumerConfig(
            durable_name=durable, filter_subject=subject, ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL, max_ack_pending=1, ack_wait=ack_wait_s,
        ))
    floor = int(info.ack_floor.stream_seq or 0) if info.ack_floor else 0
    await _warm_up(js, runner, floor)
    runner.last_in = max(runner.last_in, floor)
    psub = await js.pull_subscribe(subject, durable=durable, stream=runner.in_stream)
    log.info("%s: warmed up to %d, pulling", runner.label, floor)
    try:
        async for msg in subj.pulled(psub, stop):
            seq = msg.metadata.sequence.stream
            t0 = time.perf_counter()
            parts = await asyncio.to_thread(runner.handle, msg.data, _headers(msg), seq)
            runner.stats.busy_s += time.perf_counter() - t0
            if parts is not None:
                await _publish(js, nc, runner, seq, parts, runner.stats)
            await msg.ack_sync()
    finally:
        await psub.unsubscribe()


async def _run_all(runners: list[Any], nc: Any, js: Any, stop: asyncio.Event,
                   ack_wait_s: float, ready: Callable[[], None] | None) -> None:
    tasks = [asyncio.create_task(run_shard(nc, js, r, stop, ack_wait_s=ack_wait_s))
             for r in runners]
    if ready is not None:
        ready()
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            if t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        stop.set()
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_worker(url: str, shards: tuple[int, ...], *,
                     make_station: Callable[[], Station] | None = None,
                     stop: asyncio.Event | None = None, ack_wait_s: float = 30.0,
                     ready: Callable[[], None] | None = None,
                     clocks: Any = None) -> WorkerStats:
    """Own ``shards`` until ``stop`` is set (or cancelled); returns the counts.
    ``clocks``: the :class:`~overflight.bus.clocks.ClockBoard` the stations of
    ``make_station`` solve MLAT with (:func:`make_station_factory`), followed from here."""
    from overflight.bus.publish import connect

    stop = stop or asyncio.Event()
    factory = make_station or make_station_factory()
    stats = WorkerStats()
    nc = await connect(url, name=f"overflight-worker-{shards[0]}-{shards[-1]}")
    try:
        js = nc.jetstream()
        await subj.ensure_streams(js)
        runners = [ShardRunner(k, factory, stats) for k in shards]
        if clocks is not None:
            await clocks.start(js)
        try:
            await _run_all(runners, nc, js, stop, ack_wait_s, ready)
        finally:
            if clocks is not None:
                await clocks.close()
    finally:
        await nc.close()
    return stats


async def run_clock_sync(url: str, receivers_csv: Any, *, stop: asyncio.Event | None = None,
                         ack_wait_s: float = 30.0, ready: Callable[[], None] | None = None,
                         ) -> WorkerStats:
    """The clock-sync worker: ``overflight.sync`` (every shard's reference frames) through
    one clock synchronisation, its models published on ``overflight.clocks`` for the shard
    workers (:mod:`overflight.bus.clocks`), until ``stop`` is set. Resumes like a shard."""
    from overflight.bus.clocks import ClockSyncRunner
    from overflight.bus.publish import connect
    from overflight.mlat import ReceiverRegistry

    registry = ReceiverRegistry.from_csv(receivers_csv)
    if len(registry) == 0:
        raise ValueError(f"{receivers_csv}: no receivers")
    stop = stop or asyncio.Event()
    stats = WorkerStats()
    nc = await connect(url, name="overflight-clock-sync")
    try:
        js = nc.jetstream()
        await subj.ensure_streams(js)
        await _run_all([ClockSyncRunner(registry, stats)], nc, js, stop, ack_wait_s, ready)
    finally:
        await nc.close()
    return stats


async def publish_end(js: Any, run_id: str, shards: int, *, newest_s: float | None = None,
                      sync: bool = True) -> None:
    """Tell every shard (and the clock-sync worker, with ``sync``) the input of ``run_id``
    ended: the workers close their flights, as a single station does at the end of a file
    or a session. ``newest_s``: the run's latest frame time (UTC s), so that shards stop
    waiting for clocks there."""
    now = {} if newest_s is None or not math.isfinite(newest_s) else {
        subj.H_NOW: repr(float(newest_s))}
    for k in range(shards):
        await js.publish(subj.frames_subject(k), b"", headers={
            END: run_id, "Nats-Msg-Id": f"{run_id}:end:{k}", subj.H_RUN: run_id,
            subj.H_SHARD: str(k), **now,
        })
    if sync:
        await js.publish(subj.SYNC_SUBJECT, b"", headers={
            END: run_id, "Nats-Msg-Id": f"{run_id}:end:sync", subj.H_RUN: run_id, **now,
        })
