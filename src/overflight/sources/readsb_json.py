"""readsb / dump1090-fa ``aircraft.json`` as an input of last resort (no raw frames, no timing).

``{"now": s, "messages": n, "aircraft": [{"hex", "flight", "alt_baro" | "ground", "alt_geom", "gs",
"track", "baro_rate", "geom_rate", "squawk", "emergency", "category", "lat", "lon", "seen",
"seen_pos", "rssi", "messages", "mlat": [...], "tisb": [...], ...}]}``. A ``hex`` starting with
``~`` is a non-ICAO (TIS-B / anonymous) address. Fields absent from an entry are None.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

__all__ = ["ReadsbAircraft", "ReadsbSnapshot", "parse_aircraft_json", "poll_aircraft_json"]

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
    """A parsed ``aircraft.json``: snapshot time, total messages and aircraft."""

    time_s: float
    messages: int | None
    aircraft: tuple[ReadsbAircraft, ...]
    skipped: int


def _f(d: dict[str, Any], k: str) -> float | None:
    v = d.get(k)
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def _i(d: dict[str, Any], k: str) -> int | None:
    v = _f(d, k)
    return None if v is None else round(v)


def _s(d: dict[str, Any], k: str) -> str | None:
    v = d.get(k)
    return v.strip() or None if isinstance(v, str) else None


def parse_aircraft_json(text: str | bytes) -> ReadsbSnapshot | str:
    """Parse an ``aircraft.json`` document, or give a reason; bad entries are skipped."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return "bad json"
    if not isinstance(doc, dict) or not isinstance(doc.get("aircraft"), list):
        return "no aircraft list"
    now = _f(doc, "now")
    if now is None:
        return "no time"
    out: list[ReadsbAircraft] = []
    skipped = 0
    for a in doc["aircraft"]:
        if not isinstance(a, dict) or not isinstance(a.get("hex"), str):
            skipped += 1
            continue
        hx = a["hex"].strip().lower()
        non_icao = hx.startswith("~")
        hx = hx.lstrip("~")
        if len(hx) != 6 or any(c not in "0123456789abcdef" for c in hx):
            skipped += 1
            continue
        seen = _f(a, "seen") or 0.0
        seen_pos = _f(a, "seen_pos")
        alt = a.get("alt_baro", a.get("altitude"))
        on_ground = True if alt == "ground" else (False if isinstance(alt, int | float) else None)
        mlat = a.get("mlat") if isinstance(a.get("mlat"), list) else []
        tisb = a.get("tisb") if isinstance(a.get("tisb"), list) else []
        out.append(
            ReadsbAircraft(
                icao24=hx,
                non_icao=non_icao,
                time_s=now - seen,
                position_time_s=None if seen_pos is None else now - seen_pos,
                callsign=_s(a, "flight"),
                altitude_ft=int(alt) if on_ground is False else None,  # type: ignore[arg-type]
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
        )
    return ReadsbSnapshot(now, _i(doc, "messages"), tuple(out), skipped)


async def poll_aircraft_json(
    url: str, *, interval_s: float = 1.0, timeout_s: float = 5.0
) -> AsyncIterator[ReadsbSnapshot]:
    """Poll ``url`` (http(s) or file) every ``interval_s``; yields new snapshots, logs failures."""
    last_now = -math.inf
    while True:
        try:
            body = await asyncio.to_thread(_fetch, url, timeout_s)
            snap = parse_aircraft_json(body)
            if isinstance(snap, str):
                log.warning("aircraft.json from %s unusable: %s", url, snap)
            elif snap.time_s > last_now:
                last_now = snap.time_s
                yield snap
        except OSError as e:
            log.warning("polling %s failed: %s", url, e)
        await asyncio.sleep(interval_s)


def _fetch(url: str, timeout_s: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        data: bytes = r.read()
    return data
