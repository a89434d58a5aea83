"""Geometry, one definition: WGS84 geodesy, local east-north-up frames, spherical great circles.

Pure functions. The vectorised ones take scalars or arrays (broadcasting) and never mutate input;
angles are degrees, lengths carry their unit in the name. Great-circle functions work on a sphere
of the IUGG mean Earth radius :data:`EARTH_RADIUS_M`; ECEF conversions use the WGS84 ellipsoid.

Haversine is ``2 R asin(sqrt(a))``: within 0.3 um of the ``atan2`` form anywhere on Earth, and
faster in compiled kernels. The ``*_scalar`` functions are ``numba.njit`` versions for kernels
(numba calls them directly; they equal the vectorised versions to a few ulp, ``tests/test_geo.py``).
Numba's on-disk cache of a *calling* kernel does not notice edits here: after changing a
``*_scalar`` function, delete the ``__pycache__/*.nbi``/``*.nbc`` files of the modules calling it
(``tracking/_kernel``, ``tracking/airports``, ``flights/segment``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from overflight._numba_cache import numba  # numba, its cache folder configured

__all__ = [
    "EARTH_RADIUS_KM",
    "EARTH_RADIUS_M",
    "KM_PER_NM",
    "M_PER_NM",
    "SPEED_OF_LIGHT_M_S",
    "WGS84_A_M",
    "WGS84_B_M",
    "WGS84_E2",
    "WGS84_EP2",
    "WGS84_F",
    "bearing_deg",
    "bearing_deg_scalar",
    "destination",
    "ecef_to_enu_matrix",
    "ecef_to_llh",
    "enu_offset",
    "haversine_km",
    "haversine_km_scalar",
    "haversine_m",
    "haversine_m_scalar",
    "horizontal_distance_m",
    "interpolate_great_circle",
    "latlon_to_unit",
    "llh_to_ecef",
    "unit_to_latlon",
    "up_vector",
]

F64 = npt.NDArray[np.float64]

WGS84_A_M = 6_378_137.0
"""WGS84 semi-major axis, metres."""
WGS84_F = 1.0 / 298.257223563
"""WGS84 flattening."""
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
"""WGS84 semi-minor axis, metres."""
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
"""WGS84 first eccentricity squared."""
WGS84_EP2 = (WGS84_A_M**2 - WGS84_B_M**2) / WGS84_B_M**2
"""WGS84 second eccentricity squared."""

EARTH_RADIUS_M = 6_371_008.8
"""IUGG mean Earth radius (R1), metres: the sphere of every great-circle function here."""
EARTH_RADIUS_KM = EARTH_RADIUS_M / 1000.0
"""IUGG mean Earth radius, km."""
M_PER_NM = 1852.0
"""Metres per international nautical mile."""
KM_PER_NM = M_PER_NM / 1000.0
"""Kilometres per international nautical mile."""
SPEED_OF_LIGHT_M_S = 299_792_458.0
"""Speed of light in vacuum, m/s (the 1090 MHz signal's refractivity is ignored: ~0.03 %)."""


def _f64(x: npt.ArrayLike) -> F64:
    return np.asarray(x, dtype=np.float64)


# --- WGS84 ellipsoid -------------------------------------------------------------------------


def llh_to_ecef(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, height_m: npt.ArrayLike) -> F64:
    """WGS84 geodetic (degrees, ellipsoidal height m) to ECEF metres, shape ``(..., 3)``."""
    lat = np.radians(_f64(lat_deg))
    lon = np.radians(_f64(lon_deg))
    h = _f64(height_m)
    s, c = np.sin(lat), np.cos(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s * s)
    out: F64 = np.stack(
        np.broadcast_arrays(
            (n + h) * c * np.cos(lon), (n + h) * c * np.sin(lon), (n * (1.0 - WGS84_E2) + h) * s
        ),
        axis=-1,
    )
    return out


def ecef_to_llh(xyz_m: npt.ArrayLike) -> tuple[F64, F64, F64]:
    """ECEF ``(..., 3)`` metres to WGS84 (latitude deg, longitude deg, ellipsoidal height m).

    Bowring's method with one refinement, height along the normal (stable at the poles): round
    trips within 1e-8 m from the ground to 50 km, 5e-6 m at 400 km (``tests/test_geo.py``).
    """
    p3 = _f64(xyz_m)
    x, y, z = p3[..., 0], p3[..., 1], p3[..., 2]
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    theta = np.arctan2(z * WGS84_A_M, p * WGS84_B_M)
    lat = np.arctan2(
        z + WGS84_EP2 * WGS84_B_M * np.sin(theta) ** 3,
        p - WGS84_E2 * WGS84_A_M * np.cos(theta) ** 3,
    )
    s = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s * s)
    h = np.where(np.abs(np.cos(lat)) > 1e-9, p / np.cos(lat) - n, np.abs(z) - WGS84_B_M)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2 * n / (n + h)))
    s = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s * s)
    c = np.cos(lat)
    h = p * c + z * s - WGS84_A_M * WGS84_A_M / n
    return _f64(np.degrees(lat)), _f64(np.degrees(lon)), _f64(h)


