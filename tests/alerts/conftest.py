"""Fixtures for the alert tests: identities from the real registries (the rows of the aircraft
in the test data, cut from the real files)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from overflight.identity import import_file, open_store

REGISTRY = "aircraft-db-tar1090/aircraft.csv.gz"
WATCHLIST = "aircraft-plane-alert-db/plane-alert-db.csv"
ADDRESSES = ("393322", "3b7777", "ae0455", "484506")


@pytest.fixture(scope="session")
def identity_db(shared: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An aircraft store with the real tar1090-db and plane-alert-db rows of the aircraft the
    tests replay (the files cut to those rows, headers kept)."""
    d = tmp_path_factory.mktemp("ids")
    want = tuple(a.upper() for a in ADDRESSES) + ADDRESSES
    with gzip.open(shared(REGISTRY), "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    (d / "aircraft.csv").write_text(
        lines[0] + "".join(x for x in lines[1:] if x.startswith(want)), encoding="utf-8")
    lines = shared(WATCHLIST).read_text(encoding="utf-8").splitlines(keepends=True)
    (d / "plane-alert-db.csv").write_text(
        lines[0] + "".join(x for x in lines[1:] if x.startswith(want)), encoding="utf-8")
    path = d / "aircraft.sqlite"
    con = open_store(path)
    import_file(con, d / "aircraft.csv")
    import_file(con, d / "plane-alert-db.csv")
    con.close()
    return path
