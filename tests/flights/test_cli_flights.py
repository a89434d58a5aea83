"""``overflight flights`` on real files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from overflight.cli import app


def test_flights_json(shared: Callable[[str], Path]) -> None:
    path = shared("modes-traffic-samples/fr24/372355e5.json")
    res = CliRunner().invoke(app, ["flights", "--input", str(path), "--json"])
    assert res.exit_code == 0, res.output
    legs = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    assert len(legs) == 1
    leg = legs[0]
    assert leg["icao24"] == "4baac6"
    assert (leg["departure_airport"], leg["arrival_airport"]) == ("LTFM", "ENGM")
    assert leg["departure_time"].endswith("Z") and leg["departure_how"] in ("observed", "inferred")


def test_flights_table_and_capture_error(shared: Callable[[str], Path]) -> None:
    res = CliRunner().invoke(
        app,
        [
            "flights",
            "--input",
            str(shared("featured/belevingsvlucht.json.gz".join(["trajectories-traffic/", ""]))),
        ],
    )
    assert res.exit_code == 0 and "EHAM" in res.output
    res = CliRunner().invoke(
        app, ["flights", "--input", str(shared("modes-traffic-samples/sample_dump1090.bin"))]
    )
    assert res.exit_code in (0, 2)


def test_flights_json_from_raw_capture(shared: Callable[[str], Path]) -> None:
    """JSON lines with a ``frame`` field are a raw capture: the frames are decoded by
    overflight.modes and tracked by overflight.tracking (the rs1090 fields are not used)."""
    path = shared("modes-traffic-samples/full_flight_short.jsonl.gz")
    res = CliRunner().invoke(app, ["flights", "--input", str(path), "--json"])
    if res.exit_code == 2 and "capture input needs" in res.output:
        pytest.skip(f"decoder/tracker not importable in this tree: {res.output.strip()}")
    assert res.exit_code == 0, res.output
    legs = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    assert [(g["icao24"], g["departure_airport"], g["arrival_airport"]) for g in legs] == [
        ("393322", "LFPG", "LFBO")
    ]
    assert legs[0]["departure_time"].startswith("2024-07-06T")


def test_flights_unknown_format_is_refused(shared: Callable[[str], Path]) -> None:
    path = shared("modes-traffic-samples/fr24/372355e5.json")
    res = CliRunner().invoke(app, ["flights", "--input", str(path), "--format", "nope"])
    assert res.exit_code == 2
