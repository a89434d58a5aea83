"""``overflight db``: import aircraft databases into the local store, look aircraft up, and say
where the store and the kernel cache are (``db path``, ``db path --remove``).

Exit status (the rule of :mod:`overflight.cli.app`): a file cut short (truncated gzip) is
imported up to the cut with a warning (0); a file of which nothing could be imported is an error
(1); a missing file or a bad ``--db`` is a usage error (2).
"""

from __future__ import annotations

import contextlib
import csv
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from overflight.cli.app import (
    READ_ERRORS,
    Column,
    app,
    describe_read_error,
    input_path,
    print_table,
    progress,
    shown,
    untrusted,
)

if TYPE_CHECKING:
    from overflight.identity.identifier import AircraftIdentity, Identifier
    from overflight.identity.registry import RegistryRecord

__all__ = ["db_app", "open_identifier"]

db_app = typer.Typer(help="The local aircraft store: import registries and watchlists, look up, "
                     "where it is.", no_args_is_help=True)
app.add_typer(db_app, name="db")

_DbOption = Annotated[Path | None, typer.Option("--db", help="store file (default: user data dir)")]
_NO_REGISTRY = "unknown (no registry imported; run `overflight db import`)"


def open_identifier(store: Path) -> Identifier:
    """An :class:`Identifier` on the store at ``store`` (``--db``), checked now: a usage error
    when it is a directory or not an Overflight store. No store there: identities come from the
    address alone (country, military block, derived registration), and a note says so."""
    from overflight.identity.identifier import Identifier

    if not store.exists():
        typer.echo(f"note: no aircraft store at {shown(store)}; identities from the address only",
                   err=True)
        return Identifier(None)
    input_path(store, "--db", stdin=False)
    ident = Identifier(store)
    try:
        _ = ident.index  # maps (or builds) the resolved index: fails here on a bad file
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise typer.BadParameter(
            f"{shown(store)}: not an Overflight aircraft store ({shown(exc)})", param_hint="--db"
        ) from None
    return ident


def _default_identifier() -> Identifier:
    from overflight.identity.identifier import Identifier
    from overflight.identity.store import default_store_path

    store = default_store_path()
    return open_identifier(store) if store.exists() else Identifier(None)


def _import_errors() -> tuple[type[BaseException], ...]:
    return (*READ_ERRORS, csv.Error, UnicodeError, ValueError)


def _store_files(store: Path) -> list[Path]:
    """The files of the store at ``store``: the SQLite file, its WAL and shared memory, the
    resolved index beside it (those that exist)."""
    from overflight.identity.index import index_path

    names = [store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm"),
             index_path(store)]
    return [p for p in names if p.is_file()]


