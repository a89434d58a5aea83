"""CRC-24 parity of Mode S frames (generator 0x1FFF409), scalar and columnar.

The parity field is the last 24 bits of a frame. For DF11/17/18 the syndrome (CRC of the data
bits XOR the parity field) is 0 for a clean frame (DF11: the interrogator code); for
DF0/4/5/16/20/21 the syndrome *is* the aircraft address (address/parity).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "CRC_TABLE",
    "GENERATOR",
    "SYNDROME_BIT_56",
    "SYNDROME_BIT_112",
    "crc24",
    "error_bit",
    "error_bit_batch",
    "frame_syndrome",
    "syndrome",
    "syndrome_batch",
]

GENERATOR = 0xFFF409
"""The 24 low bits of the Mode S generator polynomial (x^24 term implied)."""


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c = ((c << 1) ^ GENERATOR) if c & 0x800000 else (c << 1)
        table.append(c & 0xFFFFFF)
    return table


CRC_TABLE: list[int] = _make_table()


def crc24(data: bytes) -> int:
    """CRC-24 remainder of ``data`` (MSB first, initial value 0)."""
    crc = 0
    table = CRC_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ table[(crc >> 16) ^ b]
    return crc


def syndrome(frame: bytes) -> int:
    """CRC of the data bits XOR the 24-bit parity field; 0 for a clean DF17/18."""
    return crc24(frame[:-3]) ^ int.from_bytes(frame[-3:], "big")


def _position_tables() -> npt.NDArray[np.uint32]:
    """CRC contribution of each byte value at each of the 11 data-byte positions.

    The CRC (initial value 0) is linear: the CRC of the data bytes is the XOR of the CRCs of
    messages holding one byte each; a 7-byte frame's 4 data bytes sit at positions 7-10.
    """
    t = np.zeros((11, 256), dtype=np.uint32)
    for j in range(11):
        for v in range(256):
            msg = bytearray(11)
            msg[j] = v
            t[j, v] = crc24(bytes(msg))
    return t


_POS_TABLE = _position_tables()


_P = [[int(v) for v in row] for row in _POS_TABLE]


def frame_syndrome(frame: bytes) -> int:
    """Syndrome of a 7- or 14-byte frame: :func:`syndrome` by position tables, ~3x faster."""
    p = _P
    if len(frame) == 14:
        c = (
            p[0][frame[0]] ^ p[1][frame[1]] ^ p[2][frame[2]] ^ p[3][frame[3]]
            ^ p[4][frame[4]] ^ p[5][frame[5]] ^ p[6][frame[6]] ^ p[7][frame[7]]
            ^ p[8][frame[8]] ^ p[9][frame[9]] ^ p[10][frame[10]]
        )  # fmt: skip
        return c ^ ((frame[11] << 16) | (frame[12] << 8) | frame[13])
    if len(frame) == 7:
        c = p[7][frame[0]] ^ p[8][frame[1]] ^ p[9][frame[2]] ^ p[10][frame[3]]
        return c ^ ((frame[4] << 16) | (frame[5] << 8) | frame[6])
    return syndrome(frame)


def syndrome_batch(
    data: npt.NDArray[np.uint8], length_bytes: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint32]:
    """Syndrome of every row of an ``(n, 14)`` left-aligned frame array (7 or 14 bytes long).

    One table look-up per data byte and position, XOR'ed: no loop-carried dependency.
    """
    n = data.shape[0]
    out = np.zeros(n, dtype=np.uint32)
    long_rows = length_bytes == 14
    for rows, first, nbytes in ((long_rows, 0, 11), (~long_rows, 7, 4)):
        if not rows.any():
            continue
        d = data[rows] if not rows.all() else data
        crc = _POS_TABLE[first][d[:, 0]].copy()
        for j in range(1, nbytes):
            crc ^= _POS_TABLE[first + j][d[:, j]]
        parity = (
            (d[:, nbytes].astype(np.uint32) << 16)
            | (d[:, nbytes + 1].astype(np.uint32) << 8)
            | d[:, nbytes + 2].astype(np.uint32)
        )
        out[rows] = crc ^ parity
    return out


# ---------------------------------------------------------------- 1-bit error correction


def _bit_syndrome(nbits: int, bit: int) -> int:
    """Syndrome of an ``nbits`` frame that is all zeros except ``bit`` (0 = first bit sent)."""
    frame = (1 << (nbits - 1 - bit)).to_bytes(nbits // 8, "big")
    return syndrome(frame)


def _single_bit_table(nbits: int) -> dict[int, int]:
    # Bits 0-4 (the DF) are never corrected: a flipped DF would be another format altogether.
    return {_bit_syndrome(nbits, b): b for b in range(5, nbits)}


SYNDROME_BIT_112: dict[int, int] = _single_bit_table(112)
"""Syndrome -> bit index (0 = first bit) of every correctable 1-bit error in a 112-bit frame."""
SYNDROME_BIT_56: dict[int, int] = _single_bit_table(56)
"""Syndrome -> bit index of every correctable 1-bit error in a 56-bit frame."""


def _table_arrays(table: dict[int, int]) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    keys = np.array(sorted(table), dtype=np.uint32)
    return keys, np.array([table[int(k)] for k in keys], dtype=np.int64)


_SYN112_KEYS, _SYN112_BITS = _table_arrays(SYNDROME_BIT_112)
_SYN56_KEYS, _SYN56_BITS = _table_arrays(SYNDROME_BIT_56)


def error_bit(syn: int, nbits: int) -> int | None:
    """Bit index (0 = first bit) whose flip explains syndrome ``syn``, or None."""
    return (SYNDROME_BIT_112 if nbits == 112 else SYNDROME_BIT_56).get(syn)


def error_bit_batch(
    syn: npt.NDArray[np.uint32], long_frame: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Vectorised :func:`error_bit`: bit index per row, -1 where no single-bit error fits."""
    out = np.full(syn.shape[0], -1, dtype=np.int64)
    for keys, bits, sel in (
        (_SYN112_KEYS, _SYN112_BITS, long_frame),
        (_SYN56_KEYS, _SYN56_BITS, ~long_frame),
    ):
        s = syn[sel]
        pos = np.minimum(np.searchsorted(keys, s), keys.shape[0] - 1)
        out[sel] = np.where(keys[pos] == s, bits[pos], -1)
    return out
