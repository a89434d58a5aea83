"""Gate-to-gate flight profiles: taxi, take-off roll on a real runway, climb, cruise, descent,
final approach, landing roll, taxi in, parked; multi-stop journeys with ground time.

A :class:`Trajectory` is a densely sampled truth (1 s on the ground and near airports, up to
30 s in cruise) interpolated at any time; :func:`plan_journey` builds one from legs between
airports (:mod:`overflight.sim.airports`) for an aircraft type (:data:`AIRCRAFT_TYPES`).

Performance by type (:class:`AircraftType`) is a small table of our own, from published
manufacturer figures and typical operations (OpenAP 2.6.2, the open performance model on PyPI,
installs but models 37 Western types, none of IL62, A124 or AT72, so one table serves all types
and no dependency is added): rotation and approach speeds, climb and
descent rates below and above FL100, cruise speed and level. The horizontal route is the
great circle from the departure runway's end (plus a straight climb-out of
:data:`CLIMB_OUT_KM`) to an intermediate fix on the arrival runway's extended centre line
(:data:`FINAL_KM` out), then straight in. Winds are not modelled: ground speed = true airspeed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.geo import destination
from overflight.sim.airports import SimAirport, SimRunway
from overflight.sim.geo import EARTH_RADIUS_M, latlon_to_unit, unit_to_latlon
from overflight.sim.kinematics import KT_TO_M_S, Horizontal, _bearing_deg

__all__ = [
    "AIRCRAFT_TYPES",
    "CLIMB_OUT_KM",
    "FINAL_KM",
    "AircraftType",
    "Leg",
    "LegTruth",
    "Trajectory",
    "plan_journey",
]

F64 = npt.NDArray[np.float64]
CLIMB_OUT_KM = 8.0
"""Straight climb-out along the runway heading before turning onto the great circle."""
FINAL_KM = 30.0
"""Straight-in final: the route joins the arrival runway's extended centre line this far out."""
_GLIDE_DEG = 3.0


@dataclass(frozen=True, slots=True)
class AircraftType:
    """Speeds (kt, true), rates (ft/min), cruise level (ft) and ground handling of one type.

    ``rotate_kt`` lift-off speed at the end of the ``roll_m`` take-off roll; ``approach_kt``
    final approach and touchdown speed, ``landing_roll_m`` from touchdown to taxi speed.
    """

    code: str
    description: str
    rotate_kt: float
    climb_kt: float  # below FL100
    cruise_kt: float
    cruise_ft: float
    climb_fpm_low: float
    climb_fpm_high: float
    descent_fpm: float
    approach_kt: float
    roll_m: float
    landing_roll_m: float
    taxi_kt: float = 15.0
    category: str = "A5"


AIRCRAFT_TYPES: dict[str, AircraftType] = {
    t.code: t
    for t in (
        AircraftType("IL62", "Ilyushin Il-62M", 165, 270, 470, 35_000, 2_200, 1_200, 2_000, 150,
                     2_300, 1_500),
        AircraftType("A124", "Antonov An-124-100 Ruslan", 155, 260, 430, 33_000, 1_800, 1_000,
                     1_800, 140, 2_500, 1_300),
        AircraftType("A320", "Airbus A320", 145, 250, 450, 37_000, 2_500, 1_500, 2_200, 137,
                     1_700, 1_200, category="A3"),
        AircraftType("B738", "Boeing 737-800", 150, 250, 455, 37_000, 2_500, 1_500, 2_200, 142,
                     1_800, 1_300, category="A3"),
        AircraftType("E190", "Embraer E190", 140, 250, 440, 35_000, 2_500, 1_500, 2_200, 130,
                     1_500, 1_100, category="A3"),
        AircraftType("AT72", "ATR 72", 105, 180, 275, 22_000, 1_500, 1_000, 1_500, 110,
                     1_100, 900, category="A2"),
        AircraftType("B77W", "Boeing 777-300ER", 170, 250, 490, 37_000, 2_200, 1_200, 2_200, 150,
                     2_800, 1_600),
    )
}  # fmt: skip
"""Built-in types by ICAO type designator."""


