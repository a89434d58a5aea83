"""The history API over real HTTP: a real history database (the CDG→Toulouse A321 and the Beast
sample, stored by ``overflight ingest`` beside the real tar1090 aircraft database imported by
``overflight db import``), served by uvicorn on a loopback port with the live station beside it.

Checked: the flight LFPG→LFBO with its times, the track's positions against the stored ones,
LFBO's day, an area, searches by callsign, registration, address and type, the exports parsed
back (csv, xml.etree, json), readsb's trace files in the layout tar1090 reads, hostile callsigns
inert in every format, every bad parameter a 4xx JSON error naming it, and a fuzz of every
history route and parameter with hostile values that gets no 5xx.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overflight.geo import haversine_m
from overflight.history import HistoryWriter, open_history
from overflight.history.query import History, parse_time
from overflight.identity import Identifier
from overflight.server import api_history
from overflight.server.api_history import TRACE_RECENT_POINTS, history_routes
from overflight.station import StationConfig
from overflight.station.updates import Positions
from overflight.tracking.records import positions_table

from .conftest import LiveServer, running_server, strict_loads

FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
BEAST = "modes-traffic-samples/sample_dump1090.bin"
REGISTRY = "aircraft-db-tar1090/aircraft.csv.gz"
READSB_TRACE = "modes-traffic-samples/trace_full_ac671b.json"
TAR1090_SCRIPT = "tar1090-web/html/script.js"
ADDRESS = "393322"
KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _cli(*args: str, home: Path) -> None:
    env = {**os.environ, "OVERFLIGHT_HOME": str(home)}
    r = subprocess.run([sys.executable, "-m", "overflight", *args], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])


@dataclass
class Served:
    srv: LiveServer
    history: History

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.srv.get(path, **kw)

    def json(self, path: str, **kw: Any) -> Any:
        r = self.get(path, **kw)
        assert r.status_code == 200, (path, r.text[:500])
        assert r.headers["content-type"] == "application/json"
        return strict_loads(r.content)



def _serve(history: History) -> Iterator[Served]:
    routes, paths = history_routes(history)
    config = StationConfig(listen_beast=0, identify=False)
    with running_server(config, extra_routes=routes, extra_paths=paths) as srv:
        yield Served(srv, history)


@pytest.fixture(scope="module")
def home(shared: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OVERFLIGHT_HOME with the real tar1090 aircraft database and a history database of the
    two captures, both made by the command line."""
    flight, beast, registry = shared(FULL_FLIGHT), shared(BEAST), shared(REGISTRY)
    home = tmp_path_factory.mktemp("home")
    _cli("db", "import", str(registry), home=home)
    _cli("ingest", str(flight), str(beast), "--db", str(home / "history.duckdb"), home=home)
    return home


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[Served]:
    h = History(open_history(home / "history.duckdb", read_only=True),
                Identifier(home / "aircraft.sqlite"))
    try:
        yield from _serve(h)
    finally:
        h.close()


# ---------------------------------------------------------------------------- answers

def test_the_flight_lfpg_to_lfbo_with_its_times(api: Served) -> None:
    for ident in (ADDRESS, "AFR34ZG", "F-GMZC", "f-gmzc"):
        doc = api.json(f"/api/history/flights/{ident}")
        assert doc["aircraft"] == [ADDRESS], ident
        assert doc["count"] == 1 and len(doc["flights"]) == 1
        f = doc["flights"][0]
        assert (f["departure_airport"], f["arrival_airport"]) == ("LFPG", "LFBO")
        assert f["departure_how"] == f["arrival_how"] == "observed"
        assert abs(_t(f["departure_time"]) - _t("2024-07-06T06:59:22Z")) < 120
        assert abs(_t(f["arrival_time"]) - _t("2024-07-06T07:58:43Z")) < 120
        assert f["icao24"] == ADDRESS and f["callsigns"] == ["AFR34ZG"]
        assert (f["registration"], f["typecode"]) == ("F-GMZC", "A321")
        assert (f["journey"]["leg"], f["journey"]["legs"]) == (1, 1)
        assert f["journey"]["route"] == ["LFPG", "LFBO"] and f["journey"]["stop_before"] is None
        assert f["coverage_gaps"] == []
        # the support: the frames behind the flight's own positions (take-off to landing)
        row = api.history.flights(((0x393322, False),)).to_pylist()[0]
        own = api.history.positions(0x393322, False, row["first_seen_s"],
                                    row["last_seen_s"] + 1e-3)
        want = api.history.support(own)
        s = doc["support"]
        assert (s["frames"], s["receivers"], s["frames_referenced"]) == (
            want.frames, 1, want.frames_referenced)
        assert own.num_rows <= s["frames"] <= 2 * own.num_rows and own.num_rows > 5000
    assert api.json("/api/history/flights/AFR34ZG")["matched"] == "callsign"
    assert api.json("/api/history/flights/F-GMZC")["matched"] == "registration"
    # a window after the flight: the aircraft is known, it has no flight then
    doc = api.json(f"/api/history/flights/{ADDRESS}",
                   params={"from": "2024-07-07", "to": "2024-07-08"})
    assert doc["flights"] == [] and doc["support"]["frames"] == 0


