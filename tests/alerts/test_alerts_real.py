"""Rules over real data: the CDG -> Toulouse A321 through the station with identities from the
real registries, and a real French Air Force tanker trajectory as position updates. Rules
that must fire do, once; rules that must not, do not."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _alerts_data import FLIGHT, TANKER, epoch_s, positions_table, trajectory_positions

from overflight.alerts import parse_rules
from overflight.alerts.engine import Alert, AlertEngine
from overflight.alerts.replay import alerts_over_capture
from overflight.station import Changed

FLIGHT_RULES = """
[[rule]]
name = "afr took off at LFPG"
select = { callsign = "AFR*" }
when = { took_off = { airport = "LFPG" } }
notify = ["log"]

[[rule]]
name = "landed in France"
select = { country = "FR" }
when = { landed = { country = "FR" } }
notify = ["log"]

[[rule]]
name = "landed at LFBO"
select = { type = "A321" }
when = { landed = { airport = "LFBO" } }
notify = ["log"]

[[rule]]
name = "first seen by registration"
select = { registration = "F-GM*" }
when = { first_seen = true }
notify = ["log"]

[[rule]]
name = "approach to Toulouse"
select = {}
when = { entered = { circle = { lat = 43.635, lon = 1.368, radius_km = 40 } } }
notify = ["log"]

[[rule]]
name = "entered France"
select = { address = ["393322"] }
when = { entered = { country = "FR" } }
notify = ["log"]

# must not fire
[[rule]]
name = "landed abroad"
select = {}
when = { landed = { outside_country_of_registration = true } }
notify = ["log"]

[[rule]]
name = "aeroflot seen"
select = { callsign = "AFL*" }
when = { first_seen = true }
notify = ["log"]

[[rule]]
name = "military took off"
select = { military = true }
when = { took_off = true }
notify = ["log"]

[[rule]]
name = "landed at LFPG"
select = {}
when = { landed = { airport = "LFPG" } }
notify = ["log"]

[[rule]]
name = "near the base"
select = {}
when = { entered = { circle = { lat = 55.88, lon = 38.06, radius_km = 50 } } }
notify = ["log"]

[[rule]]
name = "left France"
select = {}
when = { left = { country = "FR" } }
notify = ["log"]

[[rule]]
name = "emergency"
select = {}
when = { emergency = true }
notify = ["log"]
"""


@pytest.fixture(scope="module")
def flight_alerts(shared: Callable[[str], Path], identity_db: Path) -> list[Alert]:
    return alerts_over_capture(parse_rules(FLIGHT_RULES), shared(FLIGHT),
                               identity_db=identity_db)


def test_the_a321_fires_the_rules_it_must_and_no_other(flight_alerts: list[Alert]) -> None:
    by_rule = Counter(a.rule for a in flight_alerts)
    assert by_rule == {"afr took off at LFPG": 1, "landed in France": 1, "landed at LFBO": 1,
                       "first seen by registration": 1, "approach to Toulouse": 1,
                       "entered France": 1}
    a = {x.rule: x for x in flight_alerts}
    took, landed = a["afr took off at LFPG"], a["landed at LFBO"]
    assert took.icao24 == "393322" and took.callsign == "AFR34ZG"
    assert took.registration == "F-GMZC" and took.type_code == "A321"
    assert (took.airport, landed.airport) == ("LFPG", "LFBO")
    assert took.flight_id == landed.flight_id is not None
    assert took.time_s < a["approach to Toulouse"].time_s < landed.time_s


def test_every_alert_carries_its_evidence(flight_alerts: list[Alert]) -> None:
    from overflight.modes import decode

    for a in flight_alerts:
        ev = a.evidence
        assert ev["positions"], a.rule
        assert ev["receivers"] == [0]
        frames = {f["seq"]: f for f in ev["frames"]}
        for p in ev["positions"]:
            f = frames[p["frame_seq"]]
            assert decode(bytes.fromhex(f["raw"])).icao24 == "393322"
        assert a.id.startswith("al-") and len(a.id) == 27


def test_alert_ids_are_stable_across_replays(shared: Callable[[str], Path], identity_db: Path,
                                             flight_alerts: list[Alert]) -> None:
    rules = parse_rules(FLIGHT_RULES)
    again = alerts_over_capture(rules, shared(FLIGHT), identity_db=identity_db)
    assert [x.id for x in again] == [x.id for x in flight_alerts]


TANKER_RULES = """
[[rule]]
name = "through the racetrack"
select = { military = true }
when = { entered = { circle = { lat = 45.93, lon = 2.84, radius_km = 20 } } }
notify = ["log"]

