"""The Typer application every command module registers on, and the checks commands share.

The checks turn a newcomer's mistakes (a missing file, a port in use, ``--speed abc``) into a
one-line usage error (exit status 2) instead of a traceback; :func:`read_failed` does the same
for input that breaks while it is read (a truncated or corrupt gzip: exit status 1).
:func:`untrusted` makes text from the air or from user files safe to show in a Rich table.
"""

from __future__ import annotations

import asyncio
import errno
import gzip
import math
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import typer
from rich.text import Text

__all__ = [
    "READ_ERRORS",
    "app",
    "bind_failed",
    "describe_read_error",
    "endpoint",
    "guarded",
    "input_path",
    "lat_lon",
    "output_dir",
    "output_file",
    "quiet_cancellation",
    "read_failed",
    "speed_factor",
    "untrusted",
    "warn_cut",
]

app = typer.Typer(
    name="overflight",
    help="Overflight: an open, unfiltered flight tracker for open-source investigation.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Decode, track and reconstruct flights from what 1090 MHz receivers hear."""


READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
"""What reading a capture can raise once it is open: I/O errors, a truncated or corrupt gzip.
(``EOFError`` must never reach Click, which would print a bare ``Aborted!``.)"""


# ---------------------------------------------------------------------------- files


def input_path(path: Path, param_hint: str = "FILE", *, stdin: bool = True) -> Path:
    """``path`` when it is a readable file (or ``-`` for standard input where ``stdin``)."""
    if stdin and str(path) == "-":
        return path
    if not path.exists():
        raise typer.BadParameter(f"{path}: no such file", param_hint=param_hint)
    if path.is_dir():
        raise typer.BadParameter(f"{path}: is a directory, not a file", param_hint=param_hint)
    if not path.is_file():
        return path  # a named pipe or device: opening it to check would consume or block it
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise typer.BadParameter(
            f"{path}: cannot read ({exc.strerror or exc})", param_hint=param_hint
        ) from None
    return path


def output_dir(path: Path, param_hint: str) -> Path:
    """``path`` as a writable directory, created (with its parents) if need be."""
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{path}: exists and is not a directory", param_hint=param_hint)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(
            f"{path}: cannot create the directory ({exc.strerror or exc})", param_hint=param_hint
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"{path}: directory not writable", param_hint=param_hint)
    return path


def output_file(path: Path, param_hint: str) -> Path:
    """``path`` when a file can be written there (its directory exists and is writable)."""
    if path.is_dir():
        raise typer.BadParameter(f"{path}: is a directory, not a file", param_hint=param_hint)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise typer.BadParameter(
            f"{path}: directory {parent} does not exist", param_hint=param_hint
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise typer.BadParameter(f"{path}: not writable", param_hint=param_hint)
    return path


def describe_read_error(exc: BaseException) -> str:
    """A short reason for one of :data:`READ_ERRORS`."""
    if isinstance(exc, EOFError):
        return "truncated: the compressed stream ends early"
    if isinstance(exc, (zlib.error, gzip.BadGzipFile)):
        return f"corrupt gzip data ({exc})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


T = TypeVar("T")


def guarded(items: Iterator[T], failure: list[BaseException]) -> Iterator[T]:
    """``items`` until the input breaks (truncated or corrupt gzip, I/O error): the error is
    kept in ``failure``, and what was read before it goes on as usual."""
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except READ_ERRORS as exc:
            failure.append(exc)
            return
        yield item


def warn_cut(path: Path | str, fault: BaseException | None, kept: str) -> None:
    """Warn (on stderr) that a gzip broke off: ``fault`` is the reader's, ``kept`` says what
    was done with what came before it. Nothing when ``fault`` is None."""
    if fault is not None:
        from overflight.sources.gzipread import describe_fault

        typer.echo(
            f"warning: {path}: the input ends early: {describe_fault(fault)} ({kept})", err=True
        )


def read_failed(path: Path | str, exc: BaseException, *, note: str = "") -> typer.Exit:
    """Report on standard error that reading ``path`` failed; the ``Exit(1)`` to raise.

    ``note``: what became of the part read before the failure (appended in parentheses)."""
    typer.echo(
        f"error: {path}: {describe_read_error(exc)}" + (f" ({note})" if note else ""), err=True
    )
    return typer.Exit(1)


# ---------------------------------------------------------------------------- values


def endpoint(text: str, param_hint: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1) as ``(host, port)``."""
    from overflight.sources.net import parse_endpoint

    try:
        return parse_endpoint(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not [HOST:]PORT with a port from 0 to 65535", param_hint=param_hint
        ) from None


def bind_failed(exc: OSError, host: str, port: int, param_hint: str) -> typer.BadParameter:
    """The usage error for a listening socket that cannot be opened on ``host:port``."""
    if exc.errno == errno.EADDRINUSE:
        why = f"port {port} on {host} is already in use"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine"
    elif exc.errno == errno.EACCES:
        why = f"no permission to listen on port {port} (ports below 1024 need privileges)"
    else:
        why = f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return typer.BadParameter(why, param_hint=param_hint)


def lat_lon(text: str, param_hint: str) -> tuple[float, float]:
    """``'lat,lon'`` in degrees (latitude -90..90, longitude -180..180)."""
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: want 'lat,lon' in degrees, e.g. '43.63,1.37'", param_hint=param_hint
        ) from None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise typer.BadParameter(
            f"{text!r}: latitude must be within -90..90 and longitude within -180..180 degrees",
            param_hint=param_hint,
        )
    return lat, lon


def speed_factor(text: str, param_hint: str = "--speed") -> float | None:
    """``'max'`` (or ``'inf'``: as fast as possible, None) or a finite factor > 0."""
    if text.strip().lower() in ("max", "inf"):
        return None
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (v > 0 and math.isfinite(v)):
        raise typer.BadParameter(
            f"{text!r}: want a number > 0 (1 = recorded pace) or 'max'", param_hint=param_hint
        )
    return v


def quiet_cancellation() -> None:
    """Let the running loop stop without tracebacks from cancelled connection handlers.

    Python 3.11's ``asyncio.start_server`` reports a cancelled handler (every connected feeder
    at Ctrl-C or shutdown) as an "exception in callback"; anything else is reported as usual."""
    loop = asyncio.get_running_loop()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError):
            return
        lp.default_exception_handler(context)

    loop.set_exception_handler(handler)


# ---------------------------------------------------------------------------- display

_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _show(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def untrusted(value: object) -> Text:
    """Text from the air or a user's file, shown literally in Rich output.

    No markup (``[bold]``), no emoji codes (``:fire:``); control characters (terminal escape
    sequences) and invisible or direction-changing format characters are shown as ``\\xNN`` /
    ``\\uNNNN``. ``None`` is shown as nothing."""
    s = "" if value is None else str(value)
    return Text(_HIDDEN.sub(_show, s))
