"""``/api/alerts`` carries what the map needs to open the aircraft and its flight: the landing's
``flight_id``, the time to look a flight up otherwise, relative links; the OpenAPI paths name
them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from overflight.alerts import parse_rules
from overflight.alerts.routes import alert_links, alert_paths, alert_routes
from overflight.alerts.service import AlertService
from overflight.station import Events
from overflight.station.schema import EVENTS_SCHEMA

RULES = """
[[rule]]
name = "landed"
select = {}
when = { landed = true }
notify = ["log"]

[[rule]]
name = "seen"
select = {}
when = { first_seen = true }
notify = ["log"]
"""


def _event(kind: str, t: float, address: int, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": f"{kind}:{address:06x}:{t}", "kind": kind, "time_s": t,
        "address": address, "non_icao": False, "icao24": f"{address:06x}", "callsign": "AFR34ZG",
        "squawk": None, "lat_deg": 43.63, "lon_deg": 1.37, "airport": None, "before": None,
        "after": None, "flight_id": None}
    row.update(kw)
    return row


def test_api_alerts_items_link_the_aircraft_and_its_flight(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    svc = AlertService(parse_rules(RULES), store=tmp_path / "a.duckdb")
    svc.on_update(Events(pa.Table.from_pylist([
        _event("first_seen", 1720250000.25, 0x393322),
        _event("landing", 1720252900.5, 0x393322, airport="LFBO",
               flight_id="393322-1720245000"),
    ], schema=EVENTS_SCHEMA)))
    client = TestClient(Starlette(routes=alert_routes(svc)))
    try:
        doc = json.loads(client.get("/api/alerts").text)
    finally:
        svc.close()
    landed, seen = doc["alerts"]  # newest first
    assert (landed["rule"], landed["icao24"], landed["flight_id"]) == \
        ("landed", "393322", "393322-1720245000")
    assert landed["flight_time_s"] == 1720252900.5
    assert landed["links"] == {
        "map": "?icao=393322",
        "flights": "api/history/flights/393322?from=1720252900&to=1720252901"}
    assert (seen["rule"], seen["flight_id"], seen["flight_time_s"]) == \
        ("seen", None, 1720250000.25)
    assert seen["links"]["flights"].endswith("?from=1720250000&to=1720250001")
    assert client.get("/api/alerts?since=nan").status_code == 400


def test_links_of_a_non_icao_address_and_a_silent_alert() -> None:
    links = alert_links({"icao24": "~3c4b2a", "time_s": 1000.0, "flight_time_s": 400.0})
    assert links == {"map": "?icao=~3c4b2a",
                     "flights": "api/history/flights/~3c4b2a?from=400&to=401"}
    assert alert_links({"icao24": "3c4b2a", "time_s": float("nan")}) == \
        {"map": "?icao=3c4b2a"}


def test_openapi_paths_name_the_link_fields() -> None:
    from overflight.server.openapi import openapi_document

    spec = openapi_document("test", alert_paths())
    op = spec["paths"]["/api/alerts"]["get"]
    item = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"][
        "alerts"]["items"]
    assert {"icao24", "flight_id", "flight_time_s", "links"} <= set(item["required"])
    assert "/alerts.atom" in spec["paths"]
