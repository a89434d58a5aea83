"""Built-in scenarios (``overflight sim NAME``).

``mlat-demo``: six Beast receivers around northern Switzerland and southern Germany (Zürich,
Basel, Konstanz, Bern, Ulm, Freiburg; 45-150 km apart) with free-running 12 MHz clocks (random
offsets of hours to days, drifts of a few to 40 ppm, 60-90 ns jitter, slow wander), eight ADS-B
airliners crossing, climbing and descending (clock-sync references), and two Mode S-only
military aircraft: a French Air Force transport ``3b7777`` flying a straight line at FL250 and a
German Air Force aircraft ``3ea2f1`` descending from FL200. Four minutes; deterministic per seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overflight.sim.clocks import FreeRunningClock
from overflight.sim.kinematics import AltitudeProfile, ConstantHeading, GreatCircleRoute
from overflight.sim.receivers import SimReceiver
from overflight.sim.scenario import MODE_S_ONLY, Aircraft, Scenario

__all__ = ["BUILTIN_SCENARIOS", "builtin_scenario", "mlat_demo"]

# name, lat, lon, ground elevation above the ellipsoid (m)
_SITES = (
    ("zurich", 47.3769, 8.5417, 456.0),
    ("basel", 47.5596, 7.5886, 308.0),
    ("konstanz", 47.6779, 9.1732, 453.0),
    ("bern", 46.9480, 7.4474, 588.0),
    ("ulm", 48.4011, 9.9876, 526.0),
    ("freiburg", 47.9990, 7.8421, 326.0),
)


def _receivers(rng: np.random.Generator) -> tuple[SimReceiver, ...]:
    out = []
    for k, (name, lat, lon, ground) in enumerate(_SITES):
        drift = float(rng.uniform(2.0, 40.0) * rng.choice([-1.0, 1.0]))
        clock = FreeRunningClock(
            offset_s=float(rng.uniform(600.0, 5 * 86_400.0)),
            drift_ppm=drift,
            jitter_ns=float(rng.uniform(60.0, 90.0)),
            wander_ppm=float(rng.uniform(0.02, 0.1)),
            wander_period_s=float(rng.uniform(300.0, 1200.0)),
        )
        mast = float(rng.uniform(8.0, 25.0))
        out.append(
            SimReceiver(
                receiver_id=1001 + k,
                lat_deg=lat,
                lon_deg=lon,
                height_m=ground + mast,
                ground_height_m=ground,
                clock=clock,
                name=name,
                range_km=350.0,
            )
        )
    return tuple(out)


def _aircraft() -> tuple[Aircraft, ...]:
    gc, lvl = GreatCircleRoute, AltitudeProfile.level
    return (
        Aircraft(
            "4b1806",
            gc(((47.458, 8.548), (47.0, 9.8)), 280.0),
            AltitudeProfile.climb(4_000, 24_000, 2_500),
            "SWR18",
            "1000",
        ),
        Aircraft("3c6589", gc(((47.9, 6.9), (48.3, 10.8)), 460.0), lvl(37_000), "DLH4TR"),
        Aircraft("440183", gc(((46.7, 7.0), (48.5, 9.5)), 440.0, 300.0), lvl(35_000), "EZY45MB"),
        Aircraft("39e68a", gc(((48.6, 8.0), (46.8, 9.5)), 470.0, 200.0), lvl(39_000), "AFR1234"),
        Aircraft(
            "406b8a",
            gc(((48.3, 8.0), (47.55, 8.6)), 300.0),
            AltitudeProfile.climb(24_000, 9_000, 1_800, 20.0),
            "BAW714",
        ),
        Aircraft("4ca7b4", ConstantHeading(48.2, 9.6, 225.0, 430.0), lvl(33_000), "RYR8QK"),
        Aircraft("4b187a", gc(((47.2, 7.4), (47.9, 9.9)), 420.0, 150.0), lvl(31_000), "EDW22"),
        Aircraft("484f6b", gc(((48.55, 9.1), (46.9, 8.3)), 450.0, 100.0), lvl(36_000), "KLM1953"),
        Aircraft(
            "3b7777",
            ConstantHeading(47.25, 7.35, 62.0, 410.0),
            lvl(25_000),
            "FAF4011",
            "7001",
            MODE_S_ONLY,
            category="A5",
        ),
        Aircraft(
            "3ea2f1",
            gc(((48.2, 8.3), (47.3, 9.4)), 300.0),
            AltitudeProfile.climb(20_000, 12_000, 1_000, 60.0),
            "GAF615",
            "3461",
            MODE_S_ONLY,
            category="A4",
        ),
    )


def mlat_demo(seed: int = 1, duration_s: float = 240.0) -> Scenario:
    """The ``mlat-demo`` scenario (see module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    return Scenario(
        name="mlat-demo",
        receivers=_receivers(rng),
        aircraft=_aircraft(),
        duration_s=duration_s,
        seed=seed,
        description=__doc__.split("\n\n")[1] if __doc__ else "",
    )


BUILTIN_SCENARIOS: dict[str, Callable[..., Scenario]] = {"mlat-demo": mlat_demo}
"""Built-in scenario factories by name; each takes ``seed`` and ``duration_s``."""


def builtin_scenario(name: str, *, seed: int = 1, duration_s: float | None = None) -> Scenario:
    """A built-in scenario by name (KeyError listing the names when unknown)."""
    try:
        factory = BUILTIN_SCENARIOS[name]
    except KeyError:
        raise KeyError(
            f"unknown scenario {name!r}; built-in: {', '.join(BUILTIN_SCENARIOS)}"
        ) from None
    if duration_s is None:
        return factory(seed=seed)
    return factory(seed=seed, duration_s=duration_s)
