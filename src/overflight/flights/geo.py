"""Great-circle geometry for flights, re-exported from :mod:`overflight.geo` (one definition)."""

from __future__ import annotations

from overflight.geo import (
    EARTH_RADIUS_KM,
    KM_PER_NM,
    bearing_deg,
    destination,
    haversine_km,
    interpolate_great_circle,
)
from overflight.geo import latlon_to_unit as to_unit_xyz

__all__ = [
    "EARTH_RADIUS_KM",
    "KM_PER_NM",
    "bearing_deg",
    "destination",
    "haversine_km",
    "interpolate_great_circle",
    "to_unit_xyz",
]
