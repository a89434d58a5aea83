"""Airline operators by ICAO designator, ICAO aircraft type designators, and callsign prefixes.

Parsers for tar1090-db ``operators.json`` (``{"BAW": {"n": name, "c": country, "r": telephony}}``),
``icao_aircraft_types.json`` (``{"A124": {"desc": "L4J", "wtc": "H"}}``) and
``icao_aircraft_types2.json`` (``{"A124": ["ANTONOV An-124 Ruslan", "L4J", "H"]}``). Broken entries
are counted in :class:`~overflight.identity.registry.Rejects`, never raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from overflight.identity.registry import Rejects, clean_text

__all__ = [
    "AircraftType",
    "Operator",
    "airline_prefix",
    "parse_aircraft_types",
    "parse_operators",
]

_PREFIX = re.compile(r"([A-Z]{3})[0-9]")
_DESIGNATOR = re.compile(r"[A-Z][A-Z0-9 ]{1,15}")  # ICAO 3-letter, plus FAA-style longer ones
_TYPE = re.compile(r"[A-Z0-9]{2,4}")


@dataclass(frozen=True, slots=True)
class Operator:
    """An aircraft operator by its ICAO three-letter designator."""

    designator: str
    name: str | None
    country: str | None
    telephony: str | None  # radiotelephony callsign, e.g. "SPEEDBIRD"


@dataclass(frozen=True, slots=True)
class AircraftType:
    """An ICAO aircraft type designator: name, class (e.g. L2J) and wake turbulence category."""

    designator: str
    name: str | None
    type_class: str | None
    wtc: str | None


def airline_prefix(callsign: str | None) -> str | None:
    """ICAO airline designator of a callsign (three letters then a digit, e.g. AFR1234 → AFR)."""
    if not callsign:
        return None
    m = _PREFIX.match(callsign.strip().upper())
    return m.group(1) if m else None


def parse_operators(data: Any, rejects: Rejects) -> Iterator[Operator]:
    """tar1090-db ``operators.json`` content → operators."""
    if not isinstance(data, dict):
        rejects.reject("not a JSON object", 1)
        return
    for n, (code, entry) in enumerate(data.items(), start=1):
        rejects.rows += 1
        if not isinstance(code, str) or not _DESIGNATOR.fullmatch(code.strip().upper()):
            rejects.reject("bad designator", n)
            continue
        if not isinstance(entry, dict):
            rejects.reject("bad entry", n)
            continue
        yield Operator(code.strip().upper(), clean_text(entry.get("n")),
                       clean_text(entry.get("c")), clean_text(entry.get("r")))


def parse_aircraft_types(data: Any, rejects: Rejects) -> Iterator[AircraftType]:
    """``icao_aircraft_types.json`` or ``icao_aircraft_types2.json`` content → types."""
    if not isinstance(data, dict):
        rejects.reject("not a JSON object", 1)
        return
    for n, (code, entry) in enumerate(data.items(), start=1):
        rejects.rows += 1
        key = code.strip().upper() if isinstance(code, str) else ""
        if not _TYPE.fullmatch(key):
            rejects.reject("bad designator", n)
            continue
        if isinstance(entry, dict):
            yield AircraftType(key, clean_text(entry.get("name")), clean_text(entry.get("desc"), 3),
                               clean_text(entry.get("wtc"), 1))
        elif isinstance(entry, list) and len(entry) >= 3:
            yield AircraftType(key, clean_text(entry[0]), clean_text(entry[1], 3),
                               clean_text(entry[2], 1))
        else:
            rejects.reject("bad entry", n)
