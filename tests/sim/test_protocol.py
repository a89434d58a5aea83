"""The simulator speaks the real protocol: a sample of every message kind of gate-to-gate flights
(airborne and on the ground, ADS-B on and off) decoded by pyModeS 3, an independent decoder,
gives back the simulated truth."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pyModeS
import pytest

from overflight.sim import KIND_NAMES, Kind
from overflight.sim.emit import Transmissions
from overflight.sim.library import SCENARIO_FILES
from overflight.sim.scenario import Aircraft
from overflight.sim.scenario_file import parse_scenario
from overflight.sim.stream import simulate_stream

PER_KIND = 60


def _samples() -> list[tuple[Aircraft, Transmissions, int]]:
    out: list[tuple[Aircraft, Transmissions, int]] = []
    rng = np.random.default_rng(3)
    runs = [
        ("larnaca-beirut", 0.0, 4 * 3600.0),
        ("caracas-2019", 20 * 3600.0 + 25 * 60, 21 * 3600.0 + 15 * 60),  # SVMI, ADS-B off
    ]
    for name, a, b in runs:
        sc = parse_scenario(SCENARIO_FILES[name]).scenario
        for res in simulate_stream(sc, from_s=a, to_s=b):
            tx = res.truth
            for k in range(len(KIND_NAMES)):
                for ground in (False, True):
                    rows = np.flatnonzero((tx.kind == k) & (tx.on_ground == ground))
                    if rows.size:
                        pick = rng.choice(rows, min(rows.size, 8), replace=False)
                        acs = res.scenario.aircraft
                        out += [(acs[int(tx.aircraft[i])], tx, int(i)) for i in pick]
    return out


@pytest.fixture(scope="module")
def samples() -> list[tuple[Aircraft, Transmissions, int]]:
    return _samples()


def _dist_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return math.hypot(lat1 - lat2, (lon1 - lon2) * math.cos(math.radians(lat1))) * 111_195


def test_every_kind_decodes_to_the_truth_with_pymodes(
    samples: list[tuple[Aircraft, Transmissions, int]],
) -> None:
    seen: Counter[tuple[str, bool]] = Counter()
    for ac, tx, i in samples:
        kind, ground = int(tx.kind[i]), bool(tx.on_ground[i])
        if seen[(KIND_NAMES[kind], ground)] >= PER_KIND:
            continue
        seen[(KIND_NAMES[kind], ground)] += 1
        lat, lon = float(tx.lat_deg[i]), float(tx.lon_deg[i])
        m: dict[str, Any] = dict(
            pyModeS.decode(
                tx.frame_bytes(i).hex(),
                reference=(lat + 0.05, lon - 0.05),
                surface_ref=(lat + 0.05, lon - 0.05),
            )
        )
        assert m["df"] == int(tx.df[i])
        assert m["icao"].lower() == ac.icao24
        if m["df"] in (17, 11, 18):
            assert m["crc_valid"] in (True, None)
        if kind == Kind.POSITION:
            assert 9 <= m["typecode"] <= 18
            assert abs(m["altitude"] - tx.altitude_ft[i]) <= 25
            assert _dist_m(m["latitude"], m["longitude"], lat, lon) < 10
        elif kind == Kind.SURFACE_POSITION:
            assert 5 <= m["typecode"] <= 8 and ground
            assert _dist_m(m["latitude"], m["longitude"], lat, lon) < 5
            gs = float(tx.groundspeed_kt[i])
            if gs >= 1.0:
                assert abs(m["groundspeed"] - gs) <= max(1.0, 0.05 * gs)
                d = (m["track"] - tx.track_deg[i] + 180) % 360 - 180
                assert abs(d) <= 1.5
        elif kind == Kind.VELOCITY:
            assert not ground and m["typecode"] == 19
            assert abs(m["groundspeed"] - tx.groundspeed_kt[i]) <= 1.5
            assert abs((m["track"] - tx.track_deg[i] + 180) % 360 - 180) <= 0.5
            assert abs(m["vertical_rate"] - tx.vertical_rate_fpm[i]) <= 64
        elif kind == Kind.IDENTIFICATION:
            assert m["callsign"] == ac.callsign
            assert m["category"] == int(ac.category[1])
        elif kind == Kind.STATUS:
            assert m["typecode"] == 31 and m["version"] == 2
            assert m["subtype"] == (1 if ground else 0)
        elif kind == Kind.ACQUISITION:
            assert m["capability"] == (4 if ground else 5)
        elif kind in (Kind.DF4, Kind.DF20):
            assert abs(m["altitude"] - tx.altitude_ft[i]) <= 50
            if kind == Kind.DF4:
                assert m["flight_status"] == (1 if ground else 0)
            else:
                assert m["callsign"] == ac.callsign
        elif kind in (Kind.DF5, Kind.DF21):
            assert m["squawk"] == ac.squawk
            if kind == Kind.DF5:
                assert m["flight_status"] == (1 if ground else 0)
            else:
                assert m["callsign"] == ac.callsign
    kinds = {k for k, _ in seen}
    assert kinds == set(KIND_NAMES)
    on_ground = {k for k, g in seen if g}
    assert {"surface_position", "identification", "status", "acquisition", "df4", "df5"} <= (
        on_ground
    )
    assert "velocity" not in on_ground and "position" not in on_ground


def test_adsb_off_sends_no_df17() -> None:
    spec = parse_scenario(SCENARIO_FILES["caracas-2019"])
    sc = spec.scenario
    il62 = next(a for a in sc.aircraft if a.icao24 == "1551e0")
    ((a, _),) = il62.adsb_off
    dfs: Counter[int] = Counter()
    for res in simulate_stream(sc, from_s=a, to_s=a + 1200):
        k = [x.icao24 for x in res.scenario.aircraft].index("1551e0")
        dfs.update(res.truth.df[res.truth.aircraft == k].tolist())
    assert set(dfs) == {4, 5, 11, 20, 21} and dfs[11] > 1000
