"""ADS-B and Mode S encoder: build DF17/18 extended squitters and DF4/5/11/20/21 replies.

Pure functions returning frame bytes with a correct CRC-24 parity field, for round-trip tests and
simulators. Units are in argument names; quantities are rounded to the nearest value the format
can carry (CPR 17 bits: ~5 m airborne, ~1.3 m surface; altitude 25 ft, or 100 ft Gillham above
50,175 ft; speeds 1 kt; vertical rate 64 ft/min).

ADS-B encoders take ``df`` (17, or 18 for TIS-B/ADS-R/non-transponder) and ``capability``
(the CA field of DF17, the CF field of DF18).
"""

from __future__ import annotations

import math
from typing import Final

from overflight.modes.cpr import cpr_nl
from overflight.modes.crc import crc24
from overflight.modes.fields import AC13_FT, CALLSIGN_CHARSET, MOVEMENT_KT

__all__ = [
    "EMERGENCY_CODES",
    "ac12_code",
    "ac13_code",
    "cpr_encode",
    "encode_airborne_position",
    "encode_aircraft_status",
    "encode_airspeed",
    "encode_df4",
    "encode_df5",
    "encode_df11",
    "encode_df20",
    "encode_df21",
    "encode_identification",
    "encode_operational_status",
    "encode_surface_position",
    "encode_target_state",
    "encode_velocity",
    "id13_code",
]

EMERGENCY_CODES: Final[dict[str, int]] = {
    "none": 0, "general": 1, "lifeguard": 2, "minfuel": 3, "nordo": 4, "unlawful": 5, "downed": 6,
}  # fmt: skip
"""TC28 emergency/priority state codes (DO-260B)."""

_GILLHAM_AC13: Final[dict[int, int]] = {
    alt: code
    for code, alt in enumerate(AC13_FT)
    if alt is not None and not code & 0x50  # M = 0 and Q = 0: Gillham 100 ft code
}


def _address(icao24: str | int) -> int:
    a = int(icao24, 16) if isinstance(icao24, str) else int(icao24)
    if not 0 <= a < 1 << 24:
        raise ValueError(f"address out of range: {icao24!r}")
    return a


def _with_parity(bits: int, nbytes: int, xor: int = 0) -> bytes:
    """Append the 24-bit parity (CRC XOR ``xor``) to ``bits`` (the first ``nbytes - 3`` bytes)."""
    data = bits.to_bytes(nbytes - 3, "big")
    return data + (crc24(data) ^ xor).to_bytes(3, "big")


def _adsb(icao24: str | int, me: int, df: int, capability: int) -> bytes:
    if df not in (17, 18):
        raise ValueError("ADS-B frames are DF17 or DF18")
    return _with_parity((df << 83) | ((capability & 7) << 80) | (_address(icao24) << 56) | me, 14)


# ---------------------------------------------------------------- altitude and identity codes


def ac13_code(altitude_ft: float) -> int:
    """13-bit AC field: 25 ft Q-bit code for -1,000..50,175 ft, else 100 ft Gillham (M = 0)."""
    n = round((altitude_ft + 1000) / 25)
    if 0 <= n < 2048:
        return ((n & 0x7E0) << 2) | ((n & 0x10) << 1) | 0x10 | (n & 0xF)
    alt100 = round(altitude_ft / 100.0) * 100
    if alt100 not in _GILLHAM_AC13:
        raise ValueError(f"altitude {altitude_ft} ft cannot be encoded")
    return _GILLHAM_AC13[alt100]


def ac12_code(altitude_ft: float) -> int:
    """12-bit ADS-B altitude field: the AC13 code without its M bit."""
    ac13 = ac13_code(altitude_ft)
    return ((ac13 >> 1) & 0xFC0) | (ac13 & 0x3F)


