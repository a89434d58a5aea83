"""Benchmark: identity lookups per second (scalar and vectorised) beside peer approaches.

Builds a store from the real tar1090-db and plane-alert-db files (import time printed), then times
lookups of real addresses (a mix of known and unknown ones) with:

* ``Identifier.identify`` (in-memory index, scalar) and ``Identifier.identify_many`` (vectorised),
* peer: one SQLite query per address on the same store (primary-key lookup),
* peer: a pandas merge of the address batch against the registry table.

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


def main() -> None:
    reg_file = shared_file("aircraft-db-tar1090/aircraft.csv.gz")
    watch_file = shared_file("aircraft-plane-alert-db/plane-alert-db.csv")
    types_file = shared_file("aircraft-db-tar1090/icao_aircraft_types2.json")
    if reg_file is None or watch_file is None or types_file is None:
        print("shared data not found (set OVERFLIGHT_SHARED_DATA)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "aircraft.sqlite"
        con = open_store(store)
        rep = import_file(con, reg_file)
        import_file(con, watch_file)
        import_file(con, types_file)
        con.close()
        print(f"import tar1090-db: {rep.rows_ok:,} rows in {rep.seconds:.2f} s "
              f"({rep.rows_ok / rep.seconds:,.0f} rows/s)")
        t0 = time.perf_counter()
        ident = Identifier(store)
        print(f"load in-memory index: {len(ident):,} addresses in {time.perf_counter() - t0:.2f} s")

        rng = np.random.default_rng(0)
        n = 200_000
        known = ident._keys[rng.integers(0, len(ident), n * 3 // 4)].astype(np.int64)
        unknown = rng.integers(0, 1 << 24, n - len(known))
        addrs = np.concatenate([known, unknown])
        rng.shuffle(addrs)
        scalar = addrs[:20_000].tolist()

        rows: list[Row] = []
        rows.append(best_rate("identify_many (vectorised)", n, lambda: ident.identify_many(addrs),
                              note="resolved + country, mil block, derived reg"))
        rows.append(best_rate("identify (scalar)", len(scalar),
                              lambda: [ident.identify(a) for a in scalar],
                              note="resolved identity object"))

        db = sqlite3.connect(store)
        q = ("SELECT registration, type_code, description, operator, military FROM aircraft "
             "WHERE icao24 = ?")
        rows.append(best_rate("peer: sqlite query per address", len(scalar),
                              lambda: [db.execute(q, (a,)).fetchall() for a in scalar],
                              note="raw rows only"))
        table = pd.read_sql_query(
            "SELECT icao24, registration, type_code, description, operator, military "
            "FROM aircraft WHERE source = 'tar1090-db'", db)
        batch = pd.DataFrame({"icao24": addrs})
        rows.append(best_rate("peer: pandas merge (batch)", n,
                              lambda: batch.merge(table, on="icao24", how="left"),
                              note="raw registry columns only"))
        print_table("Identity lookups (real addresses, 75% known)", rows, unit="lookups/s")


if __name__ == "__main__":
    main()
