"""Alerts and their delivery outbox: two tables of the history database (DuckDB).

The alerts module owns these tables (created here with ``CREATE TABLE IF NOT EXISTS``, beside
the history tables; the history schema is not changed):

``alerts``         one row per alert (by its stable ``id``): ``seq`` (the order they fired),
                   ``time_s`` (UTC epoch s), ``rule, kind, address`` (UINTEGER), ``non_icao,
                   icao24, callsign, registration, flight_id`` (take-off / landing),
                   ``flight_time_s`` (when to look its flight up), ``run_id`` (the history run
                   that heard it; NULL in an alerts-only file), ``frame_seqs`` (the evidence's
                   frames, in the ``frames`` table's numbering), ``doc`` (the whole JSON
                   document, evidence included) and ``stored_s`` (wall clock).
``alerts_outbox``  one row per (alert, delivery target) until the target took it: a receiver
                   that is down gets everything, in order, after a restart.

Where: the history database a server writes (``serve --db``: the same DuckDB database,
through a connection of its own, beside the history writer in the same process); without
one, an alerts-only history file, ``alerts.duckdb`` beside the default history database
(a file, not memory: the outbox must outlive a restart; not the default history database
itself: that would hold its lock and shut ``ingest`` out of it). Every alert is one committed
transaction: a kill -9 loses none that was stored.
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overflight.jsonout import dumps

if TYPE_CHECKING:
    import duckdb

    from overflight.history.store import HistoryStore

__all__ = ["ALERT_TABLES", "AlertStore", "OutboxRow", "default_alerts_path", "stored_alerts"]

ALERT_TABLES: dict[str, str] = {
    "alerts": (
        "seq BIGINT NOT NULL, id VARCHAR PRIMARY KEY, time_s DOUBLE NOT NULL, "
        "rule VARCHAR NOT NULL, kind VARCHAR NOT NULL, address UINTEGER NOT NULL, "
        "non_icao BOOLEAN NOT NULL, icao24 VARCHAR NOT NULL, callsign VARCHAR, "
        "registration VARCHAR, flight_id VARCHAR, flight_time_s DOUBLE, run_id INTEGER, "
        "frame_seqs BIGINT[], doc VARCHAR NOT NULL, stored_s DOUBLE NOT NULL"
    ),
    "alerts_outbox": (
        "n BIGINT NOT NULL, alert_id VARCHAR NOT NULL, target VARCHAR NOT NULL, "
        "attempts INTEGER NOT NULL, next_s DOUBLE NOT NULL, last_error VARCHAR, done_s DOUBLE"
    ),
}
"""The alerts' tables and their DuckDB columns."""


def default_alerts_path() -> Path:
    """``alerts.duckdb`` beside the default history database (alerts without ``--db``)."""
    from overflight.history.store import default_db_path

    return default_db_path().parent / "alerts.duckdb"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """The oldest undelivered alert of a target: outbox row ``n``, ``attempts`` so far,
    ``next_s`` (wall clock, epoch s) when it may be tried again, and the JSON document."""

    n: int
    alert_id: str
    target: str
    attempts: int
    next_s: float
    doc: str


def _connect(history: HistoryStore) -> duckdb.DuckDBPyConnection:
    """A connection of our own to ``history``'s database (it outlives the writer's, which
    closes first when a run ends); a cursor of the writer's when DuckDB refuses a second
    connection (another configuration)."""
    import duckdb

    try:
        return duckdb.connect(str(history.path))
    except duckdb.Error:
        return history.cursor()


