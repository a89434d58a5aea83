"""Fixtures for the alert tests: identities from the real registries (the rows of the aircraft
in the test data, cut from the real files), real trajectories as station position updates."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from overflight.identity import import_file, open_store
from overflight.station import Positions
from overflight.tracking import POSITIONS_SCHEMA

REGISTRY = "aircraft-db-tar1090/aircraft.csv.gz"
WATCHLIST = "aircraft-plane-alert-db/plane-alert-db.csv"
FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
TANKER = "trajectories-traffic/military/inflight_refuelling.json.gz"
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


def epoch_s(col: object) -> np.ndarray:
    """A pandas time column as UTC epoch seconds (whatever its unit)."""
    import pandas as pd

    return np.asarray(pd.to_datetime(col).astype("datetime64[ns]").astype("int64"),
                      np.float64) / 1e9


def trajectory_positions(path: Path, chunk: int = 20) -> list[Positions]:
    """A traffic trajectory file as the station's position updates (``chunk`` rows each)."""
    import pandas as pd

    d = pd.read_json(path).dropna(subset=["latitude", "longitude"])
    d = d.sort_values("timestamp")
    n = len(d)
    addr = np.array([int(a, 16) for a in d["icao24"]], np.uint32)
    t = epoch_s(d["timestamp"])
    table = pa.table({
        "icao24": pa.array(d["icao24"].tolist(), pa.string()),
        "address": pa.array(addr),
        "non_icao": pa.array(np.zeros(n, bool)),
        "time_s": pa.array(t.astype(np.float64)),
        "lat_deg": pa.array(d["latitude"].to_numpy(np.float64)),
        "lon_deg": pa.array(d["longitude"].to_numpy(np.float64)),
        "altitude_ft": pa.array(d["altitude"].to_numpy(np.float64)),
        "groundspeed_kt": pa.array(np.full(n, np.nan), pa.float64()),
        "track_deg": pa.array(np.full(n, np.nan), pa.float64()),
        "vertical_rate_fpm": pa.array(np.full(n, np.nan), pa.float64()),
        "on_ground": pa.array([None] * n, pa.bool_()),
        "callsign": pa.array(d["callsign"].tolist(), pa.string()),
        "source": pa.array(["adsb"] * n),
        "reference": pa.array(["pair"] * n),
        "frame_seq": pa.array(np.arange(n, dtype=np.int64)),
        "pair_frame_seq": pa.array(np.full(n, -1, np.int64)),
    }, schema=POSITIONS_SCHEMA)
    return [Positions(table.slice(i, chunk)) for i in range(0, n, chunk)]
