"""Run by test_faults.py: a writer whose file writes fail past 4 MB (RLIMIT_FSIZE), as on a
full disk; prints its counts as JSON, then "alive"."""

from __future__ import annotations

import json
import resource
import signal
import sys

import numpy as np
import pyarrow as pa

from overflight.history import HistoryWriter, open_history
from overflight.station.updates import Positions
from overflight.tracking.records import positions_table

N = 20_000


def table(i: int) -> pa.Table:
    rng = np.random.default_rng(i)
    return positions_table({
        "icao24": ["abcdef"] * N, "address": pa.array(np.full(N, 0xABCDEF), pa.uint32()),
        "non_icao": np.zeros(N, bool), "time_s": 1.7e9 + i * N + np.arange(N, dtype=float),
        "lat_deg": rng.uniform(-90, 90, N), "lon_deg": rng.uniform(-180, 180, N),
        "altitude_ft": rng.uniform(0, 40000, N), "groundspeed_kt": np.full(N, 400.0),
        "track_deg": np.full(N, 90.0), "vertical_rate_fpm": pa.nulls(N, pa.float64()),
        "on_ground": np.zeros(N, bool), "callsign": ["X"] * N, "source": ["adsb"] * N,
        "reference": ["pair"] * N, "frame_seq": np.arange(N, dtype=np.int64),
        "pair_frame_seq": np.full(N, -1, np.int64),
    })


def main() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    w = HistoryWriter(open_history(sys.argv[1]), kind="serve", flush_every_s=0)
    w.on_update(Positions(table(0)))
    w.flush()
    resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))
    for i in range(1, 60):
        w.on_update(Positions(table(i)))
        w.flush()
    s = w.stats
    print(json.dumps({"stored": s.stored["positions"], "not_stored": s.not_stored["positions"],
                      "failed": s.failed}))
    w.close()
    print("alive")


if __name__ == "__main__":
    main()
