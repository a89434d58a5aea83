"""The local aircraft store (SQLite): import of registry, watchlist, type and operator files.

Every source keeps its own rows (primary key: address and source), so where two sources disagree
both opinions stay in the store; :mod:`overflight.identity.identifier` applies the precedence.
Re-importing a source replaces that source's rows. A bad row never stops an import: it is counted
by reason in the returned :class:`ImportReport` and in the ``sources`` table.

Default location: ``$OVERFLIGHT_HOME/aircraft.sqlite``, else ``$XDG_DATA_HOME/overflight/`` or
``~/.local/share/overflight/aircraft.sqlite``.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import os
import re
import sqlite3
import time
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
"""

_NON_ALNUM = re.compile(r"[^0-9A-Z]")


def registration_key(registration: str) -> str:
    """Registration for matching: upper case, letters and digits only (RA-86496 → RA86496)."""
    return _NON_ALNUM.sub("", registration.upper())


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


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


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
    first = next(csv.reader([text[: text.find("\n")] if "\n" in text else text]), [])
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


def _fast_rows(cols: dict[str, list[Any]], source: str) -> Iterator[tuple[Any, ...]]:
    regs = cols["registration"]
    keys = [registration_key(r) if r else None for r in regs]
    none = itertools.repeat(None)
    return zip(cols["icao24"], itertools.repeat(source), regs, keys, cols["type_code"],
               cols["description"], none, none, cols["military"], cols["interesting"],
               cols["pia"], cols["ladd"], none, none, none, none)


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
    text = _read_text(p)
    fmt = _detect(p, text)
    data: Any = None
    cols: dict[str, list[Any]] | None = None
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            rejects.rows += 1
            rejects.reject(f"invalid JSON ({exc.msg})", exc.lineno)
            data = {}
        fmt = _json_kind(data)
    name = source or _default_source(p, fmt)
    kind = source_kind(name)
    with con:
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
                fast = tar1090_csv_columns(text, rejects)
                if fast is not None:
                    cols, leftovers = fast
                    records = parse_tar1090_csv(
                        _csv_rows("\n".join(leftovers), rejects, ","), rejects, header=False)
                    records = _skip_known(records, set(cols["icao24"]), rejects)
                else:
                    records = parse_tar1090_csv(_csv_rows(text, rejects), rejects)
            if fmt == "tar1090-json" and prefix:  # one block file: replace its address range only
                lo = int(prefix.ljust(6, "0"), 16)
                hi = int(prefix.ljust(6, "F"), 16)
                con.execute("DELETE FROM aircraft WHERE source = ? AND icao24 BETWEEN ? AND ?",
                            (name, lo, hi))
            else:
                con.execute("DELETE FROM aircraft WHERE source = ?", (name,))
            insert = "INSERT OR REPLACE INTO aircraft VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            if cols:  # bulk: the registration index is rebuilt once, after the rows
                con.execute("DROP INDEX IF EXISTS aircraft_reg_key")
                con.executemany(insert, _fast_rows(cols, name))
            con.executemany(insert, _rows(records, name))
            con.execute("CREATE INDEX IF NOT EXISTS aircraft_reg_key ON aircraft(reg_key)")
        con.execute(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?,?,?,?)",
            (name, kind, fmt, str(p), time.time(), rejects.accepted, rejects.rejected,
             json.dumps(dict(rejects.by_reason))),
        )
    return ImportReport(name, kind, fmt, rejects.rows, rejects.accepted, dict(rejects.by_reason),
                        time.perf_counter() - t0)
