"""``overflight serve``: ingest receivers and feeders, re-serve Beast / raw / SBS downstream.

With ``--receivers RX.csv`` the frames are also multilaterated (:func:`overflight.pipeline.
mlat_feed`): aircraft without ADS-B get MLAT positions, sent as SBS lines marked ``MLAT``.
Multilateration needs each frame's receiver id to be the receiver's serial in the CSV. A feed
that sends ``0x1a 0xe3`` receiver-id records (``overflight sim --push``, readsb aggregators) has
them already; any other feed is numbered by the hub (1, 2, ... in order of connection) and must
be named with ``--receiver-id PEER=SERIAL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from overflight.cli.app import (
    app,
    bind_failed,
    endpoint,
    input_path,
    lat_lon,
    output_dir,
    quiet_cancellation,
)
from overflight.frames import FrameBatch
from overflight.pipeline import TrackingSink, mlat_feed
from overflight.sources.net import (
    DEFAULT_HOST,
    FanoutServer,
    FeedHub,
    IngestServer,
    connect_feed,
    serve_ingest,
)
from overflight.sources.record import BeastRecorder
from overflight.tracking import Tracker
from overflight.tracking.mlat_feed import MlatFeed

__all__ = [
    "TRACK_EVERY_S",
    "Coalescer",
    "ReceiverIds",
    "parse_receiver_ids",
    "serve",
]

log = logging.getLogger("overflight.serve")

TRACK_EVERY_S = 0.2
"""Live frames are tracked (decoded, tracked, multilaterated) in batches of this many seconds."""


def _has_clients(server: FanoutServer) -> bool:
    return bool(server.clients)


def parse_receiver_ids(items: list[str]) -> dict[str, int]:
    """``PEER=SERIAL`` options to ``{peer: serial}``; PEER is ``HOST:PORT`` (a ``--connect``
    receiver, normalised as the hub names it) or an IP address (every feeder from it)."""
    out: dict[str, int] = {}
    for item in items:
        peer, sep, serial_s = item.rpartition("=")
        try:
            serial = int(serial_s, 0)
        except ValueError:
            serial = -1
        if not sep or not peer or not 0 <= serial < 1 << 64:
            raise typer.BadParameter(
                f"{item!r}: want PEER=SERIAL, e.g. 127.0.0.1:30005=1001 or 192.0.2.7=1002",
                param_hint="--receiver-id",
            )
        if peer.startswith("[") or peer.count(":") == 1:  # HOST:PORT, [IPv6]:PORT
            host, port = endpoint(peer, "--receiver-id")
            peer = f"{host}:{port}"
        out[peer] = serial  # else an address: IPv4, or IPv6 without brackets
    return out


class ReceiverIds:
    """A hub sink wrapper giving the frames of named feeds their receivers-CSV serial.

    Frames whose receiver id is the number the hub gave a named feed (its connection) get the
    serial ``--receiver-id`` names for it; frames carrying their own ``0xe3`` id pass as they are.
    """

    def __init__(self, hub: FeedHub, serials: dict[str, int], sink: Callable[[FrameBatch], None]):
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
    """A hub sink that gathers batches and hands them on as one every :meth:`run` period.

    Each TCP read of each feed is a batch of a few frames; decoding and tracking have a fixed
    cost per batch, so the tracker gets one batch per period (or per ``max_frames`` frames).

    The batch goes on whole, whatever its time span: each feed's clock keeps its own timescale
    (:class:`~overflight.sources.clock.TickClock`), and the MLAT slicing of
    :func:`overflight.pipeline.time_slices` is linear in rows however far apart the times are."""

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

    async def run(self, period_s: float = TRACK_EVERY_S) -> None:
        """Flush every ``period_s`` seconds until cancelled."""
        while True:
            await asyncio.sleep(period_s)
            self.flush()


def _last_seen(t: float) -> str:
    return "never" if math.isnan(t) else f"{time.time() - t:.0f} s ago"


def _log_stats(hub: FeedHub, feed: MlatFeed | None) -> None:
    for st in hub.receivers.values():
        anchors = sum(c.anchors for c in st.clocks.values())
        log.info(
            "%s %s: %d msgs, %.1f msg/s, %d bad, %d resyncs, %d clock anchors, last %s",
            st.name, st.peer, st.messages, st.rate_msg_s, st.bad_frames,
            st.resyncs, anchors, _last_seen(st.last_seen_s),
        )
    if feed is not None:
        s = feed.stats
        skipped = {k: v for k, v in s.skipped.items() if v}
        log.info(
            "MLAT: %d receptions, %d fixes, %d applied %s, %d of ADS-B aircraft; skipped %s",
            s.receptions, s.fixes, s.applied, dict(s.per_aircraft), s.adsb_preferred, skipped,
        )
        if skipped.get("unknown_receiver"):
            log.warning(
                "MLAT: frames from receivers not in --receivers (known: %s); a feed without "
                "0xe3 receiver ids needs --receiver-id PEER=SERIAL",
                ", ".join(str(r) for r in sorted(feed.registry.ids())),
            )


@app.command()
def serve(
    connect: Annotated[
        list[str] | None,
        typer.Option("--connect", help="Beast receiver [HOST:]PORT to read (repeatable)"),
    ] = None,
    connect_raw: Annotated[
        list[str] | None,
        typer.Option("--connect-raw", help="raw AVR receiver [HOST:]PORT to read (repeatable)"),
    ] = None,
    listen_beast: Annotated[
        int | None,
        typer.Option("--listen-beast", min=0, max=65535,
                     help="accept feeders pushing Beast on this port (readsb --net-connector)"),
    ] = None,
    beast_out: Annotated[
        int | None, typer.Option("--beast-out", min=0, max=65535, help="serve Beast on this port")
    ] = None,
    raw_out: Annotated[
        int | None, typer.Option("--raw-out", min=0, max=65535, help="serve raw AVR on this port")
    ] = None,
    sbs_out: Annotated[
        int | None,
        typer.Option("--sbs-out", min=0, max=65535,
                     help="serve SBS (BaseStation) lines of the tracked state on this port"),
    ] = None,
    bind: Annotated[str, typer.Option(help="address the listening ports bind")] = DEFAULT_HOST,
    record_dir: Annotated[
        Path | None, typer.Option("--record", help="also record to this directory")
    ] = None,
    stats_every_s: Annotated[
        float, typer.Option("--stats-every-s", help="log receiver statistics every N seconds")
    ] = 60.0,
    receiver: Annotated[
        str | None,
        typer.Option(help="receiver position 'lat,lon' in degrees (surface positions in SBS)"),
    ] = None,
    receivers: Annotated[
        Path | None,
        typer.Option(
            "--receivers",
            help="receivers CSV (serial,latitude,longitude,height,type): multilaterate, MLAT "
            "positions go out as SBS lines",
        ),
    ] = None,
    receiver_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--receiver-id",
            help="PEER=SERIAL: the receivers-CSV serial of a feed without 0xe3 ids; PEER is a "
            "--connect HOST:PORT or a feeder's IP address (repeatable)",
        ),
    ] = None,
) -> None:
    """Connect to receivers, accept feeders, and fan frames out to downstream clients.

    With --sbs-out the frames are tracked (SBS lines of the tracked state); with --receivers
    they are also multilaterated, MLAT positions going out as SBS lines marked MLAT. Frames
    need the receiver serials of the CSV: feeds with 0xe3 receiver-id records have them, any
    other feed is named with --receiver-id."""
    if not (connect or connect_raw or listen_beast is not None):
        raise typer.BadParameter("give --connect, --connect-raw or --listen-beast")
    beast_in = [endpoint(c, "--connect") for c in connect or []]
    raw_in = [endpoint(c, "--connect-raw") for c in connect_raw or []]
    if not (stats_every_s > 0 and math.isfinite(stats_every_s)):
        raise typer.BadParameter("want a number of seconds > 0", param_hint="--stats-every-s")
    rx = lat_lon(receiver, "--receiver") if receiver else None
    serials = parse_receiver_ids(receiver_ids or [])
    feed: MlatFeed | None = None
    if receivers is not None:
        input_path(receivers, "--receivers", stdin=False)
        try:
            feed = mlat_feed(receivers)
        except (OSError, ValueError, UnicodeError) as exc:
            why = str(exc) if str(receivers) in str(exc) else f"{receivers}: {exc}"
            raise typer.BadParameter(f"not a receivers CSV: {why}", param_hint="--receivers") \
                from None
    elif serials:
        raise typer.BadParameter("only useful with --receivers", param_hint="--receiver-id")
    if record_dir is not None:
        output_dir(record_dir, "--record")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio_main = partial(
        _run, beast_in=beast_in, raw_in=raw_in, listen_beast=listen_beast,
        outputs=(("beast", beast_out), ("raw", raw_out), ("sbs", sbs_out)), bind=bind,
        record_dir=record_dir, stats_every_s=stats_every_s, tracker=Tracker(rx), feed=feed,
        serials=serials,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(asyncio_main())


async def _run(
    *,
    beast_in: list[tuple[str, int]],
    raw_in: list[tuple[str, int]],
    listen_beast: int | None,
    outputs: tuple[tuple[str, int | None], ...],
    bind: str,
    record_dir: Path | None,
    stats_every_s: float,
    tracker: Tracker,
    feed: MlatFeed | None,
    serials: dict[str, int],
    ready: Callable[[dict[str, int]], None] | None = None,
) -> None:
    """The live loop of ``serve`` (until cancelled); ``ready({name: port})`` once listening."""
    quiet_cancellation()
    hub = FeedHub()

    def sink(s: Callable[[FrameBatch], None]) -> Callable[[FrameBatch], None]:
        return ReceiverIds(hub, serials, s) if serials else s

    outs: list[FanoutServer] = []
    servers: list[IngestServer] = []
    tasks: list[asyncio.Task[None]] = []
    rec: BeastRecorder | None = None
    tracking: Coalescer | None = None
    ports: dict[str, int] = {}
    try:
        sbs: FanoutServer | None = None
        for fmt, port in outputs:
            if port is None:
                continue
            o = FanoutServer(fmt)
            try:
                await o.start(bind, port)
            except OSError as exc:
                raise bind_failed(exc, bind, port, f"--{fmt}-out") from None
            outs.append(o)
            ports[fmt] = o.port
            log.info("serving %s on %s:%d", fmt, bind, o.port)
            if fmt == "sbs":
                sbs = o
            else:
                hub.subscribe(o)
        if sbs is not None or feed is not None:
            # SBS lines come from the tracker: positions need CPR pairing, state and MLAT
            tracking = Coalescer(TrackingSink(
                tracker,
                on_sbs=sbs.send_sbs if sbs is not None else None,
                wants_sbs=partial(_has_clients, sbs) if sbs is not None else None,
                mlat=feed,
            ))
            hub.subscribe(sink(tracking))
            tasks.append(asyncio.create_task(tracking.run()))
        if record_dir is not None:
            rec = BeastRecorder(record_dir)
            hub.subscribe(sink(rec))
        if listen_beast is not None:
            try:
                server = await serve_ingest(hub, host=bind, port=listen_beast)
            except OSError as exc:
                raise bind_failed(exc, bind, listen_beast, "--listen-beast") from None
            servers.append(server)
            ports["ingest"] = server.sockets[0].getsockname()[1] if server.sockets else listen_beast
            log.info("accepting Beast feeders on %s:%d", bind, ports["ingest"])
        tasks += [asyncio.create_task(connect_feed(h, p, hub)) for h, p in beast_in]
        tasks += [asyncio.create_task(connect_feed(h, p, hub, fmt="raw")) for h, p in raw_in]
        if ready is not None:
            ready(ports)
        while True:
            await asyncio.sleep(stats_every_s)
            _log_stats(hub, feed)
    finally:
        # Every connection is closed and every task has ended when this returns.
        for t in tasks:
            t.cancel()
        for s in servers:
            s.close()
        for s in servers:
            await s.wait_closed()
        if tracking is not None:
            tracking.flush()  # the frames of the last period are tracked too
        for o in outs:
            await o.close()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if rec is not None:
            rec.close()
