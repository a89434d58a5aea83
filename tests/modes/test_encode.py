"""ADS-B / Mode S encoder: round trips through pyModeS 3 and overflight.modes.decode."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.modes.commb import decode_commb
from overflight.modes.cpr import airborne_position_global, cpr_nl, surface_position_global
from overflight.modes.crc import crc24
from overflight.modes.encode import (
    ac13_code,
    cpr_encode,
    encode_airborne_position,
    encode_aircraft_status,
    encode_airspeed,
    encode_df4,
    encode_df5,
    encode_df11,
    encode_df20,
    encode_df21,
    encode_identification,
    encode_operational_status,
    encode_surface_position,
    encode_target_state,
    encode_velocity,
)

pms = pytest.importorskip("pyModeS")
from pyModeS.position import _cpr as pms_cpr  # noqa: E402

try:
    from overflight.modes import decode as our_decode
except ImportError:  # the core decoder is not there yet
    our_decode = None

icao = st.integers(0, (1 << 24) - 1).map(lambda a: f"{a:06x}")
squawks = st.text("01234567", min_size=4, max_size=4)
FAST = settings(max_examples=150, deadline=None)


def _pms(frame: bytes) -> dict[str, Any]:
    return dict(pms.decode(frame.hex()))


def _ours(frame: bytes) -> Any:
    return our_decode(frame.hex()) if our_decode is not None else None


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat = math.radians(lat2 - lat1)
    dlon = math.radians((lon2 - lon1 + 180) % 360 - 180)
    a = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(dlon / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _crc_ok(frame: bytes) -> bool:
    return crc24(frame[:-3]) == int.from_bytes(frame[-3:], "big")


@FAST
@given(icao, st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8),
       st.sampled_from("ABCD"), st.integers(0, 7))  # fmt: skip
def test_identification(address: str, callsign: str, letter: str, digit: int) -> None:
    frame = encode_identification(address, callsign, f"{letter}{digit}")
    assert _crc_ok(frame)
    d = _pms(frame)
    assert d["icao"].lower() == address and d["callsign"] == callsign
    assert d["typecode"] == "DCBA".index(letter) + 1 and d["category"] == digit
    m = _ours(frame)
    if m is not None:
        assert m.callsign == callsign and m.category == f"{letter}{digit}" and m.crc_ok


@FAST
@given(icao, st.floats(-85, 85), st.floats(-180, 179.999), st.integers(-1000, 50175),
       st.integers(9, 18))  # fmt: skip
def test_airborne_position_pair_decodes_within_metres(
    address: str, lat: float, lon: float, alt: int, tc: int
) -> None:
    even = encode_airborne_position(address, lat, lon, alt, False, typecode=tc)
    odd = encode_airborne_position(address, lat, lon, alt, True, typecode=tc)
    assert _crc_ok(even) and _crc_ok(odd)
    de, do = _pms(even), _pms(odd)
    assert abs(de["altitude"] - alt) <= 12.5 and de["typecode"] == tc
    assert (de["cpr_format"], do["cpr_format"]) == (0, 1)
    near_zone_edge = cpr_nl(lat - 0.01) != cpr_nl(lat + 0.01)
    for newer_odd in (False, True):
        theirs = pms_cpr.airborne_position_pair(
            de["cpr_lat"], de["cpr_lon"], do["cpr_lat"], do["cpr_lon"], even_is_newer=not newer_odd
        )
        ours = airborne_position_global(
            de["cpr_lat"], de["cpr_lon"], do["cpr_lat"], do["cpr_lon"], newer_odd
        )
        if near_zone_edge and (theirs is None or ours is None):
            continue
        assert theirs is not None and ours is not None
        assert _metres(lat, lon, *theirs) < 5.0
        assert _metres(lat, lon, *ours) < 5.0
    m = _ours(odd)
    if m is not None:
        assert m.altitude_ft is not None and abs(m.altitude_ft - alt) <= 12.5
        assert (m.cpr_odd, m.cpr_lat, m.cpr_lon) == (True, do["cpr_lat"], do["cpr_lon"])


@FAST
@given(st.integers(50200, 126700), st.integers(20, 22), st.integers(0, 13000))
def test_high_gillham_and_gnss_altitudes(alt: int, tc: int, gnss_ft: int) -> None:
    d = _pms(encode_airborne_position("abc123", 45.0, 5.0, alt, False))
    assert abs(d["altitude"] - alt) <= 50  # 100 ft Gillham code
    assert ac13_code(alt) & 0x50 == 0  # Q = 0, M = 0
    g = _pms(encode_airborne_position("abc123", 45.0, 5.0, gnss_ft, False, typecode=tc))
    assert abs(g["altitude"] - gnss_ft) <= 3.3  # GNSS height in metres


@FAST
@given(st.floats(-80, 80), st.floats(-179, 179), st.floats(0, 200), st.floats(0, 359.9),
       st.floats(-0.5, 0.5), st.floats(-0.5, 0.5))  # fmt: skip
def test_surface_position_pair(
    lat: float, lon: float, gs: float, trk: float, dlat: float, dlon: float
) -> None:
    even = encode_surface_position("4ca123", lat, lon, gs, trk, False)
    odd = encode_surface_position("4ca123", lat, lon, gs, trk, True)
    de, do = _pms(even), _pms(odd)
    assert _crc_ok(even) and de["typecode"] == 7
    assert abs(de["track"] - trk) <= 360 / 256 or abs(abs(de["track"] - trk) - 360) <= 360 / 256
    bands = ((1, 0.125), (2, 0.25), (15, 0.5), (70, 1.0), (100, 2.0), (175, 5.0))
    step = next((s for upper, s in bands if gs < upper), 0.0)
    assert abs(de["groundspeed"] - gs) <= step / 2 + 1e-9 or de["groundspeed"] == 175
    ref = (lat + dlat, lon + dlon)  # a receiver within ~35 NM
    theirs = pms_cpr.surface_position_pair(
        de["cpr_lat"], de["cpr_lon"], do["cpr_lat"], do["cpr_lon"],
        lat_ref=ref[0], lon_ref=ref[1], even_is_newer=True,
    )  # fmt: skip
    ours = surface_position_global(
        de["cpr_lat"], de["cpr_lon"], do["cpr_lat"], do["cpr_lon"], False, ref[0], ref[1]
    )
    near_zone_edge = cpr_nl(lat - 0.01) != cpr_nl(lat + 0.01)
    if near_zone_edge and (theirs is None or ours is None):
        return
    assert theirs is not None and _metres(lat, lon, *theirs) < 2.0
    assert ours is not None and _metres(lat, lon, *ours) < 2.0


@FAST
@given(st.floats(50, 1000), st.floats(0, 359.99), st.integers(-30000, 30000),
       st.integers(-3000, 3000), st.sampled_from(["baro", "gnss"]))  # fmt: skip
def test_velocity_ground_speed(gs: float, trk: float, vr: int, diff: int, src: str) -> None:
    frame = encode_velocity("40621d", gs, trk, vr, vertical_rate_source=src, gnss_baro_diff_ft=diff)
    d = _pms(frame)
    assert _crc_ok(frame) and d["subtype"] == 1
    assert abs(d["groundspeed"] - gs) <= 1.75  # components to 1 kt; pyModeS truncates to int
    assert abs((d["track"] - trk + 180) % 360 - 180) <= 1.0
    assert abs(d["vertical_rate"] - vr) <= 32 and d["vr_source"] == src.upper()
    assert abs(d["geo_minus_baro"] - diff) <= 12.5
    m = _ours(frame)
    if m is not None:
        assert abs(m.groundspeed_kt - gs) <= 1.75 and abs(m.vertical_rate_fpm - vr) <= 32
        assert abs((m.track_deg - trk + 180) % 360 - 180) <= 1.0
        assert m.vertical_rate_source == src and abs(m.gnss_baro_diff_ft - diff) <= 12.5


@FAST
@given(st.floats(0, 4000), st.floats(0, 359.99))
def test_velocity_supersonic(gs: float, trk: float) -> None:
    d = _pms(encode_velocity("40621d", gs, trk, None, supersonic=True))
    assert d["subtype"] == 2 and abs(d["groundspeed"] - gs) <= 4.0
    assert d["vertical_rate"] is None


@FAST
@given(st.floats(0, 1000), st.floats(0, 359.99), st.integers(-30000, 30000),
       st.sampled_from(["IAS", "TAS"]))  # fmt: skip
def test_velocity_airspeed(spd: float, hdg: float, vr: int, kind: str) -> None:
    frame = encode_airspeed("a05f21", spd, hdg, vr, airspeed_type=kind)
    d = _pms(frame)
    assert d["subtype"] == 3 and abs(d["airspeed"] - spd) <= 0.5 and d["airspeed_type"] == kind
    assert abs((d["heading"] - hdg + 180) % 360 - 180) <= 360 / 2048
    assert abs(d["vertical_rate"] - vr) <= 32
    m = _ours(frame)
    if m is not None:
        assert abs(m.airspeed_kt - spd) <= 0.5 and m.airspeed_type == kind
        assert abs((m.heading_deg - hdg + 180) % 360 - 180) <= 360 / 2048


@FAST
@given(icao, squawks, st.integers(0, 6))
def test_aircraft_status(address: str, squawk: str, emergency: int) -> None:
    frame = encode_aircraft_status(address, squawk, emergency)
    d = _pms(frame)
    assert _crc_ok(frame) and d["squawk"] == squawk and d["emergency_state"] == emergency
    m = _ours(frame)
    if m is not None:
        assert m.squawk == squawk


@FAST
@given(st.integers(0, 65000), st.floats(800, 1208), st.floats(0, 359.9), st.integers(0, 11),
       st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans())  # fmt: skip
def test_target_state(
    alt: int, qnh: float, hdg: float, nacp: int, ap: bool, vnav: bool, hold: bool, app: bool,
    lnav: bool,
) -> None:  # fmt: skip
    frame = encode_target_state(
        "a8aa3a", selected_altitude_ft=alt, baro_setting_hpa=qnh, selected_heading_deg=hdg,
        nac_p=nacp, nic_baro=1, sil=3, autopilot=ap, vnav=vnav, alt_hold=hold, approach=app,
        lnav=lnav, selected_altitude_source="FMS",
    )  # fmt: skip
    d = _pms(frame)
    assert abs(d["selected_altitude"] - alt) <= 16 and d["selected_altitude_source"] == "FMS"
    assert abs(d["baro_pressure_setting"] - qnh) <= 0.4 + 1e-9
    assert abs((d["selected_heading"] - hdg + 180) % 360 - 180) <= 360 / 1024
    assert (d["nac_p"], d["nic_baro"], d["sil"]) == (nacp, 1, 3)
    assert (d["autopilot"], d["vnav_mode"], d["altitude_hold_mode"]) == (ap, vnav, hold)
    assert (d["approach_mode"], d["lnav_mode"], d["tcas_operational"]) == (app, lnav, True)
    m = _ours(frame)
    if m is not None:
        assert m.selected_altitude_ft is not None and abs(m.selected_altitude_ft - alt) <= 16
        assert (m.autopilot, m.vnav, m.alt_hold, m.approach, m.lnav) == (ap, vnav, hold, app, lnav)


@FAST
@given(st.integers(0, 2), st.booleans(), st.integers(0, 1), st.integers(0, 11),
       st.integers(0, 3), st.integers(0, 3), st.integers(0, 1), st.integers(0, 1))  # fmt: skip
def test_operational_status(
    version: int, surface: bool, nic_a: int, nacp: int, gva: int, sil: int, nic_baro: int,
    sil_sup: int,
) -> None:  # fmt: skip
    frame = encode_operational_status(
        "4ca6e3", version=version, surface=surface, nic_supplement_a=nic_a, nac_p=nacp, gva=gva,
        sil=sil, nic_baro=nic_baro, sil_supplement=sil_sup, nic_supplement_c=1,
    )  # fmt: skip
    d = _pms(frame)
    assert (d["subtype"], d["version"], d["nic_supplement_a"]) == (int(surface), version, nic_a)
    assert (d["nac_p"], d["sil"]) == (nacp, sil)
    if not surface and version >= 1:
        assert d["nic_baro"] == nic_baro
    if version == 2:
        assert d["sil_supplement"] == sil_sup
    if surface:
        assert d["capability_class"] >> 4 & 1 == 1  # NIC supplement-C
    m = _ours(frame)
    if m is not None:
        assert m.adsb_version == version
        if version >= 1:  # NACp and SIL are not in version 0 (DO-260) messages
            assert (m.nac_p, m.sil) == (nacp, sil)


def test_cpr_reference_vector() -> None:
    """The worked example of 'The 1090 MHz Riddle' (52.2572 N, 3.9194 E, even/odd frames)."""
    assert _pms(bytes.fromhex("8D40621D58C382D690C8AC2863A7"))["cpr_lat"] == 93000
    lat, lon = cpr_encode(52.25720214843750, 3.91937255859375, False)
    assert (lat, lon) == (93000, 51372)
    odd = _pms(bytes.fromhex("8D40621D58C386435CC412692AD6"))
    assert (odd["cpr_lat"], odd["cpr_lon"]) == (74158, 50194)
    pos = airborne_position_global(93000, 51372, 74158, 50194, False)
    assert pos is not None and _metres(*pos, 52.2572, 3.91937) < 5


@FAST
@given(icao, st.integers(-1000, 50175), squawks, st.integers(0, (1 << 56) - 1),
       st.integers(0, 7))  # fmt: skip
def test_surveillance_replies_address_parity(
    address: str, alt: int, squawk: str, mb: int, fs: int
) -> None:
    addr = int(address, 16)
    for frame in (
        encode_df4(address, alt, flight_status=fs),
        encode_df5(address, squawk, flight_status=fs),
        encode_df20(address, alt, mb, flight_status=fs),
        encode_df21(address, squawk, mb, flight_status=fs),
    ):
        assert crc24(frame[:-3]) ^ int.from_bytes(frame[-3:], "big") == addr  # AP = CRC ^ AA
        d = _pms(frame)
        assert d["icao"].lower() == address and frame[0] & 7 == fs
        assert d.get("flight_status", fs) == fs  # pyModeS gives FS for DF4/5 only
        m = _ours(frame)
        if m is not None:
            assert m.icao24 == address and m.flight_status == fs
        if "altitude" in d:
            assert abs(d["altitude"] - alt) <= 12.5
        else:
            assert d["squawk"] == squawk
        if len(frame) == 14:
            assert int.from_bytes(frame[4:11], "big") == mb
            # pyModeS.decode leaves the meteorological registers out (its inference's
            # include_meteo=False); test_commb compares those with include_meteo=True.
            ours = set(decode_commb(mb).bds_candidates) - {"4,4", "4,5"}
            assert ours <= set(d.get("bds_candidates") or ([d["bds"]] if "bds" in d else []))
    df11 = encode_df11(address, capability=5)
    assert _crc_ok(df11) and _pms(df11)["icao"].lower() == address


def test_df18_with_cf() -> None:
    frame = encode_identification("abcdef", "TEST1", "A1", df=18, capability=2)
    assert frame[0] >> 3 == 18 and frame[0] & 7 == 2 and _crc_ok(frame)
    assert _pms(frame)["callsign"] == "TEST1"


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError):
        encode_identification("abcdef", "TOO LONG 1")
    with pytest.raises(ValueError):
        encode_identification("abcdef", "BAD*")
    with pytest.raises(ValueError):
        encode_airborne_position("abcdef", 0, 0, 0, False, typecode=19)
    with pytest.raises(ValueError):
        encode_df5("abcdef", "7800")
    with pytest.raises(ValueError):
        encode_df4("1000000", 0)
