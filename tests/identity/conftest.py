"""Fixtures for the identity tests: one store with the real databases, built once per session."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from overflight.identity import Identifier, ImportReport, import_file, open_store

REGISTRY = "aircraft-db-tar1090/aircraft.csv.gz"
WATCHLIST = "aircraft-plane-alert-db/plane-alert-db.csv"
TYPES = "aircraft-db-tar1090/icao_aircraft_types.json"
TYPES2 = "aircraft-db-tar1090/icao_aircraft_types2.json"
OPERATORS = "aircraft-db-tar1090/operators.json"


@pytest.fixture(scope="session")
def real_store(
    shared: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, ImportReport]]:
    """A store holding tar1090-db, plane-alert-db, ICAO types and operators (real files)."""
    path = tmp_path_factory.mktemp("store") / "aircraft.sqlite"
    con = open_store(path)
    reports = {}
    t0 = time.perf_counter()
    for rel in (REGISTRY, WATCHLIST, TYPES, TYPES2, OPERATORS):
        reports[rel] = import_file(con, shared(rel))
    con.close()
    print(f"\nreal store built in {time.perf_counter() - t0:.1f} s "
          f"(tar1090-db {reports[REGISTRY].seconds:.1f} s)")
    return path, reports


@pytest.fixture(scope="session")
def identifier(real_store: tuple[Path, dict[str, ImportReport]]) -> Identifier:
    return Identifier(real_store[0])
