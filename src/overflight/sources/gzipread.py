"""Read a gzip stream up to where it breaks: every byte that decompresses, then the reason.

A capture or database cut short (a crash while recording, an interrupted download) or damaged
on disk is read as far as it decompresses, to the byte: the output ends exactly where the
fault is, nothing decompressed before it is dropped, and no exception is raised while reading.
The reason is kept in :attr:`GzipPrefixReader.fault` (None for a whole stream):

* ``EOFError``: truncated, the compressed stream ends before its end-of-stream marker;
* ``zlib.error``: corrupt deflate data, a bad header or a CRC-32 / length check that fails;
* ``gzip.BadGzipFile``: garbage after the end of the last member.

Every member of a multi-member gzip is read; zero padding after a member is skipped, as
:mod:`gzip` does. Memory is bounded: the compressed input is read in chunks and each read
decompresses at most the bytes asked for. I/O errors of the underlying file are raised as usual.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import IO, Any

__all__ = [
    "GZIP_FAULTS",
    "GZIP_MAGIC",
    "GzipPrefixFile",
    "GzipPrefixReader",
    "describe_fault",
    "read_prefix",
]

GZIP_MAGIC = b"\x1f\x8b"
GZIP_FAULTS: tuple[type[BaseException], ...] = (EOFError, zlib.error, gzip.BadGzipFile)
"""The types of :attr:`GzipPrefixReader.fault` (and what :mod:`gzip` raises for the same faults)."""

CHUNK_BYTES = 1 << 16
"""Compressed bytes read from the file at a time."""

_TRUNCATED = "Compressed file ended before the end-of-stream marker was reached"


class GzipPrefixReader(io.RawIOBase):
    """Raw reader of the decompressed bytes of a gzip stream (all members), ending at a fault.

    Reads never raise for a broken stream: at the fault they return end-of-file and
    :attr:`fault` says why. ``decompressed_bytes`` counts the bytes returned.

    Args:
        fileobj: the compressed stream, read in chunks of ``chunk_bytes``.
        close_source: close ``fileobj`` when this reader is closed.
    """

    def __init__(
        self, fileobj: IO[bytes], *, chunk_bytes: int = CHUNK_BYTES, close_source: bool = False
    ) -> None:
        super().__init__()
        self._src = fileobj
        self._chunk = max(1, chunk_bytes)
        self._close_source = close_source
        self._in = b""  # compressed bytes read but not yet consumed
        self._d: Any = None  # the current member's decompressor; None between members
        self._members = 0
        self._careful = False  # after an error: replaying the input byte by byte to the fault
        self._done = False
        self.fault: BaseException | None = None
        self.decompressed_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with up to its length of decompressed bytes; 0 at the end or fault."""
        view = memoryview(buffer).cast("B")
        n = len(view)
        while n and not self._done:
            piece = self._step(n)
            if piece:
                k = len(piece)
                view[:k] = piece
                self.decompressed_bytes += k
                return k
        return 0

    def close(self) -> None:
        if not self.closed and self._close_source:
            self._src.close()
        super().close()

    def _step(self, n: int) -> bytes:
        """At most ``n`` decompressed bytes (possibly none), after one step of the state."""
        if not self._in:
            self._in = self._src.read(self._chunk)
            if not self._in:
                if self._d is not None:
                    # zlib may still hold output it finished but did not return (max_length).
                    out: bytes = self._d.decompress(b"", n)
                    if out:
                        return out
                self._end(EOFError(_TRUNCATED) if self._d is not None else None)
                return b""
        if self._d is None:
            self._start_member()
            return b""
        d = self._d
        saved: Any = None
        if self._careful:  # the fault is in this input: one byte at a time, to end exactly at it
            data, rest = self._in[:1], self._in[1:]
        else:
            data, rest = self._in, b""
            saved = d.copy()
        try:
            out = d.decompress(data, n)
        except zlib.error as exc:
            if self._careful:
                self._end(exc)
            else:  # redo this input from the state before it, byte by byte
                self._d, self._careful = saved, True
            return b""
        if d.eof:  # end of a member: what follows is padding, another member or garbage
            self._in = d.unused_data + rest
            self._d, self._careful = None, False
        else:
            self._in = d.unconsumed_tail + rest
        return out

    def _start_member(self) -> None:
        if self._members:
            self._in = self._in.lstrip(b"\0")  # zero padding after a member, as gzip allows
            if not self._in:
                return
            if self._in[:2] != GZIP_MAGIC[: len(self._in)]:
                n, beyond = self._rest_bytes()
                n += len(self._in)
                what = f"more than {n:,}" if beyond else f"{n:,}"
                self._end(gzip.BadGzipFile(f"{what} bytes of garbage after the end"))
                return
            if len(self._in) < 2:  # half a magic number: wait for more input
                more = self._src.read(self._chunk)
                if not more:
                    self._end(gzip.BadGzipFile("1 bytes of garbage after the end"))
                    return
                self._in += more
                return
        self._d = zlib.decompressobj(wbits=31)  # gzip header and CRC-32 trailer checked
        self._members += 1

    def _rest_bytes(self, limit: int = 1 << 20) -> tuple[int, bool]:
        """Bytes left in the source, read through up to ``limit`` (a pipe may never end, a
        trailing blob may be huge); and whether more remain."""
        n = 0
        while n < limit and (chunk := self._src.read(min(self._chunk, limit - n))):
            n += len(chunk)
        return n, n >= limit and bool(self._src.read(1))

    def _end(self, fault: BaseException | None) -> None:
        self._done, self.fault = True, fault
        self._in, self._d = b"", None


class GzipPrefixFile(io.BufferedReader):
    """Buffered reader (``read``, ``peek``, lines) of a :class:`GzipPrefixReader`.

    A broken stream reads as a shorter one; :attr:`fault` says why once its end is reached.
    """

    def __init__(
        self, fileobj: IO[bytes], *, buffer_size: int = 1 << 17, close_source: bool = False
    ) -> None:
        self._prefix = GzipPrefixReader(fileobj, close_source=close_source)
        super().__init__(self._prefix, buffer_size)

    @property
    def fault(self) -> BaseException | None:
        """Why the stream ended early (None while whole); see :class:`GzipPrefixReader`."""
        return self._prefix.fault


def read_prefix(path: str | Path) -> tuple[bytes, BaseException | None]:
    """The bytes of file ``path``, decompressed when it is gzip (by content), up to a fault.

    Returns the bytes and the fault (None when the file is not gzip or is whole). The whole
    output is held in memory: stream with :class:`GzipPrefixFile` where it can be large.
    """
    with open(path, "rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            raw.seek(0)
            return raw.read(), None
        raw.seek(0)
        with GzipPrefixFile(raw) as f:
            out = io.BytesIO()
            while piece := f.read1(1 << 20):
                out.write(piece)
            return out.getvalue(), f.fault


def describe_fault(exc: BaseException) -> str:
    """A short reason for a fault: ``truncated: ...`` or ``corrupt gzip data (...)``."""
    if isinstance(exc, EOFError):
        return "truncated: the compressed stream ends early"
    return f"corrupt gzip data ({exc})"
