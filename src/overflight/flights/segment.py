"""Take-off / landing detection and leg splitting over a sorted :class:`PositionTable`.

Three passes, all over whole columns (no per-aircraft Python):

1. :func:`ground_state` (Numba): per point, drop stale repeats and impossible jumps, then decide
   ground / airborne from the on-ground flag where present, else from ground speed, and smooth
   it with hysteresis so that noise does not create take-offs or landings.
2. :func:`gap_sides`: for each coverage gap with the aircraft airborne on both sides, the
   evidence of each side (altitude, speed, climb or descent).
3. :func:`build_legs` (Numba): walks episodes (ground / air runs and gaps) into legs, given the
   decision taken for each gap (continue the flight, or split it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.flights.geo import haversine_km
from overflight.flights.table import PositionTable
from overflight.geo import haversine_km_scalar

__all__ = [
    "ARR_GAP_GROUND",
    "ARR_LANDING",
    "ARR_LAST_SEEN",
    "DEP_FIRST_SEEN",
    "DEP_GAP_GROUND",
    "DEP_TAKEOFF",
    "GAP_S",
    "Legs",
    "Params",
    "build_legs",
    "ground_state",
]

GAP_S = 300.0  # a silence longer than this is a coverage gap (s)

DEP_FIRST_SEEN = 0  # leg starts airborne (start of data or after a gap)
DEP_TAKEOFF = 1  # ground -> air transition observed
DEP_GAP_GROUND = 2  # on the ground before a gap, airborne after it
ARR_LAST_SEEN = 0
ARR_LANDING = 1
ARR_GAP_GROUND = 2


@dataclass(frozen=True, slots=True)
class Params:
    """Thresholds (hand-set from aviation practice; see tests for the data they were checked on)."""

    ground_speed_kt: float = 45.0  # slower than this with no flag: on the ground
    max_flag_speed_kt: float = 200.0  # an on-ground flag faster than this is noise
    min_run_points: int = 3  # a state change must persist this many points...
    min_run_s: float = 20.0  # ...or this long
    stop_min_s: float = 40.0  # a ground episode shorter than this with no taxi speed: touch-and-go
    max_speed_kt: float = 900.0  # implied speed above this between points: a jump (noise)
    min_leg_s: float = 60.0  # shorter airborne legs are noise
    min_leg_points: int = 5
    max_ground_gap_s: float = 3600.0  # ground seen after a longer silence: not this leg's airport
    min_leg_km: float = 2.0  # legs that do not go anywhere are flag noise (a parked aircraft)


@numba.njit(cache=True)
def _ground_state_kernel(
    starts: NDArray[np.int64],
    ends: NDArray[np.int64],
    t: NDArray[np.float64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    alt: NDArray[np.float64],
    gs: NDArray[np.float64],
    flag: NDArray[np.int8],
    ground_speed_kt: float,
    max_flag_speed_kt: float,
    min_run_points: int,
    min_run_s: float,
    max_speed_kt: float,
    gap_s: float,
) -> tuple[NDArray[np.bool_], NDArray[np.int8]]:
    n = t.shape[0]
    valid = np.zeros(n, dtype=np.bool_)
    raw = np.full(n, -1, dtype=np.int8)
    state = np.full(n, -1, dtype=np.int8)
    for a in range(starts.shape[0]):
        s, e = starts[a], ends[a]
        # 1. validity: stale repeats while moving, and jumps faster than max_speed_kt.
        last = -1
        rejected = 0
        for i in range(s, e):
            if last < 0:
                valid[i] = True
                last = i
                continue
            dt = t[i] - t[last]
            same = lat[i] == lat[last] and lon[i] == lon[last]
            moving = gs[i] == gs[i] and gs[i] > ground_speed_kt
            if same and moving and (alt[i] == alt[last] or alt[i] != alt[i]):
                continue  # a stale state vector repeated by the feed: no new information
            d_km = haversine_km_scalar(lat[last], lon[last], lat[i], lon[i])
            v_kt = d_km / 1.852 / max(dt, 1.0) * 3600.0
            if v_kt > max_speed_kt and d_km > 2.0:
                rejected += 1
                if rejected < 4:
                    continue
            rejected = 0
            valid[i] = True
            last = i
        # 2. raw ground/air per valid point.
        for i in range(s, e):
            if not valid[i]:
                continue
            f = flag[i]
            g = gs[i]
            if f == 1 and g == g and g > max_flag_speed_kt:
                f = -1
            if f >= 0:
                raw[i] = f
            elif g == g:
                raw[i] = 1 if g < ground_speed_kt else 0
            elif alt[i] == alt[i] and alt[i] > 3000.0:
                raw[i] = 0
        # 3. forward/backward fill unknowns within the aircraft.
        cur = -1
        for i in range(s, e):
            if valid[i]:
                if raw[i] >= 0:
                    cur = raw[i]
                state[i] = cur
        cur = -1
        for i in range(e - 1, s - 1, -1):
            if valid[i]:
                if state[i] >= 0:
                    cur = state[i]
                elif cur >= 0:
                    state[i] = cur
        # 4. hysteresis: flip short runs (unless they touch a gap or the end of data) to the
        #    state of the run before them.
        i = s
        prev_state = -1
        prev_t = -1e18
        while i < e:
            if not valid[i]:
                i += 1
                continue
            j = i
            cnt = 0
            last_v = i
            touches_gap = (prev_state < 0) or (t[i] - prev_t > gap_s)
            while j < e:
                if valid[j]:
                    if state[j] != state[i] or (cnt > 0 and t[j] - t[last_v] > gap_s):
                        break
                    cnt += 1
                    last_v = j
                j += 1
            # j is the first valid point of the next run (or e)
            if j >= e or t[j] - t[last_v] > gap_s:
                touches_gap = True
            dur = t[last_v] - t[i]
            weak = cnt < min_run_points and dur < min_run_s
            if weak and not touches_gap and prev_state >= 0 and state[i] != prev_state:
                for k in range(i, j):
                    if valid[k]:
                        state[k] = prev_state
            else:
                prev_state = state[i]
            prev_t = t[last_v]
            i = j
    return valid, state


def ground_state(
    tab: PositionTable, p: Params | None = None
) -> tuple[NDArray[np.bool_], NDArray[np.int8]]:
    """Per point: (valid, state) with state 1 on the ground, 0 airborne, -1 unknown."""
    p = p or Params()
    starts, ends = tab.aircraft_bounds()
    return _ground_state_kernel(
        starts,
        ends,
        tab.time_s,
        tab.lat_deg,
        tab.lon_deg,
        tab.altitude_ft,
        tab.groundspeed_kt,
        tab.on_ground,
        p.ground_speed_kt,
        p.max_flag_speed_kt,
        p.min_run_points,
        p.min_run_s,
        p.max_speed_kt,
        GAP_S,
    )


@dataclass(frozen=True, slots=True)
class Legs:
    """Legs as row ranges of the *valid-point* arrays (``rows`` maps them to table rows)."""

    rows: NDArray[np.int64]  # table row of each valid point
    state: NDArray[np.int8]  # 1 ground / 0 airborne, per valid point
    start: NDArray[np.int64]  # first valid point of the leg (inclusive)
    end: NDArray[np.int64]  # last valid point of the leg (inclusive)
    dep_kind: NDArray[np.int8]
    arr_kind: NDArray[np.int8]
    dep_ground: NDArray[np.int64]  # valid point on the ground at departure (-1 none)
    arr_ground: NDArray[np.int64]  # valid point on the ground at arrival (-1 none)
    touch_and_goes: NDArray[np.int32]
    cum_km: NDArray[np.float64]  # cumulative great-circle distance along the valid points


@numba.njit(cache=True)
def _keep(
    t: NDArray[np.float64],
    cum_km: NDArray[np.float64],
    rows: NDArray[np.int64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    s: int,
    e: int,
    min_s: float,
    min_pts: int,
    min_km: float,
) -> bool:
    if not (t[e] - t[s] >= min_s and e - s + 1 >= min_pts and cum_km[e] - cum_km[s] >= min_km):
        return False
    # the path length alone is not enough: position jitter of a parked transponder adds up to
    # kilometres; the aircraft must also get ``min_km`` away from where the leg began
    a = rows[s]
    for k in range(s + 1, e + 1):
        b = rows[k]
        if haversine_km_scalar(lat[a], lon[a], lat[b], lon[b]) >= min_km:
            return True
    return False


@numba.njit(cache=True)
def _legs_kernel(
    ac: NDArray[np.uint32],
    t: NDArray[np.float64],
    gs: NDArray[np.float64],
    cum_km: NDArray[np.float64],
    rows: NDArray[np.int64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    state: NDArray[np.int8],
    split_after: NDArray[np.bool_],
    gap_s: float,
    ground_speed_kt: float,
    stop_min_s: float,
    min_leg_s: float,
    min_leg_points: int,
    min_leg_km: float,
    max_ground_gap_s: float,
) -> tuple[
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int8],
    NDArray[np.int8],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int32],
]:
    n = t.shape[0]
    cap = n // 2 + 1
    L_s = np.empty(cap, np.int64)
    L_e = np.empty(cap, np.int64)
    L_dk = np.empty(cap, np.int8)
    L_ak = np.empty(cap, np.int8)
    L_dg = np.empty(cap, np.int64)
    L_ag = np.empty(cap, np.int64)
    L_tg = np.empty(cap, np.int32)
    m = 0
    i = 0
    while i < n:
        # aircraft run [i, j)
        j = i
        while j < n and ac[j] == ac[i]:
            j += 1
        open_leg = False
        leg_s = 0
        leg_last_air = 0
        dk = 0
        dg = -1
        tg = 0
        k = i
        while k < j:
            # episode [k, q): same state, no gap inside
            q = k + 1
            while q < j and state[q] == state[k] and t[q] - t[q - 1] <= gap_s:
                q += 1
            gap_before = k == i or t[k] - t[k - 1] > gap_s
            gap_after = q == j or t[q] - t[q - 1] > gap_s
            close = False  # the open leg ends here, arriving (ak, ag)
            ak = 0
            ag = -1
            if state[k] == 0:
                if not open_leg:
                    open_leg = True
                    leg_s = k
                    tg = 0
                    if k > i and state[k - 1] == 1 and t[k] - t[k - 1] <= max_ground_gap_s:
                        dk = 2 if gap_before else 1
                        dg = k - 1
                    else:
                        dk = 0
                        dg = -1
                leg_last_air = q - 1
                # air -> gap -> air judged a split, or the aircraft's last episode
                close = q == j or (gap_after and state[q] == 0 and split_after[q - 1])
            elif open_leg:
                dur = t[q - 1] - t[k]
                slow = False
                for r in range(k, q):
                    if gs[r] != gs[r] or gs[r] < ground_speed_kt:
                        slow = True
                        break
                close = slow or dur >= stop_min_s or gap_after or gap_before
                if close:
                    long_gap = gap_before and t[k] - t[k - 1] > max_ground_gap_s
                    ak = 0 if long_gap else (2 if gap_before else 1)
                    ag = -1 if long_gap else k
                else:
                    tg += 1
            if close:
                if _keep(
                    t,
                    cum_km,
                    rows,
                    lat,
                    lon,
                    leg_s,
                    leg_last_air,
                    min_leg_s,
                    min_leg_points,
                    min_leg_km,
                ):
                    L_s[m] = leg_s
                    L_e[m] = leg_last_air
                    L_dk[m] = dk
                    L_ak[m] = ak
                    L_dg[m] = dg
                    L_ag[m] = ag
                    L_tg[m] = tg
                    m += 1
                open_leg = False
            k = q
        i = j
    return L_s[:m], L_e[:m], L_dk[:m], L_ak[:m], L_dg[:m], L_ag[:m], L_tg[:m]


@numba.njit(cache=True)
def _cum_km(
    rows: NDArray[np.int64],
    ac: NDArray[np.uint32],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Cumulative great-circle distance (km) along table rows ``rows`` (0 across aircraft)."""
    n = rows.shape[0]
    out = np.zeros(n)
    acc = 0.0
    for k in range(1, n):
        a, b = rows[k - 1], rows[k]
        if ac[a] == ac[b]:
            acc += haversine_km_scalar(lat[a], lon[a], lat[b], lon[b])
        out[k] = acc
    return out


