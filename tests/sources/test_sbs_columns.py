"""SBS lines formatted as columns (one compiled pass) == ``format_sbs``, the per-record oracle."""

from __future__ import annotations

import math
import random

import numpy as np
import pyarrow as pa

from overflight.sources.sbs import (
    SbsRecord,
    clean_field,
    flag_codes,
    format_sbs,
    format_sbs_columns,
    format_sbs_records,
    parse_sbs_line,
)


def _oracle(records: list[SbsRecord]) -> bytes:
    return "".join(format_sbs(r) + "\r\n" for r in records).encode("ascii")


def test_known_lines_rounding_times_and_untrusted_strings() -> None:
    recs = [
        # dump1090's airborne position line; 0.125 kt and -0.04 deg round half to even / keep
        # the sign as Python's formatting does
        SbsRecord(3, "4840d6", 1720248189.525, 1720248189.530, altitude_ft=35000,
                  latitude_deg=51.45735, longitude_deg=4.89012, alert=False, emergency=False,
                  spi=False, on_ground=True),
        SbsRecord(4, "~00ff0a", 1720248189.9999996, groundspeed_kt=0.25, track_deg=-0.04,
                  vertical_rate_fpm=-64.5),  # type: ignore[arg-type]
        # a callsign with a comma and line breaks (from a hostile SBS feed) stays one field
        SbsRecord(1, "abc123", math.nan, 1720248189.0, callsign="A,B\r\nC\u00e9",
                  squawk="7700", message_type="MLAT", session_id=-3),
        SbsRecord(5, "abcdef", 1e13, altitude_ft=10**20, latitude_deg=math.inf),
    ]
    got = format_sbs_records(recs)
    assert got == _oracle(recs)
    assert got.decode("ascii").split("\r\n") == [
        "MSG,3,1,1,4840D6,1,2024/07/06,06:43:09.525,2024/07/06,06:43:09.530,,35000,,,"
        "51.45735,4.89012,,,0,0,0,-1",
        "MSG,4,1,1,~00FF0A,1,2024/07/06,06:43:10.000,2024/07/06,06:43:10.000,,,0.2,-0.0,,,"
        "-64,,,,,",
        "MLAT,1,-3,1,ABC123,1,,,2024/07/06,06:43:09.000,A?B??C?,,,,,,,7700,,,,",
        "MSG,5,1,1,ABCDEF,1,,,,,,,,,,,,,,,,",
        "",
    ]
    assert len(got.split(b"\r\n")[2].split(b",")) == 22
    back = parse_sbs_line(got.split(b"\r\n")[2].replace(b"MLAT", b"MSG", 1))
    assert isinstance(back, SbsRecord) and back.callsign == "A?B??C?"
    assert clean_field("KLM1,\x00") == "KLM1??"


def _random_records(n: int, seed: int) -> list[SbsRecord]:
    rng = random.Random(seed)
    specials: list[float] = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e15, -1e16, 0.05,
                             -0.05, 0.25, 2.5, -2.5, 0.125, 1e300, 999999.99999, 0.000005,
                             1.000015, 9.99e9, -1e10, 1e14, 45035996.27370497]

    def num(scale: float) -> float | None:
        r = rng.random()
        if r < 0.15:
            return None
        if r < 0.25:
            return rng.choice(specials)
        if r < 0.45:  # dyadic values: exact binary ties at every precision
            return math.ldexp(rng.randrange(-(2**20), 2**20), -rng.randrange(1, 21))
        if r < 0.65:  # decimal near-ties
            return round(rng.uniform(-scale, scale), rng.choice([1, 2, 5, 6])) + rng.choice(
                [0.05, 0.5, 0.000005, 5e-7, -5e-6])
        return rng.uniform(-scale, scale)

    def flag() -> bool | None:
        return rng.choice([None, True, False])

    def text() -> str | None:
        return rng.choice([None, "", "TRA89M", "A,B", "\u00c4\r\n", "  X ", "7700", "#ABC##"])

    out = []
    for _ in range(n):
        base = math.floor(rng.uniform(1.7e9, 1.8e9))
        t = rng.choice([
            rng.uniform(0, 2e9), base + rng.randrange(1000) / 1000,
            base + rng.randrange(1000) / 1000 + rng.choice([5e-4, -5e-4, 5e-7, 0.9995]),
            -1.5, -0.0005, math.nan, 1e12, -7e10, 2.5e11, 253402300799.9996,
        ])
        out.append(SbsRecord(
            rng.randrange(1, 9), rng.choice(["abcdef", "~00ff0a", "ABC123", "x,y", ""]), t,
            logged_time_s=rng.choice([None, math.nan, t + 0.01, rng.uniform(1e9, 2e9)]),
            callsign=text(),
            altitude_ft=rng.choice([None, rng.randrange(-1000, 50000), num(5e4)]),  # type: ignore[arg-type]
            groundspeed_kt=num(700), track_deg=num(360), latitude_deg=num(90),
            longitude_deg=num(180), vertical_rate_fpm=num(6000),  # type: ignore[arg-type]
            squawk=text(), alert=flag(), emergency=flag(), spi=flag(), on_ground=flag(),
            message_type=rng.choice(["MSG", "MLAT"]), session_id=rng.choice([1, 0, -5, 2**40]),
            flight_id=rng.choice([1, 99]),
        ))
    return out


def test_columns_equal_format_sbs_on_random_records_with_ties_and_bad_values() -> None:
    recs = _random_records(60_000, seed=11)
    got = format_sbs_records(recs)
    want = _oracle(recs)
    if got != want:  # name the first line that differs
        pairs = zip(got.split(b"\r\n"), want.split(b"\r\n"), strict=True)
        bad = next((g, w) for g, w in pairs if g != w)
        raise AssertionError(bad)
    assert got.count(b"\r\n") == len(recs)


def test_ids_beyond_64_bits_fall_back_to_the_oracle() -> None:
    recs = [SbsRecord(8, "abcdef", 1.7e9, session_id=2**70)]
    assert format_sbs_records(recs) == _oracle(recs)


def test_arrow_columns_nulls_and_addresses() -> None:
    calls = pa.array(["KLM1", None, "", "KLM1"]).dictionary_encode()
    got = format_sbs_columns(
        [1, 1, 1, 8], np.full(4, 1720248189.5),
        address=np.array([0x4840D6, 0x4840D6 | (1 << 24), -1, 0xABC]),
        icao24=["", "", "beef01", ""], callsign=calls,
        on_ground=flag_codes(np.array([True, False, True, False]),
                             np.array([True, True, False, True])),
    )
    assert got.decode("ascii").split("\r\n")[:4] == [
        "MSG,1,1,1,4840D6,1,2024/07/06,06:43:09.500,2024/07/06,06:43:09.500,KLM1,,,,,,,,,,,-1",
        "MSG,1,1,1,~4840D6,1,2024/07/06,06:43:09.500,2024/07/06,06:43:09.500,,,,,,,,,,,,0",
        "MSG,1,1,1,BEEF01,1,2024/07/06,06:43:09.500,2024/07/06,06:43:09.500,,,,,,,,,,,,",
        "MSG,8,1,1,000ABC,1,2024/07/06,06:43:09.500,2024/07/06,06:43:09.500,KLM1,,,,,,,,,,,0",
    ]
    assert format_sbs_columns(np.zeros(0, np.int64), np.zeros(0)) == b""
