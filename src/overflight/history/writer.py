"""The history writer: the station subscriber that stores every update, in batches.

>>> writer = HistoryWriter.open("history.duckdb", kind="serve")     # doctest: +SKIP
>>> station.subscribe(writer)                                       # doctest: +SKIP
>>> ... station.close()          # delivers what is queued, then calls writer.close()

Updates are buffered as the Arrow tables the station publishes and written together, in one
DuckDB transaction, at most ``flush_every_s`` (wall seconds, default 1) after the first of
them arrived (or when ``max_rows`` are waiting): a crash loses at most that last unflushed
batch, and DuckDB's write-ahead log makes every committed flush survive a kill -9. No per-row
Python: each buffered table goes into DuckDB as ``INSERT INTO t SELECT ... FROM arrow``.

Frame sequence numbers are made unique across runs: the run's frames start at the database's
next free ``seq`` (the station counts from 0 in every run), and every ``frame_seq`` /
``pair_frame_seq`` / rejected ``seq`` is shifted by the same offset.

When a flush fails (a full disk, an I/O error), storing stops with one loud error in the log
(on standard error when logging is not configured); later updates are counted as not stored
(:attr:`WriterStats.not_stored`), and the station, which never waits for a failed subscriber,
keeps its live picture running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from overflight.history.store import POSITION_COLUMNS, HistoryStore, first_row, open_history

__all__ = ["HistoryWriter", "WriterStats", "insert_table", "positions_select", "store_receivers"]

log = logging.getLogger("overflight.history")

STORED_KINDS = ("frames", "positions", "fixes", "rejected", "events", "flights")
"""Update kinds the writer stores (``changed`` and ``gone`` need no storage)."""


@dataclass(slots=True)
class WriterStats:
    """Rows stored and not stored per table, commits, and the error that stopped storing."""

    stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORED_KINDS, 0))
    not_stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORED_KINDS, 0))
    flushes: int = 0
    failed: str | None = None


def _nulltype(t: str) -> str:
    return t.replace(" NOT NULL", "")


def positions_select(schema: pa.Schema) -> str:
    """The SELECT list that maps a station positions table to the ``positions`` columns
    (``$off``: frame number shift, ``$run``: run id)."""
    names = set(schema.names)
    out = []
    for name, typ in POSITION_COLUMNS:
        t = _nulltype(typ)
        if name in ("frame_seq", "pair_frame_seq"):
            e = (f"CASE WHEN {name} >= 0 THEN {name} + $off ELSE -1 END" if name in names
                 else "-1")
        elif name in names:
            e = f"TRY_CAST({name} AS {t})" if name in ("nic", "nac_p", "squawk") else name
        elif name == "source":
            e = "'unknown'"
        else:
            e = f"NULL::{t}"
        out.append(f"{e} AS {name}")
    return ", ".join(out) + ", $run::INTEGER AS run_id"


def _shift_lists(t: pa.Table, column: str, offset: int) -> pa.Table:
    """``t`` with the frame numbers in list ``column`` shifted by ``offset`` (-1 stays)."""
    import pyarrow.compute as pc

    col = t.column(column).combine_chunks()
    flat = col.flatten()
    shifted = pc.if_else(pc.greater_equal(flat, 0), pc.add(flat, offset), -1)
    offsets = pc.subtract(col.offsets, col.offsets[0])  # flatten() starts at the first
    out = pa.ListArray.from_arrays(offsets, shifted, mask=col.is_null())
    i = t.schema.get_field_index(column)
    return t.set_column(i, t.schema.field(i), out.cast(t.schema.field(i).type))


def _shifted(column: str) -> str:
    """A frame number column shifted by the run's offset (``$off``); -1 (unknown) stays."""
    return f"CASE WHEN {column} >= 0 THEN {column} + $off ELSE -1 END"


