# mypy: disable-error-code="no-untyped-def,unused-ignore"
"""Compiled Levenberg-Marquardt for time-of-arrival fixes: one row at a time, no temporaries.

The model and the steps are those documented in :mod:`overflight.mlat.solve` (whitened TOA
rows ``(|x - r_i| (1 + nb_i) + b - rho_i) w_i``, an optional height row, damping
``lambda * (diag(A) + 1e-9)``, restarts from above each receiver when the chi-square is too large,
then a refinement with the tropospheric delay factor ``nb_i`` held at the solution). Positions
are relative to a per-row origin (metres).
"""

from __future__ import annotations

import math

import numpy as np

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.geo import WGS84_A_M, WGS84_B_M, WGS84_E2, WGS84_EP2

__all__ = ["solve_rows"]

_A = WGS84_A_M
_B = WGS84_B_M
_E2 = WGS84_E2
_EP2 = WGS84_EP2
_NS = 8
_GRID_HALF_WIDTH_M = 300_000.0
"""Half width of the restart grid around the receivers' centroid (line of sight ~400 km)."""
_GRID_STEP_M = 20_000.0
"""Restart grid spacing: finer than the basins of the TDOA cost seen on real data."""
_GRID_STARTS = 4
"""Grid points tried as starts (restarts, ambiguity search), best first."""
_GRID_SEPARATION_M = 60_000.0
"""Distance between grid starts, so that one elongated valley does not take them all."""
_MIN_HEIGHT_M = -500.0
_MAX_HEIGHT_M = 20_000.0
"""Heights an alternative minimum must have to count (a mirror image underground does not)."""
_AMBIGUITY_EXCLUDE_M = 30_000.0
"""Grid points this close to a solution are its own basin, not an alternative."""
_AMBIGUITY_DISTANCE_M = 5_000.0
"""An alternative minimum this far from the solution makes the fix ambiguous."""


@numba.njit(cache=True, nogil=True)
def _llh(x, y, z):  # type: ignore[no-untyped-def]
    """ECEF (m) to (lat rad, lon rad, h m): Bowring plus one refinement (as geodesy.py)."""
    lon = math.atan2(y, x)
    p = math.hypot(x, y)
    th = math.atan2(z * _A, p * _B)
    st, ct = math.sin(th), math.cos(th)
    lat = math.atan2(z + _EP2 * _B * st * st * st, p - _E2 * _A * ct * ct * ct)
    s = math.sin(lat)
    n = _A / math.sqrt(1.0 - _E2 * s * s)
    c = math.cos(lat)
    h = p / c - n if abs(c) > 1e-9 else abs(z) - _B
    lat = math.atan2(z, p * (1.0 - _E2 * n / (n + h)))
    s = math.sin(lat)
    n = _A / math.sqrt(1.0 - _E2 * s * s)
    c = math.cos(lat)
    h = p * c + z * s - _A * _A / n
    return lat, lon, h


@numba.njit(cache=True, nogil=True)
def _ecef(lat, lon, h, out):  # type: ignore[no-untyped-def]
    s = math.sin(lat)
    n = _A / math.sqrt(1.0 - _E2 * s * s)
    c = math.cos(lat)
    out[0] = (n + h) * c * math.cos(lon)
    out[1] = (n + h) * c * math.sin(lon)
    out[2] = (n * (1.0 - _E2) + h) * s


@numba.njit(cache=True, nogil=True)
def _eval(x, b, rel, rho, w, nb, m, alt, aw, org, r, J):  # type: ignore[no-untyped-def]
    """Residuals ``r`` (m+1) and Jacobian ``J`` (m+1, 4) at (x, b); returns the cost."""
    cost = 0.0
    for i in range(m):
        if w[i] == 0.0:
            r[i] = 0.0
            for k in range(4):
                J[i, k] = 0.0
            continue
        d0 = x[0] - rel[i, 0]
        d1 = x[1] - rel[i, 1]
        d2 = x[2] - rel[i, 2]
        rng = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        if rng < 1.0:
            rng = 1.0
        f = (1.0 + nb[i]) * w[i] / rng
        r[i] = (rng * (1.0 + nb[i]) + b - rho[i]) * w[i]
        J[i, 0] = d0 * f
        J[i, 1] = d1 * f
        J[i, 2] = d2 * f
        J[i, 3] = w[i]
        cost += r[i] * r[i]
    if aw > 0.0:
        lat, lon, h = _llh(x[0] + org[0], x[1] + org[1], x[2] + org[2])
        r[m] = (h - alt) * aw
        cl = math.cos(lat)
        J[m, 0] = cl * math.cos(lon) * aw
        J[m, 1] = cl * math.sin(lon) * aw
        J[m, 2] = math.sin(lat) * aw
        J[m, 3] = 0.0
        cost += r[m] * r[m]
    else:
        r[m] = 0.0
        for k in range(4):
            J[m, k] = 0.0
    return cost


