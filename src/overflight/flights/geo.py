"""Great-circle geometry on a spherical Earth (vectorised, NumPy)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "EARTH_RADIUS_KM",
    "KM_PER_NM",
    "bearing_deg",
    "destination",
    "haversine_km",
    "interpolate_great_circle",
    "to_unit_xyz",
]

EARTH_RADIUS_KM = 6371.0088
KM_PER_NM = 1.852

F64 = NDArray[np.float64]


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> F64:
    """Great-circle distance in km between points given in degrees (broadcasting)."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def bearing_deg(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> F64:
    """Initial great-circle course from point 1 to point 2, degrees true in [0, 360)."""
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.asarray(np.degrees(np.arctan2(y, x)) % 360.0)


def destination(
    lat: ArrayLike, lon: ArrayLike, course_deg: ArrayLike, dist_km: ArrayLike
) -> tuple[F64, F64]:
    """Point reached from (lat, lon) after ``dist_km`` along initial course ``course_deg``."""
    p1 = np.radians(np.asarray(lat, dtype=np.float64))
    l1 = np.radians(np.asarray(lon, dtype=np.float64))
    th = np.radians(np.asarray(course_deg, dtype=np.float64))
    d = np.asarray(dist_km, dtype=np.float64) / EARTH_RADIUS_KM
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.asarray(np.degrees(p2)), np.asarray((np.degrees(l2) + 540.0) % 360.0 - 180.0)


def to_unit_xyz(lat_deg: ArrayLike, lon_deg: ArrayLike) -> F64:
    """Unit vectors (n, 3) for points in degrees (for KD-tree queries by chord length)."""
    la = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lo = np.radians(np.asarray(lon_deg, dtype=np.float64))
    c = np.cos(la)
    return np.stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)], axis=-1)


def interpolate_great_circle(
    lat1: float, lon1: float, lat2: float, lon2: float, fractions: ArrayLike
) -> tuple[F64, F64]:
    """Points at ``fractions`` (0..1) of the great circle from point 1 to point 2 (slerp)."""
    f = np.asarray(fractions, dtype=np.float64)
    a = to_unit_xyz(lat1, lon1)
    b = to_unit_xyz(lat2, lon2)
    omega = float(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0)))
    if omega < 1e-12:
        return np.full(f.shape, float(lat1)), np.full(f.shape, float(lon1))
    s = np.sin(omega)
    p = (np.sin((1 - f) * omega) / s)[:, None] * a + (np.sin(f * omega) / s)[:, None] * b
    lat = np.degrees(np.arcsin(np.clip(p[:, 2], -1.0, 1.0)))
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    return np.asarray(lat), np.asarray(lon)
