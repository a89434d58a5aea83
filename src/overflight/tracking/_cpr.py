"""CPR decoding for the compiled tracking kernel: :mod:`overflight.modes.cpr`, compiled.

Each function here is ``numba.njit`` of the function of the same name in ``modes.cpr`` (plain
math returning ``(lat, lon, status)``), so the tracker and the Python decoders share one
definition; the ``modes.cpr`` functions these call are compiled into them. Numba's on-disk cache
of the kernel calling them does not notice edits in ``modes.cpr`` (see its docstring).
``greatcircle_m`` and ``bearing_deg`` are :mod:`overflight.geo`'s compiled scalars.
"""

from __future__ import annotations

from numba.extending import register_jitable

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.geo import bearing_deg_scalar as bearing_deg
from overflight.geo import haversine_m_scalar as greatcircle_m
from overflight.modes import cpr

__all__ = [
    "airborne_global",
    "bearing_deg",
    "cpr_nl",
    "greatcircle_m",
    "local_position",
    "surface_candidates",
    "surface_global",
]

# the modes.cpr helpers the entry points call: compiled into each caller
for _inner in (cpr.cpr_nl, cpr._global_lat, cpr._global_lon, cpr._wrap180, cpr._zone_index):
    register_jitable(_inner)

_jit = numba.njit(cache=True, nogil=True)

cpr_nl = _jit(cpr.cpr_nl)
airborne_global = _jit(cpr.airborne_global)
surface_global = _jit(cpr.surface_global)
surface_candidates = _jit(cpr.surface_candidates)
local_position = _jit(cpr.local_position)
