"""An evidence report from history: who the aircraft is and how we know, its legs with airports
and times (UTC and local) and how each was determined, what supports each leg (messages,
receivers, the first and last frame with a hash), and its track.

Everything here is a pure function of the stored data, so the same database gives byte-identical
output: no clock is read, orderings are total, numbers have fixed formats.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

__all__ = ["FrameRef", "Leg", "Report", "build_report", "stored_gaps"]

GAP_S = 300.0
"""Positions further apart than this are drawn and listed as an unobserved stretch."""


@dataclass(frozen=True, slots=True)
class FrameRef:
    """One stored frame named as evidence: sequence number, UTC time, receiver, raw bytes as
    hex and their SHA-256."""

    seq: int
    time_s: float | None
    receiver: int
    raw_hex: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Leg:
    """One flight leg as stored (``flights`` row) with its support."""

    row: dict[str, Any]
    positions: int
    sources: dict[str, int]
    frames: int
    receivers: int
    first_frame: FrameRef | None
    last_frame: FrameRef | None
    coverage_gaps: tuple[Any, ...] = ()
    """:class:`overflight.flights.itinerary.CoverageGap` of each of the row's ``gaps_s``."""
    journey: dict[str, Any] = field(default_factory=dict)
    """The leg's journey (:func:`overflight.flights.itinerary.journey_rows`)."""


@dataclass(frozen=True, slots=True)
class Report:
    """What a report says; rendered by :mod:`overflight.report.render`."""

    query: str
    matched: str
    icao24: str
    start_s: float | None
    end_s: float | None
    identity: dict[str, Any]
    identity_sources: tuple[dict[str, Any], ...]
    legs: tuple[Leg, ...]
    positions: pa.Table
    gaps: tuple[tuple[float, float], ...]
    airports: dict[str, dict[str, Any]] = field(default_factory=dict)


def _frame(history: Any, seq: int) -> FrameRef | None:
    if seq < 0:
        return None
    src = history._src("frames", {}, None, None)
    row = history.store.cursor().execute(
        f"SELECT seq, time_s, receiver, raw FROM {src} WHERE seq = $s", {"s": int(seq)}
    ).fetchone()
    if row is None:
        return None
    raw = bytes(row[3])
    return FrameRef(int(row[0]), None if row[1] is None else float(row[1]), int(row[2]),
                    raw.hex(), hashlib.sha256(raw).hexdigest())


