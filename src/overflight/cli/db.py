"""``overflight db``: import aircraft databases into the local store and look aircraft up."""

from __future__ import annotations

import csv
import sqlite3
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from overflight.cli.app import READ_ERRORS, app, describe_read_error, input_path, untrusted
from overflight.identity.identifier import AircraftIdentity, Identifier
from overflight.identity.index import build_index, index_path
from overflight.identity.registry import parse_address
from overflight.identity.store import (
    KIND_REGISTRY,
    KIND_USER,
    KIND_WATCHLIST,
    default_store_path,
    import_file,
    open_store,
)

__all__ = ["db_app", "open_identifier"]

db_app = typer.Typer(help="The local aircraft store: import registries and watchlists, look up.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

_DbOption = Annotated[Path | None, typer.Option("--db", help="store file (default: user data dir)")]


def open_identifier(store: Path) -> Identifier:
    """An :class:`Identifier` on the store at ``store`` (``--db``), checked now: a usage error
    when it is a directory or not an Overflight store. No store there: identities come from the
    address alone (country, military block, derived registration), and a note says so."""
    if not store.exists():
        typer.echo(f"note: no aircraft store at {store}; identities from the address only",
                   err=True)
        return Identifier(None)
    input_path(store, "--db", stdin=False)
    ident = Identifier(store)
    try:
        _ = ident.index  # maps (or builds) the resolved index: fails here on a bad file
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise typer.BadParameter(
            f"{store}: not an Overflight aircraft store ({exc})", param_hint="--db"
        ) from None
    return ident


def _default_identifier() -> Identifier:
    store = default_store_path()
    return open_identifier(store) if store.exists() else Identifier(None)


_IMPORT_ERRORS: tuple[type[BaseException], ...] = (
    *READ_ERRORS, csv.Error, UnicodeError, ValueError,
)
_ROW_KINDS = (KIND_REGISTRY, KIND_WATCHLIST, KIND_USER)  # kinds whose import replaces a source


@db_app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="tar1090-db / Mictronics / plane-alert-db "
                                                "file(s), icao_aircraft_types*.json, "
                                                "operators.json", show_default=False)],
    source: Annotated[str | None, typer.Option(
        "--source", help="source name; any name but tar1090*/plane-alert* is a user source, "
        "which wins over both")] = None,
    db: _DbOption = None,
) -> None:
    """Import files into the store (a bad row is counted and skipped, never fatal).

    A file that breaks while it is read (truncated or corrupt gzip) is imported up to the break
    and merged: the source's other rows are kept. So is a file without a single good row. The
    other files are imported as usual; the exit status is then 1."""
    console = Console()
    for path in paths:
        input_path(path, "PATHS...", stdin=False)
    store = db or default_store_path()
    if store.is_dir():
        raise typer.BadParameter(f"{store}: is a directory, not a file", param_hint="--db")
    try:
        con = open_store(store)
    except (sqlite3.Error, OSError) as exc:
        raise typer.BadParameter(
            f"{store}: cannot open as an aircraft store ({exc})", param_hint="--db"
        ) from None
    failed = 0
    try:
        for path in paths:
            try:
                rep = import_file(con, path, source)
            except _IMPORT_ERRORS as exc:  # the file's transaction is rolled back
                failed += 1
                reason = describe_read_error(exc) if isinstance(exc, READ_ERRORS) else str(exc)
                typer.echo(f"error: {path}: not imported: {reason}", err=True)
                continue
            rejected = ", ".join(f"{k}: {v}" for k, v in sorted(rep.rejected.items())) or "none"
            console.print(untrusted(
                f"{rep.source} ({rep.kind}, {rep.format}) from {path}: "
                f"{rep.rows_ok:,} rows imported, {rep.rows_rejected:,} rejected ({rejected}) "
                f"in {rep.seconds:.2f} s"
                + ("; the source's previous rows kept" if rep.merged and rep.kind in _ROW_KINDS
                   else "")
            ), soft_wrap=True)
            if rep.broken:
                failed += 1
                kept = f"the {rep.rows_ok:,} good rows before it were imported" if rep.rows_ok \
                    else "nothing before it could be imported"
                typer.echo(f"error: {path}: {rep.broken} ({kept})", err=True)
    finally:
        con.close()
    t0 = time.perf_counter()
    index = build_index(store)  # resolve once now, so that every start maps it in milliseconds
    console.print(f"resolved index: {len(index):,} addresses in {time.perf_counter() - t0:.2f} s "
                  f"({index_path(store)})", markup=False)
    console.print(f"store: {store}", markup=False)
    if failed:
        raise typer.Exit(1)


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
        t.add_row(k, untrusted(v))
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
    ident = open_identifier(db) if db is not None else _default_identifier()
    address = parse_address(query)
    addresses = (address,) if address is not None else ident.addresses_for_registration(query)
    if not addresses:
        console.print(untrusted(f"no aircraft known as {query!r}"))
        raise typer.Exit(1)
    for a in addresses:
        console.print(_identity_table(ident.identify(a)))
        if opinions:
            for source, kind, rec in ident.opinions(a):
                console.print(untrusted(f"  {source} ({kind}): {rec!r}"))