_SELECT: dict[str, Callable[[pa.Schema], str]] = {
    "frames": lambda s: "seq + $off, time_s, receiver, signal_dbfs, ticks, raw",
    "positions": positions_select,
    "fixes": lambda s: (
        "time_s, address, non_icao, lat_deg, lon_deg, altitude_ft, error_m, accepted, "
        + ("receivers" if "receivers" in s.names else "NULL::UBIGINT[]") + ", $run::INTEGER, "
        + ("gdop" if "gdop" in s.names else "NULL::DOUBLE") + ", "
        + ("frame_seqs" if "frame_seqs" in s.names else "NULL::BIGINT[]")
    ),
    "rejected": lambda s: "seq + $off, time_s, address, non_icao, reason",
    "events": lambda s: (
        "event_id, kind, time_s, address, non_icao, callsign, squawk, lat_deg, lon_deg, "
        "airport, before, after, flight_id, $run::INTEGER, "
        + (_shifted("frame_seq") if "frame_seq" in s.names else "NULL::BIGINT")
    ),
    "flights": lambda s: (
        "flight_id, address, registration, typecode, callsigns, "
        + ", ".join(f"{e}_{c}" for e in ("departure", "arrival") for c in (
            "airport", "airport_how", "airport_name", "time_s", "how", "lat_deg", "lon_deg"))
        + ", first_seen_s, last_seen_s, distance_km, max_altitude_ft, observed_fraction, "
        "n_points, n_messages, gaps_s, touch_and_goes, position_sources, $run::INTEGER, "
        + ", ".join(_shifted(c) if c in s.names else "NULL::BIGINT" for c in (
            "departure_frame_seq", "arrival_frame_seq", "first_frame_seq", "last_frame_seq"))
    ),
}


def _merged(buf: list[tuple[str, pa.Table]]) -> list[tuple[str, pa.Table]]:
    """The buffered tables, those of one kind concatenated (one INSERT per kind: DuckDB
    writes a large insert straight to its blocks instead of through the log); tables whose
    schemas cannot be unified stay apart."""
    by: dict[str, list[pa.Table]] = {}
    for name, t in buf:
        by.setdefault(name, []).append(t)
    out: list[tuple[str, pa.Table]] = []
    for name, ts in by.items():
        if len(ts) == 1:
            out.append((name, ts[0]))
            continue
        try:
            out.append((name, pa.concat_tables(ts, promote_options="permissive")))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            out.extend((name, t) for t in ts)
    return out


def insert_table(con: Any, name: str, t: pa.Table, *, seq_offset: int, run_id: int) -> None:
    """``INSERT INTO name SELECT ... FROM t`` for a station table ``t`` of kind ``name``:
    frame numbers shifted by ``seq_offset``, rows tagged with ``run_id``, columns the
    station does not publish (yet) NULL."""
    view = f"_u_{name}"
    if "frame_seqs" in t.schema.names:
        t = _shift_lists(t, "frame_seqs", seq_offset)
    con.register(view, t)
    try:
        sql = f"INSERT INTO {name} SELECT {_SELECT[name](t.schema)} FROM {view}"
        params: dict[str, Any] = {}
        if "$off" in sql:
            params["off"] = seq_offset
        if "$run" in sql:
            params["run"] = run_id
        con.execute(sql, params)
    finally:
        con.unregister(view)


def store_receivers(store: HistoryStore, run_id: int, receivers_csv: Path | str) -> int:
    """Store the receivers of an MLAT table (``serial,latitude,longitude,height,type``) for
    run ``run_id``; the number stored."""
    from overflight.mlat import ReceiverRegistry

    reg = ReceiverRegistry.from_csv(receivers_csv)
    rows = [
        {"run_id": run_id, "receiver": int(r.receiver_id), "name": str(r.receiver_id),
         "lat_deg": r.lat_deg, "lon_deg": r.lon_deg, "height_m": r.height_m,
         "clock": getattr(r.clock, "name", str(r.clock))}
        for r in reg
    ]
    if not rows:
        return 0
    t = pa.Table.from_pylist(rows)
    store.con.register("_rx", t)
    try:
        store.con.execute(
            "INSERT INTO receivers SELECT run_id, receiver::UBIGINT, name, lat_deg, lon_deg, "
            "height_m, clock FROM _rx")
    finally:
        store.con.unregister("_rx")
    return len(rows)


