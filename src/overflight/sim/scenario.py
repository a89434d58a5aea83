"""Scenario description: receivers, aircraft (motion + transponder equipage), duration, seed.

Everything here is a frozen dataclass; :func:`overflight.sim.simulate` turns a :class:`Scenario`
into frames. Two equipage presets cover the usual cases:

* :data:`ADSB` — a full ADS-B transponder: DF17 identification every ~5 s, airborne position
  twice a second (alternating even/odd CPR), velocity twice a second, operational status every
  ~2.5 s, DF11 acquisition squitters ~1/s, plus replies to ground interrogations.
* :data:`MODE_S_ONLY` — a Mode S transponder with ADS-B off (many military aircraft): DF11
  squitters ~1/s and DF4/DF5/DF20/DF21 replies (altitude, squawk, Comm-B callsign) a few times a
  second; never a position.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from overflight.sim.kinematics import AltitudeProfile, Path
from overflight.sim.profile import Trajectory
from overflight.sim.receivers import SimReceiver

__all__ = ["ADSB", "MODE_S_ONLY", "Aircraft", "Equipage", "Scenario"]


@dataclass(frozen=True, slots=True)
class Equipage:
    """What an aircraft transmits and how often (periods in seconds; 0 or None = never).

    Periodic messages are spaced by a uniformly random 0.8..1.2 x their period (as DO-260B's
    0.4-0.6 s position interval); interrogation replies arrive as a Poisson process of
    ``reply_rate_hz`` split between DF4/DF5/DF20/DF21 by ``reply_mix``.
    """

    adsb: bool = True
    position_period_s: float = 0.5
    velocity_period_s: float = 0.5
    identification_period_s: float = 5.0
    status_period_s: float = 2.5
    acquisition_period_s: float = 1.0
    reply_rate_hz: float = 1.0
    reply_mix: tuple[float, float, float, float] = (0.45, 0.15, 0.3, 0.1)
    position_typecode: int = 11

    def __post_init__(self) -> None:
        if (
            len(self.reply_mix) != 4
            or any(p < 0 for p in self.reply_mix)
            or sum(self.reply_mix) <= 0
        ):
            raise ValueError("reply_mix: four non-negative weights for DF4, DF5, DF20, DF21")


ADSB = Equipage()
"""Full ADS-B (DF17) plus Mode S replies."""
MODE_S_ONLY = Equipage(adsb=False, reply_rate_hz=3.0)
"""Mode S only: DF11 squitters and DF4/5/20/21 replies, no ADS-B."""


@dataclass(frozen=True, slots=True)
class Aircraft:
    """One aircraft.

    Attributes:
        icao24: 24-bit address, 6 hex digits.
        path: horizontal motion (:mod:`overflight.sim.kinematics`), or a gate-to-gate
            :class:`~overflight.sim.profile.Trajectory` that also gives the altitude and
            whether the aircraft is on the ground (surface messages there).
        altitude: barometric altitude profile (ft; None with a trajectory); the geometric
            height used for propagation is ``altitude_ft + gnss_baro_diff_ft`` (converted to
            metres above the ellipsoid).
        callsign: up to 8 characters (DF17 identification, Comm-B BDS 2,0).
        squawk: 4 octal digits (DF5/DF21).
        equipage: :data:`ADSB`, :data:`MODE_S_ONLY` or a custom :class:`Equipage`.
        category: emitter category (``"A3"`` large aircraft).
        eirp_dbm: transponder effective radiated power, dBm (54 dBm = 250 W).
        start_s, end_s: when it transmits (seconds since the scenario start; None = to the end).
        adsb_off: [start, end) windows (seconds since the start) with ADS-B (DF17) switched
            off: only DF11 and DF4/5/20/21 replies then (Mode S only: MLAT or nothing).
        transponder_off: [start, end) windows with the transponder off altogether (parked).
        registration, typecode: for the scenario's truth and reports (not transmitted).
    """

    icao24: str
    path: Path | Trajectory
    altitude: AltitudeProfile | None
    callsign: str = ""
    squawk: str = "1000"
    equipage: Equipage = ADSB
    category: str = "A3"
    eirp_dbm: float = 54.0
    gnss_baro_diff_ft: float = 0.0
    start_s: float = 0.0
    end_s: float | None = None
    adsb_off: tuple[tuple[float, float], ...] = ()
    transponder_off: tuple[tuple[float, float], ...] = ()
    registration: str = ""
    typecode: str = ""

    def __post_init__(self) -> None:
        if self.altitude is None and not isinstance(self.path, Trajectory):
            raise ValueError("an altitude profile is needed unless the path is a Trajectory")
        a = int(self.icao24, 16)
        if len(self.icao24) != 6 or not 0 < a < 1 << 24:
            raise ValueError(f"icao24 must be 6 hex digits: {self.icao24!r}")
        object.__setattr__(self, "icao24", self.icao24.lower())
        if len(self.callsign) > 8:
            raise ValueError(f"callsign longer than 8 characters: {self.callsign!r}")

    @property
    def address(self) -> int:
        """The 24-bit address as an integer."""
        return int(self.icao24, 16)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A simulation: receivers, aircraft, how long, from when, and the random seed.

    Attributes:
        start_time_s: UTC epoch seconds of scenario time 0 (kept to the microsecond).
        troposphere_n0: surface refractivity (N units) of the exponential atmosphere that slows
            the signal (``N(h) = n0·exp(-h / 7 km)``); 0 for straight vacuum propagation.
        fading_db: 1-sigma log-normal fading on received levels, dB.
        garble: drop a frame that starts while the same receiver is still receiving another.
    """

    name: str
    receivers: tuple[SimReceiver, ...]
    aircraft: tuple[Aircraft, ...]
    duration_s: float
    start_time_s: float = 1_717_243_200.0  # 2024-06-01T12:00:00Z
    seed: int = 0
    troposphere_n0: float = 315.0
    fading_db: float = 2.0
    garble: bool = True
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.duration_s <= 0:
            raise ValueError("duration_s must be positive")
        ids = [r.receiver_id for r in self.receivers]
        if len(set(ids)) != len(ids):
            raise ValueError("receiver ids must be unique")
        addrs = [a.icao24 for a in self.aircraft]
        if len(set(addrs)) != len(addrs):
            raise ValueError("aircraft addresses must be unique")

    @property
    def start_ns(self) -> int:
        """Scenario time 0 as integer UTC nanoseconds (microsecond-rounded)."""
        return round(self.start_time_s * 1e6) * 1000

    def with_(self, **changes: object) -> Scenario:
        """A copy with some fields changed (``seed=``, ``duration_s=``...)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def receiver(self, receiver_id: int) -> SimReceiver:
        """The receiver with this id (KeyError when absent)."""
        for r in self.receivers:
            if r.receiver_id == receiver_id:
                return r
        raise KeyError(receiver_id)

    def aircraft_by_icao(self, icao24: str) -> Aircraft:
        """The aircraft with this address (KeyError when absent)."""
        for a in self.aircraft:
            if a.icao24 == icao24.lower():
                return a
        raise KeyError(icao24)
