"""The Typer application every command module registers on, and what commands share.

Exit status, one rule for every command:

* **0**: the input was read and something in it was used; junk beside it is counted and
  skipped. Input that **ends early** (a truncated or corrupt gzip, a cut Beast stream) after
  something was read: what was read is used, and one line on stderr says so,
  ``warning: PATH: the input ends early: REASON (what was done with the part before it)``
  (:func:`warn_cut`).
* **1**: nothing usable in the content: no frame (or position) found in the whole input, a
  corrupt or cut gzip with nothing before the fault, a file that is not what its format needs
  (``flights``: not a positions file), a database file of which nothing could be imported; or a
  run that produced nothing it was asked for (``record`` that recorded no frame). One
  ``error: PATH: ...`` line (:func:`read_failed`). (Raw I/Q without a burst is a quiet sky: 0.)
* **2**: usage errors, before any work: a missing or unreadable path, a directory for a file,
  a bad option value, a port in use (``typer.BadParameter``).

Every path or file name shown goes through :func:`shown` (plain text: control and invisible
characters as ``\\xNN``) or :func:`untrusted` (the same, as Rich text with no markup), so a
file named ``[link=file:x]`` or ``\\x1b[2J`` prints as written and does nothing to the terminal.

Tables go through :func:`print_table`: fitted to a terminal by dropping the least useful
columns, whole values as TSV when standard output is not a terminal. Long work shows a Rich
progress display on a terminal (:func:`progress`), nothing when standard error is not a
terminal or with ``--quiet``.

This module and the command modules import no heavy module (numpy, pyarrow, pandas, scipy,
numba, the pipeline stages) at their top: ``overflight --help`` must start in a blink.
"""

from __future__ import annotations

import errno
import math
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

import typer
from rich.text import Text

if TYPE_CHECKING:
    import asyncio

    from rich.console import Console

__all__ = [
    "READ_ERRORS",
    "Column",
    "app",
    "bind_failed",
    "describe_read_error",
    "endpoint",
    "guarded",
    "input_path",
    "lat_lon",
    "log_to_stderr",
    "output_dir",
    "output_file",
    "print_table",
    "progress",
    "quiet_cancellation",
    "read_failed",
    "shown",
    "speed_factor",
    "stop_on_signals",
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


def _print_version(value: bool) -> None:
    if value:
        from overflight import __version__

        typer.echo(f"overflight {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="print the version and exit", is_eager=True,
                     callback=_print_version),
    ] = False,
) -> None:
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
        raise typer.BadParameter(f"{shown(path)}: no such file", param_hint=param_hint)
    if path.is_dir():
        raise typer.BadParameter(
            f"{shown(path)}: is a directory, not a file", param_hint=param_hint
        )
    if not path.is_file():
        return path  # a named pipe or device: opening it to check would consume or block it
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise typer.BadParameter(
            f"{shown(path)}: cannot read ({exc.strerror or exc})", param_hint=param_hint
        ) from None
    return path


def output_dir(path: Path, param_hint: str) -> Path:
    """``path`` as a writable directory, created (with its parents) if need be."""
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(
            f"{shown(path)}: exists and is not a directory", param_hint=param_hint
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(
            f"{shown(path)}: cannot create the directory ({exc.strerror or exc})",
            param_hint=param_hint,
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"{shown(path)}: directory not writable", param_hint=param_hint)
    return path


def output_file(path: Path, param_hint: str) -> Path:
    """``path`` when a file can be written there (its directory exists and is writable)."""
    if path.is_dir():
        raise typer.BadParameter(
            f"{shown(path)}: is a directory, not a file", param_hint=param_hint
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise typer.BadParameter(
            f"{shown(path)}: directory {shown(parent)} does not exist", param_hint=param_hint
        )
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise typer.BadParameter(f"{shown(path)}: not writable", param_hint=param_hint)
    return path


def describe_read_error(exc: BaseException) -> str:
    """A short reason for one of :data:`READ_ERRORS`."""
    if isinstance(exc, EOFError):
        return "truncated: the compressed stream ends early"
    import gzip

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
            f"warning: {shown(path)}: the input ends early: {describe_fault(fault)} ({kept})",
            err=True,
        )


def read_failed(path: Path | str, exc: BaseException, *, note: str = "") -> typer.Exit:
    """Report on standard error that reading ``path`` failed; the ``Exit(1)`` to raise.

    ``note``: what became of the part read before the failure (appended in parentheses)."""
    typer.echo(
        f"error: {shown(path)}: {describe_read_error(exc)}" + (f" ({note})" if note else ""),
        err=True,
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
    import asyncio

    loop = asyncio.get_running_loop()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError):
            return
        lp.default_exception_handler(context)

    loop.set_exception_handler(handler)


def stop_on_signals(stop: Callable[[], object]) -> Callable[[], None]:
    """Call ``stop()`` on Ctrl-C or SIGTERM in the running loop (where the platform lets a
    loop handle signals), so a long-running command stops its tasks in order; returns what
    gives the signals back (a second Ctrl-C while stopping then interrupts)."""
    import asyncio
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    sigs = (signal.SIGINT, signal.SIGTERM)
    for sig in sigs:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)

    def release() -> None:
        for sig in sigs:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    return release


