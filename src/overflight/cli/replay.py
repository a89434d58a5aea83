"""``overflight replay``: serve a capture file as a live Beast / raw receiver.

Without ``--loop`` the file is played once (for the first client, unless ``--no-wait``) and the
command ends; with ``--loop`` it is played again and again, waiting whenever no client is
connected, until Ctrl-C: a receiver that stays up while trackers come and go."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from overflight.cli.app import (
    READ_ERRORS,
    app,
    bind_failed,
    endpoint,
    input_path,
    read_failed,
    shown,
    speed_factor,
    warn_cut,
)

if TYPE_CHECKING:
    from overflight.sources.net import FanoutServer

__all__ = ["replay"]


async def _start(fmt: str, where: tuple[str, int], param_hint: str) -> FanoutServer:
    from overflight.sources.net import FanoutServer

    server = FanoutServer(fmt)
    try:
        await server.start(*where)
    except OSError as exc:
        raise bind_failed(exc, *where, param_hint) from None
    return server


@app.command()
def replay(
    file: Annotated[
        Path,
        typer.Argument(
            help="capture: Beast, AVR, hex, CSV, JSON lines, gzip; '-' = standard input",
            show_default=False,
        ),
    ],
    to: Annotated[
        str, typer.Option("--to", help="serve Beast on [HOST:]PORT (port 0: any free port)")
    ] = "127.0.0.1:30005",
    raw_to: Annotated[
        str | None, typer.Option("--raw-to", help="also serve raw AVR on [HOST:]PORT")
    ] = None,
    speed: Annotated[
        str, typer.Option(help="1 = recorded pace, N = N times faster, 'max' = no pacing")
    ] = "1",
    wait: Annotated[bool, typer.Option(help="start when the first client connects")] = True,
    loop: Annotated[bool, typer.Option(
        help="play again and again (waiting whenever no client is connected) until Ctrl-C")
    ] = False,
) -> None:
    """Play FILE to downstream clients as a live receiver would (Beast, optionally raw).

    Without --loop, FILE is played once, for the first client, and the command ends."""
    input_path(file, "FILE")
    pace = speed_factor(speed)
    beast_at = endpoint(to, "--to")
    raw_at = endpoint(raw_to, "--raw-to") if raw_to else None
    if loop and str(file) == "-":
        raise typer.BadParameter("standard input cannot be replayed in a loop", param_hint="--loop")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import asyncio

    from overflight.sources.replay import replay_file

    async def main() -> None:
        outs = [await _start("beast", beast_at, "--to")]
        try:
            if raw_at is not None:
                outs.append(await _start("raw", raw_at, "--raw-to"))
            where = ", ".join(
                f"{name} on {host}:{o.port}"
                for name, (host, _), o in zip(
                    ("Beast", "raw"), (beast_at, raw_at or beast_at), outs, strict=False
                )
            )
            typer.echo(f"serving {where}" + ("; waiting for a client" if wait else ""), err=True)
            passes = 0
            while True:
                while wait and not any(o.clients for o in outs):
                    await asyncio.sleep(0.05)
                try:
                    st = await replay_file(str(file), outs, speed=pace)
                except READ_ERRORS as exc:
                    raise read_failed(file, exc, note="the frames before it were sent") from None
                passes += 1
                typer.echo(f"replayed {st.frames:,} frames ({st.span_s:.1f} s recorded)"
                           + (f", pass {passes}" if loop else ""), err=True)
                if st.frames == 0 and st.fault is not None:  # nothing could be read: exit 1
                    raise read_failed(file, st.fault, note="nothing before it could be read")
                warn_cut(file, st.fault, "the frames before it were sent")
                if st.frames == 0:  # nothing usable at all: exit 1
                    typer.echo(f"error: {shown(file)}: no frames found: is it a capture?",
                               err=True)
                    raise typer.Exit(1)
                if not loop:
                    typer.echo("done (--loop plays it again and again)", err=True)
                    break
        finally:
            for o in outs:
                await o.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