def test_the_track_is_the_stored_positions(api: Served) -> None:
    t0, t1 = "2024-07-06T07:00:00Z", str(parse_time("2024-07-06T07:10"))
    doc = api.json(f"/api/history/track/{ADDRESS}", params={"from": t0, "to": t1})
    want = api.history.track(ADDRESS, _t(t0), float(t1)).positions
    got = doc["positions"]
    assert doc["count"] == len(got) == want.num_rows > 100
    assert doc["from"] == "2024-07-06T07:00:00.000Z" and doc["to"] == "2024-07-06T07:10:00.000Z"
    assert doc["matched"] == "address" and doc["aircraft"] == [ADDRESS]
    t = np.array([p["time_s"] for p in got])
    assert np.array_equal(t, want.column("time_s").to_numpy())
    assert t.min() >= _t(t0) and t.max() < float(t1)
    assert all(_t(p["time"]) == pytest.approx(p["time_s"], abs=0.001) for p in got)
    d = haversine_m(np.array([p["lat_deg"] for p in got]), np.array([p["lon_deg"] for p in got]),
                    want.column("lat_deg").to_numpy(), want.column("lon_deg").to_numpy())
    assert float(np.max(d)) < 1.0  # metres
    assert {p["icao24"] for p in got} == {ADDRESS} and {p["callsign"] for p in got} == {"AFR34ZG"}
    s = doc["support"]
    assert s["receivers"] == 1 and len(got) <= s["frames"] <= 2 * len(got)
    # the whole flight: from the gate at LFPG to Toulouse, at most FL350
    whole = api.json("/api/history/track/AFR34ZG")["positions"]
    assert len(whole) > 8000
    assert abs(whole[0]["lat_deg"] - 49.0058) < 0.01 and abs(whole[-1]["lat_deg"] - 43.63) < 0.05
    assert max(p["altitude_ft"] or 0 for p in whole) == 35_050
    # epoch seconds and ISO 8601 name the same window
    same = api.json(f"/api/history/track/{ADDRESS}",
                    params={"from": str(_t(t0)), "to": "2024-07-06T07:10:00+00:00"})
    assert same["count"] == doc["count"]


def test_lfbos_day_and_lfpgs(api: Served) -> None:
    doc = api.json("/api/history/airport/LFBO", params={"date": "2024-07-06"})
    assert doc["airport"] == "LFBO" and doc["date"] == "2024-07-06"
    assert doc["departures"] == []
    assert [f["icao24"] for f in doc["arrivals"]] == [ADDRESS]
    assert doc["arrivals"][0]["departure_airport"] == "LFPG"
    assert doc["support"]["frames"] > 5000 and doc["support"]["receivers"] == 1
    lfpg = api.json("/api/history/airport/lfpg", params={"date": "2024-07-06"})
    assert [f["icao24"] for f in lfpg["departures"]] == [ADDRESS] and lfpg["arrivals"] == []
    other = api.json("/api/history/airport/LFBO", params={"date": "2024-07-07"})
    assert other["departures"] == other["arrivals"] == []
    assert other["support"]["frames"] == 0


def test_an_area_and_window(api: Served) -> None:
    day = {"from": "2024-07-06", "to": "2024-07-07"}
    doc = api.json("/api/history/area", params={"circle": "43.6292,1.3740,20", **day})
    assert [a["icao24"] for a in doc["aircraft"]] == [ADDRESS]
    a = doc["aircraft"][0]
    assert a["callsigns"] == ["AFR34ZG"] and a["sources"] == ["adsb"]
    assert _t(a["first"]) > _t("2024-07-06T07:40Z")  # it reached Toulouse at the end
    assert doc["circle"] == {"lat": 43.6292, "lon": 1.374, "radius_km": 20.0}
    # the support counts only the positions inside the circle
    assert a["positions"] <= doc["support"]["frames"] <= 2 * a["positions"]
    box = api.json("/api/history/area", params={"bbox": "43.4,1.1,43.8,1.6", **day})
    assert [x["icao24"] for x in box["aircraft"]] == [ADDRESS]
    before = api.json("/api/history/area", params={"circle": "43.6292,1.3740,20",
                                                   "from": "2024-07-06",
                                                   "to": "2024-07-06T06:00Z"})
    assert before["aircraft"] == [] and before["support"]["frames"] == 0
    across = api.json("/api/history/area", params={"bbox": "-10,170,10,-170", **day})
    assert across["count"] == 0


