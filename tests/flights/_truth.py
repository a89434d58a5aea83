"""Independent ground truth for legs and their airports, from raw points and airportsdata.

Not the detector's method or data: no OurAirports runways, no hysteresis, no numba kernels, no
candidate scoring. Airports come from ``airportsdata`` (ICAO-coded airports only: reference
point and elevation). For one aircraft, sorted by time:

* Ground points: the on-ground flag where the aircraft has one, else ground speed < 50 kt
  below 10,000 ft, or no speed reported and an altitude missing or within 300 ft of the
  elevation of an airport less than 5 km away. A ground run counts only if it lasts 60 s or
  has a point slower than 50 kt (shorter, fast ones are touch-and-goes, low passes or noise).
* A *stop* separates two legs: a ground run, or a silence over 20 min with one of: over 6 h
  long (longer than the endurance of these aircraft); over 1 h at cruise (10,000 ft or more
  on both sides) with the aircraft found less than half as far away as its ground speed would
  have taken it (it went somewhere and came back: one day over Switzerland holds many such
  return flights); below 10,000 ft on both sides, last heard
  descending (altitude falling over its last 2 min, or a reported rate below -300 ft/min) or
  first heard climbing (likewise) -- the issue's rule, "last heard descending near A, next heard
  climbing out of A"; or last heard descending (first heard climbing) within 1,500 ft of the
  elevation of an airport less than 5 km away. Other silences (at cruise, or low and level:
  flying out of coverage) do not end the leg. A run with fewer than 5 points faster than 50 kt,
  or under 2 min long, is not a leg.
* The airport of an end:

  - ground points next to it (the neighbouring point on the ground, heard within 20 min; the
    ground points within 10 min of the end): the nearest airportsdata reference point to their
    median position, within 5 km; else ``None`` (a field, a carrier);
  - a stop across a silence, both sides below 10,000 ft and within 60 km: the airport that
    minimises the sum of the distances from the last point before and the first point after
    the silence, both within 40 km (both sides agree);
  - otherwise (first or last point of the data, airborne): the nearest airport within 10 km
    whose elevation is within 2,000 ft of the point's altitude; else ``None`` (unknown).

``None`` is "the truth cannot say": such an end is not scored for airports, and the detector
must not claim an *observed* airport there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import airportsdata
import numpy as np
from numpy.typing import NDArray

from overflight.flights.geo import haversine_km
from overflight.flights.records import Flight
from overflight.flights.table import PositionTable

_AP = airportsdata.load("ICAO")
_CODES = np.array(list(_AP))
_LAT = np.array([_AP[c]["lat"] for c in _CODES])
_LON = np.array([_AP[c]["lon"] for c in _CODES])
_ELEV = np.array([float(_AP[c]["elevation"] or 0.0) for c in _CODES])

GAP_S = 1200.0


@dataclass(frozen=True, slots=True)
class TruthLeg:
    """One true leg: aircraft, first and last airborne time (s), airports (None: cannot say),
    and whether each end was seen on the ground (a take-off / landing observed)."""

    icao24: str
    start_s: float
    end_s: float
    departure: str | None
    arrival: str | None
    takeoff_seen: bool
    landing_seen: bool


def nearest_airport(lat: float, lon: float, max_km: float) -> str | None:
    d = haversine_km(lat, lon, _LAT, _LON)
    i = int(np.argmin(d))
    return str(_CODES[i]) if d[i] <= max_km else None


def _one_sided(lat: float, lon: float, alt: float) -> str | None:
    d = haversine_km(lat, lon, _LAT, _LON)
    ok = (d <= 10.0) & (~np.isfinite(alt) | (np.abs(alt - _ELEV) <= 2000.0))
    if not ok.any():
        return None
    return str(_CODES[np.flatnonzero(ok)[np.argmin(d[ok])]])


def _near_field(lat: float, lon: float, alt: float, above_ft: float = 1500.0) -> bool:
    """Within 5 km of an airport and at most ``above_ft`` above its elevation."""
    d = haversine_km(lat, lon, _LAT, _LON)
    return bool(((d <= 5.0) & (np.nan_to_num(alt) - _ELEV <= above_ft)).any())


def _real_ground(
    t: NDArray[np.float64], gs: NDArray[np.float64], ground: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """Ground runs lasting 60 s or with a point below 50 kt; others are cleared."""
    out = ground.copy()
    edges = np.flatnonzero(np.diff(np.r_[0, ground.astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        slow = (np.nan_to_num(gs[a:b], nan=0.0) < 50.0).any()
        if t[b - 1] - t[a] < 60.0 and not slow:
            out[a:b] = False
    return out


def _both_sides(a: tuple[float, float], b: tuple[float, float]) -> str | None:
    da = haversine_km(a[0], a[1], _LAT, _LON)
    db = haversine_km(b[0], b[1], _LAT, _LON)
    ok = (da <= 40.0) & (db <= 40.0)
    if not ok.any():
        return None
    s = np.where(ok, da + db, np.inf)
    return str(_CODES[int(np.argmin(s))])


def _trend(
    t: NDArray[np.float64],
    alt: NDArray[np.float64],
    vr: NDArray[np.float64],
    i: int,
    forward: bool,
) -> float:
    """Altitude change (ft) over the 2 minutes after (before) point ``i`` (from the reported
    vertical rate when fewer than two altitudes were heard then)."""
    sel = (t >= t[i]) & (t <= t[i] + 120) if forward else (t <= t[i]) & (t >= t[i] - 120)
    a = alt[sel & np.isfinite(alt)]
    if a.size < 2:
        return float(vr[i] * 2.0)
    return float(a[-1] - a[0])


def _went_and_came_back(
    t: NDArray[np.float64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    alt: NDArray[np.float64],
    gs: NDArray[np.float64],
    i: int,
) -> bool:
    """A silence of over an hour at cruise (10,000 ft or more on both sides) after which the
    aircraft is less than half as far from where it was as its speed would have taken it: it
    did not fly on, it went somewhere and came back (airliners do not hold at cruise for hours)."""
    a = alt[[i, i + 1]]
    speed = gs[[i, i + 1]]
    dt = t[i + 1] - t[i]
    if dt <= 3600.0 or not (np.isfinite(a).all() and (a >= 10_000).all()):
        return False
    if not np.isfinite(speed).any():
        return False
    reach_km = float(np.nanmean(speed)) * 1.852 * dt / 3600.0
    moved_km = float(haversine_km(lat[i], lon[i], lat[i + 1], lon[i + 1]))
    return moved_km < 0.5 * reach_km


def truth_legs(tab: PositionTable) -> list[TruthLeg]:
    """The true legs of every aircraft in ``tab`` (see the module docstring)."""
    out: list[TruthLeg] = []
    starts, ends = tab.aircraft_bounds()
    for s0, e0 in zip(starts, ends, strict=True):
        t = tab.time_s[s0:e0]
        lat, lon = tab.lat_deg[s0:e0], tab.lon_deg[s0:e0]
        alt = tab.altitude_ft[s0:e0]
        gs = tab.groundspeed_kt[s0:e0]
        vr = tab.vertical_rate_fpm[s0:e0]
        flag = tab.on_ground[s0:e0]
        if (flag >= 0).any():
            ground = flag == 1
        else:
            # no speed and no altitude: a parked transponder (state vectors drop both on the ground)
            # no speed and an altitude within 300 ft of a field's elevation: standing at it
            silent = ~np.isfinite(gs) & ~np.isfinite(alt)
            for k in np.flatnonzero(~np.isfinite(gs) & np.isfinite(alt)):
                silent[k] = _near_field(lat[k], lon[k], alt[k], 300.0)
            slow = (np.nan_to_num(gs, nan=np.inf) < 50.0) & (np.nan_to_num(alt) < 10_000)
            ground = slow | silent
        ground = _real_ground(t, gs, ground)
        n = len(t)
        # cut[i]: a stop lies between point i and i+1 (or point i is on the ground)
        boundary = np.zeros(n, dtype=bool)
        for i in np.flatnonzero(np.diff(t) > GAP_S):
            low = np.nan_to_num(alt[[i, i + 1]], nan=0.0).max() < 10_000
            down = _trend(t, alt, vr, i, False)
            up = _trend(t, alt, vr, i + 1, True)
            descending = (np.isfinite(down) and down < -100) or vr[i] < -300
            climbing = (np.isfinite(up) and up > 100) or vr[i + 1] > 300
            moving = descending or climbing
            either_ground = ground[i] or ground[i + 1]
            long = t[i + 1] - t[i] > 6 * 3600.0
            landed = descending and _near_field(lat[i], lon[i], alt[i])
            left = climbing and _near_field(lat[i + 1], lon[i + 1], alt[i + 1])
            went_and_came_back = _went_and_came_back(t, lat, lon, alt, gs, i)
            if either_ground or long or (low and moving) or landed or left or went_and_came_back:
                boundary[i] = True
        # airborne runs split at ground points and at stop boundaries
        air = ~ground
        run_id = np.cumsum(np.r_[0, (boundary[:-1] | (air[1:] != air[:-1]))])
        for r in np.unique(run_id[air]):
            idx = np.flatnonzero((run_id == r) & air)
            fast = (np.nan_to_num(gs[idx]) > 50).sum()
            if fast < 5 or t[idx[-1]] - t[idx[0]] < 120:
                continue  # not a flight: under 5 points faster than 50 kt, or under 2 min
            a, b = int(idx[0]), int(idx[-1])
            dep, toff = _end(t, lat, lon, alt, ground, boundary, a, True)
            arr, land = _end(t, lat, lon, alt, ground, boundary, b, False)
            out.append(
                TruthLeg(
                    f"{int(tab.icao24[s0]):06x}", float(t[a]), float(t[b]), dep, arr, toff, land
                )
            )
    return out


def _end(
    t: NDArray[np.float64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    alt: NDArray[np.float64],
    ground: NDArray[np.bool_],
    boundary: NDArray[np.bool_],
    i: int,
    departure: bool,
) -> tuple[str | None, bool]:
    n = len(t)
    j = i - 1 if departure else i + 1
    if 0 <= j < n and ground[j] and abs(t[j] - t[i]) <= GAP_S:
        near = (np.abs(t - t[i]) <= 600) & ground
        if not near.any():  # the ground fix is more than 10 min away: no place to name
            return None, True
        code = nearest_airport(float(np.median(lat[near])), float(np.median(lon[near])), 5.0)
        return code, True
    if 0 <= j < n and boundary[min(i, j)]:
        low = np.nan_to_num(alt[[i, j]], nan=0.0).max() < 10_000
        near = haversine_km(lat[i], lon[i], lat[j], lon[j]) <= 60.0
        if low and near:
            return _both_sides((lat[i], lon[i]), (lat[j], lon[j])), False
    return _one_sided(float(lat[i]), float(lon[i]), float(alt[i])), False


@dataclass(frozen=True, slots=True)
class Score:
    """Agreement of detected flights with the truth of one file."""

    legs: int  # true legs
    found: int  # true legs matched by a detected leg
    detected: int  # detected legs
    extra: int  # detected legs matching no true leg
    ends_named: int  # true ends with an airport
    ends_right: int  # ... where the detector gives the same code
    ends_wrongly_observed: int  # true ends of None where the detector claims an observed airport
    legs_right: int  # found legs with both ends right (a None end: anything not observed)
    takeoffs: tuple[int, int, int]  # (true, detected as observed, matched)
    landings: tuple[int, int, int]

    @property
    def airport_share(self) -> float:
        return self.ends_right / self.ends_named if self.ends_named else 1.0


def agreement(tab: PositionTable, flights: Sequence[Flight]) -> Score:
    """Match true and detected legs (same aircraft, largest time overlap) and score them."""
    truth = truth_legs(tab)
    used: set[int] = set()
    found = named = right = wrong_obs = legs_right = 0
    tk_used: set[int] = set()
    ld_used: set[int] = set()
    by_ac: dict[str, list[int]] = {}
    for k, f in enumerate(flights):
        by_ac.setdefault(f.icao24, []).append(k)
    for tl in truth:
        best, best_ov = -1, 0.0
        for k in by_ac.get(tl.icao24, []):
            f = flights[k]
            ov = min(tl.end_s, f.last_seen_s) - max(tl.start_s, f.first_seen_s)
            if ov > best_ov:
                best, best_ov = k, ov
        if best < 0:
            continue
        found += 1
        used.add(best)
        f = flights[best]
        ok = []
        for code, est in ((tl.departure, f.departure), (tl.arrival, f.arrival)):
            if code is None:
                bad = est.how == "observed" and est.code is not None
                wrong_obs += bad
                ok.append(not bad)
            else:
                named += 1
                right += est.code == code
                ok.append(est.code == code)
        legs_right += all(ok)
        if tl.takeoff_seen and f.departure_how == "observed":
            tk_used.add(best)  # a detected take-off matches at most one true one
        if tl.landing_seen and f.arrival_how == "observed":
            ld_used.add(best)
    return Score(
        legs=len(truth),
        found=found,
        detected=len(flights),
        extra=len(flights) - len(used),
        ends_named=named,
        ends_right=right,
        ends_wrongly_observed=wrong_obs,
        legs_right=legs_right,
        takeoffs=(
            sum(tl.takeoff_seen for tl in truth),
            sum(f.departure_how == "observed" for f in flights),
            len(tk_used),
        ),
        landings=(
            sum(tl.landing_seen for tl in truth),
            sum(f.arrival_how == "observed" for f in flights),
            len(ld_used),
        ),
    )
