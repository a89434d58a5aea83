"""Comm-B (DF20/21) MB field: register inference and decoding of BDS 1,0 1,7 2,0 3,0 4,0 5,0 6,0.

The MB field is the 56 bits 33-88 of a DF20/21 reply, handled here as one word ``mb`` (a Python
``int`` or a ``numpy.uint64`` array). Bit positions below count from 0 at the MSB of ``mb``
(ICAO MB bit *n*, 1-based, is position *n-1*).

Inference has two stages, every rule the same for the scalar and the columnar path:

1. **Structure** (pyModeS 3 rules): format identifier byte (1,0 2,0 3,0), reserved bits, status
   bits (a value whose status bit is 0 must be 0) and value ranges (5,0: |roll| <= 35 deg, GS and
   TAS <= 600 kt, |TAS - GS| <= 200 kt; 6,0: IAS <= 500 kt, Mach <= 1, |vertical rates| <= 6000
   ft/min; 1,7: BDS 2,0 capability set and bits 24-55 zero).
2. **Consistency**, only to separate several structural candidates (a lone candidate is never
   dropped): 4,0 carries a selected altitude or QNH, an MCP altitude within 16 ft of a multiple of
   100 ft and QNH within 900-1100 hPa; 5,0 roll, turn rate and TAS obey the coordinated-turn law
   (|rate - 1091.7 tan(roll)/TAS| <= 0.5 deg/s) and match a reference ground speed (+-50 kt) and
   track (+-30 deg) when given; 6,0 carries IAS or Mach, IAS > 0, and IAS/Mach agree with the
   altitude under ISA (|dMach| <= 0.03, the DF20 altitude or a reference; without one, with some
   altitude between -1,000 and 50,000 ft). Candidates that fail are removed when at least one
   passes.

When more than one register remains, ``bds`` is None and ``bds_candidates`` lists them all: we
never guess silently (pyModeS picks the first; rs1090 decodes them all). ``decode_commb(mb,
bds=...)`` decodes a register of the caller's choosing.

Columnar output (:func:`commb_columns`): every numeric and boolean field is a float64 array with
NaN where absent (booleans as 0.0/1.0); string fields (``bds``, ``callsign``,
``target_altitude_source``, ``threat_icao24``) and tuple fields (``bds_candidates``,
``supported_bds``) are object arrays with None where absent. :func:`commb_arrow` turns these into
typed pyarrow arrays with nulls (kinds in :data:`COMMB_FIELD_KINDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from overflight.modes.fields import AC13_FT, AC13_FT_NP, CALLSIGN_CHARSET, INT_NA

__all__ = [
    "BDS_CODES",
    "COMMB_FIELDS",
    "COMMB_FIELD_KINDS",
    "CommB",
    "CommBReference",
    "commb_arrow",
    "commb_columns",
    "decode_commb",
    "infer_bds",
    "mach_from_cas",
    "structural_candidates",
]

BDS_CODES: Final[tuple[str, ...]] = ("1,0", "1,7", "2,0", "3,0", "4,0", "5,0", "6,0")
"""Registers decoded here, in inference order."""

_Word = Any  # a Python int or a NumPy array (uint64 in, int64/float64/bool out)


# ---------------------------------------------------------------- generic bit primitives


def _bits(mb: _Word, start: int, width: int) -> _Word:
    """``width`` bits of ``mb`` from position ``start`` (0 = MSB): int, or int64 array."""
    v = (mb >> (56 - start - width)) & ((1 << width) - 1)
    return v if isinstance(v, int) else v.astype(np.int64)


def _wrong_status(mb: _Word, status: int, start: int, width: int) -> _Word:
    """True where the status bit is 0 but the value bits it gates are not all 0."""
    return (_bits(mb, status, 1) == 0) & (_bits(mb, start, width) != 0)


def _lookup(table: tuple[Any, ...], table_np: npt.NDArray[Any], idx: _Word) -> Any:
    """``table[idx]`` for an int index, ``table_np[idx]`` for an index array."""
    return table[idx] if isinstance(idx, int) else table_np[idx]


@dataclass(frozen=True, slots=True)
class _Num:
    """A numeric (or boolean) register field: ``(signed raw) * scale + offset``."""

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

    def value(self, mb: _Word) -> _Word:
        """The field's value (ignoring status): int/float, or int64/float64 array."""
        if self.signed:
            v = _bits(mb, self.start + 1, self.width) - _bits(mb, self.start, 1) * (1 << self.width)
        else:
            v = _bits(mb, self.start, self.width)
        if self.scale is not None:
            v = v * self.scale + self.offset
        elif self.mult != 1:
            v = v * self.mult
        if self.angle:
            v = v % 360.0
        return v

    def present(self, mb: _Word) -> _Word:
        """True where the status bit is set (always True for ungated fields)."""
        return True if self.status is None else _bits(mb, self.status, 1) == 1

    def wrong_status(self, mb: _Word) -> _Word:
        assert self.status is not None
        return _wrong_status(mb, self.status, self.start, self.width + int(self.signed))


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
_ALT_MCP, _ALT_FMS, _BARO = _R40[0], _R40[1], _R40[2]
_ROLL, _TRACK, _GS, _RATE, _TAS = _R50
_HDG, _IAS, _MACH, _VRB, _VRI = _R60

