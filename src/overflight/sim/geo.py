"""Geometry for the simulator: re-exported from :mod:`overflight.geo` (the one definition).

Aircraft paths are computed on a sphere of radius :data:`EARTH_RADIUS_M` (the path is whatever the
simulator says it is: the truth table records the positions actually used); propagation uses the
WGS84 ellipsoid exactly.
"""

from __future__ import annotations

from overflight.geo import (
    EARTH_RADIUS_M,
    SPEED_OF_LIGHT_M_S,
    WGS84_A_M,
    WGS84_F,
    ecef_to_llh,
    enu_offset,
    latlon_to_unit,
    llh_to_ecef,
    unit_to_latlon,
)

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
