"""Background traffic: ordinary airline flights between real airports around the receivers, so
that the scenario's aircraft are needles in a haystack.

Receivers are grouped into regions (receivers within :data:`REGION_KM` of a region's first
receiver). Around each region, ``aircraft`` flights are airborne on average: each flies between
two large or medium airports with scheduled service within ``radius_km`` of the region,
gate to gate (:func:`overflight.sim.profile.plan_journey`), with a civil address from the
region's ``address_block`` (never a military block), an airline-style callsign and squawk.

Flights are planned up front as small descriptions (airports, off-block time, type, address);
their trajectories are computed only while they fly (:meth:`Background.aircraft_between`) and
dropped after, so a three-day scenario with thousands of flights stays small in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from overflight.geo import haversine_km_scalar
from overflight.sim.airports import SimAirport, airports_near
from overflight.sim.profile import AIRCRAFT_TYPES, Leg, plan_journey
from overflight.sim.receivers import SimReceiver
from overflight.sim.scenario import Aircraft

__all__ = ["REGION_KM", "Background", "BackgroundFlight", "regions"]

REGION_KM = 600.0
_TYPES = ("A320", "B738", "E190", "AT72")
_AIRLINES = ("AFL", "SDM", "THY", "CYP", "MEA", "AEA", "AVA", "KLM", "CAL", "BWA", "LAV", "IBE")


@dataclass(frozen=True, slots=True)
class BackgroundFlight:
    """One planned background flight (seconds since the scenario start)."""

    origin: SimAirport
    destination: SimAirport
    off_block_s: float
    typecode: str
    icao24: str
    callsign: str
    squawk: str
    est_end_s: float


def regions(receivers: tuple[SimReceiver, ...]) -> list[tuple[float, float]]:
    """Centres (lat, lon) of receiver groups: each receiver joins the first region whose first
    receiver is within :data:`REGION_KM`, else starts one."""
    firsts: list[tuple[float, float]] = []
    members: list[list[tuple[float, float]]] = []
    for r in receivers:
        for k, (la, lo) in enumerate(firsts):
            if haversine_km_scalar(la, lo, r.lat_deg, r.lon_deg) <= REGION_KM:
                members[k].append((r.lat_deg, r.lon_deg))
                break
        else:
            firsts.append((r.lat_deg, r.lon_deg))
            members.append([(r.lat_deg, r.lon_deg)])
    return [
        (float(np.mean([m[0] for m in ms])), float(np.mean([m[1] for m in ms])))
        for ms in members
    ]


@dataclass
class Background:
    """Background flights around ``receivers`` over [from_s, to_s).

    Attributes:
        aircraft: mean number airborne at once around each region.
        radius_km: airports this far from a region's centre are candidates.
        address_block: (first, last) 24-bit addresses to draw from (civil).
    """

    receivers: tuple[SimReceiver, ...]
    from_s: float
    to_s: float
    aircraft: int = 10
    seed: int = 0
    radius_km: float = 350.0
    address_block: tuple[int, int] = (0x4CA000, 0x4CAFFF)
    flights: list[BackgroundFlight] = field(default_factory=list)
    _built: dict[int, Aircraft] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.aircraft <= 0 or not self.receivers:
            return
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xB6]))
        used: set[int] = set()
        lo, hi = self.address_block
        for la, lon in regions(self.receivers):
            ports = [a for a in airports_near(la, lon, self.radius_km) if len(a.runways) >= 2]
            if len(ports) < 2:
                continue
            mean_s = 5_400.0  # ~1.5 h gate to gate
            n = math.ceil(self.aircraft * (self.to_s - self.from_s + mean_s) / mean_s)
            for _ in range(n):
                i, j = rng.choice(len(ports), 2, replace=False)
                o, d = ports[int(i)], ports[int(j)]
                dist = haversine_km_scalar(o.lat_deg, o.lon_deg, d.lat_deg, d.lon_deg)
                types = _TYPES if dist < 500 else _TYPES[:3]
                ty = str(types[int(rng.integers(len(types)))])
                est = 1_200.0 + dist * 1000.0 / (AIRCRAFT_TYPES[ty].cruise_kt * 0.5144) + 1_800.0
                off = float(rng.uniform(self.from_s - est, self.to_s))
                while True:
                    a = int(rng.integers(lo, hi + 1))
                    if a not in used or len(used) >= hi - lo:
                        used.add(a)
                        break
                cs = f"{_AIRLINES[int(rng.integers(len(_AIRLINES)))]}{int(rng.integers(10, 9999))}"
                sq = "".join(str(int(x)) for x in rng.integers(0, 8, 4))
                self.flights.append(
                    BackgroundFlight(o, d, off, ty, f"{a:06x}", cs, sq, off + est)
                )
        self.flights.sort(key=lambda f: f.off_block_s)

    def aircraft_between(self, t0: float, t1: float) -> tuple[Aircraft, ...]:
        """The background aircraft flying at some time in [t0, t1) (trajectories built now,
        kept while they fly, dropped after)."""
        for k in [k for k, ac in self._built.items() if ac.end_s is not None and ac.end_s < t0]:
            del self._built[k]
        out = []
        for k, f in enumerate(self.flights):
            if f.off_block_s >= t1:
                break
            if f.est_end_s + 3_600.0 < t0:
                continue
            ac = self._built.get(k)
            if ac is None:
                ty = AIRCRAFT_TYPES[f.typecode]
                traj, _ = plan_journey([Leg(f.origin, f.destination, f.off_block_s)], ty, seed=k)
                ac = Aircraft(
                    f.icao24, traj, None, f.callsign, f.squawk, category=ty.category,
                    start_s=traj.start_s, end_s=traj.end_s, typecode=f.typecode,
                )  # fmt: skip
                self._built[k] = ac
            if ac.end_s is not None and ac.end_s >= t0:
                out.append(ac)
        # unique addresses within a window
        seen: set[str] = set()
        uniq = []
        for ac in out:
            if ac.icao24 not in seen:
                seen.add(ac.icao24)
                uniq.append(ac)
        return tuple(uniq)
