"""``overflight mlat eval DIR``: accuracy of multilateration on a LocaRDS-style folder.

A missing folder, or one without ``sensors.csv`` and ``set_*.csv``, is a usage error (exit
status 2). Rows that do not parse are counted and skipped; a set file that cannot be read at all
(binary, no valid row) is reported and left out, the other sets are evaluated and the exit
status is 1.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from overflight.cli.app import READ_ERRORS, app, describe_read_error, untrusted

if TYPE_CHECKING:
    from overflight.mlat.locards import LocardsSet
    from overflight.mlat.receivers import ReceiverRegistry

__all__ = ["mlat"]

_FILE_ERRORS: tuple[type[BaseException], ...] = (*READ_ERRORS, csv.Error, UnicodeError)
"""What reading a CSV file of the folder can raise: I/O errors, binary content, a huge field."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "not UTF-8 text"
    if isinstance(exc, READ_ERRORS):
        return describe_read_error(exc)
    return untrusted(str(exc) or type(exc).__name__).plain


def _folder(folder: Path) -> tuple[Path, list[Path]]:
    """``sensors.csv`` and the ``set_*.csv`` files of ``folder``; a usage error when absent."""
    if not folder.exists():
        raise typer.BadParameter(f"{folder}: no such folder", param_hint="FOLDER")
    if not folder.is_dir():
        raise typer.BadParameter(
            f"{folder}: not a folder (want one with sensors.csv and set_*.csv)",
            param_hint="FOLDER",
        )
    sensors = folder / "sensors.csv"
    if not sensors.is_file():
        raise typer.BadParameter(f"{folder}: no sensors.csv in it (a LocaRDS folder has "
                                 "sensors.csv and set_*.csv)", param_hint="FOLDER")
    sets = sorted(p for p in folder.glob("set_*.csv") if p.is_file())
    if not sets:
        raise typer.BadParameter(f"{folder}: no set_*.csv in it (a LocaRDS folder has "
                                 "sensors.csv and set_*.csv)", param_hint="FOLDER")
    return sensors, sets


def _receivers(sensors: Path) -> ReceiverRegistry:
    """The receivers of ``sensors.csv``; a one-line error (exit status 1) when there are none."""
    from overflight.mlat.receivers import ReceiverRegistry

    try:
        reg = ReceiverRegistry.from_csv(sensors)
    except _FILE_ERRORS as exc:
        typer.echo(f"error: {sensors}: not a receivers table ({_reason(exc)})", err=True)
        raise typer.Exit(1) from None
    if len(reg) == 0:
        typer.echo(f"error: {sensors}: no receiver rows (want serial,latitude,longitude,height,"
                   "type)", err=True)
        raise typer.Exit(1)
    return reg


def _sets(paths: list[Path]) -> tuple[list[LocardsSet], list[str]]:
    """The sets that could be read, and one line per set left out."""
    from overflight.mlat.locards import read_locards_set

    sets: list[LocardsSet] = []
    left_out: list[str] = []
    for p in paths:
        try:
            s = read_locards_set(p)
        except _FILE_ERRORS as exc:
            left_out.append(f"{p.name}: {_reason(exc)}")
            continue
        if len(s) == 0:
            left_out.append(f"{p.name}: no valid row ({s.skipped:,} malformed)" if s.skipped
                            else f"{p.name}: no rows")
            continue
        sets.append(s)
    return sets, left_out


@app.command()
def mlat(
    action: Annotated[str, typer.Argument(help="eval", show_default=False)],
    folder: Annotated[Path, typer.Argument(help="folder with sensors.csv and set_*.csv",
                                           show_default=False)],
) -> None:
    """Evaluate multilateration against ADS-B ground truth (horizontal error, metres).

    Malformed rows are counted and skipped; unreadable set files are reported and left out."""
    from overflight.mlat.evaluate import AccuracyRow, evaluate_set, summarise

    if action != "eval":
        raise typer.BadParameter(f"{action!r}: the only action is 'eval'", param_hint="ACTION")
    sensors, set_paths = _folder(folder)
    reg = _receivers(sensors)
    sets, left_out = _sets(set_paths)
    for line in left_out:
        typer.echo(f"error: {folder}/{line} (left out)", err=True)
    if not sets:
        typer.echo(f"error: {folder}: no set could be read", err=True)
        raise typer.Exit(1)
    table = Table(title=untrusted(f"MLAT accuracy: {folder}"))
    for c in ("set", "altitude", "timing", "filter", "solved", "median m", "p90 m", "RMSE m"):
        table.add_column(c, justify="right")
    # Against the ADS-B position moved by that aircraft's own latency, learned from its other
    # transmissions (a truth adjustment: see overflight.mlat.evaluate).
    for c in ("own-latency median m", "own-latency p90 m"):
        table.add_column(c, justify="right", style="dim")
    parts = []
    rows: list[AccuracyRow] = []
    for s in sets:
        set_rows, e = evaluate_set(s, reg)
        rows += set_rows
        parts.append(e)
    rows += summarise("overall", parts, sum(len(s) for s in sets))
    for r in rows:
        table.add_row(
            untrusted(r.set_name),
            r.altitude_mode,
            {"raw": "raw", "aircraft": "held-out"}.get(r.calibration, r.calibration),
            {"single": "-", "kf": "KF", "rts": "RTS"}[r.filter],
            f"{r.solved}/{r.transmissions}",
            f"{r.median_m:.1f}",
            f"{r.p90_m:.1f}",
            f"{r.rmse_m:.0f}",
            f"{r.own_median_m:.1f}",
            f"{r.own_p90_m:.1f}",
        )
    # Piped into a file or a pager, the table keeps its rows whole instead of 80 columns.
    Console(width=None if sys.stdout.isatty() else 150).print(table)
    typer.echo(
        "timing: raw = times of arrival as recorded; held-out = receiver biases learned from"
        " the other aircraft of the set only",
        err=True,
    )
    skipped = {s.name: s.skipped for s in sets if s.skipped}
    typer.echo(
        f"input: {len(reg):,} receivers, {len(sets)} sets, {sum(len(s) for s in sets):,} "
        "transmissions; rows skipped: "
        + (", ".join(f"{untrusted(k).plain}: {v:,}" for k, v in skipped.items()) or "none"),
        err=True,
    )
    if left_out:
        raise typer.Exit(1)
