"""overflight.geo: the one definition of geometry (round trips, known distances, numba == NumPy)."""

from __future__ import annotations

import math

import airportsdata
import numpy as np
import numpy.typing as npt
import pytest

import overflight.geo as geo
from overflight.flights import geo as flights_geo
from overflight.mlat import geodesy
from overflight.sim import geo as sim_geo
from overflight.tracking import _cpr

F64 = npt.NDArray[np.float64]

LAT = np.concatenate([np.linspace(-90.0, 90.0, 361), [-89.9999999, 89.9999999, 1e-9, -1e-9]])
LON = np.array([-180.0, -179.9999999, -120.0, -0.5, 0.0, 33.3, 90.0, 179.9999999, 180.0])
HEIGHT_M = np.array([-500.0, 0.0, 150.0, 12_000.0, 50_000.0])


def _grid() -> tuple[F64, F64, F64]:
    la, lo, h = np.meshgrid(LAT, LON, HEIGHT_M, indexing="ij")
    return la.ravel(), lo.ravel(), h.ravel()


def _ecef_longdouble(lat_deg: F64, lon_deg: F64, height_m: F64) -> F64:
    """Independent reference: the same closed form evaluated in extended precision."""
    ld = np.longdouble
    a, f = ld(6378137.0), ld(1) / ld(298.257223563)
    e2 = f * (2 - f)
    la, lo, h = np.radians(lat_deg.astype(ld)), np.radians(lon_deg.astype(ld)), height_m.astype(ld)
    n = a / np.sqrt(1 - e2 * np.sin(la) ** 2)
    xyz = [(n + h) * np.cos(la) * np.cos(lo), (n + h) * np.cos(la) * np.sin(lo)]
    xyz.append((n * (1 - e2) + h) * np.sin(la))
    return np.stack(xyz, -1).astype(np.float64)


def _sim_ecef_to_llh_v1(xyz_m: F64) -> tuple[F64, F64, F64]:
    """The former ``sim.geo.ecef_to_llh`` (fixed-point latitude, height ``r / cos - N``), kept
    here to document why the MLAT version (Bowring, height along the normal) was chosen."""
    a_m, e2 = geo.WGS84_A_M, geo.WGS84_E2
    x, y, z = xyz_m[..., 0], xyz_m[..., 1], xyz_m[..., 2]
    r = np.hypot(x, y)
    lat = np.arctan2(z, r * (1.0 - e2))
    for _ in range(4):
        s = np.sin(lat)
        lat = np.arctan2(z + e2 * a_m / np.sqrt(1.0 - e2 * s * s) * s, r)
    s, c = np.sin(lat), np.cos(lat)
    n = a_m / np.sqrt(1.0 - e2 * s * s)
    h = np.where(np.abs(c) > 1e-9, r / np.where(c == 0, 1, c) - n, np.abs(z) - n * (1.0 - e2))
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), h


def test_llh_ecef_round_trip_within_a_millimetre_incl_poles_and_antimeridian() -> None:
    la, lo, h = _grid()
    xyz = geo.llh_to_ecef(la, lo, h)
    assert np.abs(xyz - _ecef_longdouble(la, lo, h)).max() < 1e-7  # metres
    la2, lo2, h2 = geo.ecef_to_llh(xyz)
    assert np.abs(h2 - h).max() < 1e-3
    assert np.abs(la2 - la).max() * 111_320.0 < 1e-3
    # longitude is undefined at the poles; elsewhere compare on the circle (+-180 are one meridian)
    off_pole = np.abs(la) < 90.0
    dlon = (lo2 - lo + 180.0) % 360.0 - 180.0
    assert (np.abs(dlon[off_pole]) * 111_320.0 * np.cos(np.radians(la[off_pole]))).max() < 1e-3
    assert np.linalg.norm(geo.llh_to_ecef(la2, lo2, h2) - xyz, axis=-1).max() < 1e-3
    assert np.all((lo2 >= -180.0) & (lo2 <= 180.0))


