"""``overflight mlat eval DIR``: accuracy of multilateration on a LocaRDS-style folder.

Prints the headline first (all sets pooled: held-out receiver biases, barometric altitude,
each fix alone: median and p90 horizontal error, fixes solved), then the pooled figures of every
altitude mode and timing; ``--detail`` adds every set and the KF / RTS filters.

A missing folder, or one without ``sensors.csv`` and ``set_*.csv``, is a usage error (exit
status 2). Rows that do not parse are counted and skipped; a set file that cannot be read at all
(binary, no valid row) is reported and left out, the other sets are evaluated and the exit
status is 1.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from overflight.cli.app import (
    READ_ERRORS,
    Column,
    app,
    describe_read_error,
    print_table,
    progress,
    shown,
)

if TYPE_CHECKING:
    from overflight.mlat.evaluate import AccuracyRow
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
    return shown(str(exc) or type(exc).__name__)


def _folder(folder: Path) -> tuple[Path, list[Path]]:
    """``sensors.csv`` and the ``set_*.csv`` files of ``folder``; a usage error when absent."""
    if not folder.exists():
        raise typer.BadParameter(f"{shown(folder)}: no such folder", param_hint="FOLDER")
    if not folder.is_dir():
        raise typer.BadParameter(
            f"{shown(folder)}: not a folder (want one with sensors.csv and set_*.csv)",
            param_hint="FOLDER",
        )
    sensors = folder / "sensors.csv"
    if not sensors.is_file():
        raise typer.BadParameter(f"{shown(folder)}: no sensors.csv in it (a LocaRDS folder has "
                                 "sensors.csv and set_*.csv)", param_hint="FOLDER")
    sets = sorted(p for p in folder.glob("set_*.csv") if p.is_file())
    if not sets:
        raise typer.BadParameter(f"{shown(folder)}: no set_*.csv in it (a LocaRDS folder has "
                                 "sensors.csv and set_*.csv)", param_hint="FOLDER")
    return sensors, sets


def _receivers(sensors: Path) -> ReceiverRegistry:
    """The receivers of ``sensors.csv``; a one-line error (exit status 1) when there are none."""
    from overflight.mlat.receivers import ReceiverRegistry

    try:
        reg = ReceiverRegistry.from_csv(sensors)
    except _FILE_ERRORS as exc:
        typer.echo(f"error: {shown(sensors)}: not a receivers table ({_reason(exc)})", err=True)
        raise typer.Exit(1) from None
    if len(reg) == 0:
        typer.echo(f"error: {shown(sensors)}: no receiver rows (want serial,latitude,longitude,"
                   "height,type)", err=True)
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
            left_out.append(f"{shown(p.name)}: {_reason(exc)}")
            continue
        if len(s) == 0:
            left_out.append(f"{shown(p.name)}: no valid row ({s.skipped:,} malformed)" if s.skipped
                            else f"{shown(p.name)}: no rows")
            continue
        sets.append(s)
    return sets, left_out


_TIMING = {"raw": "raw", "aircraft": "held-out"}
_FILTER = {"single": "-", "kf": "KF", "rts": "RTS"}
_COLUMNS = (
    Column("set"),
    Column("altitude"),
    Column("timing"),
    Column("filter"),
    Column("solved", justify="right"),
    Column("median m", justify="right"),
    Column("p90 m", justify="right"),
    Column("RMSE m", priority=1, justify="right"),
    # Against the ADS-B position moved by that aircraft's own latency, learned from its other
    # transmissions (a truth adjustment: see overflight.mlat.evaluate).
    Column("own-latency median m", priority=2, justify="right"),
    Column("own-latency p90 m", priority=3, justify="right"),
)


def _cells(r: AccuracyRow) -> tuple[str, ...]:
    return (
        r.set_name,
        r.altitude_mode,
        _TIMING.get(r.calibration, r.calibration),
        _FILTER[r.filter],
        f"{r.solved}/{r.transmissions}",
        f"{r.median_m:.1f}",
        f"{r.p90_m:.1f}",
        f"{r.rmse_m:.0f}",
        f"{r.own_median_m:.1f}",
        f"{r.own_p90_m:.1f}",
    )


def _headline(rows: list[AccuracyRow]) -> str:
    """The one figure a newcomer asks for: all sets, held-out biases, baro, each fix alone."""
    pick = [r for r in rows if (r.set_name, r.altitude_mode, r.calibration, r.filter)
            == ("overall", "baro", "aircraft", "single")]
    if not pick:
        return "headline: no pooled row for held-out biases with barometric altitude"
    r = pick[0]
    share = f" ({r.solved / r.transmissions:.1%})" if r.transmissions else ""
    return (
        "headline (all sets; held-out receiver biases; barometric altitude; each fix alone): "
        f"median {r.median_m:.1f} m, p90 {r.p90_m:.1f} m horizontal error; "
        f"{r.solved:,} of {r.transmissions:,} fixes solved{share}"
    )


@app.command()
def mlat(
    action: Annotated[str, typer.Argument(help="eval", show_default=False)],
    folder: Annotated[Path, typer.Argument(help="folder with sensors.csv and set_*.csv",
                                           show_default=False)],
    detail: Annotated[bool, typer.Option(
        "--detail", help="every set, and the KF / RTS filters, not only the pooled figures")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress display on a terminal")
    ] = False,
) -> None:
    """Evaluate multilateration against ADS-B ground truth (horizontal error, metres).

    The headline comes first (all sets pooled, held-out receiver biases, barometric altitude,
    each fix alone), then the pooled figures per altitude mode and timing; --detail adds every
    set and the filters. Malformed rows are counted and skipped; unreadable set files are
    reported and left out."""
    if action != "eval":
        raise typer.BadParameter(f"{shown(action)!r}: the only action is 'eval'",
                                 param_hint="ACTION")
    sensors, set_paths = _folder(folder)
    from overflight.mlat.evaluate import evaluate_set, summarise

    reg = _receivers(sensors)
    sets, left_out = _sets(set_paths)
    for line in left_out:
        typer.echo(f"error: {shown(folder)}/{line} (left out)", err=True)
    if not sets:
        typer.echo(f"error: {shown(folder)}: no set could be read", err=True)
        raise typer.Exit(1)
    parts = []
    rows: list[AccuracyRow] = []
    with progress("solving", total=len(sets), unit="sets", quiet=quiet) as step:
        for s in sets:
            step(0, description=f"solving {s.name} ({len(s):,} transmissions)")
            set_rows, e = evaluate_set(s, reg)
            rows += set_rows
            parts.append(e)
            step()
    overall = summarise("overall", parts, sum(len(s) for s in sets))
    typer.echo(_headline(overall))
    shown_rows = rows + overall if detail else [r for r in overall if r.filter == "single"]
    print_table(_COLUMNS, [_cells(r) for r in shown_rows],
                title=f"MLAT accuracy: {folder}" + ("" if detail else " (all sets pooled)"))
    typer.echo(
        "timing: raw = times of arrival as recorded; held-out = receiver biases learned from"
        " the other aircraft of the set only" + ("" if detail else
                                                  "; --detail: every set, KF and RTS filters"),
        err=True,
    )
    skipped = {s.name: s.skipped for s in sets if s.skipped}
    typer.echo(
        f"input: {len(reg):,} receivers, {len(sets)} sets, {sum(len(s) for s in sets):,} "
        "transmissions; rows skipped: "
        + (", ".join(f"{shown(k)}: {v:,}" for k, v in skipped.items()) or "none"),
        err=True,
    )
    if left_out:
        raise typer.Exit(1)