def up_vector(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> F64:
    """Unit ellipsoid normal (local "up") in ECEF, shape ``(..., 3)``: the gradient of height."""
    lat = np.radians(_f64(lat_deg))
    lon = np.radians(_f64(lon_deg))
    out: F64 = np.stack(
        np.broadcast_arrays(np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)), -1
    )
    return out


def ecef_to_enu_matrix(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> F64:
    """Rotation ``(..., 3, 3)`` whose rows are the east, north and up unit vectors in ECEF."""
    lat = np.radians(_f64(lat_deg))
    lon = np.radians(_f64(lon_deg))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack(np.broadcast_arrays(-so, co, zero), -1)
    north = np.stack(np.broadcast_arrays(-sl * co, -sl * so, cl), -1)
    up = np.stack(np.broadcast_arrays(cl * co, cl * so, sl), -1)
    out: F64 = np.stack([east, north, up], axis=-2)
    return out


def enu_offset(
    lat_deg: float, lon_deg: float, east_m: float, north_m: float, height_m: float = 0.0
) -> tuple[float, float]:
    """The point (lat deg, lon deg) ``east_m``/``north_m`` away from (lat, lon, height) on the
    WGS84 ellipsoid (local radii of curvature: exact to first order, fine for kilometres)."""
    s = np.sin(np.radians(lat_deg))
    w = np.sqrt(1.0 - WGS84_E2 * s * s)
    meridian = WGS84_A_M * (1.0 - WGS84_E2) / w**3 + height_m
    normal = WGS84_A_M / w + height_m
    lat = lat_deg + np.degrees(north_m / meridian)
    lon = lon_deg + np.degrees(east_m / (normal * np.cos(np.radians(lat_deg))))
    return float(lat), float(lon)


def horizontal_distance_m(
    lat1_deg: npt.ArrayLike,
    lon1_deg: npt.ArrayLike,
    lat2_deg: npt.ArrayLike,
    lon2_deg: npt.ArrayLike,
) -> F64:
    """Chord in metres between two points on the WGS84 ellipsoid surface (zero height).

    Exact for the short distances of position errors; within 0.1 % of the geodesic up to ~500 km.
    """
    a = llh_to_ecef(lat1_deg, lon1_deg, 0.0)
    b = llh_to_ecef(lat2_deg, lon2_deg, 0.0)
    return _f64(np.linalg.norm(a - b, axis=-1))


# --- sphere: great circles ---------------------------------------------------------------------


def _central_angle_rad(
    lat1_deg: npt.ArrayLike,
    lon1_deg: npt.ArrayLike,
    lat2_deg: npt.ArrayLike,
    lon2_deg: npt.ArrayLike,
) -> F64:
    """Central angle between two points, radians (haversine; 2x is exact, so R * angle keeps
    the bits of the former ``2 * R * asin(...)``)."""
    p1 = np.radians(_f64(lat1_deg))
    p2 = np.radians(_f64(lat2_deg))
    dl = np.radians(_f64(lon2_deg) - _f64(lon1_deg))
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return _f64(2.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def haversine_m(
    lat1_deg: npt.ArrayLike,
    lon1_deg: npt.ArrayLike,
    lat2_deg: npt.ArrayLike,
    lon2_deg: npt.ArrayLike,
) -> F64:
    """Great-circle distance in metres on the mean-radius sphere (haversine, broadcasting)."""
    return _f64(EARTH_RADIUS_M * _central_angle_rad(lat1_deg, lon1_deg, lat2_deg, lon2_deg))


def haversine_km(
    lat1_deg: npt.ArrayLike,
    lon1_deg: npt.ArrayLike,
    lat2_deg: npt.ArrayLike,
    lon2_deg: npt.ArrayLike,
) -> F64:
    """Great-circle distance in km on the mean-radius sphere (haversine, broadcasting)."""
    return _f64(EARTH_RADIUS_KM * _central_angle_rad(lat1_deg, lon1_deg, lat2_deg, lon2_deg))


def bearing_deg(
    lat1_deg: npt.ArrayLike,
    lon1_deg: npt.ArrayLike,
    lat2_deg: npt.ArrayLike,
    lon2_deg: npt.ArrayLike,
) -> F64:
    """Initial great-circle course from point 1 to point 2, degrees true in [0, 360)."""
    p1 = np.radians(_f64(lat1_deg))
    p2 = np.radians(_f64(lat2_deg))
    dl = np.radians(_f64(lon2_deg) - _f64(lon1_deg))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return _f64(np.degrees(np.arctan2(y, x)) % 360.0)


def destination(
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    course_deg: npt.ArrayLike,
    dist_km: npt.ArrayLike,
) -> tuple[F64, F64]:
    """(lat deg, lon deg in [-180, 180)) reached after ``dist_km`` along initial ``course_deg``."""
    p1 = np.radians(_f64(lat_deg))
    l1 = np.radians(_f64(lon_deg))
    th = np.radians(_f64(course_deg))
    d = _f64(dist_km) / EARTH_RADIUS_KM
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return _f64(np.degrees(p2)), _f64((np.degrees(l2) + 540.0) % 360.0 - 180.0)


def latlon_to_unit(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> F64:
    """Unit vectors ``(..., 3)`` of points on the sphere (chord length = 2 sin(angle / 2))."""
    lat = np.radians(_f64(lat_deg))
    lon = np.radians(_f64(lon_deg))
    c = np.cos(lat)
    out: F64 = np.stack(np.broadcast_arrays(c * np.cos(lon), c * np.sin(lon), np.sin(lat)), -1)
    return out


def unit_to_latlon(u: npt.ArrayLike) -> tuple[F64, F64]:
    """Latitude and longitude (degrees) of vectors ``(..., 3)`` (any length; direction only)."""
    v = _f64(u)
    lat = np.degrees(np.arctan2(v[..., 2], np.hypot(v[..., 0], v[..., 1])))
    lon = np.degrees(np.arctan2(v[..., 1], v[..., 0]))
    return _f64(lat), _f64(lon)


def interpolate_great_circle(
    lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float, fractions: npt.ArrayLike
) -> tuple[F64, F64]:
    """Points (lat deg, lon deg) at ``fractions`` (0..1, 1-D) of the great circle from point 1 to
    point 2 (slerp); point 1 repeated when the two coincide."""
    f = _f64(fractions)
    a = latlon_to_unit(lat1_deg, lon1_deg)
    b = latlon_to_unit(lat2_deg, lon2_deg)
    omega = float(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0)))
    if omega < 1e-12:
        return np.full(f.shape, float(lat1_deg)), np.full(f.shape, float(lon1_deg))
    s = np.sin(omega)
    p = (np.sin((1 - f) * omega) / s)[:, None] * a + (np.sin(f * omega) / s)[:, None] * b
    lat = np.degrees(np.arcsin(np.clip(p[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    return _f64(lat), _f64(lon)


# --- compiled scalars (for numba kernels) ------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _central_angle_rad_scalar(
    lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float
) -> float:
    """Central angle between two points, radians (haversine, one pair; see
    :func:`_central_angle_rad`)."""
    p1 = math.radians(lat1_deg)
    p2 = math.radians(lat2_deg)
    dl = math.radians(lon2_deg - lon1_deg)
    a = math.sin((p2 - p1) / 2.0) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2.0) ** 2
    return 2.0 * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


@numba.njit(cache=True, nogil=True)
def haversine_m_scalar(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Great-circle distance in metres on the mean-radius sphere (haversine, one pair)."""
    return EARTH_RADIUS_M * _central_angle_rad_scalar(lat1_deg, lon1_deg, lat2_deg, lon2_deg)


@numba.njit(cache=True, nogil=True)
def haversine_km_scalar(
    lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float
) -> float:
    """Great-circle distance in km on the mean-radius sphere (haversine, one pair)."""
    return EARTH_RADIUS_KM * _central_angle_rad_scalar(lat1_deg, lon1_deg, lat2_deg, lon2_deg)


@numba.njit(cache=True, nogil=True)
def bearing_deg_scalar(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Initial great-circle course from point 1 to point 2, degrees true in [0, 360)."""
    p1 = math.radians(lat1_deg)
    p2 = math.radians(lat2_deg)
    dl = math.radians(lon2_deg - lon1_deg)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    b = math.degrees(math.atan2(y, x))
    return b - 360.0 * math.floor(b / 360.0)
