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
        altitude_sigma_m: 1-sigma of the barometric-altitude constraint (pressure altitude vs
            ellipsoidal height differ by the weather and the geoid: ~100 m).
        solve_adsb: also solve frames that carry ADS-B positions (for validation).
        smooth: run the per-aircraft Kalman filter and return smoothed positions.
    """

    def __init__(
        self,
        registry: ReceiverRegistry,
        *,
        window_s: float = 3e-3,
        max_error_m: float = 1_000.0,
        altitude_sigma_m: float = 150.0,
        solve_adsb: bool = False,
        smooth: bool = True,
        bad_receiver_min_fixes: int = 10,
        bad_receiver_blame_ratio: float = 0.5,
    ) -> None:
        self.registry = registry
        self.sync = ClockSync(registry)
        self.window_s = window_s
        self.max_error_m = max_error_m
        self.altitude_sigma_m = altitude_sigma_m
        self.solve_adsb = solve_adsb
        self.smooth = smooth
        self.stats = MlatStats()
        self.bad_receivers: set[int] = set()
        self._blame_min = bad_receiver_min_fixes
        self._blame_ratio = bad_receiver_blame_ratio
        self._part: dict[int, deque[bool]] = defaultdict(lambda: deque(maxlen=100))
        self._filters: dict[str, TrackFilter] = {}

    # ---------------------------------------------------------------- grouping
    def _group(self, receptions: Iterable[Reception]) -> dict[bytes, list[tuple[int, float]]]:
        groups: dict[bytes, list[tuple[int, float]]] = defaultdict(list)
        for r in receptions:
            self.stats.receptions += 1
            if len(r.frame) not in (7, 14) or not math.isfinite(r.toa_s):
                self.stats.malformed += 1
                continue
            if r.receiver_id not in self.registry:
                self.stats.unknown_receiver += 1
                continue
            groups[bytes(r.frame)].append((r.receiver_id, float(r.toa_s)))
        return groups

    def _clusters(self, rx: list[tuple[int, float]]) -> list[list[tuple[int, float, float]]]:
        """Split one frame's receptions into transmissions on the common timescale.

        Returns lists of (receiver, common time, sigma); receivers with two copies in one
        cluster (duplicates, replays) are dropped from it.
        """
        conv: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
        for rid, t in rx:
            if rid in self.bad_receivers:
                self.stats.bad_receiver_receptions += 1
                continue
            c = self.sync.to_common(rid, t)
            if c is None:
                self.stats.unsynchronised += 1
                continue
            conv[self.sync.root_of(rid)].append((rid, c[0], c[1]))
        out: list[list[tuple[int, float, float]]] = []
        for items in conv.values():
            items.sort(key=lambda v: v[1])
            cur: list[tuple[int, float, float]] = []
            for it in items:
                if cur and it[1] - cur[0][1] > self.window_s:
                    out.append(cur)
                    cur = []
                cur.append(it)
            if cur:
                out.append(cur)
        cleaned = []
        for cl in out:
            counts: dict[int, int] = defaultdict(int)
            for rid, _, _ in cl:
                counts[rid] += 1
            dup = {r for r, k in counts.items() if k > 1}
            self.stats.duplicate_receptions += sum(counts[r] for r in dup)
            cleaned.append([v for v in cl if v[0] not in dup])
        return cleaned

    def _references(self, groups: dict[bytes, list[tuple[int, float]]]) -> None:
        for frame, rx in groups.items():
            if len(frame) != 14 or _modes.df(frame) not in (17, 18) or len(rx) < 2:
                continue
            counts: dict[int, int] = defaultdict(int)
            for rid, _ in rx:
                counts[rid] += 1
            rx1 = [(r, t) for r, t in rx if counts[r] == 1 and r not in self.bad_receivers]
            if len(rx1) < 2:
                continue
            ref = self.registry[rx1[0][0]]
            pos = _modes.adsb_position(frame, ref.lat_deg, ref.lon_deg)
            alt = _modes.altitude_ft(frame)
            if pos is None or alt is None or pos[2] not in _REFERENCE_TYPECODES:
                continue
            x = llh_to_ecef(pos[0], pos[1], alt * FT_TO_M)
            self.sync.add_reference(x, rx1)
            self.stats.references += 1

    # ---------------------------------------------------------------- solving
    def process(self, receptions: Iterable[Reception]) -> list[MlatPosition]:
        """Consume one batch of receptions; return the positions solved from it (time order)."""
        groups = self._group(receptions)
        self._references(groups)
        jobs: list[tuple[str, float, list[tuple[int, float, float]]]] = []
        for frame, rx in groups.items():
            d = _modes.df(frame)
            if d in (17, 18) and not self.solve_adsb:
                continue
            icao = _modes.icao24(frame)
            if icao is None:
                continue
            alt_ft = _modes.altitude_ft(frame)
            for cl in self._clusters(rx):
                need = 3 if alt_ft is not None else 4
                if len(cl) < need:
                    self.stats.too_few_receivers += 1
                    continue
                jobs.append((icao, alt_ft if alt_ft is not None else math.nan, cl))
        if not jobs:
            return []
        return self._solve(jobs)

    def _solve(
        self, jobs: list[tuple[str, float, list[tuple[int, float, float]]]]
    ) -> list[MlatPosition]:
        n = len(jobs)
        m = max(len(j[2]) for j in jobs)
        ids = np.full((n, m), -1, np.int64)
        toa = np.full((n, m), np.nan)
        sig = np.full((n, m), 1e-6)
        for k, (_, _, cl) in enumerate(jobs):
            for j, (rid, t, s) in enumerate(cl):
                ids[k, j], toa[k, j], sig[k, j] = rid, t, s
        mask = ids >= 0
        first = ids[0, 0]
        R = self.registry.ecef_m(np.where(mask, ids, first))
        # Subtract a per-row reference before solving so float64 keeps sub-ns resolution.
        t0 = np.nanmin(toa, axis=1)
        rel_toa = toa - t0[:, None]
        alt_m = np.array([j[1] for j in jobs]) * FT_TO_M
        res = solve_batch(
            R, rel_toa, sig, mask=mask, altitude_m=alt_m, altitude_sigma_m=self.altitude_sigma_m
        )
        ok = plausible(res, R, max_error_m=self.max_error_m)
        self._blame(res, ok, ids, R, rel_toa, sig, mask, alt_m)
        out: list[MlatPosition] = []
        for k in (int(v) for v in np.flatnonzero(ok)):
            icao, alt_ft, cl = jobs[k]
            used = tuple(int(r) for r in ids[k][mask[k]])
            rng0 = float(np.linalg.norm(R[k, 0] - res.ecef_m[k]))
            t_tx = float(t0[k] + rel_toa[k, 0] - rng0 / SPEED_OF_LIGHT_M_S)
            out.append(
                self._emit(icao, t_tx, res.ecef_m[k], res.cov_m2[k], alt_ft, res, int(k), used)
            )
        self.stats.solved += len(out)
        self.stats.rejected += int(n - ok.sum())
        out.sort(key=lambda p: p.time_s)
        return out

    def _emit(
        self,
        icao: str,
        t_tx: float,
        ecef: npt.NDArray[np.float64],
        cov: npt.NDArray[np.float64],
        alt_ft: float,
        res: object,
        k: int,
        used: tuple[int, ...],
    ) -> MlatPosition:
        from overflight.mlat.solve import SolveResult

        assert isinstance(res, SolveResult)
        lat, lon, h = float(res.lat_deg[k]), float(res.lon_deg[k]), float(res.height_m[k])
        altitude_ft = alt_ft if math.isfinite(alt_ft) else h / FT_TO_M
        if not self.smooth:
            return MlatPosition(
                icao,
                t_tx,
                lat,
                lon,
                altitude_ft,
                h,
                float(res.error_m[k]),
                float(res.gdop[k]),
                used,
                False,
            )
        f = self._filters.get(icao)
        if f is None:
            f = self._filters[icao] = TrackFilter(accel_sigma_m_s2=3.0, max_gap_s=60.0)
        st = f.update(t_tx, ecef, cov + np.eye(3))
        if f.fixes < 2 or not st.accepted:
            return MlatPosition(
                icao,
                t_tx,
                lat,
                lon,
                altitude_ft,
                h,
                float(res.error_m[k]),
                float(res.gdop[k]),
                used,
                False,
            )
        la, lo, hh = ecef_to_llh(st.ecef_m)
        rot = ecef_to_enu_matrix(la, lo)
        v = rot @ st.velocity_m_s
        pc = rot @ st.cov[:3, :3] @ rot.T
        err = math.sqrt(max(pc[0, 0] + pc[1, 1], 0.0))
        return MlatPosition(
            icao,
            t_tx,
            float(la),
            float(lo),
            altitude_ft,
            float(hh),
            err,
            float(res.gdop[k]),
            used,
            True,
            float(v[0]),
            float(v[1]),
            float(v[2]),
        )

    # ---------------------------------------------------------------- bad receivers
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
