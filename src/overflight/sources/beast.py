"""Mode-S Beast binary protocol: a vectorised parser and serialiser.

Wire format (receivers' port 30005, feeders push to 30004)::

    0x1a <type> <6-byte big-endian 12 MHz counter> <signal byte> <payload>

type ``'1'`` Mode A/C (2-byte payload), ``'2'`` Mode S short (7), ``'3'`` Mode S long (14),
``'4'`` Radarcape/Beast status (14 bytes: read into :class:`RadarcapeStatus`, no frame). Every
``0x1a`` after the leading one is doubled. Extensions understood here:

* ``0x1a 0xe3`` + 8 bytes: receiver id (big-endian, escaped) of the frames that follow, as
  readsb writes and reads it.
* ``0x1a 0xe9`` + 8 bytes: Overflight time record (big-endian, escaped): signed microseconds
  since the Unix epoch at which the *next* frame was received. Written by ``overflight record``
  so a recording carries absolute time; other tools skip it as an unknown type.
* ``0x1a 'P'`` + 3 bytes: readsb ping, skipped.
* type ``'1'`` with zero counter and zero payload: dump1090's heartbeat, counted and dropped.
* counter ``0xFF004D4C4154`` (``FF 00 "MLAT"``) marks a frame synthesised from an MLAT result
  (:data:`MLAT_TICKS`); readsb uses ``0xFF004D4C4155`` for UAT (:data:`UAT_TICKS`).

Timestamps. A Beast, dump1090 or readsb counter is a free-running 12 MHz count. A Radarcape in
GPS mode (and receivers emulating it) writes GPS time instead: the upper 18 bits are the UTC
second of the day, the lower 30 bits the nanosecond within it (never above 999,999,999).
Its status record says which: payload byte 0 is the DIP-switch settings (bit ``0x10`` GPS
timestamps), byte 1 the PPS delta, byte 2 the GPS status (bit ``0x80``: firmware that writes
UTC, older firmware is one second ahead; with it, bit ``0x20`` set means the timestamp is not
GPS-synchronised). Layout and bits as read by mlat-client (mutability/mlat-client,
``modes_reader.c``: ``DECODER_RADARCAPE`` "1GHz Radarcape timestamp, UTC synchronized from GPS",
``radarcape_status_to_dict``, ``feed_beast``). :func:`gps_seconds_of_day` converts;
:class:`~overflight.sources.clock.TickClock` detects such a feed.

Signal level: the byte is an amplitude, ``dBFS = 10·log10((b/255)²)``; 0 means "unknown" (NaN).

Parsing is vectorised: runs of ``0x1a`` are paired from their start (a literal byte is always
doubled, a frame start is never followed by ``0x1a``), so the frame starts of a whole buffer are
found with a few array operations. A frame cut short by the next frame start is counted as bad and
parsing resynchronises there; bytes between frames are counted as garbage; nothing raises. A run
of ``0x1a`` longer than any record (:data:`MAX_ESCAPE_RUN`) is cut to that length before parsing
and the cut bytes counted as garbage, so time and memory stay linear in the input whatever it
holds, and :class:`BeastParser` never holds more than :data:`MAX_PENDING_BYTES` between reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from overflight.frames import FRAME_WIDTH_BYTES, FrameBatch

__all__ = [
    "ESCAPE",
    "GPS_NS_BITS",
    "MAX_ESCAPE_RUN",
    "MAX_PENDING_BYTES",
    "MLAT_TICKS",
    "TICKS_PER_S",
    "UAT_TICKS",
    "BeastChunk",
    "BeastParser",
    "BeastStats",
    "RadarcapeStatus",
    "dbfs_to_signal_byte",
    "encode_beast",
    "encode_gps_ticks",
    "gps_layout_ok",
    "gps_seconds_of_day",
    "is_synthetic_ticks",
    "parse_beast",
    "signal_byte_to_dbfs",
]

ESCAPE = 0x1A
TICKS_PER_S = 12_000_000
"""Beast counter rate (Hz)."""
MLAT_TICKS = 0xFF004D4C4154
"""Counter value readsb/mlat-client put on frames synthesised from an MLAT result."""
UAT_TICKS = 0xFF004D4C4155
"""Counter value readsb puts on frames converted from UAT."""
GPS_NS_BITS = 30
"""GPS (Radarcape) timestamps: the lower 30 bits are nanoseconds, the rest the second of day."""
_NS_MASK = (1 << GPS_NS_BITS) - 1
_DAY_S = 86_400

_TYPE_MODEAC = 0x31
_TYPE_SHORT = 0x32
_TYPE_LONG = 0x33
_TYPE_STATUS = 0x34
_TYPE_RECEIVER = 0xE3
_TYPE_TIME = 0xE9
_TYPE_PING = 0x50

# Record length in unescaped bytes, including the 0x1a and the type byte (0: unknown type).
_RECORD_LEN = np.zeros(256, np.int64)
_RECORD_LEN[_TYPE_MODEAC] = 2 + 6 + 1 + 2
_RECORD_LEN[_TYPE_SHORT] = 2 + 6 + 1 + 7
_RECORD_LEN[_TYPE_LONG] = 2 + 6 + 1 + 14
_RECORD_LEN[_TYPE_STATUS] = 2 + 6 + 1 + 14
_RECORD_LEN[_TYPE_RECEIVER] = 2 + 8
_RECORD_LEN[_TYPE_TIME] = 2 + 8
_RECORD_LEN[_TYPE_PING] = 2 + 3
_MAX_RECORD = 2 + 6 + 1 + 14
MAX_ESCAPE_RUN = 2 * _MAX_RECORD
"""Longest run of ``0x1a`` bytes kept (46): a record is at most 23 bytes, 46 escaped; a longer
run is escaped literals no record can hold (garbage), plus at most one frame start."""
MAX_PENDING_BYTES = 2 * _MAX_RECORD + 1
"""Most bytes :class:`BeastParser` holds between calls: an incomplete record (at most 2 x 23
escaped bytes) and one ambiguous trailing ``0x1a``."""
_PAYLOAD_LEN = np.zeros(256, np.uint8)
_PAYLOAD_LEN[_TYPE_MODEAC] = 2
_PAYLOAD_LEN[_TYPE_SHORT] = 7
_PAYLOAD_LEN[_TYPE_LONG] = 14
_BE6 = (np.uint64(1) << (np.arange(40, -1, -8, dtype=np.uint64))).astype(np.uint64)
_BE8 = (np.uint64(1) << (np.arange(56, -1, -8, dtype=np.uint64))).astype(np.uint64)


@dataclass(slots=True)
class BeastStats:
    """Counters for one Beast stream (one receiver connection or file); all are counts."""

    frames: int = 0
    modeac: int = 0
    heartbeats: int = 0
    status: int = 0
    receiver_ids: int = 0
    time_records: int = 0
    pings: int = 0
    mlat_results: int = 0
    bad_frames: int = 0
    unknown_types: int = 0
    resyncs: int = 0
    garbage_bytes: int = 0
    truncated_bytes: int = 0

    def add(self, other: BeastStats) -> None:
        """Add ``other``'s counts to these."""
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def errors(self) -> int:
        """Bad frames plus unknown types (each a resynchronisation point)."""
        return self.bad_frames + self.unknown_types


