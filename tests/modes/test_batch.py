"""decode_batch on real captures: vs rs1090 on every frame of a full flight, vs scalar decode."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyModeS
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.frames import FrameBatch
from overflight.modes import (
    AddressFilter,
    DecodeError,
    Message,
    batch_stats,
    decode,
    decode_batch,
)
from overflight.modes.message import MESSAGE_FIELDS

from ._data import FULL_FLIGHT, PYMODES_CSVS, full_flight, pymodes_csv

# rs1090 "bds" of an extended squitter -> our type codes
_BDS_TC = {
    "05": set(range(9, 19)) | {20, 21, 22},
    "06": {5, 6, 7, 8},
    "08": {1, 2, 3, 4},
    "09": {19},
    "61": {28},
    "62": {29},
    "65": {31},
}


@pytest.fixture(scope="module")
def flight(shared: Callable[[str], Path]) -> list[dict[str, Any]]:
    return full_flight(shared(FULL_FLIGHT))


@pytest.fixture(scope="module")
def flight_table(flight: list[dict[str, Any]]) -> pa.Table:
    return decode_batch([d["frame"] for d in flight])


def _col(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()  # type: ignore[no-any-return]


def test_every_frame_of_a_full_flight_matches_rs1090(
    flight: list[dict[str, Any]], flight_table: pa.Table
) -> None:
    t = flight_table
    assert t.num_rows == len(flight) == 57793
    assert batch_stats(t)["invalid"] == 0
    cols = {
        n: _col(t, n)
        for n in (
            "df",
            "icao24",
            "typecode",
            "altitude_ft",
            "altitude_gnss_ft",
            "squawk",
            "callsign",
            "groundspeed_kt",
            "track_deg",
            "vertical_rate_fpm",
            "vertical_rate_source",
            "gnss_baro_diff_ft",
            "nac_v",
            "nuc_p",
            "cpr_odd",
            "cpr_lat",
            "cpr_lon",
            "heading_deg",
            "airspeed_kt",
            "nic_supplement_b",
            "bds",
        )
    }
    checked: dict[str, int] = {}
    noise: list[int] = []

    def check(name: str, ours: Any, theirs: Any, i: int, tol: float = 0.0) -> None:
        if isinstance(theirs, float) or isinstance(ours, float):
            assert ours is not None and math.isclose(ours, theirs, abs_tol=tol + 1e-9), (
                i,
                name,
                ours,
                theirs,
            )
        else:
            assert ours == theirs, (i, name, ours, theirs, flight[i]["frame"])
        checked[name] = checked.get(name, 0) + 1

    for i, d in enumerate(flight):
        df = int(d["df"])
        check("df", cols["df"][i], df, i)
        check("icao24", cols["icao24"][i], d["icao24"], i)
        if df == 17:
            tc = cols["typecode"][i]
            assert tc in _BDS_TC[d["bds"]], (i, tc, d["bds"])
            checked["typecode"] = checked.get("typecode", 0) + 1
            if d["bds"] == "05":
                key = "altitude_ft" if d["source"] == "barometric" else "altitude_gnss_ft"
                check("altitude", cols[key][i], d["altitude"], i)
                check("nuc_p", cols["nuc_p"][i], d["NUCp"], i)
                check("nic_b", cols["nic_supplement_b"][i], d["NICb"], i)
            if d["bds"] == "06":
                check("nuc_p", cols["nuc_p"][i], d["NUCp"], i)
                mov = (int(d["frame"][8:22], 16) >> 44) & 0x7F
                if 13 <= mov <= 38:
                    # rs1090 0.7 steps 0.25 kt here, leaving a gap from 8.25 to 15 kt at code
                    # 39; DO-260B (and pyModeS, readsb) step 0.5 kt from 2 kt to 14.5 kt.
                    assert d["groundspeed"] == 2 + (mov - 13) * 0.25
                    check("groundspeed", cols["groundspeed_kt"][i], 2 + (mov - 13) * 0.5, i)
                else:
                    check("groundspeed", cols["groundspeed_kt"][i], d["groundspeed"], i)
                check("track", cols["track_deg"][i], d["track"], i, 1e-9)
            if d["bds"] in ("05", "06"):
                check("cpr_odd", cols["cpr_odd"][i], d["parity"] == "odd", i)
                check("cpr_lat", cols["cpr_lat"][i], d["lat_cpr"], i)
                check("cpr_lon", cols["cpr_lon"][i], d["lon_cpr"], i)
            if d["bds"] == "08":
                check("callsign", cols["callsign"][i], d["callsign"], i)
            if d["bds"] == "09":
                check("nac_v", cols["nac_v"][i], d["NACv"], i)
                if "groundspeed" in d:
                    check("groundspeed", cols["groundspeed_kt"][i], d["groundspeed"], i, 1e-6)
                    check("track", cols["track_deg"][i], d["track"], i, 1e-6)
                if "heading" in d:
                    check("heading", cols["heading_deg"][i], d["heading"], i, 1e-6)
                check("vertical_rate", cols["vertical_rate_fpm"][i], d["vertical_rate"], i)
                # rs1090 0.7 reads the vertical-rate source bit (ME bit 36) inverted: 1 is
                # barometric in DO-260B, dump1090/readsb (me[4] & 0x10) and pyModeS.
                bit = (int(d["frame"][8:22], 16) >> 20) & 1
                assert d["vrate_src"] == ("GNSS" if bit else "barometric")
                check("vrate_src", cols["vertical_rate_source"][i], "baro" if bit else "gnss", i)
                if d["geo_minus_baro"] is None and int(d["frame"][8:22], 16) & 0x7F == 1:
                    # code 1 means "0 ft difference" (DO-260B, pyModeS); rs1090 0.7 gives null
                    check("geo_minus_baro", cols["gnss_baro_diff_ft"][i], 0, i)
                else:
                    check("geo_minus_baro", cols["gnss_baro_diff_ft"][i], d["geo_minus_baro"], i)
        else:
            assert cols["typecode"][i] is None
        if "altitude" in d and df in (0, 4, 16, 20):
            if cols["altitude_ft"][i] != d["altitude"]:
                # Noise frames whose parity happens to give 393322 (the sample was filtered by
                # address): FS "on ground" at cruise, AC13 29,150-39,150 ft. rs1090 prints values
                # that no AC13 code has (5590, 1138, 2477 ft); ours is the AC13 reading, as
                # pyModeS 3 reads it.
                assert cols["altitude_ft"][i] == pyModeS.decode(d["frame"]).get("altitude")
                noise.append(i)
            else:
                check("altitude", cols["altitude_ft"][i], d["altitude"], i)
        if "squawk" in d and df in (5, 21):
            if cols["squawk"][i] != d["squawk"]:  # a noise frame again (see above)
                assert cols["squawk"][i] == pyModeS.decode(d["frame"]).get("squawk")
                noise.append(i)
            else:
                check("squawk", cols["squawk"][i], d["squawk"], i)
        if df in (20, 21) and d.get("bds") == "20" and cols["bds"][i] == "2,0":
            check("commb callsign", cols["callsign"][i], d["callsign"], i)
    assert noise == [34454, 45675, 50728, 54882, 56724]
    # every kind of field was compared many times
    for name, at_least in {
        "df": 57793,
        "icao24": 57793,
        "typecode": 15573,
        "altitude": 35000,
        "squawk": 13652,
        "callsign": 865,
        "groundspeed": 8000,
        "vertical_rate": 6384,
        "cpr_lat": 8324,
    }.items():
        assert checked.get(name, 0) >= at_least, (name, checked)


def _norm(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _assert_rows_equal(messages: list[Message], table: pa.Table) -> None:
    names = [n for n in MESSAGE_FIELDS if n != "commb"]
    cols = {n: table.column(n).to_pylist() for n in names}
    extra = [
        n
        for n in table.column_names
        if n not in MESSAGE_FIELDS
        and n not in ("valid", "invalid_reason", "receiver", "signal_dbfs", "ticks")
    ]
    extra_cols = {n: table.column(n).to_pylist() for n in extra}
    for i, m in enumerate(messages):
        for n in names:
            a, b = _norm(getattr(m, n)), _norm(cols[n][i])
            if n == "bds_candidates" and a == [] and b is None:
                continue
            if isinstance(a, float) and isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9), (i, n, a, b)
            else:
                assert a == b, (i, n, a, b)
        for n in extra:
            a = _norm(getattr(m.commb, n)) if m.commb is not None else None
            b = _norm(extra_cols[n][i])
            if isinstance(a, float) and isinstance(b, float):
                assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9), (i, n, a, b)
            else:
                assert a == b, (i, n, a, b)


def test_scalar_decode_equals_batch_row_for_row_on_a_full_flight(
    flight: list[dict[str, Any]], flight_table: pa.Table
) -> None:
    messages = [decode(d["frame"]) for d in flight]
    _assert_rows_equal(messages, flight_table)


def test_scalar_decode_equals_batch_on_pymodes_samples(shared: Callable[[str], Path]) -> None:
    rows = [r for p in PYMODES_CSVS for r in pymodes_csv(shared(p))]
    assert len(rows) == 12000
    table = decode_batch([h for _, h in rows])
    _assert_rows_equal([decode(h) for _, h in rows], table)


def test_frame_batch_and_array_inputs_decode_like_hex(flight: list[dict[str, Any]]) -> None:
    sample = flight[:3000]
    frames = [bytes.fromhex(d["frame"]) for d in sample]
    times = [d["timestamp"] for d in sample]
    fb = FrameBatch.from_bytes(frames, time_s=times, receiver=7)
    a = decode_batch(fb)
    b = decode_batch([d["frame"] for d in sample])
    c = decode_batch(np.stack([np.frombuffer(f.ljust(14, b"\0"), np.uint8) for f in frames]))
    for n in MESSAGE_FIELDS:
        if n in ("commb", "time_s"):
            continue
        assert a.column(n).to_pylist() == b.column(n).to_pylist() == c.column(n).to_pylist(), n
    assert a.column("time_s").to_pylist() == times
    assert set(a.column("receiver").to_pylist()) == {7}
    assert b.column("time_s").null_count == len(sample)


def test_bad_rows_are_counted_with_a_reason_and_the_rest_kept(flight: list[dict[str, Any]]) -> None:
    good = [d["frame"] for d in flight[:50]]
    bad = [
        "",
        "zz" * 7,
        "8d4840d6202cc371c32ce057609",
        "8d4840d6",
        "*8D4840D6202CC371C32CE0576098;",
        "  8D4840D6202CC371C32CE0576098\n",
        "a8000800",
    ]
    frames = good[:20] + bad + good[20:]
    t = decode_batch(frames)
    assert t.num_rows == len(frames)
    stats = batch_stats(t)
    assert stats["rows"] == 57
    reasons = t.column("invalid_reason").to_pylist()[20:27]
    assert reasons == ["empty", "non-hex", "odd length", "bad length", None, None, "bad length"]
    assert stats["invalid"] == 5 and stats["reasons"] == {
        "empty": 1,
        "non-hex": 1,
        "odd length": 1,
        "bad length": 2,
    }
    # AVR-wrapped and padded text is cleaned, as decode() does
    assert t.column("callsign").to_pylist()[24] == decode(bad[4]).callsign == "KLM1023"
    ref = decode_batch(good)
    keep = [i for i in range(len(frames)) if not 20 <= i < 27]
    for n in ("df", "icao24", "altitude_ft", "squawk", "callsign", "cpr_lat"):
        col = t.column(n).to_pylist()
        assert [col[i] for i in keep] == ref.column(n).to_pylist(), n


def test_crc_failure_is_a_counted_row_not_an_error(flight: list[dict[str, Any]]) -> None:
    f = bytearray(bytes.fromhex(flight[0]["frame"]))
    f[5] ^= 0x81  # two bit errors: not correctable
    t = decode_batch([f.hex(), flight[0]["frame"]])
    assert t.column("crc_ok").to_pylist() == [False, True]
    assert t.column("invalid_reason").to_pylist() == ["crc", None]
    assert batch_stats(t)["reasons"] == {"crc": 1}
    assert decode(f.hex()).crc_ok is False


def test_known_addresses_check_address_parity_rows(flight: list[dict[str, Any]]) -> None:
    frames = [d["frame"] for d in flight[:200]]
    dfs = [int(f[:2], 16) >> 3 for f in frames]
    t = decode_batch(frames, known_addresses={0x393322})
    ok = t.column("crc_ok").to_pylist()
    assert all(ok[i] is True for i, d in enumerate(dfs) if d in (0, 4, 5, 16, 20, 21))
    t = decode_batch(frames, known_addresses=set())
    ok = t.column("crc_ok").to_pylist()
    reasons = t.column("invalid_reason").to_pylist()
    assert all(
        ok[i] is False and reasons[i] == "unknown address"
        for i, d in enumerate(dfs)
        if d in (0, 4, 5, 16, 20, 21)
    )
    # an AddressFilter learns the address from this batch's clean DF17 frames
    filt = AddressFilter(ttl_s=60.0)
    t = decode_batch(
        FrameBatch.from_bytes(
            [bytes.fromhex(f) for f in frames], time_s=[d["timestamp"] for d in flight[:200]]
        ),
        known_addresses=filt,
    )
    assert 0x393322 in filt
    assert batch_stats(t)["invalid"] == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=16), st.text(max_size=30)), max_size=40))
def test_random_rows_never_raise_and_are_all_kept(rows: list[Any]) -> None:
    t = decode_batch(rows)
    assert t.num_rows == len(rows)
    valid = t.column("valid").to_pylist()
    for row, ok in zip(rows, valid, strict=True):
        try:
            m = decode(row)
        except DecodeError:
            assert ok is False
            continue
        assert ok == (m.crc_ok is not False)


def test_a_beast_capture_decodes_alike_in_both_paths(shared: Callable[[str], Path]) -> None:
    from overflight.sources.files import read_batches

    fb = FrameBatch.concat(read_batches(shared("modes-traffic-samples/sample_dump1090.bin")))
    assert len(fb) == 239
    frames = [fb.frame_bytes(i) for i in range(len(fb))]
    _assert_rows_equal(
        [decode(f, time_s=float(fb.time_s[i])) for i, f in enumerate(frames)], decode_batch(fb)
    )
    filt = AddressFilter()
    t = decode_batch(fb, known_addresses=filt)
    dfs = t.column("df").to_pylist()
    assert {d: dfs.count(d) for d in set(dfs)} == {
        11: 90, 0: 44, 4: 39, 17: 23, 20: 16, 21: 14, 5: 12, 16: 1}
    assert {c for c in t.column("callsign").to_pylist() if c} >= {"TRA89M", "TJT62CB"}
    # DF11 all-call replies pass their CRC (interrogator code in the low bits)
    ok = t.column("crc_ok").to_pylist()
    assert all(ok[i] for i, d in enumerate(dfs) if d in (11, 17))
    # the filter learnt the aircraft heard in DF11/17, and replies by parity from them pass
    assert {0x48520A, 0x3981E4} <= set(filt)
    icao = t.column("icao24").to_pylist()
    passed = {icao[i] for i, d in enumerate(dfs) if d in (0, 4, 5, 16, 20, 21) and ok[i]}
    assert {"48520a", "3981e4"} <= passed


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 4, 5, 11, 16, 17, 18, 19, 20, 21, 24]),
            st.integers(0, 31),
            st.binary(min_size=14, max_size=14),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_random_frames_of_every_format_decode_alike_in_both_paths(
    rows: list[tuple[int, int, bytes]],
) -> None:
    frames = []
    for df, tc, rest in rows:
        n = 14 if df >= 16 else 7
        body = bytearray(bytes([(df << 3) | (rest[0] & 7)]) + rest[1:n])
        if n == 14:  # steer the ME field through every type code
            body[4] = (tc << 3) | (body[4] & 7)
        frames.append(bytes(body))
    _assert_rows_equal([decode(f) for f in frames], decode_batch(frames))


def test_requested_columns_only_equal_the_full_table(
    flight: list[dict[str, Any]], flight_table: pa.Table
) -> None:
    from overflight.modes.batch import TABLE_COLUMNS

    assert flight_table.column_names == list(TABLE_COLUMNS)
    frames = [d["frame"] for d in flight]
    # what the tracker reads (address filter and kernel columns), Comm-B airspeeds included
    want = ["address", "df", "time_s", "valid", "crc_ok", "non_icao", "address_from_parity",
            "cpr_lat", "cpr_lon", "cpr_odd", "callsign", "squawk", "tas_kt", "ias_kt",
            "altitude_ft", "signal_dbfs"]  # fmt: skip
    t = decode_batch(frames, columns=want)
    assert t.column_names == want and t.num_rows == len(frames)
    for name in want:
        assert t.column(name).equals(flight_table.column(name)), name
    assert batch_stats(t) == batch_stats(flight_table)
    # without a Comm-B column the registers are not decoded at all; the rest is unchanged
    for want in (["df", "icao24", "altitude_ft", "track_deg"], ["groundspeed_kt", "valid"]):
        t = decode_batch(frames, columns=want)
        assert all(t.column(n).equals(flight_table.column(n)) for n in want), want
    with pytest.raises(ValueError, match="unknown decode_batch columns"):
        decode_batch(frames[:10], columns=["df", "altitude"])


# ------------------------------------------------------------- SIL supplement (sil_type)

_TC31_V2 = "8d48520af82300060049b898ba5f"  # the Beast capture's DF17 TC31 (48520A, version 2)


def _with_me_bit(frame: str, me_bit: int) -> str:
    """``frame`` (DF17) with ME bit ``me_bit`` (1-56) flipped and its parity recomputed."""
    from overflight.modes.crc import crc24

    raw = bytearray.fromhex(frame)
    raw[4 + (me_bit - 1) // 8] ^= 0x80 >> ((me_bit - 1) % 8)
    body = bytes(raw[:11])
    return (body + crc24(body).to_bytes(3, "big")).hex()


def test_sil_type_of_operational_status_v2_against_pymodes_and_rs1090(
    shared: Callable[[str], Path],
) -> None:
    """DO-260B: ME bit 55 of a version-2 TC31 is the SIL supplement (0: probability per flight
    hour, 1: per sample). The capture's TC31 says per hour; the same frame with bit 55 set (parity
    recomputed) says per sample. Version 1 carries no supplement: unknown (None)."""
    rs = pytest.importorskip("rs1090")
    from overflight.sources.files import read_batches

    fb = FrameBatch.concat(read_batches(shared("modes-traffic-samples/sample_dump1090.bin")))
    frames = [fb.frame_bytes(i).hex() for i in range(len(fb))]
    assert frames.count(_TC31_V2) == 4  # (and a fifth with a 1-bit error)
    per_sample = _with_me_bit(_TC31_V2, 55)
    version0 = _with_me_bit(_TC31_V2, 42)  # version bits 41-43: 010 -> 000
    cases = [*frames, per_sample, version0, _with_me_bit(version0, 43)]  # 001: version 1
    table = decode_batch(cases)
    got = table.column("sil_type").to_pylist()
    versions = table.column("adsb_version").to_pylist()
    checked = 0
    for h, sil_type, version in zip(cases, got, versions, strict=True):
        tc = int(h[8:10], 16) >> 3
        if not h.startswith("8d") or tc != 31:
            if h != _TC29_V2:  # (TC29 version 2 carries it too: tested below)
                assert sil_type is None, h
            continue
        theirs = pyModeS.decode(h)
        r = rs.decode(h)
        assert version == theirs["version"] == r["version"]
        if version == 2:
            assert sil_type == ("persample" if theirs["sil_supplement"] else "perhour"), h
            assert r["SILs"] == theirs["sil_supplement"]
        else:
            assert sil_type is None and "sil_supplement" not in theirs, h
        checked += 1
    assert checked == 7
    assert got[-3:] == ["persample", None, None]
    assert versions[-2:] == [0, 1]
    assert {got[i] for i, h in enumerate(frames) if h == _TC31_V2} == {"perhour"}


def test_scalar_decode_sets_sil_type() -> None:
    assert decode(_TC31_V2).sil_type == "perhour"
    assert decode(_with_me_bit(_TC31_V2, 55)).sil_type == "persample"


_TC29_V2 = "8d48520aea4a5867c53c08219a7d"  # the Beast capture's DF17 TC29 (48520A, subtype 1)


def test_sil_type_of_target_state_v2_in_both_paths(shared: Callable[[str], Path]) -> None:
    """DO-260B (readsb's decodeESTargetStatus): ME bit 8 of a version-2 TC29 is the SIL
    supplement. pyModeS documents the bit there without decoding it, and rs1090 leaves it out, so
    the check is that flipping exactly that bit (parity recomputed) changes nothing pyModeS
    decodes: the bit belongs to no other field. Subtype 0 (version 1) has no supplement."""
    from overflight.sources.files import read_batches

    fb = FrameBatch.concat(read_batches(shared("modes-traffic-samples/sample_dump1090.bin")))
    frames = [fb.frame_bytes(i).hex() for i in range(len(fb))]
    assert frames.count(_TC29_V2) == 4
    per_sample = _with_me_bit(_TC29_V2, 8)
    version1 = _with_me_bit(_TC29_V2, 7)  # subtype bits 6-7: 01 -> 00
    ours, theirs = pyModeS.decode(_TC29_V2), pyModeS.decode(per_sample)
    assert theirs["crc_valid"] and theirs["subtype"] == 1 and ours["sil"] == 3
    assert theirs == ours
    assert pyModeS.decode(version1)["subtype"] == 0
    cases = [_TC29_V2, per_sample, version1]
    table = decode_batch(cases)
    assert table.column("sil_type").to_pylist() == ["perhour", "persample", None]
    assert table.column("sil").to_pylist()[:2] == [3, 3]
    assert [decode(h).sil_type for h in cases] == ["perhour", "persample", None]
    assert table.column("adsb_version").to_pylist() == [2, 2, 1]
    whole = decode_batch(frames).column("sil_type").to_pylist()
    assert {whole[i] for i, h in enumerate(frames) if h == _TC29_V2} == {"perhour"}
