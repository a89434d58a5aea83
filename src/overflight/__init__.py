"""Overflight: an open, unfiltered flight tracker for open-source investigation.

Data flows one way: sources -> modes (decode) -> tracking -> flights -> history / server / alerts.

Importing this package has no side effects (numba's cache folder is set where kernels are
defined: :mod:`overflight._numba_cache`) and costs next to nothing: ``__version__`` is read from
the package metadata when first asked for.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``: the installed distribution's version (from its metadata)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("overflight")
    except PackageNotFoundError:  # a source tree that was never installed
        v = "0+unknown"
    globals()["__version__"] = v
    return v
