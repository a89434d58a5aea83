"""Scalar decoding: one frame in, one :class:`~overflight.modes.message.Message` out."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import fields as dc_fields
from functools import lru_cache
from typing import Any

from overflight.modes import adsb
from overflight.modes import commb as _commb
from overflight.modes.crc import SYNDROME_BIT_56, SYNDROME_BIT_112, frame_syndrome
from overflight.modes.errors import DecodeError
from overflight.modes.fields import (
    AC13_FT,
    CALLSIGN_CHARSET,
    EMERGENCY_STATES,
    ID13_SQUAWK,
    MOVEMENT_KT,
    SIL_TYPES,
    ac12_to_ac13,
    airborne_nic,
    nucp_from_typecode,
    surface_nic,
)
from overflight.modes.message import MESSAGE_FIELDS, Message, build_message

__all__ = ["clear_caches", "decode", "frame_bytes", "source_of"]


_HEADER_ONLY = frozenset({"df", "icao24", "address", "crc_ok", "time_s", "bds", "bds_candidates"})


def _commb_copy_fields() -> tuple[str, ...]:
    names = {f.name for f in dc_fields(_commb.CommB)}
    return tuple(n for n in MESSAGE_FIELDS if n in names and n not in _HEADER_ONLY)


COMMB_COPY_FIELDS: tuple[str, ...] = _commb_copy_fields()
"""Comm-B record fields copied into :class:`Message` fields of the same name (when not set)."""

_STRIP = " \t\r\n*;"
_AP_DFS = frozenset({0, 4, 5, 16, 20, 21, 24})
_CF_SOURCE = ("adsb", "adsb", "tisb", "tisb", "tisb", "tisb", "adsr", None)
_CF_NON_ICAO: tuple[bool | None, ...] = (False, True, None, None, None, True, None, None)


def source_of(df: int, cf: int) -> str:
    """"adsb", "tisb", "adsr" or "modes" for a DF and (DF18) its control field."""
    if df == 17:
        return "adsb"
    if df == 18:
        return _CF_SOURCE[cf] or "adsb"
    return "modes"


def frame_bytes(frame: str | bytes | bytearray | memoryview) -> bytes:
    """The frame's bytes, cut to the length its DF implies; raises :class:`DecodeError`.

    Hex text may be upper or lower case and wrapped as ``*...;`` (AVR); 28 hex digits of a
    short (DF0-15) reply are cut to 14 (as ``modes-traffic-samples`` stores them).
    """
    if isinstance(frame, str):
        try:
            raw = bytes.fromhex(frame)
        except ValueError:
            s = "".join(frame.strip(_STRIP).split())
            if not s:
                raise DecodeError("empty frame") from None
            if len(s) % 2:
                raise DecodeError(f"odd number of hex digits ({len(s)}): {frame!r:.40}") from None
            try:
                raw = bytes.fromhex(s)
            except ValueError:
                raise DecodeError(f"non-hex text in frame: {frame!r:.40}") from None
    elif isinstance(frame, bytes | bytearray | memoryview):
        raw = bytes(frame)
    else:
        raise DecodeError(f"frame must be str or bytes, not {type(frame).__name__}")
    n = len(raw)
    if n == 0:
        raise DecodeError("empty frame")
    long_df = raw[0] >= 0x80  # DF 16-31
    if n == 14:
        return raw if long_df else raw[:7]
    if n == 7:
        if long_df:
            raise DecodeError(f"DF{_df(raw[0])} needs 14 bytes, got 7")
        return raw
    raise DecodeError(f"bad frame length: {n} bytes (expected 7 or 14)")


def _df(first: int) -> int:
    df = first >> 3
    return 24 if df >= 24 else df


def decode(
    frame: str | bytes,
    *,
    time_s: float | None = None,
    fix: bool = True,
    known_addresses: Collection[int] | None = None,
) -> Message:
    """Decode one Mode S frame (hex text or bytes, 7 or 14 bytes) into a :class:`Message`.

    ``fix`` corrects a 1-bit error in DF11/17/18 (``corrected_bits`` says so). ``known_addresses``
    (e.g. an :class:`~overflight.modes.correct.AddressFilter`) checks addresses recovered from
    parity; an ``AddressFilter`` is also updated with the address of a clean DF11/17/18.
    Raises :class:`DecodeError` for input that is not a frame; a CRC failure is ``crc_ok=False``.
    """
    raw = frame_bytes(frame)
    nbytes = len(raw)
    nbits = nbytes * 8
    value = int.from_bytes(raw, "big")
    syn = frame_syndrome(raw)
    df = raw[0] >> 3
    if df > 24:
        df = 24
    corrected = 0
    if df in (11, 17, 18) and syn and fix and (df != 11 or syn & 0xFFFF80):
        bit = (SYNDROME_BIT_112 if nbits == 112 else SYNDROME_BIT_56).get(syn)
        if bit is not None:
            value ^= 1 << (nbits - 1 - bit)
            syn = 0
            corrected = 1
    if nbytes == 14:
        head = value >> 80
        me = (value >> 24) & 0xFFFFFFFFFFFFFF
    else:
        head = value >> 24
        me = 0
    kw: dict[str, Any] = {"df": df, "time_s": time_s, "corrected_bits": corrected}
    crc_ok: bool | None
    if df in (11, 17, 18):
        address = head & 0xFFFFFF
        crc_ok = syn == 0 or (df == 11 and not syn & 0xFFFF80)
        if df == 11:
            kw["interrogator_id"] = syn if crc_ok else None
        if crc_ok and not corrected and known_addresses is not None:
            confirm = getattr(known_addresses, "confirm", None)
            if confirm is not None and (df != 18 or (head >> 24) & 7 == 0):
                confirm(address, time_s)
    else:
        address = syn
        kw["address_from_parity"] = df in _AP_DFS
        crc_ok = None if known_addresses is None else address in known_addresses
    kw["address"] = address
    kw["icao24"] = f"{address:06x}"
    kw["crc_ok"] = crc_ok
    ca = (head >> 24) & 7
    if df in (0, 16):
        vs = (head >> 26) & 1
        kw["on_ground"] = bool(vs)
        kw["sensitivity_level"] = (head >> 21) & 7
        kw["reply_information"] = (head >> 15) & 0xF
        kw["altitude_ft"] = AC13_FT[head & 0x1FFF]
        kw["source"] = "modes"
        kw["non_icao"] = False
    elif df in (4, 5, 20, 21):
        _flight_status(kw, ca)
        kw["downlink_request"] = (head >> 19) & 0x1F
        kw["utility_message"] = (head >> 13) & 0x3F
        if df in (4, 20):
            kw["altitude_ft"] = AC13_FT[head & 0x1FFF]
        else:
            kw["squawk"] = ID13_SQUAWK[head & 0x1FFF]
        kw["source"] = "modes"
        kw["non_icao"] = False
        if df >= 20:
            _add_commb(kw, me, kw.get("altitude_ft"))
    elif df == 11:
        _capability(kw, ca)
        kw["source"] = "modes"
        kw["non_icao"] = False
    elif df == 17:
        _capability(kw, ca)
        kw["source"] = "adsb"
        kw["non_icao"] = False
        _decode_me(kw, me)
    elif df == 18:
        kw["capability"] = ca  # the control field CF
        kw["source"] = _CF_SOURCE[ca] or "adsb"
        kw["non_icao"] = _CF_NON_ICAO[ca]
        if ca in (0, 1, 2, 5, 6):
            _decode_me(kw, me)
    else:
        kw["source"] = "modes"
    return build_message(kw)


def _capability(kw: dict[str, Any], ca: int) -> None:
    kw["capability"] = ca
    if ca == 4:
        kw["on_ground"] = True
    elif ca == 5:
        kw["on_ground"] = False


def _flight_status(kw: dict[str, Any], fs: int) -> None:
    kw["flight_status"] = fs
    kw["on_ground"] = True if fs in (1, 3) else False if fs in (0, 2) else None
    kw["alert"] = fs in (2, 3, 4)
    kw["spi"] = fs in (4, 5)


@lru_cache(maxsize=8192)
def _commb_record(mb: int, altitude_ft: int | None) -> tuple[Any, tuple[tuple[str, Any], ...]]:
    """The Comm-B record of an MB field (DF20: with its altitude as inference reference), and
    its non-None fields that :class:`Message` also has (copied into the message).

    A pure function of its arguments, cached: transponders repeat the same register contents
    (62% of the DF20/21 replies of a real CDG-Toulouse flight repeat an earlier (MB, altitude)).
    """
    ref = None if altitude_ft is None else _commb.CommBReference(altitude_ft=float(altitude_ft))
    rec = _commb.decode_commb(mb, ref)
    copy = tuple(
        (name, v) for name in COMMB_COPY_FIELDS if (v := getattr(rec, name)) is not None
    )
    return rec, copy


def clear_caches() -> None:
    """Forget cached Comm-B records (for benchmarks measuring a cold start)."""
    _commb_record.cache_clear()


def _add_commb(kw: dict[str, Any], mb: int, altitude_ft: int | None) -> None:
    rec, copy = _commb_record(mb, altitude_ft)
    kw["commb"] = rec
    kw["bds"] = rec.bds
    kw["bds_candidates"] = rec.bds_candidates
    for name, v in copy:
        if kw.get(name) is None:
            kw[name] = v


def _decode_me(kw: dict[str, Any], me: int) -> None:
    """ADS-B type codes: add the ME field's quantities to ``kw``."""
    tc = me >> 51
    kw["typecode"] = tc
    if 9 <= tc <= 18 or 20 <= tc <= 22:
        ss = adsb.airborne_surveillance_status(me)
        nic_b = adsb.airborne_nic_b(me)
        code = adsb.airborne_altitude_code(me)
        if tc <= 18:
            kw["altitude_ft"] = AC13_FT[ac12_to_ac13(code)]
        elif code:
            kw["altitude_gnss_ft"] = adsb.gnss_altitude_ft(code)
        kw["alert"] = ss in (1, 2)
        kw["spi"] = ss == 3
        kw["on_ground"] = False
        kw["surface"] = False
        kw["nic_supplement_b"] = nic_b
        kw["cpr_odd"] = bool(adsb.cpr_format_odd(me))
        kw["cpr_lat"] = adsb.cpr_lat(me)
        kw["cpr_lon"] = adsb.cpr_lon(me)
        kw["nuc_p"] = nucp_from_typecode(tc)
        nic = airborne_nic(tc, 0, nic_b)
        if nic is not None:
            kw["nic"], kw["containment_radius_m"] = nic
    elif tc == 19:
        st = adsb.velocity_subtype(me)
        kw["velocity_subtype"] = st
        kw["nac_v"] = adsb.velocity_nac_v(me)
        if st in (1, 2):
            ew = adsb.velocity_ew(me)
            ns = adsb.velocity_ns(me)
            if ew and ns:
                k = 4 if st == 2 else 1
                vx = (ew - 1) * k * (1 - 2 * adsb.velocity_ew_sign(me))
                vy = (ns - 1) * k * (1 - 2 * adsb.velocity_ns_sign(me))
                kw["groundspeed_kt"] = math.sqrt(vx * vx + vy * vy)
                trk = math.degrees(math.atan2(vx, vy))
                kw["track_deg"] = trk + 360.0 if trk < 0 else trk
        elif st in (3, 4):
            if adsb.heading_status(me):
                kw["heading_deg"] = adsb.velocity_heading_deg(adsb.heading_raw(me))
            raw = adsb.airspeed_raw(me)
            if raw:
                kw["airspeed_kt"] = adsb.airspeed_kt(raw, st)
            kw["airspeed_type"] = "TAS" if adsb.airspeed_type_tas(me) else "IAS"
        if 1 <= st <= 4:
            vr = adsb.vertical_rate_raw(me)
            kw["vertical_rate_source"] = "baro" if adsb.vertical_rate_source_baro(me) else "gnss"
            if vr:
                kw["vertical_rate_fpm"] = adsb.vertical_rate_fpm(adsb.vertical_rate_sign(me), vr)
            diff = adsb.gnss_baro_diff_raw(me)
            if diff and diff != 127:
                kw["gnss_baro_diff_ft"] = adsb.gnss_baro_diff_ft(adsb.gnss_baro_diff_sign(me), diff)
        kw["on_ground"] = False
    elif 1 <= tc <= 4:
        kw["category"] = f"{'DCBA'[tc - 1]}{adsb.emitter_ca(me)}"
        cs = CALLSIGN_CHARSET
        bits = me & 0xFFFFFFFFFFFF
        kw["callsign"] = "".join(
            [cs[(bits >> s) & 0x3F] for s in (42, 36, 30, 24, 18, 12, 6, 0)]
        ).strip()
    elif 5 <= tc <= 8:
        kw["on_ground"] = True
        kw["surface"] = True
        kw["groundspeed_kt"] = MOVEMENT_KT[adsb.surface_movement(me)]
        if adsb.surface_track_status(me):
            kw["track_deg"] = adsb.surface_track_deg(adsb.surface_track_raw(me))
        kw["cpr_odd"] = bool(adsb.cpr_format_odd(me))
        kw["cpr_lat"] = adsb.cpr_lat(me)
        kw["cpr_lon"] = adsb.cpr_lon(me)
        kw["nuc_p"] = nucp_from_typecode(tc)
        nic = surface_nic(tc, 0, 0)
        if nic is not None:
            kw["nic"], kw["containment_radius_m"] = nic
    elif tc == 28:
        st = adsb.emergency_subtype(me)
        if st == 1:
            kw["emergency_state"] = EMERGENCY_STATES[adsb.emergency_code(me)]
            kw["squawk"] = ID13_SQUAWK[adsb.squawk_id13(me)]
    elif tc == 29:
        _target_state(kw, me)
    elif tc == 31:
        _operational_status(kw, me)


