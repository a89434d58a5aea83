"""Tracking with multilateration: frames per second through decode + track (+ MLAT feed).

Replays the simulator's ``mlat-demo`` (seed 1, 120 s: six 12 MHz Beast receivers, eight ADS-B
airliners, two Mode S-only aircraft) from an aggregated Beast file, three ways: decode + track
(the baseline), decode + track + MLAT through the pipeline (``track_file(..., mlat=...)``), and
the MLAT engine alone on the same receptions (``Multilaterator.process`` in 1 s batches, the
peer inside the project: what the feed adds over it is its own cost). Prints the MLAT figures
(fixes, positions per aircraft, error vs truth) under the table.

Run: ``python bench/track_mlat.py``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from _table import best_rate, print_table
from overflight.geo import haversine_m
from overflight.mlat import Multilaterator, ReceiverRegistry, Reception
from overflight.pipeline import mlat_feed, track_file
from overflight.sim import mlat_demo, simulate
from overflight.tracking.mlat_feed import MlatFeed


def main() -> None:
    sim = simulate(mlat_demo(seed=1, duration_s=120.0))
    n = len(sim.frames)
    with tempfile.TemporaryDirectory() as d:
        beast, rx = Path(d) / "demo.beast", Path(d) / "demo.receivers.csv"
        sim.write_beast(beast)
        sim.write_receivers_csv(rx)
        track_file(beast)  # warm the compiled kernels
        feeds: list[MlatFeed] = []
        parts: list[pa.Table] = []

        def with_mlat() -> None:
            feeds.append(mlat_feed(rx))
            parts.clear()
            track_file(beast, mlat=feeds[-1], on_positions=parts.append)

        fb = sim.frames
        registry = ReceiverRegistry.from_csv(rx)
        toa = fb.ticks.astype(np.float64) / 12e6
        sec = np.floor(fb.time_s - np.nanmin(fb.time_s)).astype(np.int64)
        recs = [Reception(fb.frame_bytes(i), int(fb.receiver[i]), float(toa[i])) for i in range(n)]
        slices = [np.flatnonzero(sec == k).tolist() for k in range(int(sec.max()) + 1)]

        def engine_alone() -> None:
            ml = Multilaterator(registry)
            for s in slices:
                ml.process([recs[i] for i in s])

        rows = [
            best_rate("decode + track + MLAT (overflight pipeline)", n, with_mlat, repeat=2),
            best_rate("MLAT engine alone (Multilaterator.process)", n, engine_alone, repeat=2),
            best_rate("decode + track (no MLAT)", n, lambda: track_file(beast), repeat=3),
        ]
    print_table(
        f"mlat-demo 120 s: {n:,} frames, 6 receivers",
        rows,
        unit="frames/s",
        baseline="decode + track (no MLAT)",
    )
    st = feeds[-1].stats
    truth = sim.truth_table().to_pandas()
    pos = pa.concat_tables(parts).to_pandas()
    m = pos[pos.source == "mlat"]
    print(
        f"MLAT: {st.fixes:,} fixes, {st.applied:,} applied, {st.adsb_preferred:,} of ADS-B "
        f"aircraft (median {np.median(st.verify_m):.1f} m from their ADS-B positions)"
    )
    for h in ("3b7777", "3ea2f1"):
        tt = truth[truth.icao24 == h].sort_values("transmit_time_s")
        mm = m[m.icao24 == h]
        la = np.interp(mm.time_s, tt.transmit_time_s, tt.lat_deg)
        lo = np.interp(mm.time_s, tt.transmit_time_s, tt.lon_deg)
        e = haversine_m(la, lo, mm.lat_deg.to_numpy(), mm.lon_deg.to_numpy())
        print(
            f"{h}: {len(mm)} MLAT positions, error vs truth median {np.median(e):.1f} m, "
            f"p90 {np.percentile(e, 90):.1f} m, last {e[-1]:.1f} m"
        )


if __name__ == "__main__":
    main()
