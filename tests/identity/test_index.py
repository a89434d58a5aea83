"""The memory-mapped resolved index against the store itself, and its invalidation by imports.

The reference resolves each address straight from its SQLite rows with the precedence rules of
:mod:`overflight.identity.identifier` written out again here, independently of the index build.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from overflight.identity import Identifier, ImportReport, import_file, open_store
from overflight.identity.identifier import AircraftIdentity
from overflight.identity.index import index_path
from overflight.identity.ranges import country_of, military_block_of
from overflight.identity.registration import derive_registration
from overflight.identity.registry import registration_key
from overflight.identity.store import store_generation

_COLS = ("icao24", "source", "registration", "type_code", "description", "operator", "year",
         "military", "interesting", "pia", "ladd", "watch_class", "category", "tags")
_ORDERS = {  # kind order per group of fields, from the identifier's docstring
    "identity": ("user", "registry", "watchlist"),
    "watch": ("user", "watchlist", "registry"),
    "programme": ("user", "registry", "watchlist"),
}


def _reference(
    address: int, rows: list[dict[str, Any]], kind: dict[str, str], stamp: dict[str, float],
    types: dict[str, tuple[str | None, str | None, str | None]],
) -> AircraftIdentity:
    """Identity of ``address`` resolved from its store rows (no index involved)."""
    block = country_of(address)
    mil_block = military_block_of(address) is not None

    def ordered(group: str) -> list[dict[str, Any]]:
        order = _ORDERS[group]
        return sorted(rows, key=lambda r: (order.index(kind.get(r["source"], "user")),
                                           -stamp.get(r["source"], 0.0)))

    def first(group: str, field: str) -> tuple[Any, dict[str, Any] | None]:
        for r in ordered(group):
            if r[field] is not None:
                return r[field], r
        return None, None

    reg = first("identity", "registration")[0]
    reg_source = "registry" if reg else None
    if reg is None:
        reg = derive_registration(address)
        reg_source = "derived" if reg else None
    type_code = first("identity", "type_code")[0]
    mil_value, mil_row = first("watch", "military")
    military = bool(mil_value)
    reason = kind.get(mil_row["source"], "user") if military and mil_row else None
    if not military and mil_block:
        military, reason = True, "address block"
    interesting = bool(first("watch", "interesting")[0])
    pia, ladd = bool(first("programme", "pia")[0]), bool(first("programme", "ladd")[0])
    operator = first("watch", "operator")[0]
    category = first("watch", "category")[0]
    tags = first("watch", "tags")[0]
    conflicts = tuple(
        f for f in ("registration", "type_code", "operator", "military")
        if len({registration_key(r[f]) if f == "registration" else r[f]
                for r in rows if r[f] is not None}) > 1)
    t = types.get(type_code) if type_code else None
    return AircraftIdentity(
        icao24=address, registration=reg, registration_source=reg_source,
        type_code=type_code, type_description=t[0] if t else None,
        description=first("identity", "description")[0], operator=operator,
        country=block.country if block else None,
        country_code=block.country_code or None if block else None,
        military=military, military_reason=reason, interesting=interesting, pia=pia, ladd=ladd,
        db_flags=int(military) | 2 * interesting | 4 * pia | 8 * ladd,
        categories=(category,) if category else (), tags=tuple(json.loads(tags)) if tags else (),
        sources=tuple(r["source"] for r in ordered("identity")) if rows else (),
        year=first("identity", "year")[0] or None, watch_class=first("watch", "watch_class")[0],
        type_class=t[1] if t else None, wtc=t[2] if t else None, conflicts=conflicts,
        operator_source="registry" if operator else None,
    )


def _store_rows(path: Path, addresses: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {a: [] for a in addresses}
    with sqlite3.connect(path) as con:
        for k in range(0, len(addresses), 500):
            chunk = addresses[k:k + 500]
            marks = ",".join("?" * len(chunk))
            for row in con.execute(f"SELECT {', '.join(_COLS)} FROM aircraft "
                                   f"WHERE icao24 IN ({marks})", chunk):
                out[row[0]].append(dict(zip(_COLS, row, strict=True)))
    return out


def test_index_equals_store_resolution(
    real_store: tuple[Path, dict[str, ImportReport]], identifier: Identifier
) -> None:
    path = real_store[0]
    with sqlite3.connect(path) as con:
        heavy = [r[0] for r in con.execute(
            "SELECT DISTINCT icao24 FROM aircraft WHERE type_code IN ('IL62', 'A124')")]
        sources = con.execute("SELECT name, kind, imported_at FROM sources").fetchall()
        types = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
            "SELECT designator, name, type_class, wtc FROM types")}
    assert len(heavy) >= 60  # every Il-62 and An-124 any source knows (66 in the real files)
    rng = np.random.default_rng(4)
    sample = identifier.addresses[rng.choice(len(identifier), 10_000, replace=False)]
    unknown = rng.integers(0, 1 << 24, 500)
    addresses = sorted({*heavy, *sample.tolist(), *unknown.tolist()})
    rows = _store_rows(path, addresses)
    kind = {n: k for n, k, _ in sources}
    stamp = {n: t for n, _, t in sources}
    cols = identifier.identify_many(np.array(addresses))
    for k, a in enumerate(addresses):
        want = _reference(a, rows[a], kind, stamp, types)
        got = identifier.identify(a)
        assert got == want, f"{a:06X}"
        assert (cols.registration[k], cols.registration_source[k], cols.type_code[k],
                cols.type_description[k], cols.operator[k], cols.country_code[k],
                bool(cols.military[k]), int(cols.db_flags[k]), bool(cols.known[k])) == (
            want.registration, want.registration_source, want.type_code, want.type_description,
            want.operator, want.country_code, want.military, want.db_flags, bool(rows[a]))
    # the aircraft, via the index
    assert identifier.identify(0x1551E0).registration == "RA-86496"
    assert identifier.identify(0x154073).type_code == "A124"


def test_index_file_is_reused_and_follows_imports(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    with gzip.open(shared("aircraft-db-tar1090/aircraft.csv.gz"), "rt", encoding="utf-8") as f:
        lines = [ln for k, ln in enumerate(f) if k == 0 or ln.startswith("15")]
    reg = tmp_path / "aircraft.csv"
    reg.write_text("".join(lines), encoding="utf-8")
    store = tmp_path / "s.sqlite"
    con = open_store(store)
    import_file(con, reg, source="tar1090-db")
    first = Identifier(store)
    assert first.identify(0x15405A).registration == "RA-82010"
    path = index_path(store)
    assert path.exists()
    built = path.stat().st_mtime_ns
    again = Identifier(store)  # current file: mapped, not rebuilt
    assert again.identify(0x15405A).military and path.stat().st_mtime_ns == built
    assert again.index.generation == store_generation(con)

    user = tmp_path / "mine.csv"
    user.write_text("icao24,registration,type_code,flags,description\n"
                    "15405A,RA-82010,A124,0000,my note\n", encoding="utf-8")
    import_file(con, user, source="my-notes")  # new generation: the file is stale
    assert first.identify(0x15405A).description != "my note"  # a snapshot until refreshed
    assert first.refresh() and not first.refresh()
    for ident in (first, Identifier(store)):
        i = ident.identify(0x15405A)
        assert (i.description, i.military, i.sources[0]) == ("my note", False, "my-notes")
    assert "military" in first.identify(0x15405A).conflicts
    assert path.stat().st_mtime_ns != built

    path.write_bytes(b"not an arrow file")  # a damaged index is rebuilt, never trusted
    assert Identifier(store).identify(0x15405A).description == "my note"
    assert Identifier(store).index.generation == store_generation(con)


def test_unwritable_index_stays_in_memory(shared: Callable[[str], Path], tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    import_file(open_store(store), shared("aircraft-plane-alert-db/plane-alert-db.csv"))
    index_path(store).mkdir()  # something else in the way: the index cannot be written
    ident = Identifier(store)
    assert ident.identify(0x1551E0).operator == "Russian Air Force"
    assert index_path(store).is_dir()
