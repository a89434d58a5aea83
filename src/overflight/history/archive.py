"""Cold storage: whole UTC days moved from the database to Parquet, and retention per table.

Layout (hive style, readable by DuckDB, Polars, pandas and Spark without Overflight)::

    <archive>/positions/day=2024-07-06/part-<id>.parquet
    <archive>/frames/day=2024-07-06/part-<id>.parquet
    ...

``read_parquet('<archive>/positions/*/*.parquet', hive_partitioning=true)`` gives every
archived position with a ``day`` column. Overflight's layout: positions and fixes of a day are
sorted by ``(address, time_s)`` in row groups of :data:`ROW_GROUP_ROWS`, so the row-group
statistics let a reader skip all but one aircraft's rows; frames stay in ``seq`` order, events
and flights in time order. Columns are the database's (zstd compressed).

Safety: a day's new file is written under a new name, fsynced, then in one database
transaction the day's rows are deleted from the database and the file is recorded in
``archived`` (queries read only recorded files). A crash before that commit leaves an
unrecorded file, which queries ignore and the next archive run removes; a crash after it
leaves at most a superseded file, removed the same way. A day archived again (late data)
is merged with its earlier file into one new file.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from overflight.history.store import ARCHIVED_TABLES, TIME_COLUMN, HistoryStore

__all__ = ["ROW_GROUP_ROWS", "archive", "prune"]

ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group."""

_ORDER = {
    "positions": "address, non_icao, time_s", "fixes": "address, time_s", "frames": "seq",
    "rejected": "seq", "events": "time_s", "flights": "first_seen_s",
}


def _epoch(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _days(store: HistoryStore, table: str, cutoff: float) -> list[date]:
    col = TIME_COLUMN[table]
    rows = store.con.execute(
        f"SELECT DISTINCT DATE '1970-01-01' + CAST(floor({col} / 86400) AS INTEGER) AS d "
        f"FROM {table} WHERE {col} < $c AND {col} >= 0 ORDER BY d", {"c": cutoff}).fetchall()
    return [r[0] for r in rows]


def _sweep(store: HistoryStore, table: str) -> int:
    """Remove files of ``table`` not recorded in ``archived`` (an interrupted or superseded
    run's); the number removed."""
    base = store.archive_dir / table
    if not base.is_dir():
        return 0
    kept = {str(store.archive_dir / f) for f in (
        r[0] for r in store.con.execute("SELECT file FROM archived WHERE tbl = $t",
                                        {"t": table}).fetchall())}
    n = 0
    for p in base.glob("day=*/*.parquet"):
        if str(p) not in kept:
            p.unlink(missing_ok=True)
            n += 1
    return n


def archive(store: HistoryStore, before: date,
            tables: tuple[str, ...] = ARCHIVED_TABLES) -> dict[str, int]:
    """Move every whole UTC day before ``before`` of ``tables`` to Parquet; rows moved per
    table. Rows without a time (frames of a capture without absolute time) stay."""
    if store.read_only:
        raise ValueError("the history database is open read-only")
    cutoff = _epoch(before)
    moved: dict[str, int] = {}
    con = store.con
    for table in tables:
        _sweep(store, table)
        col = TIME_COLUMN[table]
        total = 0
        for day in _days(store, table, cutoff):
            t0 = _epoch(day)
            t1 = _epoch(day + timedelta(days=1))
            rel = Path(table) / f"day={day.isoformat()}" / f"part-{uuid.uuid4().hex[:12]}.parquet"
            path = store.archive_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            old = con.execute("SELECT file FROM archived WHERE tbl = $t AND day = $d",
                              {"t": table, "d": day}).fetchall()
            old_files = [str(store.archive_dir / str(r[0])) for r in old]
            params: dict[str, Any] = {"t0": t0, "t1": t1}
            src = f"SELECT * FROM {table} WHERE {col} >= $t0 AND {col} < $t1"
            if old_files:
                params["old"] = old_files
                src += " UNION ALL BY NAME SELECT * FROM read_parquet($old)"
            tmp = path.with_suffix(".tmp")
            con.execute(
                f"COPY (SELECT * FROM ({src}) ORDER BY {_ORDER[table]}) TO '{_quote(tmp)}' "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})", params)
            _fsync(tmp)
            os.replace(tmp, path)
            rows = con.execute("SELECT count(*) FROM read_parquet($f)",
                               {"f": str(path)}).fetchall()[0][0]
            with store.transaction():
                n = con.execute(f"DELETE FROM {table} WHERE {col} >= $t0 AND {col} < $t1",
                                {"t0": t0, "t1": t1}).fetchall()
                con.execute("DELETE FROM archived WHERE tbl = $t AND day = $d",
                            {"t": table, "d": day})
                con.execute("INSERT INTO archived VALUES ($t, $d, $f, $n, $w)",
                            {"t": table, "d": day, "f": str(rel), "n": int(rows),
                             "w": time.time()})
            total += int(n[0][0]) if n else 0
            for f in old_files:
                Path(f).unlink(missing_ok=True)
        moved[table] = total
    con.execute("CHECKPOINT")
    return moved


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def prune(store: HistoryStore, keep_days: Mapping[str, float],
          now_s: float | None = None) -> dict[str, int]:
    """Retention: delete rows of each table older than ``keep_days[table]`` days before
    ``now_s`` (default: now), in the database and in archived days entirely older; rows
    deleted per table (archived rows counted by their day file)."""
    if store.read_only:
        raise ValueError("the history database is open read-only")
    now = time.time() if now_s is None else float(now_s)
    out: dict[str, int] = {}
    con = store.con
    for table, days in keep_days.items():
        if table not in TIME_COLUMN:
            raise ValueError(f"{table!r}: no retention for this table (one of "
                             f"{', '.join(TIME_COLUMN)})")
        if not days >= 0:
            raise ValueError(f"{table}: want days >= 0")
        cutoff = now - days * 86400.0
        col = TIME_COLUMN[table]
        first_kept_day = datetime.fromtimestamp(cutoff, UTC).date()
        with store.transaction():
            n = con.execute(f"DELETE FROM {table} WHERE {col} < $c", {"c": cutoff}).fetchall()
            old = con.execute(
                "SELECT file, rows FROM archived WHERE tbl = $t AND day < $d",
                {"t": table, "d": first_kept_day}).fetchall()
            con.execute("DELETE FROM archived WHERE tbl = $t AND day < $d",
                        {"t": table, "d": first_kept_day})
        for f, _ in old:
            (store.archive_dir / str(f)).unlink(missing_ok=True)
        out[table] = (int(n[0][0]) if n else 0) + sum(int(r) for _, r in old)
    return out
