"""The engine's state stays bounded: aircraft not heard for hours are forgotten (slots, area
state) while the others' crossings go on as before; a rules reload does not re-enter areas."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from _alerts_data import positions_table

from overflight.alerts import parse_rules
from overflight.alerts.engine import AlertEngine
from overflight.station import Positions

RULES = """
[[rule]]
name = "in"
select = {}
when = { entered = { circle = { lat = 50, lon = 10, radius_km = 10 } } }
notify = ["log"]
cooldown_min = 0

[[rule]]
name = "out"
select = {}
when = { left = { circle = { lat = 50, lon = 10, radius_km = 10 } } }
notify = ["log"]
cooldown_min = 0
"""


def _pos(addr: list[int], t: list[float], lat: list[float]) -> Positions:
    n = len(t)
    none = pa.array([None] * n, pa.float64())
    return Positions(positions_table({
        "icao24": pa.array([f"{a:06x}" for a in addr]),
        "address": pa.array(np.array(addr, np.uint32)), "non_icao": pa.array(np.zeros(n, bool)),
        "time_s": pa.array(np.array(t, float)), "lat_deg": pa.array(np.array(lat, float)),
        "lon_deg": pa.array(np.full(n, 10.0)), "altitude_ft": pa.array([1000.0] * n),
        "groundspeed_kt": none, "track_deg": none, "vertical_rate_fpm": none,
        "on_ground": pa.array([None] * n, pa.bool_()), "callsign": pa.array(["TEST1"] * n),
        "source": pa.array(["adsb"] * n), "reference": pa.array(["pair"] * n),
        "frame_seq": pa.array(np.arange(n, dtype=np.int64)),
        "pair_frame_seq": pa.array(np.full(n, -1, np.int64))}, n))


def test_silent_aircraft_are_forgotten_and_others_go_on() -> None:
    e = AlertEngine(parse_rules(RULES))
    e.on_update(_pos([1, 2, 3], [0, 0, 0], [50, 40, 50]))  # 1 and 3 appear inside
    e.on_update(_pos([2], [8000], [40]))  # two hours on: 1 and 3 are forgotten
    assert e._n == 1 and e._inside.size == 0
    e.on_update(_pos([2, 2], [8010, 8020], [50, 40]))  # 2 enters, then leaves
    e.on_update(_pos([3], [8030], [40]))  # 3 is back, outside: it did not 'leave'
    assert [(a.rule, a.icao24, a.time_s) for a in e.recent] == [
        ("in", "000001", 0.0), ("in", "000003", 0.0), ("in", "000002", 8010.0),
        ("out", "000002", 8020.0)]


def test_a_reload_does_not_enter_areas_again() -> None:
    e = AlertEngine(parse_rules(RULES))
    e.on_update(_pos([1], [0], [50]))
    e.set_rules(parse_rules(RULES))
    e.on_update(_pos([1, 1, 1], [10, 20, 30], [50, 40, 50]))
    assert [(a.rule, a.time_s) for a in e.recent] == [("in", 0.0), ("out", 20.0), ("in", 30.0)]
