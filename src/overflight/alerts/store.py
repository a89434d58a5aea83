"""Alerts and their delivery outbox in one small SQLite file (WAL; safe across a crash).

Default place: ``alerts.sqlite`` beside the history database (``$OVERFLIGHT_HOME`` or the
user's data directory). ``alerts`` keeps each alert once (by its stable id) with its whole
JSON document (evidence included); ``outbox`` keeps one row per (alert, target) until the
target took it, so a receiver that is down gets everything, in order, after a restart.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overflight.jsonout import dumps

__all__ = ["AlertStore", "OutboxRow", "default_alerts_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    time_s REAL NOT NULL,
    rule TEXT NOT NULL,
    kind TEXT NOT NULL,
    icao24 TEXT NOT NULL,
    callsign TEXT,
    registration TEXT,
    doc TEXT NOT NULL,
    stored_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts(time_s);
CREATE TABLE IF NOT EXISTS outbox (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    target TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_s REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    done_s REAL,
    UNIQUE(alert_id, target)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(target, done_s, n);
"""


def default_alerts_path() -> Path:
    """``alerts.sqlite`` beside the default history database."""
    from overflight.history.store import default_db_path

    return default_db_path().parent / "alerts.sqlite"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    n: int
    alert_id: str
    target: str
    attempts: int
    next_s: float
    doc: str


class AlertStore:
    """The alerts file; every method is thread-safe."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_alerts_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.con = sqlite3.connect(str(self.path), check_same_thread=False,
                                   isolation_level=None)
        with self._lock:
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA synchronous=NORMAL")
            self.con.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self.con.close()

    def add(self, alert: Any, targets: tuple[str, ...]) -> bool:
        """Store ``alert`` and queue it for ``targets`` in one transaction; False (nothing
        done) when an alert with its id is already stored."""
        doc = dumps(alert.to_json())
        with self._lock:
            cur = self.con.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute(
                    "INSERT OR IGNORE INTO alerts (id, time_s, rule, kind, icao24, callsign, "
                    "registration, doc, stored_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (alert.id, alert.time_s, alert.rule, alert.kind, alert.icao24,
                     alert.callsign, alert.registration, doc, time.time()))
                if cur.rowcount == 0:
                    cur.execute("ROLLBACK")
                    return False
                for t in targets:
                    cur.execute("INSERT OR IGNORE INTO outbox (alert_id, target) VALUES (?, ?)",
                                (alert.id, t))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return True

    def recent(self, limit: int = 100, since_s: float | None = None) -> list[str]:
        """The newest alerts' JSON documents (newest first)."""
        with self._lock:
            if since_s is None:
                rows = self.con.execute("SELECT doc FROM alerts ORDER BY seq DESC LIMIT ?",
                                        (int(limit),)).fetchall()
            else:
                rows = self.con.execute(
                    "SELECT doc FROM alerts WHERE time_s >= ? ORDER BY seq DESC LIMIT ?",
                    (float(since_s), int(limit))).fetchall()
        return [r[0] for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self.con.execute("SELECT count(*) FROM alerts").fetchone()[0])

    def targets_pending(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self.con.execute(
                "SELECT DISTINCT target FROM outbox WHERE done_s IS NULL").fetchall()]

    def head(self, target: str) -> OutboxRow | None:
        """The oldest undelivered row of ``target`` (delivery keeps this order)."""
        with self._lock:
            r = self.con.execute(
                "SELECT o.n, o.alert_id, o.target, o.attempts, o.next_s, a.doc FROM outbox o "
                "JOIN alerts a ON a.id = o.alert_id WHERE o.target = ? AND o.done_s IS NULL "
                "ORDER BY o.n LIMIT 1", (target,)).fetchone()
        return OutboxRow(int(r[0]), r[1], r[2], int(r[3]), float(r[4]), r[5]) if r else None

    def delivered(self, n: int) -> None:
        with self._lock:
            self.con.execute("UPDATE outbox SET done_s = ?, attempts = attempts + 1, "
                             "last_error = NULL WHERE n = ?", (time.time(), n))

    def failed(self, n: int, error: str, next_s: float) -> None:
        with self._lock:
            self.con.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                             "next_s = ? WHERE n = ?", (error[:500], next_s, n))

    def outbox_counts(self) -> dict[str, dict[str, Any]]:
        """Per target: delivered, pending, failed attempts, last error."""
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            rows = self.con.execute(
                "SELECT target, sum(done_s IS NOT NULL), sum(done_s IS NULL), "
                "sum(attempts) - sum(done_s IS NOT NULL), "
                "(SELECT last_error FROM outbox p WHERE p.target = o.target AND "
                "p.last_error IS NOT NULL ORDER BY n DESC LIMIT 1) FROM outbox o "
                "GROUP BY target").fetchall()
        for t, done, pending, failures, err in rows:
            out[t] = {"delivered": int(done or 0), "pending": int(pending or 0),
                      "failed_attempts": int(failures or 0), "last_error": err}
        return out