def stored_gaps(history: Any, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The coverage gaps of stored legs (``flights`` rows, their ``gaps_s``): each judged
    against the stored receivers, from the positions stored at its two ends."""
    import numpy as np

    from overflight.flights.itinerary import coverage_gap

    rx = np.asarray(history.store.cursor().execute(
        "SELECT DISTINCT lat_deg, lon_deg FROM receivers "
        "WHERE lat_deg IS NOT NULL AND lon_deg IS NOT NULL ORDER BY lat_deg, lon_deg"
    ).fetchall(), dtype=float).reshape(-1, 2)
    out = []
    for r in rows:
        mine = []
        for a, b in r.get("gaps_s") or []:
            p = history.positions(int(r["address"]), False, float(a) - 1e-3, float(b) + 1e-3)
            lat, lon = p.column("lat_deg").to_pylist(), p.column("lon_deg").to_pylist()
            before = (lat[0], lon[0]) if lat else None
            after = (lat[-1], lon[-1]) if lat else None
            mine.append(coverage_gap(float(a), float(b), before, after, rx))
        out.append(tuple(mine))
    return out


def _identity(history: Any, address: int) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    ident = history.identifier
    if ident is None:
        return {}, ()
    i = ident.identify(address)
    fields = ("registration", "registration_source", "type_code", "type_description",
              "description", "operator", "operator_source", "country", "country_code",
              "military", "military_reason", "interesting", "watch_class", "categories", "tags",
              "sources", "conflicts")
    out = {f: getattr(i, f, None) for f in fields}
    opinions = []
    try:
        for source, kind, rec in ident.opinions(address):
            opinions.append({
                "source": source, "kind": kind, "registration": rec.registration,
                "type_code": rec.type_code, "description": rec.description,
                "operator": rec.operator, "military": rec.military,
                "watch_class": rec.watch_class, "category": rec.category,
                "tags": list(rec.tags),
            })
    except Exception:  # an address-only identifier has no registry
        opinions = []
    return out, tuple(sorted(opinions, key=lambda o: (str(o["source"]), str(o["kind"]))))


def _airport(code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    a = _airports().get(code)
    if a is None:
        return {"icao": code}
    return {"icao": code, "name": a.get("name"), "city": a.get("city"),
            "country": a.get("country"), "tz": a.get("tz"),
            "lat": a.get("lat"), "lon": a.get("lon")}


_AIRPORTS: dict[str, Any] = {}


def _airports() -> dict[str, Any]:
    if not _AIRPORTS:
        import airportsdata

        _AIRPORTS.update(airportsdata.load("ICAO"))
    return _AIRPORTS


def local_time(t: float | None, tz: str | None) -> str:
    """``t`` (UTC epoch s) as local time at ``tz`` (IANA name), e.g. ``2019-03-23 19:02 -04``."""
    if t is None or not math.isfinite(t) or not tz:
        return ""
    from zoneinfo import ZoneInfo

    try:
        d = datetime.fromtimestamp(t, UTC).astimezone(ZoneInfo(tz))
    except Exception:
        return ""
    off = d.strftime("%z")
    off = off[:3] if off.endswith("00") else f"{off[:3]}:{off[3:]}"
    return d.strftime("%Y-%m-%d %H:%M ") + off


def _gaps(t: pa.Array) -> tuple[tuple[float, float], ...]:
    times = [float(x) for x in t.to_pylist()]
    return tuple((a, b) for a, b in itertools.pairwise(times) if b - a > GAP_S)


def build_report(history: Any, ident: str, start_s: float | None = None,
                 end_s: float | None = None) -> Report:
    """The report of the aircraft ``ident`` names (hex, registration or callsign) between
    ``start_s`` and ``end_s`` (UTC epoch s). Raises ``history.query.QueryError`` when it names
    no aircraft; an aircraft named by several addresses is reported for the first (the CLI
    says so)."""
    import pyarrow.compute as pc

    track = history.track(ident, start_s, end_s)
    ref = track.ref
    address, non_icao = ref.addresses[0]
    pos = track.positions
    if pos.num_rows:
        keep = pc.and_(pc.equal(pos.column("address"), address),
                       pc.equal(pos.column("non_icao"), non_icao))
        pos = pos.filter(keep)
    from overflight.flights.itinerary import journey_rows

    flights = sorted(history.flights([(address, non_icao)], start_s, end_s).to_pylist(),
                     key=lambda r: (r["first_seen_s"], r["flight_id"]))
    trips = journey_rows(flights)
    gaps = stored_gaps(history, flights) if not non_icao else [() for _ in flights]
    legs = []
    airports: dict[str, dict[str, Any]] = {}
    for f, trip, leg_gaps in zip(flights, trips, gaps, strict=True):
        lo, hi = float(f["first_seen_s"]), float(f["last_seen_s"])
        if pos.num_rows:
            t = pos.column("time_s")
            sel = pos.filter(pc.and_(pc.greater_equal(t, lo), pc.less_equal(t, hi)))
        else:
            sel = pos
        sources: dict[str, int] = {}
        for s in sel.column("source").to_pylist() if sel.num_rows else []:
            sources[str(s)] = sources.get(str(s), 0) + 1
        sup = history.support(sel)
        seqs = [s for s in (sel.column("frame_seq").to_pylist() if sel.num_rows else [])
                if s is not None and s >= 0]
        first = _frame(history, min(seqs)) if seqs else None
        last = _frame(history, max(seqs)) if seqs else None
        legs.append(Leg(f, sel.num_rows, dict(sorted(sources.items())), sup.frames,
                        sup.receivers, first, last, leg_gaps, trip))
        for end in ("departure", "arrival"):
            a = _airport(f.get(f"{end}_airport"))
            if a is not None:
                airports[a["icao"]] = a
    identity, opinions = _identity(history, address) if not non_icao else ({}, ())
    return Report(
        query=ident, matched=ref.matched,
        icao24=("~" if non_icao else "") + f"{address:06x}",
        start_s=start_s, end_s=end_s, identity=identity, identity_sources=opinions,
        legs=tuple(legs), positions=pos,
        gaps=_gaps(pos.column("time_s")) if pos.num_rows else (),
        airports=dict(sorted(airports.items())),
    )
