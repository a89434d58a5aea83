"""A snapshot source with many aircraft: the capture's real tracked states, copied under new
addresses and spread over a region, with a new snapshot (more messages) at every call."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Sequence

from overflight.station import Snapshot, StationConfig
from overflight.tracking.records import AircraftState


class ManyAircraft:
    """``.snapshot()`` returns a new :class:`Snapshot` of ``n`` aircraft each call (each
    aircraft one message more), like a busy station; ``.config`` as a station's."""

    def __init__(self, states: Sequence[AircraftState], n: int, *, seed: int = 1) -> None:
        self.config = StationConfig(snapshot_every_s=0.0)
        rng = random.Random(seed)
        with_pos = [s for s in states if s.lat_deg is not None] or list(states)
        base_t = max(s.last_seen_s for s in states)
        self._base: list[AircraftState] = []
        for i in range(n):
            s = with_pos[i % len(with_pos)]
            addr = 0x100000 + i
            lat = rng.uniform(40.0, 50.0) if s.lat_deg is not None else None
            lon = rng.uniform(-5.0, 10.0) if s.lon_deg is not None else None
            self._base.append(dataclasses.replace(
                s, address=addr, icao24=f"{addr:06x}", lat_deg=lat, lon_deg=lon))
        self.time_s = base_t
        self.calls = 0
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        with self._lock:
            self.calls += 1
            k = self.calls
        ac = tuple(dataclasses.replace(s, messages=s.messages + k) for s in self._base)
        return Snapshot(self.time_s, time.time(), sum(a.messages for a in ac), ac, {})