def test_search_by_callsign_registration_address_and_type(api: Served) -> None:
    def found(q: str, **kw: str) -> list[tuple[str, str]]:
        doc = api.json("/api/history/search", params={"q": q, **kw})
        assert doc["count"] == len(doc["results"])
        return [(r["matched"], r["icao24"]) for r in doc["results"]]

    assert found("AFR34ZG") == [("callsign", ADDRESS)]
    assert found("afr34zg") == [("callsign", ADDRESS)]
    assert found("F-GMZC") == [("registration", ADDRESS)]
    assert found(ADDRESS) == [("address", ADDRESS)]
    assert found("A321") == [("type", ADDRESS)]
    assert found("PH-HXB") == [("registration", "48520a")]  # the Beast sample's 737
    assert found("B738") == [("type", "48520a")]
    assert found("NOSUCH1") == []
    assert found("AFR34ZG", **{"from": "2024-07-07"}) == []
    doc = api.json("/api/history/search", params={"q": "AFR34ZG"})
    r = doc["results"][0]
    assert (r["registration"], r["type_code"], r["callsigns"]) == ("F-GMZC", "A321", ["AFR34ZG"])
    assert r["positions"] > 8000 and doc["support"]["frames"] >= r["positions"]


def test_who_was_seen_by_type_country_and_military(api: Served) -> None:
    doc = api.json("/api/history/aircraft", params={"type": "a321"})
    assert [a["icao24"] for a in doc["aircraft"]] == [ADDRESS]
    assert doc["aircraft"][0]["registration"] == "F-GMZC"
    assert doc["support"]["frames"] >= doc["aircraft"][0]["positions"] > 8000
    fr = api.json("/api/history/aircraft", params={"country": "France", "from": "2024-07-06",
                                                   "to": "2024-07-07"})
    assert [a["icao24"] for a in fr["aircraft"]] == [ADDRESS]
    assert api.json("/api/history/aircraft", params={"mil": "true"})["aircraft"] == []
    assert api.json("/api/history/aircraft", params={"type": "A388"})["count"] == 0


# ---------------------------------------------------------------------------- exports

