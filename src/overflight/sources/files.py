"""Read frame captures from files (or standard input) as :class:`FrameBatch` batches.

Formats are detected from the content: Beast binary (first byte ``0x1a``), otherwise text lines
(AVR, bare hex, CSV, JSON lines: see :mod:`.text`); gzip is opened transparently. Malformed lines
and frames are counted in :attr:`FrameReader.stats` with a reason and skipped, never raised. A
line longer than :data:`~overflight.sources.text.MAX_LINE_BYTES` (4 KiB, as for network feeds) is
skipped as it streams past (``line too long``), so memory stays bounded by the read size.

A truncated or corrupt gzip is read up to the fault (:mod:`.gzipread`): every byte decompressed
before it reaches the parser (a cut last Beast frame is counted in ``stats.beast.truncated_bytes``,
a cut last text line as ``cut by the broken input``) and the fault is counted as
``broken input: <error type>`` in ``stats.skipped`` and kept in :attr:`FrameReader.fault`. Only
a gzip that breaks before its first decompressed byte raises (``EOFError``, ``zlib.error`` or
``gzip.BadGzipFile``): nothing could be read.

Times (``FrameBatch.time_s``, UTC epoch seconds):

* text with a time column: that time;
* Beast recorded by ``overflight record``: from its time records, continued by the 12 MHz counter;
* Beast or AVR with only a counter: seconds since the first frame, continued by the counter
  (``stats.absolute_time`` is False), or anchored at ``start_time_s`` when given.
"""

from __future__ import annotations

import io
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import numpy.typing as npt

from overflight.frames import FRAME_WIDTH_BYTES, FrameBatch
from overflight.sources.beast import ESCAPE, BeastParser, BeastStats, signal_byte_to_dbfs
from overflight.sources.clock import TickClock
from overflight.sources.gzipread import GZIP_MAGIC, GzipPrefixFile
from overflight.sources.iq import DemodStats, IQDemodulator
from overflight.sources.text import LINE_TOO_LONG, MAX_LINE_BYTES, LineSplitter, parse_text_line

__all__ = [
    "CUT_LINE",
    "FORMATS",
    "FrameReader",
    "ReadStats",
    "detect_format",
    "open_binary",
    "read_batches",
]

FORMATS = ("beast", "avr", "hex", "csv", "jsonl", "text", "iq")
"""Values of ``fmt``; the text formats share one line parser (``"text"`` = any of them).
``"iq"`` (raw RTL-SDR unsigned 8-bit I/Q) is never detected: raw samples look like any binary."""

_READ_SIZE = 1 << 20


@dataclass(slots=True)
class ReadStats:
    """What a reader saw: frames yielded, lines/frames skipped by reason, Beast counters."""

    format: str = "unknown"
    frames: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    beast: BeastStats = field(default_factory=BeastStats)
    absolute_time: bool = False

    @property
    def malformed(self) -> int:
        """Lines or frames skipped as bad (headers and empty lines excluded)."""
        text_bad = sum(v for k, v in self.skipped.items() if k not in ("empty", "header"))
        return text_bad + self.beast.errors


CUT_LINE = "cut by the broken input"
"""``stats.skipped`` reason of a text line cut by a gzip fault (never parsed: half a line)."""


def open_binary(path: str | Path) -> BinaryIO:
    """Open ``path`` for binary reading (``"-"`` = standard input), un-gzipping if needed.

    A gzip is read up to a fault, without raising: the returned file is then a
    :class:`~overflight.sources.gzipread.GzipPrefixFile`, whose ``fault`` says why it ended early.
    """
    raw: Any = sys.stdin.buffer if str(path) == "-" else open(path, "rb")  # noqa: SIM115
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return cast(BinaryIO, GzipPrefixFile(buffered, close_source=str(path) != "-"))
    return cast(BinaryIO, buffered)


_HOLD_FRAMES = 1_000_000
"""Frames a file reader holds while a receiver's counter layout is undecided (~30 MB)."""


def _rows(batch: FrameBatch, a: int, b: int) -> FrameBatch:
    """Rows ``a:b`` of a batch as views (no copy)."""
    return FrameBatch(
        batch.data[a:b], batch.length_bytes[a:b], batch.time_s[a:b], batch.receiver[a:b],
        batch.signal_dbfs[a:b], batch.ticks[a:b],
    )


def _by_receiver(
    receiver: npt.NDArray[np.uint64],
) -> list[tuple[int, slice | npt.NDArray[np.bool_]]]:
    """``(receiver id, its rows)`` for each distinct id, in increasing id order (a slice of
    every row when there is one id: the usual single-receiver capture, no mask built)."""
    if receiver.size == 0:
        return []
    first = receiver[0]
    if (receiver == first).all():
        return [(int(first), slice(None))]
    return [(r, receiver == r) for r in np.unique(receiver).tolist()]


