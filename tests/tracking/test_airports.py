"""Surface positions without a receiver position: the one CPR candidate near an airport."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.tracking import OUTCOME_NAMES, Tracker
from overflight.tracking._cpr import greatcircle_m
from overflight.tracking.airports import airport_grid, grid_of, nearest_airport

from ._frames import batch_from_hex, cut_hex, load_jsonl

FULL = "modes-traffic-samples/full_flight_short.jsonl.gz"
LFPG = (49.0097, 2.5479)
TAXI = 2000  # the first 2000 frames: taxiing at LFPG (airborne from frame 2045)


@pytest.fixture(scope="module")
def flight(shared: Callable[[str], Path]) -> dict[str, Any]:
    recs = load_jsonl(shared(FULL))
    frames = [cut_hex(r["frame"]) for r in recs]
    times = np.array([r["timestamp"] for r in recs])
    return {"frames": frames, "times": times, "table": decode_batch(batch_from_hex(frames, times))}


def test_surface_positions_at_lfpg_without_receiver_match_rs1090(flight: dict[str, Any]) -> None:
    import rs1090

    table: pa.Table = flight["table"]
    tr = Tracker()  # no receiver position
    pos = tr.update(table)
    with_rx = Tracker(receiver_lat_lon=LFPG).update(table)
    assert pos.num_rows == with_rx.num_rows > 8200  # was 6,949: surface positions lost
    assert tr.references["airport"] >= 1
    first = pos.slice(0, 1).to_pylist()[0]
    assert first["reference"] == "airport" and first["on_ground"] is True
    a = tr.get("393322")
    assert a is not None and a.position_reference in ("aircraft", "pair")

    # every position while taxiing at LFPG, against rs1090 decoding with LFPG as reference
    codes = tr.last_outcomes[:TAXI]
    idx = np.flatnonzero(
        np.isin(codes, [OUTCOME_NAMES.index("global"), OUTCOME_NAMES.index("local")])
    )
    assert len(idx) > 900
    ours = pos.slice(0, len(idx))
    assert ours.column("on_ground").to_pylist() == [True] * len(idx)
    decoded = rs1090.decode(
        [flight["frames"][i] for i in idx.tolist()],
        [float(flight["times"][i]) for i in idx.tolist()],
        reference=LFPG,
    )
    lat = ours.column("lat_deg").to_numpy()
    lon = ours.column("lon_deg").to_numpy()
    d = [
        greatcircle_m(lat[k], lon[k], m["latitude"], m["longitude"]) for k, m in enumerate(decoded)
    ]
    assert max(d) < 5.0  # metres
    assert greatcircle_m(lat[0], lon[0], *LFPG) < 3000


def test_two_airports_ninety_degrees_apart_leave_the_pair_undecoded(
    flight: dict[str, Any],
) -> None:
    # LFPG and an invented airport 90 degrees east: two candidates near airports
    grid = grid_of(["LFPG", "XXXX"], [49.0128, 49.0128], [2.55, 92.55])
    tr = Tracker(airports=grid)
    pos = tr.update(flight["table"].slice(0, TAXI))
    assert pos.num_rows == 0
    assert tr.outcomes["airport_ambiguous"] > 100
    assert tr.references["airport"] == 0


def test_no_airport_near_any_candidate_means_no_reference(flight: dict[str, Any]) -> None:
    tr = Tracker(airports=grid_of(["KJFK"], [40.6398], [-73.7789]))
    assert tr.update(flight["table"].slice(0, TAXI)).num_rows == 0
    assert tr.outcomes["no_reference"] > 100
    assert tr.update(flight["table"].slice(0, TAXI)).num_rows == 0
    # disabled: same
    tr = Tracker(airports=False)
    assert tr.update(flight["table"].slice(0, TAXI)).num_rows == 0


def test_airport_grid_finds_the_nearest_airport_within_45_nm() -> None:
    grid = airport_grid()
    assert len(grid) > 20000
    args = (grid.lat_deg, grid.lon_deg, grid.start, 45 * 1852.0)
    k = nearest_airport(49.0097, 2.5479, *args)
    assert k >= 0 and grid.icao[k] == "LFPG"
    assert grid.icao[nearest_airport(43.6293, 1.3638, *args)] == "LFBO"
    assert nearest_airport(40.0, -40.0, *args) == -1  # mid-Atlantic
    # cells wrap at the antimeridian
    wrap = grid_of(["A"], [0.0], [179.9])
    assert nearest_airport(0.0, -179.9, wrap.lat_deg, wrap.lon_deg, wrap.start, 45 * 1852.0) == 0
    # bad rows are dropped, not fatal
    assert len(grid_of(["A", "B"], [float("nan"), 95.0], [0.0, 0.0])) == 0


@pytest.mark.parametrize(
    ("icao", "stand", "other"),
    [
        ("SVMI", (10.5985, -66.9981), "FEFI"),  # Birao, 52 km from the candidate 90 deg east
        ("OSLK", (35.4050, 35.9450), "RK60"),  # a Korean strip, 51 km from the one 90 deg east
    ],
)
def test_surface_pairs_at_airports_with_a_far_airport_near_another_candidate_are_resolved(
    icao: str, stand: tuple[float, float], other: str
) -> None:
    """Within 45 NM of some airport another candidate was (SVMI, OSLK: pairs left undecoded as
    'airport_ambiguous'); only candidates within 10 km of an airport count now."""
    from overflight.modes.encode import encode_surface_position

    grid = airport_grid()
    assert other in grid.icao
    frames = [encode_surface_position("154073", *stand, 0.0, None, k % 2 == 1) for k in range(6)]
    batch = FrameBatch.from_bytes(frames, time_s=1_553_440_000.0 + 5.0 * np.arange(6))
    tr = Tracker()  # no receiver position: the airports resolve it
    pos = tr.update(decode_batch(batch))
    assert pos.num_rows == 5 and tr.outcomes["airport_ambiguous"] == 0
    assert pos.column("reference").to_pylist()[0] == "airport"
    lat, lon = pos.column("lat_deg").to_pylist(), pos.column("lon_deg").to_pylist()
    assert max(greatcircle_m(a, b, *stand) for a, b in zip(lat, lon, strict=True)) < 10.0
    assert nearest_airport(*stand, grid.lat_deg, grid.lon_deg, grid.start, 10_000.0) == (
        grid.icao.index(icao)
    )


def test_grid_saved_beside_the_kernels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second process loads the grid from the copy the first saved: the same airports."""
    from overflight._numba_cache import numba

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    airport_grid.cache_clear()
    try:
        fresh = airport_grid()
        saved = list(tmp_path.glob("airport-grid-*.npz"))
        assert len(saved) == 1
        airport_grid.cache_clear()
        again = airport_grid()
    finally:
        airport_grid.cache_clear()
    assert len(fresh) > 20_000 and again.icao == fresh.icao
    for name in ("lat_deg", "lon_deg", "start"):
        assert np.array_equal(getattr(again, name), getattr(fresh, name))
    svmi = fresh.icao.index("SVMI")
    assert abs(again.lat_deg[svmi] - 10.6) < 0.1
    saved[0].write_bytes(b"not a grid")  # a damaged copy is ignored
    assert airport_grid().icao == fresh.icao
    airport_grid.cache_clear()