_NUMERIC: Final[tuple[_Num, ...]] = _R10 + _R30 + _R40 + _R50 + _R60

_TARGET_SOURCE: Final[tuple[str, ...]] = ("unknown", "aircraft_altitude", "mcp_fcu", "fms")
_TARGET_SOURCE_NP: Final = np.array(_TARGET_SOURCE, dtype=object)

_CAPABILITY_BDS: Final[tuple[str, ...]] = (
    "0,5", "0,6", "0,7", "0,8", "0,9", "0,A", "2,0", "2,1", "4,0", "4,1", "4,2", "4,3",
    "4,4", "4,5", "4,8", "5,0", "5,1", "5,2", "5,3", "5,4", "5,5", "5,6", "5,F", "6,0",
)  # fmt: skip
"""BDS 1,7 capability map: register of each of the bits 0-23 (ICAO Doc 9871 Table A-2-23)."""

_CHAR_VALID: Final[tuple[bool, ...]] = tuple(c != "#" for c in CALLSIGN_CHARSET)
_CHAR_VALID_NP: Final = np.array(_CHAR_VALID, dtype=bool)
_AC13_NP_F: Final = np.where(AC13_FT_NP == INT_NA, np.nan, AC13_FT_NP.astype(np.float64))

_STRING_FIELDS: Final[tuple[str, ...]] = ("callsign", "target_altitude_source", "threat_icao24")
_TUPLE_FIELDS: Final[tuple[str, ...]] = ("supported_bds",)

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
}
"""Every Comm-B field name and its kind: "int", "float", "bool", "str" or "list[str]"."""

COMMB_FIELDS: Final[tuple[str, ...]] = tuple(COMMB_FIELD_KINDS)
"""Field names of :class:`CommB` (and columns of :func:`commb_columns`), in order."""


# ---------------------------------------------------------------- structural validators


def _nonzero(mb: _Word) -> _Word:
    return mb != 0


def _is_bds10(mb: _Word) -> _Word:
    ovc = _bits(mb, 14, 1)
    subnet = _bits(mb, 16, 7)
    return (
        (_bits(mb, 0, 8) == 0x10)
        & (_bits(mb, 9, 5) == 0)
        & (((ovc == 1) & (subnet >= 5)) | ((ovc == 0) & (subnet <= 4)))
    )


def _is_bds17(mb: _Word) -> _Word:
    return (_bits(mb, 6, 1) == 1) & (_bits(mb, 24, 32) == 0)


def _is_bds20(mb: _Word) -> _Word:
    ok = _bits(mb, 0, 8) == 0x20
    for k in range(8):
        ok = ok & _lookup(_CHAR_VALID, _CHAR_VALID_NP, _bits(mb, 8 + 6 * k, 6))
    return ok


def _is_bds30(mb: _Word) -> _Word:
    return (_bits(mb, 0, 8) == 0x30) & (_bits(mb, 15, 7) < 48) & (_bits(mb, 28, 2) != 3)


