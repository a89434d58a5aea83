"""MLAT benchmark: accuracy on real LocaRDS measurements and solutions per second vs a peer.

Peer: one ``scipy.optimize.least_squares`` (LM) call per transmission, as mlat-server does,
with the same model, start and data, timed in the same run on one core.
Run: ``python bench/mlat.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import best_rate, print_table
from overflight.datapaths import shared_file
from overflight.mlat.evaluate import evaluate_set, summarise
from overflight.mlat.locards import read_locards_set
from overflight.mlat.receivers import ReceiverRegistry
from overflight.mlat.solve import solve_batch, solve_scipy

DATA = "mlat-locards-sample"


def main() -> None:
    folder = shared_file(DATA)
    if folder is None:
        print(f"shared data {DATA!r} not found; nothing to measure")
        return
    reg = ReceiverRegistry.from_csv(folder / "sensors.csv")
    sets = [read_locards_set(p) for p in sorted(folder.glob("set_*.csv"))]
    table = Table(title="MLAT accuracy, LocaRDS sample (horizontal error vs ADS-B, metres)")
    for c in ("set", "altitude", "filter", "solved", "median", "p90", "RMSE"):
        table.add_column(c, justify="right")
    parts = []
    for s in sets:
        rows, errs = evaluate_set(s, reg)
        parts.append(errs)
        for r in rows:
            table.add_row(
                r.set_name,
                r.altitude_mode,
                "RTS" if r.filtered else "-",
                f"{r.solved}/{r.transmissions}",
                f"{r.median_m:.1f}",
                f"{r.p90_m:.1f}",
                f"{r.rmse_m:.0f}",
            )
    overall = summarise("overall", parts, sum(len(s) for s in sets))
    for r in overall:
        table.add_row(
            r.set_name,
            r.altitude_mode,
            "RTS" if r.filtered else "-",
            f"{r.solved}/{r.transmissions}",
            f"{r.median_m:.1f}",
            f"{r.p90_m:.1f}",
            f"{r.rmse_m:.0f}",
            style="bold",
        )
    Console().print(table)

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
            "overflight solve_batch (vacuum)",
            n,
            lambda: solve_batch(
                R, toa, sig, altitude_m=alt, altitude_sigma_m=150.0, refractivity_n0=0.0
            ),
        ),
        best_rate(
            "scipy least_squares per solution (+troposphere)",
            peer_n,
            lambda: [
                solve_scipy(R[k], toa[k], sig[k], float(alt[k]), 150.0) for k in range(peer_n)
            ],
            repeat=2,
        ),
        best_rate(
            "scipy least_squares per solution (vacuum, mlat-server style)",
            peer_n,
            lambda: [
                solve_scipy(R[k], toa[k], sig[k], float(alt[k]), 150.0, refractivity_n0=0.0)
                for k in range(peer_n)
            ],
            repeat=2,
        ),
    ]
    print_table("MLAT solutions per second (one core)", rows_speed, unit="solutions/s")
    baro = next(r for r in overall if r.altitude_mode == "baro" and not r.filtered)
    print("overall median horizontal error (m), single-shot, baro altitude constraint:")
    print(f"{baro.median_m:.1f}")


if __name__ == "__main__":
    main()
