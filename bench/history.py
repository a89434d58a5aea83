"""History benchmark: insert rate and the four investigation queries, Overflight's store beside
DuckDB over plain Parquet (no layout), in the same run.

The store is the real CDG→Toulouse flight of ``shared/data`` (tracked by the station) replayed
with shifted addresses, times and places until it holds ``--positions`` positions over
``--days`` UTC days (issue 12 asks 100 million; on a small shared machine the default is
4 million, so every figure is also printed per million positions to extrapolate), with one
flight per replayed copy between airports drawn from 40 ICAO codes.

Measured:

* insert: positions through :class:`~overflight.history.HistoryWriter` (the station's path:
  Arrow batches of 50,000 rows, one transaction per flush) with DuckDB on one thread;
* one aircraft's day, one area (2° x 2°) for one hour, an airport's day: median of 7 runs,
  in the database as written (arrival order), after ``archive`` (Parquet days sorted by
  address), and with DuckDB over one plain Parquet file of the same rows in arrival order;
* disk bytes per position of each.

    python bench/history.py [--positions 4000000] [--days 4] [--dir /tmp/ofbench]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

AIRPORTS = [f"L{c1}{c2}{c3}" for c1 in "FE" for c2 in "BGLM" for c3 in "ABCDE"]


def _real_flight() -> tuple[pa.Table, pa.Table]:
    from overflight.datapaths import shared_file
    from overflight.station import Station, StationConfig

    path = shared_file("modes-traffic-samples/full_flight_short.jsonl.gz")
    if path is None:
        sys.exit("shared data modes-traffic-samples/full_flight_short.jsonl.gz is missing")
    st = Station(StationConfig())
    pos: list[pa.Table] = []
    fl: list[pa.Table] = []

    def sub(u: Any) -> None:
        if u.name == "positions":
            pos.append(u.table)
        elif u.name == "flights":
            fl.append(u.table)

    st.subscribe(sub, inline=True)
    st.run_file(path)
    st.close()
    return pa.concat_tables(pos), pa.concat_tables(fl)


def _replay(flight: pa.Table, flights: pa.Table, n_positions: int, days: int,
            day0: date, chunk_positions: int = 2_000_000) -> Iterator[tuple[pa.Table, pa.Table]]:
    """The flight replayed as ``n_positions // len(flight)`` copies (shifted address, start
    time and place), in chunks of about ``chunk_positions`` positions: copies in order of
    their start, each chunk's positions in time order (a store of 100 M positions is never
    held in memory at once)."""
    rng = np.random.default_rng(12)
    m = flight.num_rows
    copies = max(1, n_positions // m)
    t = flight.column("time_s").to_numpy()
    t = t - t[0]
    lat = flight.column("lat_deg").to_numpy()
    lon = flight.column("lon_deg").to_numpy()
    base = datetime(day0.year, day0.month, day0.day, tzinfo=UTC).timestamp()
    start = base + rng.integers(0, days, copies) * 86400.0 + rng.uniform(0, 86400 - t[-1],
                                                                         copies)
    start.sort()
    dlat = rng.uniform(-3, 3, copies)  # a busy region: many copies cross every area
    dlon = rng.uniform(-5, 5, copies)
    addr = (0x400000 + rng.permutation(copies)).astype(np.uint32)
    airports = rng.integers(0, len(AIRPORTS), (copies, 2))
    airports[:, 1] = (airports[:, 0] + 1 + rng.integers(0, len(AIRPORTS) - 1, copies)) % len(
        AIRPORTS)
    f = flights.slice(0, 1).to_pylist()[0]
    t_first = flight.column("time_s")[0].as_py()
    per = max(1, chunk_positions // m)
    seq0 = 0
    for c0 in range(0, copies, per):
        ks = np.arange(c0, min(copies, c0 + per))
        idx = np.tile(np.arange(m), ks.size)
        k = np.repeat(ks, m)
        cols = {name: flight.column(name).take(pa.array(idx)) for name in flight.schema.names}
        cols["address"] = pa.array(addr[k])
        cols["icao24"] = pa.array([f"{a:06x}" for a in addr[ks]]).take(pa.array(k - c0))
        cols["time_s"] = pa.array(start[k] + t[idx])
        cols["lat_deg"] = pa.array(lat[idx] + dlat[k])
        cols["lon_deg"] = pa.array(lon[idx] + dlon[k])
        cols["frame_seq"] = pa.array(seq0 + np.arange(idx.size, dtype=np.int64) * 2)
        cols["pair_frame_seq"] = pa.array(seq0 + np.arange(idx.size, dtype=np.int64) * 2 + 1)
        seq0 += 2 * idx.size
        table = pa.table([cols[n] for n in flight.schema.names], schema=flight.schema)
        table = table.take(pc.sort_indices(table, [("time_s", "ascending")]))
        rows = []
        for i in ks.tolist():
            shift = start[i] - t_first
            rows.append({**f, "flight_id": f"{int(addr[i]):06x}-{int(start[i])}",
                         "address": int(addr[i]), "icao24": f"{int(addr[i]):06x}",
                         "departure_airport": AIRPORTS[airports[i, 0]],
                         "arrival_airport": AIRPORTS[airports[i, 1]],
                         "departure_time_s": f["departure_time_s"] + shift,
                         "arrival_time_s": f["arrival_time_s"] + shift,
                         "first_seen_s": f["first_seen_s"] + shift,
                         "last_seen_s": f["last_seen_s"] + shift})
        yield table, pa.Table.from_pylist(rows, schema=flights.schema)


class _U:
    def __init__(self, name: str, table: pa.Table) -> None:
        self.name = name
        self.table = table


def _median_ms(fn: Callable[[], Any], runs: int = 7) -> tuple[float, Any]:
    out = fn()  # warm
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts), out


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=4_000_000)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    import duckdb

    from overflight.history import HistoryWriter, open_history
    from overflight.history.archive import archive
    from overflight.history.query import Area, History

    work = args.dir or Path(tempfile.mkdtemp(prefix="ofbench-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    day0 = date(2024, 7, 6)
    print(f"building {args.positions:,} positions over {args.days} days from the real flight "
          "...", file=sys.stderr)
    flight, flights = _real_flight()
    print(f"machine: {os.cpu_count()} CPUs; DuckDB {duckdb.__version__}", file=sys.stderr)

    # ------------------------------------------------ insert (one thread), plain Parquet beside
    db = work / "history.duckdb"
    plain = work / "plain_positions.parquet"
    plain_f = work / "plain_flights.parquet"
    pq = __import__("pyarrow.parquet", fromlist=["ParquetWriter"])
    store = open_history(db, threads=1)
    w = HistoryWriter(store, kind="serve", flush_every_s=3600, max_rows=1_000_000)
    chunk = 50_000
    insert_s = insert_cpu_s = 0.0
    n = n_flights = 0
    pw = pwf = None
    probe: dict[str, float] = {}
    for pos, fl in _replay(flight, flights, args.positions, args.days, day0):
        t0, c0 = time.perf_counter(), time.process_time()
        for a in range(0, pos.num_rows, chunk):
            w.on_update(_U("positions", pos.slice(a, chunk)))
        w.on_update(_U("flights", fl))
        insert_s += time.perf_counter() - t0
        insert_cpu_s += time.process_time() - c0
        if n <= args.positions // 2 < n + pos.num_rows:  # an aircraft flying at mid-store
            i = args.positions // 2 - n
            probe = {c: float(pos.column(c)[i].as_py())
                     for c in ("address", "time_s", "lat_deg", "lon_deg")}
        n += pos.num_rows
        n_flights += fl.num_rows
        if pw is None:
            pw = pq.ParquetWriter(plain, pos.schema)
            pwf = pq.ParquetWriter(plain_f, fl.schema)
        pw.write_table(pos)
        pwf.write_table(fl)
        print(f"  {n:,} positions stored", file=sys.stderr)
    t0, c0 = time.perf_counter(), time.process_time()
    w.flush()
    insert_s += time.perf_counter() - t0
    insert_cpu_s += time.process_time() - c0
    assert pw is not None and pwf is not None
    pw.close()
    pwf.close()
    per_m = 1e6 / n
    print(f"{n:,} positions, {n_flights:,} flights, {args.days} days", file=sys.stderr)
    w.owns_store = False
    w.close()
    t0 = time.perf_counter()
    store.con.execute("CHECKPOINT")
    checkpoint_s = time.perf_counter() - t0
    store.con.execute("SET threads TO 2")
    db_bytes = _size(db)

    addr = int(probe["address"])
    t_any = probe["time_s"]
    d = datetime.fromtimestamp(t_any, UTC).date()
    d0 = datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()
    d1 = d0 + 86400
    h0 = float(np.floor(t_any / 3600) * 3600)
    lat, lon = probe["lat_deg"], probe["lon_deg"]
    area = Area(lat - 1, lon - 1, lat + 1, lon + 1)
    code = AIRPORTS[3]
    h = History(store)

    def ours() -> dict[str, tuple[float, Any]]:
        return {
            "aircraft day": _median_ms(lambda: h.positions(addr, False, d0, d1).num_rows),
            "area hour": _median_ms(lambda: h.area(area, h0, h0 + 3600).num_rows),
            "airport day": _median_ms(lambda: (lambda x: x.departures.num_rows
                                               + x.arrivals.num_rows)(h.airport_day(code, d))),
        }

    hot = ours()
    # ---------------------------------------------------------------- plain Parquet peer
    peer_con = duckdb.connect()
    peer_con.execute("SET threads TO 2")

    def peer(sql: str, params: dict[str, Any]) -> Callable[[], int]:
        return lambda: len(peer_con.execute(sql, params).fetchall())

    peer_res = {
        "aircraft day": _median_ms(peer(
            f"SELECT * FROM read_parquet('{plain}') WHERE address = $a AND time_s >= $t0 "
            "AND time_s < $t1 ORDER BY time_s", {"a": addr, "t0": d0, "t1": d1})),
        "area hour": _median_ms(peer(
            f"SELECT address, count(*), min(time_s), max(time_s) FROM read_parquet('{plain}') "
            "WHERE time_s >= $t0 AND time_s < $t1 AND lat_deg BETWEEN $s AND $n AND lon_deg "
            "BETWEEN $w AND $e GROUP BY address",
            {"t0": h0, "t1": h0 + 3600, "s": area.south, "n": area.north, "w": area.west,
             "e": area.east})),
        "airport day": _median_ms(peer(
            f"SELECT * FROM read_parquet('{plain_f}') WHERE (departure_airport = $c AND "
            "departure_time_s >= $t0 AND departure_time_s < $t1) OR (arrival_airport = $c "
            "AND arrival_time_s >= $t0 AND arrival_time_s < $t1)",
            {"c": code, "t0": d0, "t1": d1})),
    }
    # ---------------------------------------------------------------- archived layout
    archive(store, day0 + timedelta(days=args.days + 1), tables=("positions", "flights"))
    arch = ours()
    arch_bytes = _size(store.archive_dir / "positions")
    h.close()

    plain_bytes = _size(plain)
    print()
    print(f"history benchmark: {n:,} positions ({n / 1e6:.1f} M; issue target 100 M: "
          "figures per million extrapolate linearly for scans, the archived layout's "
          "aircraft query stays near constant), 2 DuckDB threads for queries")
    print(f"insert (one thread, HistoryWriter, 50k-row Arrow batches): {n / insert_s / 1e6:.2f} "
          f"M positions/s ({insert_s:.1f} s wall, {n / insert_cpu_s / 1e6:.2f} M per CPU s, "
          "every flush committed; target >= 1 M/s); the "
          f"checkpoint after it (folding the log into the file) {checkpoint_s:.1f} s more: "
          f"{n / (insert_s + checkpoint_s) / 1e6:.2f} M/s with it")
    print()
    head = (f"{'query':<14} {'overflight db':>14} {'archived':>10} {'plain parquet':>14} "
            f"{'rows':>8}  target")
    print(head)
    print("-" * len(head))
    targets = {"aircraft day": "<= 50 ms", "area hour": "<= 500 ms", "airport day": "<= 200 ms"}
    for k in hot:
        print(f"{k:<14} {hot[k][0]:>11.1f} ms {arch[k][0]:>7.1f} ms {peer_res[k][0]:>11.1f} ms "
              f"{hot[k][1]:>8}  {targets[k]}")
    print()
    print("per million positions (ms):  " + ", ".join(
        f"{k}: db {hot[k][0] * per_m:.1f} / archived {arch[k][0] * per_m:.1f} / plain "
        f"{peer_res[k][0] * per_m:.1f}" for k in hot))
    print(f"disk bytes per position: db {db_bytes / n:.1f} (positions + flights, one file), "
          f"archived Parquet {arch_bytes / n:.1f}, plain Parquet {plain_bytes / n:.1f}")
    assert hot["aircraft day"][1] == arch["aircraft day"][1] == peer_res["aircraft day"][1]
    assert hot["area hour"][1] == arch["area hour"][1] == peer_res["area hour"][1]
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
