"""JSON errors: every refused request is answered with a 4xx JSON body that says what is wrong.

``{"error": <short kind>, "msg": <what is wrong>, "param": <parameter name, when one is>}``; a
value from the request is quoted (``repr``, cut to 40 characters) inside ``msg``, always as
JSON text, never as markup.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from overflight.jsonout import dumps

__all__ = ["ApiError", "error_response", "exception_handlers", "quote"]

log = logging.getLogger("overflight.server")

JSON_TYPE = "application/json"


class ApiError(Exception):
    """A request the API refuses: ``status`` (4xx), a short ``error`` kind, ``msg``, ``param``."""

    def __init__(self, status: int, error: str, msg: str, param: str | None = None) -> None:
        super().__init__(msg)
        self.status = status
        self.error = error
        self.msg = msg
        self.param = param


def quote(value: str, limit: int = 40) -> str:
    """An untrusted value for an error message: Python ``repr``, cut to ``limit`` characters."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def error_response(status: int, error: str, msg: str, param: str | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    """The JSON error answer."""
    body: dict[str, Any] = {"error": error, "msg": msg}
    if param is not None:
        body["param"] = param
    return Response(dumps(body), status_code=status, media_type=JSON_TYPE, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.error, exc.msg, exc.param)


_KIND = {404: "not found", 405: "method not allowed", 400: "bad request"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        msg = "no such resource (see /openapi.json for the routes)"
    elif status == 405:
        msg = f"method {request.method} is not allowed here"
    else:
        msg = str(exc.detail)
    return error_response(status, _KIND.get(status, "error"), msg, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A fault of ours or of the station, never the client's: logged, answered as unavailable.
    log.exception("request %s failed", request.url.path[:200])
    return error_response(503, "unavailable", "the live picture is unavailable right now")


def exception_handlers() -> dict[Any, Any]:
    """Starlette ``exception_handlers`` mapping for :func:`~overflight.server.create_app`."""
    return {ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected}
