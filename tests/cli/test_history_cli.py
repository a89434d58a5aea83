"""``overflight ingest`` and ``overflight history`` as a newcomer meets them: a capture in,
a track out as KML, and one clear line with exit status 2 for every bad question or unusable
database."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner, Result

from overflight.cli import app
from overflight.datapaths import shared_file

FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = shared_file(FULL_FLIGHT)
    if src is None:
        pytest.skip(f"shared data {FULL_FLIGHT} not on this machine")
    path = tmp_path_factory.mktemp("cli") / "h.duckdb"
    res = run("ingest", str(src), "--db", str(path))
    assert res.exit_code == 0, res.output
    assert "stored 57,793 frames" in res.output
    again = run("ingest", str(src), "--db", str(path))
    assert again.exit_code == 0 and "already stored (run 1)" in again.output
    return path


def test_a_newcomer_gets_the_track_as_kml_and_the_flight_as_json(db: Path, tmp_path: Path) -> None:
    kml = tmp_path / "t.kml"
    res = run("history", "track", "AFR34ZG", "--db", str(db), "--format", "kml", "-o", str(kml))
    assert res.exit_code == 0, res.output
    root = ET.parse(kml).getroot()
    coords = root.findall(".//{http://www.google.com/kml/ext/2.2}coord")
    assert len(coords) > 8000
    assert "supported by" in res.output and "1 receiver" in res.output
    res = run("history", "flights", "393322", "--db", str(db), "--format", "json")
    assert res.exit_code == 0, res.output
    f = json.loads(res.stdout.splitlines()[0])
    assert (f["departure_airport"], f["arrival_airport"]) == ("LFPG", "LFBO")
    assert f["departure_time"].startswith("2024-07-06T06:5")
    assert f["arrival_time"].startswith("2024-07-06T07:5")
    assert f["departure_how"] == "observed"
    res = run("history", "airport", "LFBO", "--date", "2024-07-06", "--db", str(db),
              "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)["movement"] == "arrival"
    res = run("history", "area", "--circle", "43.6292,1.3740,20", "--from", "2024-07-06",
              "--to", "2024-07-07", "--db", str(db), "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout.splitlines()[0])["icao24"] == "393322"


@pytest.mark.parametrize("args, why", [
    (["track", "393322", "--from", "2024-07-07", "--to", "2024-07-06"], "inverted"),
    (["track", "NOSUCH1"], "unknown"),
    (["track", "393322", "--from", "yesterday"], "not a time"),
    (["area", "--bbox", "44,1,43"], "S,W,N,E"),
    (["area", "--circle", "43,1,0"], "KM"),
    (["area"], "give one area"),
    (["airport", "LFBO", "--date", "2024-02-30"], "not a date"),
    (["airport", "<script>", "--date", "2024-07-06"], "not an airport code"),
    (["aircraft", "--from", "2024-07-06"], "give a filter"),
])
def test_bad_questions_get_one_line_and_exit_2(db: Path, args: list[str], why: str) -> None:
    res = run("history", *args, "--db", str(db))
    assert res.exit_code == 2, res.output
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and why in lines[0]


def test_unusable_databases_are_explained(tmp_path: Path, db: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database\x00" * 200)
    res = run("history", "info", "--db", str(junk))
    assert res.exit_code == 2 and "not a readable history database" in res.output
    assert "--db" in res.output  # the way forward
    newer = tmp_path / "newer.duckdb"
    con = duckdb.connect(str(newer))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    con.close()
    res = run("history", "info", "--db", str(newer))
    assert res.exit_code == 2 and "newer Overflight" in res.output and "Upgrade" in res.output
    res = run("history", "track", "393322", "--db", str(tmp_path / "none.duckdb"))
    assert res.exit_code == 2 and "no history database" in res.output
    # held by another process (a writer): refused with who holds it
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from overflight.history import open_history; "
         f"s = open_history({str(db)!r}); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        res = run("history", "info", "--db", str(db))
        assert res.exit_code == 2, res.output
        assert "in use by another Overflight process" in res.output
        assert time.monotonic() - t0 < 30
    finally:
        holder.kill()
        holder.wait()
