"""Run the server with uvicorn inside an existing asyncio loop, beside the station."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Generator

import uvicorn
from starlette.types import ASGIApp

__all__ = ["DEFAULT_HTTP_HOST", "DEFAULT_HTTP_PORT", "public_bind_warning", "serve_http"]

log = logging.getLogger("overflight.server")

DEFAULT_HTTP_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080


def public_bind_warning(host: str) -> str | None:
    """A warning when ``host`` is not a loopback address (None for loopback)."""
    h = host.strip("[]")
    if h == "localhost":
        return None
    try:
        if ipaddress.ip_address(h).is_loopback:
            return None
    except ValueError:
        pass
    return (f"the HTTP server listens on {host}, not only on this machine: anyone who can "
            "reach it sees the live picture and the API (use 127.0.0.1 to keep it local)")


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (raises OSError)."""
    infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(addr)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handlers: the caller owns the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_http(
    app: ASGIApp,
    host: str = DEFAULT_HTTP_HOST,
    port: int = DEFAULT_HTTP_PORT,
    *,
    ready: Callable[[int], None] | None = None,
    log_level: str = "warning",
    shutdown_timeout_s: float = 3.0,
) -> None:
    """Serve ``app`` on ``host:port`` (port 0: any free port) until cancelled.

    ``ready(port)`` is called with the bound port once the server accepts connections. A
    non-loopback ``host`` is logged as a warning (:func:`public_bind_warning`). Raises OSError
    when the port cannot be bound. On cancellation open connections get ``shutdown_timeout_s``
    to finish, then the server is closed and the cancellation goes on.
    """
    warning = public_bind_warning(host)
    if warning is not None:
        log.warning("%s", warning)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, log_config=None, access_log=False,
        lifespan="on", proxy_headers=False, server_header=False,
        timeout_graceful_shutdown=max(1, round(shutdown_timeout_s)), ws_max_size=65536,
        ws_per_message_deflate=False,  # one compression per client per message: CPU x clients
    )
    server = _Server(config)
    sock = _bind(host, port)  # our own socket: a bind error is an OSError here, not an exit
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                if not task.cancelled() and isinstance(task.exception(), Exception):
                    task.result()
                raise OSError(f"the HTTP server on {host}:{port} did not start")
            await asyncio.sleep(0.01)
        if ready is not None:
            ready(sock.getsockname()[1])
        await asyncio.shield(task)
    finally:
        if not task.done():
            server.should_exit = True
            try:
                await asyncio.wait({task}, timeout=shutdown_timeout_s + 2.0)
            finally:  # cancelled again, or the graceful shutdown took too long
                if not task.done():
                    server.force_exit = True
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await asyncio.wait({task}, timeout=2.0)
        sock.close()
