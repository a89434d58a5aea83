# mypy: disable-error-code="no-untyped-def,unused-ignore"
"""Compiled constant-velocity Kalman steps (6-state: ECEF position m, velocity m/s).

Process noise is white acceleration with spectral density ``q`` (m^2/s^3), discretised over
``dt``: ``Q = q * [[dt^3/3, dt^2/2], [dt^2/2, dt]]`` per axis. Scalar loops: a 6x6 NumPy
matrix product costs more in call overhead than the arithmetic.
"""

from __future__ import annotations

import numpy as np

from overflight._numba_cache import numba  # numba, its cache folder configured

__all__ = ["cv_predict", "cv_update", "mahalanobis2"]


@numba.njit(cache=True, nogil=True)
def cv_predict(x, P, dt, q, xp, Pp):  # type: ignore[no-untyped-def]
    """Write the prediction of ``(x, P)`` over ``dt`` seconds into ``(xp, Pp)``."""
    for i in range(3):
        xp[i] = x[i] + dt * x[i + 3]
        xp[i + 3] = x[i + 3]
    # F P F^T with F = [[I, dt I], [0, I]], blockwise.
    for i in range(3):
        for j in range(3):
            a = P[i, j] + dt * (P[i + 3, j] + P[i, j + 3]) + dt * dt * P[i + 3, j + 3]
            b = P[i, j + 3] + dt * P[i + 3, j + 3]
            Pp[i, j] = a
            Pp[i, j + 3] = b
            Pp[j + 3, i] = b
            Pp[i + 3, j + 3] = P[i + 3, j + 3]
    q11 = q * dt * dt * dt / 3.0
    q12 = q * dt * dt / 2.0
    q22 = q * dt
    for i in range(3):
        Pp[i, i] += q11
        Pp[i, i + 3] += q12
        Pp[i + 3, i] += q12
        Pp[i + 3, i + 3] += q22


@numba.njit(cache=True, nogil=True)
def _inv3(S, Si):  # type: ignore[no-untyped-def]
    a, b, c = S[0, 0], S[0, 1], S[0, 2]
    d, e, f = S[1, 0], S[1, 1], S[1, 2]
    g, h, k = S[2, 0], S[2, 1], S[2, 2]
    c00 = e * k - f * h
    c01 = -(d * k - f * g)
    c02 = d * h - e * g
    det = a * c00 + b * c01 + c * c02
    if not det > 0.0:
        return False
    Si[0, 0] = c00 / det
    Si[1, 0] = c01 / det
    Si[2, 0] = c02 / det
    Si[0, 1] = -(b * k - c * h) / det
    Si[1, 1] = (a * k - c * g) / det
    Si[2, 1] = -(a * h - b * g) / det
    Si[0, 2] = (b * f - c * e) / det
    Si[1, 2] = -(a * f - c * d) / det
    Si[2, 2] = (a * e - b * d) / det
    return True


@numba.njit(cache=True, nogil=True)
def _innovation_inverse(Pp, R, Si):  # type: ignore[no-untyped-def]
    """``Si`` = (position block of ``Pp`` + ``R``)^-1, the innovation's inverse covariance;
    False when singular."""
    S = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            S[i, j] = Pp[i, j] + R[i, j]
    return _inv3(S, Si)


@numba.njit(cache=True, nogil=True)
def mahalanobis2(xp, Pp, z, R):  # type: ignore[no-untyped-def]
    """Squared Mahalanobis distance of fix ``z`` (cov ``R``) from the predicted position."""
    Si = np.empty((3, 3))
    if not _innovation_inverse(Pp, R, Si):
        return np.inf
    d2 = 0.0
    for i in range(3):
        for j in range(3):
            d2 += (z[i] - xp[i]) * Si[i, j] * (z[j] - xp[j])
    return d2


@numba.njit(cache=True, nogil=True)
def cv_update(xp, Pp, z, R, x, P):  # type: ignore[no-untyped-def]
    """Kalman update of the prediction ``(xp, Pp)`` with position fix ``z`` (cov ``R``) into
    ``(x, P)``; returns False (and copies the prediction) when the innovation is singular."""
    Si = np.empty((3, 3))
    if not _innovation_inverse(Pp, R, Si):
        x[:] = xp
        P[:, :] = Pp
        return False
    K = np.zeros((6, 3))  # K = Pp[:, :3] Si
    for i in range(6):
        for j in range(3):
            s = 0.0
            for k in range(3):
                s += Pp[i, k] * Si[k, j]
            K[i, j] = s
    for i in range(6):
        s = 0.0
        for k in range(3):
            s += K[i, k] * (z[k] - xp[k])
        x[i] = xp[i] + s
    # P = Pp - K S K^T = Pp - K Pp[:3, :], symmetrised.
    for i in range(6):
        for j in range(6):
            s = 0.0
            for k in range(3):
                s += K[i, k] * Pp[k, j]
            P[i, j] = Pp[i, j] - s
    for i in range(6):
        for j in range(i + 1, 6):
            m = 0.5 * (P[i, j] + P[j, i])
            P[i, j] = m
            P[j, i] = m
    return True