[[rule]]
name = "out of Istres"
select = { operator = "*air*force*" }
when = { left = { circle = { lat = 43.52, lon = 4.92, radius_km = 30 } } }
notify = ["log"]

[[rule]]
name = "over France"
select = { country = "FR" }
when = { entered = { country = "FR" } }
notify = ["log"]

[[rule]]
name = "left a polygon"
select = { callsign = "FAF*" }
when = { left = { polygon = [[45.0, 1.0], [47.5, 1.0], [47.5, 4.0], [45.0, 4.0]] } }
notify = ["log"]
cooldown_min = 0

[[rule]]
name = "silent near Istres"
select = { watchlist = true }
when.silent = { minutes = 10, near = { circle = { lat = 43.52, lon = 4.92, radius_km = 30 } } }
notify = ["log"]

[[rule]]
name = "not a watchlist civil"
select = { watch_class = "Civ" }
when = { entered = { country = "FR" } }
notify = ["log"]

[[rule]]
name = "nowhere near"
select = {}
when = { entered = { country = "VE" } }
notify = ["log"]
"""


def _oracle_inside(path: Path, lat0: float, lon0: float, r_km: float) -> np.ndarray:
    d = pd.read_json(path).dropna(subset=["latitude", "longitude"]).sort_values("timestamp")
    la, lo = np.radians(d["latitude"].to_numpy()), np.radians(d["longitude"].to_numpy())
    p0, l0 = np.radians(lat0), np.radians(lon0)
    a = np.sin((la - p0) / 2) ** 2 + np.cos(la) * np.cos(p0) * np.sin((lo - l0) / 2) ** 2
    return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(a)) <= r_km)


def test_a_geofence_crossing_on_a_real_trajectory_fires_once(
    shared: Callable[[str], Path], identity_db: Path,
) -> None:
    from overflight.identity import Identifier

    path = shared(TANKER)
    ins = _oracle_inside(path, 45.93, 2.84, 20)
    assert not ins[0] and int((ins[1:] & ~ins[:-1]).sum()) == 1  # the truth: one entry
    ident = Identifier(identity_db)
    eng = AlertEngine(parse_rules(TANKER_RULES), identify=ident.identify)
    ups = trajectory_positions(path)
    for u in ups:
        eng.on_update(u)
    last_t = float(ups[-1].table.column("time_s")[-1].as_py())
    # the tanker is heard no more: 11 minutes later the station's clock has moved on
    eng.on_update(Changed(pa.table({"address": pa.array([0x123456], pa.uint32()),
                                    "non_icao": pa.array([False])}), last_t + 660))
    got = Counter(a.rule for a in eng.recent)
    assert got == {"through the racetrack": 1, "out of Istres": 1, "over France": 1,
                   "left a polygon": 1, "silent near Istres": 1}
    a = {x.rule: x for x in eng.recent}
    entry = a["through the racetrack"]
    t = pd.read_json(path).dropna(subset=["latitude"]).sort_values("timestamp")
    t_entry = epoch_s(t["timestamp"])[1:][ins[1:] & ~ins[:-1]][0]
    assert entry.time_s == pytest.approx(t_entry, abs=5.0)  # sampled every 5 s at most
    assert entry.military and entry.registration == "739" and entry.callsign == "FAF4011"
    assert a["silent near Istres"].time_s == pytest.approx(last_t + 600)
    # evidence: the positions nearest the crossing, the crossing one among them
    times = [p["time_s"] for p in entry.evidence["positions"]]
    assert len(times) == 8 and times == sorted(times) and entry.time_s in times
    assert all(abs(x - entry.time_s) < 60 for x in times)


def test_changes_emergencies_and_integrity_from_station_events() -> None:
    """Events in the station's schema (as the tracker raises them) and the GNSS integrity of
    positions."""
    from overflight.station import Events, Positions
    from overflight.station.schema import EVENTS_SCHEMA

    rules = parse_rules("""
