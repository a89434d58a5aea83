"""The history API: past tracks, flights, airport days, areas and searches over HTTP, and
readsb / tar1090 trace files so tar1090's history view works against the server.

>>> routes, paths = history_routes(History(writer.store))           # doctest: +SKIP
>>> app = create_app(station, extra_routes=routes, extra_paths=paths)  # doctest: +SKIP

Routes (``GET`` / ``HEAD``; times are ISO 8601 UTC, a date, or epoch seconds; a window is half
open, ``from <= t < to``, either end may be left out):

* ``/api/history/track/{ident}?from=&to=&format=json|csv|geojson|kml|trace``: one aircraft's
  positions (``ident``: hex address, ``~`` for non-ICAO, registration or callsign).
* ``/api/history/flights/{ident}?from=&to=``: its flights with airports and times.
* ``/api/history/airport/{icao}?date=YYYY-MM-DD``: departures and arrivals of a UTC day.
* ``/api/history/area?bbox=S,W,N,E|circle=LAT,LON,KM&from=&to=``: aircraft seen in an area.
* ``/api/history/aircraft?mil=&country=&type=&watchlist=&from=&to=``: who was seen.
* ``/api/history/search?q=&from=&to=``: aircraft heard, found by address, registration,
  callsign or ICAO type.
* ``/data/traces/{last2}/trace_full_{hex}.json`` and ``trace_recent_{hex}.json``: readsb's
  trace files (tar1090 reads them when ``receiver.json`` says ``haveTraces``): the aircraft's
  last :data:`TRACE_FULL_S` of stored positions, and the last :data:`TRACE_RECENT_POINTS` of
  them.

Every JSON answer carries ``support``: the stored frames behind it and the receivers that heard
them. Exports come with their content type and a ``Content-Disposition`` file name.

Every parameter is checked before a query runs; a bad one is a 4xx JSON error naming it
(:mod:`overflight.server.errors`): 400 for a malformed or inverted value or a parameter the route
does not take, 404 for an aircraft or airport history does not know. Queries run in worker
threads, each on its own DuckDB cursor, with every value bound as a parameter; strings from the
air (callsigns, registrations) are JSON-encoded, XML-escaped or defused in CSV by
:mod:`overflight.history.export`. A database fault is a 503.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from overflight.geo import haversine_m
from overflight.history import export
from overflight.history.query import (
    Area,
    History,
    QueryError,
    Support,
    parse_area,
    parse_day,
    parse_time,
    window_sql,
)
from overflight.history.store import HistoryError
from overflight.jsonout import dumps
from overflight.server.errors import ApiError, quote

__all__ = [
    "FORMATS",
    "MAX_POSITIONS",
    "MAX_TIME_S",
    "TRACE_FULL_S",
    "TRACE_RECENT_POINTS",
    "history_paths",
    "history_routes",
]

log = logging.getLogger("overflight.server")

TRACE_FULL_S = 24 * 3600.0
"""``trace_full``: the aircraft's stored positions of this many seconds before its last one."""
TRACE_RECENT_POINTS = 92
"""``trace_recent``: its last this many points (readsb's ``TRACE_RECENT_POINTS``)."""
MAX_TIME_S = 253402300799.0
"""Times from 1970 up to the end of year 9999 (epoch seconds)."""
MAX_TEXT = 64
"""Longest accepted text parameter (characters)."""
MAX_POSITIONS = 2_000_000
"""A track answer holds at most this many positions; a wider window is refused (400 naming
``from``) rather than served as hundreds of megabytes."""

FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", ""),
    "csv": ("text/csv", "csv"),
    "geojson": ("application/geo+json", "geojson"),
    "kml": ("application/vnd.google-earth.kml+xml", "kml"),
    "trace": ("application/json", "json"),
}
"""``format`` of the track route: media type and file extension (none: shown, not a file)."""