def id13_code(squawk: str) -> int:
    """13-bit identity field of a 4-octal-digit squawk (C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2 B4 D4)."""
    if len(squawk) != 4 or any(c not in "01234567" for c in squawk):
        raise ValueError(f"squawk must be 4 octal digits: {squawk!r}")
    a, b, c, d = (int(x) for x in squawk)
    bit = {  # position from the MSB (0) of the 13-bit field
        ("c", 1): 0, ("a", 1): 1, ("c", 2): 2, ("a", 2): 3, ("c", 4): 4, ("a", 4): 5,
        ("b", 1): 7, ("d", 1): 8, ("b", 2): 9, ("d", 2): 10, ("b", 4): 11, ("d", 4): 12,
    }  # fmt: skip
    code = 0
    for name, digit in (("a", a), ("b", b), ("c", c), ("d", d)):
        for w in (1, 2, 4):
            if digit & w:
                code |= 1 << (12 - bit[name, w])
    return code


# ---------------------------------------------------------------- CPR


def _mod(x: float, y: float) -> float:
    return x - y * math.floor(x / y)


def cpr_encode(lat_deg: float, lon_deg: float, odd: bool, surface: bool = False) -> tuple[int, int]:
    """17-bit CPR (lat, lon) of a position (DO-260B A.1.7); surface zones span 90 deg, not 360."""
    i = int(odd)
    nb = 17
    span = 90.0 if surface else 360.0
    dlat = span / (60 - i)
    yz = math.floor((1 << nb) * _mod(lat_deg, dlat) / dlat + 0.5)
    rlat = dlat * (yz / (1 << nb) + math.floor(lat_deg / dlat))
    dlon = span / max(cpr_nl(rlat) - i, 1)
    xz = math.floor((1 << nb) * _mod(lon_deg, dlon) / dlon + 0.5)
    return yz & 0x1FFFF, xz & 0x1FFFF


# ---------------------------------------------------------------- ADS-B messages


def encode_identification(
    icao24: str | int, callsign: str, category: str = "A0", *, df: int = 17, capability: int = 5
) -> bytes:
    """TC 1-4 identification: ``category`` like "A3" (letter A-D gives TC 4-1, digit 0-7)."""
    tc = {"A": 4, "B": 3, "C": 2, "D": 1}[category[0].upper()]
    cat = int(category[1:])
    text = callsign.upper().ljust(8)
    if len(text) > 8:
        raise ValueError(f"callsign longer than 8 characters: {callsign!r}")
    chars = 0
    for ch in text:
        idx = CALLSIGN_CHARSET.find(ch)
        if idx <= 0 or ch == "#":
            raise ValueError(f"character {ch!r} not in the callsign alphabet")
        chars = (chars << 6) | idx
    return _adsb(icao24, (tc << 51) | ((cat & 7) << 48) | chars, df, capability)


def encode_airborne_position(
    icao24: str | int,
    lat_deg: float,
    lon_deg: float,
    altitude_ft: float | None,
    odd: bool,
    *,
    typecode: int = 11,
    surveillance_status: int = 0,
    nic_b: int = 0,
    time_utc: bool = False,
    df: int = 17,
    capability: int = 5,
) -> bytes:
    """TC 9-18 (barometric altitude, AC12) or TC 20-22 (GNSS height, metres) airborne position.

    ``altitude_ft`` None encodes "altitude not available" (0).
    """
    if not (9 <= typecode <= 18 or 20 <= typecode <= 22):
        raise ValueError(f"airborne position type codes are 9-18 and 20-22, not {typecode}")
    if altitude_ft is None:
        alt = 0
    elif typecode >= 20:
        alt = round(altitude_ft / 3.28084)
        if not 0 <= alt <= 4095:
            raise ValueError(f"GNSS height {altitude_ft} ft outside 0..4,095 m")
    else:
        alt = ac12_code(altitude_ft)
    lat, lon = cpr_encode(lat_deg, lon_deg, odd)
    me = (
        (typecode << 51) | ((surveillance_status & 3) << 49) | ((nic_b & 1) << 48) | (alt << 36)
        | (int(time_utc) << 35) | (int(odd) << 34) | (lat << 17) | lon
    )  # fmt: skip
    return _adsb(icao24, me, df, capability)