@numba.njit(cache=True, nogil=True)
def _solve4(A, g, out):  # type: ignore[no-untyped-def]
    """``out = A^-1 g`` by Gaussian elimination with partial pivoting; False if singular."""
    M = np.empty((4, 5))
    for i in range(4):
        for j in range(4):
            M[i, j] = A[i, j]
        M[i, 4] = g[i]
    for c in range(4):
        p = c
        for i in range(c + 1, 4):
            if abs(M[i, c]) > abs(M[p, c]):
                p = i
        if not abs(M[p, c]) > 0.0:
            return False
        if p != c:
            for j in range(5):
                t = M[c, j]
                M[c, j] = M[p, j]
                M[p, j] = t
        for i in range(c + 1, 4):
            f = M[i, c] / M[c, c]
            for j in range(c, 5):
                M[i, j] -= f * M[c, j]
    for i in range(3, -1, -1):
        s = M[i, 4]
        for j in range(i + 1, 4):
            s -= M[i, j] * out[j]
        out[i] = s / M[i, i]
    finite = True
    for i in range(4):
        finite = finite and math.isfinite(out[i])
    return finite


@numba.njit(cache=True, nogil=True)
def _lm(x, bb, rel, rho, w, nb, m, alt, aw, org, iters, r, J):  # type: ignore[no-untyped-def]
    """LM from (x, bb[0]) in place; returns (cost, converged)."""
    nr = m + 1
    rn = np.empty(nr)
    Jn = np.empty((nr, 4))
    A = np.empty((4, 4))
    D = np.empty((4, 4))
    g = np.empty(4)
    st = np.empty(4)
    xn = np.empty(3)
    lam = 1e-3
    b = bb[0]
    cost = _eval(x, b, rel, rho, w, nb, m, alt, aw, org, r, J)
    conv = False
    for _ in range(iters):
        for i in range(4):
            s = 0.0
            for k in range(nr):
                s += J[k, i] * r[k]
            g[i] = s
            for j in range(i, 4):
                s = 0.0
                for k in range(nr):
                    s += J[k, i] * J[k, j]
                A[i, j] = s
                A[j, i] = s
        for i in range(4):
            for j in range(4):
                D[i, j] = A[i, j]
            D[i, i] += lam * (A[i, i] + 1e-9)
        if not _solve4(D, g, st):
            for i in range(4):
                st[i] = 0.0
        for i in range(3):
            xn[i] = x[i] - st[i]
        bn = b - st[3]
        cn = _eval(xn, bn, rel, rho, w, nb, m, alt, aw, org, rn, Jn)
        better = cn <= cost
        small = math.sqrt(st[0] * st[0] + st[1] * st[1] + st[2] * st[2]) < 1e-3
        if better:
            conv = small or (cost - cn < 1e-10 * (1.0 + cost))
            for i in range(3):
                x[i] = xn[i]
            b = bn
            for k in range(nr):
                r[k] = rn[k]
                for j in range(4):
                    J[k, j] = Jn[k, j]
            cost = cn
            lam = max(lam / 10.0, 1e-12)
            if conv:
                break
        else:
            lam = min(lam * 10.0, 1e12)
    bb[0] = b
    return cost, conv


@numba.njit(cache=True, nogil=True)
def _refractivity(x, rel, w, m, org, srx, n0, hs, nb):  # type: ignore[no-untyped-def]
    """Mean ``n - 1`` along each receiver-aircraft chord (see solve.mean_refractivity)."""
    _, _, hac = _llh(x[0] + org[0], x[1] + org[1], x[2] + org[2])
    ax, ay, az = x[0] + org[0], x[1] + org[1], x[2] + org[2]
    sac = math.sqrt(ax * ax + ay * ay + az * az) - hac
    for i in range(m):
        if w[i] == 0.0:
            nb[i] = 0.0
            continue
        acc = 0.0
        for k in range(_NS):
            s = (k + 0.5) / _NS
            px = rel[i, 0] + (x[0] - rel[i, 0]) * s + org[0]
            py = rel[i, 1] + (x[1] - rel[i, 1]) * s + org[1]
            pz = rel[i, 2] + (x[2] - rel[i, 2]) * s + org[2]
            rad = math.sqrt(px * px + py * py + pz * pz)
            h = rad - (srx[i] * (1.0 - s) + sac * s)
            if h < 0.0:
                h = 0.0
            acc += math.exp(-h / hs)
        nb[i] = n0 * 1e-6 * acc / _NS


