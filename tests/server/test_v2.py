"""The ADS-B Exchange v2 style API over a real socket, fed a real capture."""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from overflight.geo import haversine_m_scalar
from overflight.server.views import SnapshotView
from overflight.station import Snapshot, Station, StationConfig

from ._many import ManyAircraft
from .conftest import LiveServer, strict_loads

ENVELOPE = {"ac", "msg", "now", "total", "ctime", "ptime"}


def v2(live: LiveServer, path: str) -> dict[str, Any]:
    r = live.get(path)
    assert r.status_code == 200, (path, r.text)
    assert r.headers["content-type"] == "application/json"
    doc = strict_loads(r.content)
    assert set(doc) == ENVELOPE, path
    assert doc["msg"] == "No error"
    assert doc["total"] == len(doc["ac"])
    assert isinstance(doc["now"], int) and doc["now"] > 1.7e12  # epoch milliseconds
    assert isinstance(doc["ctime"], int) and doc["ctime"] > 1.7e12
    assert doc["ptime"] >= 0
    return doc


def hexes(doc: dict[str, Any]) -> list[str]:
    return [a["hex"] for a in doc["ac"]]


def test_now_is_aircraft_json_now_in_ms(live: LiveServer) -> None:
    a = strict_loads(live.get("/data/aircraft.json").content)
    d = v2(live, "/v2/hex/48520a")
    assert abs(d["now"] - a["now"] * 1000) < 60_000


def test_hex_single_list_and_case(live: LiveServer) -> None:
    d = v2(live, "/v2/hex/48520a")
    assert hexes(d) == ["48520a"]
    rec = d["ac"][0]
    assert rec["r"] == "PH-HXB" and rec["t"] == "B738" and rec["flight"] == "TRA89M  "
    assert hexes(v2(live, "/v2/hex/48520A")) == ["48520a"]
    assert hexes(v2(live, "/v2/icao/3981e4")) == ["3981e4"]
    assert sorted(hexes(v2(live, "/v2/hex/3981e4,48520a,48520a,abcdef"))) == ["3981e4", "48520a"]
    assert v2(live, "/v2/hex/abcdef")["total"] == 0
    assert v2(live, "/v2/hex/~48520a")["total"] == 0  # not a non-ICAO address here


def test_callsign_reg_type_squawk(live: LiveServer) -> None:
    assert hexes(v2(live, "/v2/callsign/TRA89M")) == ["48520a"]
    assert hexes(v2(live, "/v2/callsign/tra89m")) == ["48520a"]
    assert hexes(v2(live, "/v2/callsign/TJT62CB")) == ["3981e4"]
    assert v2(live, "/v2/callsign/TRA89")["total"] == 0  # whole callsigns, not prefixes
    assert hexes(v2(live, "/v2/reg/PH-HXB")) == ["48520a"]
    assert hexes(v2(live, "/v2/reg/oo-ssi")) == ["44ce69"]
    assert hexes(v2(live, "/v2/type/B738")) == ["48520a"]
    assert hexes(v2(live, "/v2/type/a319")) == ["44ce69"]
    assert v2(live, "/v2/type/A388")["total"] == 0
    assert hexes(v2(live, "/v2/sqk/5516")) == ["48520a"]
    assert hexes(v2(live, "/v2/sqk/1000")) == ["3981e4"]
    assert v2(live, "/v2/sqk/7700")["total"] == 0


def test_mil_lists_the_aircraft_flagged_military(live: LiveServer) -> None:
    d = v2(live, "/v2/mil")
    assert hexes(d) == ["3981e4"]
    assert d["ac"][0]["dbFlags"] & 1


def test_point_distance_direction_and_cap(live: LiveServer) -> None:
    with live.station._lock:
        s = next(a for a in live.station.tracker.live() if a.icao24 == "48520a")
    assert s.lat_deg is not None and s.lon_deg is not None
    # 30 nm due south of the aircraft: it is 30 nm away, bearing 0 (north) from the point
    lat0, lon0 = s.lat_deg - 0.5, s.lon_deg
    d = v2(live, f"/v2/point/{lat0}/{lon0}/40")
    assert hexes(d) == ["48520a"]
    rec = d["ac"][0]
    want_nm = haversine_m_scalar(lat0, lon0, s.lat_deg, s.lon_deg) / 1852.0
    assert rec["dst"] == pytest.approx(want_nm, abs=0.01)
    assert 29.9 < rec["dst"] < 30.1
    assert min(rec["dir"], 360 - rec["dir"]) < 0.1
    assert v2(live, f"/v2/point/{lat0}/{lon0}/29")["total"] == 0
    # 300 nm away: outside the 250 nm cap however large the radius asked for
    far = s.lat_deg - 5.0
    assert v2(live, f"/v2/point/{far}/{lon0}/1000")["total"] == 0
    assert hexes(v2(live, f"/v2/point/{far}/{lon0}/0")) == []
    assert hexes(v2(live, f"/v2/point/{s.lat_deg - 4.0}/{lon0}/1000")) == ["48520a"]  # 240 nm