def test_ecef_to_llh_choice_over_the_former_simulator_version() -> None:
    """Measured on the grid: the kept (MLAT) version is exact to ~2 nm in height; the simulator's
    former version was off by up to 0.35 m in height just off the poles (``r / cos(lat)``)."""
    la, lo, h = _grid()
    xyz = _ecef_longdouble(la, lo, h)
    kept = geo.ecef_to_llh(xyz)
    former = _sim_ecef_to_llh_v1(xyz)
    assert np.abs(kept[2] - h).max() < 1e-8
    assert 0.3 < np.abs(former[2] - h).max() < 0.4
    assert np.abs(kept[2] - former[2]).max() == pytest.approx(0.35, abs=0.01)
    assert np.abs(kept[0] - former[0]).max() < 1e-9  # degrees: latitudes agree


def test_lfpg_to_lfbo_from_airportsdata() -> None:
    ap = airportsdata.load("ICAO")
    p, t = ap["LFPG"], ap["LFBO"]
    d_km = float(geo.haversine_km(p["lat"], p["lon"], t["lat"], t["lon"]))
    # spherical law of cosines: an independent formula on the same sphere
    p1, p2 = math.radians(p["lat"]), math.radians(t["lat"])
    cos_c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(
        math.radians(t["lon"] - p["lon"])
    )
    assert d_km == pytest.approx(geo.EARTH_RADIUS_KM * math.acos(cos_c), abs=1e-6)
    assert d_km == pytest.approx(605.51, abs=0.01)
    assert float(geo.haversine_m(p["lat"], p["lon"], t["lat"], t["lon"])) == pytest.approx(
        d_km * 1000.0, rel=1e-15
    )
    # the WGS84 chord agrees within 0.5 % at this range; the course is a little west of south
    chord_km = float(geo.horizontal_distance_m(p["lat"], p["lon"], t["lat"], t["lon"])) / 1000
    assert chord_km == pytest.approx(d_km, rel=5e-3)
    assert float(geo.bearing_deg(p["lat"], p["lon"], t["lat"], t["lon"])) == pytest.approx(
        189.08, abs=0.01
    )


def test_antimeridian_and_pole_distances() -> None:
    one_deg_km = geo.EARTH_RADIUS_KM * math.pi / 180.0
    assert float(geo.haversine_km(0.0, 179.5, 0.0, -179.5)) == pytest.approx(one_deg_km, rel=1e-12)
    assert float(geo.haversine_km(89.5, 0.0, 89.5, 180.0)) == pytest.approx(one_deg_km, rel=1e-9)
    assert float(geo.haversine_km(0.0, 0.0, 0.0, 180.0)) == pytest.approx(
        math.pi * geo.EARTH_RADIUS_KM, rel=1e-15
    )
    assert float(geo.bearing_deg(0.0, 179.5, 0.0, -179.5)) == pytest.approx(90.0, abs=1e-9)


def _random_pairs(n: int, seed: int) -> tuple[F64, F64, F64, F64]:
    rng = np.random.default_rng(seed)
    lat1 = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon1 = rng.uniform(-180, 180, n)
    far = n // 2  # half anywhere on Earth, half within ~100 km (and across the antimeridian)
    lat2 = np.concatenate([np.degrees(np.arcsin(rng.uniform(-1, 1, far))), lat1[far:]])
    lon2 = np.concatenate([rng.uniform(-180, 180, far), lon1[far:] + rng.normal(0, 1, n - far)])
    lat2[far:] = np.clip(lat2[far:] + rng.normal(0, 1, n - far), -90, 90)
    lon2 = (lon2 + 180.0) % 360.0 - 180.0
    return lat1, lon1, lat2, lon2


def test_destination_inverts_bearing_and_distance() -> None:
    lat1, lon1, lat2, lon2 = _random_pairs(20_000, 1)
    d_km = geo.haversine_km(lat1, lon1, lat2, lon2)
    ok = (d_km < 19_000.0) & (np.abs(lat1) < 89.9)  # not near-antipodal, not at a pole
    la, lo = geo.destination(lat1, lon1, geo.bearing_deg(lat1, lon1, lat2, lon2), d_km)
    miss_m = geo.haversine_m(la, lo, lat2, lon2)[ok]
    assert miss_m.max() < 1e-3
    assert np.all((lo >= -180.0) & (lo < 180.0))


