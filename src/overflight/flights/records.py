"""Typed, frozen records produced by flight detection: airports, flights (legs), journeys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "AirportCandidate",
    "AirportEstimate",
    "BoundFor",
    "Flight",
    "Journey",
    "Stop",
    "iso_utc",
]

# How a value was determined: seen in the data; deduced from nearby evidence (last seen low and
# descending near an airport); or estimated (projection, candidates only).
HOW_OBSERVED = "observed"
HOW_INFERRED = "inferred"
HOW_ESTIMATED = "estimated"
HOW_UNKNOWN = "unknown"


def iso_utc(time_s: float | None) -> str | None:
    """ISO 8601 UTC text for epoch seconds (``None`` stays ``None``)."""
    if time_s is None:
        return None
    return datetime.fromtimestamp(time_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class AirportCandidate:
    """One airport that may be the one used.

    ``distance_km``: to its nearest runway (or to its reference point where no runway is listed).
    """

    code: str
    name: str
    distance_km: float
    elevation_ft: float | None
    probability: float


@dataclass(frozen=True, slots=True)
class AirportEstimate:
    """Where a flight left from or arrived at.

    ``code`` is the chosen airport (ICAO code where one exists) or ``None``; ``kind`` is
    ``"airport"``, ``"unlisted"`` (landed/left where no airport is listed: carrier, field) or
    ``"unknown"``; ``how`` is observed / inferred / estimated / unknown; (``lat_deg``, ``lon_deg``)
    the position the decision used.
    """

    code: str | None
    name: str | None
    kind: str
    how: str
    lat_deg: float
    lon_deg: float
    distance_km: float | None
    confidence: float
    candidates: tuple[AirportCandidate, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "how": self.how,
            "lat_deg": round(self.lat_deg, 5),
            "lon_deg": round(self.lon_deg, 5),
            "distance_km": None if self.distance_km is None else round(self.distance_km, 3),
            "confidence": round(self.confidence, 3),
            "candidates": [
                {
                    "code": c.code,
                    "distance_km": round(c.distance_km, 3),
                    "probability": round(c.probability, 3),
                }
                for c in self.candidates
            ],
        }


@dataclass(frozen=True, slots=True)
class BoundFor:
    """A ranked estimate of where an airborne aircraft is going (never an observation)."""

    icao24: str
    time_s: float
    basis: str
    candidates: tuple[AirportCandidate, ...]
    how: str = HOW_ESTIMATED


@dataclass(frozen=True, slots=True)
class Flight:
    """One leg: from a take-off (or first sighting) to a landing (or last sighting).

    Times are epoch seconds (UTC); ``departure_how`` / ``arrival_how`` say whether the time was
    observed, inferred or unknown. ``observed_fraction`` is the share of the leg's duration
    covered by observations (gaps over 60 s not counted). ``gaps`` are (start_s, end_s) of the
    unobserved intervals over 5 min.
    """

    id: str
    icao24: str
    registration: str | None
    typecode: str | None
    callsigns: tuple[str, ...]
    departure: AirportEstimate
    departure_time_s: float | None
    departure_how: str
    arrival: AirportEstimate
    arrival_time_s: float | None
    arrival_how: str
    first_seen_s: float
    last_seen_s: float
    distance_km: float
    max_altitude_ft: float | None
    observed_fraction: float
    n_points: int
    n_messages: int
    gaps: tuple[tuple[float, float], ...]
    touch_and_goes: int
    row_start: int
    row_end: int

    @property
    def duration_s(self) -> float:
        return self.last_seen_s - self.first_seen_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view: ICAO codes, ISO 8601 UTC times, ``None`` where unknown."""
        return {
            "id": self.id,
            "icao24": self.icao24,
            "registration": self.registration,
            "typecode": self.typecode,
            "callsigns": list(self.callsigns),
            "departure_airport": self.departure.code,
            "departure_time": iso_utc(self.departure_time_s),
            "departure_how": self.departure_how,
            "departure_airport_how": self.departure.how,
            "departure": self.departure.to_dict(),
            "arrival_airport": self.arrival.code,
            "arrival_time": iso_utc(self.arrival_time_s),
            "arrival_how": self.arrival_how,
            "arrival_airport_how": self.arrival.how,
            "arrival": self.arrival.to_dict(),
            "first_seen": iso_utc(self.first_seen_s),
            "last_seen": iso_utc(self.last_seen_s),
            "distance_km": round(self.distance_km, 1),
            "max_altitude_ft": self.max_altitude_ft,
            "observed_fraction": round(self.observed_fraction, 3),
            "n_points": self.n_points,
            "n_messages": self.n_messages,
            "touch_and_goes": self.touch_and_goes,
            "gaps": [[iso_utc(a), iso_utc(b)] for a, b in self.gaps],
        }


@dataclass(frozen=True, slots=True)
class Stop:
    """Time between two consecutive legs of a journey, at ``airport`` (an estimate of where)."""

    airport: AirportEstimate
    start_s: float | None
    end_s: float | None

    @property
    def duration_s(self) -> float | None:
        if self.start_s is None or self.end_s is None:
            return None
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class Journey:
    """Consecutive legs of one aircraft chained through their stops (UUMU -> OSLK -> SVMI)."""

    icao24: str
    legs: tuple[Flight, ...]
    stops: tuple[Stop, ...]

    @property
    def route(self) -> tuple[str | None, ...]:
        if not self.legs:
            return ()
        return (self.legs[0].departure.code, *(leg.arrival.code for leg in self.legs))
