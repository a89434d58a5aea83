"""Flights from a position table: legs, their airports and times (pure function of the table).

:func:`find_flights` computes every leg's airports, times and statistics as columns
(:class:`FlightColumns`: linear in the table, no per-leg Python, for bulk rebuilds); the
:class:`~overflight.flights.records.Flight` records are made from them on first use of
:attr:`FlightsResult.flights`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.flights.airports import AirportIndex, default_index
from overflight.flights.ends import (
    H_ESTIMATED,
    HOWS,
    K_UNKNOWN,
    KINDS,
    N_CANDIDATES,
    EndColumns,
    end_columns,
    gap_bounds,
    leg_max,
    link_stops,
    split_decisions,
)
from overflight.flights.itinerary import bound_for
from overflight.flights.records import (
    AirportCandidate,
    AirportEstimate,
    Flight,
)
from overflight.flights.segment import GAP_S, Legs, Params, build_legs, ground_state
from overflight.flights.table import PositionTable

__all__ = ["FlightColumns", "FlightsResult", "Identifier", "find_flights", "leg_max"]

Identifier = Callable[[str], Any]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FlightColumns:
    """Every leg as columns (one row per leg, in (icao24, time) order). Times epoch s; nan:
    unknown. ``gap_*``: coverage gaps (start s, end s), leg ``i`` owning
    ``[gap_lo[i], gap_hi[i])``; ``callsign_code`` (codes into the table's ``callsigns``), leg
    ``i`` owning ``[callsign_lo[i], callsign_hi[i])`` in order of first appearance."""

    icao24: NDArray[np.uint32]
    first_seen_s: F64
    last_seen_s: F64
    distance_km: F64
    max_altitude_ft: F64
    observed_fraction: F64
    n_points: I64
    n_messages: I64
    touch_and_goes: NDArray[np.int32]
    row_start: I64
    row_end: I64
    departure: EndColumns
    arrival: EndColumns
    gap_start_s: F64
    gap_end_s: F64
    gap_lo: I64
    gap_hi: I64
    callsign_code: NDArray[np.int32]
    callsign_lo: I64
    callsign_hi: I64

    def __len__(self) -> int:
        return int(self.icao24.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class FlightsResult:
    """Flights of a table: columns (:attr:`columns`), records on demand (:attr:`flights`) and the
    per-point evidence behind them (:attr:`legs`)."""

    columns: FlightColumns
    n_positions: int
    n_valid: int
    legs: Legs
    index: AirportIndex
    callsigns: tuple[str, ...]
    identifier: Identifier | None = None
    bound_for: dict[int, tuple[AirportCandidate, ...]] = field(default_factory=dict)
    _records: list[tuple[Flight, ...]] = field(default_factory=list, repr=False)

    @property
    def flights(self) -> tuple[Flight, ...]:
        """The legs as :class:`Flight` records (made on first use, then kept)."""
        if not self._records:
            self._records.append(_records(self))
        return self._records[0]

    def codes(self, departure: bool) -> NDArray[np.object_]:
        """ICAO codes (``None`` where no airport) of every leg's departure or arrival."""
        ap = (self.columns.departure if departure else self.columns.arrival).airport
        out = np.asarray(self.index.code[np.maximum(ap, 0)], dtype=object)
        out[ap < 0] = None
        return out


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
    rows = np.flatnonzero(valid & (state_all >= 0))
    del valid
    state = state_all[rows]
    del state_all
    t = tab.time_s[rows]
    ac = tab.icao24[rows]
    gap_after = np.flatnonzero((np.diff(t) > GAP_S) & (ac[1:] == ac[:-1]))
    del ac
    split = split_decisions(tab, rows, state, gap_after)
    legs = build_legs(tab, rows, state, split, params, t)
    del split
    dep = end_columns(tab, rows, legs, index, True)
    arr = end_columns(tab, rows, legs, index, False)
    link_stops(tab, rows, legs, index, dep, arr)
    cols = _columns(tab, rows, t, legs, dep, arr)
    bf: dict[int, tuple[AirportCandidate, ...]] = {}
    if destinations:
        bf = _bound_for(tab, rows, legs, index, arr)
    return FlightsResult(cols, len(tab), len(rows), legs, index, tab.callsigns, identifier, bf)


def _bound_for(
    tab: PositionTable, rows: I64, legs: Legs, index: AirportIndex, arr: EndColumns
) -> dict[int, tuple[AirportCandidate, ...]]:
    """Ranked destinations of the legs whose arrival is unknown (last seen airborne)."""
    out: dict[int, tuple[AirportCandidate, ...]] = {}
    for i in np.flatnonzero(arr.kind == K_UNKNOWN).tolist():
        r = int(rows[legs.end[i]])
        course = tab.track_deg[r]
        if not np.isfinite(course):
            continue
        b = bound_for(
            index,
            f"{int(tab.icao24[r]):06x}",
            float(tab.time_s[r]),
            float(tab.lat_deg[r]),
            float(tab.lon_deg[r]),
            float(course),
            _f(tab.groundspeed_kt[r]),
            _f(tab.altitude_ft[r]),
            _f(tab.vertical_rate_fpm[r]),
        )
        arr.how[i] = H_ESTIMATED
        out[i] = b.candidates
    return out


def _f(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _columns(
    tab: PositionTable, rows: I64, t: F64, legs: Legs, dep: EndColumns, arr: EndColumns
) -> FlightColumns:
    s, e = legs.start, legs.end
    r0, r1 = rows[s], rows[e]
    max_alt, seen = _leg_stats(rows, t, tab.altitude_ft, legs.state, s, e)
    dur = t[e] - t[s]
    observed = np.where(dur > 0, seen / np.where(dur > 0, dur, 1.0), 1.0)
    gap_idx, g_lo, g_hi = gap_bounds(t, s, e)
    cs_code, cs_lo, cs_hi = _leg_callsigns(tab, r0, r1)
    return FlightColumns(
        icao24=tab.icao24[r0],
        first_seen_s=t[s],
        last_seen_s=t[e],
        distance_km=legs.cum_km[e] - legs.cum_km[s],
        max_altitude_ft=max_alt,
        observed_fraction=observed,
        n_points=e - s + 1,
        n_messages=r1 - r0 + 1,
        touch_and_goes=legs.touch_and_goes,
        row_start=r0,
        row_end=r1,
        departure=dep,
        arrival=arr,
        gap_start_s=t[np.maximum(gap_idx - 1, 0)],
        gap_end_s=t[gap_idx],
        gap_lo=g_lo,
        gap_hi=g_hi,
        callsign_code=cs_code,
        callsign_lo=cs_lo,
        callsign_hi=cs_hi,
    )


@numba.njit(cache=True)
def _leg_stats(
    rows: I64,
    t: F64,
    alt: F64,
    state: NDArray[np.int8],
    start: I64,
    end: I64,
) -> tuple[F64, F64]:
    """Per leg: highest airborne altitude (ft; nan if none) after a 3-point median over the
    valid points (one-point spikes do not make the maximum), and the observed time (s: the sum
    of steps of at most 60 s)."""
    n = rows.shape[0]
    m = start.shape[0]
    mx = np.full(m, np.nan)
    seen = np.zeros(m)
    for i in range(m):
        best = -np.inf
        acc = 0.0
        for k in range(start[i], end[i] + 1):
            if k > start[i]:
                dt = t[k] - t[k - 1]
                if dt <= 60.0:
                    acc += dt
            v = _air_alt(rows, alt, state, k)
            if 0 < k < n - 1:
                a = _air_alt(rows, alt, state, k - 1)
                c = _air_alt(rows, alt, state, k + 1)
                v = max(min(a, v), min(max(a, v), c))
            best = max(best, v)
        if best > -np.inf:
            mx[i] = best
        seen[i] = acc
    return mx, seen


@numba.njit(cache=True)
def _air_alt(rows: I64, alt: F64, state: NDArray[np.int8], k: int) -> float:
    v = alt[rows[k]]
    return v if state[k] == 0 and np.isfinite(v) else -np.inf


def _leg_callsigns(tab: PositionTable, r0: I64, r1: I64) -> tuple[NDArray[np.int32], I64, I64]:
    """Callsigns heard in table rows [r0, r1] of each leg, in order of first appearance, as
    (codes, per-leg start, per-leg end) into the codes."""
    m = len(r0)
    if m == 0 or len(tab.callsigns) == 0:
        z = np.zeros(m, np.int64)
        return np.zeros(0, np.int32), z, z
    lo, hi = int(r0[0]), int(r1[-1]) + 1
    codes = tab.callsign_code[lo:hi]
    # only rows where the callsign changes can add one (rows are in leg order)
    change = np.ones(len(codes), dtype=bool)
    change[1:] = codes[1:] != codes[:-1]
    pick = np.flatnonzero(change & (codes >= 0)) + lo
    # legs start a new run even when the callsign does not change
    pick = np.union1d(pick, r0[tab.callsign_code[r0] >= 0])
    leg = np.searchsorted(r0, pick, side="right") - 1
    inside = (leg >= 0) & (pick <= r1[np.maximum(leg, 0)])
    pick, leg = pick[inside], leg[inside]
    k = len(tab.callsigns) + 1
    key = leg.astype(np.int64) * k + tab.callsign_code[pick]
    _, first = np.unique(key, return_index=True)
    first.sort()  # first appearance (rows are in leg order)
    legs_u = leg[first]
    codes_u = tab.callsign_code[pick[first]].astype(np.int32)
    return (
        codes_u,
        np.searchsorted(legs_u, np.arange(m), side="left"),
        np.searchsorted(legs_u, np.arange(m), side="right"),
    )


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


def _estimates(
    end: EndColumns, index: AirportIndex, extra: dict[int, tuple[AirportCandidate, ...]]
) -> list[AirportEstimate]:
    """:class:`AirportEstimate` records of one end of every leg."""
    m = len(end.airport)
    ap_l = end.airport.tolist()
    c_ap = end.cand_airport.tolist()
    # only the airports these ends name (the index holds tens of thousands)
    used = sorted({a for a in ap_l if a >= 0}
                  | {a for row in c_ap for a in row[:N_CANDIDATES] if a >= 0})
    at = np.asarray(used, np.int64)
    codes = dict(zip(used, index.code[at].tolist(), strict=True))
    names = dict(zip(used, index.name[at].tolist(), strict=True))
    elev = {a: None if e != e else float(e)
            for a, e in zip(used, index.elevation_ft[at].tolist(), strict=True)}
    kind_l = end.kind.tolist()
    how_l = end.how.tolist()
    lat_l = end.lat_deg.tolist()
    lon_l = end.lon_deg.tolist()
    d_l = end.distance_km.tolist()
    conf_l = end.confidence.tolist()
    c_d = end.cand_distance_km.tolist()
    c_p = end.cand_probability.tolist()
    out: list[AirportEstimate] = []
    for i in range(m):
        if i in extra:
            cands = extra[i]
        else:
            cands = tuple(
                AirportCandidate(codes[a], names[a], c_d[i][j], elev[a], c_p[i][j])
                for j, a in enumerate(c_ap[i][:N_CANDIDATES])
                if a >= 0
            )
        a = ap_l[i]
        d = d_l[i]
        out.append(
            AirportEstimate(
                codes[a] if a >= 0 else None,
                names[a] if a >= 0 else None,
                KINDS[kind_l[i]],
                HOWS[how_l[i]],
                lat_l[i],
                lon_l[i],
                None if d != d else d,
                conf_l[i],
                cands,
            )
        )
    return out


def _records(res: FlightsResult) -> tuple[Flight, ...]:
    c = res.columns
    m = len(c)
    if m == 0:
        return ()
    deps = _estimates(c.departure, res.index, {})
    arrs = _estimates(c.arrival, res.index, res.bound_for)
    dep_t, arr_t = c.departure.time_s.tolist(), c.arrival.time_s.tolist()
    dep_h, arr_h = c.departure.time_how.tolist(), c.arrival.time_how.tolist()
    first_l, last_l = c.first_seen_s.tolist(), c.last_seen_s.tolist()
    dist_l, max_l = c.distance_km.tolist(), c.max_altitude_ft.tolist()
    obs_l, npts, nmsg = c.observed_fraction.tolist(), c.n_points.tolist(), c.n_messages.tolist()
    tg_l, r0_l, r1_l = c.touch_and_goes.tolist(), c.row_start.tolist(), c.row_end.tolist()
    g0, g1 = c.gap_start_s.tolist(), c.gap_end_s.tolist()
    glo, ghi = c.gap_lo.tolist(), c.gap_hi.tolist()
    cs = [res.callsigns[k] for k in c.callsign_code.tolist()]
    clo, chi = c.callsign_lo.tolist(), c.callsign_hi.tolist()
    hex_l = [f"{v:06x}" for v in c.icao24.tolist()]
    ident: dict[str, tuple[str | None, str | None]] = {}
    out: list[Flight] = []
    for i in range(m):
        hexa = hex_l[i]
        if hexa not in ident:
            ident[hexa] = _identify(res.identifier, hexa)
        reg, typ = ident[hexa]
        d_t = dep_t[i] if dep_t[i] == dep_t[i] else None
        a_t = arr_t[i] if arr_t[i] == arr_t[i] else None
        mx = max_l[i]
        out.append(
            Flight(
                id=f"{hexa}-{int(d_t if d_t is not None else first_l[i])}",
                icao24=hexa,
                registration=reg,
                typecode=typ,
                callsigns=tuple(cs[clo[i] : chi[i]]),
                departure=deps[i],
                departure_time_s=d_t,
                departure_how=HOWS[dep_h[i]],
                arrival=arrs[i],
                arrival_time_s=a_t,
                arrival_how=HOWS[arr_h[i]],
                first_seen_s=first_l[i],
                last_seen_s=last_l[i],
                distance_km=dist_l[i],
                max_altitude_ft=None if mx != mx else mx,
                observed_fraction=obs_l[i],
                n_points=npts[i],
                n_messages=nmsg[i],
                gaps=tuple((g0[j], g1[j]) for j in range(glo[i], ghi[i])),
                touch_and_goes=tg_l[i],
                row_start=r0_l[i],
                row_end=r1_l[i],
            )
        )
    return tuple(out)
