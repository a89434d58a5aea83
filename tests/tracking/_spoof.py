"""Streams of a real aircraft and a second transmitter using its address (issue 17).

Built with the project's own encoder: a straight flight with known truth, and a spoofer
interleaved with it (far-away positions, random payloads with a valid CRC, a New York track
under a Paris aircraft), each also claiming an "unlawful interference" emergency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.geo import M_PER_NM
from overflight.modes import decode_batch
from overflight.modes.crc import crc24
from overflight.modes.encode import (
    encode_airborne_position,
    encode_aircraft_status,
    encode_identification,
    encode_velocity,
)

KT_TO_M_S = M_PER_NM / 3600.0
EARTH_M = 6_371_000.0


@dataclass(frozen=True)
class Flight:
    """A straight, level flight: position at ``t`` seconds after ``t0_s``."""

    address: int
    lat0_deg: float
    lon0_deg: float
    track_deg: float
    speed_kt: float
    t0_s: float = 1_700_000_000.0

    def at(self, t_s: float) -> tuple[float, float]:
        d = (t_s - self.t0_s) * self.speed_kt * KT_TO_M_S
        trk = math.radians(self.track_deg)
        lat = self.lat0_deg + math.degrees(d * math.cos(trk) / EARTH_M)
        lon = self.lon0_deg + math.degrees(
            d * math.sin(trk) / (EARTH_M * math.cos(math.radians(self.lat0_deg)))
        )
        return lat, lon


AMSTERDAM = Flight(0x48520A, 52.30, 4.76, 80.0, 430.0)
PARIS = Flight(0x3944E1, 48.95, 2.45, 200.0, 400.0)


def real_frames(f: Flight, seconds: float, callsign: str) -> list[tuple[float, bytes]]:
    """The aircraft's own squitters: positions every 0.5 s (even/odd alternating), velocity
    every second, identification every 5 s."""
    out: list[tuple[float, bytes]] = []
    k = 0
    t = f.t0_s
    while t < f.t0_s + seconds:
        lat, lon = f.at(t)
        out.append((t, encode_airborne_position(f.address, lat, lon, 36000, k % 2 == 1)))
        if k % 2 == 0:
            out.append((t + 0.11, encode_velocity(f.address, f.speed_kt, f.track_deg, 0)))
        if k % 10 == 0:
            out.append((t + 0.23, encode_identification(f.address, callsign, "A3")))
        k += 1
        t = f.t0_s + 0.5 * k
    return out


def far_frames(
    f: Flight, start_s: float, seconds: float, where: list[tuple[float, float]]
) -> list[tuple[float, bytes]]:
    """A spoofer under ``f``'s address from ``start_s`` on: positions at the places ``where``
    in turn (even/odd alternating, 4 per second, between the real ones) and an unlawful
    interference emergency with squawk 4555 every second."""
    out: list[tuple[float, bytes]] = []
    k = 0
    t = f.t0_s + start_s
    while t < f.t0_s + start_s + seconds:
        lat, lon = where[(k // 2) % len(where)]
        out.append((t + 0.07, encode_airborne_position(f.address, lat, lon, 36000, k % 2 == 0)))
        if k % 4 == 0:
            out.append((t + 0.19, encode_aircraft_status(f.address, "4555", "unlawful")))
        k += 1
        t = f.t0_s + start_s + 0.25 * k
    return out


def random_frames(
    f: Flight, start_s: float, seconds: float, per_s: float, seed: int
) -> list[tuple[float, bytes]]:
    """Random DF17 payloads with a valid CRC under ``f``'s address, ``per_s`` a second,
    and the unlawful-interference claim (squawk 4555) every second."""
    rng = np.random.default_rng(seed)
    n = int(seconds * per_s)
    out: list[tuple[float, bytes]] = []
    for k in range(n):
        t = f.t0_s + start_s + (k + rng.random() * 0.5) / per_s
        body = bytes([0x8D, *f.address.to_bytes(3, "big"), *rng.integers(0, 256, 7).tolist()])
        out.append((t, body + crc24(body).to_bytes(3, "big")))
    for k in range(int(seconds)):
        t = f.t0_s + start_s + k + 0.31
        out.append((t, encode_aircraft_status(f.address, "4555", "unlawful")))
    return out


def stream(*parts: list[tuple[float, bytes]]) -> tuple[pa.Table, np.ndarray]:
    """The parts merged in time order, decoded; also the time of each row."""
    rows = sorted((r for p in parts for r in p), key=lambda r: r[0])
    times = np.array([r[0] for r in rows])
    batch = FrameBatch.from_bytes([r[1] for r in rows], time_s=times)
    return decode_batch(batch), times


def error_m(f: Flight, positions: pa.Table) -> np.ndarray:
    """Distance of each accepted position of ``f`` from the truth at its time, metres."""
    from overflight.geo import haversine_m_scalar

    sel = positions.filter(pa.compute.equal(positions.column("address"), f.address))
    t = sel.column("time_s").to_numpy()
    lat = sel.column("lat_deg").to_numpy()
    lon = sel.column("lon_deg").to_numpy()
    out = [haversine_m_scalar(*f.at(ti), la, lo) for ti, la, lo in zip(t, lat, lon, strict=True)]
    return np.asarray(out, np.float64)