_IDENT = re.compile(r"~?[A-Za-z0-9-]{1,16}")
_HEX = re.compile(r"~?[0-9a-f]{6}")
_AIRPORT = re.compile(r"[A-Za-z0-9]{3,4}")
_TYPE = re.compile(r"[A-Za-z0-9]{1,4}")
_FILE_SAFE = re.compile(r"[^A-Za-z0-9-]")
_NO_CACHE = {"Cache-Control": "no-cache"}
_TRUE = {"", "1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

T = TypeVar("T")


# ---------------------------------------------------------------------------- parameters

def _bad(param: str, msg: str, status: int = 400) -> ApiError:
    return ApiError(status, "bad parameter" if status == 400 else "not found",
                    f"{param}: {msg}", param)


class _Query:
    """A request's query parameters, refused when the route does not take one."""

    def __init__(self, params: QueryParams, allowed: Iterable[str], *, strict: bool = True):
        self.allowed = frozenset(allowed)
        if strict:
            for k in params:
                if k not in self.allowed:
                    raise ApiError(400, "unknown parameter",
                                   f"{quote(k)} is not a parameter of this route (it takes: "
                                   f"{', '.join(sorted(self.allowed)) or 'none'})", k[:40])
        self.params = params

    def text(self, name: str, limit: int = MAX_TEXT) -> str | None:
        """The parameter's text (None when absent or blank)."""
        v = self.params.get(name)
        if v is None:
            return None
        if len(v) > limit:
            raise _bad(name, f"longer than {limit} characters")
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in v):
            raise _bad(name, f"{quote(v)} holds control characters")
        v = v.strip()
        return v or None

    def time(self, name: str) -> float | None:
        """Epoch seconds from ISO 8601, a date or a number (None when absent)."""
        v = self.text(name)
        if v is None:
            return None
        try:
            t = parse_time(v)
        except (QueryError, ValueError, OverflowError):
            raise _bad(name, f"{quote(v)} is not a time (want ISO 8601 such as "
                             "2024-07-06T06:43:09Z, a date YYYY-MM-DD, or epoch seconds)"
                       ) from None
        if not 0.0 <= t <= MAX_TIME_S:
            raise _bad(name, f"{quote(v)} is outside 1970..9999")
        return t

    def window(self) -> tuple[float | None, float | None]:
        """``from`` and ``to``; 400 naming ``to`` when it is not after ``from``."""
        t0, t1 = self.time("from"), self.time("to")
        if t0 is not None and t1 is not None and not t1 > t0:
            raise _bad("to", "the time range is inverted or empty: 'to' must be after 'from'")
        return t0, t1

    def flag(self, name: str) -> bool:
        """A yes/no parameter (present and empty: yes)."""
        v = self.params.get(name)
        if v is None:
            return False
        k = v.strip().lower()
        if k in _TRUE:
            return True
        if k in _FALSE:
            return False
        raise _bad(name, f"{quote(v)} is not a yes/no value (true, false, 1, 0)")

    def word(self, name: str, pattern: re.Pattern[str], what: str) -> str | None:
        v = self.text(name)
        if v is not None and not pattern.fullmatch(v):
            raise _bad(name, f"{quote(v)} is not {what}")
        return v


def _ident(text: str, param: str = "ident") -> str:
    s = text.strip()
    if not _IDENT.fullmatch(s):
        raise _bad(param, f"{quote(text)} is not a hex address, registration or callsign "
                          "(1 to 16 letters, digits and '-'; '~' before a non-ICAO address)")
    return s


# ---------------------------------------------------------------------------- answers

def _json(doc: Any) -> Response:
    return Response(dumps(doc), media_type="application/json", headers=_NO_CACHE)


def _json_with_rows(head: dict[str, Any], key: str, rows_json: list[str]) -> Response:
    """``head`` with ``key`` holding already serialized JSON objects (one per row)."""
    text = dumps(head)
    body = text[:-1] + ("," if len(text) > 2 else "") + dumps(key) + ":[" \
        + ",".join(rows_json) + "]}"
    return Response(body, media_type="application/json", headers=_NO_CACHE)


def _file(text: str, fmt: str, stem: str) -> Response:
    media, ext = FORMATS[fmt]
    name = _FILE_SAFE.sub("_", stem)[:64] or "history"
    return Response(text, media_type=media, headers={
        **_NO_CACHE, "Content-Disposition": f'attachment; filename="{name}.{ext}"'})


def _support(s: Support) -> dict[str, Any]:
    return {"frames": s.frames, "receivers": s.receivers,
            "frames_referenced": s.frames_referenced, "text": s.text()}


def _hex(address: int, non_icao: bool) -> str:
    return ("~" if non_icao else "") + f"{int(address):06x}"


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [x for x in v if x is not None]
    return v


