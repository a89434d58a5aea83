"""``overflight flights``: legs found in a capture or a trajectory file, with their airports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from overflight.cli.app import app
from overflight.flights import CaptureUnsupportedError, find_flights, read_positions
from overflight.flights.readers import FORMATS
from overflight.flights.records import iso_utc

__all__ = ["flights"]


@app.command()
def flights(
    input: Annotated[
        Path,
        typer.Option(
            "--input", "-i", exists=True, dir_okay=False, help="positions file or capture"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per leg")] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, or one of: "
            + ", ".join(f for f in FORMATS if f != "auto")
            + " (capture: decode the raw frames; decoded: rs1090 JSON lines' decoded fields)",
        ),
    ] = "auto",
) -> None:
    """List the flights (legs) found in FILE with departure and arrival airports and times."""
    if fmt not in FORMATS:
        typer.echo(f"error: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    try:
        tab = read_positions(input, fmt)
    except CaptureUnsupportedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (ValueError, KeyError, OSError) as exc:
        typer.echo(f"error: cannot read {input}: {exc}", err=True)
        raise typer.Exit(2) from exc
    res = find_flights(tab)
    if as_json:
        for f in res.flights:
            typer.echo(json.dumps(f.to_dict()))
        return
    table = Table(title=f"{len(res.flights)} legs in {input.name} ({len(tab):,} positions)")
    for col in (
        "icao24",
        "callsign",
        "from",
        "departure (UTC)",
        "to",
        "arrival (UTC)",
        "km",
        "max ft",
        "seen",
    ):
        table.add_column(col)
    for f in res.flights:
        table.add_row(
            escape(f.icao24),  # strings from files and the air are untrusted
            escape(",".join(f.callsigns)),
            _where(f.departure.code, f.departure.kind, f.departure.how),
            f"{iso_utc(f.departure_time_s) or '?'} ({f.departure_how})",
            _where(f.arrival.code, f.arrival.kind, f.arrival.how),
            f"{iso_utc(f.arrival_time_s) or '?'} ({f.arrival_how})",
            f"{f.distance_km:,.0f}",
            "" if f.max_altitude_ft is None else f"{f.max_altitude_ft:,.0f}",
            f"{f.observed_fraction:.0%}",
        )
    Console().print(table)
    if tab.skipped.total:
        typer.echo(f"skipped rows: {tab.skipped}", err=True)


def _where(code: str | None, kind: str, how: str) -> str:
    if code is not None:
        return f"{code} ({how})"
    return "no airport (unlisted site)" if kind == "unlisted" else "?"
