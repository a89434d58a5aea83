"""Solver on real LocaRDS measurements (GPS-synchronised receivers, ADS-B ground truth)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.mlat.calibrate import fit_biases, truth_residuals_s
from overflight.mlat.evaluate import (
    aircraft_latency_evidence,
    estimate_truth_lag_s,
    evaluate_set,
    latency_consistency,
    summarise,
)
from overflight.mlat.geodesy import ecef_to_llh, horizontal_distance_m, llh_to_ecef
from overflight.mlat.locards import read_locards_set
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.solve import solve_batch, solve_scipy

DATA = "mlat-locards-sample"


def test_geodesy_round_trip() -> None:
    lat = np.array([47.1, -89.9, 0.0, 51.5])
    lon = np.array([8.2, 3.0, -170.0, -0.1])
    h = np.array([9000.0, 100.0, -50.0, 12000.0])
    la, lo, hh = ecef_to_llh(llh_to_ecef(lat, lon, h))
    np.testing.assert_allclose(la, lat, atol=1e-9)
    np.testing.assert_allclose(lo, lon, atol=1e-9)
    np.testing.assert_allclose(hh, h, atol=1e-4)
    assert horizontal_distance_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_319.5, rel=1e-4)


@pytest.fixture(scope="module")
def sets(shared: Callable[[str], Path]) -> tuple[ReceiverRegistry, list]:  # type: ignore[type-arg]
    reg = ReceiverRegistry.from_csv(shared(f"{DATA}/sensors.csv"))
    return reg, [read_locards_set(shared(f"{DATA}/set_{k}.csv")) for k in range(1, 9)]


def test_batch_solver_matches_scipy_peer(sets: tuple[ReceiverRegistry, list]) -> None:  # type: ignore[type-arg]
    reg, ss = sets
    s = ss[0]
    R = reg.ecef_m(s.sensor[:40])
    sig = reg.sigma_s(s.sensor[:40])
    res = solve_batch(R, s.toa_s[:40], sig, altitude_m=s.geo_altitude_m[:40], altitude_sigma_m=15.0)
    for k in range(40):
        x, chi2 = solve_scipy(R[k], s.toa_s[k], sig[k], float(s.geo_altitude_m[k]), 15.0)
        if chi2 <= res.chi2[k] + 1e-6:  # same minimum found: same point
            assert np.linalg.norm(x - res.ecef_m[k]) < 1.0


def test_real_accuracy_single_shot(sets: tuple[ReceiverRegistry, list]) -> None:  # type: ignore[type-arg]
    """All 1,439 transmissions: honest thresholds of what this solver achieves.

    ``raw``: times of arrival as recorded; ``aircraft``: receiver biases learned from the other
    aircraft of the same set only (leave-one-aircraft-out, held out).
    """
    reg, ss = sets
    parts = []
    for s in ss:
        _, errs = evaluate_set(s, reg, modes=("none", "baro"), calibrations=("raw", "aircraft"))
        parts.append(errs)
    rows = {
        (r.altitude_mode, r.calibration, r.filter): r
        for r in summarise("all", parts, sum(len(s) for s in ss))
    }
    raw = rows[("baro", "raw", "single")]
    assert raw.solved >= 1250
    assert raw.median_m <= 56.0
    assert raw.p90_m <= 240.0
    assert raw.rmse_m <= 200.0  # wrong local minima rejected by the chi-square test
    cal = rows[("baro", "aircraft", "single")]
    assert cal.solved >= 1380
    assert cal.median_m <= 45.0
    assert cal.p90_m <= 195.0
    assert cal.rmse_m <= 150.0
    # Held-out calibration helps; so does the altitude constraint.
    assert cal.median_m < raw.median_m - 5.0
    none = rows[("none", "aircraft", "single")]
    # Without altitude five receivers leave one degree of freedom: such fixes must pass the
    # tighter error cap and the ambiguity search (wrong minima cannot show in the chi-square).
    assert none.solved >= 1000
    assert none.median_m <= 55.0
    assert cal.median_m < none.median_m
    # Errors are mostly along-track (ADS-B truth staleness): cross-track median is small.
    assert cal.cross_median_m <= 15.0
    # Against the ADS-B position moved by the aircraft's own latency (learned from its other
    # transmissions), two thirds of the fixes are at 25 m median and under 100 m p90.
    assert cal.own_n >= 900
    assert cal.own_median_m <= 26.0
    assert cal.own_p90_m <= 100.0
    assert cal.own_median_m < cal.median_m - 12.0
    # The tracking filter (forward, and RTS-smoothed) is never worse than single shots: fixes of
    # one aircraft are 26-140 s apart, so it mostly passes them through, flagged unsmoothed.
    for c in ("raw", "aircraft"):
        single = rows[("baro", c, "single")]
        for name in ("kf", "rts"):
            r = rows[("baro", c, name)]
            assert r.solved == single.solved
            assert r.median_m <= single.median_m
            assert r.p90_m <= single.p90_m
    assert rows[("baro", "aircraft", "rts")].median_m <= 41.8
    assert rows[("baro", "raw", "rts")].median_m <= 52.5


def test_receiver_biases_and_truth_lag_from_real_data(
    sets: tuple[ReceiverRegistry, list],  # type: ignore[type-arg]
) -> None:
    """Biases learned on each half of set 1 agree; the ADS-B truth lags by about 0.1 s."""
    reg, ss = sets
    s = ss[0]
    mask = s.sensor >= 0
    truth = llh_to_ecef(s.lat_deg, s.lon_deg, s.geo_altitude_m)
    res = truth_residuals_s(reg.ecef_m(s.sensor), s.toa_s, mask, truth)
    first = s.time_s < np.median(s.time_s)
    b1 = fit_biases(s.sensor[first], res[first], mask[first], min_count=30)
    b2 = fit_biases(s.sensor[~first], res[~first], mask[~first], min_count=30)
    common = sorted(set(b1) & set(b2))
    assert len(common) >= 6
    # Sensor 257 runs ~190 ns later than 141 in this hour, in both halves (only differences
    # are observable: the common offset goes into the transmit time).
    for b in (b1, b2):
        assert 120e-9 < b[257] - b[141] < 260e-9
    diff = np.array([b1[k] - b2[k] for k in common])
    diff -= np.median(diff)
    assert np.median(np.abs(diff)) < 30e-9
    assert 0.05 < estimate_truth_lag_s(s, reg) < 0.2


def test_grid_restart_escapes_a_real_wrong_minimum(
    sets: tuple[ReceiverRegistry, list],  # type: ignore[type-arg]
) -> None:
    """set_2 row 16 with the biases the online engine had learned when it solved it: started at
    the receivers' centroid, Levenberg-Marquardt settles 74 km away with chi-square 12.8 (which
    passed plausibility); the restart grid finds the minimum near the ADS-B position."""
    reg, ss = sets
    s = ss[1]
    k = 16
    ids = s.sensor[k : k + 1]
    assert ids.tolist() == [[14, 147, 598, 632, 10]]
    bias = np.array([[0.0, -34.0, -42.0, 0.0, -86.0]]) * 1e-9
    toa = s.toa_s[k : k + 1] - bias
    toa = toa - toa.min()
    R = reg.ecef_m(ids)
    args = (R, toa, reg.sigma_s(ids))
    kw = {"altitude_m": s.baro_altitude_m[k : k + 1], "altitude_sigma_m": 150.0}

    def err(r: object) -> float:
        return float(
            horizontal_distance_m(r.lat_deg, r.lon_deg, s.lat_deg[k], s.lon_deg[k])[0]  # type: ignore[attr-defined]
        )

    stuck = solve_batch(*args, restart_chi2=0.0, **kw)  # type: ignore[arg-type]
    assert err(stuck) > 70_000.0 and stuck.chi2[0] > 10.0
    fixed = solve_batch(*args, **kw)  # type: ignore[arg-type]
    assert err(fixed) < 150.0
    assert fixed.chi2[0] < 6.0


def test_adsb_latency_belongs_to_the_aircraft(
    sets: tuple[ReceiverRegistry, list],  # type: ignore[type-arg]
) -> None:
    """A fix's along-track lag behind the ADS-B report predicts the lag of the same aircraft's
    other fixes (r ~0.8 over all sets): the truth's latency, not solver noise, which would be
    uncorrelated between transmissions tens of seconds apart."""
    reg, ss = sets
    ac, lag = [], []
    for k, s in enumerate(ss):
        a, g = aircraft_latency_evidence(s, reg)
        ac.append(a + 1_000_000 * k)
        lag.append(g)
    n, r = latency_consistency(np.concatenate(ac), np.concatenate(lag))
    assert n >= 600
    assert r > 0.6
    # Shuffling the aircraft labels destroys it (the statistic can fail).
    rng = np.random.default_rng(1)
    _, r2 = latency_consistency(rng.permutation(np.concatenate(ac)), np.concatenate(lag))
    assert abs(r2) < 0.2
