"""A faithful generator of unsynchronised multi-receiver traffic for testing and benchmarking MLAT.

Receivers have free-running 12 MHz clocks (Beast/dump1090): an arbitrary offset, a frequency
error of tens of ppm, a slow thermal wander, Gaussian timestamp jitter and tick quantisation.
Aircraft fly straight at constant speed: ADS-B aircraft send DF17 airborne positions (even/odd
CPR, twice a second) that serve as synchronisation references; Mode S-only aircraft send DF4
altitude replies. Propagation includes the same tropospheric delay model the solver assumes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.mlat import _modes
from overflight.mlat.engine import Reception
from overflight.mlat.geodesy import SPEED_OF_LIGHT_M_S, ecef_to_enu_matrix, ecef_to_llh, llh_to_ecef
from overflight.mlat.receivers import ClockType, Receiver, ReceiverRegistry
from overflight.mlat.solve import mean_refractivity
from overflight.modes.crc import crc24

__all__ = ["SimClock", "SimScenario", "df4_frame", "df17_position_frame", "simulate"]


def df17_position_frame(
    icao: int, lat_deg: float, lon_deg: float, alt_ft: float, odd: int, tc: int = 11
) -> bytes:
    """An ADS-B airborne position (DF17, 25 ft altitude encoding) with a valid CRC."""
    n = max(0, round((alt_ft + 1000) / 25))
    ac12 = ((n & 0x7F0) << 1) | 0x10 | (n & 0xF)
    yz, xz = _modes.cpr_encode(lat_deg, lon_deg, odd)
    me = (tc << 51) | (ac12 << 36) | (odd << 34) | (yz << 17) | xz
    body = bytes([0x8D]) + icao.to_bytes(3, "big") + me.to_bytes(7, "big")
    return body + crc24(body).to_bytes(3, "big")


def df4_frame(icao: int, alt_ft: float) -> bytes:
    """A DF4 surveillance altitude reply (address/parity) for ``icao``."""
    n = max(0, round((alt_ft + 1000) / 25))
    ac13 = ((n & 0x7E0) << 2) | ((n & 0x10) << 1) | 0x10 | (n & 0xF)
    body = bytes([4 << 3, 0, (ac13 >> 8) & 0x1F, ac13 & 0xFF])
    return body + (crc24(body) ^ icao).to_bytes(3, "big")


@dataclass(frozen=True, slots=True)
class SimClock:
    """``offset + (1 + drift) * T + wander * sin(2 pi T / period) + jitter``, quantised."""

    offset_s: float
    drift: float
    wander_s: float
    period_s: float
    jitter_s: float
    tick_hz: float = 12e6

    def ideal(self, t_true_s: npt.ArrayLike) -> npt.NDArray[np.float64]:
        t = np.asarray(t_true_s, dtype=np.float64)
        return np.asarray(
            self.offset_s
            + (1 + self.drift) * t
            + self.wander_s * np.sin(2 * np.pi * t / self.period_s),
            np.float64,
        )

    def true_time(self, reading_s: float) -> float:
        """Invert :meth:`ideal` (fixed point), seconds."""
        t = (reading_s - self.offset_s) / (1 + self.drift)
        for _ in range(4):
            t = (
                reading_s
                - self.offset_s
                - self.wander_s * math.sin(2 * math.pi * t / self.period_s)
            ) / (1 + self.drift)
        return t


@dataclass(frozen=True, slots=True)
class SimScenario:
    """What :func:`simulate` made: the receptions, the registry, the clocks and the truth."""

    receptions: list[Reception]
    registry: ReceiverRegistry
    clocks: dict[int, SimClock]
    start_ecef_m: dict[str, npt.NDArray[np.float64]]
    velocity_ecef_m_s: dict[str, npt.NDArray[np.float64]]
    adsb: frozenset[str]

    def truth_ecef_m(self, icao: str, t_true_s: float) -> npt.NDArray[np.float64]:
        """True position of ``icao`` at true time ``t_true_s``."""
        return self.start_ecef_m[icao] + self.velocity_ecef_m_s[icao] * t_true_s


def simulate(
    receivers: Sequence[tuple[int, float, float, float]],
    aircraft: Sequence[tuple[float, float, float]],
    *,
    n_adsb: int,
    duration_s: float = 60.0,
    jitter_s: float = 70e-9,
    max_range_m: float = 400_000.0,
    hear_probability: float = 0.85,
    seed: int = 1,
) -> SimScenario:
    """Receptions of ``aircraft`` (lat, lon, height m) at ``receivers`` (id, lat, lon, h).

    The first ``n_adsb`` aircraft send DF17 positions at 2 Hz, the others DF4 replies at 4 Hz.
    """
    rng = np.random.default_rng(seed)
    reg = ReceiverRegistry(
        Receiver(r[0], r[1], r[2], r[3], ClockType.BEAST_12MHZ) for r in receivers
    )
    clocks = {
        r[0]: SimClock(
            offset_s=float(rng.uniform(0, 1000)),
            drift=float(rng.normal(0, 30e-6)),
            wander_s=float(rng.uniform(50e-9, 400e-9)),
            period_s=float(rng.uniform(100, 400)),
            jitter_s=jitter_s,
        )
        for r in receivers
    }
    ids = np.array([r[0] for r in receivers])
    R = reg.ecef_m(ids)
    srx = np.linalg.norm(R, axis=-1) - np.array([r[3] for r in receivers]) - 0.0
    srx = np.linalg.norm(R, axis=-1) - ecef_to_llh(R)[2]
    start: dict[str, npt.NDArray[np.float64]] = {}
    vel: dict[str, npt.NDArray[np.float64]] = {}
    adsb: set[str] = set()
    out: list[Reception] = []
    for k, (lat, lon, h) in enumerate(aircraft):
        icao = 0x3C0000 + k * 7919
        hexid = f"{icao:06x}"
        x0 = llh_to_ecef(lat, lon, h)
        heading = rng.uniform(0, 2 * np.pi)
        speed = rng.uniform(180, 250)
        enu = ecef_to_enu_matrix(lat, lon)
        v = speed * (np.sin(heading) * enu[0] + np.cos(heading) * enu[1])
        start[hexid], vel[hexid] = x0, v
        is_adsb = k < n_adsb
        if is_adsb:
            adsb.add(hexid)
        rate = 2.0 if is_adsb else 4.0
        times = np.arange(rng.uniform(0, 1 / rate), duration_s, 1 / rate) + rng.normal(0, 0.02, 1)
        baro_offset_m = 60.0
        for i, T in enumerate(times):
            x = x0 + v * T
            la, lo, hh = ecef_to_llh(x)
            alt_ft = (float(hh) + baro_offset_m) / 0.3048
            frame = (
                df17_position_frame(icao, float(la), float(lo), alt_ft, i % 2)
                if is_adsb
                else df4_frame(icao, alt_ft)
            )
            d = np.linalg.norm(R - x, axis=-1)
            heard = (d < max_range_m) & (rng.random(len(ids)) < hear_probability)
            if heard.sum() < 2:
                continue
            origin = R.mean(axis=0)
            nb = mean_refractivity(
                (x - origin)[None],
                (R - origin)[None],
                srx[None],
                np.atleast_1d(np.linalg.norm(x) - hh),
                origin[None],
            )[0]
            arrive = T + d * (1 + nb) / SPEED_OF_LIGHT_M_S
            for j in np.flatnonzero(heard):
                c = clocks[int(ids[j])]
                reading = float(c.ideal(arrive[j])) + rng.normal(0, c.jitter_s)
                reading = round(reading * c.tick_hz) / c.tick_hz
                out.append(Reception(frame, int(ids[j]), reading))
    return SimScenario(out, reg, clocks, start, vel, frozenset(adsb))
