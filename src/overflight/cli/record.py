"""``overflight record``: record a live feed to rotating Beast files (a black box).

A run that recorded no frame (receivers unreachable or silent) ends with one error line and exit
status 1 (the rule of :mod:`overflight.cli.app`: nothing usable is an error)."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from overflight.cli.app import app, bind_failed, endpoint, output_dir, quiet_cancellation, shown

__all__ = ["record"]


@app.command()
def record(
    out: Annotated[
        Path,
        typer.Option("--out", help="directory for the .beast files (created if need be)",
                     show_default=False),
    ],
    connect: Annotated[
        list[str] | None,
        typer.Option("--connect", help="receiver [HOST:]PORT to read (repeatable)"),
    ] = None,
    fmt: Annotated[
        Literal["beast", "raw"],
        typer.Option("--format", help="what --connect receivers send: beast (port 30005) or raw "
                     "AVR (30002); SBS carries no frames to record"),
    ] = "beast",
    listen_beast: Annotated[
        str | None, typer.Option("--listen-beast", help="also accept Beast feeders on [HOST:]PORT")
    ] = None,
    max_mb: Annotated[
        float, typer.Option("--max-mb", help="rotate when a file reaches this size (MiB)")
    ] = 256,
    hourly: Annotated[bool, typer.Option(help="rotate when the UTC hour changes")] = True,
    duration_s: Annotated[
        float | None,
        typer.Option("--duration", "--duration-s",
                     help="stop after this many seconds (default: run until Ctrl-C)"),
    ] = None,
) -> None:
    """Record live feeds to rotating Beast files with receiver ids and UTC times (a black box).

    The files replay with 'overflight replay' and track with 'overflight track'; a receiver
    that cannot be reached is retried with backoff, never fatal."""
    if not connect and not listen_beast:
        raise typer.BadParameter("give --connect HOST:PORT and/or --listen-beast [HOST:]PORT")
    receivers = [endpoint(c, "--connect") for c in connect or []]
    ingest = endpoint(listen_beast, "--listen-beast") if listen_beast else None
    if not (max_mb > 0 and math.isfinite(max_mb)):
        raise typer.BadParameter("want a size > 0 in MiB", param_hint="--max-mb")
    if duration_s is not None and not (duration_s > 0 and math.isfinite(duration_s)):
        raise typer.BadParameter("want a number of seconds > 0", param_hint="--duration")
    output_dir(out, "--out")
    import asyncio

    from overflight.sources.net import FeedHub, connect_feed, serve_ingest
    from overflight.sources.record import BeastRecorder

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    rec = BeastRecorder(out, max_bytes=max(1, int(max_mb * (1 << 20))), rotate_hourly=hourly)
    started = time.monotonic()

    async def main() -> None:
        quiet_cancellation()
        hub = FeedHub()
        hub.subscribe(rec)
        servers = []
        tasks: list[asyncio.Task[None]] = []
        try:
            if ingest is not None:
                try:
                    server = await serve_ingest(hub, host=ingest[0], port=ingest[1])
                except OSError as exc:
                    raise bind_failed(exc, *ingest, "--listen-beast") from None
                servers.append(server)
                port = server.sockets[0].getsockname()[1] if server.sockets else ingest[1]
                typer.echo(f"accepting Beast feeders on {ingest[0]}:{port}", err=True)
            tasks += [
                asyncio.create_task(connect_feed(host, port, hub, fmt=fmt))
                for host, port in receivers
            ]
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
                    f"{shown(st.peer)}: {st.messages} messages, {st.bad_frames} bad, "
                    f"{st.resyncs} resyncs", err=True,
                )
            typer.echo(f"recorded {rec.frames} frames to {len(rec.files)} file(s) in "
                       f"{shown(out)}", err=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    if rec.frames == 0:
        sources = ", ".join([*(f"{h}:{p}" for h, p in receivers),
                             *([f"feeders on {ingest[0]}:{ingest[1]}"] if ingest else [])])
        typer.echo(
            f"error: recorded nothing in {time.monotonic() - started:.1f} s: no frame came from "
            f"{shown(sources)} (is the receiver running, and sending {fmt}?)",
            err=True,
        )
        raise typer.Exit(1)
