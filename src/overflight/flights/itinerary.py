"""Journeys (legs chained through stops), coverage gaps, and "bound for" estimates for airborne
aircraft."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from overflight.flights.airports import AirportIndex
from overflight.flights.geo import (
    EARTH_RADIUS_KM,
    KM_PER_NM,
    bearing_deg,
    haversine_km,
    interpolate_great_circle,
    to_unit_xyz,
)
from overflight.flights.records import (
    AirportCandidate,
    BoundFor,
    Flight,
    Journey,
    Stop,
    iso_utc,
)

__all__ = [
    "MAX_STOP_S",
    "NO_COVERAGE_KM",
    "CoverageGap",
    "bound_for",
    "coverage_gap",
    "hours",
    "journey_rows",
    "journeys",
    "stop_span",
]

MAX_STOP_S = 2 * 86400.0
"""Longer on the ground than this (s) between two legs: a new journey."""

NO_COVERAGE_KM = 450.0
"""A point further than this (km) from every receiver is out of coverage: the radio horizon of
an aircraft at 40,000 ft seen from a receiver on the ground is about 450 km."""

_GAP_STEP_KM = 50.0  # spacing of the points checked along a gap's path


def stop_span(
    arrival_time_s: float | None,
    last_seen_s: float,
    departure_time_s: float | None,
    first_seen_s: float,
) -> tuple[float, float]:
    """The ground time between a leg and the next (UTC epoch s): from the first leg's arrival
    (else its last position) to the next leg's departure (else its first position)."""
    start = arrival_time_s if arrival_time_s is not None else last_seen_s
    end = departure_time_s if departure_time_s is not None else first_seen_s
    return start, end


def hours(seconds: float) -> str:
    """A duration for people: ``"11.6 h"``, ``"25 min"``."""
    if seconds >= 3600.0:
        return f"{seconds / 3600.0:.1f} h"
    return f"{max(seconds, 0.0) / 60.0:.0f} min"


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """A stretch of a leg without positions, from ``start_s`` to ``end_s`` (UTC epoch s).

    ``distance_km``: great circle from the last position before to the first after (None:
    unknown). ``farthest_km``: how far the great circle between them gets from the nearest
    receiver (None: receivers unknown); beyond :data:`NO_COVERAGE_KM` no receiver could hear
    the aircraft there, so the gap is over no coverage (an ocean, a desert), not a loss of
    signal where receivers are.
    """

    start_s: float
    end_s: float
    distance_km: float | None
    farthest_km: float | None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def coverage(self) -> str:
        """``"none"`` (part of the way out of every receiver's reach), ``"covered"`` (within
        reach all the way: not heard) or ``"unknown"`` (no receivers table)."""
        if self.farthest_km is None:
            return "unknown"
        return "none" if self.farthest_km > NO_COVERAGE_KM else "covered"

    @property
    def label(self) -> str:
        """E.g. ``"gap over no coverage, 11.6 h (7,866 km)"``."""
        what = {"none": "gap over no coverage", "covered": "not heard within coverage",
                "unknown": "gap"}[self.coverage]
        far = "" if self.distance_km is None else f" ({self.distance_km:,.0f} km)"
        return f"{what}, {hours(self.duration_s)}{far}"

    def to_dict(self) -> dict[str, object]:
        return {
            "start": iso_utc(self.start_s),
            "end": iso_utc(self.end_s),
            "duration_s": round(self.duration_s, 1),
            "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
            "farthest_from_receivers_km":
                None if self.farthest_km is None else round(self.farthest_km, 1),
            "coverage": self.coverage,
            "label": self.label,
        }


