"""Aircraft motion: horizontal paths and altitude profiles, evaluated for arrays of times.

Every model is a frozen dataclass with a vectorised ``at(t_s)`` taking seconds since the scenario
start. Horizontal paths return :class:`Horizontal` (lat/lon degrees, ground speed kt, true track
deg); :class:`AltitudeProfile` returns (altitude ft, vertical rate ft/min).

* :class:`GreatCircleRoute` — waypoints joined by great circles at constant ground speed;
  continues along the last great circle after the last waypoint.
* :class:`ConstantHeading` — a rhumb line (loxodrome): constant true track and ground speed.
* :class:`RecordedTrack` — linear interpolation of a recorded trajectory (e.g. a real flight),
  held at its ends.
* :class:`AltitudeProfile` — piecewise-linear altitude over time (level, climb, descent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.sim.geo import EARTH_RADIUS_M, latlon_to_unit, unit_to_latlon

__all__ = [
    "KT_TO_M_S",
    "AltitudeProfile",
    "ConstantHeading",
    "GreatCircleRoute",
    "Horizontal",
    "Path",
    "RecordedTrack",
    "track_from_samples",
]

KT_TO_M_S = 1852.0 / 3600.0
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Horizontal:
    """Horizontal state at ``n`` times: degrees, knots, degrees true (arrays of shape ``(n,)``)."""

    lat_deg: F64
    lon_deg: F64
    groundspeed_kt: F64
    track_deg: F64


def _bearing_deg(u: F64, tangent: F64) -> F64:
    """True bearing (deg) of direction ``tangent`` at unit position ``u`` (both ``(n, 3)``)."""
    lon = np.arctan2(u[:, 1], u[:, 0])
    lat = np.arctan2(u[:, 2], np.hypot(u[:, 0], u[:, 1]))
    east = np.stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)], -1)
    north = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)], -1)
    e = (tangent * east).sum(-1)
    n = (tangent * north).sum(-1)
    out: F64 = np.degrees(np.arctan2(e, n)) % 360.0
    return out


@dataclass(frozen=True, slots=True)
class GreatCircleRoute:
    """Fly ``waypoints`` ((lat, lon) degrees) at ``groundspeed_kt``, starting at the first one
    ``start_offset_s`` seconds before the scenario starts (so aircraft can begin mid-route)."""

    waypoints: tuple[tuple[float, float], ...]
    groundspeed_kt: float
    start_offset_s: float = 0.0

    def __post_init__(self) -> None:
        if len(self.waypoints) < 2:
            raise ValueError("a route needs at least two waypoints")

    def at(self, t_s: npt.ArrayLike) -> Horizontal:
        """State at times ``t_s`` (seconds since the scenario start)."""
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        w = np.asarray(self.waypoints, np.float64)
        u = latlon_to_unit(w[:, 0], w[:, 1])  # (k, 3)
        a, b = u[:-1], u[1:]
        dot = np.clip((a * b).sum(-1), -1.0, 1.0)
        seg = np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), dot)  # angular lengths
        perp = b - dot[:, None] * a
        norm = np.linalg.norm(perp, axis=-1, keepdims=True)
        tang = perp / np.where(norm > 0, norm, 1.0)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        s = (t + self.start_offset_s) * self.groundspeed_kt * KT_TO_M_S / EARTH_RADIUS_M
        k = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
        phi = s - cum[k]
        pos = np.cos(phi)[:, None] * a[k] + np.sin(phi)[:, None] * tang[k]
        vel = -np.sin(phi)[:, None] * a[k] + np.cos(phi)[:, None] * tang[k]
        lat, lon = unit_to_latlon(pos)
        return Horizontal(
            lat, lon, np.full(t.shape, float(self.groundspeed_kt)), _bearing_deg(pos, vel)
        )


@dataclass(frozen=True, slots=True)
class ConstantHeading:
    """A rhumb line from (``lat_deg``, ``lon_deg``) at scenario time 0: constant true track."""

    lat_deg: float
    lon_deg: float
    track_deg: float
    groundspeed_kt: float

    def at(self, t_s: npt.ArrayLike) -> Horizontal:
        """State at times ``t_s`` (seconds since the scenario start)."""
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        delta = t * self.groundspeed_kt * KT_TO_M_S / EARTH_RADIUS_M
        th = np.radians(self.track_deg)
        phi1 = np.radians(self.lat_deg)
        dphi = delta * np.cos(th)
        phi2 = np.clip(phi1 + dphi, -np.pi / 2 + 1e-9, np.pi / 2 - 1e-9)
        dpsi = np.log(np.tan(np.pi / 4 + phi2 / 2) / np.tan(np.pi / 4 + phi1 / 2))
        small = np.abs(dpsi) < 1e-12
        q = np.where(small, np.cos(phi1), dphi / np.where(small, 1.0, dpsi))
        dlam = delta * np.sin(th) / q
        lon = (np.degrees(np.radians(self.lon_deg) + dlam) + 180.0) % 360.0 - 180.0
        n = t.shape
        return Horizontal(
            np.degrees(phi2),
            lon,
            np.full(n, float(self.groundspeed_kt)),
            np.full(n, float(self.track_deg) % 360.0),
        )


@dataclass(frozen=True, slots=True)
class RecordedTrack:
    """A recorded trajectory: ``time_s`` (seconds since the scenario start, increasing) with
    positions; linearly interpolated, held at the first and last points."""

    time_s: tuple[float, ...]
    lat_deg: tuple[float, ...]
    lon_deg: tuple[float, ...]

    def __post_init__(self) -> None:
        if not len(self.time_s) == len(self.lat_deg) == len(self.lon_deg) or len(self.time_s) < 2:
            raise ValueError("a recorded track needs >= 2 points with equal-length columns")
        if np.any(np.diff(np.asarray(self.time_s)) <= 0):
            raise ValueError("recorded track times must increase")

    def at(self, t_s: npt.ArrayLike) -> Horizontal:
        """State at times ``t_s`` (seconds since the scenario start)."""
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        tt = np.asarray(self.time_s, np.float64)
        la = np.asarray(self.lat_deg, np.float64)
        lo = np.degrees(np.unwrap(np.radians(np.asarray(self.lon_deg, np.float64))))
        tc = np.clip(t, tt[0], tt[-1])
        lat = np.interp(tc, tt, la)
        lon = (np.interp(tc, tt, lo) + 180.0) % 360.0 - 180.0
        # Per-segment velocity (constant between samples).
        k = np.clip(np.searchsorted(tt, tc, side="right") - 1, 0, len(tt) - 2)
        dt = tt[k + 1] - tt[k]
        north = np.radians(la[k + 1] - la[k]) * EARTH_RADIUS_M / dt
        east = np.radians(lo[k + 1] - lo[k]) * EARTH_RADIUS_M * np.cos(np.radians(lat)) / dt
        moving = (t >= tt[0]) & (t <= tt[-1])
        gs = np.where(moving, np.hypot(north, east) / KT_TO_M_S, 0.0)
        trk = np.degrees(np.arctan2(east, north)) % 360.0
        return Horizontal(lat, lon, gs, trk)


@dataclass(frozen=True, slots=True)
class AltitudeProfile:
    """Piecewise-linear barometric altitude: ``points`` of (seconds since start, feet), held
    constant before the first and after the last point."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("an altitude profile needs at least one point")
        if np.any(np.diff(np.asarray([p[0] for p in self.points])) <= 0):
            raise ValueError("altitude profile times must increase")

    @staticmethod
    def level(altitude_ft: float) -> AltitudeProfile:
        """Constant altitude."""
        return AltitudeProfile(((0.0, float(altitude_ft)),))

    @staticmethod
    def climb(
        from_ft: float, to_ft: float, rate_fpm: float, start_s: float = 0.0
    ) -> AltitudeProfile:
        """Level at ``from_ft`` until ``start_s``, then climb (or descend) at ``|rate_fpm|``."""
        dur = abs(to_ft - from_ft) / max(abs(rate_fpm), 1e-9) * 60.0
        if dur == 0:
            return AltitudeProfile.level(from_ft)
        return AltitudeProfile(((start_s, float(from_ft)), (start_s + dur, float(to_ft))))

    @staticmethod
    def from_samples(time_s: Sequence[float], altitude_ft: Sequence[float]) -> AltitudeProfile:
        """From recorded samples (times increasing)."""
        return AltitudeProfile(tuple(zip(map(float, time_s), map(float, altitude_ft), strict=True)))

    def at(self, t_s: npt.ArrayLike) -> tuple[F64, F64]:
        """(altitude ft, vertical rate ft/min) at times ``t_s``."""
        t = np.atleast_1d(np.asarray(t_s, np.float64))
        p = np.asarray(self.points, np.float64).reshape(-1, 2)
        alt = np.interp(t, p[:, 0], p[:, 1])
        if len(p) < 2:
            return alt, np.zeros_like(t)
        k = np.clip(np.searchsorted(p[:, 0], t, side="right") - 1, 0, len(p) - 2)
        rate = (p[k + 1, 1] - p[k, 1]) / (p[k + 1, 0] - p[k, 0]) * 60.0
        inside = (t >= p[0, 0]) & (t < p[-1, 0])
        return alt, np.where(inside, rate, 0.0)


