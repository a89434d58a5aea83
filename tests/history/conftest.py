"""One real history database for the module tests: the CDG→Toulouse flight
(``full_flight_short.jsonl.gz``, JSON lines with absolute time) and the Beast sample, ingested
once per session, beside the positions the station published for the same flight."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from overflight.datapaths import shared_file

FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
BEAST = "modes-traffic-samples/sample_dump1090.bin"


def need(relative: str) -> Path:
    p = shared_file(relative)
    if p is None:
        pytest.skip(f"shared data {relative} not on this machine")
    return p


@dataclass
class Ingested:
    db: Path
    flight: Path
    beast: Path
    results: list[Any]
    station_positions: pa.Table
    """Positions the station published for the flight file, taken from the station itself
    (not from the database)."""


@pytest.fixture(scope="session")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    from overflight.history.ingest import ingest_file
    from overflight.station import Station, StationConfig

    flight, beast = need(FULL_FLIGHT), need(BEAST)
    db = tmp_path_factory.mktemp("history") / "h.duckdb"
    results = [ingest_file(flight, db), ingest_file(beast, db)]
    st = Station(StationConfig())
    got: list[pa.Table] = []
    st.subscribe(lambda u: got.append(u.table) if u.name == "positions" else None,
                 inline=True)
    st.run_file(flight)
    st.close()
    yield Ingested(db, flight, beast, results, pa.concat_tables(got))
