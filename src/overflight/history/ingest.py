"""Files into history: run the station over a capture or recording and store what it publishes.

Every format ``overflight track`` reads is accepted (Beast, AVR, JSON lines, CSV, text, I/Q),
gzip or not. Each file is one run (``runs``): its frames get the database's next sequence
numbers, and its content digest (SHA-256) is kept so the same file is not stored twice by
mistake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overflight.history.store import HistoryStore, first_row, open_history
from overflight.history.writer import HistoryWriter, WriterStats

__all__ = ["AlreadyStoredError", "IngestResult", "file_digest", "ingest_file", "ingest_recording"]


class AlreadyStoredError(Exception):
    """The file's content is already in the database (``run_id`` says which run)."""

    def __init__(self, path: Path | str, run_id: int) -> None:
        super().__init__(f"{path}: already stored (run {run_id})")
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one file gave: the run, rows stored and not stored, the reader (its ``stats``),
    the read error that ended it early (None when read whole), and the writer's failure."""

    run_id: int
    stored: dict[str, int]
    not_stored: dict[str, int]
    reader: Any
    fault: BaseException | None
    failed: str | None


def file_digest(path: Path | str) -> str | None:
    """SHA-256 of a file's bytes (None for standard input or something not a regular file)."""
    p = Path(path)
    if str(path) == "-" or not p.is_file():
        return None
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def ingest_file(
    path: Path | str,
    store: HistoryStore | Path | str | None = None,
    *,
    receivers_csv: Path | str | None = None,
    identity_db: Path | str | None = None,
    flush_every_s: float = 1.0,
    on_flush: Callable[[WriterStats], None] | None = None,
    again: bool = False,
    fmt: str | None = None,
    start_time_s: float | None = None,
    keep_open: bool = False,
) -> IngestResult:
    """Run ``path`` through a :class:`~overflight.station.Station` and store every update.

    Args:
        path: a capture or recording (``-``: standard input).
        store: an open store or a database path (default: the user's database).
        receivers_csv: MLAT receivers table (``serial,latitude,longitude,height,type``).
        identity_db: aircraft store for identities (default: the user's, when present).
        flush_every_s: most wall seconds between commits (a crash loses at most that).
        on_flush: called after each commit.
        again: store the file even if the same content is already stored.
        fmt: force the input format (default: detected).
        start_time_s: UTC seconds of the first frame for captures without absolute time.
        keep_open: leave ``store`` open afterwards (when the caller passed an open store).

    Raises:
        AlreadyStoredError: the same content was ingested before (and not ``again``).
        HistoryError: the database cannot be opened.
    """
    from overflight.station import Station, StationConfig

    st = store if isinstance(store, HistoryStore) else open_history(store)
    digest = file_digest(path)
    if digest is not None and not again:
        row = first_row(st.con.execute(
            "SELECT min(run_id) FROM runs WHERE digest = $d AND kind = 'ingest'",
            {"d": digest}))
        if row and row[0] is not None:
            if not keep_open:
                st.close()
            raise AlreadyStoredError(path, int(row[0]))
    config = StationConfig(
        receivers_csv=Path(receivers_csv) if receivers_csv is not None else None,
        identity_db=Path(identity_db) if identity_db is not None else None,
    )
    station = Station(config)
    writer = HistoryWriter(st, kind="ingest", source=str(path), digest=digest,
                           receivers_csv=receivers_csv, flush_every_s=flush_every_s,
                           on_flush=on_flush, owns_store=not keep_open)
    station.subscribe(writer, block=True, kinds=("frames", "positions", "fixes", "rejected",
                                                  "events", "flights"))
    failure: list[BaseException] = []
    try:
        reader = station.run_file(path, fmt=fmt, start_time_s=start_time_s, failure=failure)
    finally:
        station.close()  # delivers what is queued, then writer.close()
    return IngestResult(
        run_id=writer.run_id, stored=dict(writer.stats.stored),
        not_stored=dict(writer.stats.not_stored), reader=reader,
        fault=failure[0] if failure else getattr(reader, "fault", None),
        failed=writer.stats.failed,
    )


def ingest_recording(
    paths: list[Path | str],
    store: HistoryStore | Path | str | None = None,
    *,
    receivers_csv: Path | str | None = None,
    identity_db: Path | str | None = None,
    flush_every_s: float = 1.0,
    on_flush: Callable[[WriterStats], None] | None = None,
    keep_open: bool = False,
) -> IngestResult:
    """Store the pieces of one recording (``overflight record``'s hourly files, a scenario's
    recordings) as one run: one station reads them in the order given, so tracks and flights
    go on across the cuts. The run's digest lists the files' digests; none is checked against
    earlier runs (use :func:`ingest_file` per file for that)."""
    from overflight.station import Station, StationConfig

    st = store if isinstance(store, HistoryStore) else open_history(store)
    digests = [file_digest(p) or "" for p in paths]
    station = Station(StationConfig(
        receivers_csv=Path(receivers_csv) if receivers_csv is not None else None,
        identity_db=Path(identity_db) if identity_db is not None else None,
    ))
    writer = HistoryWriter(st, kind="ingest", source="; ".join(str(p) for p in paths),
                           digest=",".join(digests), receivers_csv=receivers_csv,
                           flush_every_s=flush_every_s, on_flush=on_flush,
                           owns_store=not keep_open)
    station.subscribe(writer, block=True, kinds=("frames", "positions", "fixes", "rejected",
                                                  "events", "flights"))
    failure: list[BaseException] = []
    reader: Any = None
    try:
        for p in paths:
            reader = station.run_file(p, failure=failure, finish=False)
            if failure:
                break
        station.finish()
    finally:
        station.close()
    return IngestResult(
        run_id=writer.run_id, stored=dict(writer.stats.stored),
        not_stored=dict(writer.stats.not_stored), reader=reader,
        fault=failure[0] if failure else getattr(reader, "fault", None),
        failed=writer.stats.failed,
    )
