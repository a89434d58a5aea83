"""``overflight flights`` on real files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    assert legs[0]["position_sources"] == ["adsb"]  # the tracker's sources reach the legs


def test_flights_unknown_format_is_refused(shared: Callable[[str], Path]) -> None:
    path = shared("modes-traffic-samples/fr24/372355e5.json")
    res = CliRunner().invoke(app, ["flights", "--input", str(path), "--format", "nope"])
    assert res.exit_code == 2


@pytest.fixture(scope="module")
def journey_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """RA-86496 (1551E0) of ``caracas-2019`` as three receivers' windows in one Beast file:
    landing at Latakia (23:27), taking off again 3.3 h later (02:44), and heard again over
    the Caribbean (14:26-14:34) after 11.6 h out of every receiver's reach; the receivers
    table beside it (``overflight sim`` writes it)."""
    out = tmp_path_factory.mktemp("journey")
    for a, b in (("2019-03-22T23:20Z", "2019-03-22T23:33Z"),
                 ("2019-03-23T02:38Z", "2019-03-23T02:52Z"),
                 ("2019-03-23T14:26Z", "2019-03-23T14:34Z")):
        res = CliRunner().invoke(app, ["sim", "caracas-2019", "--out", str(out / "rec"),
                                       "--from", a, "--to", b, "--background", "0"])
        assert res.exit_code == 0, res.output
    capture = out / "caracas.beast"
    capture.write_bytes(b"".join(p.read_bytes() for p in sorted((out / "rec").glob("*.beast"))))
    (out / "caracas.receivers.csv").write_bytes((out / "rec" / "receivers.csv").read_bytes())
    truth = json.loads((out / "rec" / "truth.json").read_text())
    return capture, {a["icao24"]: a["legs"] for a in truth["aircraft"]}


def test_flights_table_shows_the_journey_stop_gap_and_bound_for(
    journey_capture: tuple[Path, dict[str, Any]],
) -> None:
    capture, truth = journey_capture
    res = CliRunner().invoke(app, ["flights", "--input", str(capture)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    header = lines[lines.index(next(x for x in lines if x.startswith("icao24\t")))].split("\t")
    rows = [dict(zip(header, x.split("\t"), strict=True)) for x in lines
            if x.startswith("1551e0\t")]
    assert [(r["from"], r["to"]) for r in rows] == [("?", "OSLK (observed)"),
                                                    ("OSLK (observed)", "?")]
    assert rows[0]["journey"].endswith("leg 1/2")
    ground_h = (truth["1551e0"][1]["takeoff_s"] - truth["1551e0"][0]["landing_s"]) / 3600
    assert rows[1]["journey"].endswith(f"leg 2/2 after stop at OSLK, {ground_h:.1f} h")
    assert rows[1]["departure (UTC)"].startswith("2019-03-23T02:4")
    assert rows[1]["departure (UTC)"].endswith("(observed)")
    # hours over the Atlantic without a position: said as such, with the time and distance
    assert rows[1]["gaps"].startswith("gap over no coverage, 11.")
    assert rows[0]["gaps"] == ""
    # last heard in cruise, its arrival unseen: ranked estimates, each with a probability
    bound = rows[1]["bound for"].split(", ")
    assert len(bound) == 3 and all(b.endswith("%") for b in bound)
    assert rows[0]["bound for"] == ""  # an observed arrival has no estimate


def test_flights_json_journey_gaps_and_bound_for(
    journey_capture: tuple[Path, dict[str, Any]],
) -> None:
    capture, truth = journey_capture
    res = CliRunner().invoke(app, ["flights", "--input", str(capture), "--json"])
    assert res.exit_code == 0, res.output
    legs = [json.loads(x) for x in res.output.splitlines() if x.startswith("{")]
    il62 = [g for g in legs if g["icao24"] == "1551e0"]
    assert [g["journey"]["leg"] for g in il62] == [1, 2]
    assert il62[0]["journey"]["id"] == il62[1]["journey"]["id"]
    assert il62[0]["journey"]["route"] == [None, "OSLK", None]
    stop = il62[1]["journey"]["stop_before"]
    assert stop["airport"] == "OSLK"
    assert abs(stop["duration_s"] - (truth["1551e0"][1]["takeoff_s"]
                                     - truth["1551e0"][0]["landing_s"])) < 240
    (gap,) = il62[1]["coverage_gaps"]
    assert gap["coverage"] == "none" and gap["farthest_from_receivers_km"] > 2000
    assert 11 * 3600 < gap["duration_s"] < 12 * 3600
    assert 9000 < gap["distance_km"] < 11000  # Latakia's coast to the Caribbean
    assert [gap["start"], gap["end"]] == il62[1]["gaps"][0]
    bound = il62[1]["bound_for"]
    assert len(bound) == 5 and abs(sum(b["probability"] for b in bound) - 1.0) < 0.01
    assert all(b["code"].startswith(("SV", "TN", "TT")) for b in bound)  # ahead: Venezuela...
    assert il62[0]["bound_for"] == [] and il62[0]["arrival_how"] == "observed"
    assert il62[1]["position_sources"] == ["adsb"]  # the capture ends before its MLAT approach
