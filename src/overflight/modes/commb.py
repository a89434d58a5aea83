"""Comm-B (DF20/21) MB field: register inference and decoding of BDS 1,0 1,7 2,0 3,0 4,0 5,0 6,0
4,4 4,5.

The MB field is the 56 bits 33-88 of a DF20/21 reply, handled here as one word ``mb`` (a Python
``int`` or a ``numpy.uint64`` array). Bit positions below count from 0 at the MSB of ``mb``
(ICAO MB bit *n*, 1-based, is position *n-1*).

Inference has two stages, every rule the same for the scalar and the columnar path:

1. **Structure** (pyModeS 3 rules): format identifier byte (1,0 2,0 3,0), reserved bits, status
   bits (a value whose status bit is 0 must be 0) and value ranges (5,0: |roll| <= 35 deg, GS and
   TAS <= 600 kt, |TAS - GS| <= 200 kt; 6,0: IAS <= 500 kt, Mach <= 1, |vertical rates| <= 6000
   ft/min; 1,7: BDS 2,0 capability set and bits 24-55 zero; 4,4: figure of merit <= 4, wind
   present, wind speed <= 250 kt, temperature -80..+60 C, not all-zero; 4,5: reserved bits 51-55
   zero, not a 1,7 pattern, temperature -80..+60 C) -- pyModeS 3 with ``include_meteo=True``.
2. **Consistency**, only to separate several structural candidates (a lone candidate is never
   dropped): 4,0 carries a selected altitude or QNH, an MCP altitude within 16 ft of a multiple of
   100 ft and QNH within 900-1100 hPa; 5,0 roll, turn rate and TAS obey the coordinated-turn law
   (|rate - 1091.7 tan(roll)/TAS| <= 0.5 deg/s) and match a reference ground speed (+-50 kt) and
   track (+-30 deg) when given; 6,0 carries IAS or Mach, IAS > 0, and IAS/Mach agree with the
   altitude under ISA (|dMach| <= 0.03, the DF20 altitude or a reference; without one, with some
   altitude between -1,000 and 50,000 ft); 4,4 and 4,5 (meteorological, rarely implemented:
   they must be corroborated by a known altitude) carry a static air temperature within 40 C of
   ISA at the altitude, a static pressure within 5% + 10 hPa of the ISA pressure at that
   (pressure) altitude, and (4,5) a radio height at most 3,000 ft above it; 4,5 carries at least
   one of the three. Candidates that fail are removed when at least one passes.

When more than one register remains, ``bds`` is None and ``bds_candidates`` lists them all: we
never guess silently (pyModeS picks the first; rs1090 decodes them all). ``decode_commb(mb,
bds=...)`` decodes a register of the caller's choosing.

Columnar output (:func:`commb_columns`): every numeric and boolean field is a float64 array with
NaN where absent (booleans as 0.0/1.0); string fields (``bds``, ``callsign``,
``target_altitude_source``, ``threat_icao24``) and tuple fields (``bds_candidates``,
``supported_bds``) are object arrays with None where absent. :func:`commb_arrow` turns these into
typed pyarrow arrays with nulls (kinds in :data:`COMMB_FIELD_KINDS`).

One definition, two paths: each register field is one :class:`_Num` (bit position, width,
status bit, sign, scale); its value and presence are Python expressions of ``mb`` compiled at
import, and the structure rules are lists of such expressions. The scalar path runs them as
short-circuiting ``and``/``or`` on an ``int`` (a few microseconds per word); the columnar path
(:func:`structure_columns`, :func:`resolve_columns`, :func:`register_columns`) runs the same
text as whole-array ``&``/``|`` on int64 arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, make_dataclass
from dataclasses import fields as dc_fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from overflight.modes.fields import (
    AC13_FT,
    AC13_FT_NP,
    CALLSIGN_CHARSET,
    INT_NA,
    decode_callsign,
)

__all__ = [
    "BDS_CODES",
    "CANDIDATE_SETS",
    "CAPABILITY_BDS",
    "COMMB_FIELDS",
    "COMMB_FIELD_KINDS",
    "CommB",
    "CommBReference",
    "commb_arrow",
    "commb_columns",
    "decode_commb",
    "infer_bds",
    "infer_columns",
    "isa_pressure_hpa",
    "isa_temperature_c",
    "mach_from_cas",
    "register_columns",
    "resolve_columns",
    "structural_candidates",
    "structure_columns",
]

BDS_CODES: Final[tuple[str, ...]] = (
    "1,0", "1,7", "2,0", "3,0", "4,0", "5,0", "6,0", "4,4", "4,5",
)  # fmt: skip
"""Registers decoded here, in inference order (pyModeS 3's: format identifiers, then 4,0 5,0
6,0, then the meteorological 4,4 4,5)."""

_Word = Any  # a Python int or a NumPy array (uint64 in, int64/float64/bool out)


# ---------------------------------------------------------------- field definitions


def _mask(start: int, width: int) -> int:
    """Mask of ``width`` bits from position ``start`` (0 = MSB) of the 56-bit word."""
    return ((1 << width) - 1) << (56 - start - width)


def _bits_src(start: int, width: int) -> str:
    """Source text of ``width`` bits of ``mb`` from position ``start`` (an int or int64 array)."""
    return f"((mb >> {56 - start - width}) & {(1 << width) - 1})"


def _bits(mb: _Word, start: int, width: int) -> _Word:
    """``width`` bits of ``mb`` from position ``start`` (0 = MSB): int, or int64 array."""
    v = (mb >> (56 - start - width)) & ((1 << width) - 1)
    return v if isinstance(v, int) else v.astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Num:
    """A numeric (or boolean) register field: ``(signed raw) * scale + offset``.

    This is the one definition of the field: :attr:`value_src` and :attr:`present_src` are
    Python expressions of ``mb`` that the scalar and the columnar decoders compile at import
    (they work on an ``int`` and on an int64 array alike).
    """

    name: str
    register: str
    start: int  # first value bit; the sign bit when ``signed``
    width: int  # magnitude bits
    status: int | None = None  # status bit gating the value
    signed: bool = False  # separate sign bit, value = mag - sign * 2**width
    scale: float | None = None  # None: the raw integer
    offset: float = 0.0
    angle: bool = False  # wrap into [0, 360)
    kind: str = "int"  # "int" | "float" | "bool"
    mult: int = 1  # integer unit of an "int" field (e.g. 16 ft, 32 ft/min)

    @property
    def value_src(self) -> str:
        """Expression of the value (ignoring status): int/float/bool, or an array of them."""
        if self.signed:
            mag, sign = _bits_src(self.start + 1, self.width), _bits_src(self.start, 1)
            v = f"({mag} - {sign} * {1 << self.width})"
        else:
            v = _bits_src(self.start, self.width)
        if self.scale is not None:
            v = f"({v} * {self.scale!r}" + (f" + {self.offset!r})" if self.offset else ")")
        elif self.mult != 1:
            v = f"({v} * {self.mult})"
        if self.angle:
            v = f"({v} % 360.0)"
        if self.kind == "bool":
            v = f"({v} == 1)"
        return v

    @property
    def present_src(self) -> str:
        """Expression that is True where the status bit is set ("True" for ungated fields)."""
        return "True" if self.status is None else f"((mb & {1 << (55 - self.status)}) != 0)"

    def wrong_status(self) -> list[str]:
        """Rule term: the status bit is 0 but the value bits (sign included) are not."""
        assert self.status is not None
        return _wrong_status(self.status, self.start, self.width + int(self.signed))

    @property
    def key(self) -> str:
        """Unique key of the field (a name such as ``static_air_temperature_c`` is shared by
        registers with different layouts)."""
        return f"{self.register}:{self.name}"

    def value(self, mb: _Word) -> _Word:
        """The field's value (ignoring status): int/float, or int64/float64 array."""
        return _VALUE_FN[self.key](mb)

    def present(self, mb: _Word) -> _Word:
        """True where the status bit is set (always True for ungated fields)."""
        return _PRESENT_FN[self.key](mb)


