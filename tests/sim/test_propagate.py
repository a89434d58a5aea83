"""Propagation and clocks: arrival times agree with the geometry, ticks with the clock models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from overflight.sim import (
    MODE_S_ONLY,
    Aircraft,
    AltitudeProfile,
    ConstantHeading,
    FreeRunningClock,
    GpsClock,
    GreatCircleRoute,
    Scenario,
    SimReceiver,
    SimResult,
    simulate,
)
from overflight.sim.propagate import frame_duration_s

C = 299_792_458.0


def _ecef(lat_deg: np.ndarray, lon_deg: np.ndarray, h_m: np.ndarray) -> np.ndarray:
    """WGS84 geodetic to ECEF, written out independently of the simulator."""
    a, f = 6_378_137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    la, lo = np.radians(lat_deg), np.radians(lon_deg)
    n = a / np.sqrt(1 - e2 * np.sin(la) ** 2)
    return np.stack(
        [
            (n + h_m) * np.cos(la) * np.cos(lo),
            (n + h_m) * np.cos(la) * np.sin(lo),
            (n * (1 - e2) + h_m) * np.sin(la),
        ],
        -1,
    )


def _gps_scenario(**kw: object) -> Scenario:
    rx = (
        SimReceiver(1, 47.38, 8.54, 470.0, GpsClock(jitter_ns=20.0), range_km=500),
        SimReceiver(2, 47.56, 7.59, 330.0, GpsClock(jitter_ns=20.0), range_km=500),
        SimReceiver(
            3, 46.95, 7.45, 600.0, GpsClock(jitter_ns=20.0, timestamp="radarcape"), range_km=500
        ),
    )
    ac = (
        Aircraft(
            "3b7777",
            ConstantHeading(47.25, 7.35, 62.0, 410.0),
            AltitudeProfile.level(25_000),
            "FAF4011",
            equipage=MODE_S_ONLY,
        ),
        Aircraft(
            "4b1806",
            GreatCircleRoute(((47.458, 8.548), (47.0, 9.8)), 280.0),
            AltitudeProfile.climb(4_000, 24_000, 2_500),
            "SWR18",
        ),
    )
    base = {"troposphere_n0": 0.0, "fading_db": 0.0, "garble": False}
    base.update(kw)
    return Scenario("gps", rx, ac, 60.0, seed=3, **base)  # type: ignore[arg-type]


def _pairs(res: SimResult, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(transmission, row at a, row at b) for transmissions heard by receivers a and b."""
    tx = res.receptions.transmission
    ra = np.flatnonzero(res.frames.receiver == a)
    rb = np.flatnonzero(res.frames.receiver == b)
    common, ia, ib = np.intersect1d(tx[ra], tx[rb], return_indices=True)
    return common, ra[ia], rb[ib]


def test_tdoa_of_gps_receivers_equals_distance_difference_over_c() -> None:
    res = simulate(_gps_scenario())
    t = res.truth
    p = _ecef(t.lat_deg, t.lon_deg, t.height_m)
    rx = {r.receiver_id: r for r in res.scenario.receivers}
    common, ia, ib = _pairs(res, 1, 2)
    assert common.size > 500
    ta = res.frames.ticks[ia].astype(np.int64)  # "ns" timestamps: UTC nanoseconds mod 2**48
    tb = res.frames.ticks[ib].astype(np.int64)
    ea = _ecef(np.array(rx[1].lat_deg), np.array(rx[1].lon_deg), np.array(rx[1].height_m))
    eb = _ecef(np.array(rx[2].lat_deg), np.array(rx[2].lon_deg), np.array(rx[2].height_m))
    geometric = (
        np.linalg.norm(p[common] - ea, axis=-1) - np.linalg.norm(p[common] - eb, axis=-1)
    ) / C
    resid_ns = (ta - tb) - geometric * 1e9
    sigma = 20.0 * math.sqrt(2)
    assert abs(resid_ns.mean()) < 3 * sigma / math.sqrt(resid_ns.size) + 0.5
    assert resid_ns.std() == pytest.approx(sigma, rel=0.1)
    assert np.abs(resid_ns).max() < 5.5 * sigma
    # Absolute arrival = transmit time + distance / c (truth kept in nanoseconds).
    d = np.linalg.norm(p[common] - ea, axis=-1)
    toa_ns = t.transmit_time_ns[common] + np.rint(d / C * 1e9).astype(np.int64)
    assert np.abs(ta - toa_ns % (1 << 48)).max() < 5.5 * 20.0 + 1


def test_radarcape_timestamp_layout() -> None:
    res = simulate(_gps_scenario())
    rows = np.flatnonzero(res.frames.receiver == 3)
    ticks = res.frames.ticks[rows]
    sod = (ticks >> np.uint64(30)).astype(np.int64)
    ns = (ticks & np.uint64((1 << 30) - 1)).astype(np.int64)
    assert ns.max() < 1_000_000_000
    arrival_ns = res.scenario.start_ns + np.rint(res.receptions.arrival_s[rows] * 1e9).astype(
        np.int64
    )
    got = sod * 1_000_000_000 + ns
    want = arrival_ns % (86_400 * 1_000_000_000)
    assert np.abs(got - want).max() < 200  # 20 ns jitter, < 10 sigma


