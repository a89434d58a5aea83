"""An API node (``overflight serve --api-only --bus URL --http PORT``): the HTTP API and web
map of the whole network's live picture, from the workers' ``overflight.updates.*``
(:class:`~overflight.bus.picture.BusPicture`), with no receivers of its own. Run as many as
the readers need: each builds the same picture from the stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from overflight.bus.picture import BusPicture

__all__ = ["PictureSource", "run_api_node"]

log = logging.getLogger("overflight.bus")


class PictureSource:
    """What the HTTP server reads (``.config`` and ``.snapshot()``), over a bus picture."""

    def __init__(self, picture: BusPicture, config: Any = None) -> None:
        from overflight.station.config import StationConfig

        self.picture = picture
        self._config = config or StationConfig()

    @property
    def config(self) -> Any:
        return self._config

    def snapshot(self) -> Any:
        return self.picture.snapshot()


async def run_api_node(url: str, host: str, port: int, *, identify: bool = True,
                       identity_db: Any = None, web_root: Any = None,
                       ready: Callable[[int], None] | None = None,
                       stop: asyncio.Event | None = None) -> BusPicture:
    """Follow the updates at ``url`` and serve them on ``host:port`` (0: any free port;
    ``ready(port)`` once listening) until ``stop`` is set or cancelled; the picture."""
    from overflight.server import create_app, serve_http
    from overflight.station.config import StationConfig

    identifier = None
    if identify:
        try:
            from overflight.identity import Identifier

            identifier = Identifier(identity_db) if identity_db else Identifier.default()
        except Exception as exc:  # no aircraft store: the picture without identities
            log.warning("api node: no identities (%s)", exc)
    picture = BusPicture(identifier)
    await picture.start(url)
    cfg = StationConfig(identify=identifier is not None)
    app = create_app(PictureSource(picture, cfg), web_root=web_root)
    stop = stop or asyncio.Event()
    server = asyncio.create_task(serve_http(app, host, port, ready=ready))
    waiting = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([server, waiting], return_when=asyncio.FIRST_COMPLETED)
        if server in done and server.exception() is not None:
            raise server.exception()  # type: ignore[misc]
    finally:
        for t in (server, waiting):
            t.cancel()
        await asyncio.gather(server, waiting, return_exceptions=True)
        await picture.close()
    return picture
