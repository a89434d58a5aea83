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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.mlat.filter import smooth_track
from overflight.mlat.geodesy import ecef_to_llh, horizontal_distance_m
from overflight.mlat.locards import LocardsSet
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.solve import plausible, solve_batch

__all__ = [
    "ALTITUDE_MODES",
    "AccuracyRow",
    "corrected_baro_altitude_m",
    "evaluate_set",
    "summarise",
]

ALTITUDE_MODES: dict[str, float] = {"none": 0.0, "baro": 150.0, "baro_corr": 50.0, "geo": 15.0}
"""Altitude constraint modes and their 1-sigma in metres."""


@dataclass(frozen=True, slots=True)
class AccuracyRow:
    """Horizontal error figures (metres) for one set, altitude mode and filter choice."""

    set_name: str
    altitude_mode: str
    filtered: bool
    transmissions: int
    solved: int
    median_m: float
    p90_m: float
    rmse_m: float


def corrected_baro_altitude_m(s: LocardsSet, window_s: float = 900.0) -> npt.NDArray[np.float64]:
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


def _row(
    name: str, mode: str, filtered: bool, total: int, err: npt.NDArray[np.float64]
) -> AccuracyRow:
    if err.size == 0:
        return AccuracyRow(name, mode, filtered, total, 0, np.nan, np.nan, np.nan)
    return AccuracyRow(
        name,
        mode,
        filtered,
        total,
        int(err.size),
        float(np.median(err)),
        float(np.percentile(err, 90)),
        float(np.sqrt(np.mean(err**2))),
    )


def evaluate_set(
    s: LocardsSet,
    registry: ReceiverRegistry,
    modes: Sequence[str] = ("none", "baro", "baro_corr", "geo"),
    max_error_m: float = 1_000.0,
) -> tuple[list[AccuracyRow], dict[tuple[str, bool], npt.NDArray[np.float64]]]:
    """Solve every transmission of ``s`` per altitude mode, single-shot and RTS-smoothed.

    Returns the rows and the raw error arrays keyed by (mode, filtered).
    """
    known = (
        np.vectorize(lambda i: int(i) in registry)(s.sensor)
        if s.sensor.size
        else np.zeros((0, 0), bool)
    )
    mask = (s.sensor >= 0) & known & np.isfinite(s.toa_s)
    ids = np.where(mask, s.sensor, next(iter(registry)).receiver_id)
    R = registry.ecef_m(ids)
    sig = registry.sigma_s(ids)
    rows: list[AccuracyRow] = []
    errs: dict[tuple[str, bool], npt.NDArray[np.float64]] = {}
    for mode in modes:
        sigma_alt = ALTITUDE_MODES[mode]
        alt: npt.NDArray[np.float64] | None
        if mode == "none":
            alt = None
        elif mode == "baro":
            alt = s.baro_altitude_m
        elif mode == "baro_corr":
            alt = corrected_baro_altitude_m(s)
        else:
            alt = s.geo_altitude_m
        res = solve_batch(
            R, s.toa_s, sig, mask=mask, altitude_m=alt, altitude_sigma_m=max(sigma_alt, 1.0)
        )
        ok = plausible(res, R, max_error_m=max_error_m)
        e = horizontal_distance_m(res.lat_deg, res.lon_deg, s.lat_deg, s.lon_deg)
        errs[(mode, False)] = e[ok]
        rows.append(_row(s.name, mode, False, len(s), e[ok]))
        # Tracking filter: per aircraft, time-ordered, over the accepted fixes.
        sm_err: list[float] = []
        for ac in np.unique(s.aircraft[ok]):
            idx = np.flatnonzero(ok & (s.aircraft == ac))
            idx = idx[np.argsort(s.time_s[idx], kind="stable")]
            cov = res.cov_m2[idx] + np.eye(3) * 1.0
            xs, _, _ = smooth_track(s.time_s[idx], res.ecef_m[idx], cov)
            la, lo, _ = ecef_to_llh(xs)
            sm_err.extend(horizontal_distance_m(la, lo, s.lat_deg[idx], s.lon_deg[idx]).tolist())
        se = np.asarray(sm_err, dtype=np.float64)
        errs[(mode, True)] = se
        rows.append(_row(s.name, mode, True, len(s), se))
    return rows, errs


def summarise(
    name: str, parts: Sequence[dict[tuple[str, bool], npt.NDArray[np.float64]]], totals: int
) -> list[AccuracyRow]:
    """Pool error arrays of several sets into overall rows."""
    keys = list(parts[0]) if parts else []
    return [_row(name, m, f, totals, np.concatenate([p[(m, f)] for p in parts])) for m, f in keys]
