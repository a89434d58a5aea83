"""The ``overflight`` command: parses arguments and calls the library, nothing more.

Each sub-command lives in its own module of this package (``decode.py``, ``track.py``, ...), which
registers itself on :data:`app` when imported.
"""

from __future__ import annotations

import importlib
import importlib.util

from overflight.cli.app import app

__all__ = ["app", "main"]

# One module per command; a module not written yet is simply not offered.
_COMMAND_MODULES = (
    "decode", "replay", "record", "serve", "track", "db", "flights", "mlat", "sim",
    "ingest", "history", "alerts", "report", "demo", "worker", "batch",
)

for _name in _COMMAND_MODULES:
    _full = f"overflight.cli.{_name}"
    if importlib.util.find_spec(_full) is not None:
        importlib.import_module(_full)


def main() -> None:
    """Entry point of the console script."""
    app()
