"""Time-of-arrival multilateration: batched Levenberg-Marquardt on ECEF, and a scipy peer.

Model for transmission ``k`` heard by receiver ``i`` at ``r_i`` (ECEF, m) at time ``t_i`` (s, on
a common timescale)::

    c * t_i = |x - r_i| + b          (x: aircraft ECEF position, b = c * transmit time)

plus, when a barometric (or geometric) altitude ``h`` is known, the pseudo-measurement
``height(x) = h`` with its own sigma. Unknowns are ``(x, b)``; residuals are whitened by the
receivers' timing sigmas, so the normal matrix's inverse is the covariance of the solution.

:func:`solve_batch` solves many transmissions at once (padded ``(n, m)`` arrays with a mask),
vectorising every step over ``n``; :func:`solve_scipy` is the straightforward per-solution
``scipy.optimize.least_squares`` used as a reference and speed peer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares

from overflight.mlat._lm import solve_rows
from overflight.mlat.geodesy import (
    SPEED_OF_LIGHT_M_S,
    ecef_to_enu_matrix,
    ecef_to_llh,
    llh_to_ecef,
    up_vector,
)

__all__ = [
    "REFRACTIVITY_N0",
    "REFRACTIVITY_SCALE_HEIGHT_M",
    "SolveResult",
    "mean_refractivity",
    "plausible",
    "solve_batch",
    "solve_scipy",
]

F64 = npt.NDArray[np.float64]
C = SPEED_OF_LIGHT_M_S

REFRACTIVITY_N0 = 315.0
"""Surface radio refractivity N = (n - 1) * 1e6 of the ITU-R P.453 reference atmosphere."""
REFRACTIVITY_SCALE_HEIGHT_M = 7_000.0
"""Scale height of the exponential refractivity profile, metres (ITU-R P.453)."""
_N_SAMPLES = 8


def mean_refractivity(
    aircraft_rel_m: F64,
    receivers_rel_m: F64,
    surface_radius_rx_m: F64,
    surface_radius_ac_m: F64,
    origin_m: F64,
    n0: float = REFRACTIVITY_N0,
    scale_height_m: float = REFRACTIVITY_SCALE_HEIGHT_M,
) -> F64:
    """Mean ``n - 1`` along each straight receiver-aircraft path, shape ``(n, m)``.

    The signal is slower than ``c`` in air: ``N(h) = n0 * exp(-h / H)``; over a 300 km path at
    low elevation the excess delay reaches ~100 ns, and it differs between receivers, so it is
    modelled rather than left in the noise. Heights along the chord are taken above a surface
    radius interpolated between the receiver's and the aircraft's (``*_rel_m`` are positions
    relative to ``origin_m``).
    """
    if n0 <= 0:
        return np.zeros(receivers_rel_m.shape[:2])
    s = (np.arange(_N_SAMPLES) + 0.5) / _N_SAMPLES
    p = (
        receivers_rel_m[:, :, None, :]
        + (aircraft_rel_m[:, None, None, :] - receivers_rel_m[:, :, None, :]) * s[:, None]
    )
    rad = np.linalg.norm(p + origin_m[:, None, None, :], axis=-1)
    surf = surface_radius_rx_m[:, :, None] * (1.0 - s) + surface_radius_ac_m[:, None, None] * s
    h = np.maximum(rad - surf, 0.0)
    return np.asarray(n0 * 1e-6 * np.mean(np.exp(-h / scale_height_m), axis=-1), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class SolveResult:
    """Solutions for ``n`` transmissions (arrays of length ``n`` unless stated).

    Attributes:
        ecef_m: ``(n, 3)`` solved position, ECEF metres.
        lat_deg, lon_deg, height_m: the same position, WGS84 (ellipsoidal height, m).
        error_m: horizontal 1-sigma error (DRMS: sqrt(var_east + var_north)), metres, from the
            covariance scaled by the reduced chi-square when that exceeds 1.
        gdop: geometric dilution of precision, sqrt(trace((H^T H)^-1)) with unit-weight rows
            (including the altitude row when used); dimensionless.
        chi2: whitened sum of squared residuals.
        dof: degrees of freedom (rows - 4); 0 means an exact fit.
        used: ``(n, m)`` bool, receivers that entered the final solution.
        residual_s: ``(n, m)`` residual per receiver in seconds (NaN where not used).
        cov_m2: ``(n, 3, 3)`` position covariance, ECEF m^2.
        converged: LM converged (step below 1 mm) within the iteration budget.
        ambiguous: another minimum more than 5 km away fits about as well (rows with one
            degree of freedom or none): the fix cannot be trusted.
    """

    ecef_m: F64
    lat_deg: F64
    lon_deg: F64
    height_m: F64
    error_m: F64
    gdop: F64
    chi2: F64
    dof: npt.NDArray[np.int64]
    used: npt.NDArray[np.bool_]
    residual_s: F64
    cov_m2: F64
    converged: npt.NDArray[np.bool_]
    ambiguous: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.ecef_m.shape[0])


def solve_batch(
    receivers_ecef_m: npt.ArrayLike,
    toa_s: npt.ArrayLike,
    sigma_s: npt.ArrayLike,
    mask: npt.ArrayLike | None = None,
    altitude_m: npt.ArrayLike | None = None,
    altitude_sigma_m: npt.ArrayLike = 50.0,
    x0_ecef_m: npt.ArrayLike | None = None,
    max_iterations: int = 25,
    refractivity_n0: float = REFRACTIVITY_N0,
    restart_chi2: float = 4.0,
    ambiguity_chi2: float = 9.0,
) -> SolveResult:
    """Solve ``n`` transmissions at once by Levenberg-Marquardt (one 4x4 system per row per step).

    Args:
        receivers_ecef_m: ``(n, m, 3)`` receiver positions, ECEF metres (padding rows: anything).
        toa_s: ``(n, m)`` times of arrival on a common timescale, seconds.
        sigma_s: ``(n, m)`` or ``(m,)`` 1-sigma TOA errors, seconds.
        mask: ``(n, m)`` bool, True where a reception exists (default: all).
        altitude_m: ``(n,)`` ellipsoidal altitude constraint in metres, NaN where unknown.
        altitude_sigma_m: 1-sigma of the altitude constraint, metres (scalar or ``(n,)``).
        x0_ecef_m: ``(n, 3)`` starting points; default: receivers' centroid lifted to the
            altitude (or 9,000 m).
        max_iterations: LM iteration budget.
        refractivity_n0: surface refractivity for the propagation delay model (0: vacuum).
        restart_chi2: rows whose chi-square per degree of freedom exceeds this are restarted
            from the best point of a coarse grid and from above each receiver (0: never).
        ambiguity_chi2: rows with one degree of freedom or none are searched for a second
            minimum more than 5 km away whose chi-square is within this of the solution's;
            one found marks the row ``ambiguous`` (0: no search).
    """
    R = np.asarray(receivers_ecef_m, dtype=np.float64)
    n, m = R.shape[:2]
    t = np.asarray(toa_s, dtype=np.float64)
    msk = np.ones((n, m), bool) if mask is None else np.asarray(mask, dtype=bool)
    msk = msk & np.isfinite(t)
    sig = np.broadcast_to(np.asarray(sigma_s, dtype=np.float64), (n, m))
    alt = (
        np.full(n, np.nan)
        if altitude_m is None
        else np.asarray(altitude_m, dtype=np.float64).reshape(n)
    )
    asig = np.broadcast_to(np.asarray(altitude_sigma_m, dtype=np.float64), (n,))
    aw = np.where(np.isfinite(alt), 1.0 / asig, 0.0)
    w = np.where(msk, 1.0 / (sig * C), 0.0)
    cnt = msk.sum(axis=1)
    # Local origin: centroid of the receivers heard, for conditioning.
    origin = np.einsum("nmk,nm->nk", R, msk.astype(np.float64)) / np.maximum(cnt, 1)[:, None]
    rel = R - origin[:, None, :]
    srx = np.linalg.norm(R, axis=-1) - ecef_to_llh(R)[2]
    tref = np.min(np.where(msk, t, np.inf), axis=1)
    tref = np.where(np.isfinite(tref), tref, 0.0)
    rho = np.where(msk, (t - tref[:, None]) * C, 0.0)
    if x0_ecef_m is None:
        lat0, lon0, _ = ecef_to_llh(origin)
        x = llh_to_ecef(lat0, lon0, np.where(np.isfinite(alt), alt, 9000.0)) - origin
    else:
        x = np.asarray(x0_ecef_m, dtype=np.float64).reshape(n, 3) - origin
    x_out = np.empty((n, 3))
    J = np.empty((n, m + 1, 4))
    res = np.empty((n, m + 1))
    info = np.empty((n, 4))
    solve_rows(
        np.ascontiguousarray(rel),
        np.ascontiguousarray(rho),
        np.ascontiguousarray(w),
        np.ascontiguousarray(np.nan_to_num(alt)),
        np.ascontiguousarray(aw),
        np.ascontiguousarray(origin),
        np.ascontiguousarray(x),
        int(max_iterations),
        float(restart_chi2),
        float(ambiguity_chi2),
        float(refractivity_n0),
        REFRACTIVITY_SCALE_HEIGHT_M,
        np.ascontiguousarray(srx),
        x_out,
        J,
        res,
        info,
    )
    x, cost, converged = x_out, info[:, 0], info[:, 1] > 0
    b = info[:, 2]
    out = _finish(x, b, res, J, cost, msk, w, aw, origin, converged, rel, cnt)
    return replace(out, ambiguous=info[:, 3] > 0)


def _finish(
    x: F64,
    b: F64,
    res: F64,
    J: F64,
    cost: F64,
    msk: npt.NDArray[np.bool_],
    w: F64,
    aw: F64,
    origin: F64,
    converged: npt.NDArray[np.bool_],
    rel: F64,
    cnt: npt.NDArray[np.int64],
) -> SolveResult:
    n, m = msk.shape
    dof = (cnt + (aw > 0).astype(np.int64) - 4).astype(np.int64)
    A = np.einsum("nri,nrj->nij", J, J)
    ok = np.abs(np.linalg.det(A)) > 1e-300
    A_safe = np.where(ok[:, None, None], A, np.eye(4))
    cov = np.linalg.inv(A_safe)
    scale = np.where(dof > 0, np.maximum(1.0, cost / np.maximum(dof, 1)), 1.0)
    cov = cov * scale[:, None, None]
    cov[~ok] = np.nan
    ecef = x + origin
    lat, lon, h = ecef_to_llh(ecef)
    rot = ecef_to_enu_matrix(lat, lon)
    pc = cov[:, :3, :3]
    enu = rot @ pc @ np.swapaxes(rot, -1, -2)
    error = np.sqrt(np.maximum(enu[:, 0, 0] + enu[:, 1, 1], 0.0))
    # GDOP: unit-weight geometry rows (line-of-sight, 1) plus the altitude row when used.
    d = x[:, None, :] - rel
    u = d / np.maximum(np.linalg.norm(d, axis=-1), 1.0)[..., None]
    H = np.concatenate([u, np.ones((n, m, 1))], axis=-1) * msk[..., None]
    Hu = np.zeros((n, 1, 4))
    Hu[:, 0, :3] = up_vector(lat, lon) * (aw > 0)[:, None]
    H = np.concatenate([H, Hu], axis=1)
    G = np.einsum("nri,nrj->nij", H, H)
    gok = np.abs(np.linalg.det(G)) > 1e-12
    gdop = np.full(n, np.inf)
    if gok.any():
        gdop[gok] = np.sqrt(np.trace(np.linalg.inv(G[gok]), axis1=1, axis2=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        resid_s = np.where(msk, res[:, :m] / np.where(w > 0, w, 1.0) / C, np.nan)
    return SolveResult(
        ecef_m=ecef,
        lat_deg=lat,
        lon_deg=lon,
        height_m=h,
        error_m=np.where(ok & (dof >= 0), error, np.inf),
        gdop=gdop,
        chi2=cost,
        dof=dof,
        used=msk.copy(),
        residual_s=resid_s,
        cov_m2=pc,
        converged=converged,
        ambiguous=np.zeros(n, bool),
    )


def solve_scipy(
    receivers_ecef_m: npt.ArrayLike,
    toa_s: npt.ArrayLike,
    sigma_s: npt.ArrayLike,
    altitude_m: float | None = None,
    altitude_sigma_m: float = 50.0,
    x0_ecef_m: npt.ArrayLike | None = None,
    refractivity_n0: float = REFRACTIVITY_N0,
) -> tuple[F64, float]:
    """Solve one transmission by ``scipy.optimize.least_squares`` (LM): the batch's peer.

    Returns (ECEF position in metres ``(3,)``, whitened chi-square). Same model and start.
    """
    R = np.asarray(receivers_ecef_m, dtype=np.float64)
    t = np.asarray(toa_s, dtype=np.float64)
    w = 1.0 / (np.broadcast_to(np.asarray(sigma_s, dtype=np.float64), t.shape) * C)
    origin = R.mean(axis=0)
    rel = R - origin
    rho = (t - t.min()) * C
    if x0_ecef_m is None:
        lat0, lon0, _ = ecef_to_llh(origin)
        x0 = llh_to_ecef(lat0, lon0, altitude_m if altitude_m is not None else 9000.0) - origin
    else:
        x0 = np.asarray(x0_ecef_m, dtype=np.float64) - origin
    b0 = float(np.mean(rho - np.linalg.norm(x0 - rel, axis=1)))
    use_alt = altitude_m is not None and np.isfinite(altitude_m)

    srx = np.linalg.norm(R, axis=-1) - ecef_to_llh(R)[2]

    def fun(p: F64) -> F64:
        ax = p[:3] + origin
        h = ecef_to_llh(ax)[2]
        nb = mean_refractivity(
            p[None, :3],
            rel[None],
            srx[None],
            np.atleast_1d(np.linalg.norm(ax) - h),
            origin[None],
            refractivity_n0,
        )[0]
        r = (np.linalg.norm(p[:3] - rel, axis=1) * (1.0 + nb) + p[3] - rho) * w
        if use_alt:
            r = np.append(r, (h - float(altitude_m)) / altitude_sigma_m)  # type: ignore[arg-type]
        return np.asarray(r, dtype=np.float64)

    sol = least_squares(fun, np.append(x0, b0), method="lm", xtol=1e-12, ftol=1e-12)
    return np.asarray(sol.x[:3] + origin, dtype=np.float64), float(2.0 * sol.cost)


def plausible(
    result: SolveResult,
    receivers_ecef_m: npt.ArrayLike,
    *,
    max_error_m: float = 1_000.0,
    max_error_low_dof_m: float = 200.0,
    max_range_m: float = 450_000.0,
    min_height_m: float = -500.0,
    max_height_m: float = 20_000.0,
    max_chi2_per_dof: float = 10.0,
) -> npt.NDArray[np.bool_]:
    """Which solutions to keep: finite, error below ``max_error_m``, height in range, and every
    receiver used within ``max_range_m`` (line-of-sight range at cruise altitude is ~400 km), and
    chi-square per degree of freedom at most ``max_chi2_per_dof`` (a wrong local minimum or a
    receiver with a broken clock). With one degree of freedom or none the chi-square cannot
    reveal a wrong minimum (three receivers and an altitude have two exact solutions), so such
    fixes must also have an error estimate within ``max_error_low_dof_m``: on simulated 12 MHz
    receivers every fix more than 1 km off was one of these, with estimates of 243-792 m."""
    R = np.asarray(receivers_ecef_m, dtype=np.float64)
    dist = np.linalg.norm(R - result.ecef_m[:, None, :], axis=-1)
    far = np.any(np.where(result.used, dist > max_range_m, False), axis=1)
    return np.asarray(
        np.isfinite(result.error_m)
        & (result.error_m <= max_error_m)
        & ~result.ambiguous
        & ((result.dof >= 2) | (result.error_m <= max_error_low_dof_m))
        & (result.height_m >= min_height_m)
        & (result.height_m <= max_height_m)
        & ~far
        & (result.chi2 <= max_chi2_per_dof * np.maximum(result.dof, 1)),
        dtype=bool,
    )
