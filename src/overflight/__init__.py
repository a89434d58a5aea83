"""Overflight: an open, unfiltered flight tracker for open-source investigation.

Data flows one way: sources -> modes (decode) -> tracking -> flights -> history / server / alerts.
"""

from overflight._numba_cache import configure as _configure_numba_cache

__version__ = "0.1.0"
__all__ = ["__version__"]

# Before any kernel is compiled: a numba cache per version of the source (see _numba_cache).
_configure_numba_cache()
