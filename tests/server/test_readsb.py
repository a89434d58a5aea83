"""/data/aircraft.json and /data/receiver.json against readsb's documented format
(readsb README-json.md), from a live station fed a real capture over a socket."""

from __future__ import annotations

import re
from typing import Any

import httpx

from overflight.geo import haversine_m_scalar

from .conftest import CAPTURE_ADDRESSES, TRACKED, LiveServer, strict_loads

# readsb README-json.md, aircraft.json: every key readsb writes and what its value must be.
_TYPES = {"adsb_icao", "adsb_icao_nt", "adsr_icao", "tisb_icao", "adsc", "mlat", "other",
          "mode_s", "adsb_other", "adsr_other", "tisb_other", "tisb_trackfile", "unknown"}
_EMERGENCY = {"none", "general", "lifeguard", "minfuel", "nordo", "unlawful", "downed",
              "reserved"}
_MLAT_TISB_NAMES = {"lat", "lon", "alt_baro", "alt_geom", "gs", "track", "baro_rate",
                    "geom_rate", "ias", "tas", "squawk", "flight", "emergency",
                    "nav_altitude_mcp", "nav_heading"}


def _int(lo: int, hi: int) -> Any:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _num(lo: float, hi: float) -> Any:
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi


def _str(pattern: str) -> Any:
    return lambda v: isinstance(v, str) and re.fullmatch(pattern, v) is not None


FIELDS: dict[str, Any] = {
    "hex": _str(r"~?[0-9a-f]{6}"),
    "type": lambda v: v in _TYPES,
    "flight": _str(r"[A-Z0-9 ]{8}"),
    "r": _str(r"\S.{0,15}"),
    "t": _str(r"[A-Z0-9]{1,4}"),
    "desc": _str(r".{1,80}"),
    "ownOp": _str(r".{1,80}"),
    "dbFlags": _int(1, 15),
    "year": _str(r"[0-9]{4}"),
    "alt_baro": lambda v: v == "ground" or _int(-2000, 60000)(v),
    "alt_geom": _int(-2000, 60000),
    "gs": _num(0, 5000),
    "ias": _int(0, 1500),
    "tas": _int(0, 2000),
    "mach": _num(0, 5),
    "track": _num(0, 360),
    "track_rate": _num(-100, 100),
    "roll": _num(-90, 90),
    "mag_heading": _num(0, 360),
    "true_heading": _num(0, 360),
    "baro_rate": _int(-40000, 40000),
    "geom_rate": _int(-40000, 40000),
    "squawk": _str(r"[0-7]{4}"),
    "emergency": lambda v: v in _EMERGENCY,
    "category": _str(r"[A-D][0-7]"),
    "nav_qnh": _num(0, 2000),
    "nav_altitude_mcp": _int(-2000, 70000),
    "nav_altitude_fms": _int(-2000, 70000),
    "nav_heading": _num(0, 360),
    "nav_modes": lambda v: isinstance(v, list),
    "lat": _num(-90, 90),
    "lastPosition": lambda v: isinstance(v, dict) and {"lat", "lon", "seen_pos"} <= set(v) <= {
        "lat", "lon", "nic", "rc", "mlat_error_m", "seen_pos"},
    "lon": _num(-180, 180),
    "nic": _int(0, 11),
    "rc": _int(0, 100000),
    "seen_pos": _num(0, 1e6),
    "version": _int(0, 2),
    "nic_baro": _int(0, 1),
    "nac_p": _int(0, 11),
    "nac_v": _int(0, 4),
    "sil": _int(0, 3),
    "sil_type": lambda v: v in {"unknown", "perhour", "persample"},
    "gva": _int(0, 3),
    "sda": _int(0, 3),
    "alert": _int(0, 1),
    "spi": _int(0, 1),
    "mlat": lambda v: isinstance(v, list) and set(v) <= _MLAT_TISB_NAMES,
    "tisb": lambda v: isinstance(v, list) and set(v) <= _MLAT_TISB_NAMES,
    "messages": _int(0, 2**53),
    "seen": _num(0, 1e6),
    "rssi": _num(-50, 0),
    # Ours, documented in tracking/aircraft_json.py (tar1090 ignores unknown keys):
    "mlat_error_m": _num(0, 1e6),
}
ALWAYS = ("hex", "type", "mlat", "tisb", "messages", "seen", "rssi")


