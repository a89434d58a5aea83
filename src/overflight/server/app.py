"""The ASGI application: readsb ``/data/``, the v2 API, live push, OpenAPI and docs.

>>> app = create_app(station)                                  # doctest: +SKIP
>>> await serve_http(app, "127.0.0.1", 8080)                   # doctest: +SKIP

Handlers only read snapshots through one :class:`~overflight.server.views.ViewCache`; the
tracker is never touched by a request.

Seams for the other parts of the server: ``extra_routes`` / ``extra_paths`` mount more routers
(the history API, ``overflight.server.api_history``, will come in that way with its OpenAPI
paths), and ``web_root`` serves a static web page folder at ``/`` (the web map, or tar1090's
``html/`` folder, which then reads our ``/data/`` unchanged).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from overflight.jsonout import dumps
from overflight.server import api_readsb, api_v2
from overflight.server.errors import exception_handlers
from overflight.server.live import LiveHub
from overflight.server.openapi import docs_html, openapi_document
from overflight.server.views import SnapshotSource, ViewCache

__all__ = ["create_app"]

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'"


class _SecurityHeaders:
    """Adds ``nosniff`` and ``no-referrer`` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()),
                                                  *_SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _SimulatedLabel:
    """Labels every JSON answer of a simulated station (the demo): ``"simulated": true`` first
    in each object answer that does not say it already, whichever route made it (history,
    alerts, the API's errors), and ``X-Overflight-Simulated: true`` on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def label(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (b"x-overflight-simulated", b"true")]
                ctype = dict(headers).get(b"content-type", b"")
                if not ctype.startswith(b"application/json"):
                    await send({**message, "headers": headers})
                    return
                start = {**message, "headers": headers}
                return
            if start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            data = b"".join(body)
            # (a quote inside a string from the air is escaped: only a key reads "simulated")
            if data.lstrip().startswith(b"{") and b'"simulated"' not in data:
                i = data.index(b"{") + 1
                rest = data[i:].lstrip()
                data = data[:i] + b'"simulated":true' + (b"," if not rest.startswith(b"}")
                                                         else b"") + data[i:]
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(data)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, label)


def _version() -> str:
    try:
        from overflight import __version__

        return str(__version__)
    except Exception:
        return "unknown"


def create_app(
    station: SnapshotSource,
    *,
    refresh_s: float = 1.0,
    live_period_s: float = 1.0,
    max_ws_clients: int = 1000,
    ws_send_timeout_s: float = 10.0,
    ws_origins: Sequence[str] = (),
    web_root: Path | str | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    extra_paths: Mapping[str, Any] | None = None,
    receiver_extra: Mapping[str, Any] | None = None,
) -> Starlette:
    """The server's ASGI app for ``station`` (a Station or anything with ``.snapshot()`` and
    ``.config``).

    Args:
        station: where the live picture comes from.
        refresh_s: the live picture served is refreshed at most this often (seconds; readsb
            writes aircraft.json once a second).
        live_period_s: WebSocket clients get at most one message per this many seconds.
        max_ws_clients: WebSocket connections beyond this are refused.
        ws_send_timeout_s: a WebSocket client that has not taken a message after this long is
            dropped.
        ws_origins: web origins allowed to open the WebSocket besides the server's own.
        web_root: a folder served at ``/`` (after every API route), e.g. a web map.
        extra_routes: more routes (e.g. the history API's), mounted before ``web_root``.
        extra_paths: their OpenAPI paths.
        receiver_extra: keys added to ``/data/receiver.json`` (``{"haveTraces": True}`` when
            the history API serves readsb trace files: tar1090 asks for them only then).

    ``app.state.views`` is the :class:`ViewCache`, ``app.state.live`` the :class:`LiveHub`.
    """
    version = _version()
    cache = ViewCache(station, refresh_s=refresh_s)
    live = LiveHub(cache, period_s=live_period_s, max_clients=max_ws_clients,
                   send_timeout_s=ws_send_timeout_s, origins=ws_origins)
    spec = openapi_document(version, extra_paths)
    spec_bytes = dumps(spec).encode()
    docs = docs_html(spec)

    async def openapi(request: Request) -> Response:
        return Response(spec_bytes, media_type="application/json")

    async def docs_page(request: Request) -> Response:
        return HTMLResponse(docs, headers={"Content-Security-Policy": _DOCS_CSP})

    routes: list[BaseRoute] = [
        *api_readsb.routes(cache, station, version, receiver_extra),
        *api_v2.routes(cache),
        live.route(),
        Route("/openapi.json", openapi, methods=["GET", "HEAD"]),
        Route("/docs", docs_page, methods=["GET", "HEAD"]),
        *extra_routes,
    ]
    if web_root is not None:
        routes.append(Mount("/", app=StaticFiles(directory=str(web_root), html=True)))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        live.start()
        try:
            yield
        finally:
            await live.stop()

    app = Starlette(routes=routes, exception_handlers=exception_handlers(), lifespan=lifespan)
    app.add_middleware(_SecurityHeaders)
    if getattr(getattr(station, "config", None), "simulated", False):
        app.add_middleware(_SimulatedLabel)
    app.state.views = cache
    app.state.live = live
    app.state.station = station
    return app
