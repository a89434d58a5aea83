"""The solver at the real receivers' noise level, against a perfect truth (LocaRDS geometry)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from overflight.mlat.locards import read_locards_set
from overflight.mlat.noise_floor import noise_floor
from overflight.mlat.receivers import ReceiverRegistry

DATA = "mlat-locards-sample"


def test_single_shot_meets_the_targets_at_the_real_noise_level(
    shared: Callable[[str], Path],
) -> None:
    """Simulated noise matched to the real chi-square (about 45 ns) on the real geometry and
    barometric altitudes: the single-shot fixes meet the issue's targets (median <= 20 m, p90
    <= 100 m) once the truth is exact; the real fixes' cross-track error, which truth latency
    cannot inflate, agrees with the simulation's to within 25%."""
    reg = ReceiverRegistry.from_csv(shared(f"{DATA}/sensors.csv"))
    sets = [read_locards_set(shared(f"{DATA}/set_{k}.csv")) for k in range(1, 9)]
    nf = noise_floor(sets, reg, sigmas_s=(30e-9, 45e-9, 60e-9, 75e-9))
    assert nf.sigma_s == pytest.approx(45e-9)
    assert nf.sim_chi2_per_dof == pytest.approx(nf.real_chi2_per_dof, rel=0.15)
    assert nf.real_cross_median_m == pytest.approx(nf.sim_cross_median_m, rel=0.25)
    assert nf.solved >= 1400
    assert nf.median_m <= 20.0
    assert nf.p90_m <= 100.0
    # A grid without the real level cannot match: the statistic can fail.
    off = noise_floor(sets, reg, sigmas_s=(150e-9,))
    assert off.sim_chi2_per_dof > 5 * off.real_chi2_per_dof
    assert off.median_m > 40.0
