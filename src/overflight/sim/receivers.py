"""Simulated receivers: where the antenna really is, what position it reports, what it hears.

A receiver hears a transmission when the aircraft is within ``range_km`` (slant range) and above
the radio horizon (4/3-Earth model, :func:`radio_horizon_m`), and the received level (free-space
path loss from a transponder EIRP, plus log-normal fading) is above ``sensitivity_dbfs``.

``lat_deg``/``lon_deg``/``height_m`` are the antenna's *true* position, used for propagation;
``position_error_m`` (east, north, up) shifts the position the receiver *reports*
(:meth:`SimReceiver.reported_llh`) to model a misconfigured feeder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from overflight.sim.clocks import Clock, FreeRunningClock
from overflight.sim.geo import EARTH_RADIUS_M, enu_offset, llh_to_ecef

__all__ = [
    "DBM_TO_DBFS",
    "FREQUENCY_HZ",
    "SimReceiver",
    "free_space_loss_db",
    "radio_horizon_m",
    "signal_dbfs",
]

FREQUENCY_HZ = 1_090e6
DBM_TO_DBFS = 57.0
"""Received power (dBm, at the antenna) + this = dBFS: a typical RTL-SDR/Beast gain puts an
aircraft 10 km away near full scale and one 300 km away near -30 dBFS."""
_K_EFFECTIVE = 4.0 / 3.0
F64 = npt.NDArray[np.float64]


def free_space_loss_db(distance_m: npt.ArrayLike) -> F64:
    """Free-space path loss at 1090 MHz, dB."""
    d = np.maximum(np.asarray(distance_m, np.float64), 1.0)
    out: F64 = 20.0 * np.log10(4.0 * math.pi * d * FREQUENCY_HZ / 299_792_458.0)
    return out


def signal_dbfs(distance_m: npt.ArrayLike, eirp_dbm: npt.ArrayLike, gain_db: float = 0.0) -> F64:
    """Received level in dBFS (clipped at 0: the receiver saturates)."""
    p = np.asarray(eirp_dbm, np.float64) - free_space_loss_db(distance_m) + gain_db + DBM_TO_DBFS
    out: F64 = np.minimum(p, 0.0)
    return out


def radio_horizon_m(height_a_m: npt.ArrayLike, height_b_m: npt.ArrayLike) -> F64:
    """Line-of-sight distance (m) between two heights above ground, 4/3-Earth refraction."""
    re = _K_EFFECTIVE * EARTH_RADIUS_M
    ha = np.maximum(np.asarray(height_a_m, np.float64), 0.0)
    hb = np.maximum(np.asarray(height_b_m, np.float64), 0.0)
    out: F64 = np.sqrt(2.0 * re * ha) + np.sqrt(2.0 * re * hb)
    return out


@dataclass(frozen=True, slots=True)
class SimReceiver:
    """One receiver (ids as carried by the Beast ``0xe3`` record, non-zero).

    Attributes:
        receiver_id: 64-bit id the feeder sends.
        lat_deg, lon_deg, height_m: true antenna position (WGS84, ellipsoidal metres).
        clock: timestamp model (:class:`FreeRunningClock` or :class:`GpsClock`).
        name: label for reports.
        range_km: slant-range limit, km.
        ground_height_m: terrain height under the antenna (for the horizon), metres.
        gain_db: extra antenna/LNA gain over the reference, dB.
        sensitivity_dbfs: weakest decodable level, dBFS.
        loss_probability: chance that a frame above the sensitivity is still missed (0..1).
        range_loss: extra chance of a miss at ``range_km``, growing with the square of the
            range (0 at the antenna): ``loss + (1 - loss)·range_loss·(d/range)²``.
        position_error_m: (east, north, up) error of the reported position, metres.
    """

    receiver_id: int
    lat_deg: float
    lon_deg: float
    height_m: float
    clock: Clock = field(default_factory=FreeRunningClock)
    name: str = ""
    range_km: float = 400.0
    ground_height_m: float | None = None
    gain_db: float = 0.0
    sensitivity_dbfs: float = -33.0
    loss_probability: float = 0.0
    range_loss: float = 0.0
    position_error_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        if not 0 < self.receiver_id < 1 << 64:
            raise ValueError(f"receiver id must be in 1..2**64-1: {self.receiver_id}")

    @property
    def ecef_m(self) -> F64:
        """True antenna position, ECEF metres ``(3,)``."""
        return llh_to_ecef(self.lat_deg, self.lon_deg, self.height_m)

    @property
    def antenna_agl_m(self) -> float:
        """Antenna height above the ground, metres (10 m when the ground height is unknown)."""
        if self.ground_height_m is None:
            return 10.0
        return max(self.height_m - self.ground_height_m, 0.0)

    def reported_llh(self) -> tuple[float, float, float]:
        """The position this receiver reports: truth plus ``position_error_m``."""
        e, n, u = self.position_error_m
        lat, lon = enu_offset(self.lat_deg, self.lon_deg, e, n, self.height_m)
        return lat, lon, self.height_m + u

    @property
    def label(self) -> str:
        """``name`` or ``rx<id>``."""
        return self.name or f"rx{self.receiver_id}"
