"""``overflight mlat eval DIR``: accuracy of multilateration on a LocaRDS-style folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from overflight.cli.app import app

__all__ = ["mlat"]


@app.command()
def mlat(
    action: Annotated[str, typer.Argument(help="eval")],
    folder: Annotated[Path, typer.Argument(help="folder with sensors.csv and set_*.csv")],
) -> None:
    """Evaluate multilateration against ADS-B ground truth (horizontal error, metres)."""
    from overflight.mlat.evaluate import AccuracyRow, evaluate_set, summarise
    from overflight.mlat.locards import read_locards_set
    from overflight.mlat.receivers import ReceiverRegistry

    if action != "eval":
        raise typer.BadParameter("only 'eval' is supported")
    reg = ReceiverRegistry.from_csv(folder / "sensors.csv")
    sets = [read_locards_set(p) for p in sorted(folder.glob("set_*.csv"))]
    table = Table(title=f"MLAT accuracy: {folder}")
    for c in ("set", "altitude", "timing", "filter", "solved", "median m", "p90 m", "RMSE m"):
        table.add_column(c, justify="right")
    parts = []
    rows: list[AccuracyRow] = []
    for s in sets:
        set_rows, e = evaluate_set(s, reg)
        rows += set_rows
        parts.append(e)
    rows += summarise("overall", parts, sum(len(s) for s in sets))
    for r in rows:
        table.add_row(
            r.set_name,
            r.altitude_mode,
            {"raw": "raw", "aircraft": "calibrated (held-out aircraft)"}.get(
                r.calibration, r.calibration
            ),
            {"single": "-", "kf": "KF", "rts": "RTS"}[r.filter],
            f"{r.solved}/{r.transmissions}",
            f"{r.median_m:.1f}",
            f"{r.p90_m:.1f}",
            f"{r.rmse_m:.0f}",
        )
    Console().print(table)