def _is_bds40(mb: _Word) -> _Word:
    bad = (
        _ALT_MCP.wrong_status(mb)
        | _ALT_FMS.wrong_status(mb)
        | _BARO.wrong_status(mb)
        | _wrong_status(mb, 47, 48, 3)
        | _wrong_status(mb, 53, 54, 2)
        | (_bits(mb, 39, 8) != 0)
        | (_bits(mb, 51, 2) != 0)
    )
    return bad == 0


def _is_bds50(mb: _Word) -> _Word:
    bad = (
        _ROLL.wrong_status(mb)
        | _TRACK.wrong_status(mb)
        | _GS.wrong_status(mb)
        | _RATE.wrong_status(mb)
        | _TAS.wrong_status(mb)
    )
    gs_on, tas_on = _GS.present(mb), _TAS.present(mb)
    gs, tas = _GS.value(mb), _TAS.value(mb)
    bad = (
        bad
        | (_ROLL.present(mb) & (abs(_ROLL.value(mb)) > 35.0))
        | (gs_on & (gs > 600))
        | (tas_on & (tas > 600))
        | (gs_on & tas_on & (abs(tas - gs) > 200))
    )
    return bad == 0


def _is_bds60(mb: _Word) -> _Word:
    bad = (
        _HDG.wrong_status(mb)
        | _IAS.wrong_status(mb)
        | _MACH.wrong_status(mb)
        | _VRB.wrong_status(mb)
        | _VRI.wrong_status(mb)
        | (_IAS.present(mb) & (_IAS.value(mb) > 500))
        | (_MACH.present(mb) & (_MACH.value(mb) > 1.0))
        | (_VRB.present(mb) & (abs(_VRB.value(mb)) > 6000))
        | (_VRI.present(mb) & (abs(_VRI.value(mb)) > 6000))
    )
    return bad == 0


_ID_BYTE: Final[dict[int, int]] = {0: 0x10, 2: 0x20, 3: 0x30}  # validator index -> ID byte
_VALIDATORS: Final = (_is_bds10, _is_bds17, _is_bds20, _is_bds30, _is_bds40, _is_bds50, _is_bds60)


# ---------------------------------------------------------------- consistency (disambiguation)


def mach_from_cas(cas_kt: Any, altitude_ft: Any) -> Any:
    """Mach number of a calibrated airspeed (kt) at a pressure altitude (ft), ISA (scalar/array)."""
    h = np.clip(altitude_ft * 0.3048, -2000.0, 20000.0)
    p = np.where(
        h < 11000.0,
        101325.0 * np.power(np.maximum(1.0 - 2.25577e-5 * h, 1e-6), 5.25588),
        22632.06 * np.exp(-1.57688e-4 * (h - 11000.0)),
    )
    qc = 101325.0 * (np.power(1.0 + 0.2 * (cas_kt / 661.4786) ** 2, 3.5) - 1.0)
    return np.sqrt(5.0 * (np.power(qc / p + 1.0, 2.0 / 7.0) - 1.0))


@dataclass(frozen=True, slots=True)
class CommBReference:
    """Known state of the aircraft used to separate candidate registers (None: unknown).

    ``altitude_ft`` is the barometric altitude (the DF20 header gives it); ``groundspeed_kt``
    and ``track_deg`` (true) come from ADS-B velocity or a track.
    """

    altitude_ft: float | None = None
    groundspeed_kt: float | None = None
    track_deg: float | None = None


_NAN = float("nan")


def _known(x: Any) -> Any:
    return x == x  # False for NaN, for floats and float arrays alike


def _angle_diff(a: Any, b: Any) -> Any:
    d = abs(a - b) % 360.0
    return np.minimum(d, 360.0 - d)


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
    turn = 1091.7 * np.tan(np.radians(_ROLL.value(mb))) / np.maximum(tas, 1)
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


