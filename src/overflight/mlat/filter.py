"""Constant-velocity Kalman filter (and RTS smoother) over successive MLAT fixes of one aircraft.

State: ECEF position (m) and velocity (m/s). Process noise: white acceleration of spectral
density ``accel_sigma_m_s2**2`` (m^2/s^3), so the prediction's uncertainty grows with the gap
(``dt^3`` in position). Each fix enters with its own covariance (the solver's, scaled by
``meas_scale`` plus an isotropic ``meas_floor_m``), never a constant.

Track logic:

* initiation needs two consistent fixes (implied speed at most ``max_speed_m_s`` within the
  fixes' uncertainty); a single fix is passed through unsmoothed;
* a fix whose squared Mahalanobis distance from the prediction exceeds ``gate_chi2`` (3 degrees
  of freedom) is rejected instead of pulling the track (a wrong minimum); two consecutive
  rejected fixes that agree with each other restart the track from them (the track was wrong),
  as do ``max_rejects`` rejections in a row;
* a gap over ``max_gap_s`` restarts initiation: the fix is passed through, flagged unsmoothed.

The output for a fix is the filter's estimate when the track is confirmed and the estimate's
position variance is at least ``min_gain`` (50 %) below the fix's in every direction; for a
fix the gate rejected, the prediction when its variance is at most ``coast_ratio`` of the fix's
(default 0: never). Otherwise the fix itself, flagged unsmoothed (a gap too long to help).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from overflight.mlat._cv import cv_predict, cv_update, mahalanobis2

__all__ = ["FilterState", "SmoothedTrack", "TrackFilter", "smooth_track"]

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

GATE_CHI2_3DOF_999 = 16.27
"""99.9 % point of the chi-square distribution with 3 degrees of freedom."""


@dataclass(frozen=True, slots=True)
class FilterState:
    """What the filter says about one fix.

    Attributes:
        time_s: the fix's time, seconds.
        ecef_m: ``(3,)`` output position, ECEF metres (the filter's, or the fix when passed
            through).
        velocity_m_s: ``(3,)`` ECEF velocity, m/s (NaN when passed through).
        cov: ``(6, 6)`` covariance of (position, velocity) in m^2, m^2/s, m^2/s^2 (position
            block only, velocity NaN, when passed through).
        accepted: the fix was used by the filter (False: rejected by the gate or out of order).
        smoothed: the output comes from a confirmed track (False: the fix passed through).
        nis: squared Mahalanobis distance of the fix from the prediction (NaN if none).
    """

    time_s: float
    ecef_m: F64
    velocity_m_s: F64
    cov: F64
    accepted: bool
    smoothed: bool
    nis: float = math.nan


@dataclass(slots=True)
class _Step:
    """One recorded filter step (for the RTS smoother)."""

    tag: int
    segment: int
    dt_s: float
    xf: F64
    Pf: F64
    xp: F64
    Pp: F64
    accepted: bool
    meas_trace_m2: float
    meas_cov: F64


@dataclass(slots=True)
class _Pending:
    time_s: float
    z: F64
    R: F64
    tag: int


def _tr3(M: F64) -> float:
    """Trace of the leading 3x3 block."""
    return float(M[0, 0] + M[1, 1] + M[2, 2])


def _worst_ratio(P: F64, R: F64) -> float:
    """Largest ratio of the filter's position variance to the fix's over all directions (the
    top generalised eigenvalue of ``(P[:3, :3], R)``): below 1 - min_gain, the filter helps in
    every direction, not just on average."""
    try:
        ev = np.linalg.eigvals(np.linalg.solve(R, P[:3, :3]))
    except np.linalg.LinAlgError:
        return math.inf
    return float(np.max(ev.real))


def _pass(time_s: float, z: F64, R: F64, accepted: bool, nis: float = math.nan) -> FilterState:
    cov = np.full((6, 6), np.nan)
    cov[:3, :3] = R
    return FilterState(time_s, z.copy(), np.full(3, np.nan), cov, accepted, False, nis)


@dataclass(slots=True)
class TrackFilter:
    """One aircraft's filter; feed fixes in time order with :meth:`update`.

    Args:
        accel_sigma_m_s2: white-acceleration process noise, m/s^2 (per sqrt(s)).
        max_gap_s: a longer gap restarts track initiation.
        gate_chi2: Mahalanobis gate (squared, 3 degrees of freedom).
        max_speed_m_s: the fastest plausible aircraft, for two-fix initiation.
        max_rejects: consecutive rejections that restart the track.
        meas_scale: factor on the fixes' covariance (the solver's is optimistic).
        meas_floor_m: isotropic 1-sigma added to every fix (model errors), metres.
        initial_speed_sigma_m_s: velocity prior at initiation (diffuse), m/s.
    """

    accel_sigma_m_s2: float = 1.0
    max_gap_s: float = 120.0
    gate_chi2: float = GATE_CHI2_3DOF_999
    max_speed_m_s: float = 350.0
    max_rejects: int = 3
    meas_scale: float = 1.0
    meas_floor_m: float = 0.0
    initial_speed_sigma_m_s: float = 300.0
    coast_ratio: float = 0.0
    """Output the prediction for a rejected fix when its position variance is at most this
    fraction of the fix's (0: always pass rejected fixes through, flagged unsmoothed)."""
    min_gain: float = 0.5
    """Pass the fix through (unsmoothed) unless the filter cuts its variance by this fraction."""
    record: bool = False
    fixes: int = 0
    """Fixes used by the current confirmed track (0: no track)."""
    steps: list[_Step] = field(default_factory=list)
    _x: F64 = field(default_factory=lambda: np.zeros(6))
    _P: F64 = field(default_factory=lambda: np.zeros((6, 6)))
    _t: float = math.nan
    _pending: _Pending | None = None
    _rejected: _Pending | None = None
    _rejects: int = 0
    _segment: int = -1

    def measurement_cov(self, cov_m2: npt.ArrayLike) -> F64:
        """The covariance a fix enters the filter with, m^2."""
        R = np.asarray(cov_m2, dtype=np.float64)
        if self.meas_scale != 1.0:
            R = R * self.meas_scale
        if self.meas_floor_m > 0.0:
            R = R + np.eye(3) * self.meas_floor_m**2
        return R

    def _consistent(self, a: _Pending, time_s: float, z: F64, R: F64) -> bool:
        dt = time_s - a.time_s
        slack = 3.0 * math.sqrt(max(float(np.trace(a.R) + np.trace(R)), 0.0))
        return (
            0.0 < dt <= self.max_gap_s
            and float(np.linalg.norm(z - a.z)) <= self.max_speed_m_s * dt + slack
        )

    def _start(self, a: _Pending, time_s: float, z: F64, R: F64, tag: int) -> FilterState:
        """Confirm a track from fix ``a`` and this fix (diffuse velocity prior at ``a``)."""
        self._segment += 1
        x = np.zeros(6)
        x[:3] = a.z
        P = np.zeros((6, 6))
        P[:3, :3] = a.R
        P[3:, 3:] = np.eye(3) * self.initial_speed_sigma_m_s**2
        if self.record:
            if self.steps and self.steps[-1].tag == a.tag:
                self.steps.pop()  # a rejected fix of the old track now starts the new one
            self.steps.append(
                _Step(a.tag, self._segment, 0.0, x, P, x, P, True, float(np.trace(a.R)), a.R)
            )
        self._x, self._P, self._t = x, P, a.time_s
        self._pending = self._rejected = None
        self._rejects = 0
        self.fixes = 1
        return self._step(time_s, z, R, tag, force=True)

    def _step(self, time_s: float, z: F64, R: F64, tag: int, force: bool) -> FilterState:
        dt = time_s - self._t
        xp = np.empty(6)
        Pp = np.empty((6, 6))
        cv_predict(self._x, self._P, dt, self.accel_sigma_m_s2**2, xp, Pp)
        d2 = float(mahalanobis2(xp, Pp, z, R))
        accepted = force or d2 <= self.gate_chi2
        x = np.empty(6)
        P = np.empty((6, 6))
        if accepted:
            accepted = bool(cv_update(xp, Pp, z, R, x, P))
        if not accepted:
            x, P = xp, Pp
        self._x, self._P, self._t = x, P, time_s
        if self.record:
            self.steps.append(
                _Step(tag, self._segment, dt, x, P, xp, Pp, accepted, float(np.trace(R)), R)
            )
        if accepted:
            self.fixes += 1
            self._rejects = 0
            self._rejected = None
            if _worst_ratio(P, R) > 1.0 - self.min_gain:
                return _pass(time_s, z, R, True, d2)  # gap too long for the track to help
            return FilterState(time_s, x[:3].copy(), x[3:].copy(), P.copy(), True, True, d2)
        self._rejects += 1
        # Coast on the prediction when it is more certain than the rejected fix.
        if _tr3(P) <= self.coast_ratio * _tr3(R):
            return FilterState(time_s, x[:3].copy(), x[3:].copy(), P.copy(), False, True, d2)
        return _pass(time_s, z, R, False, d2)

    def update(
        self, time_s: float, ecef_m: npt.ArrayLike, cov_m2: npt.ArrayLike, tag: int = -1
    ) -> FilterState:
        """Add one fix (time s, ECEF m, the solver's 3x3 covariance m^2); return the output."""
        z = np.asarray(ecef_m, dtype=np.float64)
        R = self.measurement_cov(cov_m2)
        fix = _Pending(time_s, z, R, tag)
        if not math.isfinite(float(z.sum()) + float(R.sum())):
            return _pass(time_s, z, R, False)
        if self.fixes == 0:
            p = self._pending
            if p is not None and time_s < p.time_s:
                return _pass(time_s, z, R, False)
            if p is not None and self._consistent(p, time_s, z, R):
                return self._start(p, time_s, z, R, tag)
            self._pending = fix
            return _pass(time_s, z, R, True)
        dt = time_s - self._t
        if dt < 0:
            return _pass(time_s, z, R, False)
        if dt > self.max_gap_s:
            self.fixes = 0
            self._pending = fix
            return _pass(time_s, z, R, True)
        prev = self._rejected
        st = self._step(time_s, z, R, tag, force=False)
        if st.accepted:
            return st
        if prev is not None and self._consistent(prev, time_s, z, R):
            # Two rejected fixes agree: the track was wrong; restart from them.
            if self.record and self.steps and self.steps[-1].tag == tag:
                self.steps.pop()
            return self._start(prev, time_s, z, R, tag)
        if self._rejects >= self.max_rejects:
            self.fixes = 0
            self._pending = fix
            return _pass(time_s, z, R, True)
        self._rejected = fix
        return st


