"""``overflight flights`` on real files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
