"""HTTP routes of the alerts for the server: ``/alerts.atom`` (Atom feed) and ``/api/alerts``
(JSON: the newest alerts with their evidence, and the service's status: rules in force, last
reload error, delivery counts and failures per target).

Query parameters: ``limit`` (1..1000, default 100), ``since`` (UTC epoch seconds).

Each item of ``/api/alerts`` is the stored alert document plus ``links``, what a map needs to
open the aircraft and its flight: ``icao24`` (the aircraft: six hex digits, ``~`` before a
non-ICAO address), ``flight_id`` (take-off and landing alerts: the flight of the event, the
``flight_id`` of ``/api/history/flights``; null for others), ``flight_time_s`` (when the
aircraft was heard at the alert, UTC epoch s: its flight is the one flying then) and
``links = {"map": "?icao=<icao24>", "flights": "api/history/flights/<icao24>?from=..&to=.."}``
(relative URLs: the map opened on the aircraft; its flights around ``flight_time_s``, the one
to open being ``flight_id``'s, else the one spanning ``flight_time_s``). A take-off's flight
is in history once it has landed.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from overflight.jsonout import dumps

__all__ = ["alert_links", "alert_paths", "alert_routes"]


def _params(request: Request) -> tuple[int, float | None] | Response:
    try:
        limit = int(request.query_params.get("limit", "100"))
        since_text = request.query_params.get("since")
        since = float(since_text) if since_text is not None else None
    except ValueError:
        return Response(dumps({"error": "bad_param", "msg": "limit must be an integer, since "
                               "a number", "param": "limit/since"}),
                        status_code=400, media_type="application/json")
    if not 1 <= limit <= 1000 or (since is not None and not math.isfinite(since)):
        return Response(dumps({"error": "bad_param", "msg": "limit must be within 1..1000, "
                               "since a finite number", "param": "limit/since"}),
                        status_code=400, media_type="application/json")
    return limit, since


def alert_links(doc: dict[str, Any]) -> dict[str, str]:
    """The relative URLs of an alert document's aircraft on the map and its flights."""
    icao24 = str(doc.get("icao24") or "")
    t = doc.get("flight_time_s")
    if not isinstance(t, int | float) or not math.isfinite(t):
        t = doc.get("time_s")
    links = {"map": "?icao=" + quote(icao24, safe="~")}
    if isinstance(t, int | float) and math.isfinite(t):
        links["flights"] = (f"api/history/flights/{quote(icao24, safe='~')}"
                            f"?from={math.floor(t)}&to={math.floor(t) + 1}")
    return links


def alert_routes(service: Any) -> list[Route]:
    """Starlette routes over an :class:`~overflight.alerts.service.AlertService` (their
    OpenAPI paths: :func:`alert_paths`)."""
    from overflight.alerts.feed import atom_feed

    async def atom(request: Request) -> Response:
        p = _params(request)
        if isinstance(p, Response):
            return p
        docs = service.recent(p[0], p[1])
        return Response(atom_feed(docs, base_url=str(request.base_url)),
                        media_type="application/atom+xml; charset=utf-8")

    async def api(request: Request) -> Response:
        p = _params(request)
        if isinstance(p, Response):
            return p
        alerts = [{**d, "links": alert_links(d)} for d in service.recent(p[0], p[1])]
        body = {"alerts": alerts, "status": service.status()}
        return Response(dumps(body), media_type="application/json")

    return [Route("/alerts.atom", atom, methods=["GET"]),
            Route("/api/alerts", api, methods=["GET"])]


_STR = {"type": "string"}
_NUM = {"type": "number"}
_NSTR = {"type": ["string", "null"]}
_ALERT = {
    "type": "object",
    "description": "one alert, as stored in history and posted to webhooks, with links",
    "required": ["id", "rule", "kind", "time_s", "time", "icao24", "address", "non_icao",
                 "flight_id", "flight_time_s", "detail", "evidence", "links"],
    "properties": {
        "id": {"type": "string", "description": "stable: rule, aircraft and occurrence"},
        "rule": _STR, "kind": {"type": "string", "description": "the rule's event kind"},
        "time_s": {"type": "number", "description": "when it fired, UTC epoch s"},
        "time": {"type": "string", "description": "the same, ISO 8601 UTC"},
        "icao24": {"type": "string", "pattern": "^~?[0-9a-f]{6}$",
                   "description": "the aircraft (open it on the map)"},
        "address": {"type": "integer"}, "non_icao": {"type": "boolean"},
        "callsign": _NSTR, "registration": _NSTR, "type_code": _NSTR, "operator": _NSTR,
        "country_code": _NSTR, "military": {"type": "boolean"},
        "lat_deg": {"type": ["number", "null"]}, "lon_deg": {"type": ["number", "null"]},
        "airport": _NSTR,
        "flight_id": {"type": ["string", "null"],
                      "description": "took_off / landed: the event's flight (flight_id of "
                                     "/api/history/flights); null for other kinds"},
        "flight_time_s": {"type": ["number", "null"],
                          "description": "UTC epoch s when the aircraft was heard at the "
                                         "alert: look its flight up at this time when there "
                                         "is no flight_id (a silent alert: its last contact)"},
        "detail": {"type": "string", "description": "plain text; escape it where shown"},
        "notify": {"type": "array", "items": _STR},
        "evidence": {"type": "object", "description": "positions (with frame_seq / "
                     "pair_frame_seq), frames (seq, time_s, receiver, raw hex), receivers"},
        "links": {"type": "object", "required": ["map"], "properties": {
            "map": {"type": "string", "description": "relative URL of the map opened on "
                                                      "the aircraft (?icao=...)"},
            "flights": {"type": "string", "description": "relative URL of its flights "
                        "around flight_time_s (/api/history/flights/{icao24}?from&to)"}}},
    },
}


def alert_paths() -> dict[str, Any]:
    """The OpenAPI paths of :func:`alert_routes`."""
    params = [
        {"name": "limit", "in": "query", "required": False,
         "description": "how many alerts, newest first (1..1000, default 100)",
         "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
        {"name": "since", "in": "query", "required": False,
         "description": "only alerts at or after this time (UTC epoch s)", "schema": _NUM},
    ]
    bad = {"description": "a bad parameter (named in 'param')", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "/api/alerts": {"get": {
            "summary": "recent alerts (newest first) with their evidence and links to the "
                       "aircraft and its flight; the alert service's status",
            "description": "Each alert carries icao24 (the aircraft), flight_id (take-off / "
                           "landing) and flight_time_s (when to look its flight up), and "
                           "links.map / links.flights (relative URLs).",
            "parameters": params,
            "responses": {"200": {"description": "alerts and status", "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["alerts", "status"],
                    "properties": {"alerts": {"type": "array", "items": _ALERT},
                                   "status": {"type": "object", "description":
                                              "rules, rules_path, reload_error, "
                                              "alerts_stored, engine counts, delivery per "
                                              "target, delivery_failures"}}}}}},
                "400": bad}}},
        "/alerts.atom": {"get": {
            "summary": "recent alerts as an Atom feed", "parameters": params,
            "responses": {"200": {"description": "Atom 1.0", "content": {
                "application/atom+xml": {"schema": _STR}}}, "400": bad}}},
    }