def _wrong_status(status: int, start: int, width: int) -> list[str]:
    """Rule term: status bit ``status`` is 0 while bits ``start``..``start+width-1`` are not."""
    return [f"((mb & {1 << (55 - status)}) == 0)", f"((mb & {_mask(start, width)}) != 0)"]


def _flag(name: str, register: str, bit: int, status: int | None = None) -> _Num:
    return _Num(name, register, bit, 1, status=status, kind="bool")


# ---------------------------------------------------------------- register field definitions

_R10: Final = (
    _flag("dlc_continuation", "1,0", 8),
    _flag("overlay_command_capability", "1,0", 14),
    _flag("acas_operational", "1,0", 15),
    _Num("mode_s_subnetwork_version", "1,0", 16, 7),
    _flag("transponder_level5", "1,0", 23),
    _flag("mode_s_specific_services", "1,0", 24),
    _Num("uplink_elm_throughput", "1,0", 25, 3),
    _Num("downlink_elm_throughput", "1,0", 28, 4),
    _flag("aircraft_identification_capability", "1,0", 32),
    _flag("squitter_capability", "1,0", 33),
    _flag("surveillance_identifier_code", "1,0", 34),
    _flag("common_usage_gicb_capability", "1,0", 35),
    _flag("acas_hybrid_surveillance", "1,0", 36),
    _flag("acas_resolution_advisory", "1,0", 37),
    _Num("acas_rtca_version", "1,0", 38, 2),
    _Num("dte_status", "1,0", 40, 16),
)
_R30: Final = (
    _Num("ara_bits", "3,0", 8, 14),
    _Num("rac_bits", "3,0", 22, 4),
    _flag("ra_active", "3,0", 8),
    _flag("ra_corrective", "3,0", 9),
    _flag("ra_downward_sense", "3,0", 10),
    _flag("ra_increased_rate", "3,0", 11),
    _flag("ra_sense_reversal", "3,0", 12),
    _flag("ra_altitude_crossing", "3,0", 13),
    _flag("ra_positive", "3,0", 14),
    _flag("rac_no_below", "3,0", 22),
    _flag("rac_no_above", "3,0", 23),
    _flag("rac_no_left", "3,0", 24),
    _flag("rac_no_right", "3,0", 25),
    _flag("ra_terminated", "3,0", 26),
    _flag("multiple_threat", "3,0", 27),
    _Num("threat_type", "3,0", 28, 2),
)
_R40: Final = (
    _Num("selected_altitude_ft", "4,0", 1, 12, status=0, mult=16),
    _Num("selected_altitude_fms_ft", "4,0", 14, 12, status=13, mult=16),
    _Num("baro_setting_hpa", "4,0", 27, 12, status=26, scale=0.1, offset=800.0, kind="float"),
    _flag("vnav", "4,0", 48, status=47),
    _flag("alt_hold", "4,0", 49, status=47),
    _flag("approach", "4,0", 50, status=47),
)
_R50: Final = (
    _Num("roll_deg", "5,0", 1, 9, status=0, signed=True, scale=45.0 / 256.0, kind="float"),
    _Num(
        "true_track_deg",
        "5,0",
        12,
        10,
        status=11,
        signed=True,
        scale=90.0 / 512.0,
        angle=True,
        kind="float",
    ),
    _Num("groundspeed_kt", "5,0", 24, 10, status=23, mult=2),
    _Num("track_rate_deg_s", "5,0", 35, 9, status=34, signed=True, scale=8.0 / 256.0, kind="float"),
    _Num("tas_kt", "5,0", 46, 10, status=45, mult=2),
)
_R60: Final = (
    _Num(
        "magnetic_heading_deg",
        "6,0",
        1,
        10,
        status=0,
        signed=True,
        scale=90.0 / 512.0,
        angle=True,
        kind="float",
    ),
    _Num("ias_kt", "6,0", 13, 10, status=12),
    _Num("mach", "6,0", 24, 10, status=23, scale=2.048 / 512.0, kind="float"),
    _Num("baro_vertical_rate_fpm", "6,0", 35, 9, status=34, signed=True, mult=32),
    _Num("inertial_vertical_rate_fpm", "6,0", 46, 9, status=45, signed=True, mult=32),
)
_R44: Final = (  # meteorological routine air report (ICAO Doc 9871 Table A-2-68)
    _Num("figure_of_merit", "4,4", 0, 4),
    _Num("wind_speed_kt", "4,4", 5, 9, status=4),
    _Num("wind_direction_deg", "4,4", 14, 9, status=4, scale=180.0 / 256.0, kind="float"),
    # sign bit 24 and 10 bits, LSB 0.25 C (Doc 9871's MSB of 64 C would mean 0.125 C: a real
    # frame at FL350 reads ISA+6 C with 0.25, ISA+30 C with 0.125; pyModeS 3 and rs1090 agree)
    _Num("static_air_temperature_c", "4,4", 23, 10, signed=True, scale=0.25, kind="float"),
    _Num("static_pressure_hpa", "4,4", 35, 11, status=34),
    _Num("turbulence_level", "4,4", 47, 2, status=46),
    _Num("humidity_pct", "4,4", 50, 6, status=49, scale=100.0 / 64.0, kind="float"),
)
_R45: Final = (  # meteorological hazard report (ICAO Doc 9871 Table A-2-69); levels 0-3
    _Num("turbulence_level", "4,5", 1, 2, status=0),
    _Num("wind_shear_level", "4,5", 4, 2, status=3),
    _Num("microburst_level", "4,5", 7, 2, status=6),
    _Num("icing_level", "4,5", 10, 2, status=9),
    _Num("wake_vortex_level", "4,5", 13, 2, status=12),
    _Num("static_air_temperature_c", "4,5", 16, 9, status=15, signed=True, scale=0.25,
         kind="float"),
    _Num("static_pressure_hpa", "4,5", 27, 11, status=26),
    _Num("radio_height_ft", "4,5", 39, 12, status=38, mult=16),
)  # fmt: skip
_ALT_MCP, _ALT_FMS, _BARO = _R40[0], _R40[1], _R40[2]
_FOM44, _WS44, _WD44, _SAT44, _P44, _TURB44, _HUM44 = _R44
_SAT45, _P45, _RH45 = _R45[5], _R45[6], _R45[7]
_ROLL, _TRACK, _GS, _RATE, _TAS = _R50
_HDG, _IAS, _MACH, _VRB, _VRI = _R60