def log_to_stderr() -> None:
    """The long-running commands' log: time, level, message on stderr; NATS's client chatter
    only from warnings up."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("nats").setLevel(logging.WARNING)


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


def shown(path: object) -> str:
    """A path or file name (or any untrusted string) as it may be printed: control characters
    (terminal escape sequences), tabs, newlines and invisible or direction-changing characters
    as ``\\xNN`` / ``\\uNNNN``. Every path a command prints goes through this function (or
    :func:`untrusted`, which applies the same rule to Rich text)."""
    return _HIDDEN.sub(_show, str(path))


# ---------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One column of :func:`print_table`.

    ``priority``: how readily the column is dropped on a narrow terminal, 0 never; columns go
    from the highest priority down (of equal ones, the rightmost first)."""

    header: str
    priority: int = 0
    justify: Literal["left", "right", "center"] = "left"
    style: str | None = None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        value = value.plain
    return shown(value)


def print_table(
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    *,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """Print ``rows`` (one value per column; None prints as nothing; every value is shown
    literally, see :func:`shown`) to standard output.

    On a terminal: a Rich table fitted to its width. Columns that do not fit are dropped, the
    highest ``priority`` first, and a caption names them; a value is never cut with "…"
    (one too wide for the terminal wraps). Otherwise (a pipe, a file): tab-separated values,
    a header line then one line per row, every value whole, and ``title`` on standard error.
    ``console``: where to print (default: standard output)."""
    from rich.console import Console as _Console
    from rich.table import Table

    out = console if console is not None else _Console()
    cells = [[_cell(v) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} values for {len(columns)} columns")
    if not out.is_terminal:
        if title:
            typer.echo(shown(title), err=True)
        lines = ["\t".join(shown(c.header) for c in columns)]
        lines += ["\t".join(row) for row in cells]
        out.file.write("\n".join(lines) + "\n")
        out.file.flush()
        return
    from rich.cells import cell_len as width_of

    natural = [
        max([width_of(c.header), *(width_of(row[i]) for row in cells)])
        for i, c in enumerate(columns)
    ]
    keep = list(range(len(columns)))

    def total(idx: list[int]) -> int:  # the default box: a border per column + 2 of padding
        return sum(natural[i] + 3 for i in idx) + 1

    droppable = sorted(
        (i for i, c in enumerate(columns) if c.priority > 0),
        key=lambda i: (columns[i].priority, i),
        reverse=True,
    )
    dropped: list[int] = []
    for i in droppable:
        if total(keep) <= out.width:
            break
        keep.remove(i)
        dropped.append(i)
    caption = None
    if dropped:
        names = ", ".join(shown(columns[i].header) for i in sorted(dropped))
        caption = f"not shown (terminal too narrow): {names}; pipe the output for every column"
    table = Table(
        title=untrusted(title) if title else None,
        caption=untrusted(caption) if caption else None,
    )
    for i in keep:
        c = columns[i]
        table.add_column(untrusted(c.header), justify=c.justify, style=c.style, overflow="fold")
    for row in cells:
        table.add_row(*(Text(row[i]) for i in keep))
    out.print(table)


# ---------------------------------------------------------------------------- progress


@contextmanager
def progress(
    description: str, *, total: float | None = None, quiet: bool = False, unit: str = ""
) -> Iterator[Callable[..., None]]:
    """A Rich progress display on standard error while the block runs (a bar when ``total``
    is known, a spinner otherwise), removed when done; nothing with ``quiet`` or when standard
    error is not a terminal. Yields ``step(advance=1, description=None)``: ``description``
    replaces the text (shown literally, like a file name)."""
    from rich.console import Console as _Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    err = _Console(stderr=True)
    columns: list[object] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    if unit:
        columns.append(TextColumn(escape(unit)))
    columns.append(TimeElapsedColumn())
    bar = Progress(*columns, console=err, transient=True,  # type: ignore[arg-type]
                   disable=quiet or not err.is_terminal)
    with bar:
        task = bar.add_task(escape(shown(description)), total=total)

        def step(advance: float = 1, description: str | None = None) -> None:
            if description is None:
                bar.advance(task, advance)
            else:
                bar.update(task, advance=advance, description=escape(shown(description)))

        yield step