@dataclass(frozen=True, slots=True)
class SmoothedTrack:
    """RTS-smoothed output for one aircraft's fixes (input order).

    ``ecef_m`` ``(n, 3)`` and ``velocity_m_s`` ``(n, 3)`` (NaN where passed through),
    ``cov_m2`` ``(n, 3, 3)`` position covariance, ``accepted`` (used by the filter) and
    ``smoothed`` (output from a confirmed track; False: the fix itself).
    """

    ecef_m: F64
    velocity_m_s: F64
    cov_m2: F64
    accepted: B
    smoothed: B


def smooth_track(
    time_s: npt.ArrayLike,
    ecef_m: npt.ArrayLike,
    cov_m2: npt.ArrayLike,
    *,
    accel_sigma_m_s2: float = 1.0,
    max_gap_s: float = 120.0,
    gate_chi2: float = GATE_CHI2_3DOF_999,
    meas_scale: float = 1.0,
    meas_floor_m: float = 0.0,
    min_gain: float = 0.5,
    coast_ratio: float = 0.0,
) -> SmoothedTrack:
    """Forward filter + Rauch-Tung-Striebel smoother over one aircraft's fixes.

    Fixes are taken in time order (ties keep input order); each confirmed track segment is
    smoothed on its own. A fix keeps its own position unless its segment's smoothed estimate
    is more certain by ``min_gain`` (see :class:`TrackFilter`).
    """
    t = np.asarray(time_s, dtype=np.float64)
    z = np.asarray(ecef_m, dtype=np.float64)
    C = np.asarray(cov_m2, dtype=np.float64)
    n = t.shape[0]
    f = TrackFilter(
        accel_sigma_m_s2=accel_sigma_m_s2,
        max_gap_s=max_gap_s,
        gate_chi2=gate_chi2,
        meas_scale=meas_scale,
        meas_floor_m=meas_floor_m,
        record=True,
    )
    accepted = np.zeros(n, bool)
    for k in np.argsort(t, kind="stable").tolist():
        accepted[k] = f.update(float(t[k]), z[k], C[k], tag=k).accepted
    out_x = z.copy()
    out_v = np.full((n, 3), np.nan)
    out_c = C * meas_scale + np.eye(3) * meas_floor_m**2
    smoothed = np.zeros(n, bool)
    steps = f.steps
    j = 0
    while j < len(steps):
        e = j
        while e + 1 < len(steps) and steps[e + 1].segment == steps[j].segment:
            e += 1
        seg = steps[j : e + 1]
        if sum(s.accepted for s in seg) >= 2:
            xs, Ps = seg[-1].xf, seg[-1].Pf
            sm = [(xs, Ps)]
            for k in range(len(seg) - 2, -1, -1):
                nxt = seg[k + 1]
                F = np.eye(6)
                F[:3, 3:] = np.eye(3) * nxt.dt_s
                try:
                    G = seg[k].Pf @ F.T @ np.linalg.inv(nxt.Pp)
                except np.linalg.LinAlgError:
                    G = np.zeros((6, 6))
                xs = seg[k].xf + G @ (xs - nxt.xp)
                Ps = seg[k].Pf + G @ (Ps - nxt.Pp) @ G.T
                sm.append((xs, Ps))
            sm.reverse()
            for s, (xs, Ps) in zip(seg, sm, strict=True):
                if s.tag < 0:
                    continue
                if (
                    _worst_ratio(Ps, s.meas_cov) <= 1.0 - min_gain
                    if s.accepted
                    else float(np.trace(Ps[:3, :3])) <= coast_ratio * s.meas_trace_m2
                ):
                    out_x[s.tag], out_v[s.tag] = xs[:3], xs[3:]
                    out_c[s.tag] = Ps[:3, :3]
                    smoothed[s.tag] = True
        j = e + 1
    return SmoothedTrack(out_x, out_v, out_c, accepted, smoothed)
