"""Bit fields and lookup tables of Mode S replies, for Python ints and NumPy uint64 arrays alike.

A frame is handled as three words:

- ``head``: the first 32 bits (DF, CA/FS/VS..., AA or the 13-bit AC/ID field),
- ``me``: bits 33-88 of a 112-bit frame (the 56-bit ME/MB/MV field; 0 for short frames),
- ``parity``: the last 24 bits (PI/AP).

Every extraction below is written with ``>>`` and ``&`` only, so the same function serves the
scalar :func:`overflight.modes.decode` (Python ``int``) and :func:`overflight.modes.decode_batch`
(``numpy.uint64`` arrays). Lookup tables are built once from one scalar definition and exist as a
Python tuple (scalar path) and a NumPy array (batch path) with a sentinel for "not available".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "AC13_FT",
    "AC13_FT_NP",
    "CALLSIGN_CHARSET",
    "EMERGENCY_STATES",
    "FT_PER_M",
    "ID13_SQUAWK",
    "INT_NA",
    "MOVEMENT_KT",
    "MOVEMENT_KT_NP",
    "NIC_RC_M",
    "NUCP_RC_M",
    "SIL_TYPES",
    "ac12_to_ac13",
    "ac13_altitude_ft",
    "airborne_nic",
    "callsign_chars",
    "category_code",
    "decode_callsign",
    "df_of",
    "field",
    "gillham_altitude_ft",
    "id13_squawk",
    "nucp_from_typecode",
    "surface_nic",
]

INT_NA = -(2**31)
"""Sentinel for "not available" in int32 NumPy columns (turned into nulls in tables)."""

FT_PER_M = 3.28084
"""Feet per metre."""


def field(word: Any, shift: int, mask: int) -> Any:
    """``(word >> shift) & mask`` on an int or a uint64/int64 array."""
    return (word >> shift) & mask


def df_of(head: Any) -> Any:
    """Downlink format: the first 5 bits (24-31 for Comm-D are folded by the caller)."""
    return head >> 27


# ---------------------------------------------------------------- altitude (AC13 / AC12)


def _mode_a_hex(id13: int) -> int:
    """13-bit ID/AC field (C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4) as 0xABCD octal digits."""
    out = 0
    for bit, val in (
        (0x1000, 0x0010), (0x0800, 0x1000), (0x0400, 0x0020), (0x0200, 0x2000),
        (0x0100, 0x0040), (0x0080, 0x4000), (0x0020, 0x0100), (0x0010, 0x0001),
        (0x0008, 0x0200), (0x0004, 0x0002), (0x0002, 0x0400), (0x0001, 0x0004),
    ):
        if id13 & bit:
            out |= val
    return out


def gillham_altitude_ft(mode_a: int) -> int | None:
    """Altitude in feet of a Gillham (100 ft) code given as 0xABCD Mode A digits, or None."""
    if (mode_a & 0xFFFF8889) != 0 or (mode_a & 0x00F0) == 0:
        return None
    hundreds = 0
    if mode_a & 0x0010:
        hundreds ^= 0x007
    if mode_a & 0x0020:
        hundreds ^= 0x003
    if mode_a & 0x0040:
        hundreds ^= 0x001
    if (hundreds & 5) == 5:
        hundreds ^= 2
    if hundreds > 5:
        return None
    fives = 0
    for bit, val in (
        (0x0002, 0x0FF), (0x0004, 0x07F), (0x1000, 0x03F), (0x2000, 0x01F),
        (0x4000, 0x00F), (0x0100, 0x007), (0x0200, 0x003), (0x0400, 0x001),
    ):
        if mode_a & bit:
            fives ^= val
    if fives & 1:
        hundreds = 6 - hundreds
    return (fives * 5 + hundreds - 13) * 100


def _ac13_scalar(ac13: int) -> int | None:
    if ac13 == 0:
        return None
    if ac13 & 0x40:  # M bit: metric altitude, not used in practice
        return None
    if ac13 & 0x10:  # Q bit: 25 ft steps
        n = ((ac13 & 0x1F80) >> 2) | ((ac13 & 0x20) >> 1) | (ac13 & 0x0F)
        return n * 25 - 1000
    return gillham_altitude_ft(_mode_a_hex(ac13))


AC13_FT: tuple[int | None, ...] = tuple(_ac13_scalar(i) for i in range(8192))
"""Barometric altitude in feet for every 13-bit AC code (None: unknown/invalid/metric)."""
AC13_FT_NP: npt.NDArray[np.int32] = np.array(
    [INT_NA if a is None else a for a in AC13_FT], dtype=np.int32
)


def ac12_to_ac13(ac12: Any) -> Any:
    """Insert the M bit (0) into a 12-bit ADS-B altitude code, giving the 13-bit AC layout."""
    return ((ac12 & 0xFC0) << 1) | (ac12 & 0x3F)


def ac13_altitude_ft(ac13: Any) -> Any:
    """Altitude (ft) of an AC13 code: ``int | None`` for an int, int32 array (INT_NA) for arrays."""
    if isinstance(ac13, np.ndarray):
        return AC13_FT_NP[ac13.astype(np.intp)]
    return AC13_FT[ac13]


# ---------------------------------------------------------------- identity (squawk)

ID13_SQUAWK: tuple[str, ...] = tuple(f"{_mode_a_hex(i):04x}" for i in range(8192))
"""Four-octal-digit squawk string for every 13-bit ID code."""

SQUAWK_VALUES: tuple[str, ...] = tuple(f"{i:04o}" for i in range(4096))
"""All 4096 squawks; ``SQUAWK_VALUES[k]`` is the dictionary entry used by batch columns."""
ID13_SQUAWK_INDEX_NP: npt.NDArray[np.int32] = np.array(
    [int(s, 8) for s in ID13_SQUAWK], dtype=np.int32
)
"""Index into :data:`SQUAWK_VALUES` for every 13-bit ID code (batch dictionary encoding)."""


def id13_squawk(id13: int) -> str:
    """Squawk (Mode A code, 4 octal digits) of a 13-bit ID field."""
    return ID13_SQUAWK[id13]


# ---------------------------------------------------------------- callsign

CALLSIGN_CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
"""6-bit ADS-B/Comm-B character set; '#' marks codes that are not characters."""


def callsign_chars(bits48: Any) -> list[Any]:
    """The eight 6-bit character codes of a 48-bit callsign field, first character first."""
    return [(bits48 >> (42 - 6 * k)) & 0x3F for k in range(8)]


def decode_callsign(bits48: int) -> str:
    """Callsign from a 48-bit field, trailing/leading spaces stripped ('#' for invalid codes)."""
    cs = CALLSIGN_CHARSET
    return "".join(cs[(bits48 >> (42 - 6 * k)) & 0x3F] for k in range(8)).strip()


def category_code(typecode: int, ca: int) -> str | None:
    """Emitter category such as "A3" from type code 1-4 (D, C, B, A) and the 3-bit CA field."""
    if not 1 <= typecode <= 4:
        return None
    return f"{'DCBA'[typecode - 1]}{ca}"


CATEGORY_VALUES: tuple[str, ...] = tuple(f"{c}{k}" for c in "DCBA" for k in range(8))
"""All 32 categories, indexed by ``(typecode - 1) * 8 + ca`` (batch dictionary encoding)."""

# ---------------------------------------------------------------- surface movement

_MOV_LB = (2, 9, 13, 39, 94, 109, 124)
_KT_LB = (0.125, 1.0, 2.0, 15.0, 70.0, 100.0, 175.0)
_STEP = (0.125, 0.25, 0.5, 1.0, 2.0, 5.0)


def _movement_scalar(mov: int) -> float | None:
    if mov == 0 or mov > 124:
        return None
    if mov == 1:
        return 0.0
    if mov == 124:
        return 175.0
    i = next(k for k, lb in enumerate(_MOV_LB) if lb > mov)
    return _KT_LB[i - 1] + (mov - _MOV_LB[i - 1]) * _STEP[i - 1]


MOVEMENT_KT: tuple[float | None, ...] = tuple(_movement_scalar(m) for m in range(128))
"""Ground speed in knots for each 7-bit surface movement code (None: not available)."""
MOVEMENT_KT_NP: npt.NDArray[np.float64] = np.array(
    [np.nan if v is None else v for v in MOVEMENT_KT], dtype=np.float64
)

# ---------------------------------------------------------------- integrity

NUCP_RC_M: dict[int, float | None] = {
    9: 7.5, 8: 25.0, 7: 185.2, 6: 370.4, 5: 926.0, 4: 1852.0, 3: 3704.0, 2: 18520.0, 1: 37040.0,
    0: None,
}
"""Horizontal protection limit (m) for each NUCp (ADS-B version 0)."""

_NUCP_BY_TC: dict[int, int] = {
    5: 9, 6: 8, 7: 7, 8: 6,
    9: 9, 10: 8, 11: 7, 12: 6, 13: 5, 14: 4, 15: 3, 16: 2, 17: 1, 18: 0,
    20: 9, 21: 8, 22: 0,
}


def nucp_from_typecode(typecode: int) -> int | None:
    """NUCp (version 0 accuracy/integrity) of a position type code 5-22, else None."""
    return _NUCP_BY_TC.get(typecode)


NIC_RC_M: dict[int, float | None] = {
    11: 7.5, 10: 25.0, 9: 75.0, 8: 185.2, 7: 370.4, 6: 1111.2, 5: 1852.0, 4: 3704.0,
    3: 7408.0, 2: 14816.0, 1: 37040.0, 0: None,
}
"""Containment radius Rc (m) for each NIC (largest Rc of the NIC; see :func:`airborne_nic`)."""


def airborne_nic(typecode: int, nic_a: int = 0, nic_b: int = 0) -> tuple[int, float | None] | None:
    """(NIC, containment radius m) of an airborne position (TC 9-18, 20-22), DO-260B table 2-14.

    ``nic_a`` comes from the latest TC31 (0 when unknown), ``nic_b`` from the position message.
    """
    if typecode in (9, 20):
        return 11, 7.5
    if typecode in (10, 21):
        return 10, 25.0
    if typecode == 11:
        return (9, 75.0) if (nic_a and nic_b) else (8, 185.2)
    if typecode == 12:
        return 7, 370.4
    if typecode == 13:
        if nic_a == 0 and nic_b == 0:
            return 6, 926.0
        return 6, 1111.2
    if typecode == 14:
        return 5, 1852.0
    if typecode == 15:
        return 4, 3704.0
    if typecode == 16:
        return (3, 7408.0) if (nic_a and nic_b) else (2, 14816.0)
    if typecode == 17:
        return 1, 37040.0
    if typecode in (18, 22):
        return 0, None
    return None


def surface_nic(typecode: int, nic_a: int = 0, nic_c: int = 0) -> tuple[int, float | None] | None:
    """(NIC, containment radius m) of a surface position (TC 5-8), DO-260B table 2-14."""
    if typecode == 5:
        return 11, 7.5
    if typecode == 6:
        return 10, 25.0
    if typecode == 7:
        return (9, 75.0) if nic_a else (8, 185.2)
    if typecode == 8:
        if nic_a and nic_c:
            return 7, 370.4
        if nic_a and not nic_c:
            return 6, 555.6
        if not nic_a and nic_c:
            return 6, 1111.2
        return 0, None
    return None


SIL_TYPES: tuple[str, str] = ("perhour", "persample")
"""``sil_type`` by SIL supplement bit (DO-260B: SIL probability per flight hour or per sample;
readsb's ``aircraft.json`` spellings). Only ADS-B version 2 carries the bit (TC31 ME bit 55)."""

# ---------------------------------------------------------------- emergency

EMERGENCY_STATES: tuple[str, ...] = (
    "none", "general", "medical", "minimum fuel", "no communications",
    "unlawful interference", "downed aircraft", "reserved",
)
"""TC28 emergency/priority status names, indexed by the 3-bit code."""
