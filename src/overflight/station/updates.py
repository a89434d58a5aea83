"""Typed updates the station hands to its subscribers, and the live snapshot readers share.

Every update is frozen and carries one Arrow table in a schema of :mod:`overflight.station.schema`
(``update.name`` names it), so a subscriber that stores or forwards tables (history, a message
bus) needs no per-type code, and one that cares about one kind matches on the class::

    def on_update(update: Update) -> None:
        match update:
            case Events(table=t): ...
            case Flights(flights=fs): ...
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.station.schema import FLIGHTS_SCHEMA, FRAMES_SCHEMA
from overflight.tracking.records import AircraftState

if TYPE_CHECKING:
    from overflight.flights.records import Flight
    from overflight.station.snapshot import LiveRows

__all__ = [
    "Changed",
    "Events",
    "Fixes",
    "Flights",
    "Frames",
    "Gone",
    "Positions",
    "Rejected",
    "Snapshot",
    "Subscriber",
    "Update",
    "flights_table",
]


@dataclass(frozen=True, slots=True)
class Frames:
    """A batch of frames as heard, with their sequence numbers ``seq_first .. seq_first+n-1``."""

    name: ClassVar[str] = "frames"
    batch: FrameBatch
    seq_first: int

    @property
    def seq(self) -> npt.NDArray[np.int64]:
        """Sequence number of each frame (int64)."""
        return np.arange(self.seq_first, self.seq_first + len(self.batch), dtype=np.int64)

    @property
    def table(self) -> pa.Table:
        """The frames as :data:`~overflight.station.schema.FRAMES_SCHEMA` (built on demand)."""
        b = self.batch
        n = len(b)
        lengths = b.length_bytes.astype(np.int64)
        offsets = np.zeros(n + 1, np.int32)
        np.cumsum(lengths, out=offsets[1:])
        mask = np.arange(b.data.shape[1])[None, :] < lengths[:, None]
        raw = pa.BinaryArray.from_buffers(
            pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(b.data[mask].tobytes())]
        )
        t = b.time_s
        return pa.Table.from_arrays(
            [
                pa.array(self.seq),
                pa.array(t, mask=np.isnan(t)),
                pa.array(b.receiver),
                pa.array(b.signal_dbfs, mask=np.isnan(b.signal_dbfs)),
                pa.array(b.ticks),
                raw,
            ],
            schema=FRAMES_SCHEMA,
        )


@dataclass(frozen=True, slots=True)
class Positions:
    """Positions the tracker accepted (:data:`POSITIONS_SCHEMA`; sources adsb, tisb, adsr,
    mlat), each naming its frame(s) by ``frame_seq`` / ``pair_frame_seq``."""

    name: ClassVar[str] = "positions"
    table: pa.Table


@dataclass(frozen=True, slots=True)
class Rejected:
    """Decoded positions the tracker refused as bad data (:data:`REJECTED_SCHEMA`)."""

    name: ClassVar[str] = "rejected"
    table: pa.Table


@dataclass(frozen=True, slots=True)
class Fixes:
    """MLAT fixes offered to the tracker (:data:`FIXES_SCHEMA`)."""

    name: ClassVar[str] = "fixes"
    table: pa.Table


@dataclass(frozen=True, slots=True)
class Changed:
    """Aircraft whose state changed in one batch: columns ``address`` (uint32), ``non_icao``;
    ``time_s`` is the station's clock (latest message time, UTC epoch s) after the batch."""

    name: ClassVar[str] = "changed"
    table: pa.Table
    time_s: float


@dataclass(frozen=True, slots=True)
class Gone:
    """Aircraft that left the station's state (:data:`GONE_SCHEMA`)."""

    name: ClassVar[str] = "gone"
    table: pa.Table


@dataclass(frozen=True, slots=True)
class Events:
    """Events (:data:`EVENTS_SCHEMA`): first seen, emergency, callsign / squawk changed,
    take-off, landing."""

    name: ClassVar[str] = "events"
    table: pa.Table


@dataclass(frozen=True, slots=True)
class Flights:
    """Flights (legs) closed by the latest positions, as records and as
    :data:`FLIGHTS_SCHEMA`."""

    name: ClassVar[str] = "flights"
    flights: tuple[Flight, ...]
    table: pa.Table
    address: tuple[int, ...] = field(default=())


Update = Frames | Positions | Rejected | Fixes | Changed | Gone | Events | Flights
"""Anything the station publishes."""


@runtime_checkable
class Subscriber(Protocol):
    """What the station calls with each update (a plain callable works too)."""

    def on_update(self, update: Update) -> None: ...


SubscriberLike = Subscriber | Callable[[Update], None]


def _end(prefix: str, f: Flight) -> dict[str, Any]:
    est = f.departure if prefix == "departure" else f.arrival
    return {
        f"{prefix}_airport": est.code,
        f"{prefix}_airport_how": est.how,
        f"{prefix}_airport_name": est.name,
        f"{prefix}_time_s": f.departure_time_s if prefix == "departure" else f.arrival_time_s,
        f"{prefix}_how": f.departure_how if prefix == "departure" else f.arrival_how,
        f"{prefix}_lat_deg": est.lat_deg,
        f"{prefix}_lon_deg": est.lon_deg,
    }


_EVIDENCE = ("departure_frame_seq", "arrival_frame_seq", "first_frame_seq", "last_frame_seq")


