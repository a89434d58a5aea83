"""Clock synchronisation of free-running receivers from reference ADS-B transmissions.

When receivers ``i`` and ``j`` both hear an ADS-B position message whose position ``x`` is
known, the propagation delays ``|x - r|/c`` are known too, so ``t_j - t_i`` minus the delay
difference measures clock ``j`` relative to clock ``i`` at that moment. A Kalman filter per
pair tracks the offset (s) and drift (s/s) and rejects outliers by innovation; a minimum
spanning tree over the best pairs (weight: offset variance) ties every receiver to one root
(GPS-synchronised receivers form a single root node: they already share GPS time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

from overflight.mlat.geodesy import SPEED_OF_LIGHT_M_S
from overflight.mlat.receivers import ReceiverRegistry

__all__ = ["ClockSync", "PairClock"]

_GPS_ROOT = -1


@dataclass(slots=True)
class PairClock:
    """Kalman filter of clock ``b`` relative to clock ``a``: ``t_b = t_a + offset + drift*dt``.

    State ``(offset_s, drift)`` at ``t_ref_s`` (seconds on clock ``a``).
    """

    a: int
    b: int
    meas_sigma_s: float
    drift_noise: float = 2e-9
    """Random walk of the relative frequency, 1/sqrt(s)."""
    offset_noise_s: float = 5e-9
    """Random walk of the offset beyond the drift model, s/sqrt(s)."""
    gate_sigma: float = 5.0
    x: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(2))
    P: npt.NDArray[np.float64] = field(default_factory=lambda: np.eye(2))
    t_ref_s: float = math.nan
    updates: int = 0
    outliers: int = 0
    _run_of_outliers: int = 0

    def update(self, t_a_s: float, z_s: float) -> bool:
        """Add ``z = t_b - t_a`` (delay-corrected) at clock-a time; False if rejected."""
        if self.updates == 0 or not math.isfinite(self.t_ref_s):
            self._reset(t_a_s, z_s)
            return True
        dt = t_a_s - self.t_ref_s
        if dt < 0:
            return False
        # Scalar arithmetic (2x2 state): far cheaper than small NumPy matrices.
        x0, x1 = float(self.x[0]), float(self.x[1])
        p00, p01, p11 = float(self.P[0, 0]), float(self.P[0, 1]), float(self.P[1, 1])
        qd = self.drift_noise**2
        q00 = self.offset_noise_s**2 * dt + qd * dt**3 / 3
        q01 = qd * dt**2 / 2
        q11 = qd * dt
        x0 = x0 + dt * x1
        a00 = p00 + 2 * dt * p01 + dt * dt * p11 + q00
        a01 = p01 + dt * p11 + q01
        a11 = p11 + q11
        s = a00 + self.meas_sigma_s**2
        y = z_s - x0
        if self.updates >= 3 and y * y > self.gate_sigma**2 * s:
            self.outliers += 1
            self._run_of_outliers += 1
            if self._run_of_outliers >= 5:  # a clock jump: start over
                self._reset(t_a_s, z_s)
                return True
            return False
        k0, k1 = a00 / s, a01 / s
        self.x = np.array([x0 + k0 * y, x1 + k1 * y])
        self.P = np.array([[a00 - k0 * a00, a01 - k0 * a01], [a01 - k1 * a00, a11 - k1 * a01]])
        self.t_ref_s = t_a_s
        self.updates += 1
        self._run_of_outliers = 0
        return True

    def _reset(self, t_a_s: float, z_s: float) -> None:
        self.x = np.array([z_s, 0.0])
        self.P = np.diag([self.meas_sigma_s**2, (200e-6) ** 2])
        self.t_ref_s = t_a_s
        self.updates = 1
        self._run_of_outliers = 0

    def variance_at(self, t_a_s: float) -> float:
        """Predicted offset variance (s^2) at clock-a time ``t_a_s``."""
        dt = abs(t_a_s - self.t_ref_s)
        return float(
            self.P[0, 0]
            + 2 * dt * self.P[0, 1]
            + dt * dt * self.P[1, 1]
            + self.offset_noise_s**2 * dt
        )

    def b_from_a(self, t_a_s: float) -> float:
        """Clock-b reading at clock-a time ``t_a_s``."""
        return float(t_a_s + self.x[0] + self.x[1] * (t_a_s - self.t_ref_s))

    def a_from_b(self, t_b_s: float) -> float:
        """Clock-a reading at clock-b time ``t_b_s``."""
        return float((t_b_s - self.x[0] + self.x[1] * self.t_ref_s) / (1.0 + self.x[1]))


class ClockSync:
    """Common timescale for a network of receivers, from reference transmissions.

    Feed :meth:`add_reference` with each reference transmission (ECEF position and the
    receptions), then convert receiver times with :meth:`to_common`. The common timescale is
    GPS time when any GPS-synchronised receiver is connected, else the clock of the receiver
    with most synchronised pairs.
    """

    def __init__(
        self, registry: ReceiverRegistry, min_updates: int = 4, max_age_s: float = 60.0
    ) -> None:
        self.registry = registry
        self.min_updates = min_updates
        self.max_age_s = max_age_s
        self.pairs: dict[tuple[int, int], PairClock] = {}
        self._paths: dict[int, list[tuple[int, int]]] = {}
        self._edges: dict[tuple[int, int], tuple[PairClock, bool]] = {}
        self._dirty = True
        self._roots: list[int] = []
        self.references = 0
        self.rejected = 0

    def _gps(self, rid: int) -> bool:
        return rid in self.registry and self.registry[rid].clock.gps_synchronised

    def add_reference(
        self, position_ecef_m: npt.ArrayLike, receptions: Sequence[tuple[int, float]]
    ) -> None:
        """One transmission from a known position: ``receptions`` is ``[(receiver id, toa s)]``."""
        x = np.asarray(position_ecef_m, dtype=np.float64)
        rx = [(r, t) for r, t in receptions if r in self.registry]
        if len(rx) < 2:
            return
        self.references += 1
        ids = [r for r, _ in rx]
        d = np.linalg.norm(self.registry.ecef_m(ids) - x, axis=1) / SPEED_OF_LIGHT_M_S
        corr = [(r, t - float(dd)) for (r, t), dd in zip(rx, d, strict=True)]
        corr.sort()
        for ia in range(len(corr)):
            for ib in range(ia + 1, len(corr)):
                (ra, ta), (rb, tb) = corr[ia], corr[ib]
                if ra == rb or (self._gps(ra) and self._gps(rb)):
                    continue
                key = (ra, rb)
                pc = self.pairs.get(key)
                if pc is None:
                    sig = math.hypot(self.registry[ra].sigma_s, self.registry[rb].sigma_s, 30e-9)
                    pc = self.pairs[key] = PairClock(ra, rb, sig)
                if not pc.update(ta, tb - ta):
                    self.rejected += 1
        self._dirty = True

    def _rebuild(self, now_a: float | None = None) -> None:
        nodes = sorted({_GPS_ROOT} | {r for k in self.pairs for r in k})
        index = {r: i for i, r in enumerate(nodes)}

        def node(r: int) -> int:
            return index[_GPS_ROOT] if self._gps(r) else index[r]

        rows: list[int] = []
        cols: list[int] = []
        wts: list[float] = []
        for (ra, rb), pc in self.pairs.items():
            if pc.updates < self.min_updates:
                continue
            w = max(pc.variance_at(pc.t_ref_s), 1e-24) * 1e18 + 1e-6
            rows.append(node(ra))
            cols.append(node(rb))
            wts.append(w)
        n = len(nodes)
        self._paths = {}
        self._edges = {}
        best: dict[tuple[int, int], float] = {}
        for (ra, rb), pc in self.pairs.items():
            if pc.updates < self.min_updates:
                continue
            na = _GPS_ROOT if self._gps(ra) else ra
            nb = _GPS_ROOT if self._gps(rb) else rb
            v = pc.variance_at(pc.t_ref_s)
            for key, child_is_b in (((na, nb), True), ((nb, na), False)):
                if v < best.get(key, math.inf):
                    best[key] = v
                    self._edges[key] = (pc, child_is_b)
        self._dirty = False
        if not wts:
            return
        g = csr_matrix((wts, (rows, cols)), shape=(n, n))
        tree = minimum_spanning_tree(g + g.T)
        tree = (tree + tree.T).tocsr()
        # edges per node, once (weights are > 0, so every stored entry is an edge); indexing
        # a sparse row per node cost milliseconds each time the tree was rebuilt
        degree = np.diff(tree.indptr)
        visited: set[int] = set()
        # Keep earlier roots first so that converted times stay on the same timescale.
        prefer = [index[r] for r in self._roots if r in index]
        roots = [
            index[_GPS_ROOT],
            *prefer,
            *sorted(range(n), key=lambda i: -int(degree[i])),
        ]
        for root in roots:
            if root in visited or degree[root] == 0:
                continue
            order, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)
            for i in order:
                visited.add(int(i))
            for i in order:
                path: list[tuple[int, int]] = []
                k = int(i)
                while k != root:
                    path.append((nodes[int(pred[k])], nodes[k]))
                    k = int(pred[k])
                self._paths[nodes[int(i)]] = path[::-1]
            if nodes[root] not in self._roots:
                self._roots.append(nodes[root])

    def _edge(self, parent: int, child: int) -> tuple[PairClock, bool] | None:
        """The pair between tree nodes (receiver ids, GPS root as -1): (pair, child_is_b).

        The lowest-variance pair joining the two nodes, indexed when the tree is rebuilt.
        """
        if self._dirty:
            self._rebuild()
        return self._edges.get((parent, child))

    def synchronised(self, receiver_id: int) -> bool:
        """True when ``receiver_id`` has a path to a timescale root (GPS receivers always do)."""
        if self._gps(receiver_id):
            return True
        if self._dirty:
            self._rebuild()
        return receiver_id in self._paths

    def root_of(self, receiver_id: int) -> int:
        """The timescale a receiver's converted times are on (-1: GPS time; else a receiver id)."""
        if self._gps(receiver_id):
            return _GPS_ROOT
        if self._dirty:
            self._rebuild()
        path = self._paths.get(receiver_id)
        if not path:
            return receiver_id
        return path[0][0]

    def to_common(self, receiver_id: int, toa_s: float) -> tuple[float, float] | None:
        """(common-timescale time s, 1-sigma s) of a receiver's reading; None if unsynced."""
        if self._gps(receiver_id):
            return toa_s, self.registry[receiver_id].sigma_s
        if self._dirty:
            self._rebuild()
        path = self._paths.get(receiver_id)
        if path is None:
            return None
        t = toa_s
        var = self.registry[receiver_id].sigma_s ** 2
        for parent, child in reversed(path):
            e = self._edge(parent, child)
            if e is None:
                return None
            pc, child_is_b = e
            if child_is_b:  # child = b: parent (a) time from b time
                t_new = pc.a_from_b(t)
                var += pc.variance_at(t_new)
            else:  # child = a: b time from a time
                var += pc.variance_at(t)
                t_new = pc.b_from_a(t)
            if abs((t_new if child_is_b else t) - pc.t_ref_s) > self.max_age_s:
                return None
            t = t_new
        return t, math.sqrt(var)

    def to_common_batch(
        self, receiver_id: npt.ArrayLike, toa_s: npt.ArrayLike
    ) -> tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.int64],
        npt.NDArray[np.bool_],
    ]:
        """Vectorised :meth:`to_common`: (common time s, 1-sigma s, timescale root, ok).

        Each receiver's chain of pair clocks is an affine map; it is applied to all of that
        receiver's readings at once, with the age check per reading. The variance is taken at
        the receiver's median reading (it changes by far less than itself within a batch).
        """
        rid = np.asarray(receiver_id, dtype=np.int64)
        t_in = np.asarray(toa_s, dtype=np.float64)
        out_t = np.full(t_in.shape, np.nan)
        out_s = np.full(t_in.shape, np.nan)
        out_root = np.zeros(t_in.shape, np.int64)
        ok = np.zeros(t_in.shape, bool)
        if rid.size == 0:
            return out_t, out_s, out_root, ok
        if self._dirty:
            self._rebuild()
        order = np.argsort(rid, kind="stable")
        u, start = np.unique(rid[order], return_index=True)
        bounds = np.append(start, rid.size)
        for k, r in enumerate(u.tolist()):
            sel = order[bounds[k] : bounds[k + 1]]
            if r not in self.registry:
                continue
            t = t_in[sel]
            sig2 = self.registry[r].sigma_s ** 2
            if self._gps(r):
                out_t[sel], out_s[sel], out_root[sel], ok[sel] = t, math.sqrt(sig2), _GPS_ROOT, True
                continue
            path = self._paths.get(r)
            if path is None:
                continue
            good = np.ones(t.shape, bool)
            var = sig2
            for parent, child in reversed(path):
                e = self._edges.get((parent, child))
                if e is None:
                    good[:] = False
                    break
                pc, child_is_b = e
                x0, x1 = float(pc.x[0]), float(pc.x[1])
                if child_is_b:
                    t = (t - x0 + x1 * pc.t_ref_s) / (1.0 + x1)
                    good &= np.abs(t - pc.t_ref_s) <= self.max_age_s
                    var += pc.variance_at(float(np.median(t)))
                else:
                    good &= np.abs(t - pc.t_ref_s) <= self.max_age_s
                    var += pc.variance_at(float(np.median(t)))
                    t = t + x0 + x1 * (t - pc.t_ref_s)
            out_t[sel], out_s[sel], ok[sel] = t, math.sqrt(var), good
            out_root[sel] = path[0][0] if path else r
        return out_t, out_s, out_root, ok

    def pair_count(self) -> int:
        """Pairs with enough updates to be used."""
        return sum(1 for p in self.pairs.values() if p.updates >= self.min_updates)

    def receivers(self) -> Iterable[int]:
        """Receivers with at least one pair."""
        return sorted({r for k in self.pairs for r in k})
