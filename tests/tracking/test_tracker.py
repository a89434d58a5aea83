"""Tracker on real captures: accuracy against rs1090's decode, validation, expiry, events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from overflight.modes import decode_batch
from overflight.modes.crc import crc24
from overflight.modes.encode import encode_airborne_position, encode_aircraft_status, encode_df5
from overflight.tracking import OUTCOME_NAMES, POSITIONS_SCHEMA, Tracker, aircraft_json
from overflight.tracking._cpr import greatcircle_m

from ._frames import batch_from_hex, cut_hex, load_jsonl

FULL = "modes-traffic-samples/full_flight_short.jsonl.gz"
LFPG = (49.0097, 2.5479)
LFBO = (43.6293, 1.3638)


@pytest.fixture(scope="module")
def flight(shared: Callable[[str], Path]) -> dict[str, Any]:
    recs = load_jsonl(shared(FULL))
    frames = [cut_hex(r["frame"]) for r in recs]
    times = np.array([r["timestamp"] for r in recs])
    ref_lat = np.array([r.get("latitude", np.nan) for r in recs])
    ref_lon = np.array([r.get("longitude", np.nan) for r in recs])
    return {"frames": frames, "times": times, "ref_lat": ref_lat, "ref_lon": ref_lon}


@pytest.fixture(scope="module")
def flight_table(flight: dict[str, Any]) -> pa.Table:
    return decode_batch(batch_from_hex(flight["frames"], flight["times"]))


@pytest.fixture(scope="module")
def tracked(flight_table: pa.Table) -> tuple[Tracker, pa.Table, np.ndarray]:
    tr = Tracker(receiver_lat_lon=LFPG)
    # in several batches, as a live feed would deliver it
    parts = []
    codes = []
    for start in range(0, flight_table.num_rows, 5000):
        parts.append(tr.update(flight_table.slice(start, 5000)))
        codes.append(tr.last_outcomes.copy())
    return tr, pa.concat_tables(parts), np.concatenate(codes)


def test_full_flight_path_from_lfpg_ground_to_lfbo_ground(tracked: Any) -> None:
    tr, pos, _ = tracked
    assert pos.schema == POSITIONS_SCHEMA
    assert len(tr) == 1
    rows = pos.to_pylist()
    first, last = rows[0], rows[-1]
    assert first["icao24"] == "393322" and first["on_ground"] is True
    assert greatcircle_m(first["lat_deg"], first["lon_deg"], *LFPG) < 3000
    assert last["on_ground"] is True
    assert greatcircle_m(last["lat_deg"], last["lon_deg"], *LFBO) < 3000
    assert max(r["altitude_ft"] or 0 for r in rows) == 35050
    assert {r["callsign"] for r in rows} - {None} == {"AFR34ZG"}
    a = tr.get("393322")
    assert a is not None and a.callsign == "AFR34ZG" and a.on_ground is True
    assert a.messages == 57793
    # the track never jumps: consecutive accepted positions a few km apart at most
    lat = pos.column("lat_deg").to_numpy()
    lon = pos.column("lon_deg").to_numpy()
    d = np.array(
        [greatcircle_m(lat[i], lon[i], lat[i + 1], lon[i + 1]) for i in range(len(lat) - 1)]
    )
    assert d.max() < 5000


def test_every_accepted_position_matches_reference_and_misses_have_reasons(
    tracked: Any, flight: dict[str, Any]
) -> None:
    _, pos, codes = tracked
    accepted = np.isin(codes, [OUTCOME_NAMES.index("global"), OUTCOME_NAMES.index("local")])
    idx = np.flatnonzero(accepted)
    assert len(idx) == pos.num_rows > 8200
    ref_lat, ref_lon = flight["ref_lat"][idx], flight["ref_lon"][idx]
    assert not np.isnan(ref_lat).any()  # nothing accepted that the reference did not decode
    lat = pos.column("lat_deg").to_numpy()
    lon = pos.column("lon_deg").to_numpy()
    d = np.array([greatcircle_m(*p) for p in zip(lat, lon, ref_lat, ref_lon, strict=True)])
    assert d.max() < 5.0  # metres
    missed = np.flatnonzero(~np.isnan(flight["ref_lat"]) & ~accepted)
    reasons = {OUTCOME_NAMES[c] for c in codes[missed]}
    assert "none" not in reasons  # every reference position we did not accept has a reason
    assert len(missed) < 40


def _flip_far(frame_hex: str) -> str:
    """Flip one CPR latitude bit of a DF17 position and fix the CRC (it decodes ~680 km away)."""
    b = bytearray(bytes.fromhex(frame_hex))
    # ME starts at bit 32; CPR lat is ME bits 22..38 -> frame bits 54..70; flip bit 59
    b[59 // 8] ^= 0x80 >> (59 % 8)
    crc = crc24(bytes(b[:11]))
    b[11:14] = crc.to_bytes(3, "big")
    return b.hex()


def test_planted_bit_flip_passing_crc_and_spoofed_jump_are_rejected(
    flight: dict[str, Any], flight_table: pa.Table, tracked: Any
) -> None:
    tr0 = tracked[0]
    frames = list(flight["frames"])
    times = list(flight["times"])
    # an airborne position in cruise
    i = next(
        k
        for k in range(30000, 40000)
        if frames[k].startswith(("8d", "8f")) and 9 <= int(frames[k][8:10], 16) >> 3 <= 18
    )
    bad = _flip_far(frames[i])
    assert crc24(bytes.fromhex(bad)[:11]) == int(bad[22:], 16)
    lat0 = flight["ref_lat"][i]
    lon0 = flight["ref_lon"][i]
    # spoofed pair 200 km east, ten seconds later
    j = i + 200
    spoof = [
        encode_airborne_position(
            "393322", lat0, lon0 + 200 / (111.32 * np.cos(np.radians(lat0))), 35000, odd
        ).hex()
        for odd in (False, True)
    ]
    new_frames = [*frames[: i + 1], bad, *frames[i + 1 : j], *spoof, *frames[j:]]
    planted = [times[i] + 0.0001, *times[i + 1 : j], times[j] - 0.0002, times[j] - 0.0001]
    new_times = [*times[: i + 1], *planted, *times[j:]]
    tab = decode_batch(batch_from_hex(new_frames, new_times))
    tr = Tracker(receiver_lat_lon=LFPG)
    pos = tr.update(tab)
    codes = tr.last_outcomes
    # each planted frame, decoded against the trusted position, fails the speed gate: a
    # conflict (not paired with a real frame, the aircraft not moved)
    assert OUTCOME_NAMES[codes[i + 1]] == "conflict"
    assert OUTCOME_NAMES[codes[j + 1]] == "conflict" and OUTCOME_NAMES[codes[j + 2]] == "conflict"
    assert tr.rejections["conflict"] == tr0.rejections["conflict"] + 3
    a = tr.get("393322")
    assert a is not None and a.conflicts == tr0.get("393322").conflicts + 3  # type: ignore[union-attr]
    # the track stays on the real flight: every accepted position within metres of the reference
    assert pos.num_rows == tracked[1].num_rows
    assert np.allclose(pos.column("lat_deg").to_numpy(), tracked[1].column("lat_deg").to_numpy())


def test_sample_dump1090_four_aircraft_and_callsigns(shared: Callable[[str], Path]) -> None:
    """Four addresses, three tracked: 440062 answers one DF11 all-call in the capture, and an
    address heard once waits for a second message (readsb's rule) without a state record."""
    from overflight.pipeline import track_file

    tr = track_file(shared("modes-traffic-samples/sample_dump1090.bin"))
    states = {a.icao24: a for a in tr.all_aircraft()}
    assert set(states) == {"48520a", "3981e4", "44ce69"}
    assert tr.dropped["unconfirmed"] == 1 and tr.seen_once is not None and len(tr.seen_once) == 1
    assert states["48520a"].callsign == "TRA89M"
    # Mode S only aircraft are kept and listed
    assert states["3981e4"].lat_deg is None and states["3981e4"].altitude_baro_ft is not None
    assert states["3981e4"].squawk is not None
    doc = aircraft_json(tr.all_aircraft(), tr.now_s, tr.messages, keep_old=True)
    by_hex = {a["hex"]: a for a in doc["aircraft"]}
    assert by_hex["48520a"]["flight"] == "TRA89M  "
    assert by_hex["48520a"]["type"] == "adsb_icao"
    assert by_hex["3981e4"]["type"] == "mode_s"
    assert doc["messages"] == 238


def test_expiry_follows_readsb_rule(flight_table: pa.Table) -> None:
    tr = Tracker(receiver_lat_lon=LFPG)
    tr.update(flight_table)
    a = tr.get(0x393322)
    assert a is not None and a.position_time_s is not None
    last_msg = a.last_seen_s
    assert [x.icao24 for x in tr.live(last_msg + 29)] == ["393322"]
    # a position younger than 60 s keeps it live even after 30 s of silence
    assert tr.live(a.position_time_s + 59) and a.position_time_s + 59 > last_msg + 30
    assert tr.live(max(last_msg + 31, a.position_time_s + 61)) == []
    assert [x.icao24 for x in tr.all_aircraft()] == ["393322"]  # history kept


def test_emergency_squawk_and_adsb_emergency_raise_events(flight: dict[str, Any]) -> None:
    """An emergency is raised once confirmed by a second message (one frame is not enough)."""
    frames = flight["frames"][:3000]
    times = list(flight["times"][:3000])
    t = times[-1]
    tr = Tracker(receiver_lat_lon=LFPG)
    tr.update(
        decode_batch(batch_from_hex([*frames, encode_df5("393322", "7700").hex()], [*times, t + 1]))
    )
    assert tr.drain_events() == []  # one reply: not confirmed yet
    frames = [
        encode_df5("393322", "7700").hex(),
        encode_aircraft_status("393322", "7700", "general").hex(),
        encode_aircraft_status("393322", "7700", "general").hex(),
    ]
    tr.update(decode_batch(batch_from_hex(frames, [t + 2, t + 3, t + 4])))
    events = tr.drain_events()
    kinds = [(e.kind, e.squawk) for e in events]
    assert kinds[0] == ("squawk", "7700") and events[0].time_s == t + 2
    assert len([k for k in kinds if k[0] == "squawk"]) == 1  # raised once, not per message
    assert any(e.kind == "emergency" and e.emergency not in (None, "none") for e in events)
    assert all(e.icao24 == "393322" and e.callsign == "AFR34ZG" for e in events)
    assert tr.drain_events() == []
    doc = aircraft_json(tr.live(), tr.now_s, tr.messages)
    assert doc["aircraft"][0]["squawk"] == "7700"


def test_mlat_positions_are_validated_and_listed(flight_table: pa.Table) -> None:
    tr = Tracker(receiver_lat_lon=LFPG)
    tr.update(flight_table.slice(0, 20000))
    a = tr.get("393322")
    assert a is not None and a.lat_deg is not None and a.position_time_s is not None
    t = a.last_seen_s + 40  # ADS-B positions silent for a while
    ok = tr.update_mlat(
        ["393322"], [t], [a.lat_deg + 0.01], [a.lon_deg], [a.altitude_baro_ft], [50.0]
    )
    assert ok.num_rows == 1 and ok.column("source").to_pylist() == ["mlat"]
    far = tr.update_mlat(["393322"], [t + 1], [a.lat_deg + 3.0], [a.lon_deg], None, None)
    assert far.num_rows == 0 and tr.rejections["speed"] >= 1
    rec = aircraft_json(tr.live(t + 1), t + 1, tr.messages)["aircraft"][0]
    assert "lat" in rec["mlat"] and "lon" in rec["mlat"]
    assert rec["type"] == "mlat"


def test_bad_rows_are_counted_not_fatal() -> None:
    good = "8D4840D6202CC371C32CE0576098"
    tab = decode_batch([good, "zz", "8D4840D6202CC371C32CE0576099", good], fix=False)
    tr = Tracker()
    times = pa.array([1.0, 2.0, 3.0, 4.0])
    tab = tab.set_column(tab.schema.get_field_index("time_s"), "time_s", times)
    tr.update(tab)
    assert tr.dropped["invalid"] == 2
    assert tr.get("4840d6") is not None and tr.get("4840d6").callsign == "KLM1023"  # type: ignore[union-attr]


_TC31_V2 = "8d48520af82300060049b898ba5f"  # the Beast capture's operational status of 48520A
_TC29_V2 = "8d48520aea4a5867c53c08219a7d"  # ... and its target state and status


def test_sil_type_is_kept_from_real_frames_as_readsb_writes_it(
    shared: Callable[[str], Path],
) -> None:
    """The capture's version-2 TC31/TC29 give SIL 3 per flight hour (pyModeS: sil 3, supplement
    0). As in readsb, a later SIL without supplement (version 1) keeps the known type, and a
    known one replaces it; an aircraft with only version-1 SIL reads "unknown"."""
    import pyModeS

    from overflight.pipeline import track_file
    from overflight.tracking import TRACKER_COLUMNS

    from ._frames import with_me_bit

    assert "sil_type" in TRACKER_COLUMNS
    theirs = pyModeS.decode(_TC31_V2)
    assert (theirs["sil"], theirs["sil_supplement"], theirs["version"]) == (3, 0, 2)
    tr = track_file(shared("modes-traffic-samples/sample_dump1090.bin"))
    a = tr.get("48520a")
    assert a is not None and (a.sil, a.sil_type, a.adsb_version) == (3, "perhour", 2)
    doc = aircraft_json(tr.all_aircraft(), tr.now_s, tr.messages, keep_old=True)
    by_hex = {r["hex"]: r for r in doc["aircraft"]}
    assert (by_hex["48520a"]["sil"], by_hex["48520a"]["sil_type"]) == (3, "perhour")
    assert all("sil_type" not in by_hex[h] for h in ("3981e4", "44ce69"))

    version1 = with_me_bit(with_me_bit(_TC31_V2, 42), 43)  # version bits 41-43: 010 -> 001
    per_sample = with_me_bit(_TC29_V2, 8)  # TC29 version 2, SIL supplement set
    assert pyModeS.decode(version1)["version"] == 1
    t0 = tr.now_s + 1.0
    steps = [(version1, "perhour"), (per_sample, "persample"), (version1, "persample")]
    for k, (frame, want) in enumerate(steps):
        tr.update(decode_batch(batch_from_hex([frame], [t0 + k]), columns=TRACKER_COLUMNS))
        a = tr.get("48520a")
        assert a is not None and a.sil == 3 and a.sil_type == want, k
        rec = aircraft_json([a], t0 + k, tr.messages)["aircraft"][0]
        assert rec["sil_type"] == want

    only_v1 = Tracker()
    only_v1.update(decode_batch(batch_from_hex([version1, version1], [t0, t0 + 1])))
    a = only_v1.get("48520a")
    assert a is not None and a.sil == 3 and a.sil_type is None
    assert aircraft_json([a], t0, 1)["aircraft"][0]["sil_type"] == "unknown"
