"""``overflight report`` on a real flight stored by ``overflight ingest``: legs with airports and
times (UTC and local), provenance frames that hash to what was stored, byte-identical output,
a map, KML and GeoJSON that parse, and hostile registry strings that stay inert."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
PLANE_ALERT_HEADER = (
    "$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link"
)
HOSTILE_OPERATOR = '<script>window.__pwned=1</script>]]>"\'\x1b[2J|`*'


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "overflight", *args], capture_output=True,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def stored(shared: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, dict[str, str]]:
    """The CDG-Toulouse A321 ingested, and an aircraft store whose one row for it carries a
    hostile operator name."""
    d = tmp_path_factory.mktemp("report")
    env = {**os.environ, "OVERFLIGHT_HOME": str(d / "home")}
    alert = d / "watch.csv"
    alert.write_text(PLANE_ALERT_HEADER + "\n" + ",".join(
        ["393322", "F-GMZC", json.dumps(HOSTILE_OPERATOR), "A321", "A321", "Civ",
         "tag", "", "", "Dictator Alert", ""]) + "\n", encoding="utf-8")
    r = _run(["db", "import", str(alert)], env)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    r = _run(["ingest", str(shared(FLIGHT)), "--db", str(d / "h.duckdb")], env)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return d, env


def test_report_of_a_real_flight(stored: tuple[Path, dict[str, str]]) -> None:
    d, env = stored
    out = d / "out"
    r = _run(["report", "F-GMZC", "--from", "2024-07-06", "--to", "2024-07-07",
              "--db", str(d / "h.duckdb"), "--out", str(out)], env)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    md = (out / "report.md").read_text(encoding="utf-8")
    # the leg: airports by ICAO code, UTC and local (CEST, +02) times, how each was known
    assert "| 1 | LFPG | 2024-07-06 06:59:21Z | 2024-07-06 08:59 +02 | observed" in md
    assert "| LFBO | 2024-07-06 07:58:42Z | 2024-07-06 09:58 +02 | observed" in md
    # provenance: the first and last frame of the leg hash to the stored bytes
    import duckdb

    con = duckdb.connect(str(d / "h.duckdb"), read_only=True)
    for line in md.splitlines():
        if line.startswith(("- first frame: seq", "- last frame: seq")):
            seq = int(line.split("seq ")[1].split(",")[0])
            raw = bytes(con.execute("SELECT raw FROM frames WHERE seq = ?", [seq]).fetchone()[0])
            assert f"frame {raw.hex()}" in line
            assert f"sha256 {hashlib.sha256(raw).hexdigest()}" in line
    con.close()
    assert "positions by source: adsb" in md and "from 1 receiver(s)" in md
    # the map is SVG with the observed track, the KML and GeoJSON parse with the right points
    svg = ET.parse(out / "map.svg").getroot()
    assert svg.tag.endswith("svg")
    assert any(p.get("class") == "obs" for p in svg.iter("{http://www.w3.org/2000/svg}path"))
    kml = ET.parse(out / "track.kml").getroot()
    coords = [c.text for c in kml.iter("{http://www.google.com/kml/ext/2.2}coord")]
    assert len(coords) > 1000
    lon, lat, _alt = (float(x) for x in coords[-1].split())
    assert abs(lat - 43.63) < 0.02 and abs(lon - 1.37) < 0.02  # parked at Toulouse
    gj = json.loads((out / "track.geojson").read_text(encoding="utf-8"))
    assert gj["features"][0]["properties"]["icao24"] == "393322"


def test_same_data_gives_byte_identical_files(stored: tuple[Path, dict[str, str]]) -> None:
    d, env = stored
    outs = []
    for k in (1, 2):
        out = d / f"same{k}"
        r = _run(["report", "393322", "--db", str(d / "h.duckdb"), "--out", str(out)], env)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert set(outs[0]) == {"map.svg", "report.md", "report.html", "track.kml",
                            "track.geojson"}


def test_hostile_registry_strings_stay_inert(stored: tuple[Path, dict[str, str]]) -> None:
    d, env = stored
    out = d / "hostile"
    r = _run(["report", "393322", "--db", str(d / "h.duckdb"), "--out", str(out)], env)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "<script" not in page and "\x1b" not in page
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "\x1b" not in md and "\\<script\\>" in md
    assert "\\|" in md  # a pipe cannot break the table


def test_unknown_aircraft_is_one_line_exit_2(stored: tuple[Path, dict[str, str]]) -> None:
    d, env = stored
    r = _run(["report", "ZZ-NOPE", "--db", str(d / "h.duckdb"), "--out", str(d / "x")], env)
    assert r.returncode == 2
    assert r.stderr.decode().startswith("error:") and b"Traceback" not in r.stderr
