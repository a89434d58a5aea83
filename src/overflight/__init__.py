"""Overflight: an open, unfiltered flight tracker for open-source investigation.

Data flows one way: sources -> modes (decode) -> tracking -> flights -> history / server / alerts.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
