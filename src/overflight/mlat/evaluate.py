"""Accuracy of the solver and the tracking filter on LocaRDS-style sets with ADS-B ground truth.

Ground truth is each transmission's own ADS-B position (GNSS); errors are horizontal distances
in metres. Altitude constraints compared:

* ``none``: time differences only;
* ``baro``: the barometric (pressure) altitude, which is all a Mode S-only aircraft gives;
  it differs from GNSS height by the weather (here -100 m on average), so its sigma is wide;
* ``baro_corr``: barometric altitude corrected by the median GNSS-minus-baro difference of
  *other* aircraft in the same set within +-15 min (leave-one-aircraft-out: what nearby ADS-B
  traffic tells a live system);
* ``geo``: the aircraft's own GNSS height (an upper bound: only ADS-B aircraft report it).

Receiver timing calibration (:mod:`overflight.mlat.calibrate`) compared:

* ``raw``: the times of arrival as recorded;
* ``aircraft``: per-receiver biases learned from the *other* aircraft of the same set
  (leave-one-aircraft-out: the other aircraft play the ADS-B references of a live system);
* ``time``: biases learned from the other half of the set's hour (first half calibrates the
  second and vice versa).

Besides the error against the ADS-B position as given (the headline figure), each row reports
truth-timing diagnostics over the transmissions whose track direction is known (a report of
the same aircraft within 4 minutes): the median error after moving the ADS-B position forward
along the track by a lag estimated on *other* sets (``lag_*``); the error after moving it by
*that aircraft's own* ADS-B latency, measured on its *other* transmissions (``own_*``,
leave-one-transmission-out: DO-260B allows -0.2 to +0.4 s of uncompensated latency and it is a
property of each aircraft's transponder and GNSS source); and the median cross-track error
(immune to any along-track staleness of the ADS-B position).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.mlat.calibrate import (
    held_out_biases,
    track_velocity_m_s,
    truth_lag_s,
    truth_residuals_s,
)
from overflight.mlat.engine import FT_TO_M, MlatPosition, Multilaterator, Reception
from overflight.mlat.filter import TrackFilter, smooth_track
from overflight.mlat.geodesy import (
    ecef_to_enu_matrix,
    ecef_to_llh,
    horizontal_distance_m,
    llh_to_ecef,
)
from overflight.mlat.locards import LocardsSet
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.sim import df17_position_frame
from overflight.mlat.solve import plausible, solve_batch

__all__ = [
    "ALTITUDE_MODES",
    "CALIBRATIONS",
    "AccuracyRow",
    "aircraft_latency_evidence",
    "corrected_baro_altitude_m",
    "estimate_truth_lag_s",
    "evaluate_online",
    "evaluate_set",
    "filter_fixes",
    "latency_consistency",
    "locards_receptions",
    "summarise",
]

ALTITUDE_MODES: dict[str, float] = {"none": 0.0, "baro": 150.0, "baro_corr": 50.0, "geo": 15.0}
"""Altitude constraint modes and their 1-sigma in metres."""

CALIBRATIONS = ("raw", "aircraft", "time")
"""Receiver-bias calibrations: none, leave-one-aircraft-out, other half of the hour."""

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AccuracyRow:
    """Horizontal error figures (metres) for one set, altitude mode, calibration and filter.

    ``calibration``: ``raw``, ``aircraft`` (held-out biases), ``time`` or ``online`` (learned
    by the engine from earlier rows).

    ``median_m``/``p90_m``/``rmse_m``: against the ADS-B position as reported. ``lag_n``: rows
    with a known track direction; ``lag_median_m``/``lag_p90_m``: against the ADS-B position
    moved forward by the held-out lag (a truth adjustment, labelled as such);
    ``cross_median_m``: median absolute cross-track error (truth-timing immune);
    ``own_*``: against the ADS-B position moved forward by the aircraft's own latency, learned
    from its other transmissions (a truth adjustment, labelled as such).
    """

    set_name: str
    altitude_mode: str
    calibration: str
    filter: str
    """``single`` (each fix alone), ``kf`` (forward filter, live) or ``rts`` (smoothed)."""
    transmissions: int
    solved: int
    median_m: float
    p90_m: float
    rmse_m: float
    lag_n: int = 0
    lag_median_m: float = float("nan")
    lag_p90_m: float = float("nan")
    cross_median_m: float = float("nan")
    own_n: int = 0
    """Rows whose aircraft's own ADS-B latency is known from its other transmissions."""
    own_median_m: float = float("nan")
    own_p90_m: float = float("nan")