def _fault(f: BinaryIO) -> BaseException | None:
    return f.fault if isinstance(f, GzipPrefixFile) else None


def detect_format(head: bytes) -> str:
    """Guess the format from the first bytes of a (decompressed) capture."""
    s = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not s:
        return "text"
    if s[0] == ESCAPE:
        return "beast"
    # Binary (control bytes, which no text format has; UTF-8 text may have bytes > 126) is read
    # as Beast, even when not aligned at byte 0: the parser counts what is garbage, where a text
    # reader would split junk at commas.
    if sum(c < 9 or 13 < c < 32 or c == 127 for c in head[:256]) > 8:
        return "beast"
    first = s.split(b"\n", 1)[0].strip()
    if first[:1] in (b"*", b":", b"@", b"%", b"<"):
        return "avr"
    if first[:1] == b"{":
        return "jsonl"
    if b"," in first or b";" in first:
        return "csv"
    return "hex"


class FrameReader(Iterator[FrameBatch]):
    """Iterator of frame batches from one file; :attr:`stats` fills as it goes."""

    def __init__(
        self,
        path: str | Path,
        *,
        batch_size: int = 65536,
        fmt: str | None = None,
        receiver: int = 0,
        start_time_s: float | None = None,
        sample_rate_hz: float = 2.0e6,
    ) -> None:
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        self.path = path
        self.batch_size = max(1, batch_size)
        self.fmt = fmt
        self.receiver = receiver
        self.start_time_s = start_time_s
        self.sample_rate_hz = sample_rate_hz
        self.stats = ReadStats()
        self.demod_stats: DemodStats | None = None
        self.fault: BaseException | None = None
        """Why a gzip input ended early (truncated or corrupt); None while it reads whole."""
        self._it: Iterator[FrameBatch] | None = None

    def __iter__(self) -> FrameReader:
        return self

    def __next__(self) -> FrameBatch:
        if self._it is None:
            self._it = self._generate()
        return next(self._it)

    def _generate(self) -> Iterator[FrameBatch]:
        with open_binary(self.path) as f:
            head = f.peek(4096)[:4096] if hasattr(f, "peek") else b""
            fault = _fault(f)
            if fault is not None and not head:  # broken before its first byte: nothing to read
                self.fault = fault
                raise fault
            fmt = self.fmt or detect_format(head)
            self.stats.format = fmt
            if fmt == "beast":
                yield from self._beast(f)
            elif fmt == "iq":
                yield from self._iq(f)
            else:
                yield from self._text(f)
            self.fault = _fault(f)
            if self.fault is not None:
                self.stats.skipped[f"broken input: {type(self.fault).__name__}"] += 1

    def _split(self, batch: FrameBatch) -> Iterator[FrameBatch]:
        for s in range(0, len(batch), self.batch_size):
            part = batch if len(batch) <= self.batch_size else _rows(
                batch, s, min(s + self.batch_size, len(batch))
            )
            self.stats.frames += len(part)
            yield part

    def _beast(self, f: BinaryIO) -> Iterator[FrameBatch]:
        """Beast frames dated by their receivers' clocks. While a receiver's counter could
        still be either a 12 MHz counter or GPS time (no status record, no violation yet),
        the frames are held (up to :data:`_HOLD_FRAMES`) and dated once it is decided, so a
        Radarcape file's first minute is not dated as a 12 MHz counter."""
        parser = BeastParser(self.receiver)
        parser.stats = self.stats.beast
        clocks: dict[int, TickClock] = {}
        held: list[tuple[FrameBatch, npt.NDArray[np.float64]]] = []
        n_held = 0
        pending: list[FrameBatch] = []
        n_pending = 0
        while True:
            data = f.read(_READ_SIZE)
            chunk = parser.feed(data, final=not data)
            fb = chunk.frames
            if len(fb):
                if np.isfinite(chunk.record_time_s).any():
                    self.stats.absolute_time = True
                for r, sel in _by_receiver(fb.receiver):
                    clk = clocks.get(r)
                    if clk is None:
                        clk = clocks[r] = TickClock(start_time_s=self.start_time_s or 0.0)
                    # A Radarcape status record says whether its counter is GPS time.
                    clk.apply_status(parser.statuses.get(r))
                    clk.observe(fb.ticks[sel], known_time_s=chunk.record_time_s[sel])
                held.append((fb, chunk.record_time_s))
                n_held += len(fb)
            undecided = any(c.gps is None for c in clocks.values())
            if held and (not undecided or not data or n_held >= _HOLD_FRAMES):
                for hb, rec in held:
                    times = np.empty(len(hb))
                    for r, sel in _by_receiver(hb.receiver):
                        times[sel] = clocks[r].times(
                            hb.ticks[sel], known_time_s=rec[sel], detect=False
                        )
                    pending.append(
                        FrameBatch(
                            hb.data, hb.length_bytes, times, hb.receiver, hb.signal_dbfs, hb.ticks
                        )
                    )
                    n_pending += len(hb)
                held, n_held = [], 0
            if n_pending >= self.batch_size or (not data and n_pending):
                yield from self._split(FrameBatch.concat(pending))
                pending, n_pending = [], 0
            if not data:
                break
        if self.start_time_s is not None:
            self.stats.absolute_time = True

    def _iq(self, f: BinaryIO) -> Iterator[FrameBatch]:
        demod = IQDemodulator(
            sample_rate_hz=self.sample_rate_hz, start_time_s=self.start_time_s,
            receiver=self.receiver,
        )
        if self.start_time_s is not None:
            self.stats.absolute_time = True
        while True:
            data = f.read(_READ_SIZE)
            fb = demod.feed(data) if data else demod.flush()
            self.demod_stats = demod.stats
            if len(fb):
                yield from self._split(fb)
            if not data:
                break

    def _text(self, f: BinaryIO) -> Iterator[FrameBatch]:
        frames: list[bytes] = []
        times: list[float] = []
        ticks: list[int] = []
        sigs: list[int] = []
        skipped = self.stats.skipped
        clock = TickClock(start_time_s=self.start_time_s or 0.0)
        # Lines over MAX_LINE_BYTES are skipped as they stream past, never held whole.
        lines = LineSplitter(MAX_LINE_BYTES)
        while True:
            data = f.read(_READ_SIZE)
            got = lines.feed(data) if data else []
            if not data:
                last = lines.close()
                if last is not None and _fault(f) is not None:  # the last line, cut by the fault
                    skipped[CUT_LINE] += 1
                elif last is not None:
                    got = [last]
            if lines.too_long:
                skipped[LINE_TOO_LONG] += lines.too_long
                lines.too_long = 0
            for line in got:
                r = parse_text_line(line)
                if isinstance(r, str):
                    skipped[r] += 1
                    continue
                frames.append(r[0])
                times.append(r[1])
                ticks.append(r[2])
                sigs.append(r[3])
                if len(frames) >= self.batch_size:
                    yield from self._split(self._text_batch(frames, times, ticks, sigs, clock))
                    frames, times, ticks, sigs = [], [], [], []
            if not data:
                break
        if frames:
            yield from self._split(self._text_batch(frames, times, ticks, sigs, clock))

    def _text_batch(
        self, frames: list[bytes], times: list[float], ticks: list[int], sigs: list[int],
        clock: TickClock,
    ) -> FrameBatch:
        n = len(frames)
        lengths = np.fromiter((len(x) for x in frames), np.uint8, n)
        data = np.frombuffer(
            b"".join(x.ljust(FRAME_WIDTH_BYTES, b"\0") for x in frames), np.uint8
        ).reshape(n, FRAME_WIDTH_BYTES)
        t = np.asarray(times, np.float64)
        tk = np.asarray(ticks, np.uint64)
        if np.isfinite(t).any():
            self.stats.absolute_time = True
        has_ticks = (tk != 0) & ~np.isfinite(t)
        if has_ticks.any():
            t[has_ticks] = clock.times(tk[has_ticks])
            if self.start_time_s is not None:
                self.stats.absolute_time = True
        return FrameBatch.from_columns(
            data.copy(), lengths, time_s=t, receiver=self.receiver,
            signal_dbfs=signal_byte_to_dbfs(np.asarray(sigs, np.uint8)), ticks=tk,
        )


def read_batches(
    path: str | Path,
    *,
    batch_size: int = 65536,
    fmt: str | None = None,
    receiver: int = 0,
    start_time_s: float | None = None,
    sample_rate_hz: float = 2.0e6,
) -> FrameReader:
    """Frame batches from a capture file (``"-"`` = standard input), format auto-detected.

    Args:
        path: file path or ``"-"``; gzip is detected from the content.
        batch_size: most frames per yielded batch.
        fmt: force a format (one of :data:`FORMATS`) instead of detecting it.
        receiver: receiver id for frames that carry none.
        start_time_s: UTC seconds of the first frame for captures with only a relative counter.
        sample_rate_hz: samples per second of raw I/Q input (``fmt="iq"``): 2.0e6 or 2.4e6.

    Returns:
        An iterator of batches whose ``stats`` (:class:`ReadStats`) counts frames and skipped input.
    """
    return FrameReader(
        path, batch_size=batch_size, fmt=fmt, receiver=receiver, start_time_s=start_time_s,
        sample_rate_hz=sample_rate_hz,
    )
