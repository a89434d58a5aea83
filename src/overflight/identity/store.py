"""The local aircraft store (SQLite): import of registry, watchlist, type and operator files.

Every source keeps its own rows (primary key: address and source), so where two sources disagree
both opinions stay in the store; :mod:`overflight.identity.identifier` applies the precedence.
Re-importing a source replaces that source's rows. A bad row never stops an import: it is counted
by reason in the returned :class:`ImportReport` and in the ``sources`` table. A file that breaks
while it is read (a truncated or corrupt gzip) is imported up to the break, its cut last line
counted as rejected; a broken file, or one without a single good row, never replaces a source:
its rows are merged into the source's existing rows, which are kept (:attr:`ImportReport.merged`).

Every import renews the store's generation stamp (:func:`store_generation`), which marks the
resolved index beside the store (:mod:`overflight.identity.index`) stale. Bulk imports run as one
WAL transaction with ``synchronous=OFF`` and multi-row INSERTs, then a checkpoint makes them
durable.

Default location: ``$OVERFLIGHT_HOME/aircraft.sqlite``, else ``$XDG_DATA_HOME/overflight/`` or
``~/.local/share/overflight/aircraft.sqlite``.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overflight.identity.operators import parse_aircraft_types, parse_operators
from overflight.identity.registry import (
    RegistryRecord,
    Rejects,
    parse_tar1090_csv,
    parse_tar1090_json,
    registration_key,
    tar1090_csv_columns,
)
from overflight.identity.watchlist import is_plane_alert_header, parse_plane_alert

__all__ = [
    "KIND_REGISTRY",
    "KIND_USER",
    "KIND_WATCHLIST",
    "ImportReport",
    "default_store_path",
    "import_file",
    "open_store",
    "registration_key",
    "source_kind",
    "store_generation",
]

KIND_REGISTRY = "registry"  # tar1090-db / Mictronics
KIND_WATCHLIST = "watchlist"  # plane-alert-db
KIND_USER = "user"  # any other named source: wins over both

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources(
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, format TEXT NOT NULL, path TEXT,
    imported_at REAL NOT NULL, rows_ok INTEGER NOT NULL, rows_rejected INTEGER NOT NULL,
    rejects TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aircraft(
    icao24 INTEGER NOT NULL, source TEXT NOT NULL, registration TEXT, reg_key TEXT,
    type_code TEXT, description TEXT, operator TEXT, year INTEGER,
    military INTEGER, interesting INTEGER, pia INTEGER, ladd INTEGER,
    watch_class TEXT, category TEXT, tags TEXT, link TEXT,
    PRIMARY KEY(icao24, source)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aircraft_reg_key ON aircraft(reg_key);
CREATE TABLE IF NOT EXISTS types(
    designator TEXT PRIMARY KEY, name TEXT, type_class TEXT, wtc TEXT);
CREATE TABLE IF NOT EXISTS operators(
    designator TEXT PRIMARY KEY, name TEXT, country TEXT, telephony TEXT);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_BULK_ROWS = 128  # rows per multi-row INSERT (7 + 6 x 128 parameters, under SQLite's old 999)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import did."""

    source: str
    kind: str
    format: str
    rows_read: int
    rows_ok: int
    rejected: dict[str, int]
    seconds: float
    broken: str = ""
    """Why reading stopped early (truncated or corrupt gzip); "" when the file was read whole."""
    merged: bool = False
    """True when the source's previous rows were kept instead of replaced (a broken file, or a
    registry or watchlist file without a single good row)."""

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


def default_store_path() -> Path:
    """Where the store lives unless ``--db`` says otherwise."""
    home = os.environ.get("OVERFLIGHT_HOME")
    if home:
        return Path(home) / "aircraft.sqlite"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "overflight" / "aircraft.sqlite"


def open_store(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) the store at ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(p)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.executescript(_SCHEMA)
    return con


def store_generation(con: sqlite3.Connection) -> str:
    """Stamp of the store's content: a new random value at every import ("" before any)."""
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    except sqlite3.OperationalError:  # a store written before the stamp existed
        return ""
    return str(row[0]) if row else ""


def _read_input(path: Path) -> tuple[bytes, str]:
    """The file's bytes (un-gzipped, every member, streamed in chunks) and why reading stopped
    early ("" when it did not): a broken gzip gives every byte before its fault."""
    # here, not at the top: importing ``overflight.sources`` loads the decoders (lookups need none)
    from overflight.sources.gzipread import describe_fault, read_prefix

    data, fault = read_prefix(path)
    return data, "" if fault is None else describe_fault(fault)


def _read_bytes(path: Path) -> bytes:
    return _read_input(path)[0]


def _read_text(path: Path) -> str:
    return _read_bytes(path).decode("utf-8", errors="replace")


