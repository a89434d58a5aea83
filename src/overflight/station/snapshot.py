"""Taking the live picture (:class:`~overflight.station.updates.Snapshot`) from a station's
tracker: what the HTTP server, the WebSocket push and other readers use.

Taking one costs little, on the tracking thread under the station's lock: the live records are
copied out of the tracker's state table (a structured NumPy array) and identities are looked up
only for addresses not seen in the last :data:`IDENTITY_REFRESH_S`. Everything else is built
when a reader first asks, from the copy: ``aircraft.json`` by one compiled pass
(:func:`overflight.tracking.aircraft_json.records_json`), an
:class:`~overflight.tracking.records.AircraftState` per aircraft by the tracker's own
``state_of_row``.
"""

from __future__ import annotations

import copy
import math
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from overflight.jsonout import dumps
from overflight.station.updates import Snapshot
from overflight.tracking._columns import Interner
from overflight.tracking.aircraft_json import (
    EncodedStrings,
    InternedJson,
    JsonPool,
    Pool,
    aircraft_record,
    document_json,
    identity_json,
    records_json,
)
from overflight.tracking.records import AircraftState
from overflight.tracking.state import NON_ICAO_FLAG, StateTable

if TYPE_CHECKING:
    from overflight.station.station import Station
    from overflight.tracking.tracker import Tracker

__all__ = ["IDENTITY_REFRESH_S", "LiveRows", "empty_snapshot", "take_snapshot"]

IDENTITY_REFRESH_S = 60.0
"""An address's identity is looked up again after this many seconds (wall clock): a registry
import shows within this time."""


class _Identities:
    """Identities of the addresses seen in snapshots, each with its ``aircraft.json`` keys
    encoded once (:func:`identity_json`). Entries are only appended (a snapshot keeps the lists
    as they were); :func:`take_snapshot` starts a new one every :data:`IDENTITY_REFRESH_S`."""

    __slots__ = ("_encoded", "_keys", "_previous", "_slots", "born_s", "identifier", "objects",
                 "pool")

    def __init__(self, identifier: Any, previous: _Identities | None = None) -> None:
        self.identifier = identifier
        self.born_s = time.monotonic()
        self._keys: npt.NDArray[np.uint32] = np.empty(0, np.uint32)  # sorted addresses
        self._slots: npt.NDArray[np.int32] = np.empty(0, np.int32)  # their entries
        self.objects: list[Any] = []
        self._encoded: list[bytes] = []
        self.pool = JsonPool()
        self._previous = previous  # encodings reused for the same identity objects
        if previous is not None:
            previous._previous = None

    def _find(self, addresses: npt.NDArray[np.uint32]) -> npt.NDArray[np.int32]:
        """Entry of each address, -1 for those not held."""
        if self._keys.size == 0:
            return np.full(addresses.shape, -1, np.int32)
        pos = np.minimum(np.searchsorted(self._keys, addresses), self._keys.size - 1)
        return np.where(self._keys[pos] == addresses, self._slots[pos], -1).astype(np.int32)

    def slots(self, addresses: npt.NDArray[np.uint32],
              identify: Callable[[int], Any]) -> npt.NDArray[np.int32]:
        """The entry of each ICAO address (``identify`` called for those not held yet)."""
        found = self._find(addresses)
        missing = np.unique(addresses[found < 0])
        if missing.size:
            prev = self._previous
            old = prev._find(missing) if prev is not None else np.full(missing.size, -1)
            objs = [identify(a) for a in missing.tolist()]
            encoded = [
                prev._encoded[k] if prev is not None and k >= 0 and prev.objects[k] is o
                else identity_json(o)
                for o, k in zip(objs, old.tolist(), strict=True)
            ]
            base = len(self.objects)
            self.objects.extend(objs)
            self._encoded.extend(encoded)
            self.pool.extend(encoded)
            keys = np.concatenate([self._keys, missing.astype(np.uint32)])
            slots = np.concatenate(
                [self._slots, np.arange(base, base + missing.size, dtype=np.int32)])
            order = np.argsort(keys, kind="stable")
            self._keys, self._slots = keys[order], slots[order]
            found = self._find(addresses)
        return found


class _Caches:
    """What a station's snapshots share: the encoded strings and the identities."""

    __slots__ = ("identities", "strings")

    def __init__(self) -> None:
        self.strings = InternedJson()
        self.identities: _Identities | None = None


_CACHES: weakref.WeakKeyDictionary[Any, _Caches] = weakref.WeakKeyDictionary()


