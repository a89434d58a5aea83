"""Traffic simulator: realistic multi-receiver Beast streams for end-to-end MLAT/tracking tests.

Build a :class:`Scenario` (receivers with clock models, aircraft with paths, altitude profiles
and transponder equipage), run :func:`simulate`, and use the :class:`SimResult`: ``frames``
(a :class:`~overflight.frames.FrameBatch` in arrival order), ``truth`` (one row per
transmission), Beast bytes with receiver-id and time records, CSV writers, or
:mod:`overflight.sim.serve` to play it live on loopback sockets. ``mlat-demo``
(:func:`mlat_demo`) is the built-in scenario.
"""

from __future__ import annotations

from overflight.sim.clocks import FreeRunningClock, GpsClock
from overflight.sim.demo import BUILTIN_SCENARIOS, builtin_scenario, mlat_demo
from overflight.sim.emit import KIND_NAMES, Kind, Transmissions
from overflight.sim.kinematics import (
    AltitudeProfile,
    ConstantHeading,
    GreatCircleRoute,
    RecordedTrack,
    track_from_samples,
)
from overflight.sim.propagate import PropagationStats, Receptions
from overflight.sim.receivers import SimReceiver
from overflight.sim.result import SimResult
from overflight.sim.scenario import ADSB, MODE_S_ONLY, Aircraft, Equipage, Scenario
from overflight.sim.simulate import simulate

__all__ = [
    "ADSB",
    "BUILTIN_SCENARIOS",
    "KIND_NAMES",
    "MODE_S_ONLY",
    "Aircraft",
    "AltitudeProfile",
    "ConstantHeading",
    "Equipage",
    "FreeRunningClock",
    "GpsClock",
    "GreatCircleRoute",
    "Kind",
    "PropagationStats",
    "Receptions",
    "RecordedTrack",
    "Scenario",
    "SimReceiver",
    "SimResult",
    "Transmissions",
    "builtin_scenario",
    "mlat_demo",
    "simulate",
    "track_from_samples",
]
