"""Traffic simulator: realistic multi-receiver Beast streams for end-to-end MLAT/tracking tests.

Build a :class:`Scenario` (receivers with clock models, aircraft with paths, altitude profiles
and transponder equipage), run :func:`simulate`, and use the :class:`SimResult`: ``frames``
(a :class:`~overflight.frames.FrameBatch` in arrival order), ``truth`` (one row per
transmission), Beast bytes with receiver-id and time records, CSV writers, or
:mod:`overflight.sim.serve` to play it live on loopback sockets. ``mlat-demo``
(:func:`mlat_demo`) is the built-in Python scenario.

Scenario files (TOML, ``docs/scenarios.md``; :func:`load_scenario`, :func:`parse_scenario`,
built-ins in :data:`SCENARIO_FILES`: ``caracas-2019``, ``larnaca-beirut``) fly aircraft gate to
gate between real airports (:func:`plan_journey`, :data:`AIRCRAFT_TYPES`); long scenarios run in
time windows (:func:`simulate_stream`) straight to recordings (:func:`write_recordings`), with
background traffic around the receivers.
"""

from __future__ import annotations

from overflight.sim.background import Background
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
from overflight.sim.library import SCENARIO_FILES
from overflight.sim.profile import (
    AIRCRAFT_TYPES,
    AircraftType,
    Leg,
    LegTruth,
    Trajectory,
    plan_journey,
)
from overflight.sim.propagate import PropagationStats, Receptions
from overflight.sim.receivers import SimReceiver
from overflight.sim.recordings import RecordingStats, write_recordings
from overflight.sim.result import SimResult
from overflight.sim.scenario import ADSB, MODE_S_ONLY, Aircraft, Equipage, Scenario
from overflight.sim.scenario_file import ScenarioError, ScenarioSpec, load_scenario, parse_scenario
from overflight.sim.simulate import simulate
from overflight.sim.stream import simulate_stream

__all__ = [
    "ADSB",
    "AIRCRAFT_TYPES",
    "BUILTIN_SCENARIOS",
    "KIND_NAMES",
    "MODE_S_ONLY",
    "SCENARIO_FILES",
    "Aircraft",
    "AircraftType",
    "AltitudeProfile",
    "Background",
    "ConstantHeading",
    "Equipage",
    "FreeRunningClock",
    "GpsClock",
    "GreatCircleRoute",
    "Kind",
    "Leg",
    "LegTruth",
    "PropagationStats",
    "Receptions",
    "RecordedTrack",
    "RecordingStats",
    "Scenario",
    "ScenarioError",
    "ScenarioSpec",
    "SimReceiver",
    "SimResult",
    "Trajectory",
    "Transmissions",
    "builtin_scenario",
    "load_scenario",
    "mlat_demo",
    "parse_scenario",
    "plan_journey",
    "simulate",
    "simulate_stream",
    "track_from_samples",
    "write_recordings",
]