def _movement_code(groundspeed_kt: float | None) -> int:
    if groundspeed_kt is None:
        return 0
    best, err = 1, math.inf
    for code, kt in enumerate(MOVEMENT_KT):
        if kt is not None and abs(kt - groundspeed_kt) < err:
            best, err = code, abs(kt - groundspeed_kt)
    return best


def encode_surface_position(
    icao24: str | int,
    lat_deg: float,
    lon_deg: float,
    groundspeed_kt: float | None,
    track_deg: float | None,
    odd: bool,
    *,
    typecode: int = 7,
    time_utc: bool = False,
    df: int = 17,
    capability: int = 5,
) -> bytes:
    """TC 5-8 surface position with movement (quantised ground speed) and track (360/128 deg)."""
    if not 5 <= typecode <= 8:
        raise ValueError(f"surface position type codes are 5-8, not {typecode}")
    trk_ok = track_deg is not None
    trk = round(_mod(track_deg, 360.0) * 128 / 360.0) % 128 if track_deg is not None else 0
    lat, lon = cpr_encode(lat_deg, lon_deg, odd, surface=True)
    me = (
        (typecode << 51) | (_movement_code(groundspeed_kt) << 44) | (int(trk_ok) << 43)
        | (trk << 36) | (int(time_utc) << 35) | (int(odd) << 34) | (lat << 17) | lon
    )  # fmt: skip
    return _adsb(icao24, me, df, capability)


def _vertical_bits(vertical_rate_fpm: float | None, source: str, diff_ft: float | None) -> int:
    """The last 21 bits of a TC19 ME: VrSrc, Svr, VR(9), reserved(2), SDif, dAlt(7)."""
    if source not in ("baro", "gnss"):
        raise ValueError("vertical_rate_source is 'baro' or 'gnss'")
    src = 1 if source == "baro" else 0
    if vertical_rate_fpm is None:
        svr, vr = 0, 0
    else:
        svr, vr = int(vertical_rate_fpm < 0), min(round(abs(vertical_rate_fpm) / 64) + 1, 511)
    if diff_ft is None:
        sdif, dalt = 0, 0
    else:
        sdif, dalt = int(diff_ft < 0), min(round(abs(diff_ft) / 25) + 1, 127)
    return (src << 20) | (svr << 19) | (vr << 10) | (sdif << 7) | dalt


def encode_velocity(
    icao24: str | int,
    groundspeed_kt: float,
    track_deg: float,
    vertical_rate_fpm: float | None,
    *,
    vertical_rate_source: str = "baro",
    gnss_baro_diff_ft: float | None = None,
    nac_v: int = 0,
    supersonic: bool = False,
    intent_change: bool = False,
    ifr_capable: bool = False,
    df: int = 17,
    capability: int = 5,
) -> bytes:
    """TC19 subtype 1 (or 2 when ``supersonic``, 4 kt units): ground speed E/W, N/S components."""
    unit = 4.0 if supersonic else 1.0
    rad = math.radians(track_deg)
    v_ew = groundspeed_kt * math.sin(rad)
    v_ns = groundspeed_kt * math.cos(rad)
    s_ew, ew = int(v_ew < 0), min(round(abs(v_ew) / unit) + 1, 1023)
    s_ns, ns = int(v_ns < 0), min(round(abs(v_ns) / unit) + 1, 1023)
    me = (
        (19 << 51) | ((2 if supersonic else 1) << 48) | (int(intent_change) << 47)
        | (int(ifr_capable) << 46) | ((nac_v & 7) << 43) | (s_ew << 42) | (ew << 32)
        | (s_ns << 31) | (ns << 21)
        | _vertical_bits(vertical_rate_fpm, vertical_rate_source, gnss_baro_diff_ft)
    )  # fmt: skip
    return _adsb(icao24, me, df, capability)


