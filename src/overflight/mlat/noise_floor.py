"""What the solver achieves on real geometry at the real noise level, against a perfect truth.

The LocaRDS ground truth is each aircraft's own ADS-B report, which lags the transmission by
that aircraft's latency (see :func:`overflight.mlat.evaluate.latency_consistency`), so the
along-track part of any error against it is partly the truth's. This module separates the two:

1. On the real rows (receiver biases held out by aircraft, barometric altitude), measure the
   solver's chi-square per degree of freedom: it depends only on how well the five times of
   arrival agree with *some* point, not on the truth.
2. Simulate the same rows (same receivers, same aircraft positions, same barometric altitude
   constraint) with Gaussian time-of-arrival noise of each sigma on a grid, and pick the sigma
   whose median chi-square matches the real one: the effective noise of the real receivers.
3. Report the simulated fixes' horizontal error against the (now perfect) truth at that sigma,
   and the cross-track error of real and simulated fixes side by side as a check: cross-track
   error is immune to truth latency, so the two should agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.mlat.calibrate import held_out_biases, track_velocity_m_s, truth_residuals_s
from overflight.mlat.evaluate import ALTITUDE_MODES
from overflight.mlat.geodesy import ecef_to_enu_matrix, horizontal_distance_m, llh_to_ecef
from overflight.mlat.locards import LocardsSet
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.solve import plausible, solve_batch

__all__ = ["NoiseFloor", "noise_floor"]

F64 = npt.NDArray[np.float64]

SIGMA_GRID_S = tuple(k * 1e-9 for k in range(25, 80, 5))
"""Time-of-arrival noise levels tried, seconds."""


@dataclass(frozen=True, slots=True)
class NoiseFloor:
    """Single-shot accuracy at the real rows' effective noise, against a perfect truth.

    ``sigma_s``: the matched noise (s); ``*_chi2_per_dof``: medians, real and simulated;
    ``*_cross_median_m``: median |cross-track| error, real (vs ADS-B) and simulated (vs
    truth); ``median_m``/``p90_m``/``rmse_m``: simulated horizontal error, metres.
    """

    sigma_s: float
    real_chi2_per_dof: float
    sim_chi2_per_dof: float
    real_cross_median_m: float
    sim_cross_median_m: float
    transmissions: int
    solved: int
    median_m: float
    p90_m: float
    rmse_m: float


@dataclass(frozen=True, slots=True)
class _Rows:
    """The sets' rows stacked, ready for the solver."""

    R: F64
    mask: npt.NDArray[np.bool_]
    ids: npt.NDArray[np.int64]
    truth: F64
    path_s: F64
    toa_cal: F64
    alt: F64
    lat: F64
    lon: F64
    vel: F64


def _stack(sets: Sequence[LocardsSet], registry: ReceiverRegistry) -> _Rows:
    known = np.asarray(registry.ids(), dtype=np.int64)
    parts: list[tuple[npt.NDArray[Any], ...]] = []
    for s in sets:
        mask = (s.sensor >= 0) & np.isin(s.sensor, known) & np.isfinite(s.toa_s)
        ids = np.where(mask, s.sensor, known[0])
        R = registry.ecef_m(ids)
        truth = llh_to_ecef(s.lat_deg, s.lon_deg, np.nan_to_num(s.geo_altitude_m))
        res = truth_residuals_s(R, s.toa_s, mask, truth)
        with np.errstate(invalid="ignore"):
            t0 = np.nanmin(np.where(mask, s.toa_s, np.inf), axis=1, keepdims=True)
        # Propagation time under the solver's own model: toa - t0 - residual.
        path = np.where(mask, s.toa_s - t0 - res, 0.0)
        toa = s.toa_s - held_out_biases(ids, res, mask, s.aircraft)
        vel = track_velocity_m_s(s.aircraft, s.time_s, truth)
        parts.append((R, mask, ids, truth, path, toa, s.baro_altitude_m, s.lat_deg, s.lon_deg, vel))
    cols = [np.concatenate([p[k] for p in parts]) for k in range(10)]
    return _Rows(*cols)


def _solve(rows: _Rows, toa: F64, registry: ReceiverRegistry) -> tuple[F64, F64, F64]:
    """Horizontal error, chi2/dof and |cross-track| error (NaN: no track) of accepted fixes."""
    with np.errstate(invalid="ignore"):
        toa = toa - np.nanmin(np.where(rows.mask, toa, np.inf), axis=1, keepdims=True)
    res = solve_batch(
        rows.R,
        toa,
        registry.sigma_s(rows.ids),
        mask=rows.mask,
        altitude_m=rows.alt,
        altitude_sigma_m=ALTITUDE_MODES["baro"],
    )
    ok = plausible(res, rows.R)
    err = horizontal_distance_m(res.lat_deg, res.lon_deg, rows.lat, rows.lon)
    rot = ecef_to_enu_matrix(rows.lat, rows.lon)
    d = np.einsum("nij,nj->ni", rot, res.ecef_m - rows.truth)[:, :2]
    v = np.einsum("nij,nj->ni", rot, rows.vel)[:, :2]
    sp = np.linalg.norm(v, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = np.abs(v[:, 0] * d[:, 1] - v[:, 1] * d[:, 0]) / sp
    cross = np.where(np.isfinite(sp) & (sp > 30.0), cross, np.nan)
    chi = res.chi2 / np.maximum(res.dof, 1)
    return err[ok], chi[ok], cross[ok]


def noise_floor(
    sets: Sequence[LocardsSet],
    registry: ReceiverRegistry,
    sigmas_s: Sequence[float] = SIGMA_GRID_S,
    seed: int = 0,
) -> NoiseFloor:
    """Match the simulated noise to the real chi-square and report the simulated accuracy."""
    rows = _stack(sets, registry)
    _, real_chi, real_cross = _solve(rows, rows.toa_cal, registry)
    real_med = float(np.median(real_chi))
    best: tuple[float, float, tuple[F64, F64, F64]] | None = None
    for sig in sigmas_s:
        rng = np.random.default_rng(seed)
        toa = np.where(rows.mask, rows.path_s + rng.normal(0.0, sig, rows.mask.shape), np.nan)
        out = _solve(rows, toa, registry)
        gap = abs(np.log(float(np.median(out[1])) / real_med))
        if best is None or gap < best[0]:
            best = (gap, float(sig), out)
    assert best is not None
    _, sig, (err, chi, cross) = best
    return NoiseFloor(
        sigma_s=sig,
        real_chi2_per_dof=real_med,
        sim_chi2_per_dof=float(np.median(chi)),
        real_cross_median_m=float(np.nanmedian(real_cross)),
        sim_cross_median_m=float(np.nanmedian(cross)),
        transmissions=int(rows.mask.shape[0]),
        solved=int(err.size),
        median_m=float(np.median(err)),
        p90_m=float(np.percentile(err, 90)),
        rmse_m=float(np.sqrt(np.mean(err**2))),
    )
