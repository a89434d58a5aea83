"""AVR raw text frames (receivers' port 30002), both directions.

Line forms (one frame per line, terminated by ``;``):

* ``*HEX;`` and ``:HEX;`` — frame only;
* ``@TTTTTTTTTTTTHEX;`` and ``%TTTTTTTTTTTTHEX;`` — 12 hex digits of 12 MHz counter, then the frame
  (``%`` is dump1090's "no CRC check" flavour);
* ``<TTTTTTTTTTTTSSHEX;`` — counter, then the Beast signal byte as 2 hex digits, then the frame.

Frames are 4 (Mode A/C), 14 or 28 hex digits.
"""

from __future__ import annotations

import numpy as np

from overflight.frames import FrameBatch
from overflight.sources.beast import dbfs_to_signal_byte

__all__ = ["AvrFrame", "encode_avr", "frame_from_hex", "parse_avr_line"]

AvrFrame = tuple[bytes, int, int]
"""``(frame bytes, counter ticks (0 if absent), signal byte (0 if absent))``."""


def frame_from_hex(hex_text: bytes | str) -> bytes | str:
    """Frame bytes from hex text, or a reason string (``"non-hex"``, ``"bad length"``).

    A 28-digit frame whose downlink format says short (DF < 16) is cut to 14 digits: some tools
    pad short frames to 112 bits.
    """
    try:
        raw = bytes.fromhex(hex_text.decode("ascii") if isinstance(hex_text, bytes) else hex_text)
    except (ValueError, UnicodeDecodeError):
        return "non-hex"
    n = len(raw)
    if n == 14:
        return raw if raw[0] >> 3 >= 16 else raw[:7]
    if n in (7, 2):
        return raw
    return "bad length"


def parse_avr_line(line: bytes) -> AvrFrame | str:
    """Parse one AVR line (without newline) to ``(frame, ticks, signal byte)`` or a reason."""
    line = line.strip()
    if not line:
        return "empty"
    lead = line[0:1]
    body = line[1:]
    if body.endswith(b";"):
        body = body[:-1]
    ticks = 0
    signal = 0
    try:
        if lead in (b"*", b":"):
            pass
        elif lead in (b"@", b"%"):
            ticks = int(body[:12], 16)
            body = body[12:]
        elif lead == b"<":
            ticks = int(body[:12], 16)
            signal = int(body[12:14], 16)
            body = body[14:]
        else:
            return "not avr"
    except ValueError:
        return "bad timestamp"
    frame = frame_from_hex(body)
    if isinstance(frame, str):
        return frame
    return frame, ticks, signal


def encode_avr(batch: FrameBatch, *, style: str = "*") -> bytes:
    """Serialise frames as AVR lines (``\\n``-terminated).

    Args:
        style: ``"*"`` frame only (dump1090's port 30002), ``"@"`` with counter, ``"<"`` with
            counter and signal.
    """
    if style not in ("*", "@", "<"):
        raise ValueError(f"unknown AVR style {style!r}")
    sig = dbfs_to_signal_byte(batch.signal_dbfs)
    ticks = batch.ticks.astype(np.uint64) & np.uint64(0xFFFFFFFFFFFF)
    out: list[str] = []
    for i in range(len(batch)):
        h = batch.frame_hex(i)
        if style == "*":
            out.append(f"*{h};\n")
        elif style == "@":
            out.append(f"@{int(ticks[i]):012X}{h};\n")
        else:
            out.append(f"<{int(ticks[i]):012X}{int(sig[i]):02X}{h};\n")
    return "".join(out).encode("ascii")