def flights_table(
    flights: tuple[Flight, ...] | list[Flight],
    sources: Mapping[str, tuple[str, ...]] | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Flights as :data:`FLIGHTS_SCHEMA` rows; ``sources`` maps a flight id to the sources
    of its positions, ``evidence`` to the frames it rests on
    (:class:`~overflight.station.flights.FlightEvidence`; -1 where not given)."""
    rows = []
    for f in flights:
        ev = (evidence or {}).get(f.id)
        rows.append(
            {
                "flight_id": f.id,
                "address": int(f.icao24, 16),
                "icao24": f.icao24,
                "registration": f.registration,
                "typecode": f.typecode,
                "callsigns": list(f.callsigns),
                **_end("departure", f),
                **_end("arrival", f),
                "first_seen_s": f.first_seen_s,
                "last_seen_s": f.last_seen_s,
                "distance_km": f.distance_km,
                "max_altitude_ft": f.max_altitude_ft,
                "observed_fraction": f.observed_fraction,
                "n_points": f.n_points,
                "n_messages": f.n_messages,
                "gaps_s": [[a, b] for a, b in f.gaps],
                "touch_and_goes": f.touch_and_goes,
                "position_sources": list((sources or {}).get(f.id, ())),
                **{k: getattr(ev, k) if ev is not None else -1 for k in _EVIDENCE},
            }
        )
    return pa.Table.from_pylist(rows, schema=FLIGHTS_SCHEMA)


class Snapshot:
    """The live picture at one moment, immutable: what the HTTP server and other readers use.

    Taken by the station at most every ``snapshot_every_s`` (config), never per request. A
    station's snapshot holds a copy of the tracker's live records
    (:class:`~overflight.station.snapshot.LiveRows`, ``live``); its aircraft, identities and
    ``aircraft.json`` are built from them when first read, once. Others (the message bus's
    picture, tests) give ``aircraft`` and ``identities`` themselves.

    Attributes:
        time_s: the station's clock (latest message time, UTC epoch seconds; NaN before any).
        wall_s: wall-clock time the snapshot was taken (epoch seconds).
        messages: messages applied to some aircraft since the start.
        aircraft: the live aircraft (readsb's rule: a position in the last 60 s or any
            message in the last 30 s), most recently seen first.
        identities: ``address -> identity`` (:class:`overflight.identity.AircraftIdentity`)
            for ICAO addresses of ``aircraft`` with a known identity.
        simulated: True when the station's input is simulated (the demo): every answer says so.
    """

    __slots__ = ("_aircraft", "_identities", "_json", "_live", "messages", "simulated",
                 "time_s", "wall_s")

    time_s: float
    wall_s: float
    messages: int
    simulated: bool
    _live: LiveRows | None
    _aircraft: tuple[AircraftState, ...] | None
    _identities: Mapping[int, Any] | None
    _json: dict[str, Any]

    def __init__(
        self,
        time_s: float,
        wall_s: float,
        messages: int,
        aircraft: tuple[AircraftState, ...] | None = None,
        identities: Mapping[int, Any] | None = None,
        simulated: bool = False,
        *,
        live: LiveRows | None = None,
    ) -> None:
        init = object.__setattr__
        init(self, "time_s", time_s)
        init(self, "wall_s", wall_s)
        init(self, "messages", messages)
        init(self, "simulated", simulated)
        init(self, "_live", live)
        init(self, "_aircraft", tuple(aircraft) if aircraft is not None
             else None if live is not None else ())
        init(self, "_identities", identities if identities is not None
             else None if live is not None else {})
        init(self, "_json", {})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Snapshot is immutable: cannot set {name!r}")

    def __repr__(self) -> str:
        return (f"Snapshot(time_s={self.time_s!r}, wall_s={self.wall_s!r}, "
                f"messages={self.messages!r}, aircraft={self._count()}, "
                f"simulated={self.simulated!r})")

    def _count(self) -> int:
        """Number of live aircraft (without building them)."""
        if self._aircraft is not None:
            return len(self._aircraft)
        return len(self._live) if self._live is not None else 0

    @property
    def aircraft(self) -> tuple[AircraftState, ...]:
        """The live aircraft, most recently seen first (built at first use)."""
        ac = self._aircraft
        if ac is None:
            assert self._live is not None
            ac = self._live.states()
            object.__setattr__(self, "_aircraft", ac)
        return ac

    @property
    def identities(self) -> Mapping[int, Any]:
        """``address -> identity`` for the ICAO addresses of :attr:`aircraft` with one."""
        ids = self._identities
        if ids is None:
            assert self._live is not None
            ids = self._live.identities()
            object.__setattr__(self, "_identities", ids)
        return ids

    def identity(self, a: AircraftState) -> Any:
        """The identity of ``a`` (None for non-ICAO addresses or unknown)."""
        return None if a.non_icao else self.identities.get(a.address)

    def _now(self) -> float:
        return self.time_s if self.time_s == self.time_s else self.wall_s

    def aircraft_json_bytes(self) -> bytes:
        """readsb's ``aircraft.json`` (epoch ``now``) as strict JSON bytes, built once per
        snapshot: from the live records by the compiled writer, else from :attr:`aircraft`."""
        raw = self._json.get("bytes")
        if raw is None:
            if self._live is not None:
                raw = self._live.aircraft_json(
                    self._now(), self.messages, {"simulated": True} if self.simulated else None)
            else:
                from overflight.jsonout import dumps

                raw = dumps(self.aircraft_json()).encode()
            self._json["bytes"] = raw
        return raw

    def aircraft_json(self) -> dict[str, Any]:
        """readsb's ``aircraft.json`` document (epoch ``now``), built once per snapshot."""
        doc = self._json.get("doc")
        if doc is None:
            if self._live is not None:
                doc = json.loads(self.aircraft_json_bytes())
            else:
                from overflight.tracking.aircraft_json import aircraft_json

                doc = aircraft_json(self.aircraft, self._now(), self.messages,
                                    identify=self.identities.get)
                if self.simulated:
                    doc["simulated"] = True
            self._json["doc"] = doc
        return doc
