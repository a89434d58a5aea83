"""CPR decoding on a real gate-to-gate flight, vs rs1090's positions, scalar and vectorised."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from overflight.modes import cpr, decode

from ._data import FULL_FLIGHT, full_flight

LFPG = (49.0097, 2.5479)  # Paris CDG, where the capture starts on the surface


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return cpr.distance_nm(lat1, lon1, lat2, lon2) * 1852.0


@pytest.fixture(scope="module")
def positions(shared: Callable[[str], Path]) -> list[dict[str, Any]]:
    """DF17 position frames with rs1090's position and our decoded message."""
    out = []
    for d in full_flight(shared(FULL_FLIGHT)):
        if d["df"] == "17" and d.get("bds") in ("05", "06"):
            out.append({**d, "m": decode(d["frame"], time_s=d["timestamp"])})
    assert len(out) == 8324
    return out


def _pair_and_decode(positions: list[dict[str, Any]]) -> tuple[list[Any], dict[str, int]]:
    """A minimal tracker: global decode from an even/odd pair within 10 s, else local decode
    from the last position (surface: the airport as first reference)."""
    last: dict[tuple[bool, bool], tuple[float, int, int]] = {}
    ref: tuple[float, float] | None = None
    out: list[Any] = []
    how = {"global": 0, "local": 0, "none": 0}
    for p in positions:
        m = p["m"]
        surface, odd, t = bool(m.surface), bool(m.cpr_odd), p["timestamp"]
        last[(surface, odd)] = (t, m.cpr_lat, m.cpr_lon)
        other = last.get((surface, not odd))
        pos = None
        if other is not None and t - other[0] <= cpr.MAX_PAIR_DT_S:
            even, oddf = (other, last[(surface, odd)]) if odd else (last[(surface, odd)], other)
            if surface:
                r = ref or LFPG
                pos = cpr.surface_position_global(
                    even[1], even[2], oddf[1], oddf[2], odd, r[0], r[1]
                )
            else:
                pos = cpr.airborne_position_global(
                    even[1], even[2], oddf[1], oddf[2], odd, t - other[0]
                )
            if pos is not None:
                how["global"] += 1
        if pos is None:
            r = ref or LFPG
            fn = cpr.surface_position_local if surface else cpr.airborne_position_local
            pos = fn(m.cpr_lat, m.cpr_lon, odd, r[0], r[1])
            how["local" if pos else "none"] += 1
        if pos is not None:
            ref = pos
        out.append(pos)
    return out, how


def test_positions_of_a_full_flight_match_rs1090_within_metres(
    positions: list[dict[str, Any]],
) -> None:
    decoded, how = _pair_and_decode(positions)
    errors = [
        _metres(pos[0], pos[1], p["latitude"], p["longitude"])
        for p, pos in zip(positions, decoded, strict=True)
        if pos is not None
    ]
    assert how["none"] == 0 and how["global"] > 7000
    assert len(errors) == 8324
    assert max(errors) < 0.01, max(errors)  # identical to rs1090 to the centimetre
    # the flight: from the CDG apron to Toulouse
    assert _metres(*decoded[0], 49.0058, 2.5735) < 50
    assert _metres(*decoded[-1], 43.6292, 1.3740) < 50


