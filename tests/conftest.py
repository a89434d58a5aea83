"""Shared fixtures: real data from ../shared/data, skipped with a reason where absent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from overflight.datapaths import shared_file


@pytest.fixture(scope="session")
def shared() -> Callable[[str], Path]:
    """Return a function mapping a path under shared/data to a Path, skipping if absent."""

    def get(relative: str) -> Path:
        p = shared_file(relative)
        if p is None:
            pytest.skip(f"shared data file {relative!r} not found (set OVERFLIGHT_SHARED_DATA)")
        return p

    return get