def test_free_running_clock_ticks_follow_offset_drift_and_jitter() -> None:
    clock = FreeRunningClock(offset_s=12_345.678, drift_ppm=-23.7, jitter_ns=80.0, wander_ppm=0.05)
    sc = _gps_scenario()
    rx = tuple(
        SimReceiver(r.receiver_id, r.lat_deg, r.lon_deg, r.height_m, clock, range_km=500)
        for r in sc.receivers
    )
    res = simulate(sc.with_(receivers=rx))
    rows = np.flatnonzero(res.frames.receiver == 1)
    t = res.receptions.arrival_s[rows]
    reading = res.frames.ticks[rows].astype(np.float64) / 12e6
    resid = reading - clock.ideal_reading_s(t)
    # jitter (80 ns) plus truncation to 83.3 ns ticks (mean -41.7 ns, sd 24 ns)
    assert resid.mean() == pytest.approx(-41.7e-9, abs=10e-9)
    assert resid.std() == pytest.approx(math.hypot(80e-9, 83.33e-9 / math.sqrt(12)), rel=0.1)
    slope = np.polyfit(t, reading, 1)[0]
    assert (slope - 1) * 1e6 == pytest.approx(-23.7, abs=0.1)


def test_counter_wraps_at_48_bits() -> None:
    wrap_s = (1 << 48) / 12e6
    clock = FreeRunningClock(offset_s=wrap_s - 30.0, drift_ppm=10.0, jitter_ns=0.0)
    sc = _gps_scenario()
    rx = (SimReceiver(9, 47.38, 8.54, 470.0, clock, range_km=500),)
    res = simulate(sc.with_(receivers=rx))
    ticks = res.frames.ticks.astype(np.int64)
    assert ticks.max() < 1 << 48
    t = res.receptions.arrival_s
    assert (ticks[t > 31.0] < 12e6 * 31).all()  # wrapped
    ideal = np.floor(clock.ideal_reading_s(t) * 12e6).astype(np.int64) % (1 << 48)
    assert np.array_equal(ticks, ideal)


def test_troposphere_adds_a_plausible_excess_delay() -> None:
    vac = simulate(_gps_scenario())
    air = simulate(_gps_scenario(troposphere_n0=315.0))
    assert np.array_equal(vac.receptions.transmission, air.receptions.transmission)
    extra_ns = (air.receptions.arrival_s - vac.receptions.arrival_s) * 1e9
    d = vac.receptions.distance_m
    # n - 1 between ~3e-4 (surface) and ~1e-4 (mean over a path to FL250)
    assert (extra_ns > 0.5e-4 * d / C * 1e9).all()
    assert (extra_ns < 3.2e-4 * d / C * 1e9).all()
    assert np.corrcoef(d, extra_ns)[0, 1] > 0.8


def test_range_horizon_signal_and_loss() -> None:
    rx = (
        SimReceiver(1, 47.38, 8.54, 470.0, range_km=40.0),
        SimReceiver(2, 47.56, 7.59, 330.0, loss_probability=0.3),
        SimReceiver(3, 49.45, 11.08, 320.0, ground_height_m=310.0),  # Nürnberg, ~230 km away
    )
    low = Aircraft("4b1806", ConstantHeading(47.2, 7.9, 90.0, 150.0), AltitudeProfile.level(1_500))
    high = Aircraft(
        "3c6589", ConstantHeading(47.5, 8.2, 90.0, 450.0), AltitudeProfile.level(37_000)
    )
    sc = Scenario("rng", rx, (low, high), 60.0, seed=5, fading_db=0.0, garble=False)
    res = simulate(sc)
    r = res.receptions
    assert (r.distance_m[r.receiver_id == 1] <= 40e3).all()
    assert res.stats.out_of_range > 0
    # 1,500 ft at ~230 km is far below the radio horizon of Nürnberg; FL370 is above it.
    at3 = res.truth.address[r.transmission[r.receiver_id == 3]]
    assert 0x4B1806 not in at3.tolist() and 0x3C6589 in at3.tolist()
    assert res.stats.below_horizon > 0
    # Free-space loss: the level falls 20 dB per decade of distance.
    sel = r.receiver_id == 3
    slope = np.polyfit(np.log10(r.distance_m[sel]), r.signal_dbfs[sel].astype(float), 1)[0]
    assert slope == pytest.approx(-20.0, abs=0.5)
    assert (r.signal_dbfs <= 0).all() and (r.signal_dbfs >= -33.0).all()
    # Receiver 2 misses about 30 % of what it could hear.
    heard2 = (r.receiver_id == 2).sum()
    assert res.stats.lost == pytest.approx(heard2 * 0.3 / 0.7, rel=0.15)


def test_no_receiver_decodes_two_overlapping_frames() -> None:
    from overflight.sim import mlat_demo

    res = simulate(mlat_demo(duration_s=60))
    assert res.stats.garbled > 0
    for rid in np.unique(res.frames.receiver).tolist():
        rows = np.flatnonzero(res.frames.receiver == rid)
        t = res.receptions.arrival_s[rows]
        assert (np.diff(t) >= frame_duration_s(res.frames.length_bytes[rows][:-1]) - 1e-12).all()
        assert (np.diff(res.frames.ticks[rows].astype(np.int64)) > 0).all()


def test_misconfigured_receiver_reports_a_shifted_position() -> None:
    r = SimReceiver(7, 47.0, 8.0, 500.0, position_error_m=(300.0, -400.0, 20.0))
    lat, lon, h = r.reported_llh()
    pr = _ecef(np.array(lat), np.array(lon), np.array(h))
    pt = _ecef(np.array(r.lat_deg), np.array(r.lon_deg), np.array(r.height_m))
    assert np.linalg.norm(pr - pt) == pytest.approx(math.sqrt(300**2 + 400**2 + 20**2), rel=1e-3)