def test_vectorised_cpr_equals_scalar(positions: list[dict[str, Any]]) -> None:
    air = [p["m"] for p in positions if not p["m"].surface]
    evens = [m for m in air if not m.cpr_odd][:2000]
    odds = [m for m in air if m.cpr_odd][:2000]
    n = min(len(evens), len(odds))
    le = np.array([m.cpr_lat for m in evens[:n]])
    oe = np.array([m.cpr_lon for m in evens[:n]])
    lo = np.array([m.cpr_lat for m in odds[:n]])
    oo = np.array([m.cpr_lon for m in odds[:n]])
    for recent_odd in (False, True):
        lat, lon = cpr.airborne_position_global_batch(le, oe, lo, oo, np.full(n, recent_odd))
        for i in range(n):
            s = cpr.airborne_position_global(
                int(le[i]), int(oe[i]), int(lo[i]), int(oo[i]), recent_odd
            )
            if s is None:
                assert math.isnan(lat[i]) and math.isnan(lon[i])
            else:
                assert math.isclose(s[0], lat[i], abs_tol=1e-9) and math.isclose(
                    s[1], lon[i], abs_tol=1e-9
                )
    ref_lat, ref_lon = 46.0, 2.0
    odd = np.array([m.cpr_odd for m in air[:3000]])
    la = np.array([m.cpr_lat for m in air[:3000]])
    lo_ = np.array([m.cpr_lon for m in air[:3000]])
    lat, lon = cpr.airborne_position_local_batch(la, lo_, odd, ref_lat, ref_lon)
    for i in range(len(odd)):
        s = cpr.airborne_position_local(int(la[i]), int(lo_[i]), bool(odd[i]), ref_lat, ref_lon)
        if s is None:
            assert math.isnan(lat[i])
        else:
            assert math.isclose(s[0], lat[i], abs_tol=1e-9) and math.isclose(
                s[1], lon[i], abs_tol=1e-9
            )


def test_surface_vectorised_equals_scalar(positions: list[dict[str, Any]]) -> None:
    surf = [p["m"] for p in positions if p["m"].surface]
    evens = [m for m in surf if not m.cpr_odd][:500]
    odds = [m for m in surf if m.cpr_odd][:500]
    n = min(len(evens), len(odds))
    args = [
        np.array([getattr(m, f) for m in ms[:n]])
        for ms, f in ((evens, "cpr_lat"), (evens, "cpr_lon"), (odds, "cpr_lat"), (odds, "cpr_lon"))
    ]
    lat, lon = cpr.surface_position_global_batch(*args, np.ones(n, bool), *LFPG)
    for i in range(n):
        s = cpr.surface_position_global(*(int(a[i]) for a in args), True, *LFPG)
        assert s is not None and math.isclose(s[0], lat[i], abs_tol=1e-9)
        assert math.isclose(s[1], lon[i], abs_tol=1e-9)
    lat, lon = cpr.surface_position_local_batch(args[0], args[1], np.zeros(n, bool), *LFPG)
    assert np.nanmax(np.abs(lat - LFPG[0])) < 0.1 and not np.isnan(lat).any()


def _encode(lat: float, lon: float, odd: bool, surface: bool = False) -> tuple[int, int]:
    """Textbook CPR encoding (17 bits), only to build test pairs."""
    span = 90.0 if surface else 360.0
    i = 1 if odd else 0
    d_lat = span / (60 - i)
    z = math.floor(lat / d_lat)  # zone and remainder from one floor (see the boundary test)
    yz = math.floor(131072 * ((lat - d_lat * z) / d_lat) + 0.5)
    rlat = d_lat * (yz / 131072 + z)
    nl = cpr.cpr_nl(rlat)
    d_lon = span / max(nl - i, 1)
    xz = math.floor(131072 * ((lon - d_lon * math.floor(lon / d_lon)) / d_lon) + 0.5)
    return yz & 0x1FFFF, xz & 0x1FFFF


def test_global_decode_rejects_a_pair_across_a_zone_boundary() -> None:
    # the first latitude above 45 deg where the number of longitude zones drops by one
    nl45 = cpr.cpr_nl(45.0)
    boundary = next(x / 1000 for x in range(45000, 47000) if cpr.cpr_nl(x / 1000) == nl45 - 1)
    e = _encode(boundary - 0.01, 3.0, False)
    o = _encode(boundary + 0.01, 3.0, True)
    assert cpr.airborne_position_global(*e, *o, True) is None
    assert cpr.airborne_global(*e, *o, True)[2] == cpr.CPR_ZONE  # wait for the next pair
    # a pair no latitude fits: bad data, told apart from a zone boundary
    assert cpr.airborne_global(0, 0, 36864, 0, False)[2] == cpr.CPR_IMPOSSIBLE
    # the same aircraft a little later, both on one side: accepted, within metres
    e = _encode(boundary + 0.01, 3.0, False)
    pos = cpr.airborne_position_global(*e, *o, True)
    assert pos is not None and _metres(*pos, boundary + 0.01, 3.0) < 10
    assert cpr.airborne_global(*e, *o, True) == (*pos, cpr.CPR_OK)
    assert cpr.airborne_position_global(*e, *o, True, dt_s=11.0) is None


