"""Estimated positions across coverage gaps: great circle between the last and next observation.

The result is a separate table with ``estimated`` set on every row: it is never merged into the
observed positions.
"""

from __future__ import annotations

import numpy as np

from overflight.flights.geo import interpolate_great_circle
from overflight.flights.records import Flight
from overflight.flights.table import PositionTable

__all__ = ["estimate_gap_positions"]


def estimate_gap_positions(
    tab: PositionTable, flight: Flight, step_s: float = 60.0
) -> PositionTable:
    """Positions every ``step_s`` seconds inside each gap of ``flight`` (great circle, altitude
    linearly interpolated), all marked ``estimated``."""
    parts: list[dict[str, np.ndarray]] = []
    lo, hi = flight.row_start, flight.row_end + 1
    t = tab.time_s[lo:hi]
    for g0, g1 in flight.gaps:
        i = lo + int(np.searchsorted(t, g0))
        j = lo + int(np.searchsorted(t, g1))
        times = np.arange(g0 + step_s, g1, step_s)
        if times.size == 0:
            continue
        f = (times - g0) / (g1 - g0)
        lat, lon = interpolate_great_circle(
            tab.lat_deg[i], tab.lon_deg[i], tab.lat_deg[j], tab.lon_deg[j], f
        )
        alt = tab.altitude_ft[i] + f * (tab.altitude_ft[j] - tab.altitude_ft[i])
        parts.append({"time_s": times, "lat_deg": lat, "lon_deg": lon, "altitude_ft": alt})
    n = sum(len(p["time_s"]) for p in parts)
    cat = {
        k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0)
        for k in ("time_s", "lat_deg", "lon_deg", "altitude_ft")
    }
    nan = np.full(n, np.nan)
    return PositionTable(
        np.full(n, int(flight.icao24, 16), dtype=np.uint32),
        cat["time_s"],
        cat["lat_deg"],
        cat["lon_deg"],
        cat["altitude_ft"],
        nan.copy(),
        nan.copy(),
        nan.copy(),
        np.zeros(n, dtype=np.int8),
        np.full(n, -1, dtype=np.int32),
        (),
        np.ones(n, dtype=bool),
    )