BAD = [
    ("/v2/hex/48520", "hex"),
    ("/v2/hex/48520g", "hex"),
    ("/v2/hex/48520a,", "hex"),
    ("/v2/hex/" + ",".join(["48520a"] * 1001), "hex"),
    ("/v2/callsign/TOOLONG12", "callsign"),
    ("/v2/callsign/%3Cscript%3E", "callsign"),
    ("/v2/reg/PH_HXB", "reg"),
    ("/v2/type/B7378", "type"),
    ("/v2/sqk/7800", "squawk"),
    ("/v2/sqk/770", "squawk"),
    ("/v2/point/91/0/10", "lat"),
    ("/v2/point/nan/0/10", "lat"),
    ("/v2/point/0/-180.5/10", "lon"),
    ("/v2/point/0/inf/10", "lon"),
    ("/v2/point/0/0/-1", "radius_nm"),
    ("/v2/point/0/0/1e999", "radius_nm"),
    ("/v2/point/0/0/ten", "radius_nm"),
]


@pytest.mark.parametrize(("path", "param"), BAD)
def test_bad_parameters_are_400_json_naming_the_parameter(
    live: LiveServer, path: str, param: str
) -> None:
    r = live.get(path)
    assert r.status_code == 400, (path, r.text)
    assert r.headers["content-type"] == "application/json"
    doc = strict_loads(r.content)
    assert doc["error"] == "bad parameter"
    assert doc["param"] == param
    assert doc["msg"].startswith(param + ": ")


def test_unknown_route_and_method_are_json(live: LiveServer) -> None:
    r = live.get("/v2/nothing")
    assert r.status_code == 404
    assert strict_loads(r.content)["error"] == "not found"
    r = live.get("/v2/point/1/2")
    assert r.status_code == 404
    r = live.get("/data/aircraft.json", params={"x": "1"})
    assert r.status_code == 200
    r = httpx.post(live.url + "/v2/mil", timeout=10)
    assert r.status_code == 405
    assert strict_loads(r.content)["error"] == "method not allowed"


def test_openapi_lists_every_route_and_docs_page(live: LiveServer) -> None:
    spec = strict_loads(live.get("/openapi.json").content)
    assert spec["openapi"].startswith("3.")
    routes = {getattr(r, "path", None) for r in live.app.routes}
    api_routes = {p for p in routes if p and (p.startswith("/v2/") or p.startswith("/data/"))}
    assert api_routes == {p for p in spec["paths"] if p.startswith(("/v2/", "/data/"))}
    for path, item in spec["paths"].items():
        params = {p["name"] for p in item["get"].get("parameters", [])}
        assert params == set(re.findall(r"{(\w+)}", path)), path
    r = live.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    for path in spec["paths"]:
        assert path.replace("{", "").replace("}", "") in r.text.replace("{", "").replace("}", "")


def test_point_band_search_equals_a_full_scan(capture: Path) -> None:
    """The latitude-band search of /v2/point finds exactly what a scan of every position finds
    (real tracked states spread over the globe; poles and the antimeridian included)."""
    st = Station(StationConfig(identify=False, flights=False))
    st.run_file(capture)
    snap = ManyAircraft(st.snapshot().aircraft, 30000).snapshot()
    rng = random.Random(5)
    spread = tuple(dataclasses.replace(a, lat_deg=rng.uniform(-90, 90),
                                       lon_deg=rng.uniform(-180, 180)) for a in snap.aircraft)
    view = SnapshotView(Snapshot(snap.time_s, snap.wall_s, snap.messages, spread, {}))
    pos = [(i, r["lat"], r["lon"]) for i, r in enumerate(view.records) if "lat" in r]
    assert len(pos) == 30000
    points = [(0.0, 0.0, 250.0), (89.9, 10.0, 250.0), (-89.5, -170.0, 200.0),
              (10.0, 179.9, 250.0), (45.0, -60.0, 5.0), (30.0, 30.0, 0.0)]
    points += [(rng.uniform(-90, 90), rng.uniform(-180, 180), rng.uniform(0, 250))
               for _ in range(40)]
    found = 0
    for lat0, lon0, radius in points:
        idx, dst, _ = view.within(lat0, lon0, radius)
        want = {i for i, la, lo in pos
                if haversine_m_scalar(lat0, lon0, la, lo) / 1852.0 <= radius}
        assert set(idx.tolist()) == want, (lat0, lon0, radius)
        assert list(dst) == sorted(dst)
        found += len(want)
    assert found > 200  # the circles held aircraft: the comparison was not of empty sets
