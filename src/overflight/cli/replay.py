"""``overflight replay``: serve a capture file as a live Beast / raw receiver."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import (
    READ_ERRORS,
    app,
    bind_failed,
    endpoint,
    input_path,
    read_failed,
    speed_factor,
    warn_cut,
)
from overflight.sources.net import FanoutServer
from overflight.sources.replay import replay_file

__all__ = ["replay"]


async def _start(fmt: str, where: tuple[str, int], param_hint: str) -> FanoutServer:
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
    loop: Annotated[bool, typer.Option(help="start over at the end")] = False,
) -> None:
    """Play FILE to downstream clients as a live receiver would (Beast, optionally raw)."""
    input_path(file, "FILE")
    pace = speed_factor(speed)
    beast_at = endpoint(to, "--to")
    raw_at = endpoint(raw_to, "--raw-to") if raw_to else None
    if loop and str(file) == "-":
        raise typer.BadParameter("standard input cannot be replayed in a loop", param_hint="--loop")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

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
            while True:
                while wait and not any(o.clients for o in outs):
                    await asyncio.sleep(0.05)
                try:
                    st = await replay_file(str(file), outs, speed=pace)
                except READ_ERRORS as exc:
                    raise read_failed(file, exc, note="the frames before it were sent") from None
                typer.echo(f"replayed {st.frames:,} frames ({st.span_s:.1f} s recorded)", err=True)
                warn_cut(file, st.fault, "the frames before it were sent")
                if st.frames == 0:
                    typer.echo(f"warning: no frames in {file}: is it a capture?", err=True)
                    break
                if not loop:
                    break
        finally:
            for o in outs:
                await o.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
