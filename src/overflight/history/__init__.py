"""History: every frame, position, fix, event and flight the station publishes, kept in one
DuckDB file (no server) with old days in Parquet, and asked back in milliseconds.

* :mod:`~overflight.history.store`: the database, its tables and schema version, its faults.
* :mod:`~overflight.history.writer`: :class:`HistoryWriter`, the station subscriber.
* :mod:`~overflight.history.ingest`: run the station over capture files into the database.
* :mod:`~overflight.history.query`: tracks, flights, an airport's day, an area, who was seen.
* :mod:`~overflight.history.export`: CSV, GeoJSON, KML (gx:Track), JSON, readsb trace_full.
* :mod:`~overflight.history.archive`: Parquet days (hive style), retention.
* :mod:`~overflight.history.rebuild`: positions and flights again from the stored frames.
"""

from __future__ import annotations

from overflight.history.store import (
    SCHEMA_VERSION,
    HistoryCorruptError,
    HistoryError,
    HistoryLockedError,
    HistoryStore,
    HistoryTooNewError,
    default_db_path,
    open_history,
)
from overflight.history.writer import HistoryWriter, WriterStats

__all__ = [
    "SCHEMA_VERSION",
    "HistoryCorruptError",
    "HistoryError",
    "HistoryLockedError",
    "HistoryStore",
    "HistoryTooNewError",
    "HistoryWriter",
    "WriterStats",
    "default_db_path",
    "open_history",
]
