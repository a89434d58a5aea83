"""Typed records the tracker hands to people and to the next stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = [
    "EXPIRED_SCHEMA",
    "POSITIONS_SCHEMA",
    "AircraftState",
    "Event",
    "FieldStamp",
    "ReceiverSignal",
    "positions_table",
]


POSITIONS_SCHEMA = pa.schema(
    [
        pa.field("icao24", pa.string(), nullable=False),
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("non_icao", pa.bool_(), nullable=False),
        pa.field("time_s", pa.float64(), nullable=False),
        pa.field("lat_deg", pa.float64(), nullable=False),
        pa.field("lon_deg", pa.float64(), nullable=False),
        pa.field("altitude_ft", pa.float64()),
        pa.field("altitude_gnss_ft", pa.float64()),
        pa.field("groundspeed_kt", pa.float64()),
        pa.field("track_deg", pa.float64()),
        pa.field("vertical_rate_fpm", pa.float64()),
        pa.field("on_ground", pa.bool_()),
        pa.field("callsign", pa.string()),
        pa.field("squawk", pa.string()),
        pa.field("nic", pa.int8()),
        pa.field("nac_p", pa.int8()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("reference", pa.string(), nullable=False),
        pa.field("frame_seq", pa.int64(), nullable=False),
        pa.field("pair_frame_seq", pa.int64(), nullable=False),
    ]
)
"""Accepted positions, one row each (``altitude_ft`` barometric; nulls where unknown).

Values as of the frame that made the position: ``altitude_ft`` / ``altitude_gnss_ft`` (GNSS:
from TC 20-22 positions, or barometric plus the velocity messages' GNSS-baro difference),
``groundspeed_kt``, ``track_deg``, ``vertical_rate_fpm``, ``on_ground`` when set in the last
60 s; ``callsign`` and ``squawk`` (four octal digits as text) the aircraft's latest; ``nic``
the position's own (readsb's rule: the frame's type code with NIC-B from it, NIC-A/C from the
last operational status; the lower of a CPR pair's two); ``nac_p`` the aircraft's latest
(operational status, TC 29). ``nic`` and ``nac_p`` are null for MLAT fixes and decoded state.

``reference``: what resolved the position ("pair": an airborne even/odd pair alone, "aircraft":
its last position, "receiver", "airport": the one surface candidate near an airport, "mlat").

Evidence keys (the caller's per-frame sequence numbers, ``Tracker.update(table, seq)``):
``frame_seq`` is the frame that completed the position (for MLAT the frame given to
``Tracker.update_mlat(frame_seq=...)``), ``pair_frame_seq`` the other frame of a CPR even/odd
pair (-1 for a local decode or an MLAT fix); -1 wherever the caller gave no sequence numbers."""

def positions_table(columns: Mapping[str, Any]) -> pa.Table:
    """A :data:`POSITIONS_SCHEMA` table from columns by name; nullable columns left out are null
    (the way to build positions outside the tracker, so added columns break no caller)."""
    n = len(next(iter(columns.values()))) if columns else 0
    arrays = []
    for f in POSITIONS_SCHEMA:
        if f.name in columns:
            arrays.append(pa.array(columns[f.name], f.type))
        elif f.nullable:
            arrays.append(pa.nulls(n, f.type))
        else:
            raise KeyError(f"positions_table: column {f.name!r} is required")
    return pa.Table.from_arrays(arrays, schema=POSITIONS_SCHEMA)


EXPIRED_SCHEMA = pa.schema(
    [
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("non_icao", pa.bool_(), nullable=False),
        pa.field("icao24", pa.string(), nullable=False),
        pa.field("first_seen_s", pa.float64()),
        pa.field("last_seen_s", pa.float64()),
        pa.field("messages", pa.int64()),
    ]
)
"""Aircraft whose state :meth:`Tracker.expire` removed (times: epoch seconds; ``icao24``: six
hex digits, without the "~" of non-ICAO addresses, which ``non_icao`` tells)."""


@dataclass(frozen=True, slots=True)
class FieldStamp:
    """When and from which source (adsb, mlat, tisb, adsr, modes) a field was last set."""

    time_s: float
    source: str


@dataclass(frozen=True, slots=True)
class ReceiverSignal:
    """One receiver's view of an aircraft: messages heard, last signal (dBFS) and time."""

    receiver: int
    messages: int
    signal_dbfs: float | None
    last_time_s: float


@dataclass(frozen=True, slots=True)
class Event:
    """Something alerts care about: an emergency squawk (7500/7600/7700) or ADS-B emergency state.

    ``kind`` is ``"squawk"`` or ``"emergency"``.
    """

    kind: str
    time_s: float
    icao24: str
    address: int
    non_icao: bool
    squawk: str | None
    emergency: str | None
    callsign: str | None
    lat_deg: float | None
    lon_deg: float | None


@dataclass(frozen=True, slots=True, eq=False)
class AircraftState:
    """One aircraft as last tracked. Units in names; None where never received.

    ``stamps`` maps each set field name to its :class:`FieldStamp`. ``position_*`` describe
    the last accepted position (``position_reference``: what resolved it, as in
    :data:`POSITIONS_SCHEMA`); ``reliable`` tells whether readsb's reliability counters vouch
    for it. ``conflicts`` counts the CPR frames rejected as disagreeing with its trusted
    position or their pair (another transmitter using the address, or corrupt frames);
    ``conflicting`` ("conflicting sources") is set while they come often (3 within a minute,
    ``tracking._kernel``).
    """

    icao24: str
    address: int
    non_icao: bool
    addr_type: str
    first_seen_s: float
    last_seen_s: float
    messages: int
    positions: int
    lat_deg: float | None
    lon_deg: float | None
    position_time_s: float | None
    position_source: str | None
    position_reference: str | None
    reliable: bool
    on_ground: bool | None
    altitude_baro_ft: float | None
    altitude_gnss_ft: float | None
    groundspeed_kt: float | None
    track_deg: float | None
    baro_rate_fpm: float | None
    geom_rate_fpm: float | None
    tas_kt: float | None
    ias_kt: float | None
    callsign: str | None
    squawk: str | None
    emergency: str | None
    category: str | None
    nic: int | None
    rc_m: float | None
    nac_p: int | None
    sil: int | None
    sil_type: str | None
    """SIL supplement (DO-260B): "perhour" or "persample"; None when unknown (versions 0/1)."""
    adsb_version: int | None
    selected_altitude_ft: float | None
    selected_heading_deg: float | None
    rssi_dbfs: float | None
    receivers: tuple[ReceiverSignal, ...] = ()
    stamps: dict[str, FieldStamp] = field(default_factory=dict)
    conflicts: int = 0
    conflicting: bool = False
