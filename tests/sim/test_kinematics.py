"""Motion models: great circles through their waypoints, rhumb lines, altitude profiles, and a
real recorded flight (the French Air Force KC-135R 3b7777 refuelling over France, OpenSky data
from the ``traffic`` package) flown as a Mode S-only aircraft."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from overflight.modes import decode
from overflight.sim import (
    MODE_S_ONLY,
    Aircraft,
    AltitudeProfile,
    ConstantHeading,
    GreatCircleRoute,
    Kind,
    Scenario,
    SimReceiver,
    simulate,
    track_from_samples,
)
from overflight.sim.kinematics import KT_TO_M_S

R = 6_371_008.8


def _dist_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return np.asarray(2 * R * np.arcsin(np.sqrt(a)))


def test_great_circle_passes_its_waypoints_at_the_right_times() -> None:
    wps = ((47.9, 6.9), (48.3, 10.8), (46.5, 11.5))
    route = GreatCircleRoute(wps, 450.0)
    leg1 = float(_dist_m(np.array(47.9), np.array(6.9), np.array(48.3), np.array(10.8)))
    leg2 = float(_dist_m(np.array(48.3), np.array(10.8), np.array(46.5), np.array(11.5)))
    v = 450.0 * KT_TO_M_S
    h = route.at([0.0, leg1 / v, (leg1 + leg2) / v])
    assert np.allclose(h.lat_deg, [w[0] for w in wps], atol=1e-9)
    assert np.allclose(h.lon_deg, [w[1] for w in wps], atol=1e-9)
    # ground speed: 1 s apart = 231.5 m; track = initial great-circle bearing
    a = route.at([100.0, 101.0])
    assert float(_dist_m(a.lat_deg[0], a.lon_deg[0], a.lat_deg[1], a.lon_deg[1])) == pytest.approx(
        v, rel=1e-6
    )
    p1, p2 = np.radians(a.lat_deg[0]), np.radians(a.lat_deg[1])
    dl = np.radians(a.lon_deg[1] - a.lon_deg[0])
    brg = math.degrees(
        math.atan2(
            math.sin(dl) * math.cos(p2),
            math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl),
        )
    )
    assert (a.track_deg[0] - brg + 180) % 360 - 180 == pytest.approx(0.0, abs=1e-3)


def test_constant_heading_keeps_its_track_and_speed() -> None:
    path = ConstantHeading(47.25, 7.35, 62.0, 410.0)
    h = path.at(np.arange(0.0, 600.0, 1.0))
    assert np.all(h.track_deg == 62.0)
    step = _dist_m(h.lat_deg[:-1], h.lon_deg[:-1], h.lat_deg[1:], h.lon_deg[1:])
    assert np.allclose(step, 410.0 * KT_TO_M_S, rtol=1e-4)
    # rhumb line: the bearing between successive points is constant
    east = np.radians(np.diff(h.lon_deg)) * np.cos(np.radians(h.lat_deg[:-1]))
    north = np.radians(np.diff(h.lat_deg))
    assert np.allclose(np.degrees(np.arctan2(east, north)), 62.0, atol=1e-3)


def test_altitude_profile_climb_and_descent() -> None:
    climb = AltitudeProfile.climb(4_000, 24_000, 2_500, start_s=10.0)
    alt, vr = climb.at([0.0, 10.0, 70.0, 490.0, 600.0])
    assert alt.tolist() == pytest.approx([4_000, 4_000, 6_500, 24_000, 24_000])
    assert vr.tolist() == pytest.approx([0, 2_500, 2_500, 0, 0])
    alt, vr = AltitudeProfile.climb(20_000, 12_000, 1_000).at([60.0])
    assert (alt[0], vr[0]) == pytest.approx((19_000, -1_000))


def test_real_kc135_flight_as_a_mode_s_only_aircraft(shared: Callable[[str], Path]) -> None:
    df = pd.read_json(shared("trajectories-traffic/military/inflight_refuelling.json.gz"))
    epoch_s = (df["timestamp"] - pd.Timestamp(0)).dt.total_seconds().to_numpy()
    t0 = float(epoch_s[0]) + 1_800.0  # half an hour into the flight
    track, alt = track_from_samples(epoch_s - t0, df["latitude"], df["longitude"], df["altitude"])
    ac = Aircraft("3b7777", track, alt, "FAF4011", "7001", MODE_S_ONLY, category="A5")
    # Four receivers around the refuelling area (centre of France).
    rx = tuple(
        SimReceiver(10 + k, lat, lon, 300.0)
        for k, (lat, lon) in enumerate(((46.2, 1.5), (47.1, 2.4), (45.8, 3.1), (46.9, 0.6)))
    )
    res = simulate(Scenario("kc135", rx, (ac,), 300.0, start_time_s=t0, seed=11))
    t = res.truth
    assert len(t) > 900 and not np.isin(t.kind, [Kind.POSITION, Kind.VELOCITY]).any()
    # The simulated truth is the recorded flight: at each recorded second in the window the
    # truth position (interpolated between 1 s samples) matches the recording.
    rec_t = epoch_s - t0
    lat, lon = df["latitude"].to_numpy(), df["longitude"].to_numpy()
    rec_alt = df["altitude"].to_numpy().astype(float)
    good = np.isfinite(lat) & (rec_alt > -1_500) & (rec_alt < 60_000)  # drops glitches
    _, first = np.unique(rec_t[good], return_index=True)
    rt, rlat, rlon = rec_t[good][first], lat[good][first], lon[good][first]
    ralt = rec_alt[good][first]
    win = (rt >= 0) & (rt < 300)
    h = track.at(rt[win])
    assert np.allclose(h.lat_deg, rlat[win], atol=1e-9)
    assert np.allclose(h.lon_deg, rlon[win], atol=1e-9)
    # ... and every altitude reply carries the recorded altitude at that moment (25 ft steps).
    sel = np.flatnonzero(t.kind == Kind.DF4)
    decoded = np.array([decode(t.frame_bytes(int(i))).altitude_ft for i in sel], float)
    want = np.interp(t.t_s[sel], rt, ralt)
    assert np.abs(decoded - want).max() <= 12.5 + 1e-6
    assert 20_000 < np.median(decoded) < 25_000
    assert res.heard_count()[sel].min() >= 1
