"""Tracks and flights out of history, in the formats analysts' tools read.

* CSV: one row per position, ISO 8601 UTC time first.
* GeoJSON (RFC 7946): one LineString per aircraft, ``[lon, lat, altitude_m]``, with the
  times (ISO 8601 UTC) of its vertices in ``properties.times``.
* KML for Google Earth: one ``gx:Track`` per aircraft (``<when>`` + ``<gx:coord>`` lon lat
  altitude in metres, ``absolute``), so the track replays in Earth's time slider.
* JSON lines: one object per position (strict JSON: no NaN).
* readsb / tar1090 ``trace_full``: ``{icao, r, t, dbFlags, desc, timestamp, trace:[[dt, lat,
  lon, alt|"ground", gs, track, flags, vrate, details, source, geom_alt, geom_rate, ias,
  roll]]}``; flags: 1 stale (more than :data:`STALE_S` since the previous point), 2 new leg
  (the first point of a flight, or after a gap of :data:`NEW_LEG_S`).

Hostile strings (a callsign or registration with ``<script>``, ``]]>``, quotes, control
characters) stay inert: control characters are written as ``\\xNN`` text in CSV and KML (XML
1.0 cannot hold them) and escaped by JSON; KML text is XML-escaped (no CDATA, so ``]]>`` is
only text); a CSV text field that a spreadsheet would run as a formula (``= + - @``) gets a
leading apostrophe; every CSV field is quoted as needed by the ``csv`` module.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from overflight.jsonout import dumps

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CSV_COLUMNS",
    "NEW_LEG_S",
    "STALE_S",
    "flight_json",
    "inert",
    "iso",
    "positions_csv",
    "positions_geojson",
    "positions_jsonl",
    "positions_kml",
    "trace_full",
]

FT_TO_M = 0.3048
STALE_S = 60.0
"""A trace point more than this long after the previous one is marked stale (flag 1)."""
NEW_LEG_S = 1800.0
"""A gap this long starts a new leg (flag 2) when no flight says so."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def inert(value: object) -> str:
    """Text safe for CSV cells and XML: control characters as ``\\xNN`` (None: empty)."""
    if value is None:
        return ""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _csv_text(value: object) -> str:
    s = inert(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@") else s


def iso(time_s: float | None) -> str | None:
    """ISO 8601 UTC with milliseconds (``2024-07-06T06:43:09.123Z``); None stays None."""
    if time_s is None or not math.isfinite(time_s):
        return None
    d = datetime.fromtimestamp(time_s, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _hex(address: int, non_icao: bool) -> str:
    return ("~" if non_icao else "") + f"{int(address):06x}"


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def _groups(rows: list[dict[str, Any]]) -> dict[tuple[int, bool], list[dict[str, Any]]]:
    out: dict[tuple[int, bool], list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault((int(r["address"]), bool(r["non_icao"])), []).append(r)
    return out


CSV_COLUMNS = (
    "time", "time_s", "icao24", "lat_deg", "lon_deg", "altitude_ft", "altitude_gnss_ft",
    "groundspeed_kt", "track_deg", "vertical_rate_fpm", "on_ground", "source", "squawk",
    "callsign", "nic", "nac_p", "frame_seq", "pair_frame_seq",
)
"""Columns of :func:`positions_csv`."""


def positions_csv(positions: pa.Table) -> str:
    """Positions as CSV text (header + one row per position; empty cell: unknown)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in _rows(positions):
        w.writerow([
            iso(r["time_s"]), repr(float(r["time_s"])), _hex(r["address"], r["non_icao"]),
            *(_num(r.get(k)) for k in ("lat_deg", "lon_deg", "altitude_ft",
                                       "altitude_gnss_ft", "groundspeed_kt", "track_deg",
                                       "vertical_rate_fpm")),
            "" if r.get("on_ground") is None else str(bool(r["on_ground"])).lower(),
            _csv_text(r.get("source")), _csv_text(r.get("squawk")),
            _csv_text(r.get("callsign")), _num(r.get("nic")), _num(r.get("nac_p")),
            r.get("frame_seq", -1), r.get("pair_frame_seq", -1),
        ])
    return buf.getvalue()


def _num(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    return str(v)


def _clean(v: Any) -> Any:
    return v if not isinstance(v, float) or math.isfinite(v) else None


def positions_jsonl(positions: pa.Table) -> str:
    """Positions as JSON lines (one object per position, ``time`` ISO 8601 UTC first)."""
    lines = []
    for r in _rows(positions):
        obj = {"time": iso(r["time_s"]), "icao24": _hex(r["address"], r["non_icao"]),
               **{k: _clean(v) for k, v in r.items()}}
        lines.append(dumps(obj))
    return "\n".join(lines) + ("\n" if lines else "")


def positions_geojson(
    positions: pa.Table, names: Callable[[int, bool], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection: one LineString per aircraft (``[lon, lat, alt_m]``; the
    altitude is left out where unknown) with ``properties``: ``icao24``, ``callsigns``,
    ``start`` / ``end`` and ``times`` (ISO 8601 UTC per vertex), plus ``names(address,
    non_icao)`` (registration, type...)."""
    features = []
    for (addr, non), rows in _groups(_rows(positions)).items():
        coords = []
        for r in rows:
            c = [round(float(r["lon_deg"]), 7), round(float(r["lat_deg"]), 7)]
            alt = r.get("altitude_ft")
            if alt is not None and math.isfinite(alt):
                c.append(round(alt * FT_TO_M, 1))
            coords.append(c)
        callsigns = sorted({r["callsign"] for r in rows if r.get("callsign")})
        props: dict[str, Any] = {
            "icao24": _hex(addr, non), "callsigns": callsigns,
            "start": iso(rows[0]["time_s"]), "end": iso(rows[-1]["time_s"]),
            "times": [iso(r["time_s"]) for r in rows],
            "sources": sorted({str(r["source"]) for r in rows}),
        }
        if names is not None:
            props.update(names(addr, non))
        geom: dict[str, Any] = ({"type": "LineString", "coordinates": coords} if len(coords) > 1
                                else {"type": "Point", "coordinates": coords[0]})
        features.append({"type": "Feature", "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _x(value: object) -> str:
    return escape(inert(value), {'"': "&quot;", "'": "&apos;"})


def positions_kml(
    positions: pa.Table, title: str = "Overflight history",
    names: Callable[[int, bool], dict[str, Any]] | None = None,
) -> str:
    """KML 2.2 with one ``gx:Track`` per aircraft (times and absolute altitudes in metres;
    barometric altitude, 0 on the ground where unknown) for Google Earth's time slider."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">',
        "<Document>",
        f"<name>{_x(title)}</name>",
        '<Style id="track"><LineStyle><color>ff00a5ff</color><width>3</width></LineStyle>'
        "<IconStyle><Icon><href>http://maps.google.com/mapfiles/kml/shapes/airports.png</href>"
        "</Icon></IconStyle></Style>",
    ]
    for (addr, non), rows in _groups(_rows(positions)).items():
        extra = names(addr, non) if names is not None else {}
        callsigns = sorted({r["callsign"] for r in rows if r.get("callsign")})
        label = " ".join([_hex(addr, non), *callsigns[:8],
                          *(str(v) for v in extra.values() if v)])
        desc = (f"{len(rows)} positions from {iso(rows[0]['time_s'])} to "
                f"{iso(rows[-1]['time_s'])}; sources "
                + ", ".join(sorted({str(r['source']) for r in rows})))
        out.append("<Placemark>")
        out.append(f"<name>{_x(label)}</name>")
        out.append(f"<description>{_x(desc)}</description>")
        out.append("<styleUrl>#track</styleUrl>")
        out.append("<gx:Track><altitudeMode>absolute</altitudeMode>")
        out.extend(f"<when>{iso(r['time_s'])}</when>" for r in rows)
        for r in rows:
            alt = r.get("altitude_ft")
            m = alt * FT_TO_M if alt is not None and math.isfinite(alt) else 0.0
            out.append(f"<gx:coord>{float(r['lon_deg']):.7f} {float(r['lat_deg']):.7f} "
                       f"{m:.1f}</gx:coord>")
        out.append("</gx:Track></Placemark>")
    out.append("</Document></kml>")
    return "\n".join(out) + "\n"


_TRACE_SOURCE = {"adsb": "adsb_icao", "mlat": "mlat", "tisb": "tisb_icao", "adsr": "adsr_icao"}


def trace_full(
    positions: pa.Table, *, registration: str | None = None, type_code: str | None = None,
    description: str | None = None, db_flags: int = 0,
    leg_starts_s: Sequence[float] = (),
) -> dict[str, Any]:
    """readsb's ``trace_full_<hex>.json`` document for one aircraft's positions (time
    order): tar1090 shows it as a history track. ``leg_starts_s``: start times of flights
    (their first point gets the new-leg flag)."""
    rows = _rows(positions)
    if not rows:
        raise ValueError("no positions")
    first = rows[0]
    icao = _hex(first["address"], first["non_icao"])
    t0 = float(first["time_s"])
    starts = sorted(float(s) for s in leg_starts_s)
    k = 0
    trace: list[list[Any]] = []
    prev: float | None = None
    for r in rows:
        t = float(r["time_s"])
        flags = 0
        if prev is not None and t - prev > STALE_S:
            flags |= 1
        new_leg = prev is not None and t - prev >= NEW_LEG_S
        while k < len(starts) and starts[k] <= t:
            new_leg = new_leg or (prev is not None and prev < starts[k])
            k += 1
        if new_leg:
            flags |= 2
        alt: Any = "ground" if r.get("on_ground") else _int(r.get("altitude_ft"))
        src = _TRACE_SOURCE.get(str(r.get("source")), "other")
        if r["non_icao"] and src.endswith("_icao"):
            src = src[:-5] + "_other"
        trace.append([
            round(t - t0, 2), round(float(r["lat_deg"]), 6), round(float(r["lon_deg"]), 6), alt,
            _round(r.get("groundspeed_kt"), 1), _round(r.get("track_deg"), 1), flags,
            _int(r.get("vertical_rate_fpm")), None, src,
            _int(r.get("altitude_gnss_ft")), None, None, None,
        ])
        prev = t
    return {"icao": icao, "r": registration, "t": type_code, "dbFlags": int(db_flags),
            "desc": description, "timestamp": round(t0, 3), "trace": trace}


def _int(v: float | None) -> int | None:
    return round(v) if v is not None and math.isfinite(v) else None


def _round(v: float | None, nd: int) -> float | None:
    return round(v, nd) if v is not None and math.isfinite(v) else None


FLIGHT_KEYS = (
    "flight_id", "icao24", "registration", "typecode", "callsigns",
    "departure_airport", "departure_airport_how", "departure_airport_name", "departure_time",
    "departure_how", "arrival_airport", "arrival_airport_how", "arrival_airport_name",
    "arrival_time", "arrival_how", "first_seen", "last_seen", "distance_km",
    "max_altitude_ft", "observed_fraction", "n_points", "n_messages", "touch_and_goes",
    "position_sources",
)


def flight_json(row: dict[str, Any]) -> dict[str, Any]:
    """One ``flights`` row as a JSON object: times as ISO 8601 UTC (``departure_time``,
    ``arrival_time``, ``first_seen``, ``last_seen``), each end with its how-labels."""
    d = dict(row)
    d["icao24"] = _hex(d["address"], False)
    for end in ("departure", "arrival"):
        d[f"{end}_time"] = iso(d.get(f"{end}_time_s"))
    d["first_seen"] = iso(d.get("first_seen_s"))
    d["last_seen"] = iso(d.get("last_seen_s"))
    out = {k: _clean(d.get(k)) for k in FLIGHT_KEYS}
    out["gaps"] = [[iso(a), iso(b)] for a, b in (d.get("gaps_s") or [])]
    return out


def flights_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    """Flights as JSON lines (:func:`flight_json`)."""
    return "".join(dumps(flight_json(r)) + "\n" for r in rows)
