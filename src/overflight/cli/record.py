"""``overflight record``: record a live feed to rotating Beast files (a black box)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import app
from overflight.sources.net import FeedHub, connect_feed, parse_endpoint, serve_ingest
from overflight.sources.record import BeastRecorder

__all__ = ["record"]


@app.command()
def record(
    out: Annotated[Path, typer.Option("--out", help="Directory for the .beast files")],
    connect: Annotated[
        list[str] | None, typer.Option("--connect", help="Receiver HOST:PORT (repeatable)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="beast | raw | sbs for --connect")] = "beast",
    listen_beast: Annotated[
        str | None, typer.Option("--listen-beast", help="Also accept Beast feeders on [HOST:]PORT")
    ] = None,
    max_mb: Annotated[float, typer.Option(help="Rotate when a file reaches this size (MiB)")] = 256,
    hourly: Annotated[bool, typer.Option(help="Rotate when the UTC hour changes")] = True,
    duration_s: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until ^C)")
    ] = None,
) -> None:
    """Record frames with receiver ids and absolute times (see overflight.sources.record)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not connect and not listen_beast:
        raise typer.BadParameter("give --connect HOST:PORT and/or --listen-beast PORT")
    rec = BeastRecorder(out, max_bytes=int(max_mb * (1 << 20)), rotate_hourly=hourly)

    async def main() -> None:
        hub = FeedHub()
        hub.subscribe(rec)
        tasks = [
            asyncio.create_task(connect_feed(*parse_endpoint(c), hub, fmt=fmt))
            for c in connect or []
        ]
        servers = []
        if listen_beast:
            host, port = parse_endpoint(listen_beast)
            servers.append(await serve_ingest(hub, host=host, port=port))
        try:
            if duration_s is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(duration_s)
        finally:
            for t in tasks:
                t.cancel()
            for s in servers:
                s.close()
            rec.close()
            for st in hub.receivers.values():
                typer.echo(
                    f"{st.peer}: {st.messages} messages, {st.bad_frames} bad, "
                    f"{st.resyncs} resyncs", err=True,
                )
            typer.echo(f"recorded {rec.frames} frames to {len(rec.files)} file(s)", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