def encode_airspeed(
    icao24: str | int,
    airspeed_kt: float,
    heading_deg: float | None,
    vertical_rate_fpm: float | None,
    *,
    airspeed_type: str = "TAS",
    vertical_rate_source: str = "baro",
    gnss_baro_diff_ft: float | None = None,
    nac_v: int = 0,
    supersonic: bool = False,
    df: int = 17,
    capability: int = 5,
) -> bytes:
    """TC19 subtype 3 (or 4 when ``supersonic``): airspeed (IAS/TAS) and magnetic heading."""
    if airspeed_type not in ("IAS", "TAS"):
        raise ValueError("airspeed_type is 'IAS' or 'TAS'")
    unit = 4.0 if supersonic else 1.0
    hdg_ok = heading_deg is not None
    hdg = round(_mod(heading_deg, 360.0) * 1024 / 360.0) % 1024 if heading_deg is not None else 0
    spd = min(round(airspeed_kt / unit) + 1, 1023)
    me = (
        (19 << 51) | ((4 if supersonic else 3) << 48) | ((nac_v & 7) << 43) | (int(hdg_ok) << 42)
        | (hdg << 32) | (int(airspeed_type == "TAS") << 31) | (spd << 21)
        | _vertical_bits(vertical_rate_fpm, vertical_rate_source, gnss_baro_diff_ft)
    )  # fmt: skip
    return _adsb(icao24, me, df, capability)


def encode_aircraft_status(
    icao24: str | int, squawk: str, emergency: str | int = "none", *, df: int = 17,
    capability: int = 5,
) -> bytes:  # fmt: skip
    """TC28 subtype 1: emergency/priority state (name or code 0-7) and squawk."""
    state = EMERGENCY_CODES[emergency] if isinstance(emergency, str) else emergency
    me = (28 << 51) | (1 << 48) | ((state & 7) << 45) | (id13_code(squawk) << 32)
    return _adsb(icao24, me, df, capability)


def encode_target_state(
    icao24: str | int,
    *,
    selected_altitude_ft: float | None = None,
    selected_altitude_source: str = "MCP/FCU",
    baro_setting_hpa: float | None = None,
    selected_heading_deg: float | None = None,
    nac_p: int = 0,
    nic_baro: int = 0,
    sil: int = 0,
    sil_supplement: int = 0,
    autopilot: bool | None = None,
    vnav: bool = False,
    alt_hold: bool = False,
    approach: bool = False,
    lnav: bool = False,
    tcas: bool = True,
    df: int = 17,
    capability: int = 5,
) -> bytes:
    """TC29 subtype 1 (ADS-B v2 target state and status); mode flags sent when ``autopilot`` set."""
    alt = 0 if selected_altitude_ft is None else min(round(selected_altitude_ft / 32) + 1, 2047)
    baro = 0 if baro_setting_hpa is None else min(round((baro_setting_hpa - 800) / 0.8) + 1, 511)
    hdg_ok = selected_heading_deg is not None
    hdg = 0
    if selected_heading_deg is not None:
        hdg = round(_mod(selected_heading_deg, 360.0) * 512 / 360.0) % 512
    modes = autopilot is not None
    me = (
        (29 << 51) | (1 << 49) | ((sil_supplement & 1) << 48)
        | (int(selected_altitude_source == "FMS") << 47) | (alt << 36) | (baro << 27)
        | (int(hdg_ok) << 26) | (hdg << 17) | ((nac_p & 15) << 13) | ((nic_baro & 1) << 12)
        | ((sil & 3) << 10) | (int(modes) << 9) | (int(bool(autopilot)) << 8)
        | (int(modes and vnav) << 7) | (int(modes and alt_hold) << 6)
        | (int(modes and approach) << 4) | (int(tcas) << 3) | (int(modes and lnav) << 2)
    )  # fmt: skip
    return _adsb(icao24, me, df, capability)


