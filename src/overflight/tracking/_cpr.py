"""CPR decoding compiled for the tracking kernel (numba cannot call back into Python).

The same mathematics as :mod:`overflight.modes.cpr`, which stays the one definition: these
copies exist because (1) the per-aircraft kernel is compiled by numba and cannot call Python
functions, and ``modes.cpr``'s functions do not compile as they are (``tuple | None`` results,
``min(..., key=...)``), and that module is not ours to change; (2) the kernel needs *why* a pair
failed (zone boundary: wait for the next pair; impossible latitude: bad data that costs
reliability), which ``modes.cpr`` folds into ``None``; (3) numba's on-disk cache does not notice
edits in another module, so jitting ``modes.cpr`` helpers into the cached kernel could silently
keep stale code. ``tests/tracking/test_cpr.py`` checks both agree on every real position frame of
``full_flight_short`` and on random CPR values (scalar and vectorised ``modes.cpr``).

Angles in degrees, CPR fields as 17-bit integers. Failures return NaN latitude and a status.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from overflight.geo import bearing_deg_scalar as bearing_deg
from overflight.geo import haversine_m_scalar as greatcircle_m

__all__ = [
    "bearing_deg",
    "cpr_nl",
    "global_airborne",
    "global_surface",
    "greatcircle_m",
    "local",
    "surface_candidates",
]

_NZ = 15
_CPR_SCALE = 131072.0


@numba.njit(cache=True, nogil=True)
def cpr_nl(lat: float) -> int:
    """Number of longitude zones at latitude ``lat`` (degrees)."""
    a = abs(lat)
    if a < 1e-9:
        return 59
    if abs(a - 87.0) < 1e-9:
        return 2
    if a > 87.0:
        return 1
    num = 1.0 - math.cos(math.pi / (2.0 * _NZ))
    den = math.cos(math.pi / 180.0 * a) ** 2
    return math.floor(2.0 * math.pi / math.acos(1.0 - num / den))


@numba.njit(cache=True, nogil=True)
def _pmod(a: float, b: float) -> float:
    r = a - b * math.floor(a / b)
    return r


@numba.njit(cache=True, nogil=True)
def global_airborne(
    lat_e: int, lon_e: int, lat_o: int, lon_o: int, odd_latest: bool
) -> tuple[float, float, int]:
    """Global airborne decode of an even/odd pair. Returns (lat, lon, status).

    status 0: ok; -1: the pair straddles a latitude zone boundary (try later);
    -2: impossible result (bad data).
    """
    ye = lat_e / _CPR_SCALE
    yo = lat_o / _CPR_SCALE
    xe = lon_e / _CPR_SCALE
    xo = lon_o / _CPR_SCALE
    j = math.floor(59.0 * ye - 60.0 * yo + 0.5)
    rlat_e = (360.0 / 60.0) * (_pmod(j, 60.0) + ye)
    rlat_o = (360.0 / 59.0) * (_pmod(j, 59.0) + yo)
    if rlat_e >= 270.0:
        rlat_e -= 360.0
    if rlat_o >= 270.0:
        rlat_o -= 360.0
    if rlat_e < -90.0 or rlat_e > 90.0 or rlat_o < -90.0 or rlat_o > 90.0:
        return math.nan, math.nan, -2
    nl = cpr_nl(rlat_e)
    if nl != cpr_nl(rlat_o):
        return math.nan, math.nan, -1
    if odd_latest:
        ni = max(nl - 1, 1)
        m = math.floor(xe * (nl - 1) - xo * nl + 0.5)
        lat = rlat_o
        lon = (360.0 / ni) * (_pmod(m, ni) + xo)
    else:
        ni = max(nl, 1)
        m = math.floor(xe * (nl - 1) - xo * nl + 0.5)
        lat = rlat_e
        lon = (360.0 / ni) * (_pmod(m, ni) + xe)
    lon -= math.floor((lon + 180.0) / 360.0) * 360.0
    return lat, lon, 0


@numba.njit(cache=True, nogil=True)
def global_surface(
    lat_e: int, lon_e: int, lat_o: int, lon_o: int, odd_latest: bool, ref_lat: float, ref_lon: float
) -> tuple[float, float, int]:
    """Global surface decode of an even/odd pair, ambiguity resolved toward the reference.

    Returns (lat, lon, status) with the status codes of :func:`global_airborne`.
    """
    ye = lat_e / _CPR_SCALE
    yo = lat_o / _CPR_SCALE
    xe = lon_e / _CPR_SCALE
    xo = lon_o / _CPR_SCALE
    j = math.floor(59.0 * ye - 60.0 * yo + 0.5)
    rlat_e = (90.0 / 60.0) * (_pmod(j, 60.0) + ye)
    rlat_o = (90.0 / 59.0) * (_pmod(j, 59.0) + yo)
    # northern solution, or the southern one when that is nearer the reference
    if rlat_e - ref_lat > 45.0:
        rlat_e -= 90.0
    if rlat_o - ref_lat > 45.0:
        rlat_o -= 90.0
    if rlat_e < -90.0 or rlat_e > 90.0 or rlat_o < -90.0 or rlat_o > 90.0:
        return math.nan, math.nan, -2
    nl = cpr_nl(rlat_e)
    if nl != cpr_nl(rlat_o):
        return math.nan, math.nan, -1
    if odd_latest:
        ni = max(nl - 1, 1)
        m = math.floor(xe * (nl - 1) - xo * nl + 0.5)
        lat = rlat_o
        lon = (90.0 / ni) * (_pmod(m, ni) + xo)
    else:
        ni = max(nl, 1)
        m = math.floor(xe * (nl - 1) - xo * nl + 0.5)
        lat = rlat_e
        lon = (90.0 / ni) * (_pmod(m, ni) + xe)
    lon += math.floor((ref_lon - lon + 45.0) / 90.0) * 90.0
    lon -= math.floor((lon + 180.0) / 360.0) * 360.0
    return lat, lon, 0


@numba.njit(cache=True, nogil=True)
def surface_candidates(
    lat_e: int,
    lon_e: int,
    lat_o: int,
    lon_o: int,
    odd_latest: bool,
    out_lat: npt.NDArray[np.float64],
    out_lon: npt.NDArray[np.float64],
) -> int:
    """Every position an even/odd surface pair can mean, without a reference.

    Surface CPR repeats every 90 degrees: two latitudes (northern and southern hemisphere) and,
    for each, four longitudes 90 degrees apart. Writes them to ``out_lat``/``out_lon`` (length 8)
    and returns their number (8), or -1 when either hemisphere's pair straddles a longitude zone
    boundary (then no candidate is safe: wait for the next pair).
    """
    ye = lat_e / _CPR_SCALE
    yo = lat_o / _CPR_SCALE
    xe = lon_e / _CPR_SCALE
    xo = lon_o / _CPR_SCALE
    j = math.floor(59.0 * ye - 60.0 * yo + 0.5)
    rlat_e = (90.0 / 60.0) * (_pmod(j, 60.0) + ye)
    rlat_o = (90.0 / 59.0) * (_pmod(j, 59.0) + yo)
    k = 0
    for south in (False, True):
        le = rlat_e - 90.0 if south else rlat_e
        lo = rlat_o - 90.0 if south else rlat_o
        nl = cpr_nl(le)
        if nl != cpr_nl(lo):
            return -1
        m = math.floor(xe * (nl - 1) - xo * nl + 0.5)
        if odd_latest:
            ni = max(nl - 1, 1)
            lat = lo
            base = (90.0 / ni) * (_pmod(m, ni) + xo)
        else:
            ni = max(nl, 1)
            lat = le
            base = (90.0 / ni) * (_pmod(m, ni) + xe)
        for q in range(4):
            lon = base + 90.0 * q
            lon -= math.floor((lon + 180.0) / 360.0) * 360.0
            out_lat[k] = lat
            out_lon[k] = lon
            k += 1
    return k


@numba.njit(cache=True, nogil=True)
def local(
    cpr_lat: int, cpr_lon: int, odd: bool, surface: bool, ref_lat: float, ref_lon: float
) -> tuple[float, float, int]:
    """Local decode of one frame relative to a reference within half a zone.

    Returns (lat, lon, status): 0 ok, -1 result more than half a zone from the reference.
    """
    span = 90.0 if surface else 360.0
    y = cpr_lat / _CPR_SCALE
    x = cpr_lon / _CPR_SCALE
    dlat = span / (59.0 if odd else 60.0)
    j = math.floor(ref_lat / dlat) + math.floor(0.5 + _pmod(ref_lat, dlat) / dlat - y)
    lat = dlat * (j + y)
    if lat < -90.0 or lat > 90.0 or abs(lat - ref_lat) > dlat / 2.0:
        return math.nan, math.nan, -1
    ni = cpr_nl(lat) - (1 if odd else 0)
    if ni < 1:
        ni = 1
    dlon = span / ni
    m = math.floor(ref_lon / dlon) + math.floor(0.5 + _pmod(ref_lon, dlon) / dlon - x)
    lon = dlon * (m + x)
    if abs(lon - ref_lon) > dlon / 2.0:
        return math.nan, math.nan, -1
    lon -= math.floor((lon + 180.0) / 360.0) * 360.0
    return lat, lon, 0