@numba.njit(cache=True, nogil=True)
def _start_b(x, rel, rho, w, m):  # type: ignore[no-untyped-def]
    s = 0.0
    c = 0
    for i in range(m):
        if w[i] > 0.0:
            d0 = x[0] - rel[i, 0]
            d1 = x[1] - rel[i, 1]
            d2 = x[2] - rel[i, 2]
            s += rho[i] - math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
            c += 1
    return s / max(c, 1)


@numba.njit(cache=True, nogil=True)
def _grid_starts(rel, rho, w, m, org, h0, ex, excl_m, sep_m, out):  # type: ignore[no-untyped-def]
    """The best points of a coarse horizontal grid at height ``h0`` around the origin
    (metres), written to ``out`` (k, 3) relative to the origin; returns how many.

    Points are taken best first, each at least ``sep_m`` from those already taken and
    ``excl_m`` from ``ex`` (0: no exclusion), so that elongated valleys of the TDOA cost yield
    one start each. The cost at a point has the transmit time eliminated (the weighted mean of
    ``rho - range``), so the grid finds basins where a start at the receivers' centroid or
    above a receiver leads Levenberg-Marquardt into a wrong local minimum.
    """
    lat0, lon0, _ = _llh(org[0], org[1], org[2])
    cl = max(math.cos(lat0), 1e-3)
    nstep = int(_GRID_HALF_WIDTH_M / _GRID_STEP_M)
    side = 2 * nstep + 1
    pts = np.empty((side * side, 3))
    costs = np.empty(side * side)
    pos = np.empty(3)
    rng = np.empty(m)
    q = 0
    for a in range(-nstep, nstep + 1):
        for c in range(-nstep, nstep + 1):
            la = lat0 + c * _GRID_STEP_M / _A
            lo = lon0 + a * _GRID_STEP_M / (_A * cl)
            _ecef(la, lo, h0, pos)
            sw = 0.0
            sr = 0.0
            for i in range(m):
                if w[i] > 0.0:
                    d0 = pos[0] - org[0] - rel[i, 0]
                    d1 = pos[1] - org[1] - rel[i, 1]
                    d2 = pos[2] - org[2] - rel[i, 2]
                    rng[i] = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
                    w2 = w[i] * w[i]
                    sr += w2 * (rho[i] - rng[i])
                    sw += w2
            bt = sr / sw
            cost = 0.0
            for i in range(m):
                if w[i] > 0.0:
                    e = (rng[i] + bt - rho[i]) * w[i]
                    cost += e * e
            for i in range(3):
                pts[q, i] = pos[i] - org[i]
            costs[q] = cost
            q += 1
    order = np.argsort(costs)
    taken = 0
    for idx in order:
        if taken >= out.shape[0]:
            break
        if excl_m > 0.0 and _dist2(pts[idx], ex) < excl_m * excl_m:
            continue
        ok = True
        for t in range(taken):
            if _dist2(pts[idx], out[t]) < sep_m * sep_m:
                ok = False
                break
        if ok:
            for i in range(3):
                out[taken, i] = pts[idx, i]
            taken += 1
    return taken


@numba.njit(cache=True, nogil=True)
def _dist2(a, b):  # type: ignore[no-untyped-def]
    d0 = a[0] - b[0]
    d1 = a[1] - b[1]
    d2 = a[2] - b[2]
    return d0 * d0 + d1 * d1 + d2 * d2


