"""Text captures, one frame per line: AVR, bare hex, CSV and JSON lines.

Recognised per line, so mixed files work:

* AVR (``*``, ``:``, ``@``, ``%``, ``<`` lines, see :mod:`.avr`);
* JSON lines with a frame and a time, e.g. ``{"timestamp": 1720248189.52, "frame": "8f39..."}``
  (frame key ``frame``/``rawmsg``/``raw``/``hex``/``msg``; time key ``timestamp``/``time_s``/
  ``time``/``ts``/``t``);
* CSV: ``timestamp,hex`` and pyModeS' ``ts,"hex",icao,tc`` / ``ts,icao,hex`` layouts (a UTF-8 BOM is
  ignored; the frame is the 14- or 28-digit hex field, the time the first number);
* bare hex, optionally preceded by a time and whitespace.

Every line yields a frame or a reason it was skipped; nothing raises.
"""

from __future__ import annotations

import json
import math
import re

from overflight.sources.avr import frame_from_hex, parse_avr_line

__all__ = ["LINE_TOO_LONG", "MAX_LINE_BYTES", "LineSplitter", "TextFrame", "parse_text_line"]

TextFrame = tuple[bytes, float, int, int]
"""``(frame bytes, time_s (NaN if absent), counter ticks (0), signal byte (0))``."""

_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")
_JSON_FRAME = re.compile(rb'"(?:frame|rawmsg|raw|hex|msg)"\s*:\s*"([0-9A-Fa-f]*)"')
_JSON_TIME = re.compile(rb'"(?:timestamp|time_s|time|ts|t)"\s*:\s*"?(-?[0-9][0-9.eE+-]*)')
_FRAME_KEYS = ("frame", "rawmsg", "raw", "hex", "msg")
_TIME_KEYS = ("timestamp", "time_s", "time", "ts", "t")
_NAN = math.nan

MAX_LINE_BYTES = 4096
"""Longest text line read (bytes, without its newline), as for network feeds: the longest frame
line of any format is under 200 bytes; a longer line is skipped without being held in memory."""
LINE_TOO_LONG = "line too long"
"""Skip reason of a line longer than :data:`MAX_LINE_BYTES`."""


class LineSplitter:
    """Splits a byte stream fed in pieces into lines of at most ``max_bytes`` (newline removed).

    Holds at most ``max_bytes`` between calls: a longer line is dropped as it arrives, counted
    once in :attr:`too_long`, and reading goes on with the next line. Memory is bounded by the
    piece size, whatever the input.
    """

    __slots__ = ("_part", "_skipping", "max_bytes", "too_long")

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.too_long = 0
        """Lines longer than ``max_bytes`` skipped so far."""
        self._part = b""
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes]:
        """The lines completed by ``data``, in order, without their newlines."""
        parts = data.split(b"\n")
        rest = parts.pop()  # after the last newline: the start of the next line
        out: list[bytes] = []
        for i, line in enumerate(parts):
            if i == 0:
                if self._skipping:  # the end of a long line, already counted
                    self._skipping = False
                    continue
                line = self._part + line
                self._part = b""
            if len(line) > self.max_bytes:
                self.too_long += 1
            else:
                out.append(line)
        if not parts:
            if self._skipping:
                return out
            rest = self._part + rest
        if len(rest) > self.max_bytes:
            self.too_long += 1
            self._skipping = True
            rest = b""
        self._part = rest
        return out

    def close(self) -> bytes | None:
        """End of stream: the last line if it had no newline (None if none, or skipped)."""
        part, self._part, self._skipping = self._part, b"", False
        return part or None


def _is_hex(b: bytes) -> bool:
    return bool(b) and all(c in _HEXDIGITS for c in b)


def _float(b: bytes) -> float | None:
    try:
        v = float(b)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_text_line(line: bytes) -> TextFrame | str:
    """Parse one line of a text capture to ``(frame, time_s, ticks, signal byte)`` or a reason.

    Reasons: ``"empty"``, ``"header"`` (a CSV header or comment), ``"non-hex"``,
    ``"bad length"``, ``"bad timestamp"``, ``"bad json"``, ``"no frame"``.
    """
    s = line.strip()
    if s.startswith(b"\xef\xbb\xbf"):
        s = s[3:].lstrip()
    if not s:
        return "empty"
    lead = s[0]
    if lead in b"*:@%<":
        r = parse_avr_line(s)
        if isinstance(r, str):
            return r
        return r[0], _NAN, r[1], r[2]
    if lead == ord("{"):
        return _parse_json(s)
    if lead == ord("#"):
        return "header"
    if b"," in s or b";" in s:
        return _parse_csv(s)
    parts = s.split()
    if len(parts) == 1:
        f = frame_from_hex(parts[0])
        return f if isinstance(f, str) else (f, _NAN, 0, 0)
    return _parse_fields(parts)


def _parse_json(s: bytes) -> TextFrame | str:
    fm = _JSON_FRAME.search(s)
    tm = _JSON_TIME.search(s)
    if fm is not None:
        frame = frame_from_hex(fm.group(1))
        if isinstance(frame, str):
            return frame
        t = _NAN
        if tm is not None:
            v = _float(tm.group(1))
            if v is None:
                return "bad timestamp"
            t = v
        return frame, t, 0, 0
    try:
        obj = json.loads(s)
    except (ValueError, UnicodeDecodeError):
        return "bad json"
    if not isinstance(obj, dict):
        return "bad json"
    hx = next((obj[k] for k in _FRAME_KEYS if isinstance(obj.get(k), str)), None)
    if hx is None:
        return "no frame"
    frame = frame_from_hex(hx)
    if isinstance(frame, str):
        return frame
    tv = next((obj[k] for k in _TIME_KEYS if k in obj), None)
    t = _NAN
    if tv is not None:
        v = _float(str(tv).encode())
        if v is None:
            return "bad timestamp"
        t = v
    return frame, t, 0, 0


def _parse_csv(s: bytes) -> TextFrame | str:
    sep = b"," if b"," in s else b";"
    fields = [f.strip().strip(b"\"'").strip() for f in s.split(sep)]
    return _parse_fields(fields)


def _parse_fields(fields: list[bytes]) -> TextFrame | str:
    frame_i = -1
    for i, f in enumerate(fields):
        if len(f) in (14, 28) and _is_hex(f):
            frame_i = i
            break
    if frame_i < 0:
        for i, f in enumerate(fields):
            if f.startswith(b"*") and f.endswith(b";"):
                frame_i = i
                fields[i] = f[1:-1]
                break
    if frame_i < 0:
        if any(f and not _is_hex(f) and _float(f) is None for f in fields):
            return "header" if not any(_float(f) is not None for f in fields) else "no frame"
        return "bad length"
    frame = frame_from_hex(fields[frame_i])
    if isinstance(frame, str):
        return frame
    t = _NAN
    for i, f in enumerate(fields):
        if i != frame_i and len(f) != 6 and f:
            v = _float(f)
            if v is not None:
                t = v
                break
    return frame, t, 0, 0