def corrected_baro_altitude_m(s: LocardsSet, window_s: float = 900.0) -> F64:
    """Baro altitude + median (geo - baro) of other aircraft within ``window_s`` (held out)."""
    diff = s.geo_altitude_m - s.baro_altitude_m
    out = np.full(len(s), np.nan)
    for k in range(len(s)):
        sel = (
            (s.aircraft != s.aircraft[k])
            & (np.abs(s.time_s - s.time_s[k]) <= window_s)
            & np.isfinite(diff)
        )
        if sel.any():
            out[k] = s.baro_altitude_m[k] + float(np.median(diff[sel]))
    return out


def _row(name: str, mode: str, cal: str, filtered: str, total: int, err: F64) -> AccuracyRow:
    """``err``: ``(k, 4)`` columns horizontal, lag-compensated, |cross-track|, own-latency
    compensated (NaN: unknown)."""
    if err.shape[0] == 0:
        return AccuracyRow(name, mode, cal, filtered, total, 0, np.nan, np.nan, np.nan)
    e = err[:, 0]
    lag = err[:, 1][np.isfinite(err[:, 1])]
    cross = err[:, 2][np.isfinite(err[:, 2])]
    own = err[:, 3][np.isfinite(err[:, 3])]
    return AccuracyRow(
        name,
        mode,
        cal,
        filtered,
        total,
        int(e.size),
        float(np.median(e)),
        float(np.percentile(e, 90)),
        float(np.sqrt(np.mean(e**2))),
        int(lag.size),
        float(np.median(lag)) if lag.size else np.nan,
        float(np.percentile(lag, 90)) if lag.size else np.nan,
        float(np.median(cross)) if cross.size else np.nan,
        int(own.size),
        float(np.median(own)) if own.size else np.nan,
        float(np.percentile(own, 90)) if own.size else np.nan,
    )


def _arrays(
    s: LocardsSet, registry: ReceiverRegistry
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], F64, F64]:
    known = np.isin(s.sensor, np.asarray(registry.ids(), dtype=np.int64))
    mask = (s.sensor >= 0) & known & np.isfinite(s.toa_s)
    ids = np.where(mask, s.sensor, next(iter(registry)).receiver_id)
    truth = llh_to_ecef(s.lat_deg, s.lon_deg, np.nan_to_num(s.geo_altitude_m))
    return mask, ids, registry.ecef_m(ids), truth


def estimate_truth_lag_s(s: LocardsSet, registry: ReceiverRegistry) -> float:
    """Lag (s) of the ADS-B positions behind the transmissions, fitted in the TOA domain.

    Receiver biases are learned leave-one-aircraft-out first, so the lag is not absorbed by
    them; see :func:`overflight.mlat.calibrate.truth_lag_s`.
    """
    mask, ids, R, truth = _arrays(s, registry)
    res = truth_residuals_s(R, s.toa_s, mask, truth)
    bias = held_out_biases(ids, res, mask, s.aircraft)
    vel = track_velocity_m_s(s.aircraft, s.time_s, truth)
    return truth_lag_s(R, res, mask, truth, vel, bias)


