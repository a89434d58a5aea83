"""``overflight replay``: serve a capture file as a live Beast / raw receiver."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import app
from overflight.sources.net import FanoutServer, parse_endpoint
from overflight.sources.replay import replay_file

__all__ = ["replay"]


def _speed(text: str) -> float | None:
    if text.lower() == "max":
        return None
    v = float(text)
    if v <= 0:
        raise typer.BadParameter("speed must be > 0 or 'max'")
    return v


@app.command()
def replay(
    file: Annotated[
        Path, typer.Argument(help="Capture: Beast, AVR, CSV, JSON lines, gzip; '-' = stdin")
    ],
    to: Annotated[str, typer.Option("--to", help="Serve Beast on HOST:PORT")] = "127.0.0.1:30005",
    raw_to: Annotated[
        str | None, typer.Option("--raw-to", help="Also serve raw AVR on HOST:PORT")
    ] = None,
    speed: Annotated[str, typer.Option(help="1 = recorded pace, N = N times faster, max")] = "1",
    wait: Annotated[bool, typer.Option(help="Start when the first client connects")] = True,
    loop: Annotated[bool, typer.Option(help="Start over at the end")] = False,
) -> None:
    """Play FILE to downstream clients as a live receiver would (Beast, optionally raw)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    pace = _speed(speed)

    async def main() -> None:
        outs: list[FanoutServer] = []
        beast = FanoutServer("beast")
        await beast.start(*parse_endpoint(to))
        outs.append(beast)
        if raw_to:
            raw = FanoutServer("raw")
            await raw.start(*parse_endpoint(raw_to))
            outs.append(raw)
        typer.echo(f"serving Beast on {to}" + (f", raw on {raw_to}" if raw_to else ""), err=True)
        try:
            while True:
                while wait and not any(o.clients for o in outs):
                    await asyncio.sleep(0.05)
                st = await replay_file(str(file), outs, speed=pace)
                typer.echo(f"replayed {st.frames} frames ({st.span_s:.1f} s recorded)", err=True)
                if not loop:
                    break
        finally:
            for o in outs:
                await o.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
