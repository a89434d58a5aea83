"""WGS84 geodesy for multilateration: pure, vectorised conversions (metres, degrees).

All functions accept scalars or arrays (broadcasting over leading axes) and never mutate input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "SPEED_OF_LIGHT_M_S",
    "WGS84_A_M",
    "WGS84_E2",
    "ecef_to_enu_matrix",
    "ecef_to_llh",
    "horizontal_distance_m",
    "llh_to_ecef",
    "up_vector",
]

SPEED_OF_LIGHT_M_S = 299_792_458.0
"""Speed of light in vacuum, m/s (the 1090 MHz signal's refractivity is ignored: ~0.03 %)."""

WGS84_A_M = 6_378_137.0
"""WGS84 semi-major axis, metres."""

_F = 1.0 / 298.257223563
WGS84_E2 = _F * (2.0 - _F)
"""WGS84 first eccentricity squared."""

_B_M = WGS84_A_M * (1.0 - _F)
_EP2 = (WGS84_A_M**2 - _B_M**2) / _B_M**2

FloatArray = npt.NDArray[np.float64]


def llh_to_ecef(
    lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, height_m: npt.ArrayLike
) -> FloatArray:
    """Geodetic lat/lon (degrees) and ellipsoidal height (m) to ECEF ``(..., 3)``, metres."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    h = np.asarray(height_m, dtype=np.float64)
    s = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s * s)
    c = np.cos(lat)
    return np.stack(
        np.broadcast_arrays(
            (n + h) * c * np.cos(lon), (n + h) * c * np.sin(lon), (n * (1.0 - WGS84_E2) + h) * s
        ),
        axis=-1,
    )


def ecef_to_llh(xyz_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF ``(..., 3)`` metres to (latitude deg, longitude deg, ellipsoidal height m).

    Bowring's method with one refinement: sub-millimetre from the ground to orbit heights.
    """
    p3 = np.asarray(xyz_m, dtype=np.float64)
    x, y, z = p3[..., 0], p3[..., 1], p3[..., 2]
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    theta = np.arctan2(z * WGS84_A_M, p * _B_M)
    lat = np.arctan2(
        z + _EP2 * _B_M * np.sin(theta) ** 3, p - WGS84_E2 * WGS84_A_M * np.cos(theta) ** 3
    )
    for _ in range(1):
        s = np.sin(lat)
        n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s * s)
        h = np.where(np.abs(np.cos(lat)) > 1e-9, p / np.cos(lat) - n, np.abs(z) - _B_M)
        lat = np.arctan2(z, p * (1.0 - WGS84_E2 * n / (n + h)))
    s = np.sin(lat)
    n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s * s)
    c = np.cos(lat)
    # Height along the normal, stable at all latitudes.
    h = p * c + z * s - WGS84_A_M * WGS84_A_M / n
    return np.degrees(lat), np.degrees(lon), h


def up_vector(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> FloatArray:
    """Unit ellipsoid normal (local "up") in ECEF, shape ``(..., 3)``: the gradient of height."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    return np.stack(
        np.broadcast_arrays(np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)), -1
    )


def ecef_to_enu_matrix(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> FloatArray:
    """Rotation ``(..., 3, 3)`` whose rows are the east, north and up unit vectors in ECEF."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(sl * so)
    east = np.stack(np.broadcast_arrays(-so, co, zero), -1)
    north = np.stack(np.broadcast_arrays(-sl * co, -sl * so, cl), -1)
    up = np.stack(np.broadcast_arrays(cl * co, cl * so, sl), -1)
    return np.stack([east, north, up], axis=-2)


def horizontal_distance_m(
    lat1_deg: npt.ArrayLike,
    lon1_deg: npt.ArrayLike,
    lat2_deg: npt.ArrayLike,
    lon2_deg: npt.ArrayLike,
) -> FloatArray:
    """Horizontal distance in metres between two geodetic points (chord at zero height).

    Exact on the ellipsoid surface for the short distances of position errors; for long
    distances the chord is within 0.1 % of the geodesic up to ~500 km.
    """
    a = llh_to_ecef(lat1_deg, lon1_deg, 0.0)
    b = llh_to_ecef(lat2_deg, lon2_deg, 0.0)
    return np.asarray(np.linalg.norm(a - b, axis=-1), dtype=np.float64)