def _size(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += p.stat().st_size if p.is_file() else sum(
                q.stat().st_size for q in p.rglob("*") if q.is_file())
    return total


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


@db_app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="tar1090-db / Mictronics / plane-alert-db "
                                                "file(s), icao_aircraft_types*.json, "
                                                "operators.json", show_default=False)],
    source: Annotated[str | None, typer.Option(
        "--source", help="source name; any name but tar1090*/plane-alert* is a user source, "
        "which wins over both")] = None,
    db: _DbOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress display on a terminal")
    ] = False,
) -> None:
    """Import files into the store (a bad row is counted and skipped, never fatal).

    A file that breaks while it is read (truncated or corrupt gzip) is imported up to the break
    and merged, with a warning: the source's other rows are kept. A file of which nothing could
    be imported is an error; the other files are imported as usual and the exit status is 1.
    The store is created on first use (about 100 MB with the full tar1090-db); 'overflight db
    path' says where, 'overflight db path --remove' deletes it."""
    from rich.console import Console

    from overflight.identity.index import build_index, index_path
    from overflight.identity.store import (
        KIND_REGISTRY,
        KIND_USER,
        KIND_WATCHLIST,
        default_store_path,
        import_file,
        open_store,
    )

    row_kinds = (KIND_REGISTRY, KIND_WATCHLIST, KIND_USER)  # kinds whose import replaces a source
    console = Console()
    for path in paths:
        input_path(path, "PATHS...", stdin=False)
    store = db or default_store_path()
    if store.is_dir():
        raise typer.BadParameter(f"{shown(store)}: is a directory, not a file", param_hint="--db")
    if not store.exists():
        typer.echo(f"creating the aircraft store at {shown(store)} ('overflight db path "
                   "--remove' deletes it)", err=True)
    try:
        con = open_store(store)
    except (sqlite3.Error, OSError) as exc:
        raise typer.BadParameter(
            f"{shown(store)}: cannot open as an aircraft store ({shown(exc)})", param_hint="--db"
        ) from None
    failed = 0
    errors = _import_errors()
    try:
        with progress("importing", total=len(paths) + 1, unit="files", quiet=quiet) as step:
            for path in paths:
                step(0, description=f"importing {path.name}")
                try:
                    rep = import_file(con, path, source)
                except errors as exc:  # the file's transaction is rolled back
                    failed += 1
                    reason = describe_read_error(exc) if isinstance(exc, READ_ERRORS) else str(exc)
                    typer.echo(f"error: {shown(path)}: not imported: {shown(reason)}", err=True)
                    step()
                    continue
                step()
                rejected = ", ".join(f"{k}: {v}" for k, v in sorted(rep.rejected.items())) or "none"
                console.print(untrusted(
                    f"{rep.source} ({rep.kind}, {rep.format}) from {path}: "
                    f"{rep.rows_ok:,} rows imported, {rep.rows_rejected:,} rejected ({rejected}) "
                    f"in {rep.seconds:.2f} s"
                    + ("; the source's previous rows kept" if rep.merged and rep.kind in row_kinds
                       else "")
                ), soft_wrap=True)
                if rep.broken:
                    if rep.rows_ok:  # the exit rule: what was read is used, with a warning
                        typer.echo(f"warning: {shown(path)}: the input ends early: "
                                   f"{shown(rep.broken)} (the {rep.rows_ok:,} good rows before "
                                   "it were imported)", err=True)
                    else:
                        failed += 1
                        typer.echo(f"error: {shown(path)}: {shown(rep.broken)} (nothing before "
                                   "it could be imported)", err=True)
            step(0, description="resolving the index")
            t0 = time.perf_counter()
            index = build_index(store)  # resolve once now: every start maps it in milliseconds
            step()
    finally:
        con.close()
    typer.echo(f"resolved index: {len(index):,} addresses in {time.perf_counter() - t0:.2f} s "
               f"({shown(index_path(store))})")
    typer.echo(f"store: {shown(store)} ({_mb(_size(_store_files(store)))})")
    if failed:
        raise typer.Exit(1)


def _has_registry(ident: Identifier) -> bool:
    """Whether the store has a registry or user source (one that says civil or military)."""
    if ident.store is None or not ident.store.exists():
        return False
    from overflight.identity.store import KIND_REGISTRY, KIND_USER

    try:
        con = sqlite3.connect(f"file:{ident.store}?mode=ro", uri=True)
        try:
            kinds = {k for (k,) in con.execute("SELECT kind FROM sources WHERE rows_ok > 0")}
        finally:
            con.close()
    except sqlite3.Error:
        return True  # an older store layout: it was imported into, say what it says
    return bool(kinds & {KIND_REGISTRY, KIND_USER})


def _military(ident: AircraftIdentity, registry: bool) -> str:
    from overflight.identity.ranges import military_block_of

    block = military_block_of(ident.icao24)
    if ident.military:
        why = ident.military_reason or "?"
        if why == "address block" and block is not None:
            why = f"address block {block.start:06X}-{block.end:06X}, {block.label} (readsb's " \
                  "military ranges)"
        return f"yes ({why})"
    if not registry:
        return _NO_REGISTRY
    if not ident.sources:
        return "unknown (in none of the imported sources)"
    return f"no ({', '.join(ident.sources)})"


