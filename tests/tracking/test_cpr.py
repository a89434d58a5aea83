"""The tracker's compiled CPR (``tracking._cpr``) is ``overflight.modes.cpr``, compiled.

Each compiled function wraps the very Python function of ``modes.cpr``; these tests check that
numba gives the same answers, bit for bit, on every real position frame of ``full_flight_short``
(and random CPR values), and that the statuses the tracker's kernel branches on mean what it
expects.
"""

from __future__ import annotations

import math
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
LFBO = (43.6293, 1.3638)
CPR = st.integers(0, 131071)
MM = 1e-6  # degrees: equal to well under a metre
COMPILED = ("cpr_nl", "airborne_global", "surface_global", "surface_candidates", "local_position")


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Equal to the bit, NaN equal to NaN."""
    return all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True))


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


def test_compiled_functions_are_the_modes_cpr_functions() -> None:
    for name in COMPILED:
        assert getattr(_cpr, name).py_func is getattr(ref, name), name


def test_airborne_global_compiled_equals_python_on_every_real_pair(
    frames: dict[str, Any],
) -> None:
    pairs = _pairs(frames, surface=False)
    assert len(pairs) > 3000
    ours = [_cpr.airborne_global(*p) for p in pairs]
    assert all(_same(o, ref.airborne_global(*p)) for o, p in zip(ours, pairs, strict=True))
    ok = np.array([o[2] == ref.CPR_OK for o in ours])
    assert ok.sum() > 0.99 * len(pairs)
    # the Python wrapper and the vectorised decoder agree
    scalar = [ref.airborne_position_global(*p) for p in pairs]
    assert [s is not None for s in scalar] == ok.tolist()
    vec = ref.airborne_position_global_batch(*np.array(pairs).T)
    got = np.array([o[:2] for o in ours])[ok]
    assert np.abs(got - np.c_[vec[0][ok], vec[1][ok]]).max() < MM


def test_surface_global_and_candidates_compiled_equal_python_on_every_real_pair(
    frames: dict[str, Any],
) -> None:
    pairs = _pairs(frames, surface=True)
    assert len(pairs) > 500
    buf_lat, buf_lon = np.empty(8), np.empty(8)
    py_lat, py_lon = np.empty(8), np.empty(8)
    for ref_pos in (LFPG, LFBO):
        vec = ref.surface_position_global_batch(*np.array(pairs).T, *ref_pos)
        for k, p in enumerate(pairs):
            lat, lon, status = _cpr.surface_global(*p, *ref_pos)
            assert _same((lat, lon, status), ref.surface_global(*p, *ref_pos))
            assert status == ref.CPR_OK
            assert abs(lat - vec[0][k]) < MM and abs(lon - vec[1][k]) < MM
            # the position is one of the reference-free candidates, compiled or not
            assert _cpr.surface_candidates(*p, buf_lat, buf_lon) == 8
            assert ref.surface_candidates(*p, py_lat, py_lon) == 8
            assert np.array_equal(buf_lat, py_lat) and np.array_equal(buf_lon, py_lon)
            assert np.hypot(buf_lat - lat, buf_lon - lon).min() < MM


def test_local_compiled_equals_python_on_every_real_frame(frames: dict[str, Any]) -> None:
    # reference: the reference decode's previous position (a few hundred metres away)
    f = frames
    has = np.flatnonzero(~np.isnan(f["ref_lat"]))
    prev, cur = has[:-1].tolist(), has[1:].tolist()
    for a, b in zip(prev, cur, strict=True):
        surf = bool(f["surface"][b])
        args = (int(f["cpr_lat"][b]), int(f["cpr_lon"][b]), bool(f["cpr_odd"][b]), surf)
        rl, rn = float(f["ref_lat"][a]), float(f["ref_lon"][a])
        lat, lon, status = _cpr.local_position(*args, rl, rn)
        assert _same((lat, lon, status), ref.local_position(*args, rl, rn))
        assert status == ref.CPR_OK
        assert abs(lat - f["ref_lat"][b]) < 1e-4 and abs(lon - f["ref_lon"][b]) < 1e-4
    assert len(cur) > 8000
    batch = (ref.surface_position_local_batch, ref.airborne_position_local_batch)
    for surf, fn_b in zip((True, False), batch, strict=True):
        sel = has[1:][f["surface"][has[1:]] == surf]
        before = has[:-1][f["surface"][has[1:]] == surf]
        lat_b, lon_b = fn_b(
            f["cpr_lat"][sel], f["cpr_lon"][sel], f["cpr_odd"][sel],
            f["ref_lat"][before], f["ref_lon"][before],
        )  # fmt: skip
        ours = np.array(
            [
                _cpr.local_position(
                    int(f["cpr_lat"][i]), int(f["cpr_lon"][i]), bool(f["cpr_odd"][i]), surf,
                    float(f["ref_lat"][j]), float(f["ref_lon"][j]),
                )[:2]
                for i, j in zip(sel.tolist(), before.tolist(), strict=True)
            ]
        )  # fmt: skip
        assert np.abs(ours - np.c_[lat_b, lon_b]).max() < MM


@settings(max_examples=300, deadline=None)
@given(
    CPR, CPR, CPR, CPR, st.booleans(), st.booleans(),
    st.floats(-85.0, 85.0), st.floats(-180.0, 180.0),
)  # fmt: skip
def test_compiled_equals_python_on_random_values(
    lat_e: int, lon_e: int, lat_o: int, lon_o: int, odd: bool, surf: bool, rlat: float,
    rlon: float,
) -> None:  # fmt: skip
    pair = (lat_e, lon_e, lat_o, lon_o, odd)
    assert _same(_cpr.airborne_global(*pair), ref.airborne_global(*pair))
    assert _same(_cpr.surface_global(*pair, rlat, rlon), ref.surface_global(*pair, rlat, rlon))
    local = (lat_e, lon_e, odd, surf, rlat, rlon)
    assert _same(_cpr.local_position(*local), ref.local_position(*local))
    assert _cpr.cpr_nl(rlat) == ref.cpr_nl(rlat)
    a, b, c, d = np.empty(8), np.empty(8), np.empty(8), np.empty(8)
    assert _cpr.surface_candidates(*pair, a, b) == ref.surface_candidates(*pair, c, d)


def test_statuses_the_kernel_branches_on() -> None:
    # a latitude beyond 90 degrees: bad data
    assert _cpr.airborne_global(0, 0, 36864, 0, False)[2] == ref.CPR_IMPOSSIBLE
    # a local decode on a zone-boundary reference stays within half a zone
    lat, lon, status = _cpr.local_position(0, 0, False, True, 24.0, 45.0)
    assert status == ref.CPR_OK and lat == pytest.approx(24.0) and lon == pytest.approx(45.0)
    lat, lon, status = _cpr.local_position(0, 0, False, False, -5e-324, 0.0)
    assert status == ref.CPR_OK and lat == 0.0 and lon == 0.0
