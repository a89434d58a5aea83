"""Tracking: decoded messages in, one trustworthy state per aircraft out.

:class:`Tracker` consumes ``overflight.modes.decode_batch`` tables (and MLAT fixes through
:meth:`Tracker.update_mlat`), pairs CPR frames, validates positions as readsb does, raises
:class:`Event` records for emergencies, and renders readsb's ``aircraft.json``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from overflight.tracking._columns import TRACKER_COLUMNS
from overflight.tracking.aircraft_json import aircraft_json, aircraft_record
from overflight.tracking.records import (
    EXPIRED_SCHEMA,
    POSITIONS_SCHEMA,
    AircraftState,
    Event,
    FieldStamp,
    ReceiverSignal,
)
from overflight.tracking.tracker import (
    CONFIRM_WITHIN_S,
    LIVE_ANY_MESSAGE_S,
    LIVE_POSITION_S,
    MAX_AIRCRAFT,
    MAX_PENDING_EVENTS,
    OUTCOME_NAMES,
    REFERENCE_NAMES,
    REJECTION_REASONS,
    SEEN_ONCE_SLOTS,
    Tracker,
)

__all__ = [
    "CONFIRM_WITHIN_S",
    "EXPIRED_SCHEMA",
    "LIVE_ANY_MESSAGE_S",
    "LIVE_POSITION_S",
    "MAX_AIRCRAFT",
    "MAX_PENDING_EVENTS",
    "OUTCOME_NAMES",
    "POSITIONS_SCHEMA",
    "REFERENCE_NAMES",
    "REJECTION_REASONS",
    "SEEN_ONCE_SLOTS",
    "TRACKER_COLUMNS",
    "AircraftState",
    "Event",
    "FieldStamp",
    "ReceiverSignal",
    "Tracker",
    "aircraft_json",
    "aircraft_record",
    "track_positions",
]


def track_positions(
    tables: pa.Table | Iterable[pa.Table], receiver_lat_lon: tuple[float, float] | None = None
) -> pa.Table:
    """Accepted positions (:data:`POSITIONS_SCHEMA`) of decoded message tables, tracked in order."""
    tracker = Tracker(receiver_lat_lon)
    batches = [tables] if isinstance(tables, pa.Table) else list(tables)
    out = [tracker.update(t) for t in batches]
    return pa.concat_tables(out) if out else POSITIONS_SCHEMA.empty_table()