class HistoryWriter:
    """Stores the station's updates (a subscriber: ``station.subscribe(writer)``).

    Args:
        store: the open database (the writer owns it: :meth:`close` closes it).
        kind: what feeds this run: ``"ingest"``, ``"serve"`` or ``"rebuild"``.
        source: what was read (file names, feeds), kept in ``runs``.
        digest: the input's content digest (ingest: refuses to store one file twice).
        receivers_csv: the MLAT receivers table of the run, stored in ``receivers``.
        flush_every_s: most wall seconds an update waits in memory before it is committed.
        max_rows: rows waiting that force a flush before ``flush_every_s``.
        on_flush: called after each commit with the writer's stats (progress, tests).
        seq_first: the run's first frame sequence number (default: the database's next free).
        owns_store: :meth:`close` closes ``store`` (False: the caller keeps it open).
        retention_days: days kept per table (``{"frames": 7, "positions": 365}``), applied
            (:func:`overflight.history.archive.prune`) at the start and then every
            ``retention_every_s`` wall seconds; None keeps everything.
    """

    name = "history"

    def __init__(
        self,
        store: HistoryStore,
        *,
        kind: str = "serve",
        source: str | None = None,
        digest: str | None = None,
        receivers_csv: Path | str | None = None,
        flush_every_s: float = 1.0,
        max_rows: int = 2_000_000,
        on_flush: Callable[[WriterStats], None] | None = None,
        seq_first: int | None = None,
        owns_store: bool = True,
        retention_days: Mapping[str, float] | None = None,
        retention_every_s: float = 3600.0,
    ) -> None:
        self.store = store
        self.owns_store = owns_store
        self.flush_every_s = float(flush_every_s)
        self.max_rows = int(max_rows)
        self.on_flush = on_flush
        self.stats = WriterStats()
        self._buf: list[tuple[str, pa.Table]] = []
        self._batches: list[tuple[int, int]] = []
        self._rows = 0
        self._first_wall: float | None = None
        self._lock = threading.RLock()
        self._closed = False
        self.seq_offset = store.next_seq() if seq_first is None else int(seq_first)
        from overflight.history.store import _version

        con = store.con
        with store.transaction():
            row = first_row(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs"))
            self.run_id = int(row[0]) if row else 1
            con.execute(
                "INSERT INTO runs VALUES ($id, $kind, $src, $digest, $wall, $seq, $rx, $ver)",
                {"id": self.run_id, "kind": kind, "src": source, "digest": digest,
                 "wall": time.time(), "seq": self.seq_offset,
                 "rx": str(receivers_csv) if receivers_csv is not None else None,
                 "ver": _version()})
            if receivers_csv is not None:
                store_receivers(store, self.run_id, receivers_csv)
        self.retention_days = dict(retention_days) if retention_days else None
        self.retention_every_s = float(retention_every_s)
        self.pruned: dict[str, int] = {}
        self._last_prune = -float("inf")
        self._totals = dict.fromkeys(STORED_KINDS, 0)
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()
        if self.flush_every_s > 0:
            self._timer = threading.Thread(target=self._tick, name="overflight-history-flush",
                                           daemon=True)
            self._timer.start()

    @classmethod
    def open(cls, path: Path | str | None = None, **kwargs: Any) -> HistoryWriter:
        """A writer on the database at ``path`` (default: the user's), created if need be;
        ``kwargs`` as for the constructor. Raises :class:`~overflight.history.HistoryError`."""
        return cls(open_history(path), **kwargs)

    # ------------------------------------------------------------------ subscriber
    def on_update(self, update: Any) -> None:
        """Buffer one station update (never raises; flushes when one is due)."""
        name = getattr(update, "name", None)
        if name not in STORED_KINDS:
            return
        table: pa.Table = update.table
        n = table.num_rows
        with self._lock:
            if self.stats.failed is not None or self._closed:
                self.stats.not_stored[name] += n
                return
            if name == "frames":
                self._batches.append((int(update.seq_first), n))
            if n == 0 and name != "frames":
                return
            self._buf.append((name, table))
            self._rows += n
            if self._first_wall is None:
                self._first_wall = time.monotonic()
            if self._rows >= self.max_rows or self._due():
                self._flush_locked()

    __call__ = on_update

    def _due(self) -> bool:
        return (self._first_wall is not None
                and time.monotonic() - self._first_wall >= self.flush_every_s)

    def _tick(self) -> None:
        period = max(0.02, self.flush_every_s / 4)
        while not self._stop.wait(period):
            with self._lock:
                if self._buf and self._due():
                    self._flush_locked()

    def flush(self) -> None:
        """Commit everything buffered now."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buf and not self._batches:
            return
        buf, batches = self._buf, self._batches
        self._buf, self._batches, self._rows, self._first_wall = [], [], 0, None
        if self.stats.failed is not None:
            for name, t in buf:
                self.stats.not_stored[name] += t.num_rows
            return
        con = self.store.con
        added = dict.fromkeys(STORED_KINDS, 0)
        try:
            with self.store.transaction():
                for name, t in _merged(buf):
                    self._insert(con, name, t)
                    added[name] += t.num_rows
                if batches:
                    bt = pa.table({"s": pa.array([s for s, _ in batches], pa.int64()),
                                   "n": pa.array([n for _, n in batches], pa.int64())})
                    con.register("_b", bt)
                    try:
                        con.execute("INSERT INTO batches SELECT $run, s + $off, n FROM _b",
                                    {"run": self.run_id, "off": self.seq_offset})
                    finally:
                        con.unregister("_b")
                totals = {k: self._totals[k] + added[k] for k in STORED_KINDS}
                con.execute(
                    "INSERT INTO flushes SELECT coalesce(max(flush_id), 0) + 1, $run, $wall, "
                    "$frames, $positions, $fixes, $rejected, $events, $flights FROM flushes",
                    {"run": self.run_id, "wall": time.time(), **totals})
        except Exception as exc:
            self._fail(exc, buf)
            return
        self._totals = totals
        for k, v in added.items():
            self.stats.stored[k] += v
        self.stats.flushes += 1
        self._retain()
        if self.on_flush is not None:
            try:
                self.on_flush(self.stats)
            except Exception:
                log.exception("history on_flush callback failed")

    def _retain(self) -> None:
        if self.retention_days is None:
            return
        now = time.monotonic()
        if now - self._last_prune < self.retention_every_s:
            return
        self._last_prune = now
        from overflight.history.archive import prune

        try:
            for k, v in prune(self.store, self.retention_days).items():
                self.pruned[k] = self.pruned.get(k, 0) + v
        except Exception:
            log.exception("history: retention failed (storing goes on)")

    def _insert(self, con: Any, name: str, t: pa.Table) -> None:
        insert_table(con, name, t, seq_offset=self.seq_offset, run_id=self.run_id)

    def _fail(self, exc: BaseException, buf: list[tuple[str, pa.Table]]) -> None:
        for name, t in buf:
            self.stats.not_stored[name] += t.num_rows
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        self.stats.failed = f"{type(exc).__name__}: {first}"
        lost = ", ".join(f"{v:,} {k}" for k, v in self.stats.not_stored.items() if v)
        msg = (f"error: history: storing stopped ({self.stats.failed}); not stored: "
               f"{lost or 'nothing yet'}; what was committed before is intact. Free disk "
               f"space (or fix the error) and restart to store again.")
        log.error(msg)  # without a logging setup, Python's last-resort handler prints it

    def close(self) -> None:
        """Commit what is buffered, stop the timer and close the database (when owned)."""
        with self._lock:
            if self._closed:
                return
            self._flush_locked()
            self._closed = True
        self._stop.set()
        if self._timer is not None:
            self._timer.join(5.0)
        if self.stats.failed is not None:
            lost = ", ".join(f"{v:,} {k}" for k, v in self.stats.not_stored.items() if v)
            log.error("history: not stored since the failure: %s", lost or "nothing")
        if self.owns_store:
            self.store.close()

    def summary(self) -> Mapping[str, Any]:
        """Stored / not stored counts and the failure, for messages."""
        return {"run_id": self.run_id, "stored": dict(self.stats.stored),
                "not_stored": dict(self.stats.not_stored), "flushes": self.stats.flushes,
                "failed": self.stats.failed}
