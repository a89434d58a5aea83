"""The ADS-B Exchange v2 style API, as adsb.lol and airplanes.live serve it.

Every answer is ``{ac: [...], msg, now, total, ctime, ptime}``: ``ac`` readsb ``aircraft.json``
records (point queries add ``dst``, nautical miles, and ``dir``, degrees true from the point),
``now`` the data's time and ``ctime`` the time the answer's data was cached (epoch
milliseconds), ``ptime`` the milliseconds spent on the request. Matching is case-insensitive;
callsigns are matched without their padding.

Every path parameter is checked before use; a bad one is a 400 JSON error naming it (see
:mod:`overflight.server.errors`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from overflight.server.errors import ApiError, quote
from overflight.server.views import SnapshotView, ViewCache

__all__ = ["MAX_HEX", "MAX_RADIUS_NM", "parse_hex_list", "routes"]

MAX_RADIUS_NM = 250.0
"""``/v2/point`` radius cap (adsb.lol's)."""
MAX_HEX = 1000
"""At most this many addresses in one ``/v2/hex`` request."""

_HEX = re.compile(r"~?[0-9a-f]{6}")
_CALLSIGN = re.compile(r"[A-Z0-9]{1,8}")
_REG = re.compile(r"[A-Z0-9-]{1,12}")
_TYPE = re.compile(r"[A-Z0-9]{1,4}")
_SQUAWK = re.compile(r"[0-7]{4}")


def _bad(param: str, msg: str) -> ApiError:
    return ApiError(400, "bad parameter", f"{param}: {msg}", param)


def parse_hex_list(text: str) -> list[str]:
    """``/v2/hex`` argument: one or more ICAO addresses, six hex digits each ("~" prefix for a
    non-ICAO address), separated by commas; lower-case, duplicates dropped."""
    items = [t.strip().lower() for t in text.split(",", MAX_HEX)]
    if len(items) > MAX_HEX:
        raise _bad("hex", f"at most {MAX_HEX} addresses per request")
    out: list[str] = []
    for t in items:
        if not _HEX.fullmatch(t):
            raise _bad("hex", f"{quote(t)} is not an address of six hex digits "
                              "(optionally '~' for non-ICAO)")
        if t not in out:
            out.append(t)
    return out


def _word(param: str, text: str, pattern: re.Pattern[str], what: str) -> str:
    k = text.strip().upper()
    if not pattern.fullmatch(k):
        raise _bad(param, f"{quote(text)} is not {what}")
    return k


def _number(param: str, text: str, lo: float, hi: float, what: str) -> float:
    try:
        v = float(text) if len(text) <= 32 else math.nan
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or not lo <= v <= hi:
        raise _bad(param, f"{quote(text)} is not {what}")
    return v


Handler = Callable[[Request], Awaitable[Response]]


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-cache"})


def routes(cache: ViewCache) -> list[Route]:
    """The ``/v2/`` routes reading ``cache``."""

    def indexed(param: str, pattern: re.Pattern[str], what: str,
                index: Callable[[SnapshotView], dict[str, list[int]]]) -> Handler:
        async def handler(request: Request) -> Response:
            t0 = time.perf_counter()
            key = _word(param, request.path_params[param], pattern, what)
            view = await cache.get()
            return _json(view.v2_body(index(view).get(key, ()), t0))

        return handler

    async def by_hex(request: Request) -> Response:
        t0 = time.perf_counter()
        wanted = parse_hex_list(request.path_params["hex"])
        view = await cache.get()
        found = [view.by_hex[h] for h in wanted if h in view.by_hex]
        return _json(view.v2_body(found, t0))

    async def mil(request: Request) -> Response:
        t0 = time.perf_counter()
        view = await cache.get()
        return _json(view.v2_body(view.military, t0))

    async def point(request: Request) -> Response:
        t0 = time.perf_counter()
        p = request.path_params
        lat = _number("lat", p["lat"], -90.0, 90.0, "a latitude from -90 to 90 degrees")
        lon = _number("lon", p["lon"], -180.0, 180.0, "a longitude from -180 to 180 degrees")
        radius = _number("radius_nm", p["radius_nm"], 0.0, math.inf,
                         "a radius of 0 nautical miles or more")
        view = await cache.get()
        idx, dst, dirs = view.within(lat, lon, min(radius, MAX_RADIUS_NM))
        return _json(view.v2_body(idx, t0, dst_nm=dst, dir_deg=dirs))

    get = ["GET", "HEAD"]
    return [
        Route("/v2/hex/{hex}", by_hex, methods=get),
        Route("/v2/icao/{hex}", by_hex, methods=get),
        Route("/v2/callsign/{callsign}", indexed(
            "callsign", _CALLSIGN, "a callsign of 1 to 8 letters and digits",
            lambda v: v.by_callsign), methods=get),
        Route("/v2/reg/{reg}", indexed(
            "reg", _REG, "a registration of 1 to 12 letters, digits and '-'",
            lambda v: v.by_reg), methods=get),
        Route("/v2/type/{type}", indexed(
            "type", _TYPE, "an ICAO type designator of 1 to 4 letters and digits",
            lambda v: v.by_type), methods=get),
        Route("/v2/sqk/{squawk}", indexed(
            "squawk", _SQUAWK, "a squawk of four octal digits", lambda v: v.by_squawk),
            methods=get),
        Route("/v2/mil", mil, methods=get),
        Route("/v2/point/{lat}/{lon}/{radius_nm}", point, methods=get),
    ]
