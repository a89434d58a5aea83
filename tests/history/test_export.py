"""Exports parsed back by real libraries (xml.etree, json, csv): coordinates and times of the
stored flight, tar1090's trace_full layout, and hostile strings that stay inert."""

from __future__ import annotations

import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from overflight.history import HistoryWriter, open_history
from overflight.history.export import (
    positions_csv,
    positions_geojson,
    positions_kml,
    trace_full,
)
from overflight.history.query import History
from overflight.station.updates import Positions
from overflight.tracking.records import positions_table

from .conftest import Ingested

KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture()
def track(ingested: Ingested) -> pa.Table:
    h = History(open_history(ingested.db, read_only=True))
    try:
        return h.track("393322").positions
    finally:
        h.close()


def test_kml_gx_track_holds_every_position_with_its_time_and_altitude(track: pa.Table) -> None:
    root = ET.fromstring(positions_kml(track, "AFR34ZG"))
    tracks = root.findall(f".//{GX}Track")
    assert len(tracks) == 1
    whens = [_t(w.text or "") for w in tracks[0].findall(f"{KML}when")]
    coords = [[float(x) for x in (c.text or "").split()] for c in tracks[0].findall(f"{GX}coord")]
    assert len(whens) == len(coords) == track.num_rows
    assert tracks[0].findtext(f"{KML}altitudeMode") == "absolute"
    t = track.column("time_s").to_pylist()
    assert max(abs(a - b) for a, b in zip(whens, t, strict=True)) < 0.001
    lat, lon = track.column("lat_deg").to_pylist(), track.column("lon_deg").to_pylist()
    assert max(abs(c[0] - x) for c, x in zip(coords, lon, strict=True)) < 1e-6
    assert max(abs(c[1] - y) for c, y in zip(coords, lat, strict=True)) < 1e-6
    assert max(c[2] for c in coords) == pytest.approx(35_050 * 0.3048, abs=0.1)  # metres


def test_geojson_linestring_with_times(track: pa.Table) -> None:
    doc = json.loads(json.dumps(positions_geojson(track)))
    assert doc["type"] == "FeatureCollection"
    (f,) = doc["features"]
    coords = f["geometry"]["coordinates"]
    assert f["geometry"]["type"] == "LineString" and len(coords) == track.num_rows
    assert coords[0][:2] == pytest.approx([track.column("lon_deg")[0].as_py(),
                                           track.column("lat_deg")[0].as_py()], abs=1e-6)
    times = [_t(x) for x in f["properties"]["times"]]
    assert times == sorted(times) and len(times) == track.num_rows
    assert f["properties"]["icao24"] == "393322"
    assert f["properties"]["callsigns"] == ["AFR34ZG"]


def test_trace_full_in_readsbs_layout(track: pa.Table) -> None:
    doc = json.loads(json.dumps(trace_full(track, registration="F-GMZC", type_code="A321",
                                           leg_starts_s=[1720249161.85])))
    assert set(doc) == {"icao", "r", "t", "dbFlags", "desc", "timestamp", "trace"}
    assert doc["icao"] == "393322" and doc["r"] == "F-GMZC"
    tr = doc["trace"]
    assert len(tr) == track.num_rows and all(len(p) == 14 for p in tr)
    assert tr[0][0] == 0 and all(b[0] >= a[0] for a, b in itertools.pairwise(tr))
    assert tr[0][3] == "ground"  # at the gate in Paris
    assert max(p[3] for p in tr if p[3] != "ground") == 35_050
    assert sum(1 for p in tr if p[6] & 2) == 1  # one new leg: the take-off flight
    assert doc["timestamp"] == pytest.approx(track.column("time_s")[0].as_py(), abs=0.001)


HOSTILE = ['<script>alert(1)</script>', "]]><x/>", "a\"b'c", "=cmd|' /C calc'!A0",
           "ctl\x01\x1b[2J\x7f"]


@pytest.fixture()
def hostile_db(tmp_path: Path) -> Path:
    db = tmp_path / "hostile.duckdb"
    n = len(HOSTILE)
    t = positions_table({
        "icao24": ["abcdef"] * n, "address": pa.array([0xABCDEF] * n, pa.uint32()),
        "non_icao": [False] * n, "time_s": [1.7e9 + i for i in range(n)],
        "lat_deg": [10.0 + i / 100 for i in range(n)], "lon_deg": [20.0] * n,
        "altitude_ft": [1000.0] * n, "groundspeed_kt": [200.0] * n, "track_deg": [90.0] * n,
        "vertical_rate_fpm": [None] * n, "on_ground": [False] * n, "callsign": HOSTILE,
        "source": ["adsb"] * n, "reference": ["pair"] * n, "frame_seq": [-1] * n,
        "pair_frame_seq": [-1] * n,
    })
    w = HistoryWriter(open_history(db), kind="serve")
    w.on_update(Positions(t))
    w.close()
    return db


def test_hostile_callsigns_stay_inert_in_kml_csv_and_geojson(hostile_db: Path) -> None:
    h = History(open_history(hostile_db, read_only=True))
    p = h.track("abcdef").positions
    h.close()
    assert p.column("callsign").to_pylist() == HOSTILE  # stored as heard
    # KML: well-formed XML, no element came from the data, the text is there literally
    root = ET.fromstring(positions_kml(p, HOSTILE[0]))
    tags = {e.tag.split("}")[-1] for e in root.iter()}
    assert tags <= {"kml", "Document", "name", "Style", "LineStyle", "color", "width",
                    "IconStyle", "Icon", "href", "Placemark", "description", "styleUrl",
                    "Track", "altitudeMode", "when", "coord"}
    assert root.findtext(f"{KML}Document/{KML}name") == HOSTILE[0]
    label = root.findtext(f".//{KML}Placemark/{KML}name") or ""
    assert "<script>alert(1)</script>" in label and "]]><x/>" in label
    assert "\x01" not in positions_kml(p) and "\\x01" in positions_kml(p)
    # CSV: one record per position with every column, control characters as text,
    # a formula defused
    rows = list(csv.reader(io.StringIO(positions_csv(p))))
    assert len(rows) == len(HOSTILE) + 1 and len({len(r) for r in rows}) == 1
    cs = [r[rows[0].index("callsign")] for r in rows[1:]]
    assert cs[0] == HOSTILE[0] and cs[2] == "a\"b'c"
    assert cs[3].startswith("'=")
    assert cs[4] == "ctl\\x01\\x1b[2J\\x7f"
    # GeoJSON: valid JSON whose strings are the callsigns, nothing more
    doc = json.loads(json.dumps(positions_geojson(p)))
    assert doc["features"][0]["properties"]["callsigns"] == sorted(HOSTILE)
