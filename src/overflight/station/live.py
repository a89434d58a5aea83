"""The station's network side: receivers and feeders in, re-served Beast / raw / SBS and a
recorder out, and tracking on its own thread so that no reader ever blocks ingest.

The event loop only moves bytes: each feed's frames go to the hub, which hands them to the
Beast/raw re-servers at once and to a :class:`Coalescer` that gathers them for one period
(``batch_period_s``). Each gathered batch is queued (``queue_batches`` deep; when tracking falls
behind, a batch is dropped and counted, never waited for) to the tracking thread, which runs
:meth:`Station.process` and publishes to subscribers. SBS lines need the tracker's state right
after each update, so they are formatted on the tracking thread and handed to the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from overflight.frames import FrameBatch

if TYPE_CHECKING:
    from overflight.sources.net import FanoutServer, FeedHub
    from overflight.station.station import Station

__all__ = ["Coalescer", "ReceiverIds", "TrackingThread", "run_live"]

log = logging.getLogger("overflight.serve")

STATS_EVERY_S = 60.0


class ReceiverIds:
    """A hub sink wrapper giving the frames of named feeds their receivers-CSV serial.

    Frames whose receiver id is the number the hub gave a named feed (its connection) get the
    serial ``receiver_ids`` names for it; frames carrying their own ``0xe3`` id pass as they are.
    """

    def __init__(self, hub: FeedHub, serials: dict[str, int],
                 sink: Callable[[FrameBatch], None]) -> None:
        self.hub = hub
        self.serials = serials
        self.sink = sink
        self._known = -1
        self._ids: dict[int, int] = {}

    def _refresh(self) -> None:
        ids: dict[int, int] = {}
        for peer, st in self.hub.receivers.items():
            serial = self.serials.get(peer, self.serials.get(peer.rpartition(":")[0]))
            if serial is not None:
                ids[st.receiver] = serial
        self._ids = ids
        self._known = len(self.hub.receivers)

    def __call__(self, batch: FrameBatch) -> None:
        if self.serials:
            if len(self.hub.receivers) != self._known:
                self._refresh()
            if self._ids:
                rx = batch.receiver
                new = rx.copy()
                for hub_id, serial in self._ids.items():
                    new[rx == np.uint64(hub_id)] = np.uint64(serial)
                batch = FrameBatch(
                    batch.data, batch.length_bytes, batch.time_s, new, batch.signal_dbfs,
                    batch.ticks,
                )
        self.sink(batch)


class Coalescer:
    """A hub sink that gathers batches and hands them on as one every :meth:`run` period (or
    every ``max_frames`` frames): decoding and tracking have a fixed cost per batch, and each
    TCP read is a batch of a few frames.

    The batch goes on whole, whatever its time span: each feed's clock keeps its own timescale
    and the MLAT slicing is linear in rows however far apart the times are."""

    def __init__(self, sink: Callable[[FrameBatch], None], *, max_frames: int = 65536) -> None:
        self.sink = sink
        self.max_frames = max_frames
        self._pending: list[FrameBatch] = []
        self._frames = 0

    def __call__(self, batch: FrameBatch) -> None:
        self._pending.append(batch)
        self._frames += len(batch)
        if self._frames >= self.max_frames:
            self.flush()

    def flush(self) -> None:
        """Hand on what is pending (a failing sink is logged, never stops ingest)."""
        if not self._pending:
            return
        pending, self._pending, self._frames = self._pending, [], 0
        batch = pending[0] if len(pending) == 1 else FrameBatch.concat(pending)
        try:
            self.sink(batch)
        except Exception:
            log.exception("tracking failed on a batch of %d frames", len(batch))

    async def run(self, period_s: float) -> None:
        """Flush every ``period_s`` seconds until cancelled."""
        while True:
            await asyncio.sleep(period_s)
            self.flush()


_STOP = object()


class TrackingThread:
    """Runs :meth:`Station.process` on its own thread for batches queued from the event loop;
    a full queue drops the batch (counted in the station's stats), never blocks the loop."""

    def __init__(self, station: Station, depth: int) -> None:
        self.station = station
        self._q: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._thread = threading.Thread(target=self._run, name="overflight-tracking",
                                        daemon=True)
        self.busy_s = 0.0
        """Seconds spent processing (for the load figure in the logs)."""

    def start(self) -> None:
        self._thread.start()

    def __call__(self, batch: FrameBatch) -> None:
        try:
            self._q.put_nowait(batch)
        except queue.Full:
            self.station.stats.batches_dropped += 1
            self.station.stats.frames_dropped += len(batch)

    def sbs(self, records: list[Any]) -> None:
        """Queue SBS records (an SBS feed's lines) for :meth:`Station.process_sbs`."""
        try:
            self._q.put_nowait(("sbs", records))
        except queue.Full:
            self.station.stats.batches_dropped += 1

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            t0 = time.perf_counter()
            try:
                if isinstance(item, tuple):
                    self.station.process_sbs(item[1])
                else:
                    self.station.process(item)  # type: ignore[arg-type]
            except Exception:
                self.station.stats.failures += 1
                log.exception("tracking failed on a batch of %d", len(item))  # type: ignore[arg-type]
            self.busy_s += time.perf_counter() - t0

    def stop(self, timeout_s: float = 60.0) -> None:
        """Process what is queued, then stop."""
        self._q.put(_STOP)
        self._thread.join(timeout_s)


def _on_loop(loop: asyncio.AbstractEventLoop, server: FanoutServer) -> Callable[[bytes], None]:
    """``server.send_bytes(lines)`` scheduled on the event loop (from the tracking thread):
    the SBS lines of one update, formatted as columns there."""

    def send(lines: bytes) -> None:
        loop.call_soon_threadsafe(server.send_bytes, lines)

    return send


def _has_clients(server: FanoutServer) -> bool:
    return bool(server.clients)


def _last_seen(t: float) -> str:
    return "never" if math.isnan(t) else f"{time.time() - t:.0f} s ago"


def log_stats(hub: FeedHub, station: Station) -> None:
    """One log line per receiver, one for the station and one for MLAT."""
    for st in hub.receivers.values():
        anchors = sum(c.anchors for c in st.clocks.values())
        log.info(
            "%s %s: %d msgs, %.1f msg/s, %d bad, %d resyncs, %d clock anchors, last %s",
            st.name, st.peer, st.messages, st.rate_msg_s, st.bad_frames,
            st.resyncs, anchors, _last_seen(st.last_seen_s),
        )
    s = station.stats
    log.info(
        "station: %d frames, %d aircraft, %d positions, %d events, %d flights; dropped %d "
        "batches (%d frames)%s",
        s.frames, len(station.tracker), s.positions, sum(s.events.values()), s.flights_closed,
        s.batches_dropped, s.frames_dropped,
        "".join(f"; subscriber {x.name} dropped {x.stats.dropped}"
                for x in station.subscriptions if x.stats.dropped),
    )
    feed = station.mlat
    if feed is not None:
        m = feed.stats
        skipped = {k: v for k, v in m.skipped.items() if v}
        log.info(
            "MLAT: %d receptions, %d fixes, %d applied %s, %d of ADS-B aircraft; skipped %s",
            m.receptions, m.fixes, m.applied, dict(m.per_aircraft), m.adsb_preferred, skipped,
        )
        if skipped.get("unknown_receiver"):
            log.warning(
                "MLAT: frames from receivers not in --receivers (known: %s); a feed without "
                "0xe3 receiver ids needs --receiver-id PEER=SERIAL",
                ", ".join(str(r) for r in sorted(feed.registry.ids())),
            )


async def run_live(
    station: Station, *, ready: Callable[[dict[str, int]], None] | None = None,
    stats_every_s: float = STATS_EVERY_S,
) -> None:
    """The station's live loop (until cancelled); ``ready({name: port})`` once listening.

    Raises OSError when a port cannot be bound (the caller says which option)."""
    from overflight.cli.app import quiet_cancellation
    from overflight.pipeline import sbs_lines_hook
    from overflight.sources.net import FanoutServer, FeedHub, connect_feed, serve_ingest

    quiet_cancellation()
    cfg = station.config
    loop = asyncio.get_running_loop()
    hub = FeedHub()
    serials = dict(cfg.receiver_ids)

    def named(s: Callable[[FrameBatch], None]) -> Callable[[FrameBatch], None]:
        return ReceiverIds(hub, serials, s) if serials else s

    outs: list[FanoutServer] = []
    servers: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    rec: Any = None
    ports: dict[str, int] = {}
    # kernels compiled (or loaded) before the first feeder can send: no backlog at start
    await asyncio.to_thread(station.warm_up)
    worker = TrackingThread(station, cfg.queue_batches)
    coalescer = Coalescer(worker, max_frames=cfg.max_batch_frames)
    started = False
    try:
        for fmt, port in (("beast", cfg.beast_out), ("raw", cfg.raw_out),
                          ("sbs", cfg.sbs_out)):
            if port is None:
                continue
            o = FanoutServer(fmt)
            try:
                await o.start(cfg.bind, port)
            except OSError as exc:
                exc.args = (*exc.args, f"--{fmt}-out", port)
                raise
            outs.append(o)
            ports[fmt] = o.port
            log.info("serving %s on %s:%d", fmt, cfg.bind, o.port)
            if fmt == "sbs":
                station.on_tracked(sbs_lines_hook(station, _on_loop(loop, o),
                                                  partial(_has_clients, o)),
                                   needs_table=False)
            else:
                hub.subscribe(o)  # forwarding needs no decoding: straight from the hub
        if cfg.record_dir is not None:
            from overflight.sources.record import BeastRecorder

            rec = BeastRecorder(cfg.record_dir)
            hub.subscribe(named(rec))
        hub.subscribe(named(coalescer))
        if cfg.connect_sbs:
            hub.subscribe_sbs(worker.sbs)
        worker.start()
        started = True
        tasks.append(asyncio.create_task(coalescer.run(cfg.batch_period_s)))
        if cfg.listen_beast is not None:
            try:
                server = await serve_ingest(hub, host=cfg.bind, port=cfg.listen_beast)
            except OSError as exc:
                exc.args = (*exc.args, "--listen-beast", cfg.listen_beast)
                raise
            servers.append(server)
            ports["ingest"] = (
                server.sockets[0].getsockname()[1] if server.sockets else cfg.listen_beast
            )
            log.info("accepting Beast feeders on %s:%d", cfg.bind, ports["ingest"])
        tasks += [asyncio.create_task(connect_feed(h, p, hub)) for h, p in cfg.connect]
        tasks += [asyncio.create_task(connect_feed(h, p, hub, fmt="raw"))
                  for h, p in cfg.connect_raw]
        tasks += [asyncio.create_task(connect_feed(h, p, hub, fmt="sbs"))
                  for h, p in cfg.connect_sbs]
        if ready is not None:
            ready(ports)
        while True:
            await asyncio.sleep(stats_every_s)
            log_stats(hub, station)
    finally:
        # Every connection is closed and every task has ended when this returns.
        for t in tasks:
            t.cancel()
        for s in servers:
            s.close()
        for s in servers:
            await s.wait_closed()
        coalescer.flush()  # the frames of the last period are tracked too
        if started:
            await asyncio.to_thread(worker.stop)
            await asyncio.to_thread(station.finish)
        for o in outs:
            await o.close()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if rec is not None:
            rec.close()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(station.close)
