"""Flights from a position table: legs, their airports and times (pure function of the table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from overflight.flights.airports import AirportIndex, default_index
from overflight.flights.geo import KM_PER_NM, bearing_deg, haversine_km
from overflight.flights.itinerary import bound_for
from overflight.flights.records import (
    HOW_ESTIMATED,
    HOW_INFERRED,
    HOW_OBSERVED,
    HOW_UNKNOWN,
    AirportCandidate,
    AirportEstimate,
    Flight,
)
from overflight.flights.segment import (
    ARR_GAP_GROUND,
    ARR_LANDING,
    DEP_GAP_GROUND,
    DEP_TAKEOFF,
    GAP_S,
    Legs,
    Params,
    build_legs,
    ground_state,
)
from overflight.flights.table import PositionTable

__all__ = ["FlightsResult", "Identifier", "find_flights", "split_decisions"]

Identifier = Callable[[str], Any]

_GROUND_RADIUS_KM = 5.0  # an observed ground point farther than this from any runway: unlisted site
_INFER_RADIUS_KM = 30.0
_INFER_MAX_AGL_FT = 5000.0
_SLOPE_FT_PER_KM = 400.0  # steeper than ~3.8 degrees to the runway: not landing there now
_MAX_CONTINUOUS_GAP_S = 12 * 3600.0
_UNLISTED_MAX_ALT_FT = 1500.0
_UNLISTED_MAX_KM = 25.0
_HELIPORT_AIRBORNE_PENALTY_KM = 5.0  # airborne at speed near a helipad: an aeroplane, most likely
_STOP_LINK_KM = 45.0
_FAST_KT = 150.0
_FAST_MIN_RUNWAY_M = 800.0
_STOP_LINK_MAX_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class FlightsResult:
    """Flights (legs, in (icao24, time) order) and the per-point evidence behind them."""

    flights: tuple[Flight, ...]
    n_positions: int
    n_valid: int
    legs: Legs


def _trend_fpm(
    tab: PositionTable, rows: NDArray[np.int64], i: NDArray[np.int64], step: int
) -> NDArray[np.float64]:
    """Altitude change per minute between valid point ``i`` and ``i+step`` (same aircraft), else
    the reported vertical rate."""
    n = len(rows)
    j = np.clip(i + step, 0, max(n - 1, 0))
    a, b = rows[np.minimum(i, j)], rows[np.maximum(i, j)]
    same = tab.icao24[a] == tab.icao24[b]
    dt = tab.time_s[b] - tab.time_s[a]
    rate = (tab.altitude_ft[b] - tab.altitude_ft[a]) / np.where(dt > 0, dt, np.nan) * 60.0
    ok = same & (dt > 0) & (dt < 900) & np.isfinite(rate)
    return np.where(ok, rate, tab.vertical_rate_fpm[rows[i]])


def split_decisions(
    tab: PositionTable, rows: NDArray[np.int64], state: NDArray[np.int8]
) -> NDArray[np.bool_]:
    """For every air->air coverage gap (after valid point ``i``), whether the flight ends there.

    One flight across the gap when the aircraft could not have stopped (the gap is shorter than a
    descent, a turnaround and a climb), when the distance covered fits its ground speed, or when
    it cruises at the same level on both sides at a plausible speed; otherwise split.
    """
    n = len(rows)
    split = np.zeros(n, dtype=bool)
    if n < 2:
        return split
    r0, r1 = rows[:-1], rows[1:]
    dt = tab.time_s[r1] - tab.time_s[r0]
    gap = (tab.icao24[r0] == tab.icao24[r1]) & (dt > GAP_S) & (state[:-1] == 0) & (state[1:] == 0)
    g = np.flatnonzero(gap)
    if g.size == 0:
        return split
    a, b = rows[g], rows[g + 1]
    d_km = haversine_km(tab.lat_deg[a], tab.lon_deg[a], tab.lat_deg[b], tab.lon_deg[b])
    dtg = dt[g]
    v_kt = d_km / KM_PER_NM / dtg * 3600.0
    ga, gb = tab.groundspeed_kt[a], tab.groundspeed_kt[b]
    gs = np.where(
        np.isfinite(ga) & np.isfinite(gb), (ga + gb) / 2, np.where(np.isfinite(ga), ga, gb)
    )
    gs = np.where(np.isfinite(gs) & (gs > 50), gs, 250.0)
    alt_a = np.nan_to_num(tab.altitude_ft[a], nan=0.0)
    alt_b = np.nan_to_num(tab.altitude_ft[b], nan=0.0)
    min_stop_s = 600.0 + (np.maximum(alt_a, 0) + np.maximum(alt_b, 0)) / 1500.0 * 60.0
    too_short = dtg < min_stop_s
    ratio = v_kt / gs
    fits_speed = (ratio >= 0.6) & (ratio <= 1.6)
    cruise = (
        (np.minimum(alt_a, alt_b) >= 10_000) & (np.abs(alt_a - alt_b) <= 2_000) & (ratio >= 0.3)
    )
    # Low and level on both sides (not descending into the gap, not climbing out of it): flying
    # out of coverage, not a stop.
    down = _trend_fpm(tab, rows, g, -6)  # rate over the points before the gap
    up = _trend_fpm(tab, rows, g + 1, 6)  # rate over the points after it
    descending = (down < -300.0) | (tab.vertical_rate_fpm[a] < -300.0)
    climbing = (up > 300.0) | (tab.vertical_rate_fpm[b] > 300.0)
    level_low = (np.maximum(alt_a, alt_b) < 10_000) & ~descending & ~climbing
    cont = (too_short | fits_speed | cruise | level_low) & (dtg < _MAX_CONTINUOUS_GAP_S)
    split[g] = ~cont
    return split


def find_flights(
    tab: PositionTable,
    index: AirportIndex | None = None,
    identifier: Identifier | None = None,
    params: Params | None = None,
    destinations: bool = True,
) -> FlightsResult:
    """Detect legs and their departure/arrival airports and times in a sorted position table.

    ``destinations``: rank "bound for" candidates for legs whose arrival was not seen (about
    0.4 ms per such leg; turn off for bulk rebuilds)."""
    index = index or default_index()
    params = params or Params()
    valid, state_all = ground_state(tab, params)
    rows = np.flatnonzero(valid & (state_all >= 0)).astype(np.int64)
    state = state_all[rows]
    split = split_decisions(tab, rows, state)
    legs = build_legs(tab, rows, state, split, params)

    flights = _flights(tab, rows, legs, index, identifier, destinations)
    return FlightsResult(tuple(flights), len(tab), len(rows), legs)


def _ends(
    tab: PositionTable,
    rows: NDArray[np.int64],
    legs: Legs,
    index: AirportIndex,
    departure: bool,
    destinations: bool = True,
) -> tuple[list[AirportEstimate], NDArray[np.float64], list[str]]:
    """Airport estimate, time and how the time was determined, for one end of every leg.

    Matching and scoring are vectorised over all legs; only the records are built per leg."""
    m = len(legs.start)
    kind = legs.dep_kind if departure else legs.arr_kind
    ground_pt = legs.dep_ground if departure else legs.arr_ground
    air_pt = legs.start if departure else legs.end
    observed_ground = (
        (kind == DEP_TAKEOFF) | (kind == DEP_GAP_GROUND)
        if departure
        else (kind == ARR_LANDING) | (kind == ARR_GAP_GROUND)
    )
    gr = rows[np.where(observed_ground, ground_pt, air_pt)]
    ar = rows[air_pt]
    og = np.flatnonzero(observed_ground)
    ai = np.flatnonzero(~observed_ground)
    # Ground points: runway distance only (baro altitude on the ground is often missing or raw).
    g_rows = gr[og]
    mg = index.match(
        tab.lat_deg[g_rows],
        tab.lon_deg[g_rows],
        tab.altitude_ft[g_rows],
        radius_km=_GROUND_RADIUS_KM * 2,
    )
    # Airborne ends: runway distance with an altitude that must fit a descent or climb to the
    # field, a bonus for flying along a runway's centreline, a charge for too short a runway.
    a_rows = ar[ai]
    alt = tab.altitude_ft[a_rows]
    ma = index.match(
        tab.lat_deg[a_rows],
        tab.lon_deg[a_rows],
        alt,
        radius_km=_INFER_RADIUS_KM,
        slope_ft_per_km=_SLOPE_FT_PER_KM,
        heliport_penalty_km=_HELIPORT_AIRBORNE_PENALTY_KM,
        track_deg=tab.track_deg[a_rows],
        min_runway_m=_min_runway_m(tab, rows, legs)[ai],
    )
    # departure: rate from the first point forward (climb > 0); arrival: from the last point
    # backward, sign flipped so that a descent into the end is positive too.
    trend = _trend_fpm(tab, rows, air_pt[ai], 6 if departure else -6)
    trend = trend if departure else -trend
    best = ma.airport[:, 0]
    has = best >= 0
    safe = np.maximum(best, 0)
    elev = np.nan_to_num(index.elevation_ft[safe], nan=0.0)
    agl = alt - elev
    fits = (
        has
        & (index.type[safe] != "heliport")
        & (ma.altitude_charge_km[:, 0] <= 1e-9)
        & (~np.isfinite(agl) | (agl <= _INFER_MAX_AGL_FT))
        & (~np.isfinite(trend) | (trend > -300.0))
    )
    cand_g = index.candidate_lists(mg, _GROUND_RADIUS_KM)
    cand_a = index.candidate_lists(ma, 3.0)
    elev_all = np.zeros(m)
    elev_all[og] = np.where(
        mg.airport[:, 0] >= 0,
        np.nan_to_num(index.elevation_ft[np.maximum(mg.airport[:, 0], 0)]),
        0.0,
    )
    elev_all[ai] = np.where(has, elev, 0.0)
    extrap = _extrapolate_many(tab, ar, elev_all, departure)
    contiguous = kind == (DEP_TAKEOFF if departure else ARR_LANDING)
    t_obs = tab.time_s[ar] if departure else tab.time_s[gr]
    times = np.where(observed_ground & contiguous, t_obs, extrap)
    lat_l = tab.lat_deg[gr].tolist()
    lon_l = tab.lon_deg[gr].tolist()
    pos_g = {int(i): j for j, i in enumerate(og.tolist())}
    pos_a = {int(i): j for j, i in enumerate(ai.tolist())}
    fits_l = fits.tolist()
    contiguous_l = contiguous.tolist()
    out: list[AirportEstimate] = []
    hows: list[str] = []
    for i in range(m):
        if i in pos_g:
            j = pos_g[i]
            out.append(
                _estimate(cand_g[j], lat_l[i], lon_l[i], HOW_OBSERVED, _GROUND_RADIUS_KM, 1.0)
            )
            hows.append(HOW_OBSERVED if contiguous_l[i] else HOW_INFERRED)
            continue
        j = pos_a[i]
        if fits_l[j]:
            out.append(_estimate(cand_a[j], lat_l[i], lon_l[i], HOW_INFERRED, 3.0, 0.9))
            hows.append(HOW_INFERRED)
        else:
            out.append(_unknown(index, tab, int(ar[i]), departure or not destinations))
            times[i] = np.nan
            hows.append(HOW_UNKNOWN)
    return out, times, hows


def _extrapolate_many(
    tab: PositionTable, r: NDArray[np.int64], elev_ft: NDArray[np.float64], departure: bool
) -> NDArray[np.float64]:
    """:func:`_extrapolate` for many rows ``r`` with their field elevations (ft)."""
    t = tab.time_s[r]
    agl = tab.altitude_ft[r] - elev_ft
    vr = np.abs(tab.vertical_rate_fpm[r])
    vr = np.where(np.isfinite(vr) & (vr >= 300.0), vr, 1500.0)
    dt = np.where(np.isfinite(agl) & (agl > 0), np.minimum(agl / vr * 60.0, 900.0), 0.0)
    return np.asarray(t - dt if departure else t + dt)


def leg_max(
    values: NDArray[np.float64], start: NDArray[np.int64], end: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Maximum of ``values`` over each inclusive range [start, end] (nan ignored; -inf if none).

    Ranges must be sorted and disjoint (legs are)."""
    if len(start) == 0:
        return np.zeros(0)
    v = np.concatenate([np.where(np.isfinite(values), values, -np.inf), [-np.inf]])
    idx = np.empty(2 * len(start), dtype=np.int64)
    idx[0::2] = start
    idx[1::2] = end + 1
    return np.asarray(np.maximum.reduceat(v, idx)[0::2])