def build_legs(
    tab: PositionTable,
    rows: NDArray[np.int64],
    state: NDArray[np.int8],
    split_after: NDArray[np.bool_],
    p: Params | None = None,
    time_s: NDArray[np.float64] | None = None,
) -> Legs:
    """Legs over the valid points ``rows`` (with their ``state``).

    ``split_after[i]`` says whether the air->air gap after valid point ``i`` ends the flight;
    ``time_s``: ``tab.time_s[rows]`` when the caller has it already."""
    p = p or Params()
    ac = tab.icao24[rows]
    cum_km = _cum_km(rows, tab.icao24, tab.lat_deg, tab.lon_deg)
    s, e, dk, ak, dg, ag, tg = _legs_kernel(
        ac,
        tab.time_s[rows] if time_s is None else time_s,
        tab.groundspeed_kt[rows],
        cum_km,
        rows,
        tab.lat_deg,
        tab.lon_deg,
        state,
        split_after,
        GAP_S,
        p.ground_speed_kt,
        p.stop_min_s,
        p.min_leg_s,
        p.min_leg_points,
        p.min_leg_km,
        p.max_ground_gap_s,
    )
    return Legs(rows, state, s, e, dk, ak, dg, ag, tg, cum_km)


def gap_distance_km(
    tab: PositionTable, rows: NDArray[np.int64], before: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Great-circle distance across each gap (valid point ``before`` to the next)."""
    a = rows[before]
    b = rows[before + 1]
    return haversine_km(tab.lat_deg[a], tab.lon_deg[a], tab.lat_deg[b], tab.lon_deg[b])
