"""Receiver clock models: true time of arrival in, 48-bit Beast counter ticks out.

Two kinds of receiver timestamping are modelled:

* :class:`FreeRunningClock` — a Mode-S Beast / dump1090 / readsb 12 MHz counter started at an
  arbitrary moment (``offset_s``), running fast or slow by ``drift_ppm``, with a slow sinusoidal
  frequency wander (temperature), Gaussian timestamp jitter and tick quantisation; it wraps at
  2**48 ticks (271 days at 12 MHz).
* :class:`GpsClock` — a GPS-disciplined receiver (Radarcape/GRX-style) whose timestamps are on
  UTC to within the jitter: a 1 GHz nanosecond counter (``"ns"``: UTC nanoseconds modulo 2**48)
  or the Radarcape layout (``"radarcape"``: seconds of the UTC day << 30 | nanoseconds).

Times go in as seconds since the scenario start (``t_s``) plus the scenario's start epoch
(``start_ns``, integer UTC nanoseconds), so nothing loses precision in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["TICK_MASK", "Clock", "FreeRunningClock", "GpsClock"]

TICK_MASK = (1 << 48) - 1
"""Beast counters are 48 bits wide and wrap."""

F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class FreeRunningClock:
    """A free-running counter (12 MHz Beast by default).

    ``reading(t) = offset_s + (1 + drift_ppm·1e-6)·t + wander(t) + N(0, jitter_ns)``, seconds on
    the receiver's counter, where ``t`` is true seconds since the scenario start and ``wander``
    is the phase of a sinusoidal frequency error of amplitude ``wander_ppm`` and period
    ``wander_period_s``. Ticks are ``floor(reading · tick_hz) mod 2**48``.
    """

    offset_s: float = 0.0
    drift_ppm: float = 0.0
    jitter_ns: float = 70.0
    wander_ppm: float = 0.0
    wander_period_s: float = 600.0
    tick_hz: float = 12e6

    gps_synchronised: ClassVar[bool] = False

    def ideal_reading_s(self, t_s: npt.ArrayLike) -> F64:
        """Counter reading in seconds without jitter or quantisation at true times ``t_s``."""
        t = np.asarray(t_s, np.float64)
        w = 2.0 * np.pi / self.wander_period_s
        wander = self.wander_ppm * 1e-6 * (1.0 - np.cos(w * t)) / w
        out: F64 = self.offset_s + (1.0 + self.drift_ppm * 1e-6) * t + wander
        return out

    def ticks(self, t_s: npt.ArrayLike, start_ns: int, rng: np.random.Generator) -> U64:
        """48-bit counter values at true times ``t_s`` (seconds since the scenario start)."""
        reading = self.ideal_reading_s(t_s)
        if self.jitter_ns > 0:
            reading = reading + rng.normal(0.0, self.jitter_ns * 1e-9, reading.shape)
        raw = np.floor(reading * self.tick_hz).astype(np.int64)
        out: U64 = (raw & TICK_MASK).astype(np.uint64)
        return out

    @property
    def type_name(self) -> str:
        """Receiver type as OpenSky's ``sensors.csv`` names it."""
        return "dump1090"


@dataclass(frozen=True, slots=True)
class GpsClock:
    """A GPS-disciplined timestamp: UTC to within ``jitter_ns`` (1-sigma), 1 ns resolution.

    ``timestamp``: ``"ns"`` (UTC nanoseconds modulo 2**48, a 1 GHz counter) or ``"radarcape"``
    (``seconds_of_day << 30 | nanoseconds``, as a Radarcape in GPS mode sends it).
    """

    jitter_ns: float = 30.0
    timestamp: Literal["ns", "radarcape"] = "ns"

    gps_synchronised: ClassVar[bool] = True

    @property
    def tick_hz(self) -> float:
        """Counter rate: 1 GHz (nanoseconds)."""
        return 1e9

    def ticks(self, t_s: npt.ArrayLike, start_ns: int, rng: np.random.Generator) -> U64:
        """Timestamps at true times ``t_s`` (seconds since the scenario start, UTC ``start_ns``)."""
        t = np.asarray(t_s, np.float64)
        if self.jitter_ns > 0:
            t = t + rng.normal(0.0, self.jitter_ns * 1e-9, t.shape)
        ns = np.int64(start_ns) + np.rint(t * 1e9).astype(np.int64)
        if self.timestamp == "radarcape":
            sod = (ns // 1_000_000_000) % 86_400
            out: U64 = ((sod << 30) | (ns % 1_000_000_000)).astype(np.uint64)
            return out
        out = (ns & TICK_MASK).astype(np.uint64)
        return out

    @property
    def type_name(self) -> str:
        """Receiver type as OpenSky's ``sensors.csv`` names it."""
        return "Radarcape"


Clock = FreeRunningClock | GpsClock
"""Any receiver clock model."""
