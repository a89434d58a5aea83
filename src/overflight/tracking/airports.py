"""Airports as references for surface positions decoded without a receiver position.

A surface CPR pair fixes a position only up to 90 degrees of longitude and a hemisphere (eight
candidates, :func:`overflight.tracking._cpr.surface_candidates`). Aircraft on the surface are at
airports, so a candidate within :data:`AIRPORT_RADIUS_M` (10 km) of a known airport is the
position, provided exactly one candidate is. Airports come from the
``airportsdata`` package (ICAO list), indexed once in a 1-degree grid the compiled kernel reads.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.geo import EARTH_RADIUS_M
from overflight.tracking._cpr import greatcircle_m

__all__ = ["AIRPORT_RADIUS_M", "AirportGrid", "airport_grid", "empty_grid", "nearest_airport"]

AIRPORT_RADIUS_M = 10_000.0
"""A surface candidate this close to an airport's reference point (metres) counts as at that
airport. Taxiways and stands lie within a few km of it even at the largest airports. With the
surface local-decode range (45 NM) instead, the 28,000 airports are so dense that 77% of them
had a second candidate (90 degrees of longitude away) near some other airport, SVMI among them
(Birao, FEFI, 52 km from its candidate in Africa): their surface pairs stayed undecoded. With
10 km, 6.6% (3,000 airports sampled)."""
_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
_CELLS = 180 * 360


@dataclass(frozen=True, slots=True)
class AirportGrid:
    """Airports sorted by 1-degree cell; ``start[c]:start[c + 1]`` are cell ``c``'s entries.

    Cell of (lat, lon): ``(floor(lat) + 90) * 360 + floor(lon) + 180``.
    """

    lat_deg: npt.NDArray[np.float64]
    lon_deg: npt.NDArray[np.float64]
    start: npt.NDArray[np.int64]
    icao: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.icao)


def _cell(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    r = np.clip(np.floor(lat) + 90, 0, 179).astype(np.int64)
    c = np.clip(np.floor(lon) + 180, 0, 359).astype(np.int64)
    return np.asarray(r * 360 + c, np.int64)


def grid_of(icao: list[str], lat: npt.ArrayLike, lon: npt.ArrayLike) -> AirportGrid:
    """An :class:`AirportGrid` of the given airports (degrees)."""
    la = np.asarray(lat, np.float64)
    lo = np.asarray(lon, np.float64)
    ok = np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90) & (np.abs(lo) <= 180)
    la, lo = la[ok], lo[ok]
    names = [c for c, k in zip(icao, ok.tolist(), strict=True) if k]
    cells = _cell(la, lo)
    order = np.argsort(cells, kind="stable")
    start = np.searchsorted(cells[order], np.arange(_CELLS + 1)).astype(np.int64)
    return AirportGrid(
        np.ascontiguousarray(la[order]),
        np.ascontiguousarray(lo[order]),
        start,
        tuple(names[i] for i in order.tolist()),
    )


def empty_grid() -> AirportGrid:
    """A grid without airports (airport references disabled)."""
    return grid_of([], [], [])


@functools.cache
def airport_grid() -> AirportGrid:
    """All airports of ``airportsdata`` (ICAO list), loaded once per process: from a copy of
    the grid kept beside the compiled kernels (a few ms; :func:`_saved`), else from the
    package's CSV (~0.15 s), saving that copy."""
    import airportsdata  # type: ignore[import-untyped,unused-ignore]

    path = _saved(str(getattr(airportsdata, "__version__", "unknown")))
    if path is not None:
        with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as z:
            return AirportGrid(z["lat"], z["lon"], z["start"],
                               tuple(str(z["icao"]).split("\n")))
    data = airportsdata.load("ICAO")
    icao = list(data)
    grid = grid_of(
        icao,
        [float(data[c]["lat"]) for c in icao],
        [float(data[c]["lon"]) for c in icao],
    )
    if path is not None:
        with contextlib.suppress(OSError):
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, lat=grid.lat_deg, lon=grid.lon_deg, start=grid.start,
                     icao=np.array("\n".join(grid.icao)))
            tmp.replace(path)
    return grid


def _saved(version: str) -> Path | None:
    """Where the grid of this ``airportsdata`` version is kept: numba's cache folder for this
    source version (``_numba_cache``), so an edit to this module starts afresh; None where
    there is none (a read-only home)."""
    folder = getattr(numba.config, "CACHE_DIR", "")
    if not folder or not Path(folder).is_dir():
        return None
    safe = "".join(ch for ch in version if ch.isalnum() or ch in "._-")[:40]
    return Path(folder) / f"airport-grid-{safe}.npz"


@numba.njit(cache=True, nogil=True)
def nearest_airport(
    lat: float,
    lon: float,
    ap_lat: npt.NDArray[np.float64],
    ap_lon: npt.NDArray[np.float64],
    start: npt.NDArray[np.int64],
    radius_m: float,
) -> int:
    """Index of the airport nearest (lat, lon) within ``radius_m``, or -1."""
    if ap_lat.shape[0] == 0:
        return -1
    dlat = radius_m / _M_PER_DEG
    worst = min(abs(lat) + dlat, 89.9)
    dlon = dlat / math.cos(math.radians(worst))
    r0 = max(math.floor(lat - dlat) + 90, 0)
    r1 = min(math.floor(lat + dlat) + 90, 179)
    if dlon >= 180.0:
        c0, c1 = 0, 359
    else:
        c0 = math.floor(lon - dlon) + 180
        c1 = math.floor(lon + dlon) + 180
    best = -1
    best_d = radius_m
    for r in range(r0, r1 + 1):
        for cc in range(c0, c1 + 1):
            c = cc % 360
            cell = r * 360 + c
            for k in range(start[cell], start[cell + 1]):
                d = greatcircle_m(lat, lon, ap_lat[k], ap_lon[k])
                if d <= best_d:
                    best_d = d
                    best = k
    return best
