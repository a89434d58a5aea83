"""The OpenAPI 3.1 document of the server (``/openapi.json``) and a self-contained HTML page
listing it (``/docs``: no script, no external resources, every text escaped)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["docs_html", "openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["error", "msg"],
    "properties": {
        "error": {"type": "string"},
        "msg": {"type": "string", "description": "what is wrong"},
        "param": {"type": "string", "description": "the parameter at fault"},
    },
}

_AIRCRAFT = {
    "type": "object",
    "description": "One aircraft as readsb writes it in aircraft.json (README-json.md): hex, "
                   "type, flight, r, t, desc, ownOp, dbFlags, alt_baro (ft or \"ground\"), "
                   "alt_geom, gs, ias, tas, track, baro_rate, geom_rate, squawk, emergency, "
                   "category, nav_altitude_mcp, nav_heading, lat, lon, nic, rc, seen_pos, "
                   "version, nac_p, sil, sil_type, mlat, tisb, messages, seen, rssi; keys "
                   "without data are absent.",
    "required": ["hex", "type", "mlat", "tisb", "messages", "seen", "rssi"],
    "properties": {
        "hex": {"type": "string", "pattern": "^~?[0-9a-f]{6}$"},
        "type": {"type": "string"},
        "flight": {"type": "string"},
        "r": {"type": "string"},
        "t": {"type": "string"},
        "desc": {"type": "string"},
        "ownOp": {"type": "string"},
        "dbFlags": {"type": "integer", "description": "1 military, 2 interesting, 4 PIA, 8 LADD"},
        "alt_baro": {"oneOf": [{"type": "integer"}, {"const": "ground"}]},
        "lat": {"type": "number"},
        "lon": {"type": "number"},
        "seen": {"type": "number"},
        "messages": {"type": "integer"},
        "dst": {"type": "number", "description": "point queries: distance (nm)"},
        "dir": {"type": "number", "description": "point queries: direction (deg true)"},
    },
}

_V2 = {
    "type": "object",
    "required": ["ac", "msg", "now", "total", "ctime", "ptime"],
    "properties": {
        "ac": {"type": "array", "items": {"$ref": "#/components/schemas/Aircraft"}},
        "msg": {"type": "string"},
        "now": {"type": "integer", "description": "data time, epoch ms"},
        "total": {"type": "integer"},
        "ctime": {"type": "integer", "description": "time the data was cached, epoch ms"},
        "ptime": {"type": "number", "description": "processing time, ms"},
    },
}


def _param(name: str, description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": dict(schema)}


def _v2_op(summary: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "summary": summary,
        "parameters": list(params),
        "responses": {
            "200": {"description": "matching aircraft", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/V2Response"}}}},
            "400": {"description": "a bad parameter", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    }}


_HEX_P = _param("hex", "ICAO address(es): six hex digits, '~' prefix for non-ICAO; up to 1000 "
                "separated by commas", {"type": "string", "pattern": r"^~?[0-9a-fA-F]{6}"
                                        r"(,~?[0-9a-fA-F]{6})*$"})


def openapi_document(version: str, extra_paths: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI document (``extra_paths`` from mounted routers, e.g. history)."""
    paths: dict[str, Any] = {
        "/data/aircraft.json": {"get": {
            "summary": "readsb aircraft.json (what tar1090 reads)",
            "responses": {"200": {"description": "{now, messages, aircraft: [...]}",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["now", "messages",
                                                                     "aircraft"],
                                      "properties": {"now": {"type": "number"},
                                                     "messages": {"type": "integer"},
                                                     "aircraft": {"type": "array", "items": {
                                                         "$ref": "#/components/schemas/"
                                                                 "Aircraft"}}}}}}}},
        }},
        "/data/receiver.json": {"get": {
            "summary": "readsb receiver.json",
            "responses": {"200": {"description": "{version, refresh, history, readsb, lat?, "
                                                 "lon?}",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}}},
        }},
        "/v2/hex/{hex}": _v2_op("aircraft by ICAO address", _HEX_P),
        "/v2/icao/{hex}": _v2_op("aircraft by ICAO address (alias of /v2/hex)", _HEX_P),
        "/v2/callsign/{callsign}": _v2_op("aircraft by callsign", _param(
            "callsign", "callsign, 1-8 letters and digits", {"type": "string",
                                                             "pattern": "^[A-Za-z0-9]{1,8}$"})),
        "/v2/reg/{reg}": _v2_op("aircraft by registration", _param(
            "reg", "registration", {"type": "string", "pattern": "^[A-Za-z0-9-]{1,12}$"})),
        "/v2/type/{type}": _v2_op("aircraft by ICAO type designator", _param(
            "type", "ICAO type designator", {"type": "string",
                                             "pattern": "^[A-Za-z0-9]{1,4}$"})),
        "/v2/mil": _v2_op("military aircraft (dbFlags bit 1)"),
        "/v2/sqk/{squawk}": _v2_op("aircraft by squawk", _param(
            "squawk", "four octal digits", {"type": "string", "pattern": "^[0-7]{4}$"})),
        "/v2/point/{lat}/{lon}/{radius_nm}": _v2_op(
            "aircraft within a radius of a point, nearest first (radius capped at 250 nm)",
            _param("lat", "latitude (degrees)", {"type": "number", "minimum": -90,
                                                 "maximum": 90}),
            _param("lon", "longitude (degrees)", {"type": "number", "minimum": -180,
                                                  "maximum": 180}),
            _param("radius_nm", "radius (nautical miles, capped at 250)",
                   {"type": "number", "minimum": 0})),
    }
    if extra_paths:
        paths.update(extra_paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Overflight",
            "version": version,
            "description": "Live aircraft from an Overflight station: readsb-compatible "
                           "/data/aircraft.json for tar1090, an ADS-B Exchange v2 style API, "
                           "and live push over the WebSocket /ws/aircraft (a 'full' message, "
                           "then a 'diff' of changed aircraft at most once a second).",
        },
        "paths": paths,
        "components": {"schemas": {"Aircraft": _AIRCRAFT, "V2Response": _V2, "Error": _ERROR}},
    }


def docs_html(doc: Mapping[str, Any]) -> str:
    """A plain HTML page listing every route and parameter of ``doc``."""
    e = html.escape
    info = doc.get("info", {})
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{e(str(info.get('title', '')))} API</title>",
        "<style>body{font:15px/1.4 system-ui,sans-serif;max-width:60em;margin:2em auto;"
        "padding:0 1em}code{background:#eee;padding:0 .2em}li{margin:.2em 0}</style>",
        "</head><body>",
        f"<h1>{e(str(info.get('title', '')))} API {e(str(info.get('version', '')))}</h1>",
        f"<p>{e(str(info.get('description', '')))}</p>",
        "<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1).</p>",
    ]
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            out.append(f"<h2><code>{e(method.upper())} {e(path)}</code></h2>")
            out.append(f"<p>{e(str(op.get('summary', '')))}</p>")
            params = op.get("parameters", [])
            if params:
                out.append("<ul>")
                for p in params:
                    out.append(f"<li><code>{e(str(p['name']))}</code>: "
                               f"{e(str(p.get('description', '')))}</li>")
                out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)
