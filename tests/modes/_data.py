"""Loaders for the real captures used by the decoder tests (cached per session)."""

from __future__ import annotations

import csv
import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
GOLDEN = "modes-pymodes-samples/golden_v2.json"
PYMODES_CSVS = (
    "modes-pymodes-samples/sample_data_adsb.csv",
    "modes-pymodes-samples/sample_data_commb_df20.csv",
    "modes-pymodes-samples/sample_data_commb_df21.csv",
)


@cache
def full_flight(path: Path) -> list[dict[str, Any]]:
    """Every line of full_flight_short.jsonl.gz (frame, timestamp and rs1090's decode)."""
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


@cache
def pymodes_csv(path: Path) -> list[tuple[float, str]]:
    """(timestamp, hex) of every row of one pyModeS sample CSV (the two layouts handled)."""
    rows = []
    with open(path, encoding="utf-8-sig") as f:
        for r in csv.reader(f):
            hexcol = r[1] if len(r[1]) == 28 else r[2]
            rows.append((float(r[0]), hexcol))
    return rows