def test_aircraft_json_every_field_is_readsb_format(live: LiveServer) -> None:
    r = live.get("/data/aircraft.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    doc = strict_loads(r.content)
    assert set(doc) == {"now", "messages", "aircraft"}
    with live.station._lock:
        assert doc["messages"] == live.station.tracker.messages
    assert doc["messages"] >= 238  # (nearly) every frame of the capture applied to an aircraft
    # `now` is epoch seconds: the station clock of a live feed is UTC (not the capture's counter)
    assert doc["now"] > 1.7e9
    hexes = {a["hex"] for a in doc["aircraft"]}
    assert {h.lower() for h in TRACKED} <= hexes <= {h.lower() for h in CAPTURE_ADDRESSES}
    for a in doc["aircraft"]:
        for k in ALWAYS:
            assert k in a, (a["hex"], k)
        for k, v in a.items():
            assert k in FIELDS, f"{a['hex']}: key {k!r} is not in readsb's format"
            assert FIELDS[k](v), f"{a['hex']}: {k}={v!r} is not what readsb writes"
        assert ("lat" in a) == ("lon" in a) == ("seen_pos" in a)


def test_aircraft_json_values_are_the_trackers_and_the_registrys(
    live: LiveServer, registry_rows: dict[str, list[str]], reference: dict[str, Any]
) -> None:
    doc = strict_loads(live.get("/data/aircraft.json").content)
    by_hex = {a["hex"]: a for a in doc["aircraft"]}
    with live.station._lock:
        states = {s.icao24: s for s in live.station.tracker.live()}
    a = by_hex["48520a"]
    s = states["48520a"]
    assert s.lat_deg is not None and s.lon_deg is not None
    assert haversine_m_scalar(a["lat"], a["lon"], s.lat_deg, s.lon_deg) < 1.0
    ref = reference["48520a"]  # the same frames tracked from the file
    assert ref.lat_deg is not None and ref.lon_deg is not None
    assert haversine_m_scalar(a["lat"], a["lon"], ref.lat_deg, ref.lon_deg) < 1.0
    assert 43.0 < a["lat"] < 44.5 and 0.5 < a["lon"] < 2.0  # near Toulouse
    assert a["flight"] == "TRA89M  "
    assert a["alt_baro"] == 38000
    assert a["squawk"] == "5516"
    assert a["type"] == "adsb_icao"
    assert a["messages"] == 144
    assert by_hex["3981e4"]["flight"] == "TJT62CB "
    assert by_hex["3981e4"]["messages"] == 92
    assert set(by_hex) >= {h.lower() for h in TRACKED}
    for hex_, rec in by_hex.items():
        row = registry_rows[hex_.upper()]
        assert rec["r"] == row[1]
        assert rec["t"] == row[2]
        if row[4]:
            assert rec["desc"] == row[4]
    assert by_hex["48520a"]["r"] == "PH-HXB" and by_hex["48520a"]["t"] == "B738"
    assert by_hex["3981e4"]["dbFlags"] == 1  # the user source's military flag
    assert "dbFlags" not in by_hex["48520a"]


def test_receiver_json(live: LiveServer) -> None:
    r = live.get("/data/receiver.json")
    assert r.status_code == 200
    doc = strict_loads(r.content)
    assert doc["refresh"] == 1000
    assert doc["history"] == 0
    assert doc["readsb"] is True
    assert doc["version"].startswith("overflight ")
    assert (doc["lat"], doc["lon"]) == (43.63, 1.37)


def test_head_answers_with_headers_only(live: LiveServer) -> None:
    r = httpx.head(live.url + "/data/aircraft.json", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) > 100
    assert r.content == b""
