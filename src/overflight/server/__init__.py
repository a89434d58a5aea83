"""The HTTP server: readsb-compatible ``/data/aircraft.json`` and ``receiver.json`` (tar1090
reads them unchanged), an ADS-B Exchange v2 style API, live push over WebSocket, OpenAPI at
``/openapi.json`` and docs at ``/docs``. ASGI (Starlette) on uvicorn, run beside the station in
one event loop; handlers read :class:`~overflight.station.Snapshot` s only.

Importing this package imports Starlette and uvicorn: the command line imports it lazily.
"""

from overflight.server.app import create_app
from overflight.server.run import (
    DEFAULT_HTTP_HOST,
    DEFAULT_HTTP_PORT,
    public_bind_warning,
    serve_http,
)

__all__ = [
    "DEFAULT_HTTP_HOST",
    "DEFAULT_HTTP_PORT",
    "create_app",
    "public_bind_warning",
    "serve_http",
]
