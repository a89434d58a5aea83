"""Fixtures for the simulator tests: the built-in scenario, simulated once per session."""

from __future__ import annotations

import pytest

from overflight.sim import SimResult, mlat_demo, simulate


@pytest.fixture(scope="session")
def demo() -> SimResult:
    """``mlat-demo`` (seed 1), shortened to 90 s to keep the suite fast."""
    return simulate(mlat_demo(seed=1, duration_s=90.0))