_NUMERIC: Final[tuple[_Num, ...]] = _R10 + _R30 + _R40 + _R50 + _R60 + _R44 + _R45

_TARGET_SOURCE: Final[tuple[str, ...]] = ("unknown", "aircraft_altitude", "mcp_fcu", "fms")
_TARGET_SOURCE_NP: Final = np.array(_TARGET_SOURCE, dtype=object)

CAPABILITY_BDS: Final[tuple[str, ...]] = (
    "0,5", "0,6", "0,7", "0,8", "0,9", "0,A", "2,0", "2,1", "4,0", "4,1", "4,2", "4,3",
    "4,4", "4,5", "4,8", "5,0", "5,1", "5,2", "5,3", "5,4", "5,5", "5,6", "5,F", "6,0",
)  # fmt: skip
"""BDS 1,7 capability map: register of each of the bits 0-23 (ICAO Doc 9871 Table A-2-23)."""
_CAPABILITY_BDS: Final = CAPABILITY_BDS


COMMB_FIELD_KINDS: Final[dict[str, str]] = {
    "bds": "str",
    "bds_candidates": "list[str]",
    **{f.name: f.kind for f in _R10},
    "supported_bds": "list[str]",
    "callsign": "str",
    **{f.name: f.kind for f in _R30},
    "threat_icao24": "str",
    "threat_altitude_ft": "int",
    "threat_range_nm": "float",
    "threat_bearing_deg": "int",
    **{f.name: f.kind for f in _R40},
    "target_altitude_source": "str",
    **{f.name: f.kind for f in _R50},
    **{f.name: f.kind for f in _R60},
    **{f.name: f.kind for f in _R44},
    **{f.name: f.kind for f in _R45},
}
"""Every Comm-B field name and its kind: "int", "float", "bool", "str" or "list[str]"."""

COMMB_FIELDS: Final[tuple[str, ...]] = tuple(COMMB_FIELD_KINDS)
"""Field names of :class:`CommB` (and columns of :func:`commb_columns`), in order."""


# ---------------------------------------------------------------- compiled rules and fields

_CHAR_BAD: Final[tuple[bool, ...]] = tuple(c == "#" for c in CALLSIGN_CHARSET)
_CHAR_BAD_NP: Final = np.array(_CHAR_BAD, dtype=bool)
_M56: Final = (1 << 56) - 1


def _nz(start: int, width: int) -> str:
    return f"((mb & {_mask(start, width)}) != 0)"


