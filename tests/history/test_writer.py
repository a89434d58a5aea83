"""The writer beside its readers: queries from other threads while it stores, retention per
table, and the live path's cadence (a commit within the flush period without new updates)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from overflight.history import HistoryWriter, open_history
from overflight.history.query import History
from overflight.station.updates import Positions
from overflight.tracking.records import positions_table


def _positions(i: int, n: int = 5000, t0: float = 1.7e9) -> pa.Table:
    rng = np.random.default_rng(i)
    return positions_table({
        "icao24": ["abcdef"] * n, "address": pa.array(np.full(n, 0xABCDEF), pa.uint32()),
        "non_icao": np.zeros(n, bool), "time_s": t0 + i * n + np.arange(n, dtype=float),
        "lat_deg": rng.uniform(40, 50, n), "lon_deg": rng.uniform(0, 5, n),
        "altitude_ft": rng.uniform(0, 40000, n), "groundspeed_kt": np.full(n, 400.0),
        "track_deg": np.full(n, 90.0), "vertical_rate_fpm": pa.nulls(n, pa.float64()),
        "on_ground": np.zeros(n, bool), "callsign": ["TEST1"] * n, "source": ["adsb"] * n,
        "reference": ["pair"] * n, "frame_seq": np.arange(n, dtype=np.int64),
        "pair_frame_seq": np.full(n, -1, np.int64),
    })


def test_readers_query_while_the_writer_stores(tmp_path: Path) -> None:
    w = HistoryWriter(open_history(tmp_path / "c.duckdb"), flush_every_s=0.05)
    h = History(w.store)
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.append(h.positions(0xABCDEF).num_rows)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(40):
        w.on_update(Positions(_positions(i)))
        time.sleep(0.005)
    w.flush()
    time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(seen) > 10
    # every answer is a whole number of committed updates (never a half-written flush)
    assert all(n % 5000 == 0 for n in seen)
    assert h.positions(0xABCDEF).num_rows == 40 * 5000
    w.close()


def test_an_update_is_committed_within_the_flush_period_without_more_updates(
        tmp_path: Path) -> None:
    db = tmp_path / "l.duckdb"
    w = HistoryWriter(open_history(db), flush_every_s=0.2)
    w.on_update(Positions(_positions(0)))
    deadline = time.monotonic() + 5
    while w.stats.flushes == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert w.stats.stored["positions"] == 5000  # the timer committed it
    w.close()


def test_retention_keeps_each_table_its_own_days(tmp_path: Path) -> None:
    now = time.time()
    w = HistoryWriter(open_history(tmp_path / "r.duckdb"), flush_every_s=0,
                      retention_days={"positions": 2})
    w.on_update(Positions(_positions(0, t0=now - 5 * 86400)))  # five days old
    w.on_update(Positions(_positions(1, t0=now - 3600)))  # this hour
    w.flush()  # retention runs after the commit: the old rows go
    w.on_update(Positions(_positions(2, t0=now - 1800)))
    w.flush()
    w.close()
    store = open_history(tmp_path / "r.duckdb", read_only=True)
    try:
        t = store.con.execute("SELECT min(time_s), count(*) FROM positions").fetchall()[0]
        assert t[1] == 10_000 and t[0] >= now - 2 * 86400
    finally:
        store.close()