@dataclass(frozen=True, slots=True)
class RadarcapeStatus:
    """A Radarcape status record (Beast type ``'4'``), as mlat-client reads it.

    Attributes:
        gps_timestamps: the counter is GPS time (second of day, nanoseconds), not 12 MHz.
        synchronised: the GPS time is synchronised (false: a 1 GHz count, not UTC).
        utc: the second is UTC; older firmware (GPS status bit ``0x80`` clear) is 1 s ahead.
        settings: raw DIP-switch byte; gps_status: raw GPS status byte.
    """

    gps_timestamps: bool
    synchronised: bool
    utc: bool
    settings: int
    gps_status: int

    @classmethod
    def from_payload(cls, payload: npt.ArrayLike) -> RadarcapeStatus:
        """Read the first three payload bytes of a status record."""
        b = np.asarray(payload, dtype=np.uint8)
        settings, gps = int(b[0]), int(b[2])
        fixed = bool(gps & 0x80)
        return cls(
            gps_timestamps=bool(settings & 0x10),
            synchronised=not (fixed and gps & 0x20),
            utc=fixed,
            settings=settings,
            gps_status=gps,
        )


def gps_seconds_of_day(ticks: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """GPS (Radarcape) timestamps to seconds of the UTC day: ``(t >> 30) + (t & 2³⁰-1)·1e-9``."""
    t = np.asarray(ticks, dtype=np.uint64)
    sec = (t >> np.uint64(GPS_NS_BITS)).astype(np.float64)
    out: npt.NDArray[np.float64] = sec + (t & np.uint64(_NS_MASK)).astype(np.float64) * 1e-9
    return out


def gps_layout_ok(ticks: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where a counter value can be a GPS timestamp (nanoseconds < 1e9, second < 86,400).

    A free-running 12 MHz counter breaks this for 6.1 s of every 89.5 s (its lower 30 bits
    pass 1e9)."""
    t = np.asarray(ticks, dtype=np.uint64)
    out: npt.NDArray[np.bool_] = ((t & np.uint64(_NS_MASK)) < np.uint64(1_000_000_000)) & (
        (t >> np.uint64(GPS_NS_BITS)) < np.uint64(_DAY_S)
    )
    return out


def encode_gps_ticks(time_s: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """UTC epoch seconds to GPS (Radarcape) timestamps (second of day, nanoseconds)."""
    ns = np.rint(np.asarray(time_s, dtype=np.float64) * 1e9).astype(np.int64)
    ns = np.mod(ns, _DAY_S * 1_000_000_000)
    sec, nano = np.divmod(ns, 1_000_000_000)
    out: npt.NDArray[np.uint64] = (sec.astype(np.uint64) << np.uint64(GPS_NS_BITS)) | nano.astype(
        np.uint64
    )
    return out


@dataclass(frozen=True, slots=True)
class BeastChunk:
    """What :func:`parse_beast` found in one buffer.

    Attributes:
        frames: the Mode S and Mode A/C frames (``time_s`` NaN: see :mod:`.clock`).
        record_time_s: ``(n,)`` float64, UTC epoch seconds from a preceding time record, else NaN.
        consumed: bytes of the input used; the caller keeps ``buf[consumed:]`` for next time.
        receiver: receiver id in force after the buffer (sticky ``0xe3`` records).
        stats: counts for this buffer.
        status: the last Radarcape status record of the buffer, if any (pass it to
            :meth:`~overflight.sources.clock.TickClock.apply_status` of that receiver's clock).
        status_receiver: the receiver id in force where that status record stood.
    """

    frames: FrameBatch
    record_time_s: npt.NDArray[np.float64]
    consumed: int
    receiver: int
    stats: BeastStats = field(default_factory=BeastStats)
    status: RadarcapeStatus | None = None
    status_receiver: int = 0


def signal_byte_to_dbfs(b: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Beast signal byte(s) to dBFS, ``10·log10((b/255)²)``; 0 → NaN (unknown)."""
    x = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = 20.0 * np.log10(x / 255.0)
    return np.where(x > 0, out, np.nan).astype(np.float32)


def dbfs_to_signal_byte(dbfs: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """dBFS to the Beast signal byte (inverse of :func:`signal_byte_to_dbfs`); NaN → 0."""
    x = np.asarray(dbfs, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        amp = np.rint(255.0 * np.power(10.0, x / 20.0))
    amp = np.where(np.isfinite(amp), amp, 0.0)
    return np.clip(amp, 0, 255).astype(np.uint8)


def is_synthetic_ticks(ticks: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where the counter is not a receiver clock: 0, MLAT result or UAT marker."""
    t = np.asarray(ticks, dtype=np.uint64)
    out: npt.NDArray[np.bool_] = (
        (t == 0) | (t == np.uint64(MLAT_TICKS)) | (t == np.uint64(UAT_TICKS))
    )
    return out


def _be_int(rows: npt.NDArray[np.uint8], weights: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    out: npt.NDArray[np.uint64] = (rows.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    return out


def _trailing_escapes(a: npt.NDArray[np.uint8]) -> int:
    """Length (bytes) of the run of ``0x1a`` that ends ``a``; looks at the tail only."""
    n = a.size
    k = 64
    while True:
        tail = a[max(0, n - k) :]
        nz = np.flatnonzero(tail != ESCAPE)
        if nz.size:
            return int(tail.size - 1 - nz[-1])
        if k >= n:
            return n
        k *= 8


def _has_run_longer(flags: npt.NDArray[np.bool_], k: int) -> bool:
    """True if ``flags`` has more than ``k`` consecutive True values (log2(k) passes over it)."""
    r, width, need = flags, 1, k + 1
    while width * 2 <= need:
        r = r[:-width] & r[width:]  # r[i]: flags[i : i + 2 * width] all True
        width *= 2
    if width < need:
        r = r[: -(need - width)] & r[need - width :]
    return bool(r.any())


def _cut_escape_runs(
    a: npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Shorten every run of ``0x1a`` longer than :data:`MAX_ESCAPE_RUN` bytes to that length
    (plus one when the run is odd, so pairing and the closing frame start are unchanged).

    The bytes cut are escaped literals beyond what any record can hold: garbage. Returns the
    shortened bytes, and for each cut run the position (in the shortened bytes) where its kept
    part starts and the bytes cut up to and including it (cumulative), to map positions back.
    """
    none = np.zeros(0, np.int64)
    is_esc = a == ESCAPE
    if not _has_run_longer(is_esc, MAX_ESCAPE_RUN):
        return a, none, none
    edges = np.flatnonzero(np.diff(is_esc.view(np.int8), prepend=np.int8(0), append=np.int8(0)))
    starts, ends = edges[0::2], edges[1::2]
    keep = MAX_ESCAPE_RUN + ((ends - starts) & 1)
    long = ends - starts > keep
    if not long.any():
        return a, none, none
    starts = starts[long]
    cut_end = ends[long] - keep[long]  # cut the head of the run (even), keep its tail
    mark = np.zeros(a.size + 1, np.int8)
    mark[starts] = 1
    mark[cut_end] = -1
    cut = np.cumsum(mark[:-1], dtype=np.int8).view(np.bool_)
    cum = np.cumsum(cut_end - starts)
    return a[~cut], cut_end - cum, cum


def _uncut(pos: int, kept_at: npt.NDArray[np.int64], cum: npt.NDArray[np.int64]) -> int:
    """Map a position in the shortened bytes of :func:`_cut_escape_runs` back to the input."""
    r = int(np.searchsorted(kept_at, pos, side="right")) - 1
    return pos + (int(cum[r]) if r >= 0 else 0)


def parse_beast(
    buf: bytes | bytearray | memoryview, *, receiver: int = 0, final: bool = False
) -> BeastChunk:
    """Parse a buffer of Beast bytes into frames; never raises.

    Time and memory are linear in ``len(buf)`` whatever the bytes: a run of ``0x1a`` longer than
    any record (:data:`MAX_ESCAPE_RUN`) is cut to that length first, the cut bytes counted in
    ``stats.garbage_bytes``. Garbage and truncation counts are bytes as received (escaped).

    Args:
        buf: raw (escaped) bytes, possibly starting or ending mid-frame.
        receiver: receiver id for frames not preceded by a ``0xe3`` record in this buffer.
        final: no more bytes will come: an incomplete last frame is counted as truncated
            instead of being left for the next call.
    """
    a = np.frombuffer(buf, dtype=np.uint8)
    n = a.size
    if n and a[0] == ESCAPE:
        fast = _parse_clean(a, receiver, final)
        if fast is not None:
            return fast
    return _parse_vectorised(a, receiver, final)


def _parse_clean(a: npt.NDArray[np.uint8], receiver: int, final: bool) -> BeastChunk | None:
    """The compiled pass of :mod:`._beast_fast` over a buffer of well-formed records (None
    where it holds anything else: :func:`_parse_vectorised` then counts it)."""
    from overflight.sources._beast_fast import scan

    got = scan(a, final, receiver)
    if got is None:
        return None
    consumed, data, plen, ticks, sig, rx, rec_time, c, status_bytes = got
    stats = BeastStats(
        frames=int(c[0]), modeac=int(c[1]), heartbeats=int(c[2]), status=int(c[3]),
        receiver_ids=int(c[4]), time_records=int(c[5]), pings=int(c[6]),
        mlat_results=int(c[7]),
    )
    nf = plen.size
    batch = FrameBatch(
        data=data, length_bytes=plen, time_s=np.full(nf, np.nan), receiver=rx,
        signal_dbfs=signal_byte_to_dbfs(sig), ticks=ticks,
    )
    status = RadarcapeStatus.from_payload(status_bytes) if c[9] else None
    return BeastChunk(
        batch, rec_time, consumed, int(np.int64(c[8]).view(np.uint64)), stats, status,
        int(np.int64(c[10]).view(np.uint64)) if c[9] else receiver,
    )


def _parse_vectorised(
    a: npt.NDArray[np.uint8], receiver: int, final: bool
) -> BeastChunk:
    """:func:`parse_beast` with whole-array operations, counting every anomaly."""
    n = a.size
    stats = BeastStats()
    empty = BeastChunk(FrameBatch.empty(), np.zeros(0), 0, receiver, stats)
    if n == 0:
        return empty
    end = n
    if not final:
        # Runs of 0x1a pair from their start: only the last byte of an odd trailing run is
        # ambiguous (a frame start, or half of an escaped byte that continues the run).
        end = n - (_trailing_escapes(a) & 1)
    body, kept_at, cut_cum = _cut_escape_runs(a[:end])
    if cut_cum.size:
        stats.garbage_bytes += int(cut_cum[-1])
        end = body.size
    esc_pos = np.flatnonzero(body == ESCAPE)
    if esc_pos.size == 0:
        stats.garbage_bytes += end
        if end:
            stats.resyncs += 1
        return BeastChunk(FrameBatch.empty(), np.zeros(0), _uncut(end, kept_at, cut_cum),
                          receiver, stats)

    # Position of each 0x1a within its run; runs are paired from their start.
    k = np.arange(esc_pos.size)
    run_start = np.ones(esc_pos.size, bool)
    run_start[1:] = np.diff(esc_pos) != 1
    start_k = np.maximum.accumulate(np.where(run_start, k, 0))
    pos_in_run = k - start_k
    run_end = np.ones(esc_pos.size, bool)
    run_end[:-1] = run_start[1:]
    drop = (pos_in_run & 1) == 1
    is_marker = ~drop & run_end
    keep = np.ones(end, bool)
    keep[esc_pos[drop]] = False
    u = body[keep]
    ulen = u.size
    # Unescaped index of each marker: raw index minus bytes dropped before it.
    n_dropped = np.cumsum(drop)
    markers_raw = esc_pos[is_marker]
    m = markers_raw - n_dropped[is_marker]  # every dropped byte counted sits before its marker
    # Unescaped index of the kept half of each escaped pair, to map unescaped indexes to raw.
    pair_u = esc_pos[drop] - n_dropped[drop]

    def raw(j: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Raw (escaped) index of unescaped index ``j`` (``ulen`` maps to ``end``)."""
        out: npt.NDArray[np.int64] = j + np.searchsorted(pair_u, j, side="left")
        return out

    if m.size and m[0] > 0:
        stats.garbage_bytes += int(markers_raw[0])
        stats.resyncs += 1
    elif m.size == 0:
        stats.garbage_bytes += end
        stats.resyncs += 1
        return BeastChunk(FrameBatch.empty(), np.zeros(0), _uncut(end, kept_at, cut_cum),
                          receiver, stats)

    padded = np.concatenate([u, np.zeros(_MAX_RECORD + 1, np.uint8)])
    typ = padded[m + 1]
    has_type = m + 1 < ulen
    rec_len = np.where(has_type, _RECORD_LEN[typ], 0)
    nxt = np.empty_like(m)
    nxt[:-1] = m[1:]
    nxt[-1] = ulen
    span = nxt - m
    nxt_raw = np.empty_like(markers_raw)
    nxt_raw[:-1] = markers_raw[1:]
    nxt_raw[-1] = end

    consumed = end
    last_incomplete = (not has_type[-1]) or (rec_len[-1] > 0 and span[-1] < rec_len[-1])
    n_rec = m.size
    if last_incomplete:
        if final:
            stats.truncated_bytes += int(end - markers_raw[-1])
        else:
            consumed = int(markers_raw[-1])  # at most 2 x 23 bytes: a record is incomplete
        n_rec -= 1
    consumed = n if final else _uncut(consumed, kept_at, cut_cum)
    m, typ, rec_len, span = m[:n_rec], typ[:n_rec], rec_len[:n_rec], span[:n_rec]
    markers_raw, nxt_raw = markers_raw[:n_rec], nxt_raw[:n_rec]

    unknown = rec_len == 0
    short = ~unknown & (span < rec_len)
    good = ~unknown & ~short
    stats.unknown_types += int(unknown.sum())
    stats.bad_frames += int(short.sum())
    extra = np.where(good, span - rec_len, 0)
    rec_end_raw = np.where(good, raw(m + rec_len), markers_raw)
    stats.garbage_bytes += int((nxt_raw - rec_end_raw).sum())
    stats.resyncs += int(unknown.sum()) + int(short.sum()) + int((extra > 0).sum())

    gm = m[good]
    gt = typ[good]
    rows = padded[gm[:, None] + np.arange(2, _MAX_RECORD)]  # (k, 21): counter, signal, payload
    ticks = _be_int(rows[:, 0:6], _BE6)
    payload = rows[:, 7:]
    is_frame = (gt == _TYPE_MODEAC) | (gt == _TYPE_SHORT) | (gt == _TYPE_LONG)
    heartbeat = (gt == _TYPE_MODEAC) & (ticks == 0) & (payload[:, 0] == 0) & (payload[:, 1] == 0)
    is_frame &= ~heartbeat
    is_rid = gt == _TYPE_RECEIVER
    is_time = gt == _TYPE_TIME
    stats.heartbeats += int(heartbeat.sum())
    is_status = np.flatnonzero(gt == _TYPE_STATUS)
    stats.status += int(is_status.size)
    status = RadarcapeStatus.from_payload(payload[is_status[-1]]) if is_status.size else None
    stats.pings += int((gt == _TYPE_PING).sum())
    stats.receiver_ids += int(is_rid.sum())
    stats.time_records += int(is_time.sum())

    # Sticky receiver id: forward-fill the latest 0xe3 record over the records that follow.
    ids8 = _be_int(rows[:, 0:8], _BE8)
    kk = np.arange(gm.size)
    last_rid = np.maximum.accumulate(np.where(is_rid, kk, -1))
    rid_all = np.where(last_rid >= 0, ids8[np.maximum(last_rid, 0)], np.uint64(receiver))
    new_receiver = int(rid_all[-1]) if gm.size else receiver
    status_receiver = int(rid_all[is_status[-1]]) if is_status.size else receiver

    # A time record dates the next frame record only: one that ends the chunk (its frame not
    # here yet) is left pending and parsed again with the next read, so no cut loses it.
    if not final and gm.size and good[-1] and gt[-1] == _TYPE_TIME and extra[-1] == 0:
        consumed = _uncut(int(markers_raw[-1]), kept_at, cut_cum)
        stats.time_records -= 1
    rec_time = np.full(gm.size, np.nan)
    if is_time.any():
        tpos = np.flatnonzero(is_time)
        fpos = np.flatnonzero(is_frame)
        j = np.searchsorted(fpos, tpos, side="right")
        ok = j < fpos.size
        us = ids8[tpos[ok]].astype(np.int64)
        rec_time[fpos[j[ok]]] = us.astype(np.float64) / 1e6

    sel = np.flatnonzero(is_frame)
    ft = gt[sel]
    plen = _PAYLOAD_LEN[ft]
    data = np.zeros((sel.size, FRAME_WIDTH_BYTES), np.uint8)
    data[:, :] = payload[sel]
    data[np.arange(FRAME_WIDTH_BYTES)[None, :] >= plen[:, None]] = 0
    fticks = ticks[sel]
    stats.frames += int(sel.size)
    stats.modeac += int((ft == _TYPE_MODEAC).sum())
    stats.mlat_results += int((fticks == np.uint64(MLAT_TICKS)).sum())
    batch = FrameBatch.from_columns(
        data,
        plen,
        receiver=rid_all[sel],
        signal_dbfs=signal_byte_to_dbfs(rows[sel, 6]),
        ticks=fticks,
    )
    return BeastChunk(batch, rec_time[sel], consumed, new_receiver, stats, status, status_receiver)


class BeastParser:
    """Incremental Beast parser for a byte stream: feed chunks, get frames, keep counts.

    Holds the bytes of an incomplete last frame between calls (at most
    :data:`MAX_PENDING_BYTES`) and the sticky receiver id. Frames and counts do not depend on
    how the stream is cut into reads (except ``resyncs``: a garbage stretch cut by a read counts
    once per read).
    """

    __slots__ = ("_pending", "receiver", "stats", "status", "statuses")

    def __init__(self, receiver: int = 0) -> None:
        self._pending = b""
        self.receiver = receiver
        self.stats = BeastStats()
        self.status: RadarcapeStatus | None = None
        """The latest Radarcape status record seen, if any."""
        self.statuses: dict[int, RadarcapeStatus] = {}
        """The latest status record of each receiver id (a merged feed has several)."""

    def feed(self, data: bytes, *, final: bool = False) -> BeastChunk:
        """Parse ``data`` after whatever was left from the previous call."""
        buf = self._pending + data if self._pending else data
        chunk = parse_beast(buf, receiver=self.receiver, final=final)
        self._pending = bytes(buf[chunk.consumed :])
        self.receiver = chunk.receiver
        self.stats.add(chunk.stats)
        if chunk.status is not None:
            self.status = chunk.status
            self.statuses[chunk.status_receiver] = chunk.status
        return chunk

    def close(self) -> BeastChunk:
        """End of stream: parse what is left, counting an incomplete frame as truncated."""
        return self.feed(b"", final=True)

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._pending)


def _escape(records: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]) -> bytes:
    """Flatten unescaped records (row-wise, first ``lengths[i]`` bytes) and double inner 0x1a."""
    width = records.shape[1]
    col = np.arange(width)[None, :]
    mask = col < lengths[:, None]
    flat = records[mask]
    counts = np.where((records == ESCAPE) & (col > 0), 2, 1)[mask]
    return np.repeat(flat, counts).tobytes()


def encode_beast(
    batch: FrameBatch,
    *,
    receiver_ids: bool = False,
    time_records: npt.ArrayLike | None = None,
) -> bytes:
    """Serialise a batch as Beast bytes (escaped), in row order.

    Args:
        batch: frames of 2, 7 or 14 bytes (rows of other lengths are skipped).
        receiver_ids: write a ``0x1a 0xe3`` receiver-id record before the first frame and
            whenever the receiver changes.
        time_records: optional boolean mask: write a ``0x1a 0xe9`` time record carrying
            ``time_s`` (microseconds) before these frames (where ``time_s`` is finite).
    """
    n = len(batch)
    if n == 0:
        return b""
    from overflight.sources._beast_fast import encode

    lens = batch.length_bytes
    typ = _TYPE_OF_LENGTH[lens]
    rid_before = np.zeros(n, bool)
    if receiver_ids:
        rid_before[0] = True
        rid_before[1:] = batch.receiver[1:] != batch.receiver[:-1]
    time_before = np.zeros(n, bool)
    us = np.zeros(n, np.uint64)
    if time_records is not None:
        mask = np.broadcast_to(np.asarray(time_records, bool), (n,))
        time_before = mask & np.isfinite(batch.time_s)
        if time_before.any():
            with np.errstate(invalid="ignore"):
                us = np.rint(batch.time_s * 1e6).astype(np.int64).view(np.uint64)
    return encode(
        np.ascontiguousarray(batch.data), lens, typ,
        batch.ticks.astype(np.uint64) & np.uint64(0xFFFFFFFFFFFF),
        dbfs_to_signal_byte(batch.signal_dbfs), batch.receiver.astype(np.uint64),
        rid_before, np.ascontiguousarray(us), time_before,
    )


_TYPE_OF_LENGTH = np.zeros(256, np.uint8)
_TYPE_OF_LENGTH[2] = _TYPE_MODEAC
_TYPE_OF_LENGTH[7] = _TYPE_SHORT
_TYPE_OF_LENGTH[14] = _TYPE_LONG


def _encode_vectorised(
    batch: FrameBatch,
    *,
    receiver_ids: bool = False,
    time_records: npt.ArrayLike | None = None,
) -> bytes:
    """:func:`encode_beast` with whole-array operations (the reference of the compiled one)."""
    n = len(batch)
    if n == 0:
        return b""
    lens = batch.length_bytes.astype(np.int64)
    typ = np.select([lens == 2, lens == 7, lens == 14], [_TYPE_MODEAC, _TYPE_SHORT, _TYPE_LONG], 0)
    ok = typ > 0
    rid_before = np.zeros(n, bool)
    if receiver_ids:
        rid_before[0] = True
        rid_before[1:] = batch.receiver[1:] != batch.receiver[:-1]
    time_before = np.zeros(n, bool)
    if time_records is not None:
        mask = np.broadcast_to(np.asarray(time_records, bool), (n,))
        time_before = mask & np.isfinite(batch.time_s)
    rid_before &= ok
    time_before &= ok
    # Row layout: [rid?][time?][frame] for each frame.
    extra = rid_before.astype(np.int64) + time_before.astype(np.int64)
    frame_row = np.arange(n) + np.cumsum(extra)
    total = n + int(extra.sum())
    rec = np.zeros((total, _MAX_RECORD), np.uint8)
    rlen = np.zeros(total, np.int64)
    rec[:, 0] = ESCAPE
    # Frames.
    fr = frame_row[ok]
    rec[fr, 1] = typ[ok]
    t = batch.ticks[ok].astype(np.uint64) & np.uint64(0xFFFFFFFFFFFF)
    for i in range(6):
        rec[fr, 2 + i] = ((t >> np.uint64(40 - 8 * i)) & np.uint64(0xFF)).astype(np.uint8)
    rec[fr, 8] = dbfs_to_signal_byte(batch.signal_dbfs[ok])
    rec[fr, 9:] = batch.data[ok]
    rlen[fr] = _RECORD_LEN[typ[ok]]
    # Receiver-id records.
    if rid_before.any():
        rr = frame_row[rid_before] - 1 - time_before[rid_before].astype(np.int64)
        _put_u64(rec, rr, _TYPE_RECEIVER, batch.receiver[rid_before].astype(np.uint64))
        rlen[rr] = _RECORD_LEN[_TYPE_RECEIVER]
    if time_before.any():
        tr = frame_row[time_before] - 1
        us = np.rint(batch.time_s[time_before] * 1e6).astype(np.int64).view(np.uint64)
        _put_u64(rec, tr, _TYPE_TIME, us)
        rlen[tr] = _RECORD_LEN[_TYPE_TIME]
    keep = rlen > 0
    return _escape(rec[keep], rlen[keep])


def _put_u64(
    rec: npt.NDArray[np.uint8], rows: npt.NDArray[np.int64], typ: int, value: npt.NDArray[np.uint64]
) -> None:
    rec[rows, 1] = typ
    for i in range(8):
        rec[rows, 2 + i] = ((value >> np.uint64(56 - 8 * i)) & np.uint64(0xFF)).astype(np.uint8)