def _structure_rules() -> tuple[list[list[str]], ...]:
    """Per register (order of :data:`BDS_CODES`): terms whose any conjunction rejects it.

    pyModeS 3's rules: format identifier, reserved bits, status bits, value ranges. Terms come
    cheapest and most discriminating first (the scalar path stops at the first that holds).
    """
    top = "(mb >> 48)"
    ovc, subnet = _bits_src(14, 1), _bits_src(16, 7)
    r10 = [[f"({top} != 16)"], [_nz(9, 5)], [f"({ovc} == 1)", f"({subnet} < 5)"],
           [f"({ovc} == 0)", f"({subnet} > 4)"]]  # fmt: skip
    r17 = [[f"((mb & {_mask(6, 1)}) == 0)"], [_nz(24, 32)]]
    r20 = [[f"({top} != 32)"]] + [[f"CHAR_BAD[{_bits_src(8 + 6 * k, 6)}]"] for k in range(8)]
    r30 = [[f"({top} != 48)"], [f"({_bits_src(15, 7)} >= 48)"], [f"({_bits_src(28, 2)} == 3)"]]
    r40 = [[_nz(39, 8)], [_nz(51, 2)], *(f.wrong_status() for f in _R40[:3]),
           _wrong_status(47, 48, 3), _wrong_status(53, 54, 2)]  # fmt: skip
    r50 = [f.wrong_status() for f in _R50] + [
        [_ROLL.present_src, f"(abs({_ROLL.value_src}) > 35.0)"],
        [_GS.present_src, f"({_GS.value_src} > 600)"],
        [_TAS.present_src, f"({_TAS.value_src} > 600)"],
        [_GS.present_src, _TAS.present_src, f"(abs({_TAS.value_src} - {_GS.value_src}) > 200)"],
    ]
    r60 = [f.wrong_status() for f in _R60] + [
        [_IAS.present_src, f"({_IAS.value_src} > 500)"],
        [_MACH.present_src, f"({_MACH.value_src} > 1.0)"],
        [_VRB.present_src, f"(abs({_VRB.value_src}) > 6000)"],
        [_VRI.present_src, f"(abs({_VRI.value_src}) > 6000)"],
    ]
    r44 = [
        [f"({_bits_src(0, 4)} > 4)"],
        [f"({_WS44.present_src} == 0)"],
        _P44.wrong_status(),
        _TURB44.wrong_status(),
        _HUM44.wrong_status(),
        [f"({_WS44.value_src} > 250)"],
        [f"({_SAT44.value_src} < -80.0)"],
        [f"({_SAT44.value_src} > 60.0)"],
        [f"({_WS44.value_src} == 0)", f"({_bits_src(14, 9)} == 0)", f"({_bits_src(24, 10)} == 0)"],
    ]
    r45 = [
        [_nz(51, 5)],
        [f"((mb & {_mask(6, 1)}) != 0)", f"((mb & {_mask(24, 32)}) == 0)"],  # a 1,7 pattern
        *(f.wrong_status() for f in _R45),
        [_SAT45.present_src, f"({_SAT45.value_src} < -80.0)"],
        [_SAT45.present_src, f"({_SAT45.value_src} > 60.0)"],
    ]
    return r10, r17, r20, r30, r40, r50, r60, r44, r45


