"""CRC-24 parity of Mode S frames (generator 0x1FFF409), scalar and columnar.

The parity field is the last 24 bits of a frame. For DF11/17/18 the syndrome (CRC of the data
bits XOR the parity field) is 0 for a clean frame (DF11: the interrogator code); for
DF0/4/5/16/20/21 the syndrome *is* the aircraft address (address/parity).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["CRC_TABLE", "GENERATOR", "crc24", "syndrome", "syndrome_batch"]

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
_CRC_TABLE_NP = np.array(CRC_TABLE, dtype=np.uint32)


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


def syndrome_batch(data: npt.NDArray[np.uint8], length_bytes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """Syndrome of every row of an ``(n, 14)`` left-aligned frame array.

    Rows of 7 bytes are right-aligned first (leading zero bytes do not change a CRC with
    initial value 0), so the whole batch runs through one 11-step table loop.
    """
    n = data.shape[0]
    aligned = np.array(data, dtype=np.uint8, copy=True)
    short = length_bytes == 7
    if short.any():
        aligned[short, 7:] = data[short, :7]
        aligned[short, :7] = 0
    crc = np.zeros(n, dtype=np.uint32)
    for j in range(11):
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC_TABLE_NP[(crc >> 16) ^ aligned[:, j]]
    parity = (
        (aligned[:, 11].astype(np.uint32) << 16)
        | (aligned[:, 12].astype(np.uint32) << 8)
        | aligned[:, 13].astype(np.uint32)
    )
    return crc ^ parity
