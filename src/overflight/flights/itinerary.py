"""Journeys (legs chained through stops) and "bound for" estimates for airborne aircraft."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

import numpy as np
from scipy.spatial import cKDTree

from overflight.flights.airports import AirportIndex
from overflight.flights.geo import (
    EARTH_RADIUS_KM,
    KM_PER_NM,
    bearing_deg,
    haversine_km,
    to_unit_xyz,
)
from overflight.flights.records import AirportCandidate, BoundFor, Flight, Journey, Stop

__all__ = ["bound_for", "journeys"]

_MAX_STOP_S = 2 * 86400.0  # longer on the ground than this: a new journey


def journeys(flights: Sequence[Flight], max_stop_s: float = _MAX_STOP_S) -> list[Journey]:
    """Chain each aircraft's consecutive legs.

    A stop longer than ``max_stop_s`` (seconds) starts a new journey."""
    by_ac: dict[str, list[Flight]] = {}
    for f in flights:
        by_ac.setdefault(f.icao24, []).append(f)
    out: list[Journey] = []
    for ac, legs in by_ac.items():
        legs.sort(key=lambda f: f.first_seen_s)
        cur: list[Flight] = [legs[0]]
        stops: list[Stop] = []
        for prev, nxt in pairwise(legs):
            start = prev.arrival_time_s if prev.arrival_time_s is not None else prev.last_seen_s
            end = nxt.departure_time_s if nxt.departure_time_s is not None else nxt.first_seen_s
            if end - start > max_stop_s:
                out.append(Journey(ac, tuple(cur), tuple(stops)))
                cur, stops = [nxt], []
                continue
            where = (
                prev.arrival
                if prev.arrival.code is not None or nxt.departure.code is None
                else nxt.departure
            )
            stops.append(Stop(where, prev.arrival_time_s, nxt.departure_time_s))
            cur.append(nxt)
        out.append(Journey(ac, tuple(cur), tuple(stops)))
    return out


@lru_cache(maxsize=4)
def _big_airports(index: AirportIndex) -> tuple[cKDTree, np.ndarray]:
    keep = np.flatnonzero(np.isin(index.type, ["large_airport", "medium_airport"]))
    return cKDTree(to_unit_xyz(index.lat[keep], index.lon[keep])), keep


def bound_for(
    index: AirportIndex,
    icao24: str,
    time_s: float,
    lat_deg: float,
    lon_deg: float,
    course_deg: float,
    groundspeed_kt: float | None,
    altitude_ft: float | None,
    vertical_rate_fpm: float | None,
    limit: int = 5,
) -> BoundFor:
    """Rank large/medium airports ahead on the great-circle course, by angle off course and by how
    well their distance fits the descent (altitude / descent rate x ground speed).

    Always an estimate: ``basis`` states the evidence.
    """
    tree, keep = _big_airports(index)
    descending = (
        vertical_rate_fpm is not None and vertical_rate_fpm < -300 and altitude_ft is not None
    )
    gs = groundspeed_kt if groundspeed_kt and groundspeed_kt > 50 else 250.0
    if descending:
        assert altitude_ft is not None and vertical_rate_fpm is not None
        minutes = max(altitude_ft, 0.0) / -vertical_rate_fpm
        expected_km = gs * KM_PER_NM * minutes / 60.0 + 15.0
        radius_km = min(max(expected_km * 2.0, 80.0), 1500.0)
        basis = (
            f"course {course_deg:.0f}° from last position, descending "
            f"{-vertical_rate_fpm:,.0f} ft/min at {gs:.0f} kt from {altitude_ft:,.0f} ft: "
            f"touchdown expected about {expected_km:,.0f} km ahead"
        )
    else:
        expected_km = float("nan")
        radius_km = 1500.0
        basis = (
            f"course {course_deg:.0f}° from last position (not descending): "
            f"airports ahead within {radius_km:,.0f} km"
        )
    chord = 2 * np.sin(radius_km / EARTH_RADIUS_KM / 2)
    dist, idx = tree.query(to_unit_xyz(lat_deg, lon_deg), k=128, distance_upper_bound=chord)
    idx = np.asarray(idx[np.isfinite(dist)], dtype=np.int64)
    if idx.size == 0:
        return BoundFor(icao24, time_s, basis, ())
    ap = keep[idx]
    d = haversine_km(lat_deg, lon_deg, index.lat[ap], index.lon[ap])
    brg = bearing_deg(lat_deg, lon_deg, index.lat[ap], index.lon[ap])
    off = np.abs((brg - course_deg + 180.0) % 360.0 - 180.0)
    ok = (off < 30.0) | (d < 10.0)
    score = off / 10.0
    if descending:
        score = score + np.abs(d - expected_km) / max(expected_km, 30.0) * 2.0
    else:
        score = score + d / radius_km
    score = np.where(ok, score, np.inf)
    order = np.argsort(score)[:limit]
    order = order[np.isfinite(score[order])]
    if order.size == 0:
        return BoundFor(icao24, time_s, basis, ())
    w = np.exp(-(score[order] - score[order].min()))
    w /= w.sum()
    cands = tuple(
        AirportCandidate(
            str(index.code[ap[o]]),
            str(index.name[ap[o]]),
            float(d[o]),
            None
            if not np.isfinite(index.elevation_ft[ap[o]])
            else float(index.elevation_ft[ap[o]]),
            float(wi),
        )
        for o, wi in zip(order, w, strict=True)
    )
    return BoundFor(icao24, time_s, basis, cands)
