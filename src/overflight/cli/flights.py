"""``overflight flights``: legs found in a capture or a trajectory file, with their airports.

A file that breaks while it is read (a truncated or corrupt gzip) gives the legs of the part
read before the break, then a one-line error (exit status 1); a file that is not a positions
file or capture at all gives a one-line error (exit status 1); a missing file or an unknown
``--format`` is a usage error (exit status 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from overflight.cli.app import READ_ERRORS, app, input_path, read_failed, untrusted
from overflight.flights import CaptureUnsupportedError, find_flights
from overflight.flights.readers import FORMATS, PositionsRead, read_file
from overflight.flights.records import iso_utc
from overflight.flights.table import Skipped

__all__ = ["flights"]

_CONTENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, LookupError, TypeError, AttributeError, RecursionError,
)
"""What the readers raise on a file that is not what its name or ``--format`` says (JSON that
does not parse, a JSON document without the expected fields, a CSV pyarrow cannot read)."""


def _why(exc: BaseException) -> str:
    """A short, printable reason for a content error."""
    if isinstance(exc, KeyError):
        text = f"no field {exc}"
    elif isinstance(exc, RecursionError):
        text = "nested too deeply"
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return untrusted(text[:200]).plain


def _read(path: Path, fmt: str) -> PositionsRead:
    """The positions of ``path`` (for a file that broke while read, those of the part before the
    fault, with the fault); a ``typer.Exit`` for a file that cannot be used."""
    try:
        return read_file(path, fmt)
    except CaptureUnsupportedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except READ_ERRORS as exc:
        raise read_failed(path, exc) from None
    except _CONTENT_ERRORS as exc:
        typer.echo(f"error: {path}: not a positions file or capture ({_why(exc)})", err=True)
        raise typer.Exit(1) from None


def _identifier(db: Path | None) -> Any:
    """``find_flights``' identifier (hex address -> registration, type) from the aircraft store:
    ``--db``, else the default store where there is one, else None."""
    from overflight.cli.db import open_identifier
    from overflight.identity.store import default_store_path

    store = db if db is not None else default_store_path()
    if db is None and not store.is_file():
        return None
    ident = open_identifier(store)

    def identify(hexa: str) -> tuple[str | None, str | None]:
        a = ident.identify(int(hexa, 16))
        return a.registration, a.type_code

    return identify


def _skipped_text(s: Skipped) -> str:
    parts = [(s.no_address, "no address"), (s.no_time, "no time"),
             (s.no_position, "no position"), (s.duplicate, "duplicate")]
    return ", ".join(f"{label}: {n:,}" for n, label in parts if n)


@app.command()
def flights(
    input: Annotated[
        Path,
        typer.Option("--input", "-i", help="positions file or capture", show_default=False),
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
    db: Annotated[
        Path | None,
        typer.Option("--db", help="aircraft store for registrations (default: as 'overflight db')"),
    ] = None,
) -> None:
    """List the flights (legs) found in FILE with departure and arrival airports and times.

    Rows without an address, time or position are counted and skipped."""
    input_path(input, "--input", stdin=False)
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}",
                                 param_hint="--format")
    identifier = _identifier(db)
    got = _read(input, fmt)
    tab, broken = got.table, got.broken
    res = find_flights(tab, identifier=identifier)
    kept = f"the legs above are from the {len(tab):,} positions read before it"
    if broken is not None and len(tab) == 0:
        raise read_failed(input, broken, note="nothing before it could be used")
    if as_json:
        for f in res.flights:
            typer.echo(json.dumps(f.to_dict()))
    else:
        table = Table(
            # file names and strings from files and the air are untrusted: shown literally
            title=untrusted(f"{len(res.flights)} legs in {input.name} ({len(tab):,} positions)")
        )
        known = any(f.registration or f.typecode for f in res.flights)  # from the store
        for col in ("icao24", *(("registration", "type") if known else ()), "callsign", "from",
                    "departure (UTC)", "to", "arrival (UTC)", "km", "max ft", "seen"):
            table.add_column(col)
        for f in res.flights:
            table.add_row(
                untrusted(f.icao24),
                *((untrusted(f.registration), untrusted(f.typecode)) if known else ()),
                untrusted(",".join(f.callsigns)),
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
        typer.echo(f"skipped rows: {_skipped_text(tab.skipped)}", err=True)
    if got.input_skipped:
        typer.echo("skipped input: " + untrusted(", ".join(
            f"{why}: {n:,}" for why, n in got.input_skipped.items())).plain, err=True)
    if len(tab) == 0 and broken is None:
        typer.echo(f"note: no positions found in {untrusted(input.name).plain}: is it a "
                   f"positions file or a capture? (formats: {', '.join(FORMATS)})", err=True)
    if broken is not None:
        raise read_failed(input, broken, note=kept)


def _where(code: str | None, kind: str, how: str) -> str:
    if code is not None:
        return f"{code} ({how})"
    return "no airport (unlisted site)" if kind == "unlisted" else "?"