def _candidate_masks(mb: _Word, alt: Any, gs: Any, track: Any) -> list[_Word]:
    """Per register: True where it remains a candidate after structure and consistency."""
    if isinstance(mb, int):  # scalar: skip validators whose format identifier cannot match
        top = mb >> 48
        valid = [
            mb != 0 and _ID_BYTE.get(k, top) == top and bool(v(mb))
            for k, v in enumerate(_VALIDATORS)
        ]
    else:
        nz = _nonzero(mb)
        valid = [nz & v(mb) for v in _VALIDATORS]
    count = sum(int(v) if isinstance(v, bool) else v.astype(np.int64) for v in valid)
    multi: Any = count > 1
    if isinstance(multi, bool) and not multi:
        return valid
    ok = [True, True, True, True, _ok40(mb), _ok50(mb, gs, track), _ok60(mb, alt)]
    passing = [v & o for v, o in zip(valid, ok, strict=True)]
    any_ok = passing[0]
    for p in passing[1:]:
        any_ok = any_ok | p
    # remove failing candidates only where several exist and at least one passes
    return [v & ((o | (any_ok == 0) | (multi == 0)) != 0) for v, o in zip(valid, ok, strict=True)]


def structural_candidates(mb: int) -> tuple[str, ...]:
    """Registers whose structure (ID, reserved and status bits, ranges) fits ``mb``."""
    if mb == 0:
        return ()
    return tuple(code for code, v in zip(BDS_CODES, _VALIDATORS, strict=True) if v(mb))


def _ref_floats(reference: CommBReference | None) -> tuple[float, float, float]:
    if reference is None:
        return _NAN, _NAN, _NAN
    return tuple(  # type: ignore[return-value]
        _NAN if x is None else float(x)
        for x in (reference.altitude_ft, reference.groundspeed_kt, reference.track_deg)
    )


def infer_bds(mb: int, reference: CommBReference | None = None) -> tuple[str, ...]:
    """Candidate registers of a 56-bit MB field after structure and consistency rules.

    One element: the register. Several: ambiguous (all listed). Empty: none fits.
    """
    alt, gs, track = _ref_floats(reference)
    masks = _candidate_masks(mb, alt, gs, track)
    return tuple(code for code, m in zip(BDS_CODES, masks, strict=True) if m)


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


_BY_REGISTER: Final[dict[str, tuple[_Num, ...]]] = {
    "1,0": _R10, "3,0": _R30, "4,0": _R40, "5,0": _R50, "6,0": _R60,
}  # fmt: skip


def _scalar_value(f: _Num, mb: int) -> Any:
    if not f.present(mb):
        return None
    v = f.value(mb)
    return bool(v) if f.kind == "bool" else v


def _threat_scalar(mb: int) -> dict[str, Any]:
    tti = _bits(mb, 28, 2)
    if tti == 1:
        return {"threat_icao24": f"{_bits(mb, 30, 24):06x}"}
    if tti == 2:
        rng, brg = _bits(mb, 43, 7), _bits(mb, 50, 6)
        return {
            "threat_altitude_ft": AC13_FT[_bits(mb, 30, 13)],
            "threat_range_nm": (rng - 1) / 10 if rng > 0 else None,
            "threat_bearing_deg": 6 * (brg - 1) + 3 if brg > 0 else None,
        }
    return {}


def _register_fields(mb: int, bds: str) -> dict[str, Any]:
    """Fields of register ``bds`` decoded from ``mb`` (no validity check)."""
    out: dict[str, Any] = {f.name: _scalar_value(f, mb) for f in _BY_REGISTER.get(bds, ())}
    if bds == "1,7":
        out["supported_bds"] = tuple(c for i, c in enumerate(_CAPABILITY_BDS) if _bits(mb, i, 1))
    elif bds == "2,0":
        out["callsign"] = "".join(
            CALLSIGN_CHARSET[_bits(mb, 8 + 6 * k, 6)] for k in range(8)
        ).strip()
    elif bds == "3,0":
        out.update(_threat_scalar(mb))
    elif bds == "4,0" and _bits(mb, 53, 1):
        out["target_altitude_source"] = _TARGET_SOURCE[_bits(mb, 54, 2)]
    return out


def decode_commb(
    mb: int, reference: CommBReference | None = None, *, bds: str | None = None
) -> CommB:
    """Decode a 56-bit MB field; ``bds`` forces a register (``bds_candidates`` still inferred)."""
    mb = int(mb) & ((1 << 56) - 1)
    candidates = infer_bds(mb, reference)
    chosen = bds if bds is not None else (candidates[0] if len(candidates) == 1 else None)
    if chosen is None:
        return CommB(None, candidates)
    if chosen not in BDS_CODES:
        raise ValueError(f"unsupported BDS register {chosen!r}; supported: {BDS_CODES}")
    return CommB(chosen, candidates, **_register_fields(mb, chosen))