def _min_runway_m(tab: PositionTable, rows: NDArray[np.int64], legs: Legs) -> NDArray[np.float64]:
    """Runway length each leg's aircraft needs (m), from its fastest ground speed: an aircraft
    that flew faster than 150 kt (a twin turboprop or a jet) does not use a strip under 800 m."""
    fastest = leg_max(tab.groundspeed_kt[rows], legs.start, legs.end)
    return np.where(fastest > _FAST_KT, _FAST_MIN_RUNWAY_M, 0.0)


def _estimate(
    cands: tuple[AirportCandidate, ...],
    lat: float,
    lon: float,
    how: str,
    scale_km: float,
    cap: float,
) -> AirportEstimate:
    if not cands or (how == HOW_OBSERVED and cands[0].distance_km > _GROUND_RADIUS_KM):
        # On the ground where no airport is listed (carrier deck, field): say so, do not snap.
        return AirportEstimate(None, None, "unlisted", how, lat, lon, None, 0.0, cands)
    best = cands[0]
    # confidence: share against the other candidates, lowered with distance from the runway
    conf = best.probability * cap * float(np.exp(-best.distance_km / (4.0 * scale_km)))
    return AirportEstimate(
        best.code, best.name, "airport", how, lat, lon, best.distance_km, conf, cands
    )