class AlertStore:
    """The alerts' tables in a history database; every method is thread-safe.

    Build it with :meth:`open` (a file of its own) or :meth:`in_history` (the database a
    history writer stores to).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, *,
                 history: HistoryStore | None = None, run_id: int | None = None,
                 seq_offset: int = 0) -> None:
        self.con = con
        self.path = path
        self.run_id = run_id
        self.seq_offset = int(seq_offset)
        """Added to the station's frame numbers: the ``frames`` table's numbering."""
        self._history = history
        self._lock = threading.Lock()
        with self._lock:
            for name, cols in ALERT_TABLES.items():
                self.con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")

    @classmethod
    def open(cls, path: str | Path | None = None) -> AlertStore:
        """An alerts-only history database at ``path`` (default :func:`default_alerts_path`),
        created if need be. Raises :class:`~overflight.history.store.HistoryError`."""
        from overflight.history.store import open_history

        history = open_history(Path(path) if path is not None else default_alerts_path())
        return cls(history.con, history.path, history=history)

    @classmethod
    def in_history(cls, history: HistoryStore, *, run_id: int | None = None,
                   seq_offset: int = 0) -> AlertStore:
        """The alerts of ``history`` (open for writing; its owner keeps closing it), stored
        as heard by run ``run_id`` whose frames are numbered from ``seq_offset``."""
        return cls(_connect(history), history.path, run_id=run_id, seq_offset=seq_offset)

    @classmethod
    def of_writer(cls, writer: Any) -> AlertStore:
        """The alerts of a :class:`~overflight.history.HistoryWriter`'s database and run."""
        return cls.in_history(writer.store, run_id=int(writer.run_id),
                              seq_offset=int(writer.seq_offset))

    def close(self) -> None:
        with self._lock:
            if self._history is not None:
                self._history.close()
            else:
                with suppress(Exception):  # already closed with the writer's connection
                    self.con.close()

    def add(self, alert: Any, targets: tuple[str, ...]) -> bool:
        """Store ``alert`` and queue it for ``targets`` in one transaction; False (nothing
        done) when an alert with its id is already stored."""
        doc = dumps(alert.to_json())
        ev = alert.evidence or {}
        seqs = sorted({int(s) for p in ev.get("positions", ())
                       for s in (p.get("frame_seq", -1), p.get("pair_frame_seq", -1))
                       if s is not None and int(s) >= 0})
        with self._lock:
            con = self.con
            con.execute("BEGIN TRANSACTION")
            try:
                if con.execute("SELECT 1 FROM alerts WHERE id = $id",
                               {"id": alert.id}).fetchone() is not None:
                    con.execute("ROLLBACK")
                    return False
                con.execute(
                    "INSERT INTO alerts SELECT coalesce(max(seq), 0) + 1, $id, $t, $rule, "
                    "$kind, $address, $non, $icao24, $cs, $reg, $fid, $ft, $run, $seqs, "
                    "$doc, $stored FROM alerts",
                    {"id": alert.id, "t": float(alert.time_s), "rule": alert.rule,
                     "kind": alert.kind, "address": int(alert.address),
                     "non": bool(alert.non_icao), "icao24": alert.icao24,
                     "cs": alert.callsign, "reg": alert.registration,
                     "fid": alert.flight_id, "ft": alert.flight_time_s, "run": self.run_id,
                     "seqs": [s + self.seq_offset for s in seqs], "doc": doc,
                     "stored": time.time()})
                for t in dict.fromkeys(targets):
                    con.execute(
                        "INSERT INTO alerts_outbox SELECT coalesce(max(n), 0) + 1, $id, $t, "
                        "0, 0, NULL, NULL FROM alerts_outbox", {"id": alert.id, "t": t})
                con.execute("COMMIT")
            except BaseException:
                with suppress(Exception):
                    con.execute("ROLLBACK")
                raise
        return True

    def recent(self, limit: int = 100, since_s: float | None = None) -> list[str]:
        """The newest alerts' JSON documents (newest first)."""
        with self._lock:
            rows = self.con.execute(
                "SELECT doc FROM alerts WHERE $since IS NULL OR time_s >= $since "
                "ORDER BY seq DESC LIMIT $limit",
                {"since": None if since_s is None else float(since_s),
                 "limit": int(limit)}).fetchall()
        return [str(r[0]) for r in rows]

    def count(self) -> int:
        with self._lock:
            row = self.con.execute("SELECT count(*) FROM alerts").fetchone()
        return int(row[0]) if row else 0

    def targets_pending(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self.con.execute(
                "SELECT DISTINCT target FROM alerts_outbox WHERE done_s IS NULL "
                "ORDER BY target").fetchall()]

    def head(self, target: str) -> OutboxRow | None:
        """The oldest undelivered row of ``target`` (delivery keeps this order)."""
        with self._lock:
            r = self.con.execute(
                "SELECT o.n, o.alert_id, o.target, o.attempts, o.next_s, a.doc "
                "FROM alerts_outbox o JOIN alerts a ON a.id = o.alert_id "
                "WHERE o.target = $t AND o.done_s IS NULL ORDER BY o.n LIMIT 1",
                {"t": target}).fetchone()
        return OutboxRow(int(r[0]), str(r[1]), str(r[2]), int(r[3]), float(r[4]), str(r[5])) \
            if r else None

    def delivered(self, n: int) -> None:
        with self._lock:
            self.con.execute("UPDATE alerts_outbox SET done_s = $now, attempts = attempts + 1,"
                             " last_error = NULL WHERE n = $n", {"now": time.time(), "n": n})

    def failed(self, n: int, error: str, next_s: float) -> None:
        with self._lock:
            self.con.execute("UPDATE alerts_outbox SET attempts = attempts + 1, "
                             "last_error = $e, next_s = $next WHERE n = $n",
                             {"e": error[:500], "next": float(next_s), "n": n})

    def outbox_counts(self) -> dict[str, dict[str, Any]]:
        """Per target: delivered, pending, failed attempts, last error."""
        with self._lock:
            rows = self.con.execute(
                "SELECT target, count(done_s), count(*) - count(done_s), "
                "coalesce(sum(attempts), 0) - count(done_s), "
                "arg_max(last_error, n) FILTER (WHERE last_error IS NOT NULL) "
                "FROM alerts_outbox GROUP BY target ORDER BY target").fetchall()
        return {str(t): {"delivered": int(done), "pending": int(pending),
                         "failed_attempts": int(failures), "last_error": err}
                for t, done, pending, failures, err in rows}


def stored_alerts(history: HistoryStore, start_s: float | None = None,
                  end_s: float | None = None, limit: int | None = None) -> list[str]:
    """The JSON documents of the alerts stored in ``history`` with ``start_s <= time_s <
    end_s`` (UTC epoch s; None: open), in the order they fired (the last ``limit``); none
    when the database has no alerts table."""
    con = history.cursor()
    try:
        has = con.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_name = 'alerts'").fetchone()
        if not has or not has[0]:
            return []
        rows = con.execute(
            "SELECT doc FROM (SELECT doc, seq FROM alerts WHERE ($t0 IS NULL OR time_s >= $t0)"
            " AND ($t1 IS NULL OR time_s < $t1) ORDER BY seq DESC LIMIT $n) ORDER BY seq",
            {"t0": start_s, "t1": end_s, "n": limit}).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]
