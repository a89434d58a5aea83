"""flights stage: from position tables to legs, airports and journeys.

``find_flights(table)`` is a pure function of a :class:`PositionTable` (so flights can always be
rebuilt from stored positions); :class:`LiveFlights` gives the same flights incrementally.
"""

from __future__ import annotations

from overflight.flights.airports import AirportIndex, default_index
from overflight.flights.build import FlightsResult, find_flights
from overflight.flights.gaps import estimate_gap_positions
from overflight.flights.itinerary import bound_for, journeys
from overflight.flights.live import LiveFlights
from overflight.flights.readers import CaptureUnsupportedError, read_positions
from overflight.flights.records import (
    AirportCandidate,
    AirportEstimate,
    BoundFor,
    Flight,
    Journey,
    Stop,
)
from overflight.flights.segment import Params
from overflight.flights.table import PositionTable, concat, from_arrow, from_columns, from_pandas

__all__ = [
    "AirportCandidate",
    "AirportEstimate",
    "AirportIndex",
    "BoundFor",
    "CaptureUnsupportedError",
    "Flight",
    "FlightsResult",
    "Journey",
    "LiveFlights",
    "Params",
    "PositionTable",
    "Stop",
    "bound_for",
    "concat",
    "default_index",
    "estimate_gap_positions",
    "find_flights",
    "from_arrow",
    "from_columns",
    "from_pandas",
    "journeys",
    "read_positions",
]
