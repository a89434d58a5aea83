"""Solver on real LocaRDS measurements (GPS-synchronised receivers, ADS-B ground truth)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.mlat.evaluate import evaluate_set, summarise
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
    """All 1,439 transmissions: honest thresholds of what this solver achieves (see README)."""
    reg, ss = sets
    parts = []
    for s in ss:
        _, errs = evaluate_set(s, reg, modes=("none", "baro"))
        parts.append(errs)
    rows = {
        (r.altitude_mode, r.filtered): r for r in summarise("all", parts, sum(len(s) for s in ss))
    }
    baro = rows[("baro", False)]
    assert baro.solved >= 1400
    assert baro.median_m <= 60.0
    assert baro.p90_m <= 250.0
    none = rows[("none", False)]
    assert none.solved >= 1050
    assert none.median_m <= 70.0
    # The altitude constraint helps.
    assert baro.median_m < none.median_m
