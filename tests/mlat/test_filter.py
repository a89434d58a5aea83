"""Tracking filter: gating of wrong minima, two-fix initiation, gap resets, RTS smoothing.

Fixes come from a straight, constant-speed track (what the constant-velocity model assumes)
with Gaussian errors of a known covariance, generated here with a fixed seed.
"""

from __future__ import annotations

import numpy as np

from overflight.mlat.filter import TrackFilter, smooth_track
from overflight.mlat.geodesy import ecef_to_enu_matrix, llh_to_ecef

SIGMA_M = 40.0


def _track(n: int, dt_s: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    x0 = llh_to_ecef(48.0, 9.0, 10_000.0)
    east, north, _ = ecef_to_enu_matrix(48.0, 9.0)
    v = 180.0 * east + 150.0 * north
    t = np.arange(n) * dt_s
    truth = x0 + t[:, None] * v
    return t, truth, truth + rng.normal(0.0, SIGMA_M, truth.shape)


def _cov(n: int) -> np.ndarray:  # type: ignore[type-arg]
    return np.broadcast_to(np.eye(3) * SIGMA_M**2, (n, 3, 3)).copy()


def test_filter_beats_single_fixes_and_estimates_velocity() -> None:
    t, truth, z = _track(120, 1.0)
    f = TrackFilter()
    out = [f.update(float(t[k]), z[k], np.eye(3) * SIGMA_M**2) for k in range(len(t))]
    assert not out[0].smoothed and out[0].accepted  # one fix is no track
    assert all(o.smoothed for o in out[10:])
    est = np.array([o.ecef_m for o in out])
    e_fix = np.linalg.norm(z - truth, axis=1)[20:]
    e_kf = np.linalg.norm(est - truth, axis=1)[20:]
    assert np.median(e_kf) < 0.5 * np.median(e_fix)
    assert abs(np.linalg.norm(out[-1].velocity_m_s) - np.hypot(180.0, 150.0)) < 5.0
    sm = smooth_track(t, z, _cov(len(t)))
    e_rts = np.linalg.norm(sm.ecef_m - truth, axis=1)[20:]
    assert sm.smoothed[10:].all()
    assert np.median(e_rts) < np.median(e_kf)


def test_wrong_minimum_is_rejected_not_followed() -> None:
    t, truth, z = _track(40, 2.0)
    z[25] += np.array([6_000.0, -3_000.0, 1_000.0])  # a mirror solution kilometres away
    f = TrackFilter(coast_ratio=1.0)
    out = [f.update(float(t[k]), z[k], np.eye(3) * SIGMA_M**2) for k in range(len(t))]
    assert not out[25].accepted
    # Coasting on the (far more certain) prediction: the output stays on the track.
    assert out[25].smoothed and np.linalg.norm(out[25].ecef_m - truth[25]) < 100.0
    assert all(o.accepted for o in out[26:])
    assert np.linalg.norm(out[26].ecef_m - truth[26]) < 100.0
    sm = smooth_track(t, z, _cov(len(t)), coast_ratio=1.0)
    assert not sm.accepted[25]
    assert np.linalg.norm(sm.ecef_m[25] - truth[25]) < 100.0
    # Without coasting the rejected fix is passed through, flagged unsmoothed, and the track
    # still ignores it.
    g = TrackFilter()
    out = [g.update(float(t[k]), z[k], np.eye(3) * SIGMA_M**2) for k in range(len(t))]
    assert not out[25].accepted and not out[25].smoothed
    assert np.linalg.norm(out[26].ecef_m - truth[26]) < 100.0


def test_initiation_needs_two_consistent_fixes() -> None:
    f = TrackFilter()
    x = llh_to_ecef(48.0, 9.0, 10_000.0)
    c = np.eye(3) * SIGMA_M**2
    assert not f.update(0.0, x, c).smoothed
    # 20 km in 10 s is 2,000 m/s: not the same aircraft (or a wrong fix): no track yet.
    assert not f.update(10.0, x + np.array([20_000.0, 0.0, 0.0]), c).smoothed
    assert f.fixes == 0
    # The next fix agrees with the one before: a track starts.
    st = f.update(20.0, x + np.array([22_000.0, 0.0, 0.0]), c)
    assert f.fixes == 2 and st.accepted


def test_track_restarts_after_a_jump_and_after_a_gap() -> None:
    t, _, z = _track(30, 2.0)
    z[15:] += np.array([3_000.0, 0.0, 0.0])  # e.g. a receiver's clock jump: the track moves
    f = TrackFilter()
    out = [f.update(float(t[k]), z[k], np.eye(3) * SIGMA_M**2) for k in range(len(t))]
    assert not out[15].accepted
    assert all(o.accepted for o in out[17:])  # two agreeing rejected fixes restarted the track
    assert np.linalg.norm(out[-1].ecef_m - z[-1]) < 150.0
    g = TrackFilter(max_gap_s=60.0)
    for k in range(5):
        g.update(float(t[k]), z[k], np.eye(3) * SIGMA_M**2)
    late = g.update(float(t[4] + 300.0), z[4], np.eye(3) * SIGMA_M**2)
    assert not late.smoothed and g.fixes == 0
    np.testing.assert_array_equal(late.ecef_m, z[4])


def test_long_gaps_pass_fixes_through() -> None:
    """Fixes a minute apart (as in the LocaRDS sample): the prediction is too uncertain to help,
    so the filter outputs the fixes unchanged, flagged unsmoothed."""
    t, _, z = _track(10, 90.0)
    f = TrackFilter()
    out = [f.update(float(t[k]), z[k], np.eye(3) * SIGMA_M**2) for k in range(len(t))]
    assert all(o.accepted for o in out)
    for o, zk in zip(out, z, strict=True):
        assert not o.smoothed
        np.testing.assert_array_equal(o.ecef_m, zk)