def _identity_rows(ident: AircraftIdentity, registry: bool) -> list[tuple[str, str]]:
    reg = ident.registration or "-"
    if ident.registration_source == "derived":
        reg += " (derived from the address)"
    return [
        ("address", f"{ident.icao24:06X}"),
        ("registration", reg),
        ("type", " ".join(x for x in (ident.type_code, ident.type_description) if x) or "-"),
        ("description", ident.description or "-"),
        ("operator", ident.operator or "-"),
        ("country", f"{ident.country} ({ident.country_code})" if ident.country else "-"),
        ("military", _military(ident, registry)),
        ("flags", f"dbFlags={ident.db_flags}"
                  + "".join(f" {n}" for n, v in (("interesting", ident.interesting),
                                                 ("PIA", ident.pia), ("LADD", ident.ladd)) if v)),
        ("watchlist", " / ".join(x for x in (ident.watch_class, *ident.categories) if x) or "-"),
        ("tags", ", ".join(ident.tags) or "-"),
        ("sources", ", ".join(ident.sources) or "-"),
        ("conflicts", ", ".join(ident.conflicts) or "-"),
    ]


_OPINION_FIELDS = ("registration", "type_code", "description", "operator", "year", "military",
                   "interesting", "pia", "ladd", "watch_class", "category", "tags", "link")


def _opinion_value(rec: RegistryRecord, field: str) -> str:
    v = getattr(rec, field)
    if v is None or v == ():
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, tuple):
        return ", ".join(map(str, v))
    return str(v)


@db_app.command("lookup")
def lookup_cmd(
    query: Annotated[str, typer.Argument(help="ICAO address (6 hex digits) or registration")],
    db: _DbOption = None,
    opinions: Annotated[
        bool, typer.Option("--opinions", help="show every source's record, side by side")
    ] = False,
) -> None:
    """Show what the store (and the address itself) says about an aircraft.

    Without an imported registry, 'military' is unknown unless the address is in one of
    readsb's military blocks (which is said, with the block)."""
    from overflight.identity.registry import parse_address

    ident = open_identifier(db) if db is not None else _default_identifier()
    registry = _has_registry(ident)
    address = parse_address(query)
    addresses = (address,) if address is not None else ident.addresses_for_registration(query)
    if not addresses:
        typer.echo(f"no aircraft known as {shown(repr(query))}", err=True)
        raise typer.Exit(1)
    for a in addresses:
        print_table((Column("field"), Column("value")), _identity_rows(ident.identify(a), registry))
        if opinions:
            ops = ident.opinions(a)
            if not ops:
                typer.echo(f"no source has a record for {a:06X}", err=True)
                continue
            columns = [Column("field"), *(Column(f"{s} ({k})") for s, k, _ in ops)]
            rows = [(f, *(_opinion_value(rec, f) for _, _, rec in ops)) for f in _OPINION_FIELDS]
            print_table(columns, [r for r in rows if any(r[1:])],
                        title=f"{a:06X}: every source's record")


@db_app.command("path")
def path_cmd(
    db: _DbOption = None,
    remove: Annotated[bool, typer.Option(
        "--remove", help="delete the aircraft store (and its index) and the kernel cache")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="with --remove: do not ask")] = False,
) -> None:
    """Where Overflight keeps its files (aircraft store, kernel cache) and their sizes.

    The aircraft store is written by 'db import' (about 100 MB with the full tar1090-db), the
    compiled-kernel cache on the first run of a command that tracks, finds flights or
    multilaterates.

    --remove deletes both (asking first unless --yes); they are rebuilt when needed: the store
    by 'overflight db import', the cache by the next run. Other files beside the store (a
    history database) are kept."""
    import shutil

    from overflight._numba_cache import cache_dir
    from overflight.identity.store import default_store_path

    store = db or default_store_path()
    files = _store_files(store)
    cache = cache_dir().parent.parent  # <cache home>/overflight: every source version's kernels
    typer.echo(f"store: {shown(store)} ({_mb(_size(files)) if files else 'not created yet'})")
    typer.echo(f"cache: {shown(cache)} ({_mb(_size([cache])) if cache.is_dir() else 'empty'})")
    if not remove:
        return
    doomed = [*files, *([cache] if cache.is_dir() else [])]
    if not doomed:
        typer.echo("nothing to remove")
        return
    if not yes and not typer.confirm(
        "remove " + ", ".join(shown(p) for p in doomed) + "?", default=False, err=True
    ):
        typer.echo("nothing removed", err=True)
        raise typer.Exit(1)
    for p in doomed:
        try:
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError as exc:
            typer.echo(f"error: {shown(p)}: cannot remove ({shown(exc.strerror or exc)})",
                       err=True)
            raise typer.Exit(1) from None
        typer.echo(f"removed {shown(p)}")