[[rule]]
name = "hijack"
select = {}
when = { emergency = { squawk = ["7500"] } }
notify = ["log"]
[[rule]]
name = "any emergency"
select = {}
when = { emergency = true }
notify = ["log"]
cooldown_min = 0
[[rule]]
name = "new callsign"
select = {}
when = { callsign_changed = true }
notify = ["log"]
[[rule]]
name = "to 7000"
select = {}
when = { squawk_changed = { to = ["7000"] } }
notify = ["log"]
[[rule]]
name = "gnss"
select = {}
when = { integrity = { nic_below = 6, nacp_below = 7 } }
notify = ["log"]
cooldown_min = 0
""")
    eng = AlertEngine(rules)

    def ev(kind: str, t: float, **kw: object) -> dict[str, object]:
        base = {"event_id": f"{kind}:4ca123:{int(t * 1000)}", "kind": kind, "time_s": t,
                "address": 0x4CA123, "non_icao": False, "icao24": "4ca123", "callsign": "RYR1",
                "squawk": None, "lat_deg": 53.4, "lon_deg": -6.2, "airport": None,
                "before": None, "after": None, "flight_id": None}
        base.update(kw)
        return base

    rows = [ev("emergency", 100.0, squawk="7700", after="7700"),
            ev("emergency", 110.0, squawk="7500", after="7500"),
            ev("callsign_changed", 120.0, before="RYR1", after="RYR2X", callsign="RYR2X"),
            ev("squawk_changed", 130.0, before="7500", after="7000", squawk="7000"),
            ev("squawk_changed", 140.0, before="7000", after="2000", squawk="2000")]
    eng.on_update(Events(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)))
    eng.on_update(Events(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)))  # the same again

    # the NIC / NACp the positions carry, one batch: drops within it are found in time order
    samples = [(200, 8, 9), (201, 8, 9), (202, 3, 9), (203, 3, 9), (204, 8, 10), (205, 8, 5),
               (206, -1, -1)]
    n = len(samples)
    eng.on_update(Positions(positions_table({
        "icao24": pa.array(["4ca123"] * n), "address": pa.array([0x4CA123] * n, pa.uint32()),
        "non_icao": pa.array([False] * n), "time_s": pa.array([float(t) for t, _, _ in samples]),
        "lat_deg": pa.array([53.4] * n), "lon_deg": pa.array([-6.2] * n),
        "nic": pa.array([x for _, x, _ in samples], pa.int8()),
        "nac_p": pa.array([x for _, _, x in samples], pa.int8()),
        "source": pa.array(["adsb"] * n), "reference": pa.array(["pair"] * n),
        "frame_seq": pa.array(range(n), pa.int64()),
        "pair_frame_seq": pa.array([-1] * n, pa.int64())}, n).take(list(range(n))[::-1])))
    got = [(a.rule, a.time_s) for a in eng.recent]
    assert got == [("any emergency", 100.0), ("hijack", 110.0), ("any emergency", 110.0),
                   ("new callsign", 120.0), ("to 7000", 130.0), ("gnss", 202.0),
                   ("gnss", 205.0)]
    assert next(a for a in eng.recent if a.rule == "new callsign").callsign == "RYR2X"