def _target_state(kw: dict[str, Any], me: int) -> None:
    st = adsb.target_state_subtype(me)
    if st == 1:
        alt = adsb.ts2_selected_altitude_raw(me)
        if alt:
            kw["selected_altitude_ft"] = adsb.ts2_selected_altitude_ft(alt)
            kw["selected_altitude_source"] = (
                "FMS" if adsb.ts2_selected_altitude_source_fms(me) else "MCP/FCU"
            )
        baro = adsb.ts2_baro_raw(me)
        if baro:
            kw["baro_setting_hpa"] = adsb.ts2_baro_setting_hpa(baro)
        if adsb.ts2_heading_status(me):
            kw["selected_heading_deg"] = adsb.ts2_heading_deg(adsb.ts2_heading_raw(me))
        kw["nac_p"] = adsb.ts2_nac_p(me)
        kw["nic_baro"] = adsb.ts2_nic_baro(me)
        kw["sil"] = adsb.ts2_sil(me)
        kw["sil_type"] = SIL_TYPES[adsb.ts2_sil_supplement(me)]
        if adsb.ts2_mode_status(me):
            kw["autopilot"] = bool(adsb.ts2_autopilot(me))
            kw["vnav"] = bool(adsb.ts2_vnav(me))
            kw["alt_hold"] = bool(adsb.ts2_altitude_hold(me))
            kw["approach"] = bool(adsb.ts2_approach(me))
            kw["lnav"] = bool(adsb.ts2_lnav(me))
        kw["tcas"] = bool(adsb.ts2_tcas(me))
        kw["adsb_version"] = 2
    elif st == 0:
        if adsb.ts1_vertical_source(me):
            kw["selected_altitude_ft"] = adsb.ts1_target_altitude_raw(me) * 100 - 1000
        if adsb.ts1_horizontal_source(me):
            kw["selected_heading_deg"] = float(adsb.ts1_heading_raw(me))
        kw["nac_p"] = adsb.ts1_nac_p(me)
        kw["nic_baro"] = adsb.ts1_nic_baro(me)
        kw["sil"] = adsb.ts1_sil(me)
        kw["adsb_version"] = 1


def _operational_status(kw: dict[str, Any], me: int) -> None:
    st = adsb.opstatus_subtype(me)
    version = adsb.opstatus_version(me)
    kw["adsb_version"] = version
    if st > 1:
        return
    if version >= 1:
        kw["nic_supplement_a"] = adsb.opstatus_nic_a(me)
        kw["nac_p"] = adsb.opstatus_nac_p(me)
        kw["sil"] = adsb.opstatus_sil(me)
        if version == 2:
            kw["sil_type"] = SIL_TYPES[adsb.opstatus_sil_supplement(me)]
        if st == 0:
            kw["nic_baro"] = adsb.opstatus_nic_baro(me)
            if version == 2:
                kw["gva"] = adsb.opstatus_gva(me)
        elif version == 2:
            kw["nic_supplement_c"] = adsb.opstatus_nic_c(me)
    if st == 1:
        kw["on_ground"] = True
