"""WGS84 geodesy for MLAT, re-exported from :mod:`overflight.geo` (the one definition)."""

from __future__ import annotations

from overflight.geo import (
    SPEED_OF_LIGHT_M_S,
    WGS84_A_M,
    WGS84_E2,
    ecef_to_enu_matrix,
    ecef_to_llh,
    horizontal_distance_m,
    llh_to_ecef,
    up_vector,
)

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
