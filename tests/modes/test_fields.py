"""Field tables and functions: one definition for ints and NumPy arrays, tables vs pyModeS."""

from __future__ import annotations

import inspect

import numpy as np
from pyModeS._altcode import altcode_to_altitude
from pyModeS._idcode import idcode_to_squawk

from overflight.modes import adsb, fields


def test_every_ac13_code_decodes_as_pymodes_does() -> None:
    for code in range(8192):
        assert fields.AC13_FT[code] == altcode_to_altitude(code), code
    arr = fields.ac13_altitude_ft(np.arange(8192, dtype=np.uint64))
    expect = [fields.INT_NA if a is None else a for a in fields.AC13_FT]
    assert arr.tolist() == expect


def test_gillham_and_q_bit_altitudes() -> None:
    assert fields.AC13_FT[0x0000] is None
    assert fields.AC13_FT[0x1D8C ^ 0x0] == altcode_to_altitude(0x1D8C)
    # Q bit set: 25 ft steps; 0x0010 alone is N=0 -> -1000 ft
    assert fields.AC13_FT[0x0010] == -1000
    # a Gillham (Q=0) code is a multiple of 100 ft
    gillham = [a for c, a in enumerate(fields.AC13_FT) if a is not None and not c & 0x10]
    assert gillham and all(a % 100 == 0 for a in gillham)
    assert fields.AC13_FT[fields.ac12_to_ac13(0xC38)] == 38000  # an ADS-B AC12 code


def test_every_id13_code_gives_the_pymodes_squawk() -> None:
    for code in range(8192):
        assert fields.ID13_SQUAWK[code] == idcode_to_squawk(code), code
    idx = fields.ID13_SQUAWK_INDEX_NP
    assert all(fields.SQUAWK_VALUES[idx[c]] == fields.ID13_SQUAWK[c] for c in range(0, 8192, 7))


def test_callsign_and_category() -> None:
    me = int("202CC371C32CE0", 16)
    assert fields.decode_callsign(me & 0xFFFFFFFFFFFF) == "KLM1023"
    assert fields.category_code(4, 3) == "A3" and fields.category_code(1, 0) == "D0"
    assert fields.category_code(5, 0) is None
    assert fields.CATEGORY_VALUES[(4 - 1) * 8 + 3] == "A3"


def test_containment_radius_tables() -> None:
    assert fields.airborne_nic(9) == (11, 7.5)
    assert fields.airborne_nic(11, 1, 1) == (9, 75.0) and fields.airborne_nic(11) == (8, 185.2)
    assert fields.airborne_nic(18) == (0, None) and fields.airborne_nic(19) is None
    assert fields.surface_nic(7, 1) == (9, 75.0)
    assert fields.nucp_from_typecode(11) == 7 and fields.NUCP_RC_M[7] == 185.2


def test_adsb_field_functions_agree_on_ints_and_arrays() -> None:
    rng = np.random.default_rng(1)
    words = rng.integers(0, 1 << 56, size=500, dtype=np.uint64)
    words_i64 = words.astype(np.int64)
    n = 0
    for name in adsb.__all__:
        fn = getattr(adsb, name)
        params = inspect.signature(fn).parameters
        if list(params) != ["me"]:
            continue
        for arr in (words, words_i64):
            out = fn(arr)
            assert [int(v) for v in out] == [fn(int(w)) for w in words], name
        n += 1
    assert n >= 50
    # unit conversions on raw fields
    raw = np.array([1, 2, 100], dtype=np.int64)
    assert adsb.vertical_rate_fpm(np.array([1, 0, 1]), raw).tolist() == [0, 64, -6336]
    assert [adsb.vertical_rate_fpm(s, int(r)) for s, r in zip((1, 0, 1), raw, strict=True)] == [
        0,
        64,
        -6336,
    ]
    assert adsb.airspeed_kt(np.array([11, 11]), np.array([3, 4])).tolist() == [10, 40]
    assert (
        adsb.gnss_altitude_ft(np.array([1000])).tolist() == [adsb.gnss_altitude_ft(1000)] == [3280]
    )
