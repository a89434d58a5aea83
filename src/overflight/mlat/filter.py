"""Constant-velocity Kalman filter (and RTS smoother) over successive MLAT fixes of one aircraft.

State: ECEF position (m) and velocity (m/s); process noise: white acceleration with spectral
density ``accel_sigma_m_s2**2`` (m^2/s^3). Measurements are solver fixes with their 3x3
covariance. An innovation gate rejects wild fixes; a long gap or repeated rejections restart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FilterState", "TrackFilter", "smooth_track"]

F64 = npt.NDArray[np.float64]
_H = np.hstack([np.eye(3), np.zeros((3, 3))])


def _transition(dt_s: float, accel_sigma_m_s2: float) -> tuple[F64, F64]:
    F = np.eye(6)
    F[:3, 3:] = np.eye(3) * dt_s
    q = accel_sigma_m_s2**2
    Q = np.zeros((6, 6))
    Q[:3, :3] = np.eye(3) * q * dt_s**3 / 3.0
    Q[:3, 3:] = Q[3:, :3] = np.eye(3) * q * dt_s**2 / 2.0
    Q[3:, 3:] = np.eye(3) * q * dt_s
    return F, Q


@dataclass(frozen=True, slots=True)
class FilterState:
    """Filtered state after a fix: position ECEF m, velocity ECEF m/s, 6x6 covariance."""

    time_s: float
    ecef_m: F64
    velocity_m_s: F64
    cov: F64
    accepted: bool
    """False when the fix was rejected by the innovation gate (state is the prediction)."""


class TrackFilter:
    """One aircraft's filter; feed fixes in time order with :meth:`update`."""

    def __init__(
        self,
        accel_sigma_m_s2: float = 1.0,
        max_gap_s: float = 600.0,
        gate_sigma: float = 5.0,
        initial_speed_sigma_m_s: float = 150.0,
    ) -> None:
        self.accel_sigma_m_s2 = accel_sigma_m_s2
        self.max_gap_s = max_gap_s
        self.gate_sigma = gate_sigma
        self.initial_speed_sigma_m_s = initial_speed_sigma_m_s
        self._x: F64 | None = None
        self._P: F64 = np.eye(6)
        self._t = 0.0
        self._rejects = 0
        self.fixes = 0

    def _reset(self, time_s: float, ecef_m: F64, cov: F64) -> FilterState:
        self._x = np.concatenate([ecef_m, np.zeros(3)])
        self._P = np.zeros((6, 6))
        self._P[:3, :3] = cov
        self._P[3:, 3:] = np.eye(3) * self.initial_speed_sigma_m_s**2
        self._t = time_s
        self._rejects = 0
        self.fixes = 1
        return FilterState(time_s, ecef_m.copy(), np.zeros(3), self._P.copy(), True)

    def update(self, time_s: float, ecef_m: npt.ArrayLike, cov_m2: npt.ArrayLike) -> FilterState:
        """Add one fix (time s, ECEF m, 3x3 covariance m^2); return the filtered state."""
        z = np.asarray(ecef_m, dtype=np.float64)
        Rm = np.asarray(cov_m2, dtype=np.float64)
        if self._x is None or time_s - self._t > self.max_gap_s or time_s < self._t:
            return self._reset(time_s, z, Rm)
        F, Q = _transition(time_s - self._t, self.accel_sigma_m_s2)
        x = F @ self._x
        P = F @ self._P @ F.T + Q
        S = P[:3, :3] + Rm
        y = z - x[:3]
        try:
            Si = np.linalg.inv(S)
        except np.linalg.LinAlgError:
            return self._reset(time_s, z, Rm)
        d2 = float(y @ Si @ y)
        self._t = time_s
        if d2 > self.gate_sigma**2 * 3 and self.fixes >= 2:
            self._rejects += 1
            if self._rejects >= 3:
                return self._reset(time_s, z, Rm)
            self._x, self._P = x, P
            return FilterState(time_s, x[:3].copy(), x[3:].copy(), P.copy(), False)
        K = P @ _H.T @ Si
        self._x = x + K @ y
        IKH = np.eye(6) - K @ _H
        self._P = IKH @ P @ IKH.T + K @ Rm @ K.T
        self._rejects = 0
        self.fixes += 1
        return FilterState(time_s, self._x[:3].copy(), self._x[3:].copy(), self._P.copy(), True)


def smooth_track(
    time_s: npt.ArrayLike,
    ecef_m: npt.ArrayLike,
    cov_m2: npt.ArrayLike,
    accel_sigma_m_s2: float = 1.0,
    max_gap_s: float = 600.0,
    gate_sigma: float = 5.0,
) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """Forward filter + Rauch-Tung-Striebel smoother over one aircraft's fixes (time-sorted).

    Returns (smoothed ECEF positions ``(n, 3)`` m, velocities ``(n, 3)`` m/s, accepted ``(n,)``).
    Segments split at gaps over ``max_gap_s`` are smoothed independently.
    """
    t = np.asarray(time_s, dtype=np.float64)
    z = np.asarray(ecef_m, dtype=np.float64)
    R = np.asarray(cov_m2, dtype=np.float64)
    n = t.shape[0]
    out_x = np.zeros((n, 3))
    out_v = np.zeros((n, 3))
    acc = np.zeros(n, bool)
    filt = TrackFilter(accel_sigma_m_s2, max_gap_s, gate_sigma)
    xs: list[F64] = []
    Ps: list[F64] = []
    xp: list[F64] = []
    Pp: list[F64] = []
    starts: list[int] = []
    for k in range(n):
        prev_fixes = filt.fixes
        st = filt.update(float(t[k]), z[k], R[k])
        if filt.fixes == 1 and (prev_fixes != 0 or k == 0):
            starts.append(k)
        acc[k] = st.accepted
        x = np.concatenate([st.ecef_m, st.velocity_m_s])
        xs.append(x)
        Ps.append(st.cov)
        if k > 0 and starts[-1] != k:
            F, Q = _transition(float(t[k] - t[k - 1]), accel_sigma_m_s2)
            xp.append(F @ xs[k - 1])
            Pp.append(F @ Ps[k - 1] @ F.T + Q)
        else:
            xp.append(x)
            Pp.append(st.cov)
    sm = [x.copy() for x in xs]
    seg_start = set(starts)
    for k in range(n - 2, -1, -1):
        if (k + 1) in seg_start:
            continue
        F, _ = _transition(float(t[k + 1] - t[k]), accel_sigma_m_s2)
        try:
            G = Ps[k] @ F.T @ np.linalg.inv(Pp[k + 1])
        except np.linalg.LinAlgError:
            continue
        sm[k] = xs[k] + G @ (sm[k + 1] - xp[k + 1])
    for k in range(n):
        out_x[k] = sm[k][:3]
        out_v[k] = sm[k][3:]
    return out_x, out_v, acc
