"""Live network sources and sinks (asyncio, real sockets).

* :func:`connect_feed` — connect to a receiver's port (Beast 30005, raw AVR 30002, SBS 30003) with
  TCP keep-alive, an idle timeout, and reconnection with exponential backoff; a receiver that goes
  away is logged and retried, never fatal.
* :func:`serve_ingest` — listen for many feeders pushing Beast at once (readsb's
  ``--net-connector host,30004,beast_out``); each connection's frames carry its receiver id (the
  feeder's ``0xe3`` id when it sends one, logged in hex as readsb shows it, else a
  per-connection number). Closing the :class:`IngestServer` also disconnects the feeders.
* :class:`FanoutServer` — re-serve frames to downstream clients as Beast, raw AVR or SBS lines.
  Each client has a bounded queue: a client that does not keep up is dropped (and counted), so
  ingest and other clients never wait for it. :meth:`FanoutServer.close` disconnects every
  client and waits for their tasks.
* :class:`FeedHub` — the meeting point: sources publish :class:`FrameBatch` batches, sinks
  subscribe; keeps per-receiver statistics (:class:`ReceiverStats`).

Everything binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from overflight.frames import FRAME_WIDTH_BYTES, FrameBatch
from overflight.sources.avr import encode_avr
from overflight.sources.beast import BeastParser, BeastStats, encode_beast, signal_byte_to_dbfs
from overflight.sources.clock import ClockStats, TickClock
from overflight.sources.sbs import SbsRecord, parse_sbs_line
from overflight.sources.text import LineSplitter, parse_text_line

__all__ = [
    "DEFAULT_HOST",
    "FanoutServer",
    "FeedHub",
    "IngestServer",
    "ReceiverStats",
    "StreamDecoder",
    "connect_feed",
    "format_receiver_id",
    "parse_endpoint",
    "reconnect_delay",
    "serve_ingest",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
_READ_SIZE = 65536
_MAX_LINE = 4096
_CLOSE_TIMEOUT_S = 5.0
"""How long closing a server waits for its connections' tasks to end."""

BatchSink = Callable[[FrameBatch], None]
SbsSink = Callable[[list[SbsRecord]], None]


def format_receiver_id(serial: int) -> str:
    """A ``0xe3`` receiver id as readsb shows it: 16 lower-case hex digits."""
    return f"{serial & 0xFFFF_FFFF_FFFF_FFFF:016x}"