def _along_track_lag_s(ecef: F64, s: LocardsSet, truth: F64, vel: F64) -> F64:
    """Per fix: how far (seconds of flight) the fix is ahead of the ADS-B position along the
    track; NaN where the track is unknown or slower than 30 m/s."""
    rot = ecef_to_enu_matrix(s.lat_deg, s.lon_deg)
    d = np.einsum("nij,nj->ni", rot, ecef - truth)[:, :2]
    v = np.einsum("nij,nj->ni", rot, vel)[:, :2]
    sp2 = np.sum(v * v, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lag = np.sum(d * v, axis=1) / sp2
    return np.asarray(np.where(np.isfinite(sp2) & (sp2 > 900.0), lag, np.nan))


def _own_latency_s(aircraft: npt.NDArray[np.int64], row_lag_s: F64) -> F64:
    """Each row's aircraft latency: the median along-track lag of its *other* rows (NaN if
    none): a row never measures its own truth correction."""
    out = np.full(row_lag_s.shape, np.nan)
    ok = np.isfinite(row_lag_s)
    for a in np.unique(aircraft[ok]):
        idx = np.flatnonzero((aircraft == a) & ok)
        if idx.size < 2:
            continue
        for j, k in enumerate(idx.tolist()):
            out[k] = float(np.median(np.delete(row_lag_s[idx], j)))
    return out


def latency_consistency(aircraft: npt.NDArray[np.int64], row_lag_s: F64) -> tuple[int, float]:
    """(rows, Pearson r) between each fix's along-track lag and the median of its aircraft's
    other fixes: near 0 if the lag were solver noise, near 1 if it belongs to the aircraft."""
    own = _own_latency_s(aircraft, row_lag_s)
    ok = np.isfinite(own) & np.isfinite(row_lag_s)
    if ok.sum() < 3:
        return int(ok.sum()), float("nan")
    return int(ok.sum()), float(np.corrcoef(row_lag_s[ok], own[ok])[0, 1])


def aircraft_latency_evidence(
    s: LocardsSet, registry: ReceiverRegistry
) -> tuple[npt.NDArray[np.int64], F64]:
    """Per accepted fix (baro altitude, biases held out by aircraft): its aircraft id and how
    far ahead of the ADS-B position it lies along the track, in seconds (NaN: track unknown).
    Feed to :func:`latency_consistency`."""
    mask, ids, R, truth = _arrays(s, registry)
    res_t = truth_residuals_s(R, s.toa_s, mask, truth)
    toa = s.toa_s - held_out_biases(ids, res_t, mask, s.aircraft)
    with np.errstate(invalid="ignore"):
        toa = toa - np.nanmin(np.where(mask, toa, np.inf), axis=1, keepdims=True)
    res = solve_batch(
        R,
        toa,
        registry.sigma_s(ids),
        mask=mask,
        altitude_m=s.baro_altitude_m,
        altitude_sigma_m=ALTITUDE_MODES["baro"],
    )
    ok = plausible(res, R)
    vel = track_velocity_m_s(s.aircraft, s.time_s, truth)
    lag = _along_track_lag_s(res.ecef_m[ok], _subset(s, ok), truth[ok], vel[ok])
    return s.aircraft[ok], lag


def _truth_errors(
    lat: F64, lon: F64, ecef: F64, s: LocardsSet, truth: F64, vel: F64, lag_s: float
) -> F64:
    """``(n, 4)``: horizontal error, error vs lag-moved truth, |cross-track| error, error vs
    truth moved by the aircraft's own latency (from its other rows of ``s``), metres."""
    e = horizontal_distance_m(lat, lon, s.lat_deg, s.lon_deg)
    moved = truth + vel * lag_s
    la, lo, _ = ecef_to_llh(moved)
    e_lag = horizontal_distance_m(lat, lon, la, lo)
    rot = ecef_to_enu_matrix(s.lat_deg, s.lon_deg)
    d = np.einsum("nij,nj->ni", rot, ecef - truth)[:, :2]
    v = np.einsum("nij,nj->ni", rot, vel)[:, :2]
    sp = np.linalg.norm(v, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = np.abs(v[:, 0] * d[:, 1] - v[:, 1] * d[:, 0]) / sp
    has = np.isfinite(sp) & (sp > 10.0)
    own = _own_latency_s(s.aircraft, _along_track_lag_s(ecef, s, truth, vel))
    la, lo, _ = ecef_to_llh(truth + vel * np.nan_to_num(own)[:, None])
    e_own = np.where(np.isfinite(own), horizontal_distance_m(lat, lon, la, lo), np.nan)
    return np.stack([e, np.where(has, e_lag, np.nan), np.where(has, cross, np.nan), e_own], axis=1)


def evaluate_set(
    s: LocardsSet,
    registry: ReceiverRegistry,
    modes: Sequence[str] = ("none", "baro", "baro_corr", "geo"),
    calibrations: Sequence[str] = ("raw", "aircraft"),
    lag_s: float = 0.0,
    max_error_m: float = 1_000.0,
) -> tuple[list[AccuracyRow], dict[tuple[str, str, str], F64]]:
    """Solve every transmission of ``s`` per altitude mode and calibration, single and smoothed.

    ``lag_s``: the truth lag for the lag-compensated diagnostic (estimate it on *other* sets).
    Returns the rows and ``(k, 4)`` error arrays (see :func:`_truth_errors`) keyed by
    (mode, calibration, filter): ``single``, ``kf`` (forward filter) and ``rts`` (smoothed).
    """
    mask, ids, R, truth = _arrays(s, registry)
    sig = registry.sigma_s(ids)
    vel = track_velocity_m_s(s.aircraft, s.time_s, truth)
    need_res = any(c != "raw" for c in calibrations)
    res_t = truth_residuals_s(R, s.toa_s, mask, truth) if need_res else None
    rows: list[AccuracyRow] = []
    errs: dict[tuple[str, str, str], F64] = {}
    for cal in calibrations:
        if cal == "raw" or res_t is None:
            toa = s.toa_s
        elif cal == "aircraft":
            toa = s.toa_s - held_out_biases(ids, res_t, mask, s.aircraft)
        elif cal == "time":
            half = (s.time_s >= np.median(s.time_s)).astype(np.int64)
            toa = s.toa_s - held_out_biases(ids, res_t, mask, half)
        else:
            raise ValueError(f"unknown calibration {cal!r}")
        with np.errstate(invalid="ignore"):
            toa = toa - np.nanmin(np.where(mask, toa, np.inf), axis=1, keepdims=True)
        for mode in modes:
            sigma_alt = ALTITUDE_MODES[mode]
            alt: F64 | None
            if mode == "none":
                alt = None
            elif mode == "baro":
                alt = s.baro_altitude_m
            elif mode == "baro_corr":
                alt = corrected_baro_altitude_m(s)
            else:
                alt = s.geo_altitude_m
            res = solve_batch(
                R, toa, sig, mask=mask, altitude_m=alt, altitude_sigma_m=max(sigma_alt, 1.0)
            )
            ok = plausible(res, R, max_error_m=max_error_m)
            sub = _subset(s, ok)
            e = _truth_errors(
                res.lat_deg[ok], res.lon_deg[ok], res.ecef_m[ok], sub, truth[ok], vel[ok], lag_s
            )
            errs[(mode, cal, "single")] = e
            rows.append(_row(s.name, mode, cal, "single", len(s), e))
            # Tracking filter: per aircraft, time-ordered, over the accepted fixes.
            for name, (sm_x, _) in filter_fixes(s, res.ecef_m, res.cov_m2, ok).items():
                la, lo, _ = ecef_to_llh(sm_x[ok])
                se = _truth_errors(la, lo, sm_x[ok], sub, truth[ok], vel[ok], lag_s)
                errs[(mode, cal, name)] = se
                rows.append(_row(s.name, mode, cal, name, len(s), se))
    return rows, errs


def filter_fixes(
    s: LocardsSet, ecef_m: F64, cov_m2: F64, ok: npt.NDArray[np.bool_]
) -> dict[str, tuple[F64, npt.NDArray[np.bool_]]]:
    """Each aircraft's accepted fixes through the forward filter (``kf``, what a live system
    outputs) and the RTS smoother (``rts``): positions ``(n, 3)`` (NaN where not ``ok``) and
    whether each came from the filter (else the fix passed through)."""
    out: dict[str, tuple[F64, npt.NDArray[np.bool_]]] = {}
    kf_x = np.full((len(s), 3), np.nan)
    rts_x = np.full((len(s), 3), np.nan)
    kf_s = np.zeros(len(s), bool)
    rts_s = np.zeros(len(s), bool)
    for ac in np.unique(s.aircraft[ok]):
        idx = np.flatnonzero(ok & (s.aircraft == ac))
        idx = idx[np.argsort(s.time_s[idx], kind="stable")]
        f = TrackFilter()
        for k in idx.tolist():
            st = f.update(float(s.time_s[k]), ecef_m[k], cov_m2[k])
            kf_x[k], kf_s[k] = st.ecef_m, st.smoothed
        tr = smooth_track(s.time_s[idx], ecef_m[idx], cov_m2[idx])
        rts_x[idx], rts_s[idx] = tr.ecef_m, tr.smoothed
    out["kf"] = (kf_x, kf_s)
    out["rts"] = (rts_x, rts_s)
    return out


def _subset(s: LocardsSet, keep: npt.NDArray[np.bool_]) -> LocardsSet:
    from dataclasses import replace

    return replace(
        s,
        row_id=s.row_id[keep],
        time_s=s.time_s[keep],
        aircraft=s.aircraft[keep],
        lat_deg=s.lat_deg[keep],
        lon_deg=s.lon_deg[keep],
        baro_altitude_m=s.baro_altitude_m[keep],
        geo_altitude_m=s.geo_altitude_m[keep],
        sensor=s.sensor[keep],
        toa_s=s.toa_s[keep],
        rssi=s.rssi[keep],
    )


def summarise(
    name: str, parts: Sequence[dict[tuple[str, str, str], F64]], totals: int
) -> list[AccuracyRow]:
    """Pool error arrays of several sets into overall rows."""
    keys = list(parts[0]) if parts else []
    return [
        _row(name, m, c, f, totals, np.concatenate([p[(m, c, f)] for p in parts]))
        for m, c, f in keys
    ]


def locards_receptions(s: LocardsSet) -> tuple[list[list[Reception]], list[str], F64]:
    """The set as what a live system hears: one DF17 airborne position (TC 11, the ADS-B
    position and barometric altitude) per row, heard by each of its receivers.

    Returns batches of receptions (rows grouped by whole seconds of server time, in time
    order), each row's address (one per aircraft) and each row's earliest arrival time (s).
    """
    order = np.argsort(s.time_s, kind="stable")
    icaos = [f"{(0x100000 + int(a)) & 0xFFFFFF:06x}" for a in s.aircraft]
    t_first = np.nanmin(np.where(s.sensor >= 0, s.toa_s, np.inf), axis=1)
    batches: list[list[Reception]] = []
    current = -1
    for k in order.tolist():
        alt_ft = float(s.baro_altitude_m[k]) / FT_TO_M
        frame = df17_position_frame(
            int(icaos[k], 16),
            float(s.lat_deg[k]),
            float(s.lon_deg[k]),
            alt_ft if np.isfinite(alt_ft) else -1000.0,
            int(s.row_id[k]) & 1,
        )
        sec = int(np.floor(s.time_s[k]))
        if sec != current:
            batches.append([])
            current = sec
        batches[-1] += [
            Reception(frame, int(r), float(t))
            for r, t in zip(s.sensor[k].tolist(), s.toa_s[k].tolist(), strict=True)
            if r >= 0 and np.isfinite(t)
        ]
    return batches, icaos, t_first


def evaluate_online(
    s: LocardsSet,
    registry: ReceiverRegistry,
    *,
    smooth: bool = False,
    learn_biases: bool = True,
    lag_s: float = 0.0,
) -> tuple[AccuracyRow, F64]:
    """Stream the set through a fresh :class:`Multilaterator` in time order.

    Every row is solved as if its aircraft sent no position (barometric altitude only), then
    serves as a reference from which the engine learns the receivers' timing biases: a row is
    solved with biases learned from *earlier* rows only (held out in time). ``smooth`` turns on
    the engine's (forward, live) tracking filter. Returns the row (calibration ``online``, or
    ``raw`` without learning) and the ``(k, 4)`` errors as in :func:`evaluate_set`.
    """
    reg = ReceiverRegistry(registry)
    ml = Multilaterator(reg, solve_adsb=True, smooth=smooth, learn_biases=learn_biases)
    batches, icaos, t_first = locards_receptions(s)
    by_key: dict[str, list[int]] = {}
    for k, ic in enumerate(icaos):
        by_key.setdefault(ic, []).append(k)
    found = np.full(len(s), -1)
    pos: list[MlatPosition] = []
    for b in batches:
        for p in ml.process(b):
            rows = by_key.get(p.icao24, [])
            if not rows:
                continue
            dt = np.abs(t_first[rows] - p.time_s)
            j = int(np.argmin(dt))
            if dt[j] < 5e-3 and found[rows[j]] < 0:
                found[rows[j]] = len(pos)
                pos.append(p)
    ok = found >= 0
    idx = found[ok]
    lat = np.array([pos[i].lat_deg for i in idx.tolist()], dtype=np.float64)
    lon = np.array([pos[i].lon_deg for i in idx.tolist()], dtype=np.float64)
    h = np.array([pos[i].height_m for i in idx.tolist()], dtype=np.float64)
    ecef = llh_to_ecef(lat, lon, h)
    _, _, _, truth = _arrays(s, registry)
    vel = track_velocity_m_s(s.aircraft, s.time_s, truth)
    sub = _subset(s, ok)
    e = _truth_errors(lat, lon, ecef.reshape(-1, 3), sub, truth[ok], vel[ok], lag_s)
    cal = "online" if learn_biases else "raw"
    return _row(s.name, "baro", cal, "kf" if smooth else "single", len(s), e), e