Path = GreatCircleRoute | ConstantHeading | RecordedTrack
"""Any horizontal path model."""


def track_from_samples(
    time_s: npt.ArrayLike,
    lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike,
    altitude_ft: npt.ArrayLike,
    *,
    altitude_range_ft: tuple[float, float] = (-1_500.0, 60_000.0),
) -> tuple[RecordedTrack, AltitudeProfile]:
    """Path and altitude profile from recorded samples (e.g. a decoded real flight).

    Rows with a missing value, an altitude outside ``altitude_range_ft`` (decoding glitches) or
    a time not after the previous kept row are dropped. ``time_s``: seconds since the scenario
    start (subtract the recording's start time first).
    """
    t = np.asarray(time_s, np.float64)
    la = np.asarray(lat_deg, np.float64)
    lo = np.asarray(lon_deg, np.float64)
    al = np.asarray(altitude_ft, np.float64)
    ok = np.isfinite(t) & np.isfinite(la) & np.isfinite(lo) & np.isfinite(al)
    ok &= (al >= altitude_range_ft[0]) & (al <= altitude_range_ft[1])
    t, la, lo, al = t[ok], la[ok], lo[ok], al[ok]
    order = np.argsort(t, kind="stable")
    t, la, lo, al = t[order], la[order], lo[order], al[order]
    keep = np.ones(t.size, bool)
    keep[1:] = np.diff(t) > 0
    t, la, lo, al = t[keep], la[keep], lo[keep], al[keep]
    track = RecordedTrack(tuple(t.tolist()), tuple(la.tolist()), tuple(lo.tolist()))
    return track, AltitudeProfile.from_samples(t.tolist(), al.tolist())
