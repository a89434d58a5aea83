"""aircraft.json is strict JSON: a value that is not a finite number is left out with its key,
as readsb does (tar1090, browsers' JSON.parse and jq reject NaN and Infinity)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from overflight.datapaths import shared_data_dir
from overflight.pipeline import track_file
from overflight.tracking import aircraft_json
from overflight.tracking.aircraft_json import aircraft_record

CAPTURES = "modes-traffic-samples"
SAMPLE = f"{CAPTURES}/sample_dump1090.bin"


def _captures() -> list[Path]:
    root = shared_data_dir()
    if root is None or not (root / CAPTURES).is_dir():
        return []
    return sorted(p for p in (root / CAPTURES).rglob("*") if p.is_file() and p.suffix != ".md")


@pytest.mark.skipif(not _captures(), reason=f"shared data {CAPTURES} absent")
@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_aircraft_json_of_every_real_capture_is_strict_json(path: Path) -> None:
    tracker = track_file(path)
    for keep_old in (True, False):
        doc = aircraft_json(tracker.all_aircraft(), tracker.now_s, tracker.messages,
                            keep_old=keep_old)
        text = json.dumps(doc, allow_nan=False)  # raises on NaN or Infinity
        assert json.loads(text)["aircraft"] == doc["aircraft"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_leave_their_keys_out(
    shared: Callable[[str], Path], bad: float
) -> None:
    """Every numeric field of a real tracked aircraft set to NaN or ±Infinity (as a signal
    level of 0 gives -Infinity dBFS): the record leaves those keys out and the rest stays."""
    tracker = track_file(shared(SAMPLE))
    a = next(x for x in tracker.all_aircraft() if x.icao24 == "48520a")
    good = aircraft_record(a, tracker.now_s, keep_old=True)
    assert {"alt_baro", "gs", "track", "lat", "lon", "rssi"} <= set(good)
    numeric = [f.name for f in dataclasses.fields(a)
               if f.name.endswith(("_ft", "_kt", "_deg", "_fpm", "_m", "_dbfs"))]
    hostile = dataclasses.replace(a, **dict.fromkeys(numeric, bad))
    rec = aircraft_record(hostile, tracker.now_s, keep_old=True)
    json.dumps(rec, allow_nan=False)
    gone = {"alt_baro", "alt_geom", "gs", "track", "baro_rate", "geom_rate", "ias", "tas",
            "nav_altitude_mcp", "nav_heading", "lat", "lon", "rc", "seen_pos", "rssi"}
    assert not gone & set(rec)
    assert rec["hex"] == "48520a" and rec["flight"] == good["flight"]
    assert rec["messages"] == good["messages"] and rec["seen"] == good["seen"]


def test_a_document_without_a_time_leaves_now_out() -> None:
    doc = aircraft_json([], math.nan, 0)
    assert json.dumps(doc, allow_nan=False) == '{"messages": 0, "aircraft": []}'