def _csv_rows(text: str, rejects: Rejects, delim: str | None = None) -> Iterator[list[str]]:
    """CSV rows (``,`` or ``;``), one per line: a stray quote cannot swallow the following rows."""
    if delim is None:
        first = text[: text.find("\n")] if "\n" in text else text
        delim = ";" if first.count(";") > first.count(",") else ","
    for n, line in enumerate(text.splitlines(), start=1):
        try:
            yield next(csv.reader([line], delimiter=delim), [])
        except csv.Error:
            rejects.rows += 1
            rejects.reject("malformed CSV", n)


def _detect(path: Path, text: str) -> str:
    """File format: tar1090-csv, plane-alert-csv, tar1090-json, types-json, operators-json."""
    head = text.lstrip()[:1]
    if head == "{":
        return "json"
    try:
        first = next(csv.reader([text[: text.find("\n")] if "\n" in text else text]), [])
    except csv.Error:  # e.g. a bare carriage return: not a header of ours
        return "tar1090-csv"
    if is_plane_alert_header(first):
        return "plane-alert-csv"
    return "tar1090-csv"


def _json_kind(data: Any) -> str:
    if not isinstance(data, dict):
        return "tar1090-json"
    for key, value in data.items():
        if key == "children":
            continue
        if isinstance(value, dict) and "n" in value and len(key) == 3:
            return "operators-json"
        if isinstance(value, dict) and ("wtc" in value or "desc" in value) and "r" not in value:
            return "types-json"
        if (isinstance(value, list) and len(value) == 3 and isinstance(value[1], str)
                and re.fullmatch(r"[A-Z-][0-9C][A-Z-]", value[1] or "")):
            return "types-json"
        return "tar1090-json"
    return "tar1090-json"


def _default_source(path: Path, fmt: str) -> str:
    if fmt in ("tar1090-csv", "tar1090-json"):
        return "tar1090-db"
    stem = path.name.split(".")[0]
    if fmt == "plane-alert-csv":
        return stem if stem.startswith("plane-alert") else "plane-alert-db"
    return stem


def source_kind(name: str) -> str:
    """Kind of a source by its name: tar1090*/plane-alert* are the public databases, else user."""
    if name.startswith("tar1090"):
        return KIND_REGISTRY
    if name.startswith("plane-alert"):
        return KIND_WATCHLIST
    return KIND_USER


def _bulk_insert(con: sqlite3.Connection, cols: dict[str, list[Any]], source: str) -> None:
    """Insert the fast parser's columns, ``_BULK_ROWS`` rows per statement (flags split in SQL)."""
    rows = list(zip(cols["icao24"], cols["registration"], cols["reg_key"], cols["type_code"],
                    cols["description"], cols["flags"], strict=True))

    def statement(n: int) -> str:
        values = ",".join(["(?,?,?,?,?,?)"] * n)
        return ("INSERT OR REPLACE INTO aircraft(icao24, source, registration, reg_key, type_code, "
                "description, military, interesting, pia, ladd) SELECT column1, ?, column2, "
                "column3, column4, column5, column6 & 1, (column6 >> 1) & 1, (column6 >> 2) & 1, "
                f"(column6 >> 3) & 1 FROM (VALUES {values})")

    full = len(rows) - len(rows) % _BULK_ROWS
    chain = itertools.chain.from_iterable
    con.executemany(statement(_BULK_ROWS), ((source, *chain(rows[i:i + _BULK_ROWS]))
                                            for i in range(0, full, _BULK_ROWS)))
    if full < len(rows):
        con.execute(statement(len(rows) - full), (source, *chain(rows[full:])))


def _skip_known(
    records: Iterable[RegistryRecord], known: set[int], rejects: Rejects
) -> Iterator[RegistryRecord]:
    for r in records:
        if r.icao24 in known:
            rejects.reject("duplicate address", 0)
        else:
            yield r


def _rows(records: Iterable[RegistryRecord], source: str) -> Iterator[tuple[object, ...]]:
    def b(v: bool | None) -> int | None:
        return None if v is None else int(v)

    for r in records:
        yield (
            r.icao24, source, r.registration,
            registration_key(r.registration) if r.registration else None,
            r.type_code, r.description, r.operator, r.year,
            b(r.military), b(r.interesting), b(r.pia), b(r.ladd),
            r.watch_class, r.category, json.dumps(list(r.tags)) if r.tags else None, r.link,
        )