def _compile(name: str, expr: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """A function ``name(mb)`` returning ``expr`` (generated from the field definitions)."""
    exec(f"def {name}(mb):\n    return {expr}\n", namespace)
    return namespace[name]  # type: ignore[no-any-return]


_SCALAR_NS: Final[dict[str, Any]] = {"CHAR_BAD": _CHAR_BAD}
_ARRAY_NS: Final[dict[str, Any]] = {"CHAR_BAD": _CHAR_BAD_NP}

_BAD_S: Final = tuple(
    _compile(f"bad_{k}", " or ".join("(" + " and ".join(t) + ")" for t in rules), _SCALAR_NS)
    for k, rules in enumerate(_structure_rules())
)
"""Scalar structure checks (True: register rejected), short-circuiting."""
_BAD_V: Final = tuple(
    _compile(f"bad_{k}", " | ".join("(" + " & ".join(t) + ")" for t in rules), _ARRAY_NS)
    for k, rules in enumerate(_structure_rules())
)
"""The same checks as whole-array boolean operations (int64 words in, bool array out)."""

_VALUE_FN: Final[dict[str, Callable[..., Any]]] = {
    f.key: _compile(f"value_{f.name}", f.value_src, {}) for f in _NUMERIC
}
_PRESENT_FN: Final[dict[str, Callable[..., Any]]] = {
    f.key: _compile(f"present_{f.name}", f.present_src, {}) for f in _NUMERIC
}

_ID_BYTE: Final[dict[int, int]] = {0: 0x10, 2: 0x20, 3: 0x30}  # register index -> ID byte
_FIELDS_OF: Final[tuple[tuple[_Num, ...], ...]] = (
    _R10, (), (), _R30, _R40, _R50, _R60, _R44, _R45,
)  # fmt: skip


def _record_src(fields: tuple[_Num, ...]) -> str:
    """Dict display of a register's fields for one int ``mb`` (None where the status is 0)."""
    items = [
        f"{f.name!r}: {f.value_src}"
        + ("" if f.status is None else f" if mb & {1 << (55 - f.status)} else None")
        for f in fields
    ]
    return "{" + ", ".join(items) + "}"


_NUMERIC_RECORD: Final = tuple(
    _compile(f"record_{k}", _record_src(fields), {}) for k, fields in enumerate(_FIELDS_OF)
)


# ---------------------------------------------------------------- special fields


def _supported(caps: int) -> tuple[str, ...]:
    """BDS 1,7: registers whose capability bit (bits 0-23, ``caps`` = their 24-bit word) is 1."""
    return tuple(c for i, c in enumerate(_CAPABILITY_BDS) if (caps >> (23 - i)) & 1)


def _threat_scalar(mb: int) -> dict[str, Any]:
    tti = (mb >> 26) & 3
    if tti == 1:
        return {"threat_icao24": f"{(mb >> 2) & 0xFFFFFF:06x}"}
    if tti == 2:
        rng, brg = (mb >> 6) & 0x7F, mb & 0x3F
        return {
            "threat_altitude_ft": AC13_FT[(mb >> 13) & 0x1FFF],
            "threat_range_nm": (rng - 1) / 10 if rng > 0 else None,
            "threat_bearing_deg": 6 * (brg - 1) + 3 if brg > 0 else None,
        }
    return {}


def _record(k: int, mb: int) -> dict[str, Any]:
    """Fields of register ``BDS_CODES[k]`` decoded from ``mb`` (no validity check)."""
    out: dict[str, Any] = _NUMERIC_RECORD[k](mb)
    if k == 1:
        out["supported_bds"] = _supported(mb >> 32)
    elif k == 2:
        out["callsign"] = decode_callsign(mb & 0xFFFFFFFFFFFF)
    elif k == 3:
        out.update(_threat_scalar(mb))
    elif k == 4 and mb & 4:
        out["target_altitude_source"] = _TARGET_SOURCE[mb & 3]
    return out


def _objects(values: list[Any]) -> npt.NDArray[Any]:
    """A 1-D object array of ``values`` (tuples stay elements: no 2-D array from equal lengths)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def register_columns(
    k: int, mb: npt.NDArray[np.int64], *, tuples: bool = True
) -> dict[str, tuple[Any, Any]]:
    """Fields of register ``BDS_CODES[k]`` for words ``mb`` (int64, all read as that register).

    Per field ``(present, values)``: ``present`` a bool array (None: every row), ``values`` an
    int64, float64 or bool array, or an object array of str (tuples for ``supported_bds``), the
    same length as ``mb`` (meaningless where not present). The columnar twin of the scalar
    record, from the same definitions. ``tuples=False`` gives ``supported_bds`` as the 24-bit
    capability words instead (bit ``23 - i`` set: ``CAPABILITY_BDS[i]`` supported).
    """
    out: dict[str, tuple[Any, Any]] = {}
    for f in _FIELDS_OF[k]:
        p = _PRESENT_FN[f.key](mb)
        out[f.name] = (None if p is True else p, _VALUE_FN[f.key](mb))
    if k == 1 and not tuples:
        out["supported_bds"] = (None, mb >> 32)
    elif k == 1:
        u, inv = np.unique(mb >> 32, return_inverse=True)
        out["supported_bds"] = (None, _objects([_supported(c) for c in u.tolist()])[inv])
    elif k == 2:
        u, inv = np.unique(mb & 0xFFFFFFFFFFFF, return_inverse=True)
        out["callsign"] = (None, _objects([decode_callsign(c) for c in u.tolist()])[inv])
    elif k == 3:
        tti = (mb >> 26) & 3
        t1, t2 = tti == 1, tti == 2
        icao = np.full(mb.shape[0], None, dtype=object)
        icao[t1] = [f"{a:06x}" for a in ((mb[t1] >> 2) & 0xFFFFFF).tolist()]
        alt = AC13_FT_NP[(mb >> 13) & 0x1FFF].astype(np.int64)
        rng, brg = (mb >> 6) & 0x7F, mb & 0x3F
        out["threat_icao24"] = (t1, icao)
        out["threat_altitude_ft"] = (t2 & (alt != INT_NA), alt)
        out["threat_range_nm"] = (t2 & (rng > 0), (rng - 1) / 10)
        out["threat_bearing_deg"] = (t2 & (brg > 0), 6 * (brg - 1) + 3)
    elif k == 4:
        out["target_altitude_source"] = ((mb & 4) != 0, _TARGET_SOURCE_NP[mb & 3])
    return out


# ---------------------------------------------------------------- consistency (disambiguation)


def _is_array(*xs: Any) -> bool:
    return any(isinstance(x, np.ndarray) for x in xs)


def mach_from_cas(cas_kt: Any, altitude_ft: Any) -> Any:
    """Mach number of a calibrated airspeed (kt) at a pressure altitude (ft), ISA (scalar/array)."""
    if not _is_array(cas_kt, altitude_ft):
        return _mach_from_cas_scalar(float(cas_kt), float(altitude_ft))
    h = np.clip(altitude_ft * 0.3048, -2000.0, 20000.0)
    p = np.where(
        h < 11000.0,
        101325.0 * np.power(np.maximum(1.0 - 2.25577e-5 * h, 1e-6), 5.25588),
        22632.06 * np.exp(-1.57688e-4 * (h - 11000.0)),
    )
    qc = 101325.0 * (np.power(1.0 + 0.2 * (cas_kt / 661.4786) ** 2, 3.5) - 1.0)
    return np.sqrt(5.0 * (np.power(qc / p + 1.0, 2.0 / 7.0) - 1.0))


def _mach_from_cas_scalar(cas_kt: float, altitude_ft: float) -> float:
    if altitude_ft != altitude_ft or cas_kt != cas_kt:
        return _NAN
    h = min(max(altitude_ft * 0.3048, -2000.0), 20000.0)
    if h < 11000.0:
        p = 101325.0 * math.pow(max(1.0 - 2.25577e-5 * h, 1e-6), 5.25588)
    else:
        p = 22632.06 * math.exp(-1.57688e-4 * (h - 11000.0))
    qc = 101325.0 * (math.pow(1.0 + 0.2 * (cas_kt / 661.4786) ** 2, 3.5) - 1.0)
    return math.sqrt(5.0 * (math.pow(qc / p + 1.0, 2.0 / 7.0) - 1.0))


_NAN = float("nan")


def _known(x: Any) -> Any:
    return x == x  # False for NaN, for floats and float arrays alike


def _tan_deg(x: Any) -> Any:
    return np.tan(np.radians(x)) if _is_array(x) else math.tan(math.radians(x))


def _angle_diff(a: Any, b: Any) -> Any:
    d = abs(a - b) % 360.0
    return np.minimum(d, 360.0 - d) if _is_array(d) else min(d, 360.0 - d)


def _ok40(mb: _Word) -> _Word:
    mcp_on, fms_on, baro_on = _ALT_MCP.present(mb), _ALT_FMS.present(mb), _BARO.present(mb)
    mcp = _ALT_MCP.value(mb)
    baro = _BARO.value(mb)
    mcp_off_grid = abs(mcp - ((mcp + 50) // 100) * 100) > 16
    bad = (
        ((mcp_on | fms_on | baro_on) == 0)
        | (mcp_on & mcp_off_grid)
        | (baro_on & ((baro < 900.0) | (baro > 1100.0)))
    )
    return bad == 0


def _ok50(mb: _Word, gs_ref: Any, track_ref: Any) -> _Word:
    roll_on, rate_on, tas_on = _ROLL.present(mb), _RATE.present(mb), _TAS.present(mb)
    tas = _TAS.value(mb)
    tas_min1 = np.maximum(tas, 1) if _is_array(tas) else max(tas, 1)
    turn = 1091.7 * _tan_deg(_ROLL.value(mb)) / tas_min1
    gs_on, track_on = _GS.present(mb), _TRACK.present(mb)
    bad = (
        (roll_on & rate_on & tas_on & (tas > 0) & (abs(_RATE.value(mb) - turn) > 0.5))
        | (gs_on & _known(gs_ref) & (abs(_GS.value(mb) - gs_ref) > 50.0))
        | (track_on & _known(track_ref) & (_angle_diff(_TRACK.value(mb), track_ref) > 30.0))
    )
    return bad == 0


def _ok60(mb: _Word, alt_ref: Any) -> _Word:
    ias_on, mach_on = _IAS.present(mb), _MACH.present(mb)
    ias, mach = _IAS.value(mb), _MACH.value(mb)
    both = ias_on & mach_on
    at_alt = mach_from_cas(ias, alt_ref)
    low, high = mach_from_cas(ias, -1000.0), mach_from_cas(ias, 50000.0)
    bad = (
        ((ias_on | mach_on) == 0)
        | (ias_on & (ias == 0))
        | (both & _known(alt_ref) & (abs(mach - at_alt) > 0.03))
        | (both & (_known(alt_ref) == 0) & ((mach < low - 0.03) | (mach > high + 0.03)))
    )
    return bad == 0


def isa_temperature_c(altitude_ft: Any) -> Any:
    """ISA static air temperature (deg C) at a pressure altitude (ft); scalar or array."""
    h = altitude_ft * 0.3048
    h = np.minimum(h, 11000.0) if _is_array(h) else min(h, 11000.0)
    return 15.0 - 0.0065 * h


def isa_pressure_hpa(altitude_ft: Any) -> Any:
    """ISA static pressure (hPa) at a pressure altitude (ft, -2,000 to 65,000); scalar/array."""
    if _is_array(altitude_ft):
        h = np.clip(altitude_ft * 0.3048, -2000.0, 20000.0)
        return np.where(
            h < 11000.0,
            1013.25 * np.power(np.maximum(1.0 - 2.25577e-5 * h, 1e-6), 5.25588),
            226.3206 * np.exp(-1.57688e-4 * (h - 11000.0)),
        )
    h = min(max(altitude_ft * 0.3048, -2000.0), 20000.0)
    if h < 11000.0:
        return 1013.25 * math.pow(max(1.0 - 2.25577e-5 * h, 1e-6), 5.25588)
    return 226.3206 * math.exp(-1.57688e-4 * (h - 11000.0))


_SAT_ISA_DEV_C: Final = 40.0  # |static air temperature - ISA| at most (deg C)
_RADIO_ABOVE_FT: Final = 3000.0  # radio height at most this far above the pressure altitude


def _zero_unknown(alt: Any, known: Any) -> Any:
    """``alt`` with unknown (NaN) values replaced by 0 (scalar or array)."""
    if _is_array(alt, known):
        return np.where(known, alt, 0.0)
    return alt if known else 0.0


def _meteo_bad(mb: _Word, alt: Any, sat: _Num, pressure: _Num) -> _Word:
    """4,4/4,5 reading contradicted by (or, with no altitude, not checkable against) the
    altitude: temperature off ISA by more than 40 C, static pressure off ISA's by 5% + 10 hPa."""
    known = _known(alt)
    a = _zero_unknown(alt, known)
    p_isa = isa_pressure_hpa(a)
    return (
        (known == 0)
        | (sat.present(mb) & (abs(sat.value(mb) - isa_temperature_c(a)) > _SAT_ISA_DEV_C))
        | (pressure.present(mb) & (abs(pressure.value(mb) - p_isa) > 0.05 * p_isa + 10.0))
    )


def _ok44(mb: _Word, alt_ref: Any) -> _Word:
    return _meteo_bad(mb, alt_ref, _SAT44, _P44) == 0


def _ok45(mb: _Word, alt_ref: Any) -> _Word:
    t_on, p_on, h_on = _SAT45.present(mb), _P45.present(mb), _RH45.present(mb)
    a = _zero_unknown(alt_ref, _known(alt_ref))
    above = _RH45.value(mb) - a * (a > 0)
    bad = (
        _meteo_bad(mb, alt_ref, _SAT45, _P45)
        | ((t_on | p_on | h_on) == 0)
        | (h_on & (above > _RADIO_ABOVE_FT))
    )
    return bad == 0


@dataclass(frozen=True, slots=True)
class CommBReference:
    """Known state of the aircraft used to separate candidate registers (None: unknown).

    ``altitude_ft`` is the barometric altitude (the DF20 header gives it); ``groundspeed_kt``
    and ``track_deg`` (true) come from ADS-B velocity or a track.
    """

    altitude_ft: float | None = None
    groundspeed_kt: float | None = None
    track_deg: float | None = None


# ---------------------------------------------------------------- inference

_CONSISTENCY_BITS: Final = 0b111110000  # registers 4,0 5,0 6,0 4,4 4,5 have consistency rules
_POPCOUNT: Final[tuple[int, ...]] = tuple(bin(c).count("1") for c in range(1 << len(BDS_CODES)))
_POPCOUNT_NP: Final = np.array(_POPCOUNT, dtype=np.int64)
_CANDIDATES: Final[tuple[tuple[str, ...], ...]] = tuple(
    tuple(b for k, b in enumerate(BDS_CODES) if (c >> k) & 1) for c in range(1 << len(BDS_CODES))
)
"""Candidate registers of every bit set (bit k: ``BDS_CODES[k]``)."""
CANDIDATE_SETS: Final = _CANDIDATES
"""Public name of the table above: candidates of each bit set of :func:`infer_columns`."""
_CHOSEN: Final[tuple[int, ...]] = tuple(
    BDS_CODES.index(t[0]) if len(t) == 1 else -1 for t in _CANDIDATES
)
_CHOSEN_NP: Final = np.array(_CHOSEN, dtype=np.int64)


_bad_0, _bad_1, _bad_2, _bad_3, _bad_4, _bad_5, _bad_6, _bad_7, _bad_8 = _BAD_S
"""The scalar checks by name: :func:`_structure_code` calls them so, and so compiles too
(``tracking._frames`` compiles it with them; numba cannot index a tuple of functions)."""


def _structure_code(mb: int) -> int:
    """Bit set of the registers whose structure fits a (nonzero, 56-bit) word."""
    top = mb >> 48
    code = 0
    if top == 0x10 and not _bad_0(mb):
        code = 1
    if not _bad_1(mb):
        code |= 2
    if top == 0x20 and not _bad_2(mb):
        code |= 4
    elif top == 0x30 and not _bad_3(mb):
        code |= 8
    if not _bad_4(mb):
        code |= 16
    if not _bad_5(mb):
        code |= 32
    if not _bad_6(mb):
        code |= 64
    if not _bad_7(mb):
        code |= 128
    if not _bad_8(mb):
        code |= 256
    return code


def _infer_code(mb: int, alt: float, gs: float, track: float) -> int:
    """Candidate bit set after structure and (only among several) consistency rules."""
    if mb == 0:
        return 0
    code = _structure_code(mb)
    if _POPCOUNT[code] < 2:
        return code
    failed = 0
    any_ok = bool(code & ~_CONSISTENCY_BITS)  # registers without consistency rules pass
    for k in (4, 5, 6, 7, 8):
        if (code >> k) & 1:
            if k == 4:
                passed = _ok40(mb)
            elif k == 5:
                passed = _ok50(mb, gs, track)
            elif k == 6:
                passed = _ok60(mb, alt)
            elif k == 7:
                passed = _ok44(mb, alt)
            else:
                passed = _ok45(mb, alt)
            if passed:
                any_ok = True
            else:
                failed |= 1 << k
    # remove failing candidates only where at least one passes (a lone one is never dropped)
    return code & ~failed if any_ok else code


def structural_candidates(mb: int) -> tuple[str, ...]:
    """Registers whose structure (ID, reserved and status bits, ranges) fits ``mb``."""
    mb = int(mb) & _M56
    return _CANDIDATES[_structure_code(mb)] if mb else ()


def _ref_floats(reference: CommBReference | None) -> tuple[float, float, float]:
    if reference is None:
        return _NAN, _NAN, _NAN
    alt, gs, track = reference.altitude_ft, reference.groundspeed_kt, reference.track_deg
    return (
        _NAN if alt is None else float(alt),
        _NAN if gs is None else float(gs),
        _NAN if track is None else float(track),
    )


def infer_bds(mb: int, reference: CommBReference | None = None) -> tuple[str, ...]:
    """Candidate registers of a 56-bit MB field after structure and consistency rules.

    One element: the register. Several: ambiguous (all listed). Empty: none fits.
    """
    return _CANDIDATES[_infer_code(int(mb) & _M56, *_ref_floats(reference))]


def _as_float(x: Any, n: int) -> npt.NDArray[np.float64]:
    if x is None:
        return np.full(n, np.nan)
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))


