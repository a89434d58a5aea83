"""The Arrow schemas of everything the station publishes: one declaration, shared by every
subscriber (history tables, the server, exports, a message bus).

Units are in the column names. ``address`` is the 24-bit address as ``uint32`` with ``non_icao``
beside it (TIS-B / anonymous addresses); ``icao24`` is hex text for display only. ``seq`` is the
station's per-frame sequence number (``int64``, from 0 at start, never reused in a run): every
position (``frame_seq``, ``pair_frame_seq``), fix (``frame_seqs``), event (``frame_seq``) and
flight (``departure_frame_seq`` ... ``last_frame_seq``) names the frames it came from by it.
``-1`` means unknown.
"""

from __future__ import annotations

import pyarrow as pa

from overflight.tracking.mlat_feed import FIXES_SCHEMA
from overflight.tracking.records import POSITIONS_SCHEMA

__all__ = [
    "EVENTS_SCHEMA",
    "FIXES_SCHEMA",
    "FLIGHTS_SCHEMA",
    "FRAMES_SCHEMA",
    "GONE_SCHEMA",
    "POSITIONS_SCHEMA",
    "REJECTED_SCHEMA",
    "SCHEMAS",
]

FRAMES_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("time_s", pa.float64()),
        pa.field("receiver", pa.uint64(), nullable=False),
        pa.field("signal_dbfs", pa.float32()),
        pa.field("ticks", pa.uint64(), nullable=False),
        pa.field("raw", pa.binary(), nullable=False),
    ]
)
"""Every frame heard (the evidence): reception time (UTC epoch s, null when unknown), receiver
id, signal level (dBFS), the receiver's own MLAT counter, and the frame's bytes (2, 7 or 14)."""

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("time_s", pa.float64()),
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("non_icao", pa.bool_(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
    ]
)
"""Decoded positions the tracker refused as bad data, with the reason
(:data:`overflight.tracking.REJECTION_REASONS`) and the frame that carried them."""

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("time_s", pa.float64(), nullable=False),
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("non_icao", pa.bool_(), nullable=False),
        pa.field("icao24", pa.string(), nullable=False),
        pa.field("callsign", pa.string()),
        pa.field("squawk", pa.string()),
        pa.field("lat_deg", pa.float64()),
        pa.field("lon_deg", pa.float64()),
        pa.field("airport", pa.string()),
        pa.field("before", pa.string()),
        pa.field("after", pa.string()),
        pa.field("flight_id", pa.string()),
        pa.field("frame_seq", pa.int64(), nullable=False),
    ]
)
"""Events: ``first_seen``, ``emergency`` (7500/7600/7700 or an ADS-B emergency state),
``callsign_changed`` / ``squawk_changed`` (``before`` -> ``after``), ``takeoff`` / ``landing``
(with the ICAO ``airport`` when one is known and the ``flight_id``), ``gone`` (left the live
table). ``event_id`` is stable: the same input gives the same ids. ``frame_seq``: the frame
that raised it (for a take-off or landing, the position nearest its time; -1 unknown)."""

GONE_SCHEMA = pa.schema(
    [
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("non_icao", pa.bool_(), nullable=False),
        pa.field("icao24", pa.string(), nullable=False),
        pa.field("first_seen_s", pa.float64()),
        pa.field("last_seen_s", pa.float64()),
        pa.field("messages", pa.int64()),
    ]
)
"""Aircraft that left the station's state (not heard for the expiry time)."""

_AIRPORT_END = [
    ("airport", pa.string()),
    ("airport_how", pa.string()),
    ("airport_name", pa.string()),
    ("time_s", pa.float64()),
    ("how", pa.string()),
    ("lat_deg", pa.float64()),
    ("lon_deg", pa.float64()),
]

FLIGHTS_SCHEMA = pa.schema(
    [
        pa.field("flight_id", pa.string(), nullable=False),
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("icao24", pa.string(), nullable=False),
        pa.field("registration", pa.string()),
        pa.field("typecode", pa.string()),
        pa.field("callsigns", pa.list_(pa.string())),
        *[pa.field(f"departure_{n}", t) for n, t in _AIRPORT_END],
        *[pa.field(f"arrival_{n}", t) for n, t in _AIRPORT_END],
        pa.field("first_seen_s", pa.float64(), nullable=False),
        pa.field("last_seen_s", pa.float64(), nullable=False),
        pa.field("distance_km", pa.float64()),
        pa.field("max_altitude_ft", pa.float64()),
        pa.field("observed_fraction", pa.float64()),
        pa.field("n_points", pa.int64()),
        pa.field("n_messages", pa.int64()),
        pa.field("gaps_s", pa.list_(pa.list_(pa.float64(), 2))),
        pa.field("touch_and_goes", pa.int64()),
        pa.field("position_sources", pa.list_(pa.string())),
        pa.field("departure_frame_seq", pa.int64()),
        pa.field("arrival_frame_seq", pa.int64()),
        pa.field("first_frame_seq", pa.int64()),
        pa.field("last_frame_seq", pa.int64()),
    ]
)
"""Closed flights (legs). Each end: ICAO ``airport`` code with how it was found
(``airport_how``), the time (UTC epoch s) with how it is known (``how``: observed / inferred /
estimated / unknown) and where. ``position_sources``: the sources of the positions behind the
leg (adsb, mlat, tisb...). ``*_frame_seq``: the frames the leg rests on (the positions nearest
its departure and arrival times, its first and last; -1 unknown)."""

SCHEMAS: dict[str, pa.Schema] = {
    "frames": FRAMES_SCHEMA,
    "positions": POSITIONS_SCHEMA,
    "rejected": REJECTED_SCHEMA,
    "fixes": FIXES_SCHEMA,
    "events": EVENTS_SCHEMA,
    "gone": GONE_SCHEMA,
    "flights": FLIGHTS_SCHEMA,
}
"""Every table the station publishes, by name (history stores one table per name)."""
