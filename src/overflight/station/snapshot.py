"""Taking the live picture (:class:`~overflight.station.updates.Snapshot`) from a station's
tracker: what the HTTP server, the WebSocket push and other readers use."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from overflight.station.updates import Snapshot

if TYPE_CHECKING:
    from overflight.station.station import Station

__all__ = ["empty_snapshot", "take_snapshot"]


def take_snapshot(station: Station) -> Snapshot:
    """The station's live aircraft now, with their identities (call with its lock held)."""
    tr = station.tracker
    live = tr.live() if not math.isnan(tr.now_s) else []
    live.sort(key=lambda a: -a.last_seen_s)
    ids: dict[int, Any] = {}
    if station.identifier is not None:
        for a in live:
            if not a.non_icao:
                i = station.identify(a.address)
                if i is not None:
                    ids[a.address] = i
    return Snapshot(
        time_s=float(tr.now_s), wall_s=time.time(), messages=int(tr.messages),
        aircraft=tuple(live), identities=ids, simulated=station.config.simulated,
    )


def empty_snapshot(station: Station) -> Snapshot:
    """A snapshot with no aircraft (before any message, or while tracking holds the lock)."""
    return Snapshot(math.nan, time.time(), 0, (), {}, simulated=station.config.simulated)
