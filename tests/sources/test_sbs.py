"""SBS BaseStation lines and readsb aircraft.json, on real frames and a real readsb trace."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyModeS

from overflight.sources.files import read_batches
from overflight.sources.readsb_json import parse_aircraft_json
from overflight.sources.sbs import SbsRecord, format_sbs, parse_sbs_line, records_from_frames

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
TRACE = "modes-traffic-samples/trace_full_ac671b.json"


def test_sbs_line_round_trip_and_dump1090_flags() -> None:
    line = (
        "MSG,3,1,1,4840D6,1,2024/07/06,06:43:09.525,2024/07/06,06:43:09.530,,35000,,,"
        "51.45735,4.89012,,,0,0,0,-1"
    )
    r = parse_sbs_line(line)
    assert isinstance(r, SbsRecord)
    assert r.icao24 == "4840d6" and r.altitude_ft == 35000 and r.on_ground is True
    assert r.latitude_deg == 51.45735 and r.time_s == 1720248189.525
    assert format_sbs(r) == line
    assert parse_sbs_line("STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,,,RM") == "not MSG"
    assert parse_sbs_line("MSG,3,1,1,XYZ") == "short line"
    assert parse_sbs_line(b"\xff\xfe") == "non-ascii"


def test_sbs_records_from_real_frames_match_pymodes(shared: Callable[[str], Path]) -> None:
    batch = next(iter(read_batches(shared(SAMPLE))))
    recs = records_from_frames(batch)
    calls = {r.icao24: r.callsign for r in recs if r.transmission_type == 1}
    assert calls["48520a"] == "TRA89M"
    alts = [r for r in recs if r.transmission_type == 5]
    assert alts
    for r in alts[:20]:
        line = format_sbs(r)
        back = parse_sbs_line(line)
        assert isinstance(back, SbsRecord) and back.altitude_ft == r.altitude_ft
    want = {
        pyModeS.decode(batch.frame_hex(i)).get("altitude")
        for i in range(len(batch)) if batch.data[i, 0] >> 3 in (4, 20)
    }
    assert {r.altitude_ft for r in alts} <= want


def test_aircraft_json_from_a_real_readsb_trace(shared: Callable[[str], Path]) -> None:
    trace = json.loads(shared(TRACE).read_text())
    first, last = trace["trace"][0], trace["trace"][-1]
    now = trace["timestamp"] + last[0]
    doc = {
        "now": now, "messages": 1234,
        "aircraft": [
            {"hex": trace["icao"], "flight": "DAL1812 ", "alt_baro": first[3], "gs": first[4],
             "track": first[5], "lat": first[1], "lon": first[2], "seen": 1.5, "seen_pos": 2.0},
            {"hex": trace["icao"], "alt_baro": last[3], "lat": last[1], "lon": last[2]},
            {"hex": "~2a1b3c", "alt_baro": 1200},
            {"hex": "not-hex"},
            "junk",
        ],
    }
    snap = parse_aircraft_json(json.dumps(doc))
    assert not isinstance(snap, str)
    assert snap.skipped == 2 and len(snap.aircraft) == 3
    a, b, c = snap.aircraft
    assert a.icao24 == "ac671b" and a.callsign == "DAL1812" and a.altitude_ft == 32000
    assert abs(a.latitude_deg - 16.78) < 0.01 and a.time_s == now - 1.5  # type: ignore[operator]
    assert b.on_ground is True and b.altitude_ft is None
    assert abs(b.latitude_deg - 39.877) < 0.01  # type: ignore[operator]
    assert c.non_icao and c.icao24 == "2a1b3c"
    assert parse_aircraft_json("{") == "bad json"
    assert parse_aircraft_json('{"aircraft": []}') == "no time"
