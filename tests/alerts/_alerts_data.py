"""Shared helpers of the alert tests: the real data they read, trajectories as station updates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.station import Positions
from overflight.tracking import POSITIONS_SCHEMA

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
TANKER = "trajectories-traffic/military/inflight_refuelling.json.gz"


def epoch_s(col: Any) -> np.ndarray:
    """A pandas time column as UTC epoch seconds (whatever its unit)."""
    import pandas as pd

    return np.asarray(pd.to_datetime(col).astype("datetime64[ns]").astype("int64"),
                      np.float64) / 1e9


def positions_table(cols: dict[str, Any], n: int) -> pa.Table:
    """A station positions table of ``n`` rows from ``cols``; the columns not given (GNSS
    altitude, squawk, NIC / NACp...) are null."""
    return pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in POSITIONS_SCHEMA},
                    schema=POSITIONS_SCHEMA)


def trajectory_positions(path: Path, chunk: int = 20) -> list[Positions]:
    """A traffic trajectory file as the station's position updates (``chunk`` rows each)."""
    import pandas as pd

    d = pd.read_json(path).dropna(subset=["latitude", "longitude"])
    d = d.sort_values("timestamp")
    n = len(d)
    addr = np.array([int(a, 16) for a in d["icao24"]], np.uint32)
    t = epoch_s(d["timestamp"])
    cols: dict[str, Any] = {
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
    }
    table = positions_table(cols, n)
    return [Positions(table.slice(i, chunk)) for i in range(0, n, chunk)]
