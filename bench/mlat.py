"""MLAT benchmark: accuracy on real LocaRDS measurements, solutions/s vs a peer, engine speed.

Accuracy: every transmission of the LocaRDS sample, per set and overall, per altitude
constraint; single shots (``-``), the live forward Kalman filter (``KF``) and the RTS smoother
(``RTS``); with the times of arrival as recorded (``raw``), after receiver-bias calibration
learned from the *other* aircraft of the same set (``held-out``: leave-one-aircraft-out), and
``online``: each set streamed in time order through the engine, which learns the receivers'
biases from the ADS-B positions of earlier rows only (held out in time). Errors are against
the ADS-B position as reported; the ``lag`` columns (a truth adjustment, labelled as such)
move the ADS-B position forward along its track by the lag estimated on the other sets, the
``own`` columns by the aircraft's own ADS-B latency measured on its *other* transmissions
(leave-one-transmission-out; a latency is a property of each transponder and GNSS source, as
the printed correlation shows), and ``cross`` is the median cross-track error, which truth
staleness cannot inflate.

Speed peer: one ``scipy.optimize.least_squares`` (LM) call per transmission, as mlat-server
does, with the same model, start and data, timed in the same run on one core. Engine: receptions
per second through :class:`overflight.mlat.Multilaterator` (grouping, clock sync of simulated
12 MHz receivers, solving, filter) in one-second batches. The process pins itself to one CPU
before timing. A last table compares single shots with the filter on simulated unsynchronised
receivers (dense fixes). The noise-floor line (:mod:`overflight.mlat.noise_floor`) solves the
same rows simulated with the Gaussian TOA noise whose chi-square matches the real one, against
a perfect truth: what the solver achieves once the ADS-B truth's latency is out of the picture.
Run: ``python bench/mlat.py``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import Row, best_rate, print_table
from overflight.datapaths import shared_file
from overflight.mlat.engine import Multilaterator
from overflight.mlat.evaluate import (
    AccuracyRow,
    aircraft_latency_evidence,
    estimate_truth_lag_s,
    evaluate_online,
    evaluate_set,
    latency_consistency,
    summarise,
)
from overflight.mlat.geodesy import ecef_to_llh, horizontal_distance_m
from overflight.mlat.locards import read_locards_set
from overflight.mlat.noise_floor import noise_floor
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.sim import simulate
from overflight.mlat.solve import solve_batch, solve_scipy

DATA = "mlat-locards-sample"
FILTER_LABEL = {"single": "-", "kf": "KF", "rts": "RTS"}
CAL_LABEL = {"raw": "raw", "aircraft": "held-out", "online": "online"}


def _add(table: Table, r: AccuracyRow, lag: bool) -> None:
    cells = [
        r.set_name,
        r.altitude_mode,
        CAL_LABEL[r.calibration],
        FILTER_LABEL[r.filter],
        f"{r.solved}/{r.transmissions}",
        f"{r.median_m:.1f}",
        f"{r.p90_m:.1f}",
        f"{r.rmse_m:.0f}",
    ]
    if lag:
        cells += [str(r.lag_n), f"{r.lag_median_m:.1f}", f"{r.lag_p90_m:.1f}"]
        cells += [str(r.own_n), f"{r.own_median_m:.1f}", f"{r.own_p90_m:.1f}"]
        cells += [f"{r.cross_median_m:.1f}"]
    table.add_row(*cells, style="bold" if r.set_name == "overall" else None)


def _table(title: str, lag: bool) -> Table:
    table = Table(title=title)
    for c in ("set", "altitude", "calibration", "filter", "solved", "median", "p90", "RMSE"):
        table.add_column(c, justify="right")
    if lag:
        for c in (
            "lag n",
            "lag median",
            "lag p90",
            "own n",
            "own median",
            "own p90",
            "cross median",
        ):
            table.add_column(c, justify="right", style="dim")
    return table


def _accuracy(reg: ReceiverRegistry, sets: list) -> list[AccuracyRow]:  # type: ignore[type-arg]
    lags = [estimate_truth_lag_s(s, reg) for s in sets]
    print("ADS-B truth lag per set, s (TOA-domain fit): " + " ".join(f"{v:.3f}" for v in lags))
    ev = [aircraft_latency_evidence(s, reg) for s in sets]
    # Aircraft ids are per set: offset them so two sets' aircraft never share an id.
    ac = np.concatenate([a + 1_000_000 * k for k, (a, _) in enumerate(ev)])
    n_ev, r_ev = latency_consistency(ac, np.concatenate([lag for _, lag in ev]))
    print(
        f"ADS-B latency belongs to the aircraft: over {n_ev} fixes, Pearson r = {r_ev:.2f} between"
        " a fix's along-track lag and the median lag of the same aircraft's other fixes"
    )
    per_set = _table(
        "MLAT accuracy per set, LocaRDS sample, baro altitude (horizontal error vs ADS-B, m)",
        lag=False,
    )
    parts = []
    for k, s in enumerate(sets):
        lag = float(np.mean([v for j, v in enumerate(lags) if j != k]))
        set_rows, errs = evaluate_set(s, reg, calibrations=("raw", "aircraft"), lag_s=lag)
        for smooth in (False, True):
            r, e = evaluate_online(s, reg, smooth=smooth, lag_s=lag)
            set_rows.append(r)
            errs[(r.altitude_mode, r.calibration, r.filter)] = e
        parts.append(errs)
        for r in set_rows:
            if r.altitude_mode == "baro":
                _add(per_set, r, lag=False)
    Console(width=170).print(per_set)
    overall = summarise("overall", parts, sum(len(s) for s in sets))
    tab = _table(
        "MLAT accuracy overall, LocaRDS sample (horizontal error vs ADS-B, metres)", lag=True
    )
    for r in overall:
        _add(tab, r, lag=True)
    Console(width=170).print(tab)
    return overall


def _sim_batches(reg: ReceiverRegistry, sets: list, n_aircraft: int, seconds: float):  # type: ignore[no-untyped-def,type-arg]
    s = sets[0]
    u, c = np.unique(s.sensor, return_counts=True)
    top = u[np.argsort(-c)][:8]
    recv = [(int(i), reg[int(i)].lat_deg, reg[int(i)].lon_deg, reg[int(i)].height_m) for i in top]
    rows = np.flatnonzero(np.isin(s.sensor, top).sum(axis=1) >= 4)[:n_aircraft]
    ac = [(float(s.lat_deg[i]), float(s.lon_deg[i]), float(s.geo_altitude_m[i])) for i in rows]
    sc = simulate(recv, ac, n_adsb=len(ac) * 4 // 15, duration_s=seconds, seed=3)
    rx = sc.receptions
    tt = np.array([sc.clocks[r.receiver_id].true_time(r.toa_s) for r in rx])
    sec = np.floor(tt).astype(int)
    batches = [[rx[i] for i in np.flatnonzero(sec == b)] for b in range(int(sec.max()) + 1)]
    return sc, batches


def _sim_accuracy(reg: ReceiverRegistry, sets: list) -> None:  # type: ignore[type-arg]
    """Simulated unsynchronised 12 MHz receivers: single shots vs the live (forward) filter."""
    sc, batches = _sim_batches(reg, sets, 60, 30.0)
    table = Table(title="MLAT accuracy, simulated 12 MHz receivers (horizontal error, metres)")
    for c in ("filter", "positions", "smoothed", "median", "p90", "RMSE"):
        table.add_column(c, justify="right")
    for smooth in (False, True):
        ml = Multilaterator(sc.registry, smooth=smooth)
        e, sm = [], []
        for b, batch in enumerate(batches):
            for p in ml.process(batch):
                if b < 5:  # clocks settle
                    continue
                t = sc.clocks[ml.sync.root_of(p.receivers[0])].true_time(p.time_s)
                la, lo, _ = ecef_to_llh(sc.truth_ecef_m(p.icao24, t))
                e.append(float(horizontal_distance_m(la, lo, p.lat_deg, p.lon_deg)))
                sm.append(p.smoothed)
        a = np.array(e)
        table.add_row(
            "KF" if smooth else "-",
            str(a.size),
            f"{np.mean(sm):.0%}",
            f"{np.median(a):.1f}",
            f"{np.percentile(a, 90):.1f}",
            f"{np.sqrt(np.mean(a**2)):.1f}",
        )
    Console(width=170).print(table)


def _engine_rate(reg: ReceiverRegistry, sets: list) -> Row:  # type: ignore[type-arg]
    sc, batches = _sim_batches(reg, sets, 150, 12.0)
    n = sum(len(b) for b in batches)
    best = float("inf")
    solved = 0
    for _ in range(3):
        ml = Multilaterator(sc.registry)
        t0 = time.perf_counter()
        solved = sum(len(ml.process(b)) for b in batches)
        best = min(best, time.perf_counter() - t0)
    return Row(
        "overflight Multilaterator.process (1 s batches)",
        n,
        best,
        f"{solved:,} positions, {solved / best:,.0f} positions/s",
    )


def main() -> None:
    folder = shared_file(DATA)
    if folder is None:
        print(f"shared data {DATA!r} not found; nothing to measure")
        return
    reg = ReceiverRegistry.from_csv(folder / "sensors.csv")
    sets = [read_locards_set(p) for p in sorted(folder.glob("set_*.csv"))]
    overall = _accuracy(reg, sets)
    nf = noise_floor(sets, reg)
    print(
        f"Noise floor: real chi2/dof median {nf.real_chi2_per_dof:.2f} matched by"
        f" {nf.sigma_s * 1e9:.0f} ns Gaussian TOA noise (sim {nf.sim_chi2_per_dof:.2f});"
        f" cross-track median real {nf.real_cross_median_m:.1f} m vs simulated"
        f" {nf.sim_cross_median_m:.1f} m;"
        f" single-shot vs a perfect truth on the same rows: median {nf.median_m:.1f} m, p90"
        f" {nf.p90_m:.1f} m, RMSE {nf.rmse_m:.0f} m, solved {nf.solved}/{nf.transmissions}"
    )

    # Speed: all transmissions, baro-altitude constraint, one core.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    R = np.concatenate([reg.ecef_m(s.sensor) for s in sets])
    toa = np.concatenate([s.toa_s - np.nanmin(s.toa_s, axis=1, keepdims=True) for s in sets])
    alt = np.concatenate([s.baro_altitude_m for s in sets])
    sig = np.full(toa.shape, 60e-9)
    n = len(toa)
    peer_n = 200
    rows_speed = [
        best_rate(
            "overflight solve_batch (NumPy LM, +troposphere)",
            n,
            lambda: solve_batch(R, toa, sig, altitude_m=alt, altitude_sigma_m=150.0),
        ),
        best_rate(
            "scipy least_squares per solution (+troposphere)",
            peer_n,
            lambda: [
                solve_scipy(R[k], toa[k], sig[k], float(alt[k]), 150.0) for k in range(peer_n)
            ],
            repeat=2,
        ),
    ]
    print_table("MLAT solutions per second (one core)", rows_speed, unit="solutions/s")
    print_table(
        "MLAT engine receptions per second (one core, simulated 12 MHz receivers)",
        [_engine_rate(reg, sets)],
        unit="receptions/s",
    )
    _sim_accuracy(reg, sets)
    pick = {(r.altitude_mode, r.calibration, r.filter): r for r in overall}
    for cal in ("raw", "aircraft", "online"):
        for flt in ("single", "kf", "rts"):
            r = pick.get(("baro", cal, flt))
            if r is not None:
                print(
                    f"overall baro {CAL_LABEL[cal]:8s} {FILTER_LABEL[flt]:3s}: median"
                    f" {r.median_m:5.1f} m, p90 {r.p90_m:6.1f} m, solved"
                    f" {r.solved}/{r.transmissions}; vs ADS-B moved by the aircraft's own"
                    f" latency: median {r.own_median_m:5.1f} m, p90 {r.own_p90_m:6.1f} m"
                    f" ({r.own_n} fixes)"
                )
    raw = pick[("baro", "raw", "single")]
    print("overall median horizontal error (m), single-shot, baro altitude, raw timing:")
    print(f"{raw.median_m:.1f}")


if __name__ == "__main__":
    main()
