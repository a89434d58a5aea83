"""Run a scenario: transmissions, then propagation, then the frame batch."""

from __future__ import annotations

import numpy as np

from overflight.frames import FrameBatch
from overflight.sim.emit import transmissions
from overflight.sim.propagate import receptions
from overflight.sim.result import SimResult
from overflight.sim.scenario import Scenario

__all__ = ["simulate"]


def simulate(scenario: Scenario) -> SimResult:
    """Simulate ``scenario`` (deterministic for a given ``scenario.seed``)."""
    seeds = np.random.SeedSequence(scenario.seed).spawn(2)
    tx = transmissions(scenario, np.random.default_rng(seeds[0]))
    rx, stats = receptions(scenario, tx, np.random.default_rng(seeds[1]))
    t = rx.transmission
    frames = FrameBatch(
        data=tx.data[t],
        length_bytes=tx.length_bytes[t],
        time_s=scenario.start_time_s + rx.arrival_s,
        receiver=rx.receiver_id,
        signal_dbfs=rx.signal_dbfs,
        ticks=rx.ticks,
    )
    return SimResult(scenario=scenario, frames=frames, receptions=rx, truth=tx, stats=stats)