@numba.njit(cache=True, nogil=True)
def solve_rows(  # type: ignore[no-untyped-def]
    rel,
    rho,
    w,
    alt,
    aw,
    org,
    x0,
    iters,
    restart_chi2,
    ambiguity_chi2,
    n0,
    hs,
    srx,
    x_out,
    J_out,
    r_out,
    out,
):
    """Solve every row; writes x (rel. origin), the final Jacobian and residuals, and
    ``out[:, 0..3]`` = (cost, converged, b, ambiguous)."""
    n, m = rho.shape
    nr = m + 1
    r = np.empty(nr)
    J = np.empty((nr, 4))
    x = np.empty(3)
    xs = np.empty(3)
    bb = np.empty(1)
    bs = np.empty(1)
    rs = np.empty(nr)
    Js = np.empty((nr, 4))
    nb = np.empty(m)
    pos = np.empty(3)
    starts = np.empty((_GRID_STARTS, 3))
    nb2 = np.empty(m)
    for k in range(n):
        wk = w[k]
        relk = rel[k]
        rhok = rho[k]
        ok = org[k]
        cnt = 0
        for i in range(m):
            nb[i] = 0.0
            if wk[i] > 0.0:
                cnt += 1
        has_alt = aw[k] > 0.0
        dof = cnt + (1 if has_alt else 0) - 4
        for i in range(3):
            x[i] = x0[k, i]
        bb[0] = _start_b(x, relk, rhok, wk, m)
        cost, conv = _lm(x, bb, relk, rhok, wk, nb, m, alt[k], aw[k], ok, iters, r, J)
        if restart_chi2 > 0.0 and dof > 0 and cost > restart_chi2 * dof:
            # Other starts: above each receiver at the known (or a typical) height, then, if
            # the chi-square is still too large, the best points of a coarse grid (costlier).
            h0 = alt[k] if has_alt else 9000.0
            ng = 0
            for j in range(m + _GRID_STARTS):
                if j < m:
                    if wk[j] == 0.0:
                        continue
                    la, lo, _ = _llh(relk[j, 0] + ok[0], relk[j, 1] + ok[1], relk[j, 2] + ok[2])
                    _ecef(la, lo, h0, pos)
                else:
                    if j == m:
                        if cost <= restart_chi2 * dof:
                            break
                        ng = _grid_starts(
                            relk, rhok, wk, m, ok, h0, x, 0.0, _GRID_SEPARATION_M, starts
                        )
                    if j - m >= ng:
                        break
                    for i in range(3):
                        pos[i] = starts[j - m, i] + ok[i]
                for i in range(3):
                    xs[i] = pos[i] - ok[i]
                bs[0] = _start_b(xs, relk, rhok, wk, m)
                c2, k2 = _lm(xs, bs, relk, rhok, wk, nb, m, alt[k], aw[k], ok, iters, rs, Js)
                if c2 < cost:
                    cost, conv = c2, k2
                    for i in range(3):
                        x[i] = xs[i]
                    bb[0] = bs[0]
                    for i in range(nr):
                        r[i] = rs[i]
                        for q in range(4):
                            J[i, q] = Js[i, q]
        if n0 > 0.0:
            _refractivity(x, relk, wk, m, ok, srx[k], n0, hs, nb)
            cost, conv = _lm(
                x, bb, relk, rhok, wk, nb, m, alt[k], aw[k], ok, max(6, iters // 3), r, J
            )
        for i in range(3):
            x_out[k, i] = x[i]
        for i in range(nr):
            r_out[k, i] = r[i]
            for q in range(4):
                J_out[k, i, q] = J[i, q]
        out[k, 0] = cost
        out[k, 1] = 1.0 if conv else 0.0
        out[k, 2] = bb[0]
        out[k, 3] = 0.0
        if ambiguity_chi2 > 0.0 and dof <= 1 and cnt >= 3:
            # Little or no redundancy: the chi-square cannot reveal a wrong minimum, so look
            # for another one away from this solution that fits about as well.
            h0 = alt[k] if has_alt else 9000.0
            ng = _grid_starts(
                relk, rhok, wk, m, ok, h0, x, _AMBIGUITY_EXCLUDE_M, _GRID_SEPARATION_M, starts
            )
            for g in range(ng):
                for i in range(3):
                    xs[i] = starts[g, i]
                bs[0] = _start_b(xs, relk, rhok, wk, m)
                c2, k2 = _lm(xs, bs, relk, rhok, wk, nb, m, alt[k], aw[k], ok, iters, rs, Js)
                far = _dist2(xs, x) > _AMBIGUITY_DISTANCE_M * _AMBIGUITY_DISTANCE_M
                _, _, h2 = _llh(xs[0] + ok[0], xs[1] + ok[1], xs[2] + ok[2])
                airborne = _MIN_HEIGHT_M <= h2 <= _MAX_HEIGHT_M
                if far and airborne and n0 > 0.0:
                    # Compare like with like: the alternative with its own propagation delays.
                    _refractivity(xs, relk, wk, m, ok, srx[k], n0, hs, nb2)
                    c2, k2 = _lm(
                        xs,
                        bs,
                        relk,
                        rhok,
                        wk,
                        nb2,
                        m,
                        alt[k],
                        aw[k],
                        ok,
                        max(6, iters // 3),
                        rs,
                        Js,
                    )
                    far = _dist2(xs, x) > _AMBIGUITY_DISTANCE_M * _AMBIGUITY_DISTANCE_M
                if far and airborne and c2 <= cost + ambiguity_chi2:
                    out[k, 3] = 1.0
                    break