def test_csv_export(api: Served) -> None:
    r = api.get(f"/api/history/track/{ADDRESS}", params={
        "format": "csv", "from": "2024-07-06T07:00Z", "to": "2024-07-06T07:01Z"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="track-{ADDRESS}.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    want = api.history.track(ADDRESS, _t("2024-07-06T07:00Z"), _t("2024-07-06T07:01Z"))
    assert len(rows) == want.positions.num_rows > 50
    assert [float(x["lat_deg"]) for x in rows] == want.positions.column("lat_deg").to_pylist()
    assert {x["callsign"] for x in rows} == {"AFR34ZG"} and {x["icao24"] for x in rows} == {ADDRESS}


def test_kml_export_parsed_back(api: Served) -> None:
    r = api.get("/api/history/track/AFR34ZG", params={"format": "kml"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.google-earth.kml+xml"
    assert r.headers["content-disposition"] == 'attachment; filename="track-AFR34ZG.kml"'
    root = ET.fromstring(r.content)
    (track,) = root.findall(f".//{GX}Track")
    whens = [_t(w.text or "") for w in track.findall(f"{KML}when")]
    coords = [[float(x) for x in (c.text or "").split()] for c in track.findall(f"{GX}coord")]
    want = api.history.track(ADDRESS).positions
    assert len(whens) == len(coords) == want.num_rows
    assert max(abs(c[1] - y) for c, y in zip(coords, want.column("lat_deg").to_pylist(),
                                              strict=True)) < 1e-6
    assert max(c[2] for c in coords) == pytest.approx(35_050 * 0.3048, abs=0.1)
    name = root.findtext(f".//{KML}Placemark/{KML}name") or ""
    assert "AFR34ZG" in name and "F-GMZC" in name and "A321" in name


def test_geojson_export_parsed_back(api: Served) -> None:
    r = api.get(f"/api/history/track/{ADDRESS}", params={"format": "geojson"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    assert r.headers["content-disposition"] == f'attachment; filename="track-{ADDRESS}.geojson"'
    doc = strict_loads(r.content)
    (f,) = doc["features"]
    want = api.history.track(ADDRESS).positions
    coords = f["geometry"]["coordinates"]
    assert f["geometry"]["type"] == "LineString" and len(coords) == want.num_rows
    assert coords[-1][:2] == pytest.approx([want.column("lon_deg")[-1].as_py(),
                                            want.column("lat_deg")[-1].as_py()], abs=1e-6)
    p = f["properties"]
    assert (p["icao24"], p["callsigns"], p["registration"], p["type"]) == (
        ADDRESS, ["AFR34ZG"], "F-GMZC", "A321")


def _check_trace_layout(doc: dict[str, Any], readsb: dict[str, Any]) -> None:
    """The document has readsb's keys in readsb's order and points of readsb's shape."""
    order = list(readsb)
    assert list(doc) == [k for k in order if k in doc]
    assert {"icao", "dbFlags", "timestamp", "trace"} <= set(doc)
    assert isinstance(doc["timestamp"], float | int)
    want_len = {len(p) for p in readsb["trace"]}
    assert {len(p) for p in doc["trace"]} == want_len == {14}
    sources = {p[9] for p in readsb["trace"]}
    for p in doc["trace"]:
        assert all(isinstance(p[i], float | int) for i in (0, 1, 2, 6))
        assert p[3] == "ground" or isinstance(p[3], int)
        assert all(p[i] is None or isinstance(p[i], float | int) for i in (4, 5, 7, 10))
        assert p[8] is None or isinstance(p[8], dict)
        assert p[9] in sources
    assert all(b[0] >= a[0] for a, b in itertools.pairwise(doc["trace"]))


def test_trace_files_where_tar1090_looks_in_readsbs_layout(
    api: Served, shared: Callable[[str], Path]
) -> None:
    script = shared(TAR1090_SCRIPT).read_text(encoding="utf-8")
    # tar1090's own URLs for an aircraft's trace (live, not globe_history)
    for kind in ("full", "recent"):
        assert f"'data/traces/'+ hex.slice(-2) + '/trace_{kind}_' + hex + '.json'" in script
    readsb = json.loads(shared(READSB_TRACE).read_text(encoding="utf-8"))
    full = api.json(f"/data/traces/{ADDRESS[-2:]}/trace_full_{ADDRESS}.json")
    _check_trace_layout(full, readsb)
    want = api.history.track(ADDRESS).positions
    assert full["icao"] == ADDRESS and (full["r"], full["t"]) == ("F-GMZC", "A321")
    assert full["desc"] and "A-321" in full["desc"].upper().replace("A321", "A-321")
    tr = full["trace"]
    assert len(tr) == want.num_rows and tr[0][0] == 0
    assert full["timestamp"] == pytest.approx(want.column("time_s")[0].as_py(), abs=0.001)
    times = [full["timestamp"] + p[0] for p in tr]
    assert max(abs(a - b) for a, b in zip(times, want.column("time_s").to_pylist(),
                                          strict=True)) < 0.01
    assert tr[0][3] == "ground" and max(p[3] for p in tr if p[3] != "ground") == 35_050
    assert sum(1 for p in tr if p[6] & 2) == 1  # one new leg: the take-off
    # trace_recent: readsb's last points of the same trace, same absolute times
    recent = api.json(f"/data/traces/{ADDRESS[-2:]}/trace_recent_{ADDRESS}.json")
    _check_trace_layout(recent, readsb)
    assert len(recent["trace"]) == TRACE_RECENT_POINTS and recent["trace"][0][0] == 0
    r_times = [recent["timestamp"] + p[0] for p in recent["trace"]]
    assert r_times == pytest.approx(times[-TRACE_RECENT_POINTS:], abs=0.01)
    assert [p[1:] for p in recent["trace"]] == [p[1:] for p in tr[-TRACE_RECENT_POINTS:]]
    # the same document from the track route, as a file
    r = api.get(f"/api/history/track/{ADDRESS}", params={"format": "trace"})
    assert r.headers["content-disposition"] == f'attachment; filename="trace_full_{ADDRESS}.json"'
    assert strict_loads(r.content) == full
    # a window narrows it; upper-case hex is the same aircraft
    part = api.json(f"/data/traces/22/trace_full_{ADDRESS.upper()}.json",
                    params={"from": "2024-07-06T07:00Z", "to": "2024-07-06T07:10Z"})
    assert 100 < len(part["trace"]) < len(tr)
    assert _t("2024-07-06T07:00Z") <= part["timestamp"] < _t("2024-07-06T07:01Z")


def test_the_openapi_document_lists_every_history_route(api: Served) -> None:
    spec = api.json("/openapi.json")
    for path in ("/api/history/track/{ident}", "/api/history/flights/{ident}",
                 "/api/history/airport/{icao}", "/api/history/area", "/api/history/aircraft",
                 "/api/history/search", "/data/traces/{last2}/trace_full_{hex}.json",
                 "/data/traces/{last2}/trace_recent_{hex}.json"):
        op = spec["paths"][path]["get"]
        assert {"200", "400"} <= set(op["responses"]), path
        for p in op["parameters"]:
            assert p["in"] in ("path", "query") and p["description"], (path, p)
    fmt = next(p for p in spec["paths"]["/api/history/track/{ident}"]["get"]["parameters"]
               if p["name"] == "format")
    assert fmt["schema"]["enum"] == ["json", "csv", "geojson", "kml", "trace"]
    assert "/v2/hex/{hex}" in spec["paths"]  # the live API is still there


# ---------------------------------------------------------------------------- refusals

BAD = [
    (f"/api/history/track/{ADDRESS}?from=2024-07-07&to=2024-07-06", 400, "to"),
    (f"/api/history/track/{ADDRESS}?from=2024-07-06&to=2024-07-06", 400, "to"),
    (f"/api/history/track/{ADDRESS}?from=yesterday", 400, "from"),
    (f"/api/history/track/{ADDRESS}?to=nan", 400, "to"),
    (f"/api/history/track/{ADDRESS}?from=1e309", 400, "from"),
    (f"/api/history/track/{ADDRESS}?from=-5", 400, "from"),
    (f"/api/history/track/{ADDRESS}?format=xls", 400, "format"),
    (f"/api/history/track/{ADDRESS}?start=2024-07-06", 400, "start"),
    ("/api/history/track/NOSUCH1", 404, "ident"),
    ("/api/history/track/F-HBXX", 404, "ident"),
    ("/api/history/track/%3Cscript%3E", 400, "ident"),
    ("/api/history/track/" + "A" * 17, 400, "ident"),
    ("/api/history/flights/NOSUCH1", 404, "ident"),
    ("/api/history/flights/AFR34ZG?from=2024-07-07&to=2024-07-01", 400, "to"),
    ("/api/history/airport/LFBO?date=2024-13-01", 400, "date"),
    ("/api/history/airport/LFBO?date=06/07/2024", 400, "date"),
    ("/api/history/airport/LFBO", 400, "date"),
    ("/api/history/airport/L'FBO?date=2024-07-06", 400, "icao"),
    ("/api/history/airport/QQQQ?date=2024-07-06", 404, "icao"),
    ("/api/history/area?bbox=44,1,43,2", 400, "bbox"),
    ("/api/history/area?bbox=1,2,3", 400, "bbox"),
    ("/api/history/area?bbox=a,b,c,d", 400, "bbox"),
    ("/api/history/area?bbox=95,0,96,1", 400, "bbox"),
    ("/api/history/area?circle=43.6,1.37,6000", 400, "circle"),
    ("/api/history/area?circle=43.6,1.37,-5", 400, "circle"),
    ("/api/history/area?circle=43.6,1.37", 400, "circle"),
    ("/api/history/area", 400, "bbox"),
    ("/api/history/area?bbox=43,1,44,2&circle=43,1,5", 400, "bbox"),
    ("/api/history/area?bbox=43,1,44,2&from=2024-07-07&to=2024-07-06", 400, "to"),
    ("/api/history/aircraft?mil=maybe", 400, "mil"),
    ("/api/history/aircraft?type=B7378", 400, "type"),
    ("/api/history/aircraft?country=" + "x" * 65, 400, "country"),
    ("/api/history/aircraft?watchlist=a%00b", 400, "watchlist"),
    ("/api/history/search", 400, "q"),
    ("/api/history/search?q=", 400, "q"),
    ("/api/history/search?q=a%20b", 400, "q"),
    ("/api/history/search?q=AFR34ZG&to=x", 400, "to"),
    ("/data/traces/22/trace_full_39332g.json", 400, "hex"),
    ("/data/traces/23/trace_full_393322.json", 404, "last2"),
    ("/data/traces/ef/trace_full_abcdef.json", 404, "hex"),
    ("/data/traces/ef/trace_recent_abcdef.json", 404, "hex"),
    ("/data/traces/22/trace_full_393322.json?from=2030-01-01", 404, "hex"),
]


@pytest.mark.parametrize(("path", "status", "param"), BAD)
def test_bad_parameters_are_4xx_json_naming_the_parameter(
    api: Served, path: str, status: int, param: str
) -> None:
    r = api.get(path)
    assert r.status_code == status, (path, r.text)
    assert r.headers["content-type"] == "application/json"
    doc = strict_loads(r.content)
    assert doc["param"] == param, (path, doc)
    assert isinstance(doc["error"], str) and doc["msg"]


def test_a_track_too_large_for_one_answer_is_refused_naming_from(
    api: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_history, "MAX_POSITIONS", 1000)
    r = api.get("/api/history/track/AFR34ZG")
    assert r.status_code == 400 and strict_loads(r.content)["param"] == "from"
    doc = api.json("/api/history/track/AFR34ZG", params={"from": "2024-07-06T07:00Z",
                                                         "to": "2024-07-06T07:05Z"})
    assert 0 < doc["count"] <= 1000


def test_other_methods_are_refused(api: Served) -> None:
    r = httpx.post(api.srv.url + f"/api/history/track/{ADDRESS}", timeout=10)
    assert r.status_code == 405 and strict_loads(r.content)["error"] == "method not allowed"


# ---------------------------------------------------------------------------- hostile strings

HOSTILE = ['<script>alert(1)</script>', "]]><x/>", "a\"b'c", "=cmd|' /C calc'!A0",
           "ctl\x01\x1b[2J\x7f"]


def _positions(address: int, callsigns: list[str], t0: float, lat0: float) -> Positions:
    n = len(callsigns)
    return Positions(positions_table({
        "icao24": [f"{address:06x}"] * n, "address": pa.array([address] * n, pa.uint32()),
        "non_icao": [False] * n, "time_s": [t0 + i for i in range(n)],
        "lat_deg": [lat0 + i / 100 for i in range(n)], "lon_deg": [20.0] * n,
        "altitude_ft": [1000.0] * n, "groundspeed_kt": [200.0] * n, "track_deg": [90.0] * n,
        "vertical_rate_fpm": [None] * n, "on_ground": [False] * n, "callsign": callsigns,
        "source": ["adsb"] * n, "reference": ["pair"] * n, "frame_seq": [-1] * n,
        "pair_frame_seq": [-1] * n,
    }))


@dataclass
class Writing(Served):
    writer: HistoryWriter


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Writing]:
    """As ``overflight serve --db`` runs it: the process's own writer holds the database and
    the API reads through the writer's store. Its aircraft abcdef was heard with hostile
    callsigns (planted as in tests/history/test_export.py)."""
    db = tmp_path_factory.mktemp("hostile") / "h.duckdb"
    w = HistoryWriter(open_history(db), kind="serve", flush_every_s=0)
    w.on_update(_positions(0xABCDEF, HOSTILE, 1.7e9, 10.0))
    w.flush()
    try:
        for served in _serve(History(w.store, Identifier(None))):
            yield Writing(served.srv, served.history, w)
    finally:
        w.close()


def test_the_serving_process_answers_what_its_writer_stores(hostile: Writing) -> None:
    assert hostile.json("/api/history/search", params={"q": "LIVE42"})["results"] == []
    hostile.writer.on_update(_positions(0xC0FFEE, ["LIVE42"] * 3, 1.7e9 + 100, 30.0))
    hostile.writer.flush()
    doc = hostile.json("/api/history/search", params={"q": "LIVE42"})
    assert [(r["matched"], r["icao24"], r["positions"]) for r in doc["results"]] == [
        ("callsign", "c0ffee", 3)]
    track = hostile.json("/api/history/track/c0ffee")
    assert [p["lat_deg"] for p in track["positions"]] == [30.0, 30.01, 30.02]


def test_hostile_callsigns_stay_inert_in_every_export(hostile: Writing) -> None:
    base = "/api/history/track/abcdef"
    # JSON: the strings, nothing more
    doc = hostile.json(base)
    assert [p["callsign"] for p in doc["positions"]] == HOSTILE
    # CSV: one record per position, control characters as text, a formula defused
    r = hostile.get(base, params={"format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert len(rows) == len(HOSTILE) + 1 and len({len(x) for x in rows}) == 1
    cs = [x[rows[0].index("callsign")] for x in rows[1:]]
    assert cs[0] == HOSTILE[0] and cs[2] == "a\"b'c" and cs[3].startswith("'=")
    assert cs[4] == "ctl\\x01\\x1b[2J\\x7f" and "\x01" not in r.text
    # KML: well-formed, no element from the data, the text there literally
    r = hostile.get(base, params={"format": "kml"})
    root = ET.fromstring(r.content)
    tags = {e.tag.split("}")[-1] for e in root.iter()}
    assert tags <= {"kml", "Document", "name", "Style", "LineStyle", "color", "width",
                    "IconStyle", "Icon", "href", "Placemark", "description", "styleUrl",
                    "Track", "altitudeMode", "when", "coord"}
    label = root.findtext(f".//{KML}Placemark/{KML}name") or ""
    assert "<script>alert(1)</script>" in label and "]]><x/>" in label
    assert b"<script>" not in r.content
    # GeoJSON: the callsigns as strings
    r = hostile.get(base, params={"format": "geojson"})
    feats = strict_loads(r.content)["features"]
    assert feats[0]["properties"]["callsigns"] == sorted(HOSTILE)
    # JSON answers of the other routes carry them as JSON strings
    area = hostile.json("/api/history/area", params={"bbox": "9,19,11,21"})
    assert area["aircraft"][0]["callsigns"] == sorted(HOSTILE)
    trace = hostile.json("/data/traces/ef/trace_full_abcdef.json")
    assert len(trace["trace"]) == len(HOSTILE)
    # a hostile search is a refused parameter, not SQL
    r = hostile.get("/api/history/search", params={"q": "' OR 1=1 --"})
    assert r.status_code == 400 and strict_loads(r.content)["param"] == "q"
    r = hostile.get("/api/history/aircraft", params={"country": "' OR 1=1 --"})
    assert r.status_code == 200 and strict_loads(r.content)["aircraft"] == []


# ---------------------------------------------------------------------------- fuzz

FUZZ = [
    "", " ", "\t", "\x00", "%00", "%", "%zz", "/", "..", "../../etc/passwd", "nan", "NaN",
    "inf", "-inf", "1e309", "-1e309", "1e-400", "-0", "0x10", "1_0", " 5 ", "٣", "１２",
    "9" * 400, "0" * 5000, "~", "~~393322", "<script>alert(1)</script>", "' OR 1=1 --",
    "'; DROP TABLE positions; --", "{}", "[]", "null", "true", "\u202e", "\ufeff", "é", "İ",
    "\U0001f6e9", "A" * 3000, "AFR34ZG", "F-GMZC", "A321", "393322", "LFBO", "2024-07-06",
    "2024-07-06T07:00Z", "2024-02-30", "9999-12-31T23:59:59Z", "0001-01-01", "1720249200",
    "43,1,44,2", "43.6,1.37,20", "-90,-180,90,180", "0,0,0", "1,2,3,4,5", ",,,", "90,0,90,1",
    "0,180,1,-180", "0,0,5000", "0,0,5000.0001", "json", "csv", "kml", "trace", "geojson",
    "true", "false", "yes", "1", "0",
]
_PARAM = re.compile(r"{(\w+)}")
values = st.one_of(
    st.sampled_from(FUZZ),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=48),
    st.from_regex(r"[~0-9a-fA-F,.\-+eEZT: ]{0,24}", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
)


def _check(r: httpx.Response, what: str) -> None:
    assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    if 400 <= r.status_code < 500 and r.status_code != 414:
        doc = strict_loads(r.content)
        assert isinstance(doc.get("error"), str) and isinstance(doc.get("msg"), str), what
    elif r.status_code == 200 and r.headers.get("content-type") == "application/json":
        strict_loads(r.content)


def test_fuzz_every_history_route_and_parameter_gets_no_5xx(api: Served) -> None:
    spec = api.json("/openapi.json")
    routes = {p: op["get"]["parameters"] for p, op in spec["paths"].items()
              if p.startswith(("/api/history/", "/data/traces/"))}
    assert len(routes) == 8
    seen: set[tuple[str, str]] = set()

    with httpx.Client(base_url=api.srv.url, timeout=60) as client:
        @settings(max_examples=300, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(st.sampled_from(sorted(routes)), st.data(), st.booleans())
        def run(path: str, data: st.DataObject, encode: bool) -> None:
            url = path
            query: dict[str, str] = {}
            for p in routes[path]:
                name = p["name"]
                if p["in"] == "path":
                    v = data.draw(values, label=name)
                    url = url.replace("{" + name + "}", quote(v, safe="") if encode
                                      else quote(v, safe="/%,~:+"))
                elif p.get("required") or data.draw(st.booleans(), label=f"with {name}"):
                    query[name] = data.draw(values, label=name)
                else:
                    continue
                seen.add((path, name))
            _check(client.get(url, params=query), f"{url[:200]} {query!r:.200}")

        run()
        every = {(p, x["name"]) for p, ps in routes.items() for x in ps}
        # most parameters fuzzed in combination (which ones depends on Hypothesis's search,
        # seen to vary with the machine's load); every one alone below
        assert seen <= every and len(seen) >= 0.8 * len(every), every - seen
        # and each hostile value alone in each parameter, the others valid
        good = {"ident": ADDRESS, "icao": "LFBO", "date": "2024-07-06", "q": "AFR34ZG",
                "last2": "22", "hex": ADDRESS, "bbox": "43,1,44,2", "from": "2024-07-06",
                "to": "2024-07-07", "format": "json"}
        for path, params in routes.items():
            for p in params:
                for v in FUZZ:
                    url, query = path, {}
                    for o in params:
                        val = v if o is p else good.get(o["name"])
                        if val is None:
                            continue
                        if o["in"] == "path":
                            url = url.replace("{" + o["name"] + "}", quote(val, safe=""))
                        else:
                            query[o["name"]] = val
                    _check(client.get(url, params=query), f"{url[:200]} {query!r:.200}")


# ---------------------------------------------------------------------------- tar1090 itself

class _HaveTraces:
    """Adds ``haveTraces: true`` to ``/data/receiver.json`` (readsb writes it when it keeps
    traces; tar1090 asks for trace files only then). Stands in for receiver.json saying so
    when the history routes are mounted."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/data/receiver.json":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                data = json.dumps({**json.loads(bytes(body)), "haveTraces": True}).encode()
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                await send({**start, "headers": [*headers,
                                                 (b"content-length", str(len(data)).encode())]})
                await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, capture)


def test_tar1090_reads_an_aircrafts_history_from_our_trace_files(
    api: Served, shared: Callable[[str], Path], tmp_path: Path
) -> None:
    from urllib.parse import urlsplit

    from . import conftest
    from .test_browser import _chromium

    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install playwright)")
    exe = _chromium()
    html = shared("tar1090-web/html")
    routes, paths = history_routes(api.history)
    make = conftest.create_app
    mp = pytest.MonkeyPatch()
    mp.setattr(conftest, "create_app", lambda *a, **kw: _HaveTraces(make(*a, **kw)))
    errors: list[str] = []
    traces: list[tuple[str, int]] = []
    try:
        with running_server(StationConfig(listen_beast=0, identify=False), web_root=html,
                            extra_routes=routes, extra_paths=paths) as srv:
            mp.undo()
            assert srv.get("/data/receiver.json").json()["haveTraces"] is True

            def only_loopback(route: Any) -> None:
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:
                    route.abort()

            def seen(response: Any) -> None:
                if "/data/traces/" in response.url:
                    traces.append((urlsplit(response.url).path, response.status))

            with sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=exe, headless=True,
                                            args=["--no-sandbox", "--disable-gpu"])
                try:
                    page = browser.new_page(viewport={"width": 1600, "height": 900})
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    page.on("response", seen)
                    page.route("**/*", only_loopback)
                    page.goto(srv.url + "/index.html", wait_until="domcontentloaded")
                    page.wait_for_function("() => typeof haveTraces !== 'undefined' && "
                                           "haveTraces && typeof selectPlaneByHex === 'function'",
                                           timeout=90_000)
                    page.evaluate(f"() => selectPlaneByHex('{ADDRESS}', {{}})")
                    page.wait_for_function(
                        f"() => g.planes['{ADDRESS}'] && g.planes['{ADDRESS}'].fullTrace && "
                        f"g.planes['{ADDRESS}'].recentTrace", timeout=60_000)
                    got = page.evaluate(f"""() => {{
                        const p = g.planes['{ADDRESS}'];
                        return {{full: p.fullTrace.trace.length, pos: p.position,
                                 recent: p.recentTrace.trace.length,
                                 first: p.fullTrace.trace[0].slice(0, 4),
                                 last: p.fullTrace.trace[p.fullTrace.trace.length - 1]
                                     .slice(0, 4)}};
                    }}""")
                    page.screenshot(path=str(tmp_path / "tar1090-history.png"))
                finally:
                    browser.close()
    finally:
        mp.undo()
    assert not errors, errors
    want = api.history.track(ADDRESS).positions
    assert sorted(traces) == [(f"/data/traces/22/trace_full_{ADDRESS}.json", 200),
                              (f"/data/traces/22/trace_recent_{ADDRESS}.json", 200)]
    # tar1090 made the times absolute (normalizeTraceStamps) and kept every point, and the
    # recent points it merges after the full trace add none (they are its tail)
    assert got["full"] == want.num_rows and got["recent"] == TRACE_RECENT_POINTS
    assert got["first"][0] == pytest.approx(want.column("time_s")[0].as_py(), abs=0.01)
    assert got["last"][0] == pytest.approx(want.column("time_s")[-1].as_py(), abs=0.01)
    assert got["last"][1:3] == pytest.approx([want.column("lat_deg")[-1].as_py(),
                                              want.column("lon_deg")[-1].as_py()], abs=1e-6)
    assert got["first"][3] == "ground"
    # the aircraft stands where the trace ends: parked at Toulouse (tar1090: [lon, lat])
    assert got["pos"] == pytest.approx([want.column("lon_deg")[-1].as_py(),
                                        want.column("lat_deg")[-1].as_py()], abs=1e-5)
