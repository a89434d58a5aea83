"""``overflight db``: import aircraft databases into the local store and look aircraft up."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from overflight.cli.app import app
from overflight.identity.identifier import AircraftIdentity, Identifier
from overflight.identity.index import build_index, index_path
from overflight.identity.registry import parse_address
from overflight.identity.store import default_store_path, import_file, open_store

__all__ = ["db_app"]

db_app = typer.Typer(help="The local aircraft store: import registries and watchlists, look up.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

_DbOption = Annotated[Path | None, typer.Option("--db", help="store file (default: user data dir)")]


@db_app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="tar1090-db / Mictronics / plane-alert-db "
                                                "file(s), icao_aircraft_types*.json, "
                                                "operators.json")],
    source: Annotated[str | None, typer.Option(
        "--source", help="source name; any name but tar1090*/plane-alert* is a user source, "
        "which wins over both")] = None,
    db: _DbOption = None,
) -> None:
    """Import files into the store (a bad row is counted and skipped, never fatal)."""
    console = Console()
    store = db or default_store_path()
    con = open_store(store)
    try:
        for path in paths:
            if not path.is_file():
                console.print(f"[red]not a file:[/red] {path}")
                raise typer.Exit(2)
            rep = import_file(con, path, source)
            rejected = ", ".join(f"{k}: {v}" for k, v in sorted(rep.rejected.items())) or "none"
            console.print(
                f"[bold]{rep.source}[/bold] ({rep.kind}, {rep.format}) from {path}: "
                f"{rep.rows_ok:,} rows imported, {rep.rows_rejected:,} rejected ({rejected}) "
                f"in {rep.seconds:.2f} s"
            )
    finally:
        con.close()
    t0 = time.perf_counter()
    index = build_index(store)  # resolve once now, so that every start maps it in milliseconds
    console.print(f"resolved index: {len(index):,} addresses in {time.perf_counter() - t0:.2f} s "
                  f"({index_path(store)})")
    console.print(f"store: {store}")


def _identity_table(ident: AircraftIdentity) -> Table:
    t = Table(title=f"{ident.icao24:06X}", show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value")
    reg = ident.registration or "-"
    if ident.registration_source == "derived":
        reg += " (derived from the address)"
    mil = "yes" if ident.military else "no"
    if ident.military_reason:
        mil += f" ({ident.military_reason})"
    rows = [
        ("registration", reg),
        ("type", " ".join(x for x in (ident.type_code, ident.type_description) if x) or "-"),
        ("description", ident.description or "-"),
        ("operator", ident.operator or "-"),
        ("country", f"{ident.country} ({ident.country_code})" if ident.country else "-"),
        ("military", mil),
        ("flags", f"dbFlags={ident.db_flags}"
                  + "".join(f" {n}" for n, v in (("interesting", ident.interesting),
                                                 ("PIA", ident.pia), ("LADD", ident.ladd)) if v)),
        ("watchlist", " / ".join(x for x in (ident.watch_class, *ident.categories) if x) or "-"),
        ("tags", ", ".join(ident.tags) or "-"),
        ("sources", ", ".join(ident.sources) or "-"),
        ("conflicts", ", ".join(ident.conflicts) or "-"),
    ]
    for k, v in rows:
        t.add_row(k, escape(v))
    return t


@db_app.command("lookup")
def lookup_cmd(
    query: Annotated[str, typer.Argument(help="ICAO address (6 hex digits) or registration")],
    db: _DbOption = None,
    opinions: Annotated[
        bool, typer.Option("--opinions", help="show every source's record")] = False,
) -> None:
    """Show what the store (and the address itself) says about an aircraft."""
    console = Console()
    store = db or default_store_path()
    ident = Identifier(store if store.exists() else None)
    address = parse_address(query)
    addresses = (address,) if address is not None else ident.addresses_for_registration(query)
    if not addresses:
        console.print(f"no aircraft known as {escape(query)}")
        raise typer.Exit(1)
    for a in addresses:
        console.print(_identity_table(ident.identify(a)))
        if opinions:
            for source, kind, rec in ident.opinions(a):
                console.print(f"  [bold]{escape(source)}[/bold] ({kind}): {escape(repr(rec))}")
