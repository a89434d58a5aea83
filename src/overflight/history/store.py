"""The history database: one DuckDB file (no server), its tables, schema version and faults.

Default location: ``$OVERFLIGHT_HOME/history.duckdb``, else beside the aircraft store in the
user's data directory (``$XDG_DATA_HOME/overflight/`` or ``~/.local/share/overflight/``).
Archived days live in Parquet beside it (``history-archive/`` next to the file, hive style
``<table>/day=YYYY-MM-DD/*.parquet``; see :mod:`overflight.history.archive`).

Tables (times are UTC epoch seconds, ``DOUBLE``; the key of an aircraft is ``address``
(24 bits, ``UINTEGER``) with ``non_icao``; ``seq`` numbers every stored frame once, across runs):

``frames``       every frame heard, the evidence: ``seq, time_s, receiver, signal_dbfs, ticks,
                 raw`` (2, 7 or 14 bytes).
``positions``    accepted positions: ``time_s, address, non_icao, lat_deg, lon_deg,
                 altitude_ft`` (barometric), ``altitude_gnss_ft, groundspeed_kt, track_deg,
                 vertical_rate_fpm, on_ground, source`` (adsb, mlat, tisb, adsr...),
                 ``reference, squawk, callsign, nic, nac_p, frame_seq, pair_frame_seq`` (the
                 frames it came from; -1 none). Columns the station does not publish yet are
                 NULL. ``run_id`` names the run that stored it.
``fixes``        MLAT fixes with their horizontal 1-sigma error (m) and whether the tracker took
                 them.
``rejected``     decoded positions the tracker refused, with the reason and the frame.
``events``       first seen, emergency, callsign / squawk changed, take-off, landing.
``flights``      closed legs with both ends: airport (ICAO) + how it was found, time + how it
                 is known (observed / inferred / estimated / unknown).
``receivers``    the receivers table an ingest or a live run was given (MLAT).
``runs``         one row per ingest / live run / rebuild: what was read and its first ``seq``.
``batches``      the frame batches of each run in order (so a rebuild replays the same batches).
``flushes``      one row per commit with running totals (its last row matches the tables).
``archived``     days moved to Parquet, per table, with their file (relative to the archive).
``meta``         ``schema_version`` and what wrote the file.

A crash (kill -9) loses at most the last uncommitted flush: every flush is one DuckDB
transaction, written to DuckDB's write-ahead log and replayed when the file is next opened.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ARCHIVED_TABLES",
    "POSITION_COLUMNS",
    "SCHEMA_VERSION",
    "TABLES",
    "HistoryCorruptError",
    "HistoryError",
    "HistoryLockedError",
    "HistoryStore",
    "HistoryTooNewError",
    "default_archive_dir",
    "default_db_path",
    "first_row",
    "open_history",
]

SCHEMA_VERSION = 2
"""Version of the tables below. A file with a higher version was written by a newer Overflight
and is refused (:class:`HistoryTooNewError`); a lower one is upgraded on open for writing
(versions differ by added columns only: :func:`_upgrade` adds them, NULL in old rows).
2: the evidence keys of fixes (``frame_seqs``, ``gdop``), events (``frame_seq``) and flights
(``departure_frame_seq`` ... ``last_frame_seq``)."""

POSITION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("time_s", "DOUBLE NOT NULL"),
    ("address", "UINTEGER NOT NULL"),
    ("non_icao", "BOOLEAN NOT NULL"),
    ("lat_deg", "DOUBLE NOT NULL"),
    ("lon_deg", "DOUBLE NOT NULL"),
    ("altitude_ft", "DOUBLE"),
    ("altitude_gnss_ft", "DOUBLE"),
    ("groundspeed_kt", "DOUBLE"),
    ("track_deg", "DOUBLE"),
    ("vertical_rate_fpm", "DOUBLE"),
    ("on_ground", "BOOLEAN"),
    ("source", "VARCHAR NOT NULL"),
    ("reference", "VARCHAR"),
    ("squawk", "VARCHAR"),
    ("callsign", "VARCHAR"),
    ("nic", "TINYINT"),
    ("nac_p", "TINYINT"),
    ("frame_seq", "BIGINT NOT NULL"),
    ("pair_frame_seq", "BIGINT NOT NULL"),
)
"""The ``positions`` columns and their DuckDB types, in table order."""

_END = (
    "airport VARCHAR, airport_how VARCHAR, airport_name VARCHAR, time_s DOUBLE, how VARCHAR, "
    "lat_deg DOUBLE, lon_deg DOUBLE"
)


def _end(prefix: str) -> str:
    return ", ".join(f"{prefix}_{c.strip()}" for c in _END.split(","))


TABLES: dict[str, str] = {
    "frames": "seq BIGINT NOT NULL, time_s DOUBLE, receiver UBIGINT NOT NULL, "
              "signal_dbfs FLOAT, ticks UBIGINT NOT NULL, raw BLOB NOT NULL",
    "positions": ", ".join(f"{n} {t}" for n, t in POSITION_COLUMNS) + ", run_id INTEGER",
    "fixes": "time_s DOUBLE NOT NULL, address UINTEGER NOT NULL, non_icao BOOLEAN NOT NULL, "
             "lat_deg DOUBLE NOT NULL, lon_deg DOUBLE NOT NULL, altitude_ft DOUBLE, "
             "error_m DOUBLE, accepted BOOLEAN NOT NULL, receivers UBIGINT[], run_id INTEGER, "
             "gdop DOUBLE, frame_seqs BIGINT[]",
    "rejected": "seq BIGINT NOT NULL, time_s DOUBLE, address UINTEGER NOT NULL, "
                "non_icao BOOLEAN NOT NULL, reason VARCHAR NOT NULL",
    "events": "event_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, time_s DOUBLE NOT NULL, "
              "address UINTEGER NOT NULL, non_icao BOOLEAN NOT NULL, callsign VARCHAR, "
              "squawk VARCHAR, lat_deg DOUBLE, lon_deg DOUBLE, airport VARCHAR, "
              "before VARCHAR, after VARCHAR, flight_id VARCHAR, run_id INTEGER, "
              "frame_seq BIGINT",
    "flights": "flight_id VARCHAR NOT NULL, address UINTEGER NOT NULL, registration VARCHAR, "
               "typecode VARCHAR, callsigns VARCHAR[], "
               f"{_end('departure')}, {_end('arrival')}, "
               "first_seen_s DOUBLE NOT NULL, last_seen_s DOUBLE NOT NULL, "
               "distance_km DOUBLE, max_altitude_ft DOUBLE, observed_fraction DOUBLE, "
               "n_points BIGINT, n_messages BIGINT, gaps_s DOUBLE[][], touch_and_goes BIGINT, "
               "position_sources VARCHAR[], run_id INTEGER, departure_frame_seq BIGINT, "
               "arrival_frame_seq BIGINT, first_frame_seq BIGINT, last_frame_seq BIGINT",
    "receivers": "run_id INTEGER NOT NULL, receiver UBIGINT NOT NULL, name VARCHAR, "
                 "lat_deg DOUBLE, lon_deg DOUBLE, height_m DOUBLE, clock VARCHAR",
    "runs": "run_id INTEGER NOT NULL, kind VARCHAR NOT NULL, source VARCHAR, digest VARCHAR, "
            "started_wall_s DOUBLE NOT NULL, seq_first BIGINT NOT NULL, receivers_csv VARCHAR, "
            "overflight_version VARCHAR",
    "batches": "run_id INTEGER NOT NULL, seq_first BIGINT NOT NULL, n BIGINT NOT NULL",
    "flushes": "flush_id BIGINT NOT NULL, run_id INTEGER NOT NULL, wall_s DOUBLE NOT NULL, "
               "frames BIGINT NOT NULL, positions BIGINT NOT NULL, fixes BIGINT NOT NULL, "
               "rejected BIGINT NOT NULL, events BIGINT NOT NULL, flights BIGINT NOT NULL",
    "archived": "tbl VARCHAR NOT NULL, day DATE NOT NULL, file VARCHAR NOT NULL, "
                "rows BIGINT NOT NULL, archived_wall_s DOUBLE NOT NULL",
    "meta": "key VARCHAR PRIMARY KEY, value VARCHAR",
}
"""Every table and its columns (DuckDB types)."""

TIME_COLUMN: dict[str, str] = {
    "frames": "time_s", "positions": "time_s", "fixes": "time_s", "rejected": "time_s",
    "events": "time_s", "flights": "first_seen_s",
}
"""The time column of each table that can be archived and pruned by day."""

ARCHIVED_TABLES = tuple(TIME_COLUMN)
"""Tables moved to Parquet by ``archive`` (those with a time column)."""


def first_row(result: Any) -> tuple[Any, ...] | None:
    """The first row of a DuckDB result, the result read whole (None when empty)."""
    rows = result.fetchall()
    return tuple(rows[0]) if rows else None


class HistoryError(Exception):
    """A history database that cannot be used; the message says what to do."""


class HistoryLockedError(HistoryError):
    """Another process holds the database open for writing."""


class HistoryCorruptError(HistoryError):
    """The file is not a readable DuckDB database (or not a history database)."""


class HistoryTooNewError(HistoryError):
    """The file was written by a newer Overflight (a higher schema version)."""


def default_db_path() -> Path:
    """Where the history database lives unless ``--db`` says otherwise: beside the aircraft
    store (``$OVERFLIGHT_HOME`` respected)."""
    from overflight.identity.store import default_store_path

    return default_store_path().parent / "history.duckdb"


def default_archive_dir(db: Path) -> Path:
    """The Parquet archive of the database at ``db``: ``<folder>/<stem>-archive/``."""
    return db.parent / f"{db.stem}-archive"


def _version() -> str:
    try:
        from overflight import __version__

        return str(__version__)
    except Exception:
        return "unknown"


_LOCK_PID = re.compile(r"PID (\d+)")


def _classify(path: Path, exc: BaseException) -> HistoryError:
    text = str(exc)
    low = text.lower()
    if "lock" in low:
        m = _LOCK_PID.search(text)
        who = f" (process {m.group(1)})" if m else ""
        return HistoryLockedError(
            f"{path}: the history database is in use by another Overflight process{who}. "
            "One process writes it at a time: query the running server's history API, stop "
            "that process, or give this command another --db."
        )
    return HistoryCorruptError(
        f"{path}: not a readable history database ({text.splitlines()[0][:200]}). "
        "Move the file aside (keep it: DuckDB may still read parts of it) and start a new one "
        "with --db; positions and flights can be rebuilt from an archive or the original "
        "captures with 'overflight ingest'."
    )


@dataclass(slots=True)
class HistoryStore:
    """An open history database.

    ``con`` is the DuckDB connection (the writer's); readers on other threads use
    :meth:`cursor` (a DuckDB connection is not shared between threads; its cursors are
    connections to the same database, safe to use beside a writer in the same process).
    Another process can open the file only while no process writes it (DuckDB's file lock):
    a server that stores live serves history through the same store
    (``History(writer.store)``). ``archive_dir`` holds the Parquet days.
    """

    path: Path
    con: duckdb.DuckDBPyConnection
    archive_dir: Path
    read_only: bool

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the same database for another thread (cheap)."""
        return self.con.cursor()

    def close(self) -> None:
        """Close the connection (a checkpoint folds the write-ahead log into the file)."""
        with suppress(Exception):
            self.con.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            with suppress(Exception):
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def meta(self) -> dict[str, str]:
        """The ``meta`` table as a dictionary."""
        return {str(k): str(v) for k, v in self.con.execute(
            "SELECT key, value FROM meta").fetchall()}

    def archived_days(self, table: str) -> list[str]:
        """Days (``YYYY-MM-DD``) of ``table`` moved to Parquet, in order."""
        rows = self.con.execute(
            "SELECT strftime(day, '%Y-%m-%d') FROM archived WHERE tbl = $t ORDER BY day",
            {"t": table}).fetchall()
        return [str(r[0]) for r in rows]

    def archive_files(self, table: str, start_s: float | None = None,
                      end_s: float | None = None) -> list[str]:
        """The Parquet files of ``table``'s archived days (only those committed as archived:
        a file written by an archive run that did not finish is ignored); with a window, only
        the days it touches (flights: from the day before, a flight may span midnight)."""
        lo = -(10**9) if start_s is None else math.floor(start_s / 86400.0)
        hi = 10**9 if end_s is None else math.floor(end_s / 86400.0)
        if table == "flights":
            lo -= 1
        rows = self.cursor().execute(  # a cursor: readers call this from their own threads
            "SELECT file FROM archived WHERE tbl = $t AND "
            "day BETWEEN DATE '1970-01-01' + $lo::INTEGER AND DATE '1970-01-01' + $hi::INTEGER "
            "ORDER BY day, file", {"t": table, "lo": max(lo, -(10**6)), "hi": min(hi, 10**6)}
        ).fetchall()
        return [str(self.archive_dir / str(r[0])) for r in rows]

    def source(self, table: str, params: dict[str, Any], columns: str = "*",
               start_s: float | None = None, end_s: float | None = None) -> str:
        """SQL for ``table`` as one relation: the database's rows and its archived Parquet days
        (those the window ``start_s``..``end_s`` touches; ``params`` receives the file list as
        a parameter)."""
        files = self.archive_files(table, start_s, end_s) if table in TIME_COLUMN else []
        if not files:
            return f"(SELECT {columns} FROM {table})"
        key = f"_files_{table}"
        params[key] = files
        return (f"(SELECT {columns} FROM {table} UNION ALL BY NAME "
                f"SELECT {columns} FROM read_parquet(${key}, hive_partitioning = false, "
                "union_by_name = true))")

    def next_seq(self) -> int:
        """The first free frame sequence number (frames of the next run start here)."""
        row = first_row(self.con.execute(
            "SELECT greatest((SELECT max(seq_first + n) FROM batches), "
            "(SELECT max(seq_first) FROM runs), 0)"))
        return int(row[0]) if row and row[0] is not None else 0

    def counts(self) -> dict[str, int]:
        """Rows per data table, database and archive together."""
        out = {}
        for t in ("frames", "positions", "fixes", "rejected", "events", "flights"):
            params: dict[str, Any] = {}
            row = first_row(self.con.execute(f"SELECT count(*) FROM {self.source(t, params)}",
                                   params))
            out[t] = int(row[0]) if row else 0
        return out


def _create(con: duckdb.DuckDBPyConnection) -> None:
    for name, cols in TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")


def _upgrade(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """Bring a database of an older schema ``version`` to :data:`SCHEMA_VERSION`: add the
    columns it lacks (NULL in its rows), then record the version."""
    have: dict[str, set[str]] = {}
    for t, c in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns").fetchall():
        have.setdefault(str(t), set()).add(str(c))
    for name, cols in TABLES.items():
        for col in _split_columns(cols):
            cname, ctype = col.split(" ", 1)
            if name in have and cname not in have[name]:
                con.execute(f"ALTER TABLE {name} ADD COLUMN {cname} "
                            f"{ctype.replace(' NOT NULL', '')}")
    con.execute("UPDATE meta SET value = $v WHERE key = 'schema_version'",
                {"v": str(SCHEMA_VERSION)})
    del version


def _split_columns(cols: str) -> list[str]:
    """The column definitions of a :data:`TABLES` entry (commas inside brackets kept)."""
    out, depth, cur = [], 0, ""
    for ch in cols:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch in "(["
        depth -= ch in ")]"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return [c for c in out if not c.upper().startswith("PRIMARY")]


def open_history(
    path: Path | str | None = None,
    *,
    read_only: bool = False,
    create: bool = True,
    archive_dir: Path | str | None = None,
    threads: int | None = None,
) -> HistoryStore:
    """Open (creating if allowed) the history database at ``path`` (default:
    :func:`default_db_path`).

    Raises:
        HistoryLockedError: another process holds it for writing.
        HistoryCorruptError: not a DuckDB file, or a DuckDB file without Overflight's tables.
        HistoryTooNewError: written by a newer Overflight (schema version above ours).
        FileNotFoundError: ``create`` is False (or ``read_only``) and there is no file.
    """
    import duckdb

    p = Path(path) if path is not None else default_db_path()
    if p.is_dir():
        raise HistoryCorruptError(f"{p}: is a directory, not a history database file")
    exists = p.exists()
    if not exists and (read_only or not create):
        raise FileNotFoundError(f"{p}: no history database (store one with 'overflight "
                                "ingest FILE --db PATH')")
    if not exists:
        p.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {}
    if threads is not None:
        config["threads"] = threads
    try:
        con = duckdb.connect(str(p), read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise _classify(p, exc) from None
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        if exists and "meta" not in tables:
            if tables:
                raise HistoryCorruptError(
                    f"{p}: a DuckDB database, but not an Overflight history database (no "
                    "meta table); give another --db")
            if read_only:
                raise HistoryCorruptError(f"{p}: an empty DuckDB database, not a history one")
        version = None
        if "meta" in tables:
            row = first_row(con.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"))
            version = int(row[0]) if row and str(row[0]).isdigit() else None
            if version is None:
                raise HistoryCorruptError(f"{p}: the history database has no schema version; "
                                          "move it aside and start a new one with --db")
            if version > SCHEMA_VERSION:
                raise HistoryTooNewError(
                    f"{p}: written by a newer Overflight (history schema {version}; this "
                    f"version reads up to {SCHEMA_VERSION}). Upgrade Overflight "
                    "(pip install -U overflight), or read its Parquet archive "
                    "('overflight history archive' there) with any Parquet tool.")
        if not read_only:
            _create(con)
            if version is not None and version < SCHEMA_VERSION:
                _upgrade(con, version)
            if version is None:
                con.execute("INSERT INTO meta VALUES ('schema_version', $v), "
                            "('created_by', $by) ON CONFLICT DO NOTHING",
                            {"v": str(SCHEMA_VERSION), "by": f"overflight {_version()}"})
    except HistoryError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise _classify(p, exc) from None
    adir = Path(archive_dir) if archive_dir is not None else default_archive_dir(p)
    if "meta" in tables or not read_only:
        row = first_row(con.execute("SELECT value FROM meta WHERE key = 'archive_dir'"))
        if archive_dir is None and row is not None:
            adir = Path(str(row[0]))
        elif not read_only and archive_dir is not None:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('archive_dir', $d)",
                        {"d": str(adir)})
    return HistoryStore(p, con, adir, read_only)


def environment_paths() -> Mapping[str, str | None]:
    """The environment variables that move the default database (for messages)."""
    return {k: os.environ.get(k) for k in ("OVERFLIGHT_HOME", "XDG_DATA_HOME")}