class LiveRows:
    """The tracker's live records at one moment (copies, most recently seen first) and what
    reading them needs: where a live :class:`Snapshot` gets its aircraft, identities and
    ``aircraft.json`` from, each built at first use."""

    __slots__ = ("_identified", "_objects", "_pool", "_strings", "_tracker", "_values",
                 "now_s", "rows")

    def __init__(self, rows: npt.NDArray[np.void], tracker: Tracker, strings: EncodedStrings,
                 identities: tuple[npt.NDArray[np.int32], list[Any], Pool] | None) -> None:
        self.rows = rows
        """The records (:data:`~overflight.tracking.state.STATE_DTYPE`), a copy."""
        self.now_s = float(tracker.now_s)
        self._tracker = tracker
        self._values = tracker.strings.values  # only appended to; compacting makes a new list
        self._strings = strings
        self._identified: npt.NDArray[np.int32] | None = None
        self._objects: list[Any] = []
        self._pool: Pool | None = None
        if identities is not None:
            self._identified, self._objects, self._pool = identities

    def __len__(self) -> int:
        return len(self.rows)

    def _frozen_tracker(self) -> Tracker:
        """The tracker as it was, enough for ``state_of_row``: its records, strings, clock."""
        view = copy.copy(self._tracker)
        table = StateTable(capacity=16)
        table.rows = self.rows
        strings = Interner()
        strings.values = self._values
        view.table, view.strings, view.now_s = table, strings, self.now_s
        return view

    def states(self) -> tuple[AircraftState, ...]:
        """One :class:`AircraftState` per record, in order."""
        view = self._frozen_tracker()
        return tuple(view.state_of_row(i) for i in range(len(self.rows)))

    def identity_of_row(self, i: int) -> Any:
        """The identity of record ``i`` (None: unknown or not an ICAO address)."""
        if self._identified is None:
            return None
        k = int(self._identified[i])
        return self._objects[k] if k >= 0 else None

    def identities(self) -> dict[int, Any]:
        """``address -> identity`` for the ICAO addresses with a known identity."""
        if self._identified is None:
            return {}
        keys = (self.rows["key"] & 0xFFFFFF).tolist()
        objs = self._objects
        return {a: objs[k] for a, k in zip(keys, self._identified.tolist(), strict=True)
                if k >= 0 and objs[k] is not None}

    def aircraft_json(self, now_s: float, messages: int, extra: dict[str, Any] | None) -> bytes:
        """readsb's ``aircraft.json`` (strict JSON bytes) of these records at ``now_s``."""
        view: list[Tracker] = []

        def record(i: int) -> bytes:  # a value the compiled writer leaves to aircraft_record
            if not view:
                view.append(self._frozen_tracker())
            state = view[0].state_of_row(i)
            return dumps(aircraft_record(state, now_s, identity=self.identity_of_row(i))).encode()

        ids = None
        if self._identified is not None and self._pool is not None:
            ids = (self._identified, self._pool)
        body = records_json(self.rows, now_s, self._strings,
                            json_reliable=int(self._tracker.json_reliable), identities=ids,
                            record=record)
        return document_json(body, now_s, messages, extra)


def take_snapshot(station: Station) -> Snapshot:
    """The station's live aircraft now, with their identities (call with its lock held)."""
    tr = station.tracker
    simulated = bool(station.config.simulated)
    if math.isnan(tr.now_s):
        return Snapshot(math.nan, time.time(), int(tr.messages), (), {}, simulated=simulated)
    live = tr.rows()
    live = live[np.argsort(-tr.table.rows["seen_t"][live], kind="stable")]
    rows = np.take(tr.table.rows, live)  # a copy (np.take: 40x faster than rows[live] here)
    caches = _CACHES.get(station)
    if caches is None:
        caches = _CACHES[station] = _Caches()
    strings = caches.strings.sync(tr.strings.values)
    identities = None
    identifier = station.identifier
    if identifier is not None:
        ident = caches.identities
        if ident is None or ident.identifier is not identifier:
            ident = caches.identities = _Identities(identifier)
        elif time.monotonic() - ident.born_s > IDENTITY_REFRESH_S:
            ident = caches.identities = _Identities(identifier, ident)
        keys = rows["key"]
        icao = (keys & NON_ICAO_FLAG) == 0
        slots = np.full(len(rows), -1, np.int32)
        slots[icao] = ident.slots(keys[icao] & 0xFFFFFF, station.identify)
        identities = (slots, ident.objects, ident.pool.arrays())
    return Snapshot(float(tr.now_s), time.time(), int(tr.messages), simulated=simulated,
                    live=LiveRows(rows, tr, strings, identities))


def empty_snapshot(station: Station) -> Snapshot:
    """A snapshot with no aircraft (before any message, or while tracking holds the lock)."""
    return Snapshot(math.nan, time.time(), 0, (), {}, simulated=station.config.simulated)
