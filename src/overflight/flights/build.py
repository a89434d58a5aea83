"""Flights from a position table: legs, their airports and times (pure function of the table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from overflight.flights.airports import AirportIndex, Match, default_index
from overflight.flights.geo import KM_PER_NM, bearing_deg, haversine_km
from overflight.flights.itinerary import bound_for
from overflight.flights.records import (
    HOW_ESTIMATED,
    HOW_INFERRED,
    HOW_OBSERVED,
    HOW_UNKNOWN,
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
    gs = np.nanmean(np.stack([tab.groundspeed_kt[a], tab.groundspeed_kt[b]]), axis=0)
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
    cont = (too_short | fits_speed | cruise) & (dtg < _MAX_CONTINUOUS_GAP_S)
    split[g] = ~cont
    return split


def find_flights(
    tab: PositionTable,
    index: AirportIndex | None = None,
    identifier: Identifier | None = None,
    params: Params = Params(),
    destinations: bool = True,
) -> FlightsResult:
    """Detect legs and their departure/arrival airports and times in a sorted position table.

    ``destinations``: rank "bound for" candidates for legs whose arrival was not seen (about
    0.4 ms per such leg; turn off for bulk rebuilds)."""
    index = index or default_index()
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
    """Airport estimate, time and how the time was determined, for one end of every leg."""
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
    # Ground points: runway distance only (baro altitude on the ground is often missing or raw).
    mg = index.match(
        tab.lat_deg[gr], tab.lon_deg[gr], tab.altitude_ft[gr], radius_km=_GROUND_RADIUS_KM * 2
    )
    # Airborne ends: runway distance with an altitude that must fit a descent or climb to the field.
    alt = tab.altitude_ft[ar]
    ma = index.match(
        tab.lat_deg[ar],
        tab.lon_deg[ar],
        alt,
        radius_km=_INFER_RADIUS_KM,
        slope_ft_per_km=_SLOPE_FT_PER_KM,
        heliport_penalty_km=_HELIPORT_AIRBORNE_PENALTY_KM,
    )
    step = 6 if departure else -6
    trend = _trend_fpm(tab, rows, air_pt, step)
    trend = (
        trend if departure else -trend
    )  # positive = moving away from the ground (climb on departure)
    # departure: rate measured from start forward (climb > 0); arrival: from end backward, so
    # -trend > 0 means it was climbing into the end: flip sign so that "descending" is negative.
    out: list[AirportEstimate] = []
    times = np.full(m, np.nan)
    hows: list[str] = []
    t_air = tab.time_s[ar]
    for i in range(m):
        lat, lon = float(tab.lat_deg[gr[i]]), float(tab.lon_deg[gr[i]])
        if observed_ground[i]:
            est = _estimate(index, mg, i, lat, lon, HOW_OBSERVED, _GROUND_RADIUS_KM, 1.0)
            out.append(est)
            contiguous = kind[i] == (DEP_TAKEOFF if departure else ARR_LANDING)
            if contiguous:
                # take-off: first airborne point; landing: first ground point (touchdown)
                times[i] = t_air[i] if departure else tab.time_s[gr[i]]
                hows.append(HOW_OBSERVED)
            else:
                times[i] = _extrapolate(tab, int(ar[i]), est, departure)
                hows.append(HOW_INFERRED)
            continue
        ok = ma.airport[i, 0] >= 0
        fits = False
        if ok:
            d0 = float(ma.distance_km[i, 0])
            s0 = float(ma.score_km[i, 0])
            elev = float(np.nan_to_num(index.elevation_ft[ma.airport[i, 0]], nan=0.0))
            agl = float(alt[i] - elev) if np.isfinite(alt[i]) else float("nan")
            level_ok = not np.isfinite(agl) or agl <= _INFER_MAX_AGL_FT
            moving_ok = (
                not np.isfinite(trend[i]) or trend[i] > -300.0
            )  # climbing out / descending in
            best = int(ma.airport[i, 0])
            no_altitude_charge = float(ma.penalty_km[i, 0]) <= float(index.penalty_km[best]) + 1e-9
            fits = index.type[best] != "heliport" and no_altitude_charge and level_ok and moving_ok
            del d0, s0
        if fits:
            est = _estimate(
                index,
                ma,
                i,
                float(tab.lat_deg[ar[i]]),
                float(tab.lon_deg[ar[i]]),
                HOW_INFERRED,
                3.0,
                0.9,
            )
            out.append(est)
            times[i] = _extrapolate(tab, int(ar[i]), est, departure)
            hows.append(HOW_INFERRED)
        else:
            out.append(_unknown(index, tab, int(ar[i]), departure or not destinations))
            hows.append(HOW_UNKNOWN)
    return out, times, hows


def _estimate(
    index: AirportIndex,
    m: Match,
    i: int,
    lat: float,
    lon: float,
    how: str,
    scale_km: float,
    cap: float,
) -> AirportEstimate:
    cands = index.candidates(m, i, scale_km)
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
    for i in range(len(legs.start) - 1):
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
        for side, r, mm, jj in (("arr", int(ra[j]), ma, j), ("dep", int(rb[j]), mb, j)):
            cands = index.candidates(mm, jj, 5.0)
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
    for i in range(len(legs.start) - 1):
        a, b = int(rows[legs.end[i]]), int(rows[legs.start[i + 1]])
        if tab.icao24[a] != tab.icao24[b] or tab.time_s[b] - tab.time_s[a] > _STOP_LINK_MAX_S:
            continue
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
    step_km = np.zeros(len(rows))
    if len(rows) > 1:
        step_km[1:] = haversine_km(
            tab.lat_deg[rows[:-1]],
            tab.lon_deg[rows[:-1]],
            tab.lat_deg[rows[1:]],
            tab.lon_deg[rows[1:]],
        )
    cum_km = np.cumsum(step_km)
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
    max_alt = np.maximum.reduceat(alt, legs.start) if m else np.zeros(0)
    # reduceat runs to the next start; legs end earlier, so recompute where ground rows follow
    gap_idx = np.flatnonzero(dt > GAP_S)
    out: list[Flight] = []
    ident_cache: dict[str, tuple[str | None, str | None]] = {}
    for i in range(m):
        s, e = int(legs.start[i]), int(legs.end[i])
        r0, r1 = int(rows[s]), int(rows[e])
        hexa = f"{int(tab.icao24[r0]):06x}"
        if hexa not in ident_cache:
            ident_cache[hexa] = _identify(identifier, hexa)
        reg, typ = ident_cache[hexa]
        codes = tab.callsign_code[r0 : r1 + 1]
        uniq = np.unique(codes[codes >= 0])
        # keep first-appearance order
        if uniq.size > 1:
            first = [int(np.argmax(codes == c)) for c in uniq]
            uniq = uniq[np.argsort(first)]
        cs = tuple(tab.callsigns[int(c)] for c in uniq)
        ma = float(np.max(alt[s : e + 1])) if e - s < 4096 or i + 1 >= m else float(max_alt[i])
        dur = float(t[e] - t[s])
        g0, g1 = np.searchsorted(gap_idx, [s + 1, e + 1])
        gaps = tuple((float(t[j - 1]), float(t[j])) for j in gap_idx[g0:g1])
        d_t = None if not np.isfinite(dep_t[i]) else float(dep_t[i])
        a_t = None if not np.isfinite(arr_t[i]) else float(arr_t[i])
        first_s = float(t[s])
        out.append(
            Flight(
                id=f"{hexa}-{int(d_t if d_t is not None else first_s)}",
                icao24=hexa,
                registration=reg,
                typecode=typ,
                callsigns=cs,
                departure=deps[i],
                departure_time_s=d_t,
                departure_how=dep_how[i],
                arrival=arrs[i],
                arrival_time_s=a_t,
                arrival_how=arr_how[i],
                first_seen_s=first_s,
                last_seen_s=float(t[e]),
                distance_km=float(cum_km[e] - cum_km[s]),
                max_altitude_ft=None if not np.isfinite(ma) else ma,
                observed_fraction=float((seen[e] - seen[s]) / dur) if dur > 0 else 1.0,
                n_points=e - s + 1,
                n_messages=r1 - r0 + 1,
                gaps=gaps,
                touch_and_goes=int(legs.touch_and_goes[i]),
                row_start=r0,
                row_end=r1,
            )
        )
    return out


def _course(tab: PositionTable, r: int) -> float:  # pragma: no cover - helper kept for callers
    return float(
        bearing_deg(tab.lat_deg[r - 1], tab.lon_deg[r - 1], tab.lat_deg[r], tab.lon_deg[r])
    )
