"""Geometry for the simulator: WGS84 ECEF, local east-north-up offsets, spherical great circles.

Aircraft paths are computed on a sphere of radius :data:`EARTH_RADIUS_M` (the path is whatever the
simulator says it is: the truth table records the positions actually used); propagation uses the
WGS84 ellipsoid exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_M",
    "SPEED_OF_LIGHT_M_S",
    "WGS84_A_M",
    "WGS84_F",
    "ecef_to_llh",
    "enu_offset",
    "latlon_to_unit",
    "llh_to_ecef",
    "unit_to_latlon",
]

SPEED_OF_LIGHT_M_S = 299_792_458.0
WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
_E2 = WGS84_F * (2.0 - WGS84_F)
EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius used for along-track distances, metres."""

F64 = npt.NDArray[np.float64]


def llh_to_ecef(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, height_m: npt.ArrayLike) -> F64:
    """WGS84 geodetic (degrees, ellipsoidal metres) to ECEF metres, shape ``(..., 3)``."""
    lat = np.radians(np.asarray(lat_deg, np.float64))
    lon = np.radians(np.asarray(lon_deg, np.float64))
    h = np.asarray(height_m, np.float64)
    s, c = np.sin(lat), np.cos(lat)
    n = WGS84_A_M / np.sqrt(1.0 - _E2 * s * s)
    x = (n + h) * c * np.cos(lon)
    y = (n + h) * c * np.sin(lon)
    z = (n * (1.0 - _E2) + h) * s
    out: F64 = np.stack(np.broadcast_arrays(x, y, z), axis=-1)
    return out


def ecef_to_llh(xyz_m: npt.ArrayLike) -> tuple[F64, F64, F64]:
    """ECEF metres ``(..., 3)`` to WGS84 (lat deg, lon deg, height m); Bowring + 2 iterations."""
    p = np.asarray(xyz_m, np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    r = np.hypot(x, y)
    lon = np.arctan2(y, x)
    lat = np.arctan2(z, r * (1.0 - _E2))
    for _ in range(4):
        s = np.sin(lat)
        n = WGS84_A_M / np.sqrt(1.0 - _E2 * s * s)
        lat = np.arctan2(z + _E2 * n * s, r)
    s, c = np.sin(lat), np.cos(lat)
    n = WGS84_A_M / np.sqrt(1.0 - _E2 * s * s)
    h = np.where(np.abs(c) > 1e-9, r / np.where(c == 0, 1, c) - n, np.abs(z) - n * (1.0 - _E2))
    return np.degrees(lat), np.degrees(lon), np.asarray(h, np.float64)


def enu_offset(
    lat_deg: float, lon_deg: float, east_m: float, north_m: float, height_m: float = 0.0
) -> tuple[float, float]:
    """The point ``east_m``/``north_m`` away from (lat, lon, height) on the WGS84 ellipsoid
    (local radii of curvature: exact to first order, fine for offsets of kilometres)."""
    s = np.sin(np.radians(lat_deg))
    w = np.sqrt(1.0 - _E2 * s * s)
    meridian = WGS84_A_M * (1.0 - _E2) / w**3 + height_m
    normal = WGS84_A_M / w + height_m
    lat = lat_deg + np.degrees(north_m / meridian)
    lon = lon_deg + np.degrees(east_m / (normal * np.cos(np.radians(lat_deg))))
    return float(lat), float(lon)


def latlon_to_unit(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> F64:
    """Unit vectors ``(..., 3)`` of points on the sphere."""
    lat = np.radians(np.asarray(lat_deg, np.float64))
    lon = np.radians(np.asarray(lon_deg, np.float64))
    c = np.cos(lat)
    out: F64 = np.stack(np.broadcast_arrays(c * np.cos(lon), c * np.sin(lon), np.sin(lat)), -1)
    return out


def unit_to_latlon(u: F64) -> tuple[F64, F64]:
    """Latitude and longitude (degrees) of unit vectors ``(..., 3)``."""
    lat = np.degrees(np.arctan2(u[..., 2], np.hypot(u[..., 0], u[..., 1])))
    lon = np.degrees(np.arctan2(u[..., 1], u[..., 0]))
    return np.asarray(lat, np.float64), np.asarray(lon, np.float64)
