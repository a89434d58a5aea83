"""From receptions to positions: grouping, clock sync, batched solving, bad receivers, tracking.

:class:`Multilaterator` consumes :class:`Reception` records (frame bytes, receiver id, time of
arrival in seconds on that receiver's clock) in batches and returns :class:`MlatPosition`
records for the aircraft it could locate, which is what ``overflight.tracking`` ingests
(marked ``mlat``).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.mlat import _modes
from overflight.mlat.bias import OnlineBiases
from overflight.mlat.clocks import ClockSync
from overflight.mlat.filter import TrackFilter
from overflight.mlat.geodesy import (
    SPEED_OF_LIGHT_M_S,
    ecef_to_enu_matrix,
    ecef_to_llh,
    llh_to_ecef,
)
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.solve import plausible, solve_batch

__all__ = ["MlatPosition", "MlatStats", "Multilaterator", "Reception"]

log = logging.getLogger(__name__)

FT_TO_M = 0.3048
_REFERENCE_TYPECODES = range(9, 12)  # NUCp 9..7 / NIC >= 8 (< 0.1 NM, mostly < 25 m)


@dataclass(frozen=True, slots=True)
class Reception:
    """One frame as heard by one receiver; ``toa_s`` in seconds on that receiver's own clock."""

    frame: bytes
    receiver_id: int
    toa_s: float


@dataclass(frozen=True, slots=True)
class MlatPosition:
    """A multilaterated position of one aircraft.

    Attributes:
        icao24: 6 lowercase hex digits.
        time_s: transmit time on the common timescale, seconds (GPS/UTC time when a GPS
            receiver anchors the network; else the root receiver's clock).
        lat_deg, lon_deg: WGS84 position.
        altitude_ft: barometric altitude from the frame when it carries one, else the solved
            ellipsoidal height converted to feet; ``height_m`` is always the solved height.
        height_m: solved WGS84 ellipsoidal height, metres.
        error_m: horizontal 1-sigma error (DRMS, sqrt(var_east + var_north)), metres.
        gdop: geometric dilution of precision of the fix (dimensionless).
        receivers: ids of the receivers used.
        smoothed: True when position and velocity come from the tracking filter.
        velocity_east_m_s, velocity_north_m_s, velocity_up_m_s: filter velocity, m/s
            (NaN unless smoothed).
        receptions: index of each used reception in the batch given to
            :meth:`Multilaterator.process` (parallel to ``receivers``): the evidence.
    """

    icao24: str
    time_s: float
    lat_deg: float
    lon_deg: float
    altitude_ft: float
    height_m: float
    error_m: float
    gdop: float
    receivers: tuple[int, ...]
    smoothed: bool
    velocity_east_m_s: float = math.nan
    velocity_north_m_s: float = math.nan
    velocity_up_m_s: float = math.nan
    receptions: tuple[int, ...] = ()

    @property
    def groundspeed_kt(self) -> float:
        """Horizontal speed from the filter velocity, knots (NaN unless smoothed)."""
        return math.hypot(self.velocity_east_m_s, self.velocity_north_m_s) / 0.514444


@dataclass(slots=True)
class MlatStats:
    """Counters of what happened to receptions and groups."""

    receptions: int = 0
    malformed: int = 0
    unknown_receiver: int = 0
    references: int = 0
    unsynchronised: int = 0
    duplicate_receptions: int = 0
    too_few_receivers: int = 0
    solved: int = 0
    rejected: int = 0
    bad_receiver_receptions: int = 0