def _seen_json(r: Mapping[str, Any]) -> dict[str, Any]:
    """One row of ``area`` / ``aircraft`` / the search summary as JSON."""
    return {"icao24": _hex(r["address"], r["non_icao"]),
            **{k: _clean(v) for k, v in r.items()},
            "first": export.iso(r["first_s"]), "last": export.iso(r["last_s"])}


async def _run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread; a database fault is a 503."""
    try:
        return await run_in_threadpool(fn, *args)
    except (HistoryError, duckdb.Error) as exc:
        log.warning("history query failed: %s", str(exc)[:300])
        raise ApiError(503, "unavailable", "the history database cannot answer right now") \
            from None


# ---------------------------------------------------------------------------- queries

def _support_of_windows(h: History, windows: list[tuple[int, bool, float, float]]) -> Support:
    """Frames and receivers behind the positions of each ``(address, non_icao, first_s,
    last_s)`` (inclusive)."""
    if not windows:
        return Support(0, 0, 0)
    w = pa.table({
        "address": pa.array([int(x[0]) for x in windows], pa.uint32()),
        "non_icao": pa.array([bool(x[1]) for x in windows], pa.bool_()),
        "t0": pa.array([float(x[2]) for x in windows], pa.float64()),
        "t1": pa.array([float(x[3]) for x in windows], pa.float64()),
    })
    params: dict[str, Any] = {}
    lo, hi = min(x[2] for x in windows), max(x[3] for x in windows)
    src = h.store.source("positions", params, start_s=lo, end_s=hi + 1.0)
    cur = h.store.cursor()
    try:
        cur.register("_w", w)
        p = cur.sql(
            f"SELECT p.time_s, p.frame_seq, p.pair_frame_seq FROM {src} p JOIN _w ON "
            "p.address = _w.address AND p.non_icao = _w.non_icao AND "
            "p.time_s BETWEEN _w.t0 AND _w.t1", params=params).to_arrow_table()
    finally:
        cur.close()
    return h.support(p)


def _summary(h: History, addresses: Iterable[tuple[int, bool]], t0: float | None,
             t1: float | None) -> list[dict[str, Any]]:
    """``seen`` rows (callsigns, first / last time, positions) of these aircraft in the window
    (aircraft without a position there are left out)."""
    want = set(addresses)
    if not want:
        return []
    params: dict[str, Any] = {"addrs": sorted({int(a) for a, _ in want})}
    where = window_sql("time_s", t0, t1, params)
    src = h.store.source("positions", params, start_s=t0, end_s=t1)
    rows = h.store.cursor().execute(
        "SELECT address, non_icao, list_sort(list_distinct(list(callsign))) AS callsigns, "
        "min(time_s) AS first_s, max(time_s) AS last_s, count(*) AS positions "
        f"FROM {src} WHERE list_contains($addrs::UINTEGER[], address) AND {where} "
        "GROUP BY address, non_icao ORDER BY first_s, address", params).fetchall()
    keys = ("address", "non_icao", "callsigns", "first_s", "last_s", "positions")
    return [dict(zip(keys, r, strict=True)) for r in rows
            if (int(r[0]), bool(r[1])) in want]


def _identity(h: History, address: int, non_icao: bool) -> Any:
    if non_icao:
        return None
    try:
        return h.identifier.identify(int(address))
    except Exception:  # no usable aircraft store: addresses only
        return None


def _names(h: History) -> Callable[[int, bool], dict[str, Any]]:
    def names(address: int, non_icao: bool) -> dict[str, Any]:
        i = _identity(h, address, non_icao)
        return {} if i is None else {"registration": i.registration, "type": i.type_code}

    return names


def _flight(h: History, row: Mapping[str, Any]) -> dict[str, Any]:
    """One ``flights`` row as JSON; a registration or type the row lacks (the station stores
    flights without identities) comes from the aircraft store."""
    out = export.flight_json(dict(row))
    if not out.get("registration") or not out.get("typecode"):
        i = _identity(h, int(row["address"]), False)
        if i is not None:
            out["registration"] = out.get("registration") or i.registration
            out["typecode"] = out.get("typecode") or i.type_code
    return out


def _trace_doc(h: History, address: int, non_icao: bool, positions: pa.Table,
               t0: float | None, t1: float | None) -> dict[str, Any]:
    """readsb's ``trace_full`` document, keys in readsb's order, unknown ones left out."""
    i = _identity(h, address, non_icao)
    fl = h.flights(((address, non_icao),), t0, t1)
    starts = [float(x) for x in fl.column("first_seen_s").to_pylist()] if fl.num_rows else []
    doc = export.trace_full(
        positions, registration=i.registration if i else None,
        type_code=i.type_code if i else None,
        description=(i.type_description or i.description) if i else None,
        db_flags=int(i.db_flags) if i else 0, leg_starts_s=starts)
    out: dict[str, Any] = {"icao": doc["icao"]}
    for k in ("r", "t"):
        if doc[k]:
            out[k] = doc[k]
    out["dbFlags"] = doc["dbFlags"]
    if doc["desc"]:
        out["desc"] = doc["desc"]
    if i is not None and i.operator:
        out["ownOp"] = i.operator
    if i is not None and i.year:
        out["year"] = str(i.year)
    out["timestamp"] = doc["timestamp"]
    out["trace"] = doc["trace"]
    return out


def _recent(doc: dict[str, Any], points: int = TRACE_RECENT_POINTS) -> dict[str, Any]:
    """The last ``points`` of a trace document, times again relative to its first one."""
    trace = doc["trace"][-points:]
    dt0 = float(trace[0][0])
    out = dict(doc)
    out["timestamp"] = round(float(doc["timestamp"]) + dt0, 3)
    out["trace"] = [[round(float(p[0]) - dt0, 2), *p[1:]] for p in trace]
    return out


# ---------------------------------------------------------------------------- routes

def history_routes(history: History) -> tuple[list[BaseRoute], dict[str, Any]]:
    """The history API's routes over ``history`` and their OpenAPI paths, for
    ``create_app(station, extra_routes=routes, extra_paths=paths)``.

    ``history``: ``History(writer.store)`` in the process that stores live history (it holds
    DuckDB's lock), else ``History.open(path)`` (read-only).
    """
    h = history

    # -------------------------------------------------------------- track
    def track_work(ident: str, t0: float | None, t1: float | None, fmt: str) -> Response:
        try:
            tr = h.track(ident, t0, t1)
        except QueryError as exc:
            raise _bad("ident", str(exc), 404) from None
        p = tr.positions
        if p.num_rows > MAX_POSITIONS:
            raise _bad("from", f"{p.num_rows:,} positions in that window (at most "
                               f"{MAX_POSITIONS:,} per answer): narrow it with from and to")
        stem = f"track-{ident}"
        if fmt == "csv":
            return _file(export.positions_csv(p), fmt, stem)
        if fmt == "geojson":
            return _file(dumps(export.positions_geojson(p, _names(h))), fmt, stem)
        if fmt == "kml":
            return _file(export.positions_kml(p, f"Overflight: {ident}", _names(h)), fmt, stem)
        if fmt == "trace":
            a, non = tr.ref.addresses[0]
            if len(tr.ref.addresses) > 1:
                import pyarrow.compute as pc

                p = p.filter(pc.and_(pc.equal(p.column("address"), a),
                                     pc.equal(p.column("non_icao"), non)))
            if p.num_rows == 0:
                raise _bad("ident", f"{quote(ident)}: no positions in that window", 404)
            doc = _trace_doc(h, a, non, p, tr.start_s, tr.end_s)
            return _file(dumps(doc), fmt, f"trace_full_{_hex(a, non)}")
        head = {
            "ident": ident, "matched": tr.ref.matched,
            "aircraft": [_hex(a, n) for a, n in tr.ref.addresses],
            "from": export.iso(tr.start_s), "to": export.iso(tr.end_s),
            "count": p.num_rows, "support": _support(h.support(p)),
        }
        return _json_with_rows(head, "positions", export.positions_jsonl(p).splitlines())

    async def track(request: Request) -> Response:
        q = _Query(request.query_params, ("from", "to", "format"))
        ident = _ident(request.path_params["ident"])
        t0, t1 = q.window()
        fmt = (q.text("format") or "json").lower()
        if fmt not in FORMATS:
            raise _bad("format", f"{quote(fmt)} is not one of {', '.join(FORMATS)}")
        return await _run(track_work, ident, t0, t1, fmt)

    # -------------------------------------------------------------- flights
    def flights_work(ident: str, t0: float | None, t1: float | None) -> Response:
        try:
            ref, fl = h.flights_of(ident, t0, t1)
        except QueryError as exc:
            raise _bad("ident", str(exc), 404) from None
        rows = fl.to_pylist()
        sup = _support_of_windows(h, [(int(r["address"]), False, float(r["first_seen_s"]),
                                       float(r["last_seen_s"])) for r in rows])
        from overflight.flights.itinerary import journey_rows
        from overflight.report.build import stored_gaps

        trips, gaps = journey_rows(rows), stored_gaps(h, rows)
        return _json({
            "ident": ident, "matched": ref.matched,
            "aircraft": [_hex(a, n) for a, n in ref.addresses],
            "from": export.iso(t0), "to": export.iso(t1), "count": len(rows),
            "flights": [{**_flight(h, r), "journey": trip,
                         "coverage_gaps": [g.to_dict() for g in gs]}
                        for r, trip, gs in zip(rows, trips, gaps, strict=True)],
            "support": _support(sup),
        })

    async def flights(request: Request) -> Response:
        q = _Query(request.query_params, ("from", "to"))
        ident = _ident(request.path_params["ident"])
        t0, t1 = q.window()
        return await _run(flights_work, ident, t0, t1)

    # -------------------------------------------------------------- airport
    def airport_work(code: str, day: date) -> Response:
        try:
            ad = h.airport_day(code, day)
        except QueryError as exc:
            raise _bad("icao", str(exc), 404 if "unknown" in str(exc) else 400) from None
        deps, arrs = ad.departures.to_pylist(), ad.arrivals.to_pylist()
        sup = _support_of_windows(h, [(int(r["address"]), False, float(r["first_seen_s"]),
                                       float(r["last_seen_s"])) for r in deps + arrs])
        return _json({
            "airport": ad.airport, "date": day.isoformat(),
            "departures": [_flight(h, r) for r in deps],
            "arrivals": [_flight(h, r) for r in arrs],
            "support": _support(sup),
        })

    async def airport(request: Request) -> Response:
        q = _Query(request.query_params, ("date",))
        raw = request.path_params["icao"]
        code = raw.strip().upper()
        if not _AIRPORT.fullmatch(code):
            raise _bad("icao", f"{quote(raw)} is not an airport code (ICAO, e.g. LFBO)")
        text = q.text("date")
        if text is None:
            raise _bad("date", "missing: give the UTC day as YYYY-MM-DD")
        try:
            day = parse_day(text)
        except QueryError:
            raise _bad("date", f"{quote(text)} is not a date (want YYYY-MM-DD)") from None
        return await _run(airport_work, code, day)

    # -------------------------------------------------------------- area
    def area_work(area: Area, t0: float | None, t1: float | None) -> Response:
        rows = h.area(area, t0, t1).to_pylist()
        sup = Support(0, 0, 0)
        if rows:
            p = h.area_positions(area, t0, t1)
            if area.radius_km is not None and area.lat is not None and area.lon is not None \
                    and p.num_rows:
                d_km = haversine_m(area.lat, area.lon,
                                   p.column("lat_deg").to_numpy(zero_copy_only=False),
                                   p.column("lon_deg").to_numpy(zero_copy_only=False)) / 1000.0
                p = p.filter(pa.array(np.asarray(d_km) <= area.radius_km))
            sup = h.support(p)
        shape: dict[str, Any] = (
            {"circle": {"lat": area.lat, "lon": area.lon, "radius_km": area.radius_km}}
            if area.radius_km is not None else
            {"bbox": {"south": area.south, "west": area.west, "north": area.north,
                      "east": area.east}})
        return _json({**shape, "from": export.iso(t0), "to": export.iso(t1),
                      "count": len(rows), "aircraft": [_seen_json(r) for r in rows],
                      "support": _support(sup)})

    async def area(request: Request) -> Response:
        q = _Query(request.query_params, ("bbox", "circle", "from", "to"))
        bbox, circle = q.text("bbox"), q.text("circle")
        try:
            shape = parse_area(bbox, circle)
        except QueryError as exc:
            param = "circle" if circle is not None and bbox is None else "bbox"
            msg = str(exc)
            if bbox is None and circle is None:
                msg = "missing: give bbox=S,W,N,E (degrees) or circle=LAT,LON,KM"
            elif bbox is not None and circle is not None:
                msg = "give bbox or circle, not both"
            else:
                msg = msg.replace("--bbox ", "bbox=").replace("--circle ", "circle=")
            raise _bad(param, msg) from None
        t0, t1 = q.window()
        return await _run(area_work, shape, t0, t1)

    # -------------------------------------------------------------- aircraft
    def aircraft_work(t0: float | None, t1: float | None, mil: bool, country: str | None,
                      type_code: str | None, watchlist: str | None) -> Response:
        rows = h.aircraft(t0, t1, military=mil, country=country, type_code=type_code,
                          watchlist=watchlist).to_pylist()
        sup = _support_of_windows(h, [(int(r["address"]), bool(r["non_icao"]),
                                       float(r["first_s"]), float(r["last_s"])) for r in rows])
        return _json({
            "filters": {"mil": mil, "country": country, "type": type_code,
                        "watchlist": watchlist},
            "from": export.iso(t0), "to": export.iso(t1), "count": len(rows),
            "aircraft": [_seen_json(r) for r in rows], "support": _support(sup),
        })

    async def aircraft(request: Request) -> Response:
        q = _Query(request.query_params, ("mil", "country", "type", "watchlist", "from", "to"))
        mil = q.flag("mil")
        country = q.text("country")
        type_code = q.word("type", _TYPE, "an ICAO type designator (1 to 4 letters and digits)")
        watchlist = q.text("watchlist")
        t0, t1 = q.window()
        return await _run(aircraft_work, t0, t1, mil, country,
                          type_code.upper() if type_code else None, watchlist)

    # -------------------------------------------------------------- search
    def search_work(text: str, t0: float | None, t1: float | None) -> Response:
        how: dict[tuple[int, bool], str] = {}
        try:
            ref = h.resolve(text, t0, t1)
        except QueryError:
            ref = None
        if ref is not None:
            for key in ref.addresses:
                how.setdefault((int(key[0]), bool(key[1])), ref.matched)
        if _TYPE.fullmatch(text) and len(text) >= 2:
            typed = h.aircraft(t0, t1, type_code=text.upper())
            for a, n in zip(typed.column("address").to_pylist(),
                            typed.column("non_icao").to_pylist(), strict=True):
                how.setdefault((int(a), bool(n)), "type")
        rows = _summary(h, how, t0, t1)
        out = []
        for r in rows:
            i = _identity(h, r["address"], r["non_icao"])
            out.append({"matched": how[(int(r["address"]), bool(r["non_icao"]))],
                        **_seen_json(r),
                        "registration": i.registration if i else None,
                        "type_code": i.type_code if i else None})
        sup = _support_of_windows(h, [(int(r["address"]), bool(r["non_icao"]),
                                       float(r["first_s"]), float(r["last_s"])) for r in rows])
        return _json({"q": text, "from": export.iso(t0), "to": export.iso(t1),
                      "count": len(out), "results": out, "support": _support(sup)})

    async def search(request: Request) -> Response:
        q = _Query(request.query_params, ("q", "from", "to"))
        text = q.text("q")
        if text is None:
            raise _bad("q", "missing: give a hex address, registration, callsign or type")
        text = _ident(text, "q")
        t0, t1 = q.window()
        return await _run(search_work, text, t0, t1)

    # -------------------------------------------------------------- readsb trace files
    def trace_work(hexs: str, t0: float | None, t1: float | None, recent: bool) -> Response:
        non = hexs.startswith("~")
        a = int(hexs.lstrip("~"), 16)
        if t0 is None or t1 is None:
            params: dict[str, Any] = {"a": a, "n": non}
            where = window_sql("time_s", t0, t1, params)
            src = h.store.source("positions", params, start_s=t0, end_s=t1)
            row = h.store.cursor().execute(
                f"SELECT max(time_s) FROM {src} WHERE address = $a AND non_icao = $n "
                f"AND {where}", params).fetchall()
            last = row[0][0] if row else None
            if last is None:
                raise _bad("hex", f"no stored positions of {hexs}", 404)
            if t1 is None:
                t1 = float(last) + 1e-3
            if t0 is None:
                t0 = t1 - TRACE_FULL_S
        p = h.positions(a, non, t0, t1)
        if p.num_rows == 0:
            raise _bad("hex", f"no stored positions of {hexs} in that window", 404)
        doc = _trace_doc(h, a, non, p, t0, t1)
        return _json(_recent(doc) if recent else doc)

    def trace(recent: bool) -> Callable[[Request], Any]:
        async def handler(request: Request) -> Response:
            q = _Query(request.query_params, ("from", "to"), strict=False)
            raw = request.path_params["hex"]
            hexs = raw.strip().lower()
            if not _HEX.fullmatch(hexs):
                raise _bad("hex", f"{quote(raw)} is not an address of six hex digits "
                                  "(optionally '~' for non-ICAO)")
            if request.path_params["last2"].lower() != hexs[-2:]:
                raise _bad("last2", f"must be the address's last two hex digits "
                                    f"({hexs[-2:]})", 404)
            t0, t1 = q.window()
            return await _run(trace_work, hexs, t0, t1, recent)

        return handler

    get = ["GET", "HEAD"]
    routes: list[BaseRoute] = [
        Route("/api/history/track/{ident}", track, methods=get),
        Route("/api/history/flights/{ident}", flights, methods=get),
        Route("/api/history/airport/{icao}", airport, methods=get),
        Route("/api/history/area", area, methods=get),
        Route("/api/history/aircraft", aircraft, methods=get),
        Route("/api/history/search", search, methods=get),
        Route("/data/traces/{last2}/trace_full_{hex}.json", trace(False), methods=get),
        Route("/data/traces/{last2}/trace_recent_{hex}.json", trace(True), methods=get),
    ]
    return routes, history_paths()


# ---------------------------------------------------------------------------- OpenAPI

def _p(name: str, where: str, description: str, schema: Mapping[str, Any],
       required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path",
            "description": description, "schema": dict(schema)}


_STR = {"type": "string"}
_TIME = {"type": "string", "description": "ISO 8601 (UTC unless a zone is given), a date "
                                          "YYYY-MM-DD, or epoch seconds"}
_FROM = _p("from", "query", "start of the window, inclusive (ISO 8601 UTC, a date, or epoch "
           "seconds)", _TIME)
_TO = _p("to", "query", "end of the window, exclusive (after 'from')", _TIME)
_IDENT_P = _p("ident", "path", "hex address ('~' prefix for non-ICAO), registration or "
              "callsign", {"type": "string", "pattern": r"^~?[A-Za-z0-9-]{1,16}$"})
_ERR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_SUPPORT = {
    "type": "object", "required": ["frames", "receivers", "frames_referenced", "text"],
    "description": "what the answer rests on: stored frames behind it and the receivers that "
                   "heard them (frames_referenced: named by the rows, some maybe pruned since)",
    "properties": {"frames": {"type": "integer"}, "receivers": {"type": "integer"},
                   "frames_referenced": {"type": "integer"}, "text": _STR},
}
_SEEN = {
    "type": "object", "description": "an aircraft seen: icao24, address, non_icao, callsigns, "
    "first / last (ISO 8601 UTC) with first_s / last_s (epoch s), positions; area adds "
    "min/max_altitude_ft and sources, aircraft adds registration, type_code, country, military",
    "properties": {"icao24": _STR, "callsigns": {"type": "array", "items": _STR},
                   "first": _STR, "last": _STR, "positions": {"type": "integer"}},
}
_FLIGHT = {
    "type": "object", "description": "one flight: flight_id, icao24, registration, typecode, "
    "callsigns, departure/arrival airport (ICAO) with how it was found, time (ISO 8601 UTC) with "
    "how it is known (observed / inferred / estimated / unknown), first_seen, last_seen, "
    "distance_km, max_altitude_ft, gaps...",
}


def _op(summary: str, params: list[dict[str, Any]], ok: str, schema: Mapping[str, Any],
        *, not_found: bool = False, media: Mapping[str, Any] | None = None) -> dict[str, Any]:
    content = dict(media) if media is not None else {"application/json": {"schema": schema}}
    responses: dict[str, Any] = {
        "200": {"description": ok, "content": content},
        "400": {"description": "a bad parameter (named in 'param')", "content": _ERR},
    }
    if not_found:
        responses["404"] = {"description": "unknown aircraft or airport, or nothing stored",
                            "content": _ERR}
    responses["503"] = {"description": "the history database cannot answer", "content": _ERR}
    return {"get": {"summary": summary, "parameters": params, "responses": responses}}


def _answer(*required: str, **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": [*required, "support"],
            "properties": {**props, "support": _SUPPORT}}


def history_paths() -> dict[str, Any]:
    """The OpenAPI paths of :func:`history_routes`."""
    trace_doc = {
        "type": "object", "required": ["icao", "dbFlags", "timestamp", "trace"],
        "description": "readsb trace file: {icao, r, t, dbFlags, desc, ownOp, year, timestamp, "
                       "trace: [[dt_s, lat, lon, alt_ft|\"ground\", gs_kt, track_deg, flags "
                       "(1 stale, 2 new leg), vrate_fpm, details, source, geom_alt_ft, "
                       "geom_rate, ias, roll]]}",
    }
    hex_p = _p("hex", "path", "ICAO address, six hex digits ('~' prefix for non-ICAO)",
               {"type": "string", "pattern": r"^~?[0-9a-fA-F]{6}$"})
    last2 = _p("last2", "path", "the address's last two hex digits", {
        "type": "string", "pattern": "^[0-9a-fA-F]{2}$"})
    trace_params = [last2, hex_p, _p("from", "query", "window start (default: 24 h before the "
                                     "aircraft's last stored position)", _TIME),
                    _p("to", "query", "window end (default: just after its last position)",
                       _TIME)]
    media_track = {
        "application/json": {"schema": _answer(
            "ident", "matched", "aircraft", "count", "positions",
            positions={"type": "array", "items": {"type": "object"}})},
        "text/csv": {"schema": _STR},
        "application/geo+json": {"schema": {"type": "object"}},
        "application/vnd.google-earth.kml+xml": {"schema": _STR},
    }
    return {
        "/api/history/track/{ident}": _op(
            "an aircraft's stored positions in a time window, as JSON or an export (CSV, "
            "GeoJSON, KML gx:Track, readsb trace_full)",
            [_IDENT_P, _FROM, _TO, _p("format", "query", "json (default), csv, geojson, kml or "
                                      "trace", {"type": "string", "enum": list(FORMATS)})],
            "the positions", {}, not_found=True, media=media_track),
        "/api/history/flights/{ident}": _op(
            "an aircraft's flights with departure and arrival airports and times",
            [_IDENT_P, _FROM, _TO], "the flights", _answer(
                "ident", "matched", "aircraft", "count", "flights",
                flights={"type": "array", "items": _FLIGHT}), not_found=True),
        "/api/history/airport/{icao}": _op(
            "an airport's departures and arrivals of one UTC day",
            [_p("icao", "path", "ICAO airport code, e.g. LFBO", {
                "type": "string", "pattern": "^[A-Za-z0-9]{3,4}$"}),
             _p("date", "query", "the UTC day, YYYY-MM-DD", {"type": "string", "format": "date"},
                required=True)],
            "departures and arrivals", _answer(
                "airport", "date", "departures", "arrivals",
                departures={"type": "array", "items": _FLIGHT},
                arrivals={"type": "array", "items": _FLIGHT}), not_found=True),
        "/api/history/area": _op(
            "every aircraft with a stored position in an area during a time window",
            [_p("bbox", "query", "S,W,N,E in degrees (west > east crosses the antimeridian); "
                "give bbox or circle", _STR),
             _p("circle", "query", "LAT,LON,KM (0 < KM <= 5000)", _STR), _FROM, _TO],
            "the aircraft", _answer("count", "aircraft",
                                    aircraft={"type": "array", "items": _SEEN})),
        "/api/history/aircraft": _op(
            "aircraft seen in a time window matching every filter given",
            [_p("mil", "query", "military only (true / false)", {"type": "boolean"}),
             _p("country", "query", "country of registration (name or ISO code)", _STR),
             _p("type", "query", "ICAO type designator, e.g. A321", {
                 "type": "string", "pattern": "^[A-Za-z0-9]{1,4}$"}),
             _p("watchlist", "query", "watchlist tag or category", _STR), _FROM, _TO],
            "the aircraft", _answer("filters", "count", "aircraft",
                                    aircraft={"type": "array", "items": _SEEN})),
        "/api/history/search": _op(
            "aircraft heard, by hex address, registration, callsign or ICAO type",
            [_p("q", "query", "hex address, registration, callsign or type", {
                "type": "string", "pattern": r"^~?[A-Za-z0-9-]{1,16}$"}, required=True),
             _FROM, _TO],
            "matching aircraft (matched: address, registration, callsign or type)",
            _answer("q", "count", "results", results={"type": "array", "items": _SEEN})),
        "/data/traces/{last2}/trace_full_{hex}.json": _op(
            "readsb trace_full file (what tar1090 reads for an aircraft's history)",
            trace_params, "the trace", trace_doc, not_found=True),
        "/data/traces/{last2}/trace_recent_{hex}.json": _op(
            "readsb trace_recent file: the last 92 points of trace_full",
            trace_params, "the trace", trace_doc, not_found=True),
    }
