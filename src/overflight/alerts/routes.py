"""HTTP routes of the alerts for the server: ``/alerts.atom`` (Atom feed) and ``/api/alerts``
(JSON: the newest alerts with their evidence, and the service's status: rules in force, last
reload error, delivery counts and failures per target).

Query parameters: ``limit`` (1..1000, default 100), ``since`` (UTC epoch seconds).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from overflight.jsonout import dumps

__all__ = ["alert_routes"]


def _params(request: Request) -> tuple[int, float | None] | Response:
    try:
        limit = int(request.query_params.get("limit", "100"))
        since_text = request.query_params.get("since")
        since = float(since_text) if since_text is not None else None
    except ValueError:
        return Response(dumps({"error": "limit must be an integer, since a number"}),
                        status_code=400, media_type="application/json")
    if not 1 <= limit <= 1000 or (since is not None and since != since):
        return Response(dumps({"error": "limit must be within 1..1000"}), status_code=400,
                        media_type="application/json")
    return limit, since


def alert_routes(service: Any) -> list[Route]:
    """Starlette routes over an :class:`~overflight.alerts.service.AlertService`."""
    from overflight.alerts.feed import atom_feed

    async def atom(request: Request) -> Response:
        p = _params(request)
        if isinstance(p, Response):
            return p
        docs = service.recent(p[0], p[1])
        return Response(atom_feed(docs, base_url=str(request.base_url)),
                        media_type="application/atom+xml; charset=utf-8")

    async def api(request: Request) -> Response:
        p = _params(request)
        if isinstance(p, Response):
            return p
        body = {"alerts": service.recent(p[0], p[1]), "status": service.status()}
        return Response(dumps(body), media_type="application/json")

    return [Route("/alerts.atom", atom, methods=["GET"]),
            Route("/api/alerts", api, methods=["GET"])]