def coverage_gap(
    start_s: float,
    end_s: float,
    start_lat_lon: tuple[float, float] | None,
    end_lat_lon: tuple[float, float] | None,
    receivers_lat_lon: np.ndarray | None,
) -> CoverageGap:
    """The gap from ``start_s`` to ``end_s`` between the positions ``start_lat_lon`` and
    ``end_lat_lon`` (degrees; None: unknown), judged against the receivers' positions
    (``(n, 2)`` degrees; None or empty: unknown)."""
    if start_lat_lon is None or end_lat_lon is None:
        return CoverageGap(start_s, end_s, None, None)
    (la0, lo0), (la1, lo1) = start_lat_lon, end_lat_lon
    dist = float(haversine_km(la0, lo0, la1, lo1))
    rx = None if receivers_lat_lon is None else np.asarray(receivers_lat_lon, dtype=float)
    if rx is None or rx.size == 0:
        return CoverageGap(start_s, end_s, dist, None)
    n = int(min(max(np.ceil(dist / _GAP_STEP_KM), 1), 2000)) + 1
    lat, lon = interpolate_great_circle(la0, lo0, la1, lo1, np.linspace(0.0, 1.0, n))
    tree = cKDTree(to_unit_xyz(rx[:, 0], rx[:, 1]).reshape(-1, 3))
    chord, _ = tree.query(to_unit_xyz(lat, lon).reshape(-1, 3))
    nearest = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord) / 2.0, 0.0, 1.0))
    return CoverageGap(start_s, end_s, dist, float(nearest.max()))


def journeys(flights: Sequence[Flight], max_stop_s: float = MAX_STOP_S) -> list[Journey]:
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
            start, end = stop_span(prev.arrival_time_s, prev.last_seen_s,
                                   nxt.departure_time_s, nxt.first_seen_s)
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


def journey_rows(rows: Sequence[Mapping[str, Any]],
                 max_stop_s: float = MAX_STOP_S) -> list[dict[str, Any]]:
    """The journey of each stored leg (rows of the ``flights`` table: ``address``,
    ``first_seen_s``, ``last_seen_s``, ``departure_time_s``, ``arrival_time_s`` in UTC epoch s,
    ``departure_airport``, ``arrival_airport``), chained as :func:`journeys` chains
    :class:`Flight` records; in the order of ``rows``.

    Each: ``id`` (address and the journey's first departure, epoch s), ``leg`` (1-based) of
    ``legs``, ``route`` (airport codes, None where unknown) and ``stop_before`` (the ground
    time before this leg: airport, ISO 8601 UTC start and end, seconds, a label; None for the
    first leg)."""
    order = sorted(range(len(rows)), key=lambda i: (int(rows[i]["address"]),
                                                    float(rows[i]["first_seen_s"])))
    groups: list[list[int]] = []
    for i in order:
        r = rows[i]
        if groups:
            p = rows[groups[-1][-1]]
            start, end = stop_span(_opt(p.get("arrival_time_s")), float(p["last_seen_s"]),
                                   _opt(r.get("departure_time_s")), float(r["first_seen_s"]))
            if int(p["address"]) == int(r["address"]) and end - start <= max_stop_s:
                groups[-1].append(i)
                continue
        groups.append([i])
    out: list[dict[str, Any]] = [{} for _ in rows]
    for g in groups:
        first = rows[g[0]]
        t0 = _opt(first.get("departure_time_s"))
        jid = f"{int(first['address']):06x}-{int(t0 if t0 is not None else first['first_seen_s'])}"
        route = [first.get("departure_airport"), *(rows[i].get("arrival_airport") for i in g)]
        for k, i in enumerate(g):
            stop = None
            if k:
                p, r = rows[g[k - 1]], rows[i]
                start, end = stop_span(_opt(p.get("arrival_time_s")), float(p["last_seen_s"]),
                                       _opt(r.get("departure_time_s")), float(r["first_seen_s"]))
                where = p.get("arrival_airport") or r.get("departure_airport")
                label = (f"stop at {where}, {hours(end - start)}" if where else
                         f"not seen for {hours(end - start)} (no landing or take-off seen)")
                stop = {"airport": where, "start": iso_utc(start), "end": iso_utc(end),
                        "duration_s": round(end - start, 1), "label": label}
            out[i] = {"id": jid, "leg": k + 1, "legs": len(g), "route": route,
                      "stop_before": stop}
    return out


def _opt(v: Any) -> float | None:
    return None if v is None or v != v else float(v)


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