def _unknown(index: AirportIndex, tab: PositionTable, r: int, departure: bool) -> AirportEstimate:
    lat, lon = float(tab.lat_deg[r]), float(tab.lon_deg[r])
    if departure:
        return AirportEstimate(None, None, "unknown", HOW_UNKNOWN, lat, lon, None, 0.0, ())
    course = tab.track_deg[r]
    if not np.isfinite(course):
        return AirportEstimate(None, None, "unknown", HOW_UNKNOWN, lat, lon, None, 0.0, ())
    bf = bound_for(
        index,
        f"{int(tab.icao24[r]):06x}",
        float(tab.time_s[r]),
        lat,
        lon,
        float(course),
        _f(tab.groundspeed_kt[r]),
        _f(tab.altitude_ft[r]),
        _f(tab.vertical_rate_fpm[r]),
    )
    return AirportEstimate(None, None, "unknown", HOW_ESTIMATED, lat, lon, None, 0.0, bf.candidates)


def _f(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _extrapolate(tab: PositionTable, r: int, est: AirportEstimate, departure: bool) -> float:
    """Take-off (landing) time from the first (last) airborne point: time to climb from (descend
    to) the field at the reported vertical rate (1,500 ft/min if unknown), at most 15 minutes."""
    t = float(tab.time_s[r])
    elev = est.candidates[0].elevation_ft if est.candidates else 0.0
    agl = float(tab.altitude_ft[r]) - (elev or 0.0)
    if not np.isfinite(agl) or agl <= 0:
        return t
    vr = abs(float(tab.vertical_rate_fpm[r])) if np.isfinite(tab.vertical_rate_fpm[r]) else 0.0
    vr = vr if vr >= 300.0 else 1500.0
    dt = min(agl / vr * 60.0, 900.0)
    return t - dt if departure else t + dt


def _link_unlisted_stops(
    tab: PositionTable,
    rows: NDArray[np.int64],
    legs: Legs,
    deps: list[AirportEstimate],
    arrs: list[AirportEstimate],
) -> None:
    """Last seen low and next seen low at the same place with no airport there: a stop at an
    unlisted site (carrier, field), reported as such (inferred) on both legs."""
    m = len(legs.start)
    if m < 2:
        return
    a_all, b_all = rows[legs.end[:-1]], rows[legs.start[1:]]
    none_arr = np.array([e.code is None for e in arrs[:-1]], dtype=bool)
    none_dep = np.array([e.code is None for e in deps[1:]], dtype=bool)
    maybe = (tab.icao24[a_all] == tab.icao24[b_all]) & none_arr & none_dep
    for i in np.flatnonzero(maybe).tolist():
        a, b = rows[legs.end[i]], rows[legs.start[i + 1]]
        if (
            tab.icao24[a] != tab.icao24[b]
            or arrs[i].code is not None
            or deps[i + 1].code is not None
        ):
            continue
        if tab.time_s[b] - tab.time_s[a] > _MAX_CONTINUOUS_GAP_S:
            continue
        low = all(
            np.isfinite(tab.altitude_ft[x]) and tab.altitude_ft[x] <= _UNLISTED_MAX_ALT_FT
            for x in (a, b)
        )
        near = (
            haversine_km(tab.lat_deg[a], tab.lon_deg[a], tab.lat_deg[b], tab.lon_deg[b])
            <= _UNLISTED_MAX_KM
        )
        if low and near:
            arrs[i] = AirportEstimate(
                None,
                None,
                "unlisted",
                HOW_INFERRED,
                arrs[i].lat_deg,
                arrs[i].lon_deg,
                None,
                0.0,
                arrs[i].candidates,
            )
            deps[i + 1] = AirportEstimate(
                None,
                None,
                "unlisted",
                HOW_INFERRED,
                deps[i + 1].lat_deg,
                deps[i + 1].lon_deg,
                None,
                0.0,
                deps[i + 1].candidates,
            )


def _pair_stops(
    tab: PositionTable,
    rows: NDArray[np.int64],
    legs: Legs,
    index: AirportIndex,
    deps: list[AirportEstimate],
    arrs: list[AirportEstimate],
    dep_t: NDArray[np.float64],
    arr_t: NDArray[np.float64],
    dep_how: list[str],
    arr_how: list[str],
) -> None:
    """Last seen low before a gap and first seen low after it, near each other: the stop is at
    the airport that best fits both sides (smallest sum of runway distances), inferred."""
    m = len(legs.start)
    if m < 2:
        return
    a = rows[legs.end[:-1]]
    b = rows[legs.start[1:]]
    same = tab.icao24[a] == tab.icao24[b]
    dt = tab.time_s[b] - tab.time_s[a]
    d = haversine_km(tab.lat_deg[a], tab.lon_deg[a], tab.lat_deg[b], tab.lon_deg[b])
    low = (np.nan_to_num(tab.altitude_ft[a], nan=0.0) < 10_000) & (
        np.nan_to_num(tab.altitude_ft[b], nan=0.0) < 10_000
    )
    airborne_ends = (legs.arr_kind[:-1] == 0) & (legs.dep_kind[1:] == 0)
    pick = np.flatnonzero(same & (dt < _STOP_LINK_MAX_S) & (d <= 60.0) & low & airborne_ends)
    if pick.size == 0:
        return
    ra, rb = a[pick], b[pick]
    ma = index.match(
        tab.lat_deg[ra], tab.lon_deg[ra], radius_km=_STOP_LINK_KM, heliport_penalty_km=50.0
    )
    mb = index.match(
        tab.lat_deg[rb], tab.lon_deg[rb], radius_km=_STOP_LINK_KM, heliport_penalty_km=50.0
    )
    cands_a = index.candidate_lists(ma, 5.0)
    cands_b = index.candidate_lists(mb, 5.0)
    for j, i in enumerate(pick):
        sa = {
            int(x): float(s) for x, s in zip(ma.airport[j], ma.score_km[j], strict=True) if x >= 0
        }
        sb = {
            int(x): float(s) for x, s in zip(mb.airport[j], mb.score_km[j], strict=True) if x >= 0
        }
        both = {x: sa[x] + sb[x] for x in sa.keys() & sb.keys() if index.type[x] != "heliport"}
        if not both:
            continue
        best = min(both, key=lambda x: both[x])
        code, name = str(index.code[best]), str(index.name[best])
        total = sum(np.exp(-v / 10.0) for v in both.values())
        conf = float(np.exp(-both[best] / 10.0) / total) * 0.8
        for side, r, jj in (("arr", int(ra[j]), j), ("dep", int(rb[j]), j)):
            cands = cands_a[jj] if side == "arr" else cands_b[jj]
            est = AirportEstimate(
                code,
                name,
                "airport",
                HOW_INFERRED,
                float(tab.lat_deg[r]),
                float(tab.lon_deg[r]),
                float(sa[best] if side == "arr" else sb[best]),
                conf,
                cands,
            )
            if side == "arr":
                arrs[i] = est
                arr_t[i] = _extrapolate(tab, r, est, False)
                arr_how[i] = HOW_INFERRED
            else:
                deps[i + 1] = est
                dep_t[i + 1] = _extrapolate(tab, r, est, True)
                dep_how[i + 1] = HOW_INFERRED


def _link_airport_stops(
    tab: PositionTable,
    rows: NDArray[np.int64],
    legs: Legs,
    index: AirportIndex,
    deps: list[AirportEstimate],
    arrs: list[AirportEstimate],
    dep_t: NDArray[np.float64],
    arr_t: NDArray[np.float64],
    dep_how: list[str],
    arr_how: list[str],
) -> None:
    """Across a gap between two legs, one end known at airport A and the other unknown but seen
    within reach of A (climbing out of it, or descending towards it): a stop at A, inferred."""
    m = len(legs.start)
    if m < 2:
        return
    a_all, b_all = rows[legs.end[:-1]], rows[legs.start[1:]]
    known_arr = np.array([e.code is not None for e in arrs[:-1]], dtype=bool)
    known_dep = np.array([e.code is not None for e in deps[1:]], dtype=bool)
    maybe = (
        (tab.icao24[a_all] == tab.icao24[b_all])
        & (tab.time_s[b_all] - tab.time_s[a_all] <= _STOP_LINK_MAX_S)
        & (known_arr != known_dep)
    )
    for i in np.flatnonzero(maybe).tolist():
        a, b = int(rows[legs.end[i]]), int(rows[legs.start[i + 1]])
        known, other, leaving = (
            (arrs[i], b, True) if deps[i + 1].code is None else (deps[i + 1], a, False)
        )
        if known.code is None or (arrs[i].code is not None and deps[i + 1].code is not None):
            continue
        ap = index.index_of(known.code)
        if ap is None:
            continue
        d = float(
            haversine_km(tab.lat_deg[other], tab.lon_deg[other], index.lat[ap], index.lon[ap])
        )
        elev = float(np.nan_to_num(index.elevation_ft[ap], nan=0.0))
        agl = float(tab.altitude_ft[other]) - elev
        if d > _STOP_LINK_KM or (np.isfinite(agl) and agl > 1000.0 + _SLOPE_FT_PER_KM * 1.5 * d):
            continue
        lat, lon = float(tab.lat_deg[other]), float(tab.lon_deg[other])
        est = AirportEstimate(
            known.code,
            known.name,
            "airport",
            HOW_INFERRED,
            lat,
            lon,
            d,
            known.confidence * 0.8,
            known.candidates,
        )
        if leaving:
            deps[i + 1] = est
            dep_t[i + 1] = _extrapolate(tab, other, est, True)
            dep_how[i + 1] = HOW_INFERRED
        else:
            arrs[i] = est
            arr_t[i] = _extrapolate(tab, other, est, False)
            arr_how[i] = HOW_INFERRED


def _identify(identifier: Identifier | None, hexa: str) -> tuple[str | None, str | None]:
    if identifier is None:
        return None, None
    try:
        info = identifier(hexa)
    except Exception:  # an identity lookup failure must not lose the flight
        return None, None
    if info is None:
        return None, None
    if isinstance(info, tuple):
        return (info[0] if len(info) > 0 else None, info[1] if len(info) > 1 else None)
    reg = getattr(info, "registration", None)
    typ = (
        getattr(info, "typecode", None)
        or getattr(info, "type", None)
        or getattr(info, "icao_type", None)
    )
    return (str(reg) if reg else None, str(typ) if typ else None)


def _flights(
    tab: PositionTable,
    rows: NDArray[np.int64],
    legs: Legs,
    index: AirportIndex,
    identifier: Identifier | None,
    destinations: bool = True,
) -> list[Flight]:
    m = len(legs.start)
    if m == 0:
        return []
    deps, dep_t, dep_how = _ends(tab, rows, legs, index, True, destinations)
    arrs, arr_t, arr_how = _ends(tab, rows, legs, index, False, destinations)
    _link_unlisted_stops(tab, rows, legs, deps, arrs)
    _pair_stops(tab, rows, legs, index, deps, arrs, dep_t, arr_t, dep_how, arr_how)
    _link_airport_stops(tab, rows, legs, index, deps, arrs, dep_t, arr_t, dep_how, arr_how)
    t = tab.time_s[rows]
    cum_km = legs.cum_km
    dt = np.zeros(len(rows))
    dt[1:] = np.diff(t)
    seen = np.cumsum(np.where(dt <= 60.0, dt, 0.0))
    a_raw = np.where(
        np.isfinite(tab.altitude_ft[rows]) & (legs.state == 0), tab.altitude_ft[rows], -np.inf
    )
    alt = a_raw.copy()
    if len(alt) > 2:  # 3-point median: one-point altitude spikes do not make the maximum
        a, b, c = a_raw[:-2], a_raw[1:-1], a_raw[2:]
        alt[1:-1] = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    s_arr, e_arr = legs.start, legs.end
    r0_arr, r1_arr = rows[s_arr], rows[e_arr]
    max_alt = leg_max(alt, s_arr, e_arr)
    callsigns = _leg_callsigns(tab, r0_arr, r1_arr)
    # gaps (> GAP_S) inside each leg: gap j lies between valid points j-1 and j
    gap_idx = np.flatnonzero(dt > GAP_S)
    g_lo = np.searchsorted(gap_idx, s_arr + 1)
    g_hi = np.searchsorted(gap_idx, e_arr + 1)
    gap_t0 = t[np.maximum(gap_idx - 1, 0)].tolist()
    gap_t1 = t[gap_idx].tolist()
    dur = t[e_arr] - t[s_arr]
    observed = np.where(dur > 0, (seen[e_arr] - seen[s_arr]) / np.where(dur > 0, dur, 1.0), 1.0)
    distance = (cum_km[e_arr] - cum_km[s_arr]).tolist()
    first_l = t[s_arr].tolist()
    last_l = t[e_arr].tolist()
    max_l = max_alt.tolist()
    obs_l = observed.tolist()
    dep_l = dep_t.tolist()
    arr_l = arr_t.tolist()
    npts = (e_arr - s_arr + 1).tolist()
    nmsg = (r1_arr - r0_arr + 1).tolist()
    tg_l = legs.touch_and_goes.tolist()
    r0_l, r1_l = r0_arr.tolist(), r1_arr.tolist()
    g_lo_l, g_hi_l = g_lo.tolist(), g_hi.tolist()
    hex_l = [f"{v:06x}" for v in tab.icao24[r0_arr].tolist()]
    out: list[Flight] = []
    ident_cache: dict[str, tuple[str | None, str | None]] = {}
    for i in range(m):
        hexa = hex_l[i]
        if hexa not in ident_cache:
            ident_cache[hexa] = _identify(identifier, hexa)
        reg, typ = ident_cache[hexa]
        d_t = dep_l[i] if dep_l[i] == dep_l[i] else None
        a_t = arr_l[i] if arr_l[i] == arr_l[i] else None
        mx = max_l[i]
        out.append(
            Flight(
                id=f"{hexa}-{int(d_t if d_t is not None else first_l[i])}",
                icao24=hexa,
                registration=reg,
                typecode=typ,
                callsigns=callsigns[i],
                departure=deps[i],
                departure_time_s=d_t,
                departure_how=dep_how[i],
                arrival=arrs[i],
                arrival_time_s=a_t,
                arrival_how=arr_how[i],
                first_seen_s=first_l[i],
                last_seen_s=last_l[i],
                distance_km=distance[i],
                max_altitude_ft=mx if mx != -np.inf else None,
                observed_fraction=obs_l[i],
                n_points=npts[i],
                n_messages=nmsg[i],
                gaps=tuple((gap_t0[j], gap_t1[j]) for j in range(g_lo_l[i], g_hi_l[i])),
                touch_and_goes=tg_l[i],
                row_start=r0_l[i],
                row_end=r1_l[i],
            )
        )
    return out


def _leg_callsigns(
    tab: PositionTable, r0: NDArray[np.int64], r1: NDArray[np.int64]
) -> list[tuple[str, ...]]:
    """Callsigns heard in table rows [r0, r1] of each leg, in order of first appearance."""
    m = len(r0)
    if m == 0:
        return []
    n = len(tab)
    # leg of each table row (-1 outside every leg); legs are disjoint and sorted
    mark = np.zeros(n + 1, dtype=np.int64)
    np.add.at(mark, r0, 1)
    np.add.at(mark, r1 + 1, -1)
    inside = np.cumsum(mark[:n]) > 0
    leg_of = np.searchsorted(r0, np.arange(n), side="right") - 1
    codes = tab.callsign_code
    pick = np.flatnonzero(inside & (codes >= 0))
    out: list[tuple[str, ...]] = [() for _ in range(m)]
    if pick.size == 0:
        return out
    k = len(tab.callsigns) + 1
    key = leg_of[pick].astype(np.int64) * k + codes[pick]
    uniq, first = np.unique(key, return_index=True)
    order = np.argsort(first, kind="stable")  # first appearance (rows are in leg order)
    legs_u = (uniq[order] // k).tolist()
    codes_u = (uniq[order] % k).tolist()
    words = tab.callsigns
    acc: dict[int, list[str]] = {}
    for lg, c in zip(legs_u, codes_u, strict=True):
        acc.setdefault(lg, []).append(words[c])
    for lg, cs in acc.items():
        out[lg] = tuple(cs)
    return out


def _course(tab: PositionTable, r: int) -> float:  # pragma: no cover - helper kept for callers
    return float(
        bearing_deg(tab.lat_deg[r - 1], tab.lon_deg[r - 1], tab.lat_deg[r], tab.lon_deg[r])
    )