def test_numba_scalars_equal_numpy_vectorised() -> None:
    lat1, lon1, lat2, lon2 = _random_pairs(5_000, 2)
    m = geo.haversine_m(lat1, lon1, lat2, lon2)
    km = geo.haversine_km(lat1, lon1, lat2, lon2)
    brg = geo.bearing_deg(lat1, lon1, lat2, lon2)
    for i in range(lat1.size):
        args = (lat1[i], lon1[i], lat2[i], lon2[i])
        # bit-identical on this machine; a few ulp allowed for other CPUs' vector libm
        assert geo.haversine_m_scalar(*args) == pytest.approx(m[i], rel=1e-14, abs=1e-9)
        assert geo.haversine_km_scalar(*args) == pytest.approx(km[i], rel=1e-14, abs=1e-12)
        assert geo.bearing_deg_scalar(*args) == pytest.approx(brg[i], abs=1e-12)


def test_interpolation_and_unit_vectors() -> None:
    f = np.linspace(0.0, 1.0, 11)
    lat, lon = geo.interpolate_great_circle(49.0128, 2.55, 40.639928, -73.778692, f)
    assert (lat[0], lon[0]) == pytest.approx((49.0128, 2.55))
    assert (lat[-1], lon[-1]) == pytest.approx((40.639928, -73.778692))
    total = float(geo.haversine_km(49.0128, 2.55, 40.639928, -73.778692))
    steps = geo.haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:])
    assert steps == pytest.approx(np.full(10, total / 10), rel=1e-9)  # evenly spaced, on the arc
    la, lo, _ = _grid()
    la2, lo2 = geo.unit_to_latlon(geo.latlon_to_unit(la, lo))
    assert np.abs(la2 - la).max() < 1e-12
    off = np.abs(la) < 90.0
    assert np.abs(((lo2 - lo + 180.0) % 360.0 - 180.0)[off]).max() < 1e-9
    assert np.linalg.norm(geo.latlon_to_unit(la, lo), axis=-1) == pytest.approx(1.0, abs=1e-15)


def test_enu_offset_against_the_enu_rotation() -> None:
    lat0, lon0, h0 = 43.6291, 1.36382, 150.0
    rot = geo.ecef_to_enu_matrix(lat0, lon0)
    base = geo.llh_to_ecef(lat0, lon0, h0)
    for east_m, north_m in [(1000.0, 0.0), (0.0, -2000.0), (3000.0, 4000.0)]:
        lat, lon = geo.enu_offset(lat0, lon0, east_m, north_m, h0)
        enu = rot @ (geo.llh_to_ecef(lat, lon, h0) - base)
        assert enu[:2] == pytest.approx([east_m, north_m], abs=2.0)  # first order in the offset
    assert np.allclose(rot[2], geo.up_vector(lat0, lon0))
    assert np.allclose(rot @ rot.T, np.eye(3), atol=1e-15)


def test_one_definition() -> None:
    """The stage modules re-export; kernels call the compiled scalars."""
    assert flights_geo.haversine_km is geo.haversine_km
    assert flights_geo.to_unit_xyz is geo.latlon_to_unit
    assert flights_geo.EARTH_RADIUS_KM == geo.EARTH_RADIUS_KM == 6371.0088
    assert geodesy.ecef_to_llh is geo.ecef_to_llh is sim_geo.ecef_to_llh
    assert geodesy.llh_to_ecef is geo.llh_to_ecef is sim_geo.llh_to_ecef
    assert sim_geo.EARTH_RADIUS_M == geo.EARTH_RADIUS_M == 6_371_008.8
    assert _cpr.greatcircle_m is geo.haversine_m_scalar
    assert _cpr.bearing_deg is geo.bearing_deg_scalar
