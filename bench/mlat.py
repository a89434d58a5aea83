"""MLAT benchmark: accuracy on real LocaRDS measurements, solutions/s vs a peer, engine speed.

Accuracy: every transmission of the LocaRDS sample, per set and overall, per altitude
constraint, single-shot and RTS-smoothed, with the times of arrival as recorded (``raw``) and,
separately labelled, after receiver-bias calibration learned from the *other* aircraft of the
same set (``held-out``: leave-one-aircraft-out). Errors are against the ADS-B position as
reported; the ``lag`` columns (a truth adjustment, labelled as such) move the ADS-B position
forward along its track by the lag estimated on the other sets, and ``cross`` is the median
cross-track error, which truth staleness cannot inflate.

Speed peer: one ``scipy.optimize.least_squares`` (LM) call per transmission, as mlat-server
does, with the same model, start and data, timed in the same run on one core. Engine: receptions
per second through :class:`overflight.mlat.Multilaterator` (grouping, clock sync of simulated
12 MHz receivers, solving, filter) in one-second batches.
Run: ``python bench/mlat.py``.
"""

from __future__ import annotations

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
from overflight.mlat.evaluate import AccuracyRow, estimate_truth_lag_s, evaluate_set, summarise
from overflight.mlat.locards import read_locards_set
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.sim import simulate
from overflight.mlat.solve import solve_batch, solve_scipy

DATA = "mlat-locards-sample"
CAL_LABEL = {"raw": "raw", "aircraft": "held-out"}


def _accuracy(reg: ReceiverRegistry, sets: list) -> list[AccuracyRow]:  # type: ignore[type-arg]
    lags = [estimate_truth_lag_s(s, reg) for s in sets]
    print("ADS-B truth lag per set, s (TOA-domain fit): " + " ".join(f"{v:.3f}" for v in lags))
    table = Table(title="MLAT accuracy, LocaRDS sample (horizontal error vs ADS-B, metres)")
    for c in ("set", "altitude", "calibration", "filter", "solved", "median", "p90", "RMSE"):
        table.add_column(c, justify="right")
    for c in ("lag n", "lag median", "lag p90", "cross median"):
        table.add_column(c, justify="right", style="dim")
    parts = []
    rows: list[AccuracyRow] = []
    for k, s in enumerate(sets):
        lag = float(np.mean([v for j, v in enumerate(lags) if j != k]))
        set_rows, errs = evaluate_set(s, reg, calibrations=("raw", "aircraft"), lag_s=lag)
        parts.append(errs)
        rows += set_rows
    overall = summarise("overall", parts, sum(len(s) for s in sets))
    for r in rows + overall:
        table.add_row(
            r.set_name,
            r.altitude_mode,
            CAL_LABEL[r.calibration],
            "RTS" if r.filtered else "-",
            f"{r.solved}/{r.transmissions}",
            f"{r.median_m:.1f}",
            f"{r.p90_m:.1f}",
            f"{r.rmse_m:.0f}",
            str(r.lag_n),
            f"{r.lag_median_m:.1f}",
            f"{r.lag_p90_m:.1f}",
            f"{r.cross_median_m:.1f}",
            style="bold" if r.set_name == "overall" else None,
        )
    Console(width=170).print(table)
    return overall


def _engine_rate(reg: ReceiverRegistry, sets: list) -> Row:  # type: ignore[type-arg]
    s = sets[0]
    u, c = np.unique(s.sensor, return_counts=True)
    top = u[np.argsort(-c)][:8]
    recv = [(int(i), reg[int(i)].lat_deg, reg[int(i)].lon_deg, reg[int(i)].height_m) for i in top]
    rows = np.flatnonzero(np.isin(s.sensor, top).sum(axis=1) >= 4)[:150]
    ac = [(float(s.lat_deg[i]), float(s.lon_deg[i]), float(s.geo_altitude_m[i])) for i in rows]
    sc = simulate(recv, ac, n_adsb=40, duration_s=12.0, seed=3)
    rx = sc.receptions
    tt = np.array([sc.clocks[r.receiver_id].true_time(r.toa_s) for r in rx])
    sec = np.floor(tt).astype(int)
    batches = [[rx[i] for i in np.flatnonzero(sec == b)] for b in range(int(sec.max()) + 1)]
    best = float("inf")
    solved = 0
    for _ in range(2):
        ml = Multilaterator(sc.registry)
        t0 = time.perf_counter()
        solved = sum(len(ml.process(b)) for b in batches)
        best = min(best, time.perf_counter() - t0)
    return Row(
        "overflight Multilaterator.process (1 s batches)",
        len(rx),
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

    # Speed: all transmissions, baro-altitude constraint, one core.
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
    for cal in ("raw", "aircraft"):
        r = next(
            r
            for r in overall
            if r.altitude_mode == "baro" and r.calibration == cal and not r.filtered
        )
        print(
            f"overall {CAL_LABEL[cal]} p90 {r.p90_m:.1f} m, solved {r.solved}/{r.transmissions}"
            " (single-shot, baro altitude)"
        )
    raw = next(
        r
        for r in overall
        if r.altitude_mode == "baro" and r.calibration == "raw" and not r.filtered
    )
    print("overall median horizontal error (m), single-shot, baro altitude, raw timing:")
    print(f"{raw.median_m:.1f}")


if __name__ == "__main__":
    main()
