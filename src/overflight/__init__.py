"""Overflight: an open, unfiltered flight tracker for open-source investigation.

Data flows one way: sources -> modes (decode) -> tracking -> flights -> history / server / alerts.

Importing this package has no side effects: numba's cache folder is set where kernels are
defined (:mod:`overflight._numba_cache`).
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("overflight")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
__all__ = ["__version__"]