def test_local_decode_is_right_within_range_of_the_reference() -> None:
    lat, lon = 43.6, 1.37
    c = _encode(lat, lon, True)
    for ref in ((44.5, 2.0), (46.4, 1.37), (41.0, 1.0)):  # up to ~170 NM away
        near = cpr.airborne_position_local(*c, True, *ref)
        assert near is not None and _metres(*near, lat, lon) < 10, ref
    # a reference beyond 180 NM gives a position in the wrong zone, near the reference: the
    # caller (tracker) must only use recent references; the result never lies beyond range
    far = cpr.airborne_position_local(*c, True, 47.5, 1.37)
    assert far is None or cpr.distance_nm(*far, 47.5, 1.37) <= cpr.AIRBORNE_LOCAL_RANGE_NM
    s = _encode(lat, lon, False, surface=True)
    near = cpr.surface_position_local(*s, False, 43.9, 1.5)
    assert near is not None and _metres(*near, lat, lon) < 10


def test_local_decode_with_the_reference_on_a_zone_boundary() -> None:
    """``ref % d`` and ``floor(ref / d)`` round differently on a zone boundary: the zone and the
    remainder of the reference must come from one floor, or a position one zone away (and out of
    range) comes back as None. Found by the tracker on surface references at 45.0 deg E."""
    assert cpr.surface_position_local(0, 0, False, 24.0, 45.0) == (24.0, 45.0)
    assert cpr.airborne_position_local(0, 0, False, -5e-324, 0.0) == (0.0, 0.0)
    lat, lon = cpr.surface_position_local_batch([0], [0], [False], [24.0], [45.0])
    assert (lat[0], lon[0]) == (24.0, 45.0)
    lat, lon = cpr.airborne_position_local_batch([0], [0], [False], [-5e-324], [0.0])
    assert (lat[0], lon[0]) == (0.0, 0.0)
    # every latitude-zone boundary, and longitude-zone boundaries there, as the reference:
    # the frame encoding that same point decodes to it (scalar and vectorised alike)
    cases = []
    for surface, span in ((False, 360.0), (True, 90.0)):
        for odd in (False, True):
            d_lat = span / (60 - int(odd))
            for k in range(-int(80 // d_lat), int(80 // d_lat) + 1):
                rlat = k * d_lat
                d_lon = span / max(cpr.cpr_nl(rlat) - int(odd), 1)
                for m in (-7, -1, 0, 3, 27):
                    cases.append((surface, odd, rlat, m * d_lon))
    misses = 0
    for surface, odd, rlat, rlon in cases:
        c = _encode(rlat, rlon, odd, surface=surface)
        fn = cpr.surface_position_local if surface else cpr.airborne_position_local
        batch = cpr.surface_position_local_batch if surface else cpr.airborne_position_local_batch
        pos = fn(*c, odd, rlat, rlon)
        misses += pos is None
        assert pos is not None and _metres(*pos, rlat, rlon) < 10, (surface, odd, rlat, rlon)
        blat, blon = batch([c[0]], [c[1]], [odd], [rlat], [rlon])
        assert math.isclose(blat[0], pos[0], abs_tol=1e-9), (surface, odd, rlat, rlon)
        assert math.isclose(blon[0], pos[1], abs_tol=1e-9), (surface, odd, rlat, rlon)
    assert misses == 0 and len(cases) > 1000