def structure_columns(m: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Columnar structure stage: the candidate bit set of each (56-bit, int64) word."""
    code = np.zeros(m.shape[0], dtype=np.int64)
    top = m >> 48
    for k, bad in enumerate(_BAD_V):
        if k in _ID_BYTE:  # only rows with the register's format identifier can match
            rows = np.flatnonzero(top == _ID_BYTE[k])
            if rows.size:
                code[rows] |= (~bad(m[rows])).astype(np.int64) << k
        else:
            code |= (~bad(m)).astype(np.int64) << k
    code[m == 0] = 0
    return code


def resolve_columns(
    m: npt.NDArray[np.int64],
    code: npt.NDArray[np.int64],
    altitude_ft: npt.NDArray[np.float64],
    groundspeed_kt: npt.NDArray[np.float64],
    track_deg: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """Columnar consistency stage on the rows with several candidates (references: NaN
    unknown). Returns the new candidate bit sets (``code`` itself is not modified)."""
    multi = np.flatnonzero(_POPCOUNT_NP[code] > 1)
    if not multi.size:
        return code
    code = code.copy()
    sub, c = m[multi], code[multi]
    oks = {
        4: _ok40(sub),
        5: _ok50(sub, groundspeed_kt[multi], track_deg[multi]),
        6: _ok60(sub, altitude_ft[multi]),
        7: _ok44(sub, altitude_ft[multi]),
        8: _ok45(sub, altitude_ft[multi]),
    }
    any_ok = (c & ~_CONSISTENCY_BITS) != 0
    failed = np.zeros(multi.size, dtype=np.int64)
    for k, ok in oks.items():
        has = ((c >> k) & 1) == 1
        any_ok |= has & ok
        failed |= (has & ~ok).astype(np.int64) << k
    code[multi] = np.where(any_ok, c & ~failed, c)
    return code


def infer_columns(
    mb: npt.ArrayLike,
    *,
    altitude_ft: Any = None,
    groundspeed_kt: Any = None,
    track_deg: Any = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Columnar :func:`infer_bds`: per word, the candidate bit set (bit k: ``BDS_CODES[k]``) and
    the chosen register index (-1: none or ambiguous). References as in :func:`commb_columns`.
    """
    m = np.asarray(mb).astype(np.int64) & _M56
    n = m.shape[0]
    code = resolve_columns(
        m,
        structure_columns(m),
        _as_float(altitude_ft, n),
        _as_float(groundspeed_kt, n),
        _as_float(track_deg, n),
    )
    return code, _CHOSEN_NP[code]


# ---------------------------------------------------------------- scalar record


@dataclass(frozen=True, slots=True)
class CommB:
    """A decoded Comm-B MB field; fields of registers other than ``bds`` are None."""

    bds: str | None
    bds_candidates: tuple[str, ...]
    # BDS 1,0 data link capability
    dlc_continuation: bool | None = None
    overlay_command_capability: bool | None = None
    acas_operational: bool | None = None
    mode_s_subnetwork_version: int | None = None
    transponder_level5: bool | None = None
    mode_s_specific_services: bool | None = None
    uplink_elm_throughput: int | None = None
    downlink_elm_throughput: int | None = None
    aircraft_identification_capability: bool | None = None
    squitter_capability: bool | None = None
    surveillance_identifier_code: bool | None = None
    common_usage_gicb_capability: bool | None = None
    acas_hybrid_surveillance: bool | None = None
    acas_resolution_advisory: bool | None = None
    acas_rtca_version: int | None = None
    dte_status: int | None = None
    # BDS 1,7 common-usage GICB capability
    supported_bds: tuple[str, ...] | None = None
    # BDS 2,0 aircraft identification
    callsign: str | None = None
    # BDS 3,0 ACAS active resolution advisory
    ara_bits: int | None = None
    rac_bits: int | None = None
    ra_active: bool | None = None
    ra_corrective: bool | None = None
    ra_downward_sense: bool | None = None
    ra_increased_rate: bool | None = None
    ra_sense_reversal: bool | None = None
    ra_altitude_crossing: bool | None = None
    ra_positive: bool | None = None
    rac_no_below: bool | None = None
    rac_no_above: bool | None = None
    rac_no_left: bool | None = None
    rac_no_right: bool | None = None
    ra_terminated: bool | None = None
    multiple_threat: bool | None = None
    threat_type: int | None = None
    threat_icao24: str | None = None
    threat_altitude_ft: int | None = None
    threat_range_nm: float | None = None
    threat_bearing_deg: int | None = None
    # BDS 4,0 selected vertical intention
    selected_altitude_ft: int | None = None
    selected_altitude_fms_ft: int | None = None
    baro_setting_hpa: float | None = None
    vnav: bool | None = None
    alt_hold: bool | None = None
    approach: bool | None = None
    target_altitude_source: str | None = None
    # BDS 5,0 track and turn
    roll_deg: float | None = None
    true_track_deg: float | None = None
    groundspeed_kt: int | None = None
    track_rate_deg_s: float | None = None
    tas_kt: int | None = None
    # BDS 6,0 heading and speed
    magnetic_heading_deg: float | None = None
    ias_kt: int | None = None
    mach: float | None = None
    baro_vertical_rate_fpm: int | None = None
    inertial_vertical_rate_fpm: int | None = None
    # BDS 4,4 meteorological routine air report (and 4,5, same names for the same quantities)
    figure_of_merit: int | None = None
    wind_speed_kt: int | None = None
    wind_direction_deg: float | None = None
    static_air_temperature_c: float | None = None
    static_pressure_hpa: int | None = None
    turbulence_level: int | None = None
    humidity_pct: float | None = None
    # BDS 4,5 meteorological hazard report: levels 0 nil, 1 light, 2 moderate, 3 severe
    wind_shear_level: int | None = None
    microburst_level: int | None = None
    icing_level: int | None = None
    wake_vortex_level: int | None = None
    radio_height_ft: int | None = None


def _builder_class() -> Any:
    """A mutable twin of :class:`CommB` with the same slots (its ``__init__`` is much faster
    than a frozen dataclass's); records are built in it and re-labelled as ``CommB``."""
    spec = [(f.name, f.type, f) for f in dc_fields(CommB)]
    return make_dataclass("_CommBBuilder", spec, slots=True, frozen=False, eq=False, repr=False)


_Builder: Final = _builder_class()


def _build(bds: str | None, candidates: tuple[str, ...], fields: dict[str, Any]) -> CommB:
    obj = _Builder(bds, candidates, **fields)
    obj.__class__ = CommB
    return obj  # type: ignore[no-any-return]


def decode_commb(
    mb: int, reference: CommBReference | None = None, *, bds: str | None = None
) -> CommB:
    """Decode a 56-bit MB field; ``bds`` forces a register (``bds_candidates`` still inferred)."""
    mb = int(mb) & _M56
    if reference is None:
        code = _infer_code(mb, _NAN, _NAN, _NAN)
    else:
        code = _infer_code(mb, *_ref_floats(reference))
    candidates = _CANDIDATES[code]
    if bds is None:
        k = _CHOSEN[code]
        if k < 0:
            return _build(None, candidates, {})
    elif bds in BDS_CODES:
        k = BDS_CODES.index(bds)
    else:
        raise ValueError(f"unsupported BDS register {bds!r}; supported: {BDS_CODES}")
    return _build(BDS_CODES[k], candidates, _record(k, mb))


# ---------------------------------------------------------------- columnar path


def _make_luts() -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """bds and candidates (object arrays) for every bit set of candidate registers."""
    size = 1 << len(BDS_CODES)
    bds = np.full(size, None, dtype=object)
    for c in range(size):
        if _CHOSEN[c] >= 0:
            bds[c] = BDS_CODES[_CHOSEN[c]]
    return bds, _objects(list(_CANDIDATES))


_BDS_LUT, _CANDS_LUT = _make_luts()


def commb_columns(
    mb: npt.NDArray[np.uint64],
    *,
    altitude_ft: Any = None,
    groundspeed_kt: Any = None,
    track_deg: Any = None,
) -> dict[str, npt.NDArray[Any]]:
    """Columns of :class:`CommB` fields for an array of MB words (see module doc for masking).

    ``altitude_ft``, ``groundspeed_kt``, ``track_deg``: optional reference arrays (NaN unknown)
    or scalars, the columnar form of :class:`CommBReference`.
    """
    m = np.asarray(mb).astype(np.int64) & _M56
    n = m.shape[0]
    code, chosen = infer_columns(
        m, altitude_ft=altitude_ft, groundspeed_kt=groundspeed_kt, track_deg=track_deg
    )
    out: dict[str, npt.NDArray[Any]] = {"bds": _BDS_LUT[code], "bds_candidates": _CANDS_LUT[code]}
    for name, kind in COMMB_FIELD_KINDS.items():
        if name not in out:
            obj = kind in ("str", "list[str]")
            out[name] = np.full(n, None, dtype=object) if obj else np.full(n, np.nan)
    for k in range(len(BDS_CODES)):
        rows = np.flatnonzero(chosen == k)
        if rows.size:
            for name, (present, values) in register_columns(k, m[rows]).items():
                if present is None:
                    out[name][rows] = values
                else:
                    out[name][rows[present]] = values[present]
    return out


def commb_arrow(columns: dict[str, npt.NDArray[Any]]) -> dict[str, Any]:
    """Typed pyarrow arrays (nulls where absent) from :func:`commb_columns` output."""
    import pyarrow as pa

    types = {
        "int": pa.int32(), "float": pa.float64(), "bool": pa.bool_(),
        "str": pa.string(), "list[str]": pa.list_(pa.string()),
    }  # fmt: skip
    arrays: dict[str, Any] = {}
    for name, kind in COMMB_FIELD_KINDS.items():
        col = columns[name]
        if kind in ("int", "float", "bool"):
            mask = np.isnan(col)
            vals = np.where(mask, 0, col)
            if kind == "int":
                vals = vals.astype(np.int64)
            elif kind == "bool":
                vals = vals != 0
            arrays[name] = pa.array(vals, type=types[kind], mask=mask)
        else:
            seq = kind == "list[str]"
            vals_list = [None if v is None else (list(v) if seq else v) for v in col]
            arrays[name] = pa.array(vals_list, type=types[kind])
    return arrays