@dataclass(slots=True)
class ReceiverStats:
    """Per-receiver (per connection) counters; times are UTC epoch seconds.

    ``receiver`` is the hub's number for the connection; ``serials`` the ``0xe3`` receiver ids
    its frames carried (in order of first appearance); ``clocks`` each receiver id's
    :class:`ClockStats` (why its counter was re-anchored)."""

    receiver: int
    peer: str
    messages: int = 0
    bad_lines: int = 0
    connects: int = 0
    disconnects: int = 0
    bytes_in: int = 0
    first_seen_s: float = math.nan
    last_seen_s: float = math.nan
    rate_msg_s: float = 0.0
    beast: BeastStats = field(default_factory=BeastStats)
    serials: list[int] = field(default_factory=list)
    clocks: dict[int, ClockStats] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``receiver <hex serial>`` when the feed sends ``0xe3`` ids, else ``receiver <n>``."""
        if self.serials:
            return "receiver " + ", ".join(format_receiver_id(r) for r in self.serials)
        return f"receiver {self.receiver}"

    @property
    def bad_frames(self) -> int:
        """Frames or lines skipped as malformed."""
        return self.beast.errors + self.bad_lines

    @property
    def resyncs(self) -> int:
        """Times the Beast parser resynchronised on a frame start."""
        return self.beast.resyncs

    def seen(self, n: int, now_s: float) -> None:
        """Count ``n`` messages arriving at ``now_s``; the rate is a 10 s moving average."""
        if n <= 0:
            return
        if math.isnan(self.first_seen_s):
            self.first_seen_s = now_s
        if not math.isnan(self.last_seen_s):
            dt = max(now_s - self.last_seen_s, 1e-3)
            a = math.exp(-dt / 10.0)
            self.rate_msg_s = a * self.rate_msg_s + (1 - a) * n / dt
        self.last_seen_s = now_s
        self.messages += n


def parse_endpoint(text: str, *, default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """``"host:port"``, ``":port"`` or ``"port"`` to ``(host, port)``; ValueError when malformed."""
    host, sep, port_s = text.rpartition(":")
    if not sep:
        host, port_s = "", text
    host = host.strip("[]") or default_host
    port = int(port_s)
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in {text!r}")
    return host, port


class FeedHub:
    """Sources publish batches here; sinks (servers, recorders, the pipeline) subscribe."""

    def __init__(self) -> None:
        self._sinks: list[BatchSink] = []
        self._sbs_sinks: list[SbsSink] = []
        self.receivers: dict[str, ReceiverStats] = {}
        self._ids = itertools.count(1)

    def subscribe(self, sink: BatchSink) -> None:
        """Call ``sink(batch)`` for every published batch (it must not block)."""
        self._sinks.append(sink)

    def subscribe_sbs(self, sink: SbsSink) -> None:
        """Call ``sink(records)`` for every batch of SBS records read from an SBS feed."""
        self._sbs_sinks.append(sink)

    def publish(self, batch: FrameBatch) -> None:
        """Hand a batch to every sink; a failing sink is logged and does not stop the others."""
        if len(batch) == 0:
            return
        for s in self._sinks:
            try:
                s(batch)
            except Exception:  # a sink bug must not stop ingest
                log.exception("frame sink %r failed", s)

    def publish_sbs(self, records: list[SbsRecord]) -> None:
        """Hand SBS records to every SBS sink."""
        for s in self._sbs_sinks:
            try:
                s(records)
            except Exception:
                log.exception("SBS sink %r failed", s)

    def stats_for(self, peer: str) -> ReceiverStats:
        """The statistics record of ``peer`` (created with a fresh receiver number)."""
        st = self.receivers.get(peer)
        if st is None:
            st = self.receivers[peer] = ReceiverStats(receiver=next(self._ids), peer=peer)
        return st


class StreamDecoder:
    """Turns one connection's bytes into frame batches (Beast, raw AVR/hex lines, or SBS).

    Beast counters are anchored to arrival time (or to the feed's time records) by one
    :class:`TickClock` per receiver id. ``label`` names the connection in logs (``"feeder"``,
    ``"receiver"``): a ``0xe3`` receiver id is logged when first seen.
    """

    def __init__(self, fmt: str, stats: ReceiverStats, *, label: str = "feed") -> None:
        if fmt not in ("beast", "raw", "sbs"):
            raise ValueError(f"unknown stream format {fmt!r}")
        self.fmt = fmt
        self.stats = stats
        self.label = label
        self.parser = BeastParser(receiver=stats.receiver)
        self.parser.stats = stats.beast
        self.clocks: dict[int, TickClock] = {}
        self._lines_split = LineSplitter(_MAX_LINE)

    def feed(self, data: bytes, arrival_s: float) -> tuple[FrameBatch, list[SbsRecord]]:
        """Decode ``data``; returns frames (and SBS records for an SBS feed)."""
        self.stats.bytes_in += len(data)
        if self.fmt == "beast":
            chunk = self.parser.feed(data)
            fb = chunk.frames
            if len(fb):
                times = np.empty(len(fb))
                for r in np.unique(fb.receiver).tolist():
                    sel = fb.receiver == r
                    clk = self.clocks.get(r)
                    if clk is None:
                        clk = self.clocks[r] = TickClock()
                        self.stats.clocks[r] = clk.stats
                        self._new_receiver(r)
                    # A Radarcape status record says whether its counter is GPS time.
                    clk.apply_status(self.parser.statuses.get(r))
                    times[sel] = clk.times(
                        fb.ticks[sel], arrival_s=arrival_s, known_time_s=chunk.record_time_s[sel]
                    )
                fb = FrameBatch(
                    fb.data, fb.length_bytes, times, fb.receiver, fb.signal_dbfs, fb.ticks
                )
            self.stats.seen(len(fb), arrival_s)
            return fb, []
        lines = self._lines(data)
        if self.fmt == "sbs":
            recs = []
            for ln in lines:
                r = parse_sbs_line(ln)
                if isinstance(r, SbsRecord):
                    recs.append(r)
                elif r not in ("empty", "not MSG"):
                    self.stats.bad_lines += 1
            self.stats.seen(len(recs), arrival_s)
            return FrameBatch.empty(), recs
        frames: list[bytes] = []
        ticks: list[int] = []
        sigs: list[int] = []
        for ln in lines:
            t = parse_text_line(ln)
            if isinstance(t, str):
                if t != "empty":
                    self.stats.bad_lines += 1
                continue
            frames.append(t[0])
            ticks.append(t[2])
            sigs.append(t[3])
        self.stats.seen(len(frames), arrival_s)
        if not frames:
            return FrameBatch.empty(), []
        n = len(frames)
        data_arr = np.frombuffer(
            b"".join(x.ljust(FRAME_WIDTH_BYTES, b"\0") for x in frames), np.uint8
        ).reshape(n, FRAME_WIDTH_BYTES).copy()
        lengths = np.fromiter((len(x) for x in frames), np.uint8, n)
        return FrameBatch.from_columns(
            data_arr, lengths, time_s=arrival_s, receiver=self.stats.receiver,
            signal_dbfs=signal_byte_to_dbfs(np.asarray(sigs, np.uint8)),
            ticks=np.asarray(ticks, np.uint64),
        ), []

    def _new_receiver(self, r: int) -> None:
        st = self.stats
        if r != st.receiver and r not in st.serials:  # an 0xe3 id (the hub's number otherwise)
            st.serials.append(r)
            log.info("%s %s is receiver %s", self.label, st.peer, format_receiver_id(r))
        elif r == st.receiver and not st.serials:
            log.info("%s %s sends no receiver id: receiver %d", self.label, st.peer, r)

    def _lines(self, data: bytes) -> list[bytes]:
        """Complete lines of ``data`` (one splitter for files and feeds: a line over 4 KiB is
        dropped as it streams past, counted once as a bad line, never parsed in pieces)."""
        split = self._lines_split
        before = split.too_long
        lines = split.feed(data)
        self.stats.bad_lines += split.too_long - before
        return lines

    def close(self) -> FrameBatch:
        """End of connection: a partial Beast frame or line is counted, never invented."""
        if self.fmt == "beast":
            self.parser.close()
        else:
            last = self._lines_split.close()
            if last is not None and last.strip():  # a partial line is counted, never parsed
                self.stats.bad_lines += 1
        self.parser = BeastParser(receiver=self.stats.receiver)
        self.parser.stats = self.stats.beast
        return FrameBatch.empty()


def _wake(queue: asyncio.Queue[bytes | None]) -> None:
    """End a client's send loop: ``None`` in its queue (a full queue is woken by its data)."""
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(None)


def _keepalive(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)


async def _pump(
    reader: asyncio.StreamReader, dec: StreamDecoder, hub: FeedHub, idle_timeout_s: float
) -> None:
    while True:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation.
        async with asyncio.timeout(idle_timeout_s):
            data = await reader.read(_READ_SIZE)
        if not data:
            return
        fb, recs = dec.feed(data, time.time())
        hub.publish(fb)
        if recs:
            hub.publish_sbs(recs)


def reconnect_delay(
    backoff_s: float, delivered: bool, min_backoff_s: float, max_backoff_s: float
) -> tuple[float, float]:
    """Seconds to wait before reconnecting, and the back-off after that (seconds).

    A connection that delivered frames starts the back-off again at ``min_backoff_s``, however
    it ended (closed, reset, timed out); failures without data double it up to ``max_backoff_s``.
    """
    wait = min_backoff_s if delivered else min(backoff_s, max_backoff_s)
    return wait, min(wait * 2, max_backoff_s)


async def connect_feed(
    host: str,
    port: int,
    hub: FeedHub,
    *,
    fmt: str = "beast",
    min_backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
    idle_timeout_s: float = 120.0,
    connect_timeout_s: float = 10.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Read a receiver forever (until cancelled), reconnecting with exponential backoff.

    Args:
        fmt: ``"beast"`` (port 30005), ``"raw"`` (AVR, 30002) or ``"sbs"`` (30003).
        min_backoff_s, max_backoff_s: first and longest wait before reconnecting (seconds); the
            wait doubles on each failure and starts again at the minimum after a connection
            that delivered frames (:func:`reconnect_delay`).
        idle_timeout_s: reconnect when nothing arrives for this long.
        sleep: how to wait between attempts (seconds; ``asyncio.sleep``).
    """
    peer = f"{host}:{port}"
    stats = hub.stats_for(peer)
    dec = StreamDecoder(fmt, stats, label="receiver")
    backoff = min_backoff_s
    while True:
        writer: asyncio.StreamWriter | None = None
        before = stats.messages
        why = "closed the connection"
        try:
            async with asyncio.timeout(connect_timeout_s):
                reader, w = await asyncio.open_connection(host, port)
            writer = w
            _keepalive(w)
            stats.connects += 1
            log.info("connected to %s (%s)", peer, fmt)
            await _pump(reader, dec, hub, idle_timeout_s)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
            why = str(e) or type(e).__name__
        finally:
            dec.close()
            if writer is not None:
                stats.disconnects += 1
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
        wait, backoff = reconnect_delay(
            backoff, stats.messages > before, min_backoff_s, max_backoff_s
        )
        log.warning("%s: %s; retrying in %.1f s", peer, why, wait)
        await sleep(wait)


class IngestServer:
    """Listens for feeders pushing Beast (or raw lines); each connection is its own receiver.

    Offers what callers use of :class:`asyncio.Server` (``sockets``, ``close()``,
    ``wait_closed()``); :meth:`close` also disconnects every feeder, and :meth:`wait_closed`
    returns once their tasks have ended, so nothing lingers after shutdown.
    """

    def __init__(self, hub: FeedHub, *, fmt: str = "beast", idle_timeout_s: float = 300.0) -> None:
        if fmt not in ("beast", "raw", "sbs"):
            raise ValueError(f"unknown stream format {fmt!r}")
        self.hub = hub
        self.fmt = fmt
        self.idle_timeout_s = idle_timeout_s
        self.server: asyncio.Server | None = None
        self.connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._closing = False

    async def start(self, host: str = DEFAULT_HOST, port: int = 30004) -> IngestServer:
        """Start listening (port 0 picks a free port: see :attr:`port`); returns ``self``."""
        self.server = await asyncio.start_server(self._handle, host, port)
        return self

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        """The listening sockets (empty once closed)."""
        if self.server is None:
            return ()
        return tuple(self.server.sockets)

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self.sockets[0].getsockname()[1])

    def close(self) -> None:
        """Stop listening and disconnect every feeder (their tasks end on the end of file)."""
        self._closing = True
        if self.server is not None:
            self.server.close()
        for w in self.connections.values():
            w.close()

    async def wait_closed(self) -> None:
        """Wait until :meth:`close` has taken effect: listener closed, feeder tasks ended."""
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
        me = asyncio.current_task()
        tasks = [t for t in self.connections if t is not me]
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_TIMEOUT_S)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else str(addr)
        task = asyncio.current_task()
        if self._closing or task is None:
            writer.close()
            return
        self.connections[task] = writer
        stats = self.hub.stats_for(peer)
        stats.connects += 1
        _keepalive(writer)
        dec = StreamDecoder(self.fmt, stats, label="feeder")
        log.info("feeder %s connected", peer)
        try:
            await _pump(reader, dec, self.hub, self.idle_timeout_s)
        except (OSError, TimeoutError) as e:
            log.warning("feeder %s: %s", peer, e or type(e).__name__)
        except asyncio.CancelledError:
            # Ends normally: Python 3.11's stream server logs a cancelled handler as an error.
            log.info("feeder %s: cancelled", peer)
        finally:
            self.connections.pop(task, None)
            dec.close()
            stats.disconnects += 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.info("feeder %s (%s) disconnected", peer, stats.name)


async def serve_ingest(
    hub: FeedHub,
    *,
    host: str = DEFAULT_HOST,
    port: int = 30004,
    fmt: str = "beast",
    idle_timeout_s: float = 300.0,
) -> IngestServer:
    """Listen for feeders pushing Beast (or raw lines); each connection is its own receiver.

    Close with ``close()`` then ``await wait_closed()`` (feeders are disconnected)."""
    return await IngestServer(hub, fmt=fmt, idle_timeout_s=idle_timeout_s).start(host, port)


@dataclass(slots=True)
class _Client:
    peer: str
    writer: asyncio.StreamWriter
    queue: asyncio.Queue[bytes | None]
    task: asyncio.Task[None] | None = None
    sent_bytes: int = 0


class FanoutServer:
    """Serve published frames to downstream clients in one format, never waiting for them.

    Args:
        fmt: ``"beast"`` (like port 30005), ``"raw"`` (AVR ``*HEX;``, 30002) or ``"sbs"`` (30003).
        queue_chunks: per-client bound; a client whose queue is full is dropped.
        receiver_ids: Beast only: add ``0xe3`` receiver-id records (for aggregators).
        time_records: Beast only: put a ``0x1a 0xe9`` time record (the frame's recorded UTC
            time) before every frame with a known time, so a downstream Overflight keeps the
            recorded timescale (replay); readsb and dump1090 skip the record.
        sbs_records: SBS only: turns a frame batch into records (the tracker supplies it).
    """

    def __init__(
        self,
        fmt: str = "beast",
        *,
        queue_chunks: int = 256,
        receiver_ids: bool = False,
        sbs_records: Callable[[FrameBatch], Iterable[SbsRecord]] | None = None,
        write_timeout_s: float = 10.0,
        time_records: bool = False,
    ) -> None:
        if fmt not in ("beast", "raw", "sbs"):
            raise ValueError(f"unknown output format {fmt!r}")
        self.fmt = fmt
        self.queue_chunks = queue_chunks
        self.receiver_ids = receiver_ids
        self.time_records = time_records
        self.sbs_records = sbs_records
        self.write_timeout_s = write_timeout_s
        self.clients: dict[str, _Client] = {}
        self.dropped_clients = 0
        self.server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None] | None] = set()
        self._closing = False

    async def start(self, host: str = DEFAULT_HOST, port: int = 30005) -> asyncio.Server:
        """Start listening (port 0 picks a free port: see :attr:`port`)."""
        self.server = await asyncio.start_server(self._accept, host, port)
        return self.server

    @property
    def port(self) -> int:
        """The port actually bound."""
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def backlog(self) -> int:
        """Chunks queued for the most lagging client (0 without clients)."""
        return max((c.queue.qsize() for c in self.clients.values()), default=0)

    def encode(self, batch: FrameBatch) -> bytes:
        """The bytes sent for ``batch`` in this server's format."""
        if self.fmt == "beast":
            return encode_beast(batch, receiver_ids=self.receiver_ids,
                                time_records=True if self.time_records else None)
        if self.fmt == "raw":
            return encode_avr(batch)
        if self.sbs_records is None:
            return b""
        from overflight.sources.sbs import format_sbs

        return "".join(format_sbs(r) + "\r\n" for r in self.sbs_records(batch)).encode("ascii")

    def __call__(self, batch: FrameBatch) -> None:
        """Hub sink: queue ``batch`` for every client (encoded once)."""
        if not self.clients or len(batch) == 0:
            return
        self.send_bytes(self.encode(batch))

    def send_sbs(self, records: Iterable[SbsRecord] | bytes) -> None:
        """Queue SBS records (e.g. from the tracker), or lines already formatted as bytes
        (``pipeline.sbs_lines_hook``), for every client."""
        if isinstance(records, bytes | bytearray):
            self.send_bytes(bytes(records))
            return
        from overflight.sources.sbs import format_sbs

        self.send_bytes("".join(format_sbs(r) + "\r\n" for r in records).encode("ascii"))

    def send_bytes(self, data: bytes) -> None:
        """Queue raw bytes for every client; drop the clients that cannot keep up."""
        if not data:
            return
        for c in list(self.clients.values()):
            try:
                c.queue.put_nowait(data)
            except asyncio.QueueFull:
                self._drop(c, "queue full (slow client)")

    def _drop(self, c: _Client, why: str) -> None:
        if self.clients.pop(c.peer, None) is None:
            return
        self.dropped_clients += 1
        log.warning("dropping %s client %s: %s", self.fmt, c.peer, why)
        if c.task is not None and c.task is not asyncio.current_task():
            c.task.cancel()
        c.writer.transport.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else str(addr)
        _keepalive(writer)
        c = _Client(peer, writer, asyncio.Queue(self.queue_chunks))
        c.task = asyncio.current_task()
        if self._closing:
            writer.transport.abort()
            return
        self.clients[peer] = c
        if c.task is not None:
            self._tasks.add(c.task)
        log.info("%s client %s connected", self.fmt, peer)
        drain = asyncio.ensure_future(self._discard_input(reader))
        # a client that hangs up is let go at once, not at the next write (an idle server
        # held every hung-up client's task and socket until data flowed)
        drain.add_done_callback(lambda _t: _wake(c.queue))
        try:
            while peer in self.clients:  # dropped or closing: stop
                data = await c.queue.get()
                if data is None:
                    break
                parts = [data]
                while not c.queue.empty():  # coalesce what queued up meanwhile
                    more = c.queue.get_nowait()
                    if more is None:
                        break
                    parts.append(more)
                data = b"".join(parts)
                writer.write(data)
                c.sent_bytes += len(data)
                async with asyncio.timeout(self.write_timeout_s):
                    await writer.drain()
        except (OSError, TimeoutError) as e:
            self._drop(c, str(e) or type(e).__name__)
        except asyncio.CancelledError:
            pass
        finally:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
            if self.clients.pop(peer, None) is not None:
                log.info("%s client %s gone", self.fmt, peer)
            writer.transport.abort()
            self._tasks.discard(c.task)

    @staticmethod
    async def _discard_input(reader: asyncio.StreamReader) -> None:
        """Read and drop what a client sends, until it hangs up (end of file or error)."""
        with contextlib.suppress(Exception):
            while await reader.read(4096):
                pass

    async def close(self) -> None:
        """Stop listening, disconnect every client and wait for their tasks to end (closing
        clients are not counted as dropped)."""
        self._closing = True
        if self.server is not None:
            self.server.close()
        for c in list(self.clients.values()):
            if self.clients.pop(c.peer, None) is None:
                continue
            log.info("closing %s client %s", self.fmt, c.peer)
            if c.task is not None and c.task is not asyncio.current_task():
                c.task.cancel()
            c.writer.transport.abort()
        me = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not None and t is not me]
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_TIMEOUT_S)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
