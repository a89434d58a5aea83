"""readsb-compatible ``/data/aircraft.json`` and ``/data/receiver.json``: what tar1090 reads.

``aircraft.json`` is readsb's document (:mod:`overflight.tracking.aircraft_json`: epoch ``now``,
``messages``, ``aircraft`` with ``r``/``t``/``desc``/``ownOp``/``dbFlags``/``year`` from the
identity store), the bytes the snapshot built once (:meth:`Snapshot.aircraft_json_bytes`: for a
station, written from its tracker's records by one compiled pass) served as they are.
``receiver.json`` is readsb's without the features we do not serve (no binCraft, no globe
index, no history chunks): ``{version, refresh, history, readsb, lat, lon}``, the receiver's
position only when the station knows it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from overflight.jsonout import dumps
from overflight.server.views import SnapshotSource, ViewCache

__all__ = ["receiver_json", "routes"]

REFRESH_MS = 1000
"""How often clients should fetch ``aircraft.json`` (readsb's ``refresh``)."""


def receiver_json(source: SnapshotSource, version: str,
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """readsb's ``receiver.json`` for a station (position rounded to 0.01° as readsb does
    unless told to be precise; omitted when unknown); ``extra`` keys are added (e.g.
    ``{"haveTraces": True}`` when trace files are served)."""
    doc: dict[str, Any] = {
        "version": f"overflight {version}", "refresh": REFRESH_MS, "history": 0, "readsb": True,
    }
    pos = getattr(getattr(source, "config", None), "receiver_lat_lon", None)
    if pos is not None:
        lat, lon = (float(v) for v in pos)
        if math.isfinite(lat) and math.isfinite(lon):
            doc["lat"] = round(lat, 2)
            doc["lon"] = round(lon, 2)
    if getattr(getattr(source, "config", None), "simulated", False):
        doc["simulated"] = True
    doc.update(extra or {})
    return doc


_NO_CACHE = {"Cache-Control": "no-cache"}


def routes(cache: ViewCache, source: SnapshotSource, version: str,
           receiver_extra: Mapping[str, Any] | None = None) -> list[Route]:
    """The ``/data/`` routes."""
    receiver = dumps(receiver_json(source, version, receiver_extra)).encode()

    async def aircraft(request: Request) -> Response:
        """readsb ``aircraft.json``."""
        view = await cache.get()
        return Response(view.snapshot.aircraft_json_bytes(), media_type="application/json",
                        headers=_NO_CACHE)

    async def receiver_doc(request: Request) -> Response:
        """readsb ``receiver.json``."""
        return Response(receiver, media_type="application/json", headers=_NO_CACHE)

    return [
        Route("/data/aircraft.json", aircraft, methods=["GET", "HEAD"]),
        Route("/data/receiver.json", receiver_doc, methods=["GET", "HEAD"]),
    ]