# ---------------------------------------------------------------- columnar path


def _as_float(x: Any, n: int) -> npt.NDArray[np.float64]:
    if x is None:
        return np.full(n, np.nan)
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))


def _make_luts() -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[np.int64]]:
    """bds, candidates and register index for every bit set of candidate registers."""
    size = 1 << len(BDS_CODES)
    bds, cands = np.full(size, None, dtype=object), np.empty(size, dtype=object)
    chosen = np.full(size, -1, dtype=np.int64)
    for c in range(size):
        tup = tuple(b for k, b in enumerate(BDS_CODES) if (c >> k) & 1)
        cands[c] = tup
        if len(tup) == 1:
            bds[c], chosen[c] = tup[0], BDS_CODES.index(tup[0])
    return bds, cands, chosen


_BDS_LUT, _CANDS_LUT, _CHOSEN_LUT = _make_luts()


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
    mb = np.asarray(mb, dtype=np.uint64) & np.uint64((1 << 56) - 1)
    n = mb.shape[0]
    masks = _candidate_masks(
        mb, _as_float(altitude_ft, n), _as_float(groundspeed_kt, n), _as_float(track_deg, n)
    )
    code = np.zeros(n, dtype=np.int64)
    for k, m in enumerate(masks):
        code |= np.asarray(m, dtype=np.int64) << k
    out: dict[str, npt.NDArray[Any]] = {"bds": _BDS_LUT[code], "bds_candidates": _CANDS_LUT[code]}
    chosen = _CHOSEN_LUT[code]
    for f in _NUMERIC:
        rows = chosen == BDS_CODES.index(f.register)
        v = np.asarray(f.value(mb), dtype=np.float64)
        out[f.name] = np.where(rows & f.present(mb), v, np.nan)
    # 1,7 supported registers
    sup = np.full(n, None, dtype=object)
    rows = chosen == 1
    if rows.any():
        caps = _bits(mb[rows], 0, 24)
        sup[rows] = [
            tuple(c for i, c in enumerate(_CAPABILITY_BDS) if (int(w) >> (23 - i)) & 1)
            for w in caps
        ]
    out["supported_bds"] = sup
    # 2,0 callsign
    cs = np.full(n, None, dtype=object)
    rows = chosen == 2
    if rows.any():
        charset = np.frombuffer(CALLSIGN_CHARSET.encode("ascii"), dtype=np.uint8)
        chars = np.stack([charset[_bits(mb[rows], 8 + 6 * k, 6)] for k in range(8)], axis=1)
        cs[rows] = [bytes(r).decode("ascii").strip() for r in chars]
    out["callsign"] = cs
    # 3,0 threat identity
    tti = _bits(mb, 28, 2)
    r30 = chosen == 3
    icao = np.full(n, None, dtype=object)
    rows = r30 & (tti == 1)
    if rows.any():
        icao[rows] = [f"{int(a):06x}" for a in _bits(mb[rows], 30, 24)]
    out["threat_icao24"] = icao
    t2 = r30 & (tti == 2)
    rng, brg = _bits(mb, 43, 7), _bits(mb, 50, 6)
    out["threat_altitude_ft"] = np.where(t2, _AC13_NP_F[_bits(mb, 30, 13)], np.nan)
    out["threat_range_nm"] = np.where(t2 & (rng > 0), (rng - 1) / 10, np.nan)
    out["threat_bearing_deg"] = np.where(t2 & (brg > 0), 6 * (brg - 1) + 3, np.nan)
    # 4,0 target altitude source
    src = np.full(n, None, dtype=object)
    rows = (chosen == 4) & (_bits(mb, 53, 1) == 1)
    src[rows] = _lookup(_TARGET_SOURCE, _TARGET_SOURCE_NP, _bits(mb[rows], 54, 2))
    out["target_altitude_source"] = src
    return {name: out[name] for name in COMMB_FIELDS}


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
