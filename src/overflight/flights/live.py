"""Live flight detection: positions arrive in chunks, flights open and close.

Each update re-runs the batch detector over the positions buffered since each aircraft's last
closed flight, so live and batch give the same flights. A flight is closed (emitted once) when a
later flight of the same aircraft has begun, or when the aircraft has been silent for longer than
any gap that could still continue it (12 h), or on :meth:`LiveFlights.flush`.
"""

from __future__ import annotations

import numpy as np

from overflight.flights.airports import AirportIndex, default_index
from overflight.flights.build import Identifier, find_flights
from overflight.flights.records import Flight
from overflight.flights.segment import ARR_GAP_GROUND, ARR_LANDING, Params
from overflight.flights.table import PositionTable, concat

__all__ = ["LiveFlights"]

_SILENCE_S = 12 * 3600.0


class LiveFlights:
    """Incremental flights over a stream of position chunks."""

    def __init__(
        self,
        index: AirportIndex | None = None,
        identifier: Identifier | None = None,
        params: Params | None = None,
    ) -> None:
        self._index = index or default_index()
        self._identifier = identifier
        self._params = params or Params()
        self._buffer: PositionTable | None = None
        self._open: tuple[Flight, ...] = ()
        self._emitted: set[str] = set()
        self.closed: list[Flight] = []

    def open_flights(self) -> tuple[Flight, ...]:
        """Flights still open (provisional: they may grow or change as positions arrive)."""
        return self._open

    def update(self, chunk: PositionTable) -> list[Flight]:
        """Add positions; return the flights closed by them."""
        buf = chunk if self._buffer is None else concat([self._buffer, chunk])
        now = float(np.max(buf.time_s)) if len(buf) else 0.0
        return self._settle(buf, now, final=False)

    def flush(self) -> list[Flight]:
        """Close every remaining flight (end of stream)."""
        if self._buffer is None:
            return []
        return self._settle(self._buffer, float("inf"), final=True)

    def _settle(self, buf: PositionTable, now: float, final: bool) -> list[Flight]:
        res = find_flights(buf, self._index, self._identifier, self._params)
        flights = res.flights
        legs = res.legs
        keep = np.ones(len(buf), dtype=bool)
        out: list[Flight] = []
        still_open: list[Flight] = []
        for i, f in enumerate(flights):
            later = i + 1 < len(flights) and flights[i + 1].icao24 == f.icao24
            last_row = buf.time_s[buf.icao24 == buf.icao24[f.row_start]]
            silent = now - float(last_row[-1]) > _SILENCE_S
            if final or later or silent:
                # Forget positions only up to the ground points of an observed landing (kept: they
                # are the next flight's departure evidence), or all of a long-silent aircraft.
                # Otherwise keep them, so that evidence across a gap is seen as in batch.
                lo = int(np.searchsorted(buf.icao24, buf.icao24[f.row_start], side="left"))
                if silent or final:
                    keep[
                        lo : int(np.searchsorted(buf.icao24, buf.icao24[f.row_start], side="right"))
                    ] = False
                elif legs.arr_kind[i] in (ARR_LANDING, ARR_GAP_GROUND):
                    keep[lo : int(legs.rows[legs.arr_ground[i]])] = False
                if f.id not in self._emitted:
                    self._emitted.add(f.id)
                    out.append(f)
            else:
                still_open.append(f)
        self.closed.extend(out)
        self._open = tuple(still_open)
        self._buffer = buf.take(np.flatnonzero(keep)) if not final else None
        return out
