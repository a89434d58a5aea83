"""Where the real third-party data used by tests and benchmarks lives.

The data is never copied into the project: it is read from ``../shared/data`` beside the
project root, or from the folder named by the ``OVERFLIGHT_SHARED_DATA`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_data_dir", "shared_file"]

_ENV = "OVERFLIGHT_SHARED_DATA"


def shared_data_dir() -> Path | None:
    """Return the shared data folder, or ``None`` when it is not on this machine."""
    env = os.environ.get(_ENV)
    candidates = [Path(env)] if env else []
    root = Path(__file__).resolve().parents[2]  # src/overflight/ -> project root
    candidates += [root.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def shared_file(relative: str) -> Path | None:
    """Return ``shared/data/<relative>`` if it exists, else ``None``."""
    base = shared_data_dir()
    if base is None:
        return None
    p = base / relative
    return p if p.exists() else None
