"""``overflight report IDENT --out DIR``: an evidence report from history (HTML, Markdown, map,
KML, GeoJSON). Only builds the question and calls :mod:`overflight.report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import app, output_dir, shown

__all__ = ["report"]


@app.command()
def report(
    ident: Annotated[str, typer.Argument(help="address (hex), registration or callsign",
                                         show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="folder to write the report into")],
    start: Annotated[str | None, typer.Option(
        "--from", help="UTC start: ISO 8601 (2019-03-22, 2019-03-22T14:00Z) or epoch s")] = None,
    end: Annotated[str | None, typer.Option("--to", help="UTC end (as --from)")] = None,
    db: Annotated[Path | None, typer.Option(
        "--db", help="history database (default: the user's)")] = None,
    identity_db: Annotated[Path | None, typer.Option(
        "--identity-db", help="aircraft store for identities (default: as 'overflight db')")]
        = None,
) -> None:
    """Write an evidence report for one aircraft: its identity and the sources behind it, its
    legs (airports, UTC and local times, how each was determined), the messages and receivers
    supporting each leg with the first and last frame (receiver, time, SHA-256), a map of the
    observed track and the unobserved stretches, and the track as KML and GeoJSON.

    The same database gives byte-identical files."""
    from overflight.cli.history import _fail, _history, _window
    from overflight.history.query import QueryError
    from overflight.report import build_report, write_report

    t0, t1 = _window(start, end)
    if out.exists():
        output_dir(out, "--out")
    h = _history(db, identity_db)
    try:
        rep = build_report(h, ident, t0, t1)
    except QueryError as exc:
        _fail(str(exc))
    paths = write_report(rep, out)
    typer.echo(f"{len(rep.legs)} leg(s), {rep.positions.num_rows:,} positions; wrote "
               + ", ".join(shown(p.name) for p in paths) + f" in {shown(out)}", err=True)