def encode_operational_status(
    icao24: str | int,
    *,
    version: int = 2,
    surface: bool = False,
    capability_class: int = 0,
    operational_mode: int = 0,
    nic_supplement_a: int = 0,
    nic_supplement_c: int = 0,
    nac_p: int = 0,
    gva: int = 0,
    sil: int = 0,
    nic_baro: int = 0,
    hrd: int = 0,
    sil_supplement: int = 0,
    df: int = 17,
    capability: int = 5,
) -> bytes:
    """TC31 operational status, subtype 0 (airborne) or 1 (surface).

    ``capability_class``: the 16 raw CC bits (surface: 12 bits, length/width code in the low
    4 bits of the 16); ``nic_supplement_c`` (surface, v2) is CC bit 20 of the ME.
    """
    cc = capability_class & 0xFFFF
    if surface:
        cc = (cc & ~(1 << 4)) | ((nic_supplement_c & 1) << 4)
    me = (
        (31 << 51) | (int(surface) << 48) | (cc << 32) | ((operational_mode & 0xFFFF) << 16)
        | ((version & 7) << 13) | ((nic_supplement_a & 1) << 12) | ((nac_p & 15) << 8)
        | ((0 if surface else gva & 3) << 6) | ((sil & 3) << 4)
        | ((0 if surface else nic_baro & 1) << 3) | ((hrd & 1) << 2) | ((sil_supplement & 1) << 1)
    )  # fmt: skip
    return _adsb(icao24, me, df, capability)


# ---------------------------------------------------------------- surveillance replies


def encode_df11(icao24: str | int, capability: int = 5, interrogator: int = 0) -> bytes:
    """DF11 all-call reply; parity = CRC XOR interrogator code (II/SI, 0 for spontaneous)."""
    bits = (11 << 51) | ((capability & 7) << 48) | (_address(icao24) << 24)
    return _with_parity(bits >> 24, 7, interrogator & 0x7F)


def _short_or_long(df: int, flight_status: int, dr: int, um: int, field13: int) -> int:
    fs = flight_status & 7
    return (df << 27) | (fs << 24) | ((dr & 31) << 19) | ((um & 63) << 13) | field13


def encode_df4(
    icao24: str | int, altitude_ft: float | None, *, flight_status: int = 0, dr: int = 0,
    um: int = 0,
) -> bytes:  # fmt: skip
    """DF4 altitude reply; AP = CRC XOR address."""
    ac = 0 if altitude_ft is None else ac13_code(altitude_ft)
    return _with_parity(_short_or_long(4, flight_status, dr, um, ac), 7, _address(icao24))


def encode_df5(
    icao24: str | int, squawk: str, *, flight_status: int = 0, dr: int = 0, um: int = 0
) -> bytes:
    """DF5 identity reply; AP = CRC XOR address."""
    head = _short_or_long(5, flight_status, dr, um, id13_code(squawk))
    return _with_parity(head, 7, _address(icao24))


def encode_df20(
    icao24: str | int, altitude_ft: float | None, mb: int, *, flight_status: int = 0, dr: int = 0,
    um: int = 0,
) -> bytes:  # fmt: skip
    """DF20 Comm-B altitude reply carrying the 56-bit ``mb``; AP = CRC XOR address."""
    ac = 0 if altitude_ft is None else ac13_code(altitude_ft)
    head = _short_or_long(20, flight_status, dr, um, ac)
    return _with_parity((head << 56) | (mb & ((1 << 56) - 1)), 14, _address(icao24))


def encode_df21(
    icao24: str | int, squawk: str, mb: int, *, flight_status: int = 0, dr: int = 0, um: int = 0
) -> bytes:
    """DF21 Comm-B identity reply carrying the 56-bit ``mb``; AP = CRC XOR address."""
    head = _short_or_long(21, flight_status, dr, um, id13_code(squawk))
    return _with_parity((head << 56) | (mb & ((1 << 56) - 1)), 14, _address(icao24))
