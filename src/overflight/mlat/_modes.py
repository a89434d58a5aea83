"""The few Mode S fields multilateration needs: address, altitude, and ADS-B airborne position.

Kept private and minimal (the full decoder lives in ``overflight.modes``): ICAO address from
DF17/18's AA field or from address/parity, 13-bit (DF0/4/16/20) and 12-bit (DF17/18) altitude
with the 25 ft Q-bit encoding, and locally unambiguous CPR decoding against a nearby reference.
Frames that do not fit return ``None``.
"""

from __future__ import annotations

import math

from overflight.modes.crc import syndrome

__all__ = ["adsb_position", "altitude_ft", "cpr_encode", "df", "icao24"]


def df(frame: bytes) -> int:
    """Downlink format (0-24; 24+ collapsed to 24)."""
    return min(frame[0] >> 3, 24)


def icao24(frame: bytes) -> str | None:
    """Aircraft address as 6 lowercase hex digits, or None (bad CRC on DF17/18, unknown DF)."""
    d = df(frame)
    if d in (17, 18) and len(frame) == 14:
        if syndrome(frame) != 0:
            return None
        return frame[1:4].hex()
    if d in (0, 4, 5, 16, 20, 21) and len(frame) == (14 if d >= 16 else 7):
        return f"{syndrome(frame):06x}"
    if d == 11 and len(frame) == 7:
        return frame[1:4].hex() if (syndrome(frame) & 0xFFFF80) == 0 else None
    return None


def altitude_ft(frame: bytes) -> float | None:
    """Barometric altitude in feet from DF0/4/16/20 (AC13) or DF17/18 airborne position (AC12).

    Only the 25 ft (Q=1) encoding is decoded; Gillham and metric codes return None.
    """
    d = df(frame)
    if d in (0, 4, 16, 20):
        ac13 = ((frame[2] & 0x1F) << 8) | frame[3]
        if ac13 == 0 or ac13 & 0x40 or not ac13 & 0x10:  # M bit set or Q=0
            return None
        n = ((ac13 & 0x1F80) >> 2) | ((ac13 & 0x20) >> 1) | (ac13 & 0x0F)
        return n * 25.0 - 1000.0
    if d in (17, 18) and len(frame) == 14:
        tc = frame[4] >> 3
        if not (9 <= tc <= 18):
            return None
        ac12 = (frame[5] << 4) | (frame[6] >> 4)
        if ac12 == 0 or not ac12 & 0x10:
            return None
        n = ((ac12 & 0xFE0) >> 1) | (ac12 & 0x0F)
        return n * 25.0 - 1000.0
    return None


def _nl(lat: float) -> int:
    if abs(lat) >= 87.0:
        return 1 if abs(lat) > 87.0 else 2
    a = 1 - math.cos(math.pi / 30)
    return math.floor(2 * math.pi / math.acos(1 - a / math.cos(math.radians(lat)) ** 2))


def adsb_position(
    frame: bytes, ref_lat_deg: float, ref_lon_deg: float
) -> tuple[float, float, int] | None:
    """(lat deg, lon deg, type code) of a DF17/18 airborne position (TC 9-18), decoded locally.

    The reference must be within ~180 NM of the aircraft (a receiver's position is). None when
    the frame is not an airborne position with a clean CRC.
    """
    if df(frame) not in (17, 18) or len(frame) != 14 or syndrome(frame) != 0:
        return None
    tc = frame[4] >> 3
    if not (9 <= tc <= 18):
        return None
    me = int.from_bytes(frame[4:11], "big")
    odd = (me >> 34) & 1
    lat_cpr = ((me >> 17) & 0x1FFFF) / 131072.0
    lon_cpr = (me & 0x1FFFF) / 131072.0
    dlat = 360.0 / (60 - odd)
    j = math.floor(ref_lat_deg / dlat) + math.floor(0.5 + (ref_lat_deg % dlat) / dlat - lat_cpr)
    lat = dlat * (j + lat_cpr)
    nl = _nl(lat) - odd
    dlon = 360.0 / max(nl, 1)
    m = math.floor(ref_lon_deg / dlon) + math.floor(0.5 + (ref_lon_deg % dlon) / dlon - lon_cpr)
    lon = dlon * (m + lon_cpr)
    return lat, lon, tc


def cpr_encode(lat_deg: float, lon_deg: float, odd: int) -> tuple[int, int]:
    """17-bit airborne CPR encoding (lat, lon) of a position, even (0) or odd (1) format."""
    dlat = 360.0 / (60 - odd)
    yz = math.floor(131072 * ((lat_deg % dlat) / dlat) + 0.5)
    rlat = dlat * (yz / 131072 + math.floor(lat_deg / dlat))
    nl = _nl(rlat) - odd
    dlon = 360.0 / max(nl, 1)
    xz = math.floor(131072 * ((lon_deg % dlon) / dlon) + 0.5)
    return yz & 0x1FFFF, xz & 0x1FFFF