@dataclass(frozen=True, slots=True)
class Leg:
    """One flight of a journey: from ``origin`` to ``destination`` off blocks at
    ``off_block_s`` (seconds since the scenario start), optional runway idents and cruise
    level; ``adsb_off`` windows are carried by the aircraft, not the leg."""

    origin: SimAirport
    destination: SimAirport
    off_block_s: float
    departure_runway: str | None = None
    arrival_runway: str | None = None
    cruise_ft: float | None = None
    callsign: str = ""


@dataclass(frozen=True, slots=True)
class LegTruth:
    """What really happened on one leg (seconds since the scenario start, degrees)."""

    origin: str
    destination: str
    off_block_s: float
    takeoff_s: float
    landing_s: float
    on_block_s: float
    departure_runway: str
    arrival_runway: str
    takeoff_lat_deg: float
    takeoff_lon_deg: float
    landing_lat_deg: float
    landing_lon_deg: float
    cruise_ft: float
    distance_km: float


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """Sampled truth: times (s since the scenario start, increasing), positions, barometric
    altitude (ft), ground speed (kt), track (deg), vertical rate (ft/min), on the ground.

    :meth:`at` interpolates linearly (track through its sine and cosine); before the first and
    after the last sample the aircraft is held there. Also a path for
    :class:`~overflight.sim.scenario.Aircraft` (``altitude`` via :meth:`altitude_at`).
    """

    t_s: F64
    lat_deg: F64
    lon_deg: F64
    altitude_ft: F64
    groundspeed_kt: F64
    track_deg: F64
    vertical_rate_fpm: F64
    on_ground: npt.NDArray[np.bool_]

    def _interp(self, t: F64) -> tuple[F64, npt.NDArray[np.int64]]:
        tc = np.clip(t, self.t_s[0], self.t_s[-1])
        k = np.clip(np.searchsorted(self.t_s, tc, side="right") - 1, 0, len(self.t_s) - 2)
        dt = self.t_s[k + 1] - self.t_s[k]
        w = (tc - self.t_s[k]) / np.where(dt > 0, dt, 1.0)
        return w, k

    def at(self, t_s: npt.ArrayLike) -> Horizontal:
        """Horizontal state at times ``t_s``."""
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        w, k = self._interp(t)
        u = latlon_to_unit(self.lat_deg, self.lon_deg)
        p = u[k] * (1.0 - w)[:, None] + u[k + 1] * w[:, None]
        p /= np.linalg.norm(p, axis=-1, keepdims=True)
        lat, lon = unit_to_latlon(p)
        gs = self.groundspeed_kt[k] * (1.0 - w) + self.groundspeed_kt[k + 1] * w
        r = np.radians(self.track_deg)
        s = np.sin(r[k]) * (1.0 - w) + np.sin(r[k + 1]) * w
        c = np.cos(r[k]) * (1.0 - w) + np.cos(r[k + 1]) * w
        trk = np.degrees(np.arctan2(s, c)) % 360.0
        return Horizontal(lat, lon, gs, trk)

    def altitude_at(self, t_s: npt.ArrayLike) -> tuple[F64, F64]:
        """(altitude ft, vertical rate ft/min) at times ``t_s``."""
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        w, k = self._interp(t)
        alt = self.altitude_ft[k] * (1.0 - w) + self.altitude_ft[k + 1] * w
        vr = np.where(w < 0.5, self.vertical_rate_fpm[k], self.vertical_rate_fpm[k + 1])
        return alt, vr

    def ground_at(self, t_s: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """On the ground at times ``t_s`` (the flag of the nearest earlier sample)."""
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        k = np.clip(np.searchsorted(self.t_s, t, side="right") - 1, 0, len(self.t_s) - 1)
        out: npt.NDArray[np.bool_] = self.on_ground[k]
        return out

    @property
    def start_s(self) -> float:
        return float(self.t_s[0])

    @property
    def end_s(self) -> float:
        return float(self.t_s[-1])

    @staticmethod
    def concat(parts: list[Trajectory]) -> Trajectory:
        """Join trajectories in time order (a later part's samples at or before the previous
        part's last time are dropped)."""
        keep: list[Trajectory] = []
        last = -math.inf
        for p in parts:
            m = p.t_s > last
            keep.append(
                Trajectory(
                    p.t_s[m], p.lat_deg[m], p.lon_deg[m], p.altitude_ft[m], p.groundspeed_kt[m],
                    p.track_deg[m], p.vertical_rate_fpm[m], p.on_ground[m],
                )
            )  # fmt: skip
            if m.any():
                last = float(p.t_s[m][-1])
        return Trajectory(*(np.concatenate([getattr(k, f) for k in keep]) for f in _FIELDS))


_FIELDS = (
    "t_s", "lat_deg", "lon_deg", "altitude_ft", "groundspeed_kt", "track_deg",
    "vertical_rate_fpm", "on_ground",
)  # fmt: skip


class _Polyline:
    """Great-circle polyline with positions and tracks by along-path distance (m)."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        pts = [points[0]]
        for p in points[1:]:
            if abs(p[0] - pts[-1][0]) + abs(p[1] - pts[-1][1]) > 1e-9:
                pts.append(p)
        if len(pts) < 2:
            pts.append((pts[0][0] + 1e-6, pts[0][1]))
        w = np.asarray(pts, np.float64)
        u = latlon_to_unit(w[:, 0], w[:, 1])
        self.a, b = u[:-1], u[1:]
        dot = np.clip((self.a * b).sum(-1), -1.0, 1.0)
        self.seg = np.arctan2(np.linalg.norm(np.cross(self.a, b), axis=-1), dot)
        perp = b - dot[:, None] * self.a
        n = np.linalg.norm(perp, axis=-1, keepdims=True)
        self.tang = perp / np.where(n > 0, n, 1.0)
        self.cum = np.concatenate([[0.0], np.cumsum(self.seg)]) * EARTH_RADIUS_M
        self.length_m = float(self.cum[-1])

    def at(self, s_m: F64) -> tuple[F64, F64, F64]:
        s = np.clip(s_m, 0.0, self.length_m)
        k = np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.seg) - 1)
        phi = (s - self.cum[k]) / EARTH_RADIUS_M
        pos = np.cos(phi)[:, None] * self.a[k] + np.sin(phi)[:, None] * self.tang[k]
        vel = -np.sin(phi)[:, None] * self.a[k] + np.cos(phi)[:, None] * self.tang[k]
        lat, lon = unit_to_latlon(pos)
        return lat, lon, _bearing_deg(pos, vel)


def _dest(lat: float, lon: float, brg: float, km: float) -> tuple[float, float]:
    la, lo = destination(lat, lon, brg, km)
    return float(la), float(lo)


def _gate(ap: SimAirport, rw: SimRunway, seed: int) -> tuple[float, float]:
    """A parking position: beside the runway, 400-700 m off its middle (side by seed)."""
    mid_lat = (rw.threshold_lat_deg + rw.end_lat_deg) / 2
    mid_lon = (rw.threshold_lon_deg + rw.end_lon_deg) / 2
    side = 90.0 if seed % 2 == 0 else -90.0
    return _dest(mid_lat, mid_lon, rw.heading_deg + side, 0.4 + 0.1 * (seed % 4))


@dataclass
class _Seg:
    """Samples of one phase: time, along-path distance, altitude, speed, vertical rate, ground."""

    t: list[float]
    s: list[float]
    h: list[float]
    v: list[float]
    vr: list[float]
    g: list[bool]

    def add(self, t: float, s: float, h: float, v: float, vr: float, g: bool) -> None:
        self.t.append(t)
        self.s.append(s)
        self.h.append(h)
        self.v.append(v)
        self.vr.append(vr)
        self.g.append(g)


def _climb_speed(h_agl: float, h: float, ty: AircraftType, cruise_ft: float) -> float:
    if h < 10_000.0:
        return min(ty.rotate_kt + (ty.climb_kt - ty.rotate_kt) * h_agl / 3_000.0, ty.climb_kt)
    return ty.climb_kt + (ty.cruise_kt - ty.climb_kt) * min(
        (h - 10_000.0) / max(cruise_ft - 10_000.0, 1.0), 1.0
    )


def _climb(ty: AircraftType, elev: float, cruise_ft: float, dt: float = 2.0) -> F64:
    """(t, s_m, h_ft, v_kt, vr_fpm) from lift-off to the top of climb."""
    t, s, h = 0.0, 0.0, elev
    rows = []
    while True:
        rate = ty.climb_fpm_low if h < 10_000.0 else ty.climb_fpm_high * (
            1.0 - 0.5 * (h - 10_000.0) / max(cruise_ft - 10_000.0, 1.0)
        )
        v = _climb_speed(h - elev, h, ty, cruise_ft)
        if h >= cruise_ft:
            rows.append((t, s, cruise_ft, v, 0.0))
            break
        rows.append((t, s, h, v, rate))
        h = min(h + rate * dt / 60.0, cruise_ft)
        s += v * KT_TO_M_S * dt
        t += dt
    return np.asarray(rows)


def _descent(ty: AircraftType, elev: float, cruise_ft: float, dt: float = 2.0) -> F64:
    """(t_before_touchdown, s_m_before_touchdown, h_ft, v_kt, vr_fpm) backwards from touchdown
    to the top of descent (a 3 degree final below 3,000 ft above the field)."""
    t, s, h = 0.0, 0.0, elev
    rows = []
    while True:
        agl = h - elev
        if agl < 3_000.0:
            v = ty.approach_kt + (min(ty.climb_kt, 210.0) - ty.approach_kt) * max(
                agl - 1_500.0, 0.0
            ) / 1_500.0
            rate = v * KT_TO_M_S * math.tan(math.radians(_GLIDE_DEG)) / 0.3048 * 60.0
        elif h < 10_000.0:
            v, rate = ty.climb_kt, ty.descent_fpm * 0.7
        else:
            v = ty.climb_kt + (ty.cruise_kt - ty.climb_kt) * min(
                (h - 10_000.0) / max(cruise_ft - 10_000.0, 1.0), 1.0
            )
            rate = ty.descent_fpm
        if h >= cruise_ft:
            rows.append((t, s, cruise_ft, v, 0.0))
            break
        rows.append((t, s, h, v, -rate))
        h = min(h + rate * dt / 60.0, cruise_ft)
        s += v * KT_TO_M_S * dt
        t += dt
    return np.asarray(rows)


def _flight(
    leg: Leg, ty: AircraftType, seed: int, gate: tuple[float, float] | None = None
) -> tuple[Trajectory, LegTruth]:
    o, d = leg.origin, leg.destination
    brg = math.degrees(
        math.atan2(
            math.sin(math.radians(d.lon_deg - o.lon_deg)) * math.cos(math.radians(d.lat_deg)),
            math.cos(math.radians(o.lat_deg)) * math.sin(math.radians(d.lat_deg))
            - math.sin(math.radians(o.lat_deg)) * math.cos(math.radians(d.lat_deg))
            * math.cos(math.radians(d.lon_deg - o.lon_deg)),
        )
    ) % 360.0
    rw_dep = o.runway(leg.departure_runway, toward_deg=brg)
    rw_arr = d.runway(leg.arrival_runway, toward_deg=(brg + 0.0))
    gate_dep = gate if gate is not None else _gate(o, rw_dep, seed)
    gate_arr = _gate(d, rw_arr, seed + 1)
    # ground path at the departure: gate -> threshold (taxi); runway (roll)
    thr = (rw_dep.threshold_lat_deg, rw_dep.threshold_lon_deg)
    ground_out = _Polyline([gate_dep, thr])
    rot_m = min(ty.roll_m, rw_dep.length_m * 0.85)
    lift = _dest(*thr, rw_dep.heading_deg, rot_m / 1000.0)
    out_pt = _dest(*thr, rw_dep.heading_deg, rot_m / 1000.0 + CLIMB_OUT_KM)
    thr_a = (rw_arr.threshold_lat_deg, rw_arr.threshold_lon_deg)
    touch = _dest(*thr_a, rw_arr.heading_deg, 0.4)
    final = _dest(*thr_a, rw_arr.heading_deg + 180.0, FINAL_KM)
    air = _Polyline([lift, out_pt, final, touch])
    roll_end = _dest(*touch, rw_arr.heading_deg, ty.landing_roll_m / 1000.0)
    exit_pt = _dest(*roll_end, rw_arr.heading_deg + 90.0 * (1 if seed % 2 else -1), 0.15)
    ground_in = _Polyline([touch, roll_end, exit_pt, gate_arr])
    elev_o, elev_d = o.elevation_ft, d.elevation_ft
    cruise = leg.cruise_ft or ty.cruise_ft
    while True:
        cl = _climb(ty, elev_o, cruise)
        de = _descent(ty, elev_d, cruise)
        if cl[-1, 1] + de[-1, 1] <= air.length_m or cruise <= max(elev_o, elev_d) + 3_000.0:
            break
        cruise -= 1_000.0
    taxi_v = ty.taxi_kt * KT_TO_M_S
    seg = _Seg([], [], [], [], [], [])
    t = leg.off_block_s
    # taxi out, then 40 s lined up on the runway
    n = max(int(ground_out.length_m / taxi_v), 1)
    for i in range(n + 1):
        seg.add(t + i * ground_out.length_m / taxi_v / n, ground_out.length_m * i / n, elev_o,
                ty.taxi_kt, 0.0, True)  # fmt: skip
    t = seg.t[-1] + 40.0
    base = ground_out.length_m
    seg.add(t, base, elev_o, 0.0, 0.0, True)
    # roll: constant acceleration to the rotation speed over rot_m
    v_rot = ty.rotate_kt * KT_TO_M_S
    t_roll = 2.0 * rot_m / v_rot
    for i in range(1, int(t_roll) + 1):
        tt = min(float(i), t_roll)
        a = v_rot / t_roll
        seg.add(t + tt, base + 0.5 * a * tt * tt, elev_o, a * tt / KT_TO_M_S, 0.0, True)
    t_off = t + t_roll
    base += rot_m
    air_seg = _Seg([], [], [], [], [], [])
    for row in cl:
        air_seg.add(t_off + row[0], row[1], row[2], row[3], row[4], False)
    cruise_len = air.length_m - cl[-1, 1] - de[-1, 1]
    t_toc = t_off + cl[-1, 0]
    v_cr = cl[-1, 3] * KT_TO_M_S
    t_tod = t_toc + cruise_len / v_cr
    n = max(int((t_tod - t_toc) / 30.0), 1)
    for i in range(1, n + 1):
        air_seg.add(t_toc + (t_tod - t_toc) * i / n, cl[-1, 1] + cruise_len * i / n, cruise,
                    cl[-1, 3], 0.0, False)  # fmt: skip
    t_land = t_tod + de[-1, 0]
    for row in de[::-1][1:]:
        air_seg.add(t_land - row[0], air.length_m - row[1], row[2], row[3], row[4], False)
    # landing roll: decelerate from approach speed to taxi speed, then taxi in
    v_app = ty.approach_kt * KT_TO_M_S
    roll = ty.landing_roll_m
    t_lr = 2.0 * roll / (v_app + taxi_v)
    dec = (v_app - taxi_v) / t_lr
    gin = _Seg([], [], [], [], [], [])
    for i in range(1, int(t_lr) + 1):
        tt = float(i)
        gin.add(t_land + tt, v_app * tt - 0.5 * dec * tt * tt, elev_d,
                (v_app - dec * tt) / KT_TO_M_S, 0.0, True)  # fmt: skip
    t = t_land + t_lr
    rest = ground_in.length_m - roll
    n = max(int(rest / taxi_v), 1)
    for i in range(0, n + 1):
        gin.add(t + i * rest / taxi_v / n, roll + rest * i / n, elev_d, ty.taxi_kt, 0.0, True)
    t_on = gin.t[-1]
    gin.add(t_on + 1.0, ground_in.length_m, elev_d, 0.0, 0.0, True)
    parts = []
    for sg, line, off in ((seg, None, 0.0), (air_seg, air, 0.0), (gin, ground_in, 0.0)):
        s = np.asarray(sg.s) + off
        if line is None:
            # departure ground: taxi line then the runway (a straight continuation)
            rwline = _Polyline([thr, lift])
            on_taxi = s <= ground_out.length_m
            la1, lo1, tr1 = ground_out.at(s)
            la2, lo2, tr2 = rwline.at(s - ground_out.length_m)
            lat = np.where(on_taxi, la1, la2)
            lon = np.where(on_taxi, lo1, lo2)
            trk = np.where(on_taxi, tr1, tr2)
        else:
            lat, lon, trk = line.at(s)
        parts.append(
            Trajectory(
                np.asarray(sg.t), lat, lon, np.asarray(sg.h), np.asarray(sg.v), trk,
                np.asarray(sg.vr), np.asarray(sg.g, bool),
            )
        )  # fmt: skip
    traj = Trajectory.concat(parts)
    truth = LegTruth(
        o.code, d.code, leg.off_block_s, t_off, t_land, t_on, rw_dep.ident, rw_arr.ident,
        lift[0], lift[1], touch[0], touch[1], cruise,
        (ground_out.length_m + rot_m + air.length_m + ground_in.length_m) / 1000.0,
    )  # fmt: skip
    return traj, truth


def plan_journey(
    legs: list[Leg], ty: AircraftType, *, seed: int = 0
) -> tuple[Trajectory, tuple[LegTruth, ...]]:
    """One aircraft's whole journey: each leg gate to gate, parked in between (the parked
    samples stay where the previous leg ended; the next leg starts from its own gate)."""
    if not legs:
        raise ValueError("a journey needs at least one leg")
    parts: list[Trajectory] = []
    truths: list[LegTruth] = []
    for k, leg in enumerate(legs):
        if k and leg.off_block_s <= truths[-1].on_block_s:
            raise ValueError(
                f"leg {k + 1} ({leg.origin.code}-{leg.destination.code}) leaves before leg {k} "
                f"is on blocks ({truths[-1].on_block_s:.0f} s after the start)"
            )
        gate = (float(parts[-1].lat_deg[-1]), float(parts[-1].lon_deg[-1])) if parts else None
        tr, lt = _flight(leg, ty, seed + 2 * k, gate)
        if parts:
            # parked between legs: hold the arrival gate, then move to the departure gate
            p = parts[-1]
            hold = Trajectory(
                np.array([p.end_s + 2.0, tr.start_s - 2.0]),
                np.repeat(p.lat_deg[-1], 2), np.repeat(p.lon_deg[-1], 2),
                np.repeat(p.altitude_ft[-1], 2), np.zeros(2), np.repeat(p.track_deg[-1], 2),
                np.zeros(2), np.ones(2, bool),
            )  # fmt: skip
            if hold.t_s[1] > hold.t_s[0]:
                parts.append(hold)
        parts.append(tr)
        truths.append(lt)
    return Trajectory.concat(parts), tuple(truths)
