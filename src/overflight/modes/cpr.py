"""Compact Position Reporting (CPR): pure functions, scalar and vectorised.

Inputs are the raw 17-bit CPR fields (``Message.cpr_lat`` / ``cpr_lon``) and the format bit
(``cpr_odd``). Outputs are latitude/longitude in degrees (WGS-84), ``None`` (scalar) or NaN
(vectorised) where the pair or reference cannot give a safe position. Pairing frames and keeping
references is the tracker's job, not this module's.

The scalar decoders are plain math (no exceptions, no optional results) in functions returning
``(lat, lon, status)`` (:func:`airborne_global`, :func:`surface_global`, :func:`local_position`,
:func:`surface_candidates`): the tracker's kernel compiles these very functions with numba
(``tracking._cpr``), and the ``*_position_*`` functions here wrap them for Python callers.
Numba's on-disk cache of the calling kernel does not notice edits here: after changing a scalar
function, delete the ``__pycache__/*.nbi``/``*.nbc`` files of ``tracking/_kernel``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "AIRBORNE_LOCAL_RANGE_NM",
    "CPR_IMPOSSIBLE",
    "CPR_OK",
    "CPR_ZONE",
    "MAX_PAIR_DT_S",
    "SURFACE_LOCAL_RANGE_NM",
    "airborne_global",
    "airborne_position_global",
    "airborne_position_global_batch",
    "airborne_position_local",
    "airborne_position_local_batch",
    "cpr_nl",
    "cpr_nl_batch",
    "distance_nm",
    "local_position",
    "surface_candidates",
    "surface_global",
    "surface_position_global",
    "surface_position_global_batch",
    "surface_position_local",
    "surface_position_local_batch",
]

F64 = npt.NDArray[np.float64]

NZ = 15
_CPR_MAX = 131072.0  # 2**17
MAX_PAIR_DT_S = 10.0
"""Largest time between an even and an odd airborne frame for a global decode (s)."""
AIRBORNE_LOCAL_RANGE_NM = 180.0
"""Local airborne decoding is unambiguous within this distance of the reference (NM)."""
SURFACE_LOCAL_RANGE_NM = 45.0
"""Local surface decoding is unambiguous within this distance of the reference (NM)."""
CPR_OK = 0
"""Status of a decoded position."""
CPR_ZONE = -1
"""Status: no safe position from these frames (a pair across a longitude-zone boundary, or a
local decode beyond half a zone of its reference); the next frame may give one."""
CPR_IMPOSSIBLE = -2
"""Status: the pair decodes to a latitude beyond 90 degrees (bad data)."""
_EARTH_RADIUS_NM = 3440.065
_NL_A = 1.0 - math.cos(math.pi / (2 * NZ))


def cpr_nl(lat_deg: float) -> int:
    """Number of longitude zones (1-59) at a latitude in degrees."""
    a = abs(lat_deg)
    if a < 1e-9:
        return 59
    if a > 87.0:
        return 1
    if a == 87.0:
        return 2
    c = math.cos(math.radians(a))
    return math.floor(2 * math.pi / math.acos(1.0 - _NL_A / (c * c)))


def cpr_nl_batch(lat_deg: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Vectorised :func:`cpr_nl` (NaN latitudes give 1)."""
    a = np.abs(np.asarray(lat_deg, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.cos(np.radians(a))
        nl = np.floor(2 * np.pi / np.arccos(1.0 - _NL_A / (c * c)))
    nl = np.where(a < 1e-9, 59, nl)
    nl = np.where(a == 87.0, 2, nl)
    nl = np.where((a > 87.0) | ~np.isfinite(nl), 1, nl)
    return nl.astype(np.int64)


def distance_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in nautical miles (spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(h)))


def _distance_nm_batch(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_NM * np.arcsin(np.minimum(1.0, np.sqrt(h)))  # type: ignore[no-any-return]


def _global_lat(lat_even: int, lat_odd: int, span: float) -> tuple[float, float]:
    j = math.floor((59 * lat_even - 60 * lat_odd) / _CPR_MAX + 0.5)
    le = span / 60 * ((j % 60) + lat_even / _CPR_MAX)
    lo = span / 59 * ((j % 59) + lat_odd / _CPR_MAX)
    return le, lo


def _global_lon(lon_even: int, lon_odd: int, nl: int, odd: bool, span: float) -> float:
    ni = max(nl - 1, 1) if odd else max(nl, 1)
    m = math.floor((lon_even * (nl - 1) - lon_odd * nl) / _CPR_MAX + 0.5)
    return span / ni * ((m % ni) + (lon_odd if odd else lon_even) / _CPR_MAX)


def _wrap180(lon: float) -> float:
    """``lon`` (degrees) in [-180, 180); unchanged (not rounded) when it is already."""
    if -180.0 <= lon < 180.0:
        return lon
    return lon - 360.0 * math.floor((lon + 180.0) / 360.0)


def airborne_global(
    lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, most_recent_odd: bool,
) -> tuple[float, float, int]:
    """(lat, lon deg, status) of an even/odd airborne pair, the newer frame's position.

    status :data:`CPR_OK`, :data:`CPR_ZONE` (the pair straddles a longitude-zone boundary: wait
    for the next pair) or :data:`CPR_IMPOSSIBLE` (a latitude beyond 90 degrees: bad data); NaN
    position unless OK. Plain math, compiled unchanged for the tracker (``tracking._cpr``).
    """
    le, lo = _global_lat(lat_even, lat_odd, 360.0)
    if le >= 270.0:
        le -= 360.0
    if lo >= 270.0:
        lo -= 360.0
    if abs(le) > 90.0 or abs(lo) > 90.0:
        return math.nan, math.nan, CPR_IMPOSSIBLE
    nl = cpr_nl(le)
    if nl != cpr_nl(lo):
        return math.nan, math.nan, CPR_ZONE
    lat = lo if most_recent_odd else le
    lon = _global_lon(lon_even, lon_odd, nl, most_recent_odd, 360.0)
    return lat, _wrap180(lon), CPR_OK


def airborne_position_global(
    lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, most_recent_odd: bool,
    dt_s: float | None = None,
) -> tuple[float, float] | None:
    """Position (lat, lon deg) from an even and an odd airborne CPR frame.

    ``most_recent_odd`` says which frame is newer (its position is returned). ``dt_s``, when
    given, is the time between the two frames: over :data:`MAX_PAIR_DT_S` gives None. None also
    when the frames straddle a longitude-zone boundary (NL differs) or the latitude is impossible.
    """
    if dt_s is not None and abs(dt_s) > MAX_PAIR_DT_S:
        return None
    lat, lon, status = airborne_global(lat_even, lon_even, lat_odd, lon_odd, most_recent_odd)
    return (lat, lon) if status == CPR_OK else None


def surface_global(
    lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, most_recent_odd: bool,
    ref_lat: float, ref_lon: float,
) -> tuple[float, float, int]:
    """(lat, lon deg, status) of an even/odd surface pair, resolved toward a reference.

    Surface CPR repeats every 90 degrees: of the two hemispheres and the four longitudes the
    candidates nearest the reference win (ties: north, then east). status :data:`CPR_OK` or
    :data:`CPR_ZONE` (NaN position). Plain math, compiled unchanged for the tracker.
    """
    le, lo = _global_lat(lat_even, lat_odd, 90.0)
    # north or south of the equator: the one nearer the reference
    if le - ref_lat > 45.0:
        le -= 90.0
    if lo - ref_lat > 45.0:
        lo -= 90.0
    nl = cpr_nl(le)
    if nl != cpr_nl(lo):
        return math.nan, math.nan, CPR_ZONE
    lat = lo if most_recent_odd else le
    lon = _global_lon(lon_even, lon_odd, nl, most_recent_odd, 90.0)
    # of the four longitudes 90 degrees apart, the one nearest the reference
    lon += 90.0 * math.floor((ref_lon - lon + 45.0) / 90.0)
    return lat, _wrap180(lon), CPR_OK


def surface_position_global(
    lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, most_recent_odd: bool,
    ref_lat: float, ref_lon: float,
) -> tuple[float, float] | None:
    """Surface position (lat, lon deg) from an even/odd surface pair and a receiver reference.

    Surface CPR repeats every 90 degrees; the reference (e.g. the receiver, within a few hundred
    NM) picks the quadrant. None when the pair straddles a zone boundary.
    """
    lat, lon, status = surface_global(
        lat_even, lon_even, lat_odd, lon_odd, most_recent_odd, ref_lat, ref_lon
    )
    return (lat, lon) if status == CPR_OK else None


def surface_candidates(
    lat_even: int, lon_even: int, lat_odd: int, lon_odd: int, most_recent_odd: bool,
    out_lat: F64, out_lon: F64,
) -> int:
    """Every position (lat, lon deg) an even/odd surface pair can mean, without a reference.

    Two latitudes (north and south of the equator), four longitudes 90 degrees apart for each:
    written to ``out_lat``/``out_lon`` (length 8 at least); returns their number (8), or
    :data:`CPR_ZONE` when either hemisphere's pair straddles a longitude-zone boundary (then no
    candidate is safe). Plain math, compiled unchanged for the tracker.
    """
    le, lo = _global_lat(lat_even, lat_odd, 90.0)
    k = 0
    for shift in (0.0, 90.0):
        nl = cpr_nl(le - shift)
        if nl != cpr_nl(lo - shift):
            return CPR_ZONE
        lat = (lo if most_recent_odd else le) - shift
        base = _global_lon(lon_even, lon_odd, nl, most_recent_odd, 90.0)
        for q in range(4):
            out_lat[k] = lat
            out_lon[k] = _wrap180(base + 90.0 * q)
            k += 1
    return k


def _zone_index(ref: float, d: float, frac: float) -> int:
    """Index of the zone of size ``d`` holding the position nearest ``ref`` whose fraction of a
    zone is ``frac``. The zone of ``ref`` and its remainder come from ONE floor (``ref % d`` and
    ``floor(ref / d)`` round differently on a zone boundary, e.g. 45.0 over 90/54 degrees)."""
    z = math.floor(ref / d)
    return z + math.floor(0.5 + (ref - d * z) / d - frac)


def local_position(
    cpr_lat: int, cpr_lon: int, odd: bool, surface: bool, ref_lat: float, ref_lon: float,
) -> tuple[float, float, int]:
    """(lat, lon deg, status) of one CPR frame decoded near a reference position.

    The position is the one nearest the reference, so it is right only within half a zone
    (airborne 180 NM, surface 45 NM) of the reference. status :data:`CPR_OK`, or
    :data:`CPR_ZONE` (NaN position) for a latitude beyond 90 degrees or a position more than half
    a zone away (rounding on a zone boundary). Plain math, compiled unchanged for the tracker.
    """
    span = 90.0 if surface else 360.0
    i = 1 if odd else 0
    d_lat = span / (60 - i)
    y = cpr_lat / _CPR_MAX
    lat = d_lat * (_zone_index(ref_lat, d_lat, y) + y)
    if abs(lat) > 90.0 or abs(lat - ref_lat) > d_lat / 2.0:
        return math.nan, math.nan, CPR_ZONE
    d_lon = span / max(cpr_nl(lat) - i, 1)
    x = cpr_lon / _CPR_MAX
    lon = d_lon * (_zone_index(ref_lon, d_lon, x) + x)
    if abs(lon - ref_lon) > d_lon / 2.0:
        return math.nan, math.nan, CPR_ZONE
    return lat, _wrap180(lon), CPR_OK


def _local_in_range(
    cpr_lat: int, cpr_lon: int, odd: bool, surface: bool, ref_lat: float, ref_lon: float,
    max_range_nm: float,
) -> tuple[float, float] | None:
    lat, lon, status = local_position(cpr_lat, cpr_lon, odd, surface, ref_lat, ref_lon)
    if status != CPR_OK or distance_nm(lat, lon, ref_lat, ref_lon) > max_range_nm:
        return None
    return lat, lon


def airborne_position_local(
    cpr_lat: int, cpr_lon: int, odd: bool, ref_lat: float, ref_lon: float,
    max_range_nm: float = AIRBORNE_LOCAL_RANGE_NM,
) -> tuple[float, float] | None:
    """Position (lat, lon deg) of one airborne CPR frame near a reference position.

    The answer is right only if the aircraft is within ``max_range_nm`` (180 NM) of the
    reference: the caller keeps references fresh. None when the decoded position itself lies
    beyond that range (a sure sign of a stale reference).
    """
    return _local_in_range(cpr_lat, cpr_lon, odd, False, ref_lat, ref_lon, max_range_nm)


def surface_position_local(
    cpr_lat: int, cpr_lon: int, odd: bool, ref_lat: float, ref_lon: float,
    max_range_nm: float = SURFACE_LOCAL_RANGE_NM,
) -> tuple[float, float] | None:
    """Position (lat, lon deg) of one surface CPR frame near a reference (within 45 NM)."""
    return _local_in_range(cpr_lat, cpr_lon, odd, True, ref_lat, ref_lon, max_range_nm)


# ---------------------------------------------------------------- vectorised


def _f(x: npt.ArrayLike) -> F64:
    return np.asarray(x, dtype=np.float64)


def _global_lat_batch(lat_even: F64, lat_odd: F64, span: float) -> tuple[F64, F64]:
    j = np.floor((59 * lat_even - 60 * lat_odd) / _CPR_MAX + 0.5)
    le = span / 60 * (np.mod(j, 60) + lat_even / _CPR_MAX)
    lo = span / 59 * (np.mod(j, 59) + lat_odd / _CPR_MAX)
    return le, lo


def _global_lon_batch(
    lon_even: F64, lon_odd: F64, nl: npt.NDArray[np.int64], odd: npt.NDArray[np.bool_], span: float,
) -> F64:
    ni = np.maximum(np.where(odd, nl - 1, nl), 1)
    m = np.floor((lon_even * (nl - 1) - lon_odd * nl) / _CPR_MAX + 0.5)
    return span / ni * (np.mod(m, ni) + np.where(odd, lon_odd, lon_even) / _CPR_MAX)


def airborne_position_global_batch(
    lat_even: npt.ArrayLike, lon_even: npt.ArrayLike, lat_odd: npt.ArrayLike,
    lon_odd: npt.ArrayLike, most_recent_odd: npt.ArrayLike, dt_s: npt.ArrayLike | None = None,
) -> tuple[F64, F64]:
    """Vectorised :func:`airborne_position_global`: (lat, lon) arrays, NaN where rejected."""
    a, b, c, d = _f(lat_even), _f(lon_even), _f(lat_odd), _f(lon_odd)
    odd = np.asarray(most_recent_odd, dtype=bool)
    le, lo = _global_lat_batch(a, c, 360.0)
    le = np.where(le >= 270.0, le - 360.0, le)
    lo = np.where(lo >= 270.0, lo - 360.0, lo)
    nl = cpr_nl_batch(le)
    ok = (np.abs(le) <= 90.0) & (np.abs(lo) <= 90.0) & (nl == cpr_nl_batch(lo))
    if dt_s is not None:
        ok &= np.abs(_f(dt_s)) <= MAX_PAIR_DT_S
    lat = np.where(odd, lo, le)
    lon = _global_lon_batch(b, d, nl, odd, 360.0)
    lon = np.where(lon >= 180.0, lon - 360.0, lon)
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)


def surface_position_global_batch(
    lat_even: npt.ArrayLike, lon_even: npt.ArrayLike, lat_odd: npt.ArrayLike,
    lon_odd: npt.ArrayLike, most_recent_odd: npt.ArrayLike, ref_lat: npt.ArrayLike,
    ref_lon: npt.ArrayLike,
) -> tuple[F64, F64]:
    """Vectorised :func:`surface_position_global`."""
    a, b, c, d = _f(lat_even), _f(lon_even), _f(lat_odd), _f(lon_odd)
    rlat, rlon = _f(ref_lat), _f(ref_lon)
    odd = np.asarray(most_recent_odd, dtype=bool)
    le, lo = _global_lat_batch(a, c, 90.0)
    le = np.where(np.abs(le - 90.0 - rlat) < np.abs(le - rlat), le - 90.0, le)
    lo = np.where(np.abs(lo - 90.0 - rlat) < np.abs(lo - rlat), lo - 90.0, lo)
    nl = cpr_nl_batch(le)
    ok = nl == cpr_nl_batch(lo)
    lat = np.where(odd, lo, le)
    lon = _global_lon_batch(b, d, nl, odd, 90.0)
    # shift by a multiple of 90 degrees to the candidate nearest the reference
    k = np.round((rlon - lon) / 90.0)
    lon = lon + 90.0 * k
    lon = np.mod(lon + 180.0, 360.0) - 180.0
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)


