"""Per-receiver timing biases learned from reference positions, and the ground truth's lag.

GPS-disciplined receivers still disagree by tens to hundreds of nanoseconds (cable delays,
detector thresholds, firmware); a transmission from a *known* position (an ADS-B aircraft)
measures each receiver's time of arrival minus the predicted propagation time, i.e. its bias
plus the unknown transmit time. :func:`fit_biases` separates the two robustly (alternating
medians over rows and receivers), :func:`held_out_biases` applies biases learned only from
*other* groups (other aircraft, or another period) so accuracy is measured on data the
calibration did not see.

:func:`truth_lag_s` estimates how stale a reference position is: if the reported position is
``lag`` seconds old, each receiver's residual carries ``lag * (v . u) / c`` (``u``: unit vector
receiver to aircraft); a least-squares fit of that term gives the lag in seconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from overflight.mlat.geodesy import SPEED_OF_LIGHT_M_S, ecef_to_llh
from overflight.mlat.solve import REFRACTIVITY_N0, mean_refractivity

__all__ = [
    "apply_biases",
    "bias_lookup",
    "fit_biases",
    "held_out_biases",
    "track_velocity_m_s",
    "truth_lag_s",
    "truth_residuals_s",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def truth_residuals_s(
    receivers_ecef_m: F64,
    toa_s: F64,
    mask: B,
    truth_ecef_m: F64,
    refractivity_n0: float = REFRACTIVITY_N0,
) -> F64:
    """``toa - min(toa) - path/c`` per reception, seconds (NaN where masked), shape ``(n, m)``.

    ``path`` is the straight-line range times the same refractivity model the solver uses, so
    biases learned here are the ones the solver sees.
    """
    R = np.asarray(receivers_ecef_m, dtype=np.float64)
    X = np.asarray(truth_ecef_m, dtype=np.float64)
    t = np.where(mask, toa_s, np.nan)
    w = mask.astype(np.float64)
    origin = np.einsum("nmk,nm->nk", R, w) / np.maximum(w.sum(axis=1), 1)[:, None]
    srx = np.linalg.norm(R, axis=-1) - ecef_to_llh(R)[2]
    sac = np.linalg.norm(X, axis=-1) - ecef_to_llh(X)[2]
    nb = mean_refractivity(X - origin, R - origin[:, None, :], srx, sac, origin, refractivity_n0)
    rng = np.linalg.norm(R - X[:, None, :], axis=-1) * (1.0 + nb)
    with np.errstate(invalid="ignore"):
        t0 = np.nanmin(np.where(mask, t, np.inf), axis=1)
    return np.asarray(np.where(mask, t - t0[:, None] - rng / SPEED_OF_LIGHT_M_S, np.nan))


def fit_biases(
    sensor: I64, residual_s: F64, mask: B, iterations: int = 10, min_count: int = 5
) -> dict[int, float]:
    """Per-receiver bias (seconds) from reference residuals, robustly (alternating medians).

    The common offset is unobservable in time differences; the gauge is "median bias = 0" so a
    receiver absent from the training data (bias 0) is treated as typical. Receivers with
    fewer than ``min_count`` receptions are left out.
    """
    s = np.asarray(sensor)
    ok = np.asarray(mask, bool) & np.isfinite(residual_s)
    if not ok.any():
        return {}
    u, inv = np.unique(s[ok], return_inverse=True)
    rows = np.nonzero(ok)[0]
    r = np.asarray(residual_s)[ok]
    n = s.shape[0]
    beta = np.zeros(u.size)
    for _ in range(iterations):
        e = np.full(s.shape, np.nan)
        e[ok] = r - beta[inv]
        tau = np.nanmedian(np.where(ok, e, np.nan), axis=1) if n else np.zeros(0)
        d = r - tau[rows]
        order = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[order], np.arange(u.size + 1))
        beta = np.array(
            [np.median(d[order[bounds[k] : bounds[k + 1]]]) for k in range(u.size)],
            dtype=np.float64,
        )
        beta -= np.median(beta)
    counts = np.bincount(inv, minlength=u.size)
    return {int(k): float(b) for k, b, c in zip(u, beta, counts, strict=True) if c >= min_count}


def bias_lookup(sensor: I64, biases: dict[int, float]) -> F64:
    """Each receiver's bias in seconds, shaped like ``sensor`` (0 where not in ``biases``)."""
    s = np.asarray(sensor)
    if not biases:
        return np.zeros(s.shape)
    keys = np.fromiter(biases.keys(), np.int64)
    vals = np.fromiter(biases.values(), np.float64)
    order = np.argsort(keys)
    keys, vals = keys[order], vals[order]
    pos = np.clip(np.searchsorted(keys, s), 0, keys.size - 1)
    return np.asarray(np.where(keys[pos] == s, vals[pos], 0.0), dtype=np.float64)