class Multilaterator:
    """Stateful MLAT engine: call :meth:`process` with each batch of receptions (any order).

    Args:
        registry: known receivers (positions, clock types).
        window_s: receptions of the same bytes within this span (common timescale) are one
            transmission; 3 ms covers a 900 km baseline.
        max_error_m: reject fixes whose horizontal 1-sigma exceeds this.
        max_error_low_dof_m: the same for fixes with one degree of freedom or none, where the
            chi-square cannot reveal a wrong minimum (see :func:`~overflight.mlat.solve.plausible`).
        ambiguity_chi2: such fixes are also rejected when a second minimum more than 5 km away
            fits within this chi-square (0: no search; see
            :func:`~overflight.mlat.solve.solve_batch`).
        altitude_sigma_m: 1-sigma of the barometric-altitude constraint (pressure altitude vs
            ellipsoidal height differ by the weather and the geoid: ~100 m).
        solve_adsb: also solve frames that carry ADS-B positions (for validation).
        smooth: run the per-aircraft Kalman filter (see :class:`TrackFilter`) and return its
            positions where it helps (``smoothed``), the fixes themselves elsewhere.
        accel_sigma_m_s2, max_gap_s: the filter's process noise and track-restart gap.
        coast_ratio: a fix the filter's gate rejects (a wrong minimum) is replaced by the
            track's prediction when that is this much more certain (dense fixes); else it is
            passed through unsmoothed.
        learn_biases: learn GPS-synchronised receivers' timing biases online from ADS-B
            positions heard by three or more of them (:class:`OnlineBiases`), after each batch
            is solved, and apply them (``Receiver.timing_bias_s``) to later batches.
    """

    def __init__(
        self,
        registry: ReceiverRegistry,
        *,
        window_s: float = 3e-3,
        max_error_m: float = 1_000.0,
        max_error_low_dof_m: float = 200.0,
        ambiguity_chi2: float = 9.0,
        altitude_sigma_m: float = 150.0,
        solve_adsb: bool = False,
        smooth: bool = True,
        bad_receiver_min_fixes: int = 10,
        bad_receiver_blame_ratio: float = 0.5,
        accel_sigma_m_s2: float = 1.0,
        max_gap_s: float = 120.0,
        learn_biases: bool = True,
        coast_ratio: float = 0.05,
    ) -> None:
        self.registry = registry
        self.sync = ClockSync(registry)
        self.window_s = window_s
        self.max_error_m = max_error_m
        self.max_error_low_dof_m = max_error_low_dof_m
        self.ambiguity_chi2 = ambiguity_chi2
        self.altitude_sigma_m = altitude_sigma_m
        self.solve_adsb = solve_adsb
        self.smooth = smooth
        self.accel_sigma_m_s2 = accel_sigma_m_s2
        self.max_gap_s = max_gap_s
        self.learn_biases = learn_biases
        self.coast_ratio = coast_ratio
        self.biases = OnlineBiases(registry)
        self.stats = MlatStats()
        self.bad_receivers: set[int] = set()
        self._blame_min = bad_receiver_min_fixes
        self._blame_ratio = bad_receiver_blame_ratio
        self._part: dict[int, deque[bool]] = defaultdict(lambda: deque(maxlen=100))
        self._filters: dict[str, TrackFilter] = {}

    # ---------------------------------------------------------------- grouping
    def _frame_info(self, frames: list[bytes]) -> list[tuple[int, str | None, float]]:
        """(downlink format, icao24 or None, altitude ft or NaN) per distinct frame."""
        out: list[tuple[int, str | None, float]] = []
        for f in frames:
            if len(f) not in (7, 14):
                out.append((-1, None, math.nan))
                continue
            a = _modes.altitude_ft(f)
            out.append((_modes.df(f), _modes.icao24(f), a if a is not None else math.nan))
        return out

    def _references(
        self,
        frames: list[bytes],
        info: list[tuple[int, str | None, float]],
        gid: npt.NDArray[np.int64],
        rid: npt.NDArray[np.int64],
        toa: npt.NDArray[np.float64],
    ) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
        """Feed every ADS-B position heard by two or more receivers to the clock sync; return
        them as (ECEF position m, receiver ids, times of arrival s) for bias learning."""
        refs: list[
            tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64]]
        ] = []
        is_ref = np.array(
            [
                d in (17, 18) and len(f) == 14 and ic is not None
                for f, (d, ic, _) in zip(frames, info, strict=True)
            ],
            dtype=bool,
        )
        sel = np.flatnonzero(is_ref[gid] & ~np.isin(rid, list(self.bad_receivers)))
        if sel.size < 2:
            return refs
        order = sel[np.lexsort((rid[sel], gid[sel]))]
        g = gid[order]
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        ends = np.r_[starts[1:], g.size]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            if b - a < 2:
                continue
            idx = order[a:b]
            r = rid[idx]
            dup = np.zeros(r.size, bool)
            dup[1:] |= r[1:] == r[:-1]
            dup[:-1] |= r[1:] == r[:-1]
            if (~dup).sum() < 2:
                continue
            frame = frames[int(g[a])]
            alt = info[int(g[a])][2]
            ref = self.registry[int(r[~dup][0])]
            pos = _modes.adsb_position(frame, ref.lat_deg, ref.lon_deg)
            if pos is None or not math.isfinite(alt) or pos[2] not in _REFERENCE_TYPECODES:
                continue
            x = llh_to_ecef(pos[0], pos[1], alt * FT_TO_M)
            rx = list(zip(r[~dup].tolist(), toa[idx][~dup].tolist(), strict=True))
            self.sync.add_reference(x, rx)
            self.stats.references += 1
            refs.append((x, r[~dup], toa[idx][~dup]))
        return refs

    # ---------------------------------------------------------------- solving
    def process(self, receptions: Iterable[Reception]) -> list[MlatPosition]:
        """Consume one batch of receptions; return the positions solved from it (time order).

        Grouping is columnar: receptions are keyed by their frame bytes, converted to the common
        timescale receiver by receiver, sorted by (frame, timescale, time) and split where the
        time gap exceeds ``window_s``; a receiver heard twice in one transmission is dropped
        from it (duplicates, replays).
        """
        recs = receptions if isinstance(receptions, list) else list(receptions)
        n = len(recs)
        self.stats.receptions += n
        if n == 0:
            return []
        index: dict[bytes, int] = {}
        gid = np.fromiter((index.setdefault(bytes(r.frame), len(index)) for r in recs), np.int64, n)
        rid = np.fromiter((r.receiver_id for r in recs), np.int64, n)
        toa = np.fromiter((r.toa_s for r in recs), np.float64, n)
        frames = list(index)
        info = self._frame_info(frames)
        glen_ok = np.array([d >= 0 for d, _, _ in info], dtype=bool)
        good = glen_ok[gid] & np.isfinite(toa)
        self.stats.malformed += int(n - good.sum())
        known = np.isin(rid, np.asarray(self.registry.ids(), dtype=np.int64))
        self.stats.unknown_receiver += int((good & ~known).sum())
        good &= known
        # Configured or learned timing biases come off before anything else.
        toa = toa.copy()
        toa[good] -= self.registry.bias_s(rid[good])
        refs = self._references(frames, info, gid[good], rid[good], toa[good])
        out = self._locate(n, gid, rid, toa, good, info)
        if self.learn_biases and refs:
            # Learn after solving: a batch never calibrates itself (held out in time). The
            # learner wants the raw times: add back the biases that were taken off.
            for x, ids, t in refs:
                self.biases.add_reference(x, ids, t + self.registry.bias_s(ids))
            learned = self.biases.biases_s()
            if learned:
                self.registry.set_biases(learned)
        return out

    def _locate(
        self,
        n: int,
        gid: npt.NDArray[np.int64],
        rid: npt.NDArray[np.int64],
        toa: npt.NDArray[np.float64],
        good: npt.NDArray[np.bool_],
        info: list[tuple[int, str | None, float]],
    ) -> list[MlatPosition]:
        """Group the good receptions into transmissions, synchronise and solve them."""
        # Which frames are worth solving: an address, and not ADS-B unless asked.
        want = np.array(
            [ic is not None and (self.solve_adsb or d not in (17, 18)) for d, ic, _ in info],
            dtype=bool,
        )
        bad = np.isin(rid, list(self.bad_receivers)) if self.bad_receivers else np.zeros(n, bool)
        self.stats.bad_receiver_receptions += int((good & want[gid] & bad).sum())
        sel = np.flatnonzero(good & want[gid] & ~bad)
        if sel.size == 0:
            return []
        tc, sig, root, synced = self.sync.to_common_batch(rid[sel], toa[sel])
        self.stats.unsynchronised += int((~synced).sum())
        sel, tc, sig, root = sel[synced], tc[synced], sig[synced], root[synced]
        if sel.size == 0:
            return []
        g = gid[sel]
        order = np.lexsort((tc, root, g))
        sel, tc, sig, root, g = sel[order], tc[order], sig[order], root[order], g[order]
        brk = np.r_[
            True, (g[1:] != g[:-1]) | (root[1:] != root[:-1]) | (np.diff(tc) > self.window_s)
        ]
        cid = np.cumsum(brk) - 1
        # Duplicates: the same receiver twice in one transmission.
        r = rid[sel]
        o2 = np.lexsort((r, cid))
        same = (r[o2][1:] == r[o2][:-1]) & (cid[o2][1:] == cid[o2][:-1])
        dup_sorted = np.zeros(sel.size, bool)
        dup_sorted[1:] |= same
        dup_sorted[:-1] |= same
        dup = np.zeros(sel.size, bool)
        dup[o2] = dup_sorted
        self.stats.duplicate_receptions += int(dup.sum())
        keep = ~dup
        sel, tc, sig, cid, g, r = sel[keep], tc[keep], sig[keep], cid[keep], g[keep], r[keep]
        if sel.size == 0:
            return []
        ucid, start, size = np.unique(cid, return_index=True, return_counts=True)
        cg = g[start]
        alt_ft = np.array([info[int(k)][2] for k in cg], dtype=np.float64)
        need = np.where(np.isfinite(alt_ft), 3, 4)
        enough = size >= need
        self.stats.too_few_receivers += int((~enough).sum())
        if not enough.any():
            return []
        # Pad the clusters into (jobs, m) arrays.
        cl_of = np.searchsorted(ucid, cid)
        job_of_cl = np.cumsum(enough) - 1
        take = enough[cl_of]
        pos = np.arange(sel.size) - start[cl_of]
        nj = int(enough.sum())
        m = int(size[enough].max())
        ids = np.full((nj, m), -1, np.int64)
        used = np.full((nj, m), -1, np.int64)
        toa_c = np.full((nj, m), np.nan)
        sig_c = np.full((nj, m), 1e-6)
        jr, jc = job_of_cl[cl_of[take]], pos[take]
        ids[jr, jc], toa_c[jr, jc], sig_c[jr, jc] = r[take], tc[take], sig[take]
        used[jr, jc] = sel[take]
        icaos = [str(info[int(k)][1]) for k in cg[enough]]
        return self._solve(icaos, alt_ft[enough], ids, toa_c, sig_c, used)

    def _solve(
        self,
        icaos: list[str],
        alt_ft: npt.NDArray[np.float64],
        ids: npt.NDArray[np.int64],
        toa: npt.NDArray[np.float64],
        sig: npt.NDArray[np.float64],
        used: npt.NDArray[np.int64] | None = None,
    ) -> list[MlatPosition]:
        """Solve padded jobs (``ids`` -1 where empty); ``used``: each reception's index in the
        batch, kept as the fix's evidence."""
        n = ids.shape[0]
        mask = ids >= 0
        first = ids[0, 0]
        R = self.registry.ecef_m(np.where(mask, ids, first))
        # Subtract a per-row reference before solving so float64 keeps sub-ns resolution.
        t0 = np.nanmin(toa, axis=1)
        rel_toa = toa - t0[:, None]
        alt_m = alt_ft * FT_TO_M
        res = solve_batch(
            R,
            rel_toa,
            sig,
            mask=mask,
            altitude_m=alt_m,
            altitude_sigma_m=self.altitude_sigma_m,
            ambiguity_chi2=self.ambiguity_chi2,
        )
        ok = plausible(
            res, R, max_error_m=self.max_error_m, max_error_low_dof_m=self.max_error_low_dof_m
        )
        self._blame(res, ok, ids, R, rel_toa, sig, mask, alt_m)
        rows = np.flatnonzero(ok)
        rng0 = np.linalg.norm(R[rows, 0] - res.ecef_m[rows], axis=1)
        t_tx = t0[rows] + rel_toa[rows, 0] - rng0 / SPEED_OF_LIGHT_M_S
        out = self._emit(
            [icaos[k] for k in rows.tolist()],
            t_tx,
            res.ecef_m[rows],
            res.cov_m2[rows],
            alt_ft[rows],
            res.lat_deg[rows],
            res.lon_deg[rows],
            res.height_m[rows],
            res.error_m[rows],
            res.gdop[rows],
            [tuple(int(r) for r in ids[k][mask[k]]) for k in rows.tolist()],
            [tuple(int(i) for i in used[k][mask[k]]) for k in rows.tolist()]
            if used is not None else None,
        )
        self.stats.solved += len(out)
        self.stats.rejected += int(n - ok.sum())
        out.sort(key=lambda p: p.time_s)
        return out

    def _emit(
        self,
        icaos: list[str],
        t_tx: npt.NDArray[np.float64],
        ecef: npt.NDArray[np.float64],
        cov: npt.NDArray[np.float64],
        alt_ft: npt.NDArray[np.float64],
        lat: npt.NDArray[np.float64],
        lon: npt.NDArray[np.float64],
        h: npt.NDArray[np.float64],
        err: npt.NDArray[np.float64],
        gdop: npt.NDArray[np.float64],
        used: list[tuple[int, ...]],
        receptions: list[tuple[int, ...]] | None = None,
    ) -> list[MlatPosition]:
        """Positions of accepted fixes, through the per-aircraft filter when smoothing."""
        n = len(icaos)
        altitude_ft = np.where(np.isfinite(alt_ft), alt_ft, h / FT_TO_M)
        sm = np.zeros(n, bool)
        sx = np.zeros((n, 3))
        sv = np.zeros((n, 3))
        sp = np.zeros((n, 3, 3))
        if self.smooth:
            # Filter updates in time order per aircraft; conversions vectorised afterwards.
            for k in np.argsort(t_tx, kind="stable").tolist():
                f = self._filters.get(icaos[k])
                if f is None:
                    f = self._filters[icaos[k]] = TrackFilter(
                        accel_sigma_m_s2=self.accel_sigma_m_s2,
                        max_gap_s=self.max_gap_s,
                        coast_ratio=self.coast_ratio,
                    )
                st = f.update(float(t_tx[k]), ecef[k], cov[k])
                if st.smoothed:
                    sm[k] = True
                    sx[k], sv[k], sp[k] = st.ecef_m, st.velocity_m_s, st.cov[:3, :3]
        la, lo, hh = lat.copy(), lon.copy(), h.copy()
        e = err.copy()
        v = np.full((n, 3), np.nan)
        if sm.any():
            la[sm], lo[sm], hh[sm] = ecef_to_llh(sx[sm])
            rot = ecef_to_enu_matrix(la[sm], lo[sm])
            v[sm] = np.einsum("nij,nj->ni", rot, sv[sm])
            pc = rot @ sp[sm] @ np.swapaxes(rot, -1, -2)
            e[sm] = np.sqrt(np.maximum(pc[:, 0, 0] + pc[:, 1, 1], 0.0))
        return [
            MlatPosition(
                icaos[k],
                float(t_tx[k]),
                float(la[k]),
                float(lo[k]),
                float(altitude_ft[k]),
                float(hh[k]),
                float(e[k]),
                float(gdop[k]),
                used[k],
                bool(sm[k]),
                float(v[k, 0]),
                float(v[k, 1]),
                float(v[k, 2]),
                receptions[k] if receptions is not None else (),
            )
            for k in range(n)
        ]

    # ---------------------------------------------------------------- bad receivers
    def _learning(self, receiver_id: int) -> bool:
        """True for a GPS-synchronised receiver whose timing bias is not learned yet."""
        return self.registry[receiver_id].clock.gps_synchronised and (
            self.biases.samples(receiver_id) < self.biases.min_samples
        )

    def _blame(self, res, ok, ids, R, toa, sig, mask, alt_m) -> None:  # type: ignore[no-untyped-def]
        """Leave-one-out on inconsistent fixes with >= 5 receivers: the receiver whose removal
        makes the fix consistent is blamed; a receiver blamed in most of its recent fixes is bad."""
        cnt = mask.sum(axis=1)
        bad_fit = (cnt >= 5) & (res.chi2 > 9.0 * np.maximum(res.dof, 1))
        blamed: dict[int, set[int]] = defaultdict(set)
        rows = np.flatnonzero(bad_fit)
        if rows.size:
            best = np.full(rows.size, np.inf)
            who = np.full(rows.size, -1)
            for j in range(mask.shape[1]):
                mj = mask[rows].copy()
                mj[:, j] = False
                r2 = solve_batch(
                    R[rows],
                    toa[rows],
                    sig[rows],
                    mask=mj,
                    altitude_m=alt_m[rows],
                    altitude_sigma_m=self.altitude_sigma_m,
                    x0_ecef_m=res.ecef_m[rows],
                )
                red = r2.chi2 / np.maximum(r2.dof, 1)
                better = mask[rows, j] & (red < best) & (red < 4.0)
                best = np.where(better, red, best)
                who = np.where(better, j, who)
            for i, kk in enumerate(rows):
                if who[i] >= 0:
                    blamed[int(kk)].add(int(ids[kk, who[i]]))
        for k in range(int(ids.shape[0])):
            if cnt[k] < 5:
                continue
            for jj in np.flatnonzero(mask[k]):
                rid = int(ids[k, jj])
                if self.learn_biases and self._learning(rid):
                    continue  # a GPS receiver's bias is still being learned: no verdict yet
                self._part[rid].append(rid in blamed.get(k, set()))
        for rid, hist in self._part.items():
            if rid in self.bad_receivers or len(hist) < self._blame_min:
                continue
            ratio = sum(hist) / len(hist)
            if ratio >= self._blame_ratio:
                self.bad_receivers.add(rid)
                log.warning(
                    "mlat: excluding receiver %d: its timing disagrees with the others "
                    "in %.0f%% of "
                    "its last %d fixes (wrong position or broken clock)",
                    rid,
                    100 * ratio,
                    len(hist),
                )
