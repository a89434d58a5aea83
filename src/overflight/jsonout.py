"""Strict JSON out (RFC 8259): one definition used by every file, line and API answer we write.

Python's ``json`` writes ``NaN``, ``Infinity`` and ``-Infinity`` by default, which browsers
(``JSON.parse``), jq and tar1090 reject. Here a non-finite float becomes ``null`` (readsb leaves
such a value out; a key whose value is unknown is better absent, which callers do where the
format says so) and anything else non-serialisable is an error, as in ``json.dumps``.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "finite_or_none"]


def finite_or_none(v: float | None) -> float | None:
    """``v`` when it is a finite number, else None."""
    return v if v is not None and math.isfinite(v) else None


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def dumps(obj: Any, *, compact: bool = True, sort_keys: bool = False) -> str:
    """``obj`` as strict JSON text: non-finite floats written as ``null``, never ``NaN``.

    The fast path tries ``json.dumps(allow_nan=False)`` first and cleans the value only when it
    holds a non-finite float, so documents without one cost nothing extra."""
    seps = (",", ":") if compact else None
    try:
        return json.dumps(obj, allow_nan=False, separators=seps, sort_keys=sort_keys)
    except ValueError:
        return json.dumps(_clean(obj), allow_nan=False, separators=seps, sort_keys=sort_keys)
