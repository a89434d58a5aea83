"""readsb / dump1090-fa ``aircraft.json`` as an input of last resort (no raw frames, no timing).

``{"now": s, "messages": n, "aircraft": [{"hex", "flight", "alt_baro" | "ground", "alt_geom", "gs",
"track", "baro_rate", "geom_rate", "squawk", "emergency", "category", "lat", "lon", "seen",
"seen_pos", "rssi", "messages", "mlat": [...], "tisb": [...], ...}]}``. A ``hex`` starting with
``~`` is a non-ICAO (TIS-B / anonymous) address. Fields absent from an entry are None.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import math
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "NON_FINITE",
    "PollStats",
    "ReadsbAircraft",
    "ReadsbSnapshot",
    "parse_aircraft_json",
    "poll_aircraft_json",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReadsbAircraft:
    """One aircraft of an ``aircraft.json`` snapshot (units in names; UTC epoch seconds)."""

    icao24: str
    non_icao: bool
    time_s: float
    position_time_s: float | None
    callsign: str | None
    altitude_ft: int | None
    on_ground: bool | None
    altitude_gnss_ft: int | None
    groundspeed_kt: float | None
    track_deg: float | None
    vertical_rate_fpm: int | None
    squawk: str | None
    emergency: str | None
    category: str | None
    latitude_deg: float | None
    longitude_deg: float | None
    rssi_dbfs: float | None
    messages: int | None
    mlat_fields: tuple[str, ...]
    tisb_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReadsbSnapshot:
    """A parsed ``aircraft.json``: snapshot time, total messages and aircraft.

    ``skipped`` counts entries that are not a usable aircraft; ``reasons`` counts why, and also
    counts values that were present but unusable (``"non-finite or huge number"``: NaN,
    Infinity, 1e400 or an integer beyond a float), which are read as absent."""

    time_s: float
    messages: int | None
    aircraft: tuple[ReadsbAircraft, ...]
    skipped: int
    reasons: Mapping[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class PollStats:
    """What :func:`poll_aircraft_json` saw; all counts."""

    polls: int = 0
    snapshots: int = 0
    """New snapshots yielded."""
    stale: int = 0
    """Documents not newer than the last one yielded."""
    fetch_errors: int = 0
    unusable: Counter[str] = field(default_factory=Counter)
    """Documents that gave a reason instead of a snapshot, by reason."""


NON_FINITE = "non-finite or huge number"
MAX_DOCUMENT_BYTES = 64 << 20
"""Largest ``aircraft.json`` the poller reads (64 MiB; readsb's is ~1 KB per aircraft)."""


def _num(v: Any) -> float | None:
    """A JSON number as a finite float, else None (bool, string, NaN, Infinity, > 1.8e308)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        f = float(v)
    except OverflowError:  # an integer beyond the float range
        return None
    return f if math.isfinite(f) else None


def _is_bad_number(v: Any) -> bool:
    """True for a JSON number that :func:`_num` cannot use (non-finite or beyond a float)."""
    return isinstance(v, int | float) and not isinstance(v, bool) and _num(v) is None


def _f(d: dict[str, Any], k: str) -> float | None:
    return _num(d.get(k))


def _i(d: dict[str, Any], k: str) -> int | None:
    v = _f(d, k)
    return None if v is None else round(v)


def _s(d: dict[str, Any], k: str) -> str | None:
    v = d.get(k)
    return v.strip() or None if isinstance(v, str) else None


def _load(text: str | bytes) -> Any | str:
    """``json.loads`` that gives a reason instead of raising."""
    try:
        return json.loads(text)
    except RecursionError:
        return "bad json: nested too deep"
    except (ValueError, UnicodeDecodeError, TypeError):  # incl. ints over 4,300 digits
        return "bad json"


def parse_aircraft_json(text: str | bytes) -> ReadsbSnapshot | str:
    """Parse an ``aircraft.json`` document, or give a reason; never raises.

    Bad entries are skipped and counted by reason; numbers that are not finite (NaN, Infinity,
    1e400, an integer beyond a float) are read as absent and counted (:data:`NON_FINITE`).
    Times are UTC epoch seconds; an aircraft whose time is not finite is skipped."""
    doc = _load(text)
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict) or not isinstance(doc.get("aircraft"), list):
        return "no aircraft list"
    now = _f(doc, "now")
    if now is None:
        return "no time"
    out: list[ReadsbAircraft] = []
    reasons: Counter[str] = Counter()
    skipped = 0
    for a in doc["aircraft"]:
        r = _aircraft(a, now)
        if isinstance(r, str):
            skipped += 1
            reasons[r] += 1
            continue
        out.append(r)
        bad = sum(1 for v in a.values() if _is_bad_number(v))
        if bad:
            reasons[NON_FINITE] += bad
    return ReadsbSnapshot(now, _i(doc, "messages"), tuple(out), skipped, dict(reasons))


def _aircraft(a: Any, now: float) -> ReadsbAircraft | str:
    """One entry of the aircraft list, or why it is skipped."""
    if not isinstance(a, dict) or not isinstance(a.get("hex"), str):
        return "no hex"
    hx = a["hex"].strip().lower()
    non_icao = hx.startswith("~")
    hx = hx.lstrip("~")
    if len(hx) != 6 or any(c not in "0123456789abcdef" for c in hx):
        return "bad hex"
    seen = _f(a, "seen") or 0.0
    seen_pos = _f(a, "seen_pos")
    time_s = now - seen
    pos_time_s = None if seen_pos is None else now - seen_pos
    if not math.isfinite(time_s) or (pos_time_s is not None and not math.isfinite(pos_time_s)):
        return "bad time"
    alt_raw = a.get("alt_baro", a.get("altitude"))
    alt = _num(alt_raw)
    on_ground = True if alt_raw == "ground" else (False if alt is not None else None)
    mlat = a.get("mlat") if isinstance(a.get("mlat"), list) else []
    tisb = a.get("tisb") if isinstance(a.get("tisb"), list) else []
    return ReadsbAircraft(
        icao24=hx,
        non_icao=non_icao,
        time_s=time_s,
        position_time_s=pos_time_s,
        callsign=_s(a, "flight"),
        altitude_ft=None if alt is None else round(alt),
        on_ground=on_ground,
        altitude_gnss_ft=_i(a, "alt_geom"),
        groundspeed_kt=_f(a, "gs"),
        track_deg=_f(a, "track"),
        vertical_rate_fpm=_i(a, "baro_rate") if "baro_rate" in a else _i(a, "geom_rate"),
        squawk=_s(a, "squawk"),
        emergency=_s(a, "emergency"),
        category=_s(a, "category"),
        latitude_deg=_f(a, "lat"),
        longitude_deg=_f(a, "lon"),
        rssi_dbfs=_f(a, "rssi"),
        messages=_i(a, "messages"),
        mlat_fields=tuple(str(x) for x in mlat or ()),
        tisb_fields=tuple(str(x) for x in tisb or ()),
    )


async def poll_aircraft_json(
    url: str, *, interval_s: float = 1.0, timeout_s: float = 5.0, stats: PollStats | None = None
) -> AsyncIterator[ReadsbSnapshot]:
    """Poll ``url`` (http(s) or file) every ``interval_s`` seconds; yields new snapshots.

    Never ends on a bad answer: fetch failures and unusable documents are logged and counted in
    ``stats`` (a fresh :class:`PollStats` if None), and polling goes on."""
    st = stats if stats is not None else PollStats()
    last_now = -math.inf
    while True:
        st.polls += 1
        try:
            body = await asyncio.to_thread(_fetch, url, timeout_s)
        except (OSError, http.client.HTTPException, ValueError) as e:
            st.fetch_errors += 1
            log.warning("polling %s failed: %s", url, e or type(e).__name__)
            body = None
        if body is not None:
            snap = parse_aircraft_json(body) if isinstance(body, bytes) else body
            if isinstance(snap, str):
                st.unusable[snap] += 1
                log.warning("aircraft.json from %s unusable: %s", url, snap)
            elif snap.time_s > last_now:
                last_now = snap.time_s
                st.snapshots += 1
                yield snap
            else:
                st.stale += 1
        await asyncio.sleep(interval_s)


def _fetch(url: str, timeout_s: float) -> bytes | str:
    """The document at ``url``, or ``"too large"`` beyond :data:`MAX_DOCUMENT_BYTES`."""
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        data: bytes = r.read(MAX_DOCUMENT_BYTES + 1)
    return data if len(data) <= MAX_DOCUMENT_BYTES else "too large"
