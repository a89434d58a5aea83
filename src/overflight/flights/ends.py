"""Departure and arrival of every leg as columns: airport, kind, how, time and candidates.

All legs at once, with NumPy (no per-leg Python), so that bulk rebuilds stay linear; records
(:class:`~overflight.flights.records.AirportEstimate`) are made from these columns on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from overflight.flights.airports import AirportIndex, Match
from overflight.flights.geo import KM_PER_NM, haversine_km
from overflight.flights.records import HOW_ESTIMATED, HOW_INFERRED, HOW_OBSERVED, HOW_UNKNOWN
from overflight.flights.segment import (
    ARR_GAP_GROUND,
    ARR_LANDING,
    DEP_GAP_GROUND,
    DEP_TAKEOFF,
    GAP_S,
    Legs,
)
from overflight.flights.table import PositionTable

__all__ = [
    "HOWS",
    "H_ESTIMATED",
    "H_INFERRED",
    "H_OBSERVED",
    "H_UNKNOWN",
    "KINDS",
    "K_AIRPORT",
    "K_UNKNOWN",
    "K_UNLISTED",
    "N_CANDIDATES",
    "EndColumns",
    "end_columns",
    "link_stops",
    "split_decisions",
    "trend_fpm",
]

# codes of the ``how`` and ``kind`` columns
HOWS = (HOW_OBSERVED, HOW_INFERRED, HOW_ESTIMATED, HOW_UNKNOWN)
H_OBSERVED, H_INFERRED, H_ESTIMATED, H_UNKNOWN = 0, 1, 2, 3
KINDS = ("airport", "unlisted", "unknown")
K_AIRPORT, K_UNLISTED, K_UNKNOWN = 0, 1, 2
N_CANDIDATES = 5

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

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EndColumns:
    """One end (departure or arrival) of ``m`` legs.

    ``airport``: :class:`AirportIndex` row (-1 none); ``kind``: :data:`KINDS` code; ``how``:
    how the airport was determined (:data:`HOWS` code); ``time_s``: take-off / landing time
    (epoch s, nan unknown) and ``time_how`` how it was determined; ``lat_deg``/``lon_deg``: the
    position the decision used; ``cand_*``: up to :data:`N_CANDIDATES` candidates (airport -1:
    none), best first.
    """

    airport: I64
    kind: NDArray[np.int8]
    how: NDArray[np.int8]
    lat_deg: F64
    lon_deg: F64
    distance_km: F64  # to the chosen airport's runway (nan: none)
    confidence: F64
    time_s: F64
    time_how: NDArray[np.int8]
    cand_airport: I64
    cand_distance_km: F64
    cand_probability: F64

    @classmethod
    def empty(cls, m: int) -> EndColumns:
        c = (m, N_CANDIDATES)
        return cls(
            np.full(m, -1, np.int64),
            np.full(m, K_UNKNOWN, np.int8),
            np.full(m, H_UNKNOWN, np.int8),
            np.full(m, np.nan),
            np.full(m, np.nan),
            np.full(m, np.nan),
            np.zeros(m),
            np.full(m, np.nan),
            np.full(m, H_UNKNOWN, np.int8),
            np.full(c, -1, np.int64),
            np.full(c, np.nan),
            np.zeros(c),
        )

    def set_candidates(self, at: I64, m: Match, scale_km: float) -> None:
        """Candidates of rows ``at`` from match ``m`` (probabilities from exp(-score/scale))."""
        k = N_CANDIDATES
        self.cand_airport[at] = m.airport[:, :k]
        self.cand_distance_km[at] = np.where(m.airport[:, :k] >= 0, m.distance_km[:, :k], np.nan)
        self.cand_probability[at] = probabilities(m, scale_km)[:, :k]

    def copy_candidates(self, at: I64, src: EndColumns, src_at: I64) -> None:
        self.cand_airport[at] = src.cand_airport[src_at]
        self.cand_distance_km[at] = src.cand_distance_km[src_at]
        self.cand_probability[at] = src.cand_probability[src_at]


def probabilities(m: Match, scale_km: float) -> F64:
    """Share of each candidate of every row: exp(-(score - best) / scale), normalised."""
    ok = m.airport >= 0
    if ok.shape[0] == 0:
        return np.zeros(ok.shape)
    sc = np.where(ok, m.score_km, 0.0)
    best = np.where(ok[:, 0], sc[:, 0], 0.0)
    w = np.where(ok, np.exp(-(sc - best[:, None]) / scale_km), 0.0)
    return np.asarray(w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300))


def trend_fpm(tab: PositionTable, rows: I64, i: I64, step: int) -> F64:
    """Altitude change per minute between valid point ``i`` and ``i+step`` (same aircraft), else
    the reported vertical rate."""
    n = len(rows)
    j = np.clip(i + step, 0, max(n - 1, 0))
    a, b = rows[np.minimum(i, j)], rows[np.maximum(i, j)]
    same = tab.icao24[a] == tab.icao24[b]
    dt = tab.time_s[b] - tab.time_s[a]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (tab.altitude_ft[b] - tab.altitude_ft[a]) / np.where(dt > 0, dt, np.nan) * 60.0
    ok = same & (dt > 0) & (dt < 900) & np.isfinite(rate)
    return np.where(ok, rate, tab.vertical_rate_fpm[rows[i]])


def split_decisions(
    tab: PositionTable, rows: I64, state: NDArray[np.int8], gap_after: I64
) -> NDArray[np.bool_]:
    """For the air->air coverage gaps after valid points ``gap_after``, whether the flight ends.

    One flight across the gap when the aircraft could not have stopped (the gap is shorter than a
    descent, a turnaround and a climb), when the distance covered fits its ground speed, or when
    it cruises at the same level on both sides at a plausible speed; otherwise split.
    Returns a flag per valid point (True: the flight ends in the gap after it).
    """
    n = len(rows)
    split = np.zeros(n, dtype=bool)
    g = gap_after[(state[gap_after] == 0) & (state[gap_after + 1] == 0)]
    if g.size == 0:
        return split
    a, b = rows[g], rows[g + 1]
    dtg = tab.time_s[b] - tab.time_s[a]
    d_km = haversine_km(tab.lat_deg[a], tab.lon_deg[a], tab.lat_deg[b], tab.lon_deg[b])
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
    down = trend_fpm(tab, rows, g, -6)  # rate over the points before the gap
    up = trend_fpm(tab, rows, g + 1, 6)  # rate over the points after it
    descending = (down < -300.0) | (tab.vertical_rate_fpm[a] < -300.0)
    climbing = (up > 300.0) | (tab.vertical_rate_fpm[b] > 300.0)
    level_low = (np.maximum(alt_a, alt_b) < 10_000) & ~descending & ~climbing
    cont = (too_short | fits_speed | cruise | level_low) & (dtg < _MAX_CONTINUOUS_GAP_S)
    split[g] = ~cont
    return split


def _extrapolate(tab: PositionTable, r: I64, elev_ft: F64, departure: bool) -> F64:
    """Take-off (landing) time from the first (last) airborne table rows ``r``: time to climb
    from (descend to) the field (elevation ``elev_ft``, nan: sea level) at the reported vertical
    rate (1,500 ft/min if unknown or under 300), at most 15 minutes."""
    t = tab.time_s[r]
    agl = tab.altitude_ft[r] - np.nan_to_num(elev_ft, nan=0.0)
    vr = np.abs(tab.vertical_rate_fpm[r])
    vr = np.where(np.isfinite(vr) & (vr >= 300.0), vr, 1500.0)
    dt = np.where(np.isfinite(agl) & (agl > 0), np.minimum(agl / vr * 60.0, 900.0), 0.0)
    return np.asarray(t - dt if departure else t + dt)


def _first_elevation(index: AirportIndex, cand: I64) -> F64:
    """Elevation (ft; nan none) of the first candidate of each row."""
    c0 = cand[:, 0] if cand.ndim == 2 else cand
    return np.where(c0 >= 0, index.elevation_ft[np.maximum(c0, 0)], np.nan)


def leg_max(values: F64, start: I64, end: I64) -> F64:
    """Maximum of ``values`` over each inclusive range [start, end] (nan ignored; -inf if none).

    Ranges must be sorted and disjoint (legs are)."""
    if len(start) == 0:
        return np.zeros(0)
    v = np.concatenate([np.where(np.isfinite(values), values, -np.inf), [-np.inf]])
    idx = np.empty(2 * len(start), dtype=np.int64)
    idx[0::2] = start
    idx[1::2] = end + 1
    return np.asarray(np.maximum.reduceat(v, idx)[0::2])


def _min_runway_m(tab: PositionTable, rows: I64, legs: Legs) -> F64:
    """Runway length each leg's aircraft needs (m), from its fastest ground speed: an aircraft
    that flew faster than 150 kt (a twin turboprop or a jet) does not use a strip under 800 m."""
    gs = _leg_max_rows(tab.groundspeed_kt, rows, legs.start, legs.end)
    return np.where(gs > _FAST_KT, _FAST_MIN_RUNWAY_M, 0.0)


def _leg_max_rows(values: F64, rows: I64, start: I64, end: I64) -> F64:
    """Maximum of ``values[rows[j]]`` over j in each leg [start, end]."""
    if len(start) == 0:
        return np.zeros(0)
    lo, hi = int(start[0]), int(end[-1]) + 1
    return leg_max(values[rows[lo:hi]], start - lo, end - lo)


def end_columns(
    tab: PositionTable, rows: I64, legs: Legs, index: AirportIndex, departure: bool
) -> EndColumns:
    """Airport estimate, time and how each was determined, for one end of every leg."""
    m = len(legs.start)
    out = EndColumns.empty(m)
    if m == 0:
        return out
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
    out.lat_deg[:] = tab.lat_deg[gr]
    out.lon_deg[:] = tab.lon_deg[gr]
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
    trend = trend_fpm(tab, rows, air_pt[ai], 6 if departure else -6)
    trend = trend if departure else -trend
    best = ma.airport[:, 0]
    has = best >= 0
    safe = np.maximum(best, 0)
    elev = np.nan_to_num(index.elevation_ft[safe], nan=0.0)
    agl = alt - elev
    fits = (
        has
        & ~index.is_heliport[safe]
        & (ma.altitude_charge_km[:, 0] <= 1e-9)
        & (~np.isfinite(agl) | (agl <= _INFER_MAX_AGL_FT))
        & (~np.isfinite(trend) | (trend > -300.0))
    )
    # observed on the ground: the airport whose runway is within 5 km, else an unlisted site
    pg = probabilities(mg, _GROUND_RADIUS_KM)
    d0 = mg.distance_km[:, 0]
    listed = (mg.airport[:, 0] >= 0) & (d0 <= _GROUND_RADIUS_KM)
    out.set_candidates(og, mg, _GROUND_RADIUS_KM)
    out.airport[og] = np.where(listed, mg.airport[:, 0], -1)
    out.kind[og] = np.where(listed, K_AIRPORT, K_UNLISTED)
    out.how[og] = H_OBSERVED
    with np.errstate(invalid="ignore", over="ignore"):
        conf_g = pg[:, 0] * np.exp(-d0 / (4.0 * _GROUND_RADIUS_KM))
    out.distance_km[og] = np.where(listed, d0, np.nan)
    out.confidence[og] = np.where(listed, conf_g, 0.0)
    # airborne, fitting a climb from / descent to the best airport: inferred there
    fi = ai[fits]
    ma_fit = _rows_of(ma, np.flatnonzero(fits))
    out.set_candidates(fi, ma_fit, 3.0)
    out.airport[fi] = ma_fit.airport[:, 0]
    out.kind[fi] = K_AIRPORT
    out.how[fi] = H_INFERRED
    out.distance_km[fi] = ma_fit.distance_km[:, 0]
    out.confidence[fi] = (
        out.cand_probability[fi, 0] * 0.9 * np.exp(-ma_fit.distance_km[:, 0] / 12.0)
    )
    # times: observed at a take-off/landing seen without a gap; else extrapolated from the
    # airborne end to the field's elevation
    elev_all = np.zeros(m)
    elev_all[og] = np.where(
        mg.airport[:, 0] >= 0,
        np.nan_to_num(index.elevation_ft[np.maximum(mg.airport[:, 0], 0)]),
        0.0,
    )
    elev_all[ai] = np.where(has, elev, 0.0)
    extrap = _extrapolate(tab, ar, elev_all, departure)
    contiguous = kind == (DEP_TAKEOFF if departure else ARR_LANDING)
    t_obs = tab.time_s[ar] if departure else tab.time_s[gr]
    out.time_s[:] = np.where(observed_ground & contiguous, t_obs, extrap)
    out.time_how[og] = np.where(contiguous[og], H_OBSERVED, H_INFERRED)
    out.time_how[fi] = H_INFERRED
    nf = ai[~fits]
    out.time_s[nf] = np.nan
    return out


def _rows_of(m: Match, r: I64) -> Match:
    return Match(
        m.airport[r], m.penalty_km[r], m.distance_km[r], m.score_km[r], m.altitude_charge_km[r]
    )


def link_stops(
    tab: PositionTable,
    rows: I64,
    legs: Legs,
    index: AirportIndex,
    dep: EndColumns,
    arr: EndColumns,
) -> None:
    """Evidence across the stop between consecutive legs of one aircraft (in place):
    an unlisted site seen on both sides, the airport that fits both sides, or a known airport on
    one side that the other side is within reach of."""
    if len(legs.start) < 2:
        return
    _link_unlisted_stops(tab, rows, legs, dep, arr)
    _pair_stops(tab, rows, legs, index, dep, arr)
    _link_airport_stops(tab, rows, legs, index, dep, arr)


def _link_unlisted_stops(
    tab: PositionTable, rows: I64, legs: Legs, dep: EndColumns, arr: EndColumns
) -> None:
    """Last seen low and next seen low at the same place with no airport there: a stop at an
    unlisted site (carrier, field), reported as such (inferred) on both legs."""
    a, b = rows[legs.end[:-1]], rows[legs.start[1:]]
    alt_a, alt_b = tab.altitude_ft[a], tab.altitude_ft[b]
    with np.errstate(invalid="ignore"):
        low = (
            np.isfinite(alt_a)
            & (alt_a <= _UNLISTED_MAX_ALT_FT)
            & np.isfinite(alt_b)
            & (alt_b <= _UNLISTED_MAX_ALT_FT)
        )
    near = haversine_km(tab.lat_deg[a], tab.lon_deg[a], tab.lat_deg[b], tab.lon_deg[b])
    i = np.flatnonzero(
        (tab.icao24[a] == tab.icao24[b])
        & (arr.airport[:-1] < 0)
        & (dep.airport[1:] < 0)
        & (tab.time_s[b] - tab.time_s[a] <= _MAX_CONTINUOUS_GAP_S)
        & low
        & (near <= _UNLISTED_MAX_KM)
    )
    for side, at in ((arr, i), (dep, i + 1)):
        side.kind[at] = K_UNLISTED
        side.how[at] = H_INFERRED
        side.distance_km[at] = np.nan
        side.confidence[at] = 0.0


def _pair_stops(
    tab: PositionTable,
    rows: I64,
    legs: Legs,
    index: AirportIndex,
    dep: EndColumns,
    arr: EndColumns,
) -> None:
    """Last seen low before a gap and first seen low after it, near each other: the stop is at
    the airport that best fits both sides (smallest sum of runway distances), inferred."""
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
    aa, ab = ma.airport, mb.airport
    eq = (aa[:, :, None] == ab[:, None, :]) & (aa[:, :, None] >= 0)
    eq &= ~index.is_heliport[np.maximum(aa, 0)][:, :, None]
    with np.errstate(invalid="ignore"):
        both = np.where(eq, ma.score_km[:, :, None] + mb.score_km[:, None, :], np.inf)
    p, k = aa.shape
    flat = both.reshape(p, k * k)
    bi = np.argmin(flat, axis=1)
    r = np.arange(p)
    bv = flat[r, bi]
    ok = np.isfinite(bv)
    total = np.where(eq, np.exp(-np.where(eq, both, 0.0) / 10.0), 0.0).sum(axis=(1, 2))
    conf = np.exp(-np.where(ok, bv, 0.0) / 10.0) / np.maximum(total, 1e-300) * 0.8
    ia, ib = bi // k, bi % k
    best = aa[r, ia]
    sel = np.flatnonzero(ok)
    for side, at, m, col, rr, departure in (
        (arr, pick[sel], ma, ia, ra, False),
        (dep, pick[sel] + 1, mb, ib, rb, True),
    ):
        mm = _rows_of(m, sel)
        side.set_candidates(at, mm, 5.0)
        side.airport[at] = best[sel]
        side.kind[at] = K_AIRPORT
        side.how[at] = H_INFERRED
        side.lat_deg[at] = tab.lat_deg[rr[sel]]
        side.lon_deg[at] = tab.lon_deg[rr[sel]]
        side.distance_km[at] = m.score_km[sel, col[sel]]
        side.confidence[at] = conf[sel]
        side.time_s[at] = _extrapolate(tab, rr[sel], _first_elevation(index, mm.airport), departure)
        side.time_how[at] = H_INFERRED


def _link_airport_stops(
    tab: PositionTable,
    rows: I64,
    legs: Legs,
    index: AirportIndex,
    dep: EndColumns,
    arr: EndColumns,
) -> None:
    """Across a gap between two legs, one end known at airport A and the other unknown but seen
    within reach of A (climbing out of it, or descending towards it): a stop at A, inferred."""
    a_all, b_all = rows[legs.end[:-1]], rows[legs.start[1:]]
    known_arr = arr.airport[:-1] >= 0
    known_dep = dep.airport[1:] >= 0
    maybe = (
        (tab.icao24[a_all] == tab.icao24[b_all])
        & (tab.time_s[b_all] - tab.time_s[a_all] <= _STOP_LINK_MAX_S)
        & (known_arr != known_dep)
    )
    i = np.flatnonzero(maybe)
    leaving = known_arr[i]  # arrived at A, next leg's departure unknown
    # (known side, its leg index; target side, its leg index; the point seen near A)
    k_leg = np.where(leaving, i, i + 1)
    t_leg = np.where(leaving, i + 1, i)
    other = np.where(leaving, b_all[i], a_all[i])
    ap = np.where(leaving, arr.airport[i], dep.airport[i + 1])
    d = haversine_km(tab.lat_deg[other], tab.lon_deg[other], index.lat[ap], index.lon[ap])
    elev = np.nan_to_num(index.elevation_ft[ap], nan=0.0)
    agl = tab.altitude_ft[other] - elev
    with np.errstate(invalid="ignore"):
        ok = (d <= _STOP_LINK_KM) & ~(
            np.isfinite(agl) & (agl > 1000.0 + _SLOPE_FT_PER_KM * 1.5 * d)
        )
    for side, src, departure in ((dep, arr, True), (arr, dep, False)):
        s = np.flatnonzero(ok & (leaving == departure))
        at, kl, o = t_leg[s], k_leg[s], other[s]
        side.airport[at] = ap[s]
        side.kind[at] = K_AIRPORT
        side.how[at] = H_INFERRED
        side.lat_deg[at] = tab.lat_deg[o]
        side.lon_deg[at] = tab.lon_deg[o]
        side.distance_km[at] = d[s]
        side.confidence[at] = src.confidence[kl] * 0.8
        side.copy_candidates(at, src, kl)
        side.time_s[at] = _extrapolate(
            tab, o, _first_elevation(index, src.cand_airport[kl]), departure
        )
        side.time_how[at] = H_INFERRED


def gap_bounds(t: F64, start: I64, end: I64) -> tuple[I64, I64, I64]:
    """Coverage gaps (> GAP_S) between valid points: indices ``j`` (the gap lies between valid
    points j-1 and j) and, per leg, the range [lo, hi) of its gaps in that list."""
    dt = np.zeros(len(t))
    dt[1:] = np.diff(t)
    gap_idx = np.flatnonzero(dt > GAP_S)
    return gap_idx, np.searchsorted(gap_idx, start + 1), np.searchsorted(gap_idx, end + 1)