@contextlib.contextmanager
def _bulk_load(con: sqlite3.Connection) -> Iterator[None]:
    """One import: no fsync and a large page cache meanwhile, then made durable.

    The import is one transaction (WAL journal); ``synchronous=OFF`` skips the syncs while it
    runs, then the previous setting is restored and a checkpoint syncs the WAL and the database.
    """
    sync = con.execute("PRAGMA synchronous").fetchone()[0]
    cache = con.execute("PRAGMA cache_size").fetchone()[0]
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-131072")  # 128 MiB
    try:
        yield
    finally:
        con.execute(f"PRAGMA synchronous={int(sync)}")
        con.execute(f"PRAGMA cache_size={int(cache)}")
        if not con.in_transaction:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def import_file(
    con: sqlite3.Connection, path: Path | str, source: str | None = None, *, pia: bool | None = None
) -> ImportReport:
    """Import one file into the store; its format is detected from its content.

    ``source`` names the source (default: ``tar1090-db`` / ``plane-alert-db`` by format, the file
    stem for type and operator files). Any name other than those two is a user source, which wins
    over both. ``pia`` marks a plane-alert file as the PIA list (default: file name contains "pia").
    """
    t0 = time.perf_counter()
    p = Path(path)
    rejects = Rejects()
    raw, broken = _read_input(p)  # decoded to text only where a parser needs text
    if broken and raw and not raw.endswith(b"\n"):  # the cut last line: never half a row
        cut = raw.rfind(b"\n") + 1
        if raw[cut:].strip():
            rejects.rows += 1
            rejects.reject("cut by the broken input", raw.count(b"\n") + 1)
        raw = raw[:cut]
    fmt = _detect(p, raw[:65536].decode("utf-8", errors="replace"))
    text = "" if fmt == "tar1090-csv" else raw.decode("utf-8", errors="replace")
    data: Any = None
    cols: dict[str, list[Any]] | None = None
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.rows += 1
            rejects.reject(f"invalid JSON ({exc.msg})", exc.lineno)
            data = {}
        except RecursionError:
            rejects.rows += 1
            rejects.reject("invalid JSON (nested too deeply)", 1)
            data = {}
        fmt = _json_kind(data)
    name = source or _default_source(p, fmt)
    kind = source_kind(name)
    merged = False
    with _bulk_load(con), con:
        if fmt == "operators-json":
            ops = list(parse_operators(data, rejects))
            con.executemany(
                "INSERT OR REPLACE INTO operators VALUES (?,?,?,?)",
                [(o.designator, o.name, o.country, o.telephony) for o in ops],
            )
            kind = "operators"
        elif fmt == "types-json":
            types = list(parse_aircraft_types(data, rejects))
            con.executemany(
                "INSERT INTO types VALUES (?,?,?,?) ON CONFLICT(designator) DO UPDATE SET "
                "name=coalesce(excluded.name, name), type_class=coalesce(excluded.type_class, "
                "type_class), wtc=coalesce(excluded.wtc, wtc)",
                [(t.designator, t.name, t.type_class, t.wtc) for t in types],
            )
            kind = "types"
        else:
            prefix = ""
            if fmt == "tar1090-json":
                stem = p.name.split(".")[0].upper()
                prefix = stem if re.fullmatch(r"[0-9A-F]{1,5}", stem) else ""
                records: Iterable[RegistryRecord] = parse_tar1090_json(
                    data if isinstance(data, dict) else {}, prefix, rejects)
            elif fmt == "plane-alert-csv":
                is_pia = pia if pia is not None else "pia" in p.name.lower()
                records = parse_plane_alert(_csv_rows(text, rejects), rejects, pia=is_pia)
            else:
                fast = tar1090_csv_columns(raw, rejects)
                if fast is not None:
                    cols, leftovers = fast
                    records = parse_tar1090_csv(
                        _csv_rows("\n".join(leftovers), rejects, ","), rejects, header=False)
                    records = _skip_known(records, set(cols["icao24"]), rejects)
                else:
                    text = raw.decode("utf-8", errors="replace")
                    records = parse_tar1090_csv(_csv_rows(text, rejects), rejects)
            first = next(iter(records), None)  # parsed now: is there one good row to replace by?
            if first is not None:
                records = itertools.chain((first,), records)
            # a broken file or one without a good row is merged over the source's rows, kept
            merged = bool(broken) or (first is None and not (cols and cols["icao24"]))
            if merged:
                pass
            elif fmt == "tar1090-json" and prefix:  # one block file: replace its range only
                lo = int(prefix.ljust(6, "0"), 16)
                hi = int(prefix.ljust(6, "F"), 16)
                con.execute("DELETE FROM aircraft WHERE source = ? AND icao24 BETWEEN ? AND ?",
                            (name, lo, hi))
            else:
                con.execute("DELETE FROM aircraft WHERE source = ?", (name,))
            insert = "INSERT OR REPLACE INTO aircraft VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            if cols:  # bulk: the registration index is rebuilt once, after the rows
                con.execute("DROP INDEX IF EXISTS aircraft_reg_key")
                _bulk_insert(con, cols, name)
            con.executemany(insert, _rows(records, name))
            con.execute("CREATE INDEX IF NOT EXISTS aircraft_reg_key ON aircraft(reg_key)")
        con.execute(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?,?,?,?)",
            (name, kind, fmt, str(p), time.time(), rejects.accepted, rejects.rejected,
             json.dumps(dict(rejects.by_reason))),
        )
        con.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (uuid.uuid4().hex,))
    return ImportReport(name, kind, fmt, rejects.rows, rejects.accepted, dict(rejects.by_reason),
                        time.perf_counter() - t0, broken, merged)