def _local_batch(
    cpr_lat: F64, cpr_lon: F64, odd: npt.NDArray[np.bool_], ref_lat: F64, ref_lon: F64, span: float,
) -> tuple[F64, F64]:
    i = odd.astype(np.float64)
    d_lat = span / (60 - i)
    j = _zone_index_batch(ref_lat, d_lat, cpr_lat / _CPR_MAX)
    lat = d_lat * (j + cpr_lat / _CPR_MAX)
    ni = np.maximum(cpr_nl_batch(lat) - i, 1)
    d_lon = span / ni
    m = _zone_index_batch(ref_lon, d_lon, cpr_lon / _CPR_MAX)
    lon = d_lon * (m + cpr_lon / _CPR_MAX)
    return lat, lon


def _zone_index_batch(ref: F64, d: F64, frac: F64) -> F64:
    """Vectorised :func:`_zone_index` (float zone indices)."""
    z = np.floor(ref / d)
    return z + np.floor(0.5 + (ref - d * z) / d - frac)


def _local_checked(
    cpr_lat: npt.ArrayLike, cpr_lon: npt.ArrayLike, odd: npt.ArrayLike, ref_lat: npt.ArrayLike,
    ref_lon: npt.ArrayLike, span: float, max_range_nm: float,
) -> tuple[F64, F64]:
    rlat, rlon = _f(ref_lat), _f(ref_lon)
    lat, lon = _local_batch(_f(cpr_lat), _f(cpr_lon), np.asarray(odd, dtype=bool), rlat, rlon, span)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(lat) <= 90.0) & (_distance_nm_batch(lat, lon, rlat, rlon) <= max_range_nm)
    lon = np.mod(lon + 180.0, 360.0) - 180.0
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)


def airborne_position_local_batch(
    cpr_lat: npt.ArrayLike, cpr_lon: npt.ArrayLike, odd: npt.ArrayLike, ref_lat: npt.ArrayLike,
    ref_lon: npt.ArrayLike, max_range_nm: float = AIRBORNE_LOCAL_RANGE_NM,
) -> tuple[F64, F64]:
    """Vectorised :func:`airborne_position_local`."""
    return _local_checked(cpr_lat, cpr_lon, odd, ref_lat, ref_lon, 360.0, max_range_nm)


def surface_position_local_batch(
    cpr_lat: npt.ArrayLike, cpr_lon: npt.ArrayLike, odd: npt.ArrayLike, ref_lat: npt.ArrayLike,
    ref_lon: npt.ArrayLike, max_range_nm: float = SURFACE_LOCAL_RANGE_NM,
) -> tuple[F64, F64]:
    """Vectorised :func:`surface_position_local`."""
    return _local_checked(cpr_lat, cpr_lon, odd, ref_lat, ref_lon, 90.0, max_range_nm)
