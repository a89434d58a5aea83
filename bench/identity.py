"""Benchmark: store import, Identifier start-up and identity lookups, beside peer approaches.

Builds a store from the real tar1090-db and plane-alert-db files, then prints three tables
(all figures measured in this run, on this machine):

* import of tar1090-db (619k rows) beside a plain row-per-statement ``executemany`` of the
  same parsed rows with default pragmas (how the store was filled before);
* start-up: ``Identifier`` open + first lookup with the memory-mapped resolved index, beside
  resolving the store from SQLite at start (what every start cost before the index file);
* lookups of real addresses (75% known): ``identify_many`` and ``identify`` (cold: cache cleared
  before each run; warm: repeated addresses, the live path) beside one SQLite primary-key query
  per address and a pandas merge of the batch against the registry table.

Run: ``python bench/identity.py``.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import Row, best_rate, print_table
from overflight.datapaths import shared_file
from overflight.identity import Identifier, import_file, open_store
from overflight.identity.index import build_index
from overflight.identity.registry import Rejects, tar1090_csv_columns
from overflight.identity.store import _read_text


def _naive_import(reg_file: Path, tmp: Path) -> float:
    """Seconds for the pre-index way: one INSERT per row (16 parameters), default pragmas."""
    cols, _ = tar1090_csv_columns(_read_text(reg_file), Rejects()) or ({}, [])
    con = open_store(tmp / "naive.sqlite")
    fl = cols["flags"]
    rows = zip(cols["icao24"], ["tar1090-db"] * len(fl), cols["registration"], cols["reg_key"],
               cols["type_code"], cols["description"], [None] * len(fl), [None] * len(fl),
               [f & 1 for f in fl], [f >> 1 & 1 for f in fl], [f >> 2 & 1 for f in fl],
               [f >> 3 & 1 for f in fl], *([[None] * len(fl)] * 4), strict=True)
    t0 = time.perf_counter()
    with con:
        con.executemany("INSERT OR REPLACE INTO aircraft VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        rows)
    seconds = time.perf_counter() - t0
    con.close()
    return seconds


def main() -> None:
    reg_file = shared_file("aircraft-db-tar1090/aircraft.csv.gz")
    watch_file = shared_file("aircraft-plane-alert-db/plane-alert-db.csv")
    types_file = shared_file("aircraft-db-tar1090/icao_aircraft_types2.json")
    ops_file = shared_file("aircraft-db-tar1090/operators.json")
    if reg_file is None or watch_file is None or types_file is None or ops_file is None:
        print("shared data not found (set OVERFLIGHT_SHARED_DATA)")
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store = tmp / "aircraft.sqlite"
        con = open_store(store)
        rep = import_file(con, reg_file)
        for f in (watch_file, types_file, ops_file):
            import_file(con, f)
        con.close()
        n_rows = rep.rows_ok
        print_table("Import tar1090-db (parse + insert + index + durable commit)", [
            Row("import_file", n_rows, rep.seconds, "bulk pragmas, multi-row INSERT"),
            Row("peer: executemany row by row", n_rows, _naive_import(reg_file, tmp),
                "insert only, default pragmas"),
        ], unit="rows/s")

        t0 = time.perf_counter()
        build_index(store)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ident = Identifier(store)
        ident.identify(0x1551E0)
        open_s = time.perf_counter() - t0
        n_addr = len(ident)
        t0 = time.perf_counter()
        build_index(store, write=False)
        resolve_s = time.perf_counter() - t0
        print_table(f"Identifier start-up ({n_addr:,} resolved addresses)", [
            Row("open mapped index + first lookup", n_addr, open_s, "index file current"),
            Row("build index (after an import)", n_addr, build_s, "resolve + write file"),
            Row("peer: resolve the store at start", n_addr, resolve_s,
                "start-up without the index file"),
        ], unit="addresses/s")

        rng = np.random.default_rng(0)
        n = 200_000
        known = ident.addresses[rng.integers(0, n_addr, n * 3 // 4)].astype(np.int64)
        unknown = rng.integers(0, 1 << 24, n - len(known))
        addrs = np.concatenate([known, unknown])
        rng.shuffle(addrs)
        scalar = addrs[:20_000].tolist()
        live = np.asarray(scalar[:500])[rng.integers(0, 500, 20_000)].tolist()  # 500 aircraft

        def cold() -> None:
            ident.clear_caches()
            for a in scalar:
                ident.identify(a)

        def many_first() -> None:
            ident.clear_caches()
            ident.identify_many(addrs)

        rows: list[Row] = [
            best_rate("identify_many, first batch", n, many_first, repeat=5,
                      note="caches cleared: strings decoded"),
            best_rate("identify_many, repeated batch", n, lambda: ident.identify_many(addrs),
                      repeat=5, note="resolved + country, mil block, derived reg"),
            best_rate("identify, cold (caches cleared)", len(scalar), cold, repeat=5,
                      note="resolved identity object"),
            best_rate("identify, live (500 aircraft)", len(live),
                      lambda: [ident.identify(a) for a in live], note="LRU cache hits"),
        ]
        db = sqlite3.connect(store)
        q = ("SELECT registration, type_code, description, operator, military FROM aircraft "
             "WHERE icao24 = ?")
        rows.append(best_rate("peer: sqlite query per address", len(scalar),
                              lambda: [db.execute(q, (a,)).fetchall() for a in scalar],
                              repeat=5, note="raw rows only"))
        table = pd.read_sql_query(
            "SELECT icao24, registration, type_code, description, operator, military "
            "FROM aircraft WHERE source = 'tar1090-db'", db)
        batch = pd.DataFrame({"icao24": addrs})
        rows.append(best_rate("peer: pandas merge (batch)", n,
                              lambda: batch.merge(table, on="icao24", how="left"),
                              repeat=5, note="raw registry columns only"))
        db.close()
        print_table("Identity lookups (real addresses, 75% known)", rows, unit="lookups/s")


if __name__ == "__main__":
    main()