def apply_biases(sensor: I64, toa_s: F64, biases: dict[int, float]) -> F64:
    """``toa_s`` minus each receiver's bias (0 for receivers not in ``biases``)."""
    return np.asarray(toa_s - bias_lookup(sensor, biases), dtype=np.float64)


def held_out_biases(sensor: I64, residual_s: F64, mask: B, group: npt.ArrayLike) -> F64:
    """``(n, m)`` biases for every row learned only from rows of *other* groups.

    ``group``: ``(n,)`` labels (aircraft ids for leave-one-aircraft-out; 0/1 halves for a time
    split). A row never contributes to its own calibration.
    """
    g = np.asarray(group)
    out = np.zeros(np.asarray(sensor).shape)
    for label in np.unique(g):
        test = g == label
        b = fit_biases(sensor[~test], residual_s[~test], mask[~test])
        out[test] = bias_lookup(sensor[test], b)
    return out


def track_velocity_m_s(
    aircraft: npt.ArrayLike, time_s: F64, ecef_m: F64, max_gap_s: float = 240.0
) -> F64:
    """Velocity ``(n, 3)`` ECEF m/s from neighbouring reports of the same aircraft (NaN if none).

    Central difference over the previous and next report when both are within ``max_gap_s``,
    else a one-sided difference.
    """
    a = np.asarray(aircraft)
    t = np.asarray(time_s, dtype=np.float64)
    X = np.asarray(ecef_m, dtype=np.float64)
    V = np.full(X.shape, np.nan)
    order = np.lexsort((t, a))
    same = a[order][1:] == a[order][:-1]
    dt = np.diff(t[order])
    link = same & (dt > 0) & (dt <= max_gap_s)
    prev = np.full(order.size, -1)
    nxt = np.full(order.size, -1)
    prev[1:][link] = order[:-1][link]
    nxt[:-1][link] = order[1:][link]
    p = np.full(t.shape, -1)
    q = np.full(t.shape, -1)
    p[order], q[order] = prev, nxt
    i0 = np.where(p >= 0, p, np.arange(t.size))
    i1 = np.where(q >= 0, q, np.arange(t.size))
    has = i0 != i1
    V[has] = (X[i1[has]] - X[i0[has]]) / (t[i1[has]] - t[i0[has]])[:, None]
    return V


def truth_lag_s(
    receivers_ecef_m: F64,
    residual_s: F64,
    mask: B,
    truth_ecef_m: F64,
    velocity_m_s: F64,
    biases_s: F64 | None = None,
    clip_s: float = 300e-9,
) -> float:
    """Least-squares lag (seconds) of the reference positions behind the transmissions.

    Residuals (minus ``biases_s``) are centred per row, as is the lag regressor
    ``(v . u) / c``; receptions beyond ``clip_s`` (outliers) and rows without velocity are
    ignored. Positive: the reported position is older than the transmission.
    """
    R = np.asarray(receivers_ecef_m, dtype=np.float64)
    d = np.asarray(truth_ecef_m)[:, None, :] - R
    u = d / np.linalg.norm(d, axis=-1)[..., None]
    g = np.einsum("nk,nmk->nm", velocity_m_s, u) / SPEED_OF_LIGHT_M_S
    r = residual_s - (0.0 if biases_s is None else biases_s)
    ok = mask & np.isfinite(r) & np.isfinite(g)
    rows = ok.all(axis=1)
    r, g = r[rows], g[rows]
    r = r - np.median(r, axis=1, keepdims=True)
    rd = r - r.mean(axis=1, keepdims=True)
    gd = g - g.mean(axis=1, keepdims=True)
    use = np.abs(r) < clip_s
    den = float(np.sum(gd[use] ** 2))
    return float(np.sum(rd[use] * gd[use]) / den) if den > 0 else float("nan")
