"""The tracker's compiled CPR (``tracking._cpr``) against ``overflight.modes.cpr``.

Two copies exist (see ``tracking._cpr``'s docstring); these tests keep them one definition: the
same positions on every real position frame of ``full_flight_short`` and on random CPR values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.modes import cpr as ref
from overflight.modes import decode_batch
from overflight.tracking import _cpr

from ._frames import batch_from_hex, cut_hex, load_jsonl

FULL = "modes-traffic-samples/full_flight_short.jsonl.gz"
LFPG = (49.0097, 2.5479)
CPR = st.integers(0, 131071)
MM = 1e-6  # degrees: equal to well under a metre


@pytest.fixture(scope="module")
def frames(shared: Callable[[str], Path]) -> dict[str, Any]:
    """Position frames of the flight: CPR fields, parity, surface flag, reference position."""
    recs = load_jsonl(shared(FULL))
    tab = decode_batch(
        batch_from_hex([cut_hex(r["frame"]) for r in recs], [r["timestamp"] for r in recs])
    )
    lat = tab.column("cpr_lat").to_numpy(zero_copy_only=False)
    keep = np.flatnonzero(~np.isnan(lat))
    col = {
        c: tab.column(c).to_numpy(zero_copy_only=False)[keep]
        for c in ("cpr_lat", "cpr_lon", "cpr_odd", "surface", "time_s")
    }
    ref_lat = np.array([recs[i].get("latitude", np.nan) for i in keep.tolist()])
    ref_lon = np.array([recs[i].get("longitude", np.nan) for i in keep.tolist()])
    out = {k: np.asarray(v) for k, v in col.items()}
    out["cpr_lat"] = out["cpr_lat"].astype(np.int64)
    out["cpr_lon"] = out["cpr_lon"].astype(np.int64)
    out["cpr_odd"] = out["cpr_odd"].astype(bool)
    out["surface"] = out["surface"].astype(bool)
    out["ref_lat"], out["ref_lon"] = ref_lat, ref_lon
    return out


def _pairs(f: dict[str, Any], surface: bool) -> list[tuple[int, int, int, int, bool]]:
    """Consecutive even/odd frames of one kind: (lat_e, lon_e, lat_o, lon_o, odd_latest)."""
    out = []
    idx = np.flatnonzero(f["surface"] == surface)
    for a, b in zip(idx[:-1].tolist(), idx[1:].tolist(), strict=True):
        if f["cpr_odd"][a] == f["cpr_odd"][b]:
            continue
        e, o = (a, b) if f["cpr_odd"][b] else (b, a)
        out.append(
            (
                int(f["cpr_lat"][e]),
                int(f["cpr_lon"][e]),
                int(f["cpr_lat"][o]),
                int(f["cpr_lon"][o]),
                bool(f["cpr_odd"][b]),
            )
        )
    return out


def test_airborne_global_matches_modes_on_every_real_pair(frames: dict[str, Any]) -> None:
    pairs = _pairs(frames, surface=False)
    assert len(pairs) > 3000
    ours = np.array([_cpr.global_airborne(*p) for p in pairs])
    scalar = [ref.airborne_position_global(*p) for p in pairs]
    vec = ref.airborne_position_global_batch(*np.array(pairs).T)
    ok = ours[:, 2] == 0
    assert ok.sum() > 0.99 * len(pairs)
    assert [s is not None for s in scalar] == ok.tolist()
    good = np.array([s for s in scalar if s is not None])
    assert np.abs(ours[ok, :2] - good).max() < MM
    assert np.abs(ours[ok, :2] - np.c_[vec[0][ok], vec[1][ok]]).max() < MM


def test_surface_global_and_candidates_match_modes_on_every_real_pair(
    frames: dict[str, Any],
) -> None:
    pairs = _pairs(frames, surface=True)
    assert len(pairs) > 500
    buf_lat, buf_lon = np.empty(8), np.empty(8)
    for ref_pos in (LFPG, (43.6293, 1.3638)):
        vec = ref.surface_position_global_batch(*np.array(pairs).T, *ref_pos)
        for k, p in enumerate(pairs):
            lat, lon, status = _cpr.global_surface(*p, *ref_pos)
            expect = ref.surface_position_global(*p, *ref_pos)
            assert (status == 0) == (expect is not None)
            if expect is None:
                continue
            assert abs(lat - expect[0]) < MM and abs(lon - expect[1]) < MM
            assert abs(lat - vec[0][k]) < MM and abs(lon - vec[1][k]) < MM
            # the position is one of the reference-free candidates
            n = _cpr.surface_candidates(*p, buf_lat, buf_lon)
            assert n == 8
            d = np.hypot(buf_lat - lat, buf_lon - lon)
            assert d.min() < MM


def test_local_matches_modes_on_every_real_frame(frames: dict[str, Any]) -> None:
    # reference: the reference decode's previous position (a few hundred metres away)
    f = frames
    has = np.flatnonzero(~np.isnan(f["ref_lat"]))
    checked = 0
    for a, b in zip(has[:-1].tolist(), has[1:].tolist(), strict=True):
        surf = bool(f["surface"][b])
        args = (int(f["cpr_lat"][b]), int(f["cpr_lon"][b]), bool(f["cpr_odd"][b]))
        rl, rn = float(f["ref_lat"][a]), float(f["ref_lon"][a])
        lat, lon, status = _cpr.local(*args, surf, rl, rn)
        fn = ref.surface_position_local if surf else ref.airborne_position_local
        expect = fn(*args, rl, rn)
        assert status == 0 and expect is not None
        assert abs(lat - expect[0]) < MM and abs(lon - expect[1]) < MM
        assert abs(lat - f["ref_lat"][b]) < 1e-4 and abs(lon - f["ref_lon"][b]) < 1e-4
        checked += 1
    assert checked > 8000
    batch = (ref.surface_position_local_batch, ref.airborne_position_local_batch)
    for surf, fn_b in zip((True, False), batch, strict=True):
        sel = has[1:][f["surface"][has[1:]] == surf]
        prev = has[:-1][f["surface"][has[1:]] == surf]
        lat_b, lon_b = fn_b(
            f["cpr_lat"][sel], f["cpr_lon"][sel], f["cpr_odd"][sel],
            f["ref_lat"][prev], f["ref_lon"][prev],
        )  # fmt: skip
        ours = np.array(
            [
                _cpr.local(
                    int(f["cpr_lat"][i]), int(f["cpr_lon"][i]), bool(f["cpr_odd"][i]), surf,
                    float(f["ref_lat"][j]), float(f["ref_lon"][j]),
                )[:2]
                for i, j in zip(sel.tolist(), prev.tolist(), strict=True)
            ]
        )  # fmt: skip
        assert np.abs(ours - np.c_[lat_b, lon_b]).max() < MM


def _lon_eq(a: float, b: float) -> bool:
    return abs((a - b + 180.0) % 360.0 - 180.0) < MM


@settings(max_examples=400, deadline=None)
@given(CPR, CPR, CPR, CPR, st.booleans())
def test_airborne_global_matches_modes_on_random_values(
    lat_e: int, lon_e: int, lat_o: int, lon_o: int, odd: bool
) -> None:
    lat, lon, status = _cpr.global_airborne(lat_e, lon_e, lat_o, lon_o, odd)
    expect = ref.airborne_position_global(lat_e, lon_e, lat_o, lon_o, odd)
    assert (status == 0) == (expect is not None)
    if expect is not None:
        assert abs(lat - expect[0]) < MM and _lon_eq(lon, expect[1])
        vlat, vlon = ref.airborne_position_global_batch([lat_e], [lon_e], [lat_o], [lon_o], [odd])
        assert abs(lat - vlat[0]) < MM and _lon_eq(lon, vlon[0])


@settings(max_examples=400, deadline=None)
@given(
    CPR, CPR, CPR, CPR, st.booleans(),
    st.floats(-80.0, 80.0), st.floats(-179.9, 179.9),
)  # fmt: skip
def test_surface_global_matches_modes_on_random_values(
    lat_e: int, lon_e: int, lat_o: int, lon_o: int, odd: bool, rlat: float, rlon: float
) -> None:
    lat, lon, status = _cpr.global_surface(lat_e, lon_e, lat_o, lon_o, odd, rlat, rlon)
    expect = ref.surface_position_global(lat_e, lon_e, lat_o, lon_o, odd, rlat, rlon)
    if status != 0 or expect is None:
        return  # hemisphere choice may differ on the 45-degree tie; covered by real pairs
    if abs(lat - expect[0]) < MM:
        assert _lon_eq(lon, expect[1])
    buf_lat, buf_lon = np.empty(8), np.empty(8)
    if _cpr.surface_candidates(lat_e, lon_e, lat_o, lon_o, odd, buf_lat, buf_lon) == 8:
        assert (
            min(
                abs(a - lat) + abs((b - lon + 180.0) % 360.0 - 180.0)
                for a, b in zip(buf_lat, buf_lon, strict=True)
            )
            < MM
        )


@settings(max_examples=400, deadline=None)
@given(CPR, CPR, st.booleans(), st.booleans(), st.floats(-85.0, 85.0), st.floats(-180.0, 180.0))
def test_local_matches_modes_on_random_values(
    clat: int, clon: int, odd: bool, surf: bool, rlat: float, rlon: float
) -> None:
    lat, lon, status = _cpr.local(clat, clon, odd, surf, rlat, rlon)
    fn = ref.surface_position_local if surf else ref.airborne_position_local
    expect = fn(clat, clon, odd, rlat, rlon, max_range_nm=1e9)
    if status != 0:
        return
    assert expect is not None
    # a local decode lies within half a zone of its reference
    span = 90.0 if surf else 360.0
    half_lat = span / (59 if odd else 60) / 2
    half_lon = span / max(_cpr.cpr_nl(lat) - int(odd), 1) / 2
    assert abs(lat - rlat) <= half_lat + MM
    assert abs((lon - rlon + 180.0) % 360.0 - 180.0) <= half_lon + MM
    if abs(expect[0] - rlat) <= half_lat + MM and (
        abs((expect[1] - rlon + 180.0) % 360.0 - 180.0) <= half_lon + MM
    ):
        assert abs(lat - expect[0]) < MM and _lon_eq(lon, expect[1])
    # else: a reference exactly on a zone boundary, where modes.cpr's ``ref % d`` and
    # ``floor(ref / d)`` round apart and its answer lands one zone off (reported; found here:
    # clat=0, clon=0, even, surface, reference (24.0, 45.0) gives 46.67 degrees east, and
    # airborne with reference latitude -5e-324 gives latitude 6.0)


def test_local_zone_boundary_reference_stays_within_half_a_zone() -> None:
    lat, lon, status = _cpr.local(0, 0, False, True, 24.0, 45.0)
    assert status == 0 and lat == pytest.approx(24.0) and lon == pytest.approx(45.0)
    lat, lon, status = _cpr.local(0, 0, False, False, -5e-324, 0.0)
    assert status == 0 and lat == 0.0 and lon == 0.0
