"""``overflight serve``: ingest receivers and feeders, re-serve Beast / raw / SBS downstream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import app
from overflight.pipeline import TrackingSink
from overflight.sources.net import (
    DEFAULT_HOST,
    FanoutServer,
    FeedHub,
    connect_feed,
    parse_endpoint,
    serve_ingest,
)
from overflight.sources.record import BeastRecorder
from overflight.tracking import Tracker

__all__ = ["serve"]


def _has_clients(server: FanoutServer) -> bool:
    return bool(server.clients)


@app.command()
def serve(
    connect: Annotated[
        list[str] | None, typer.Option("--connect", help="Beast receiver HOST:PORT (repeatable)")
    ] = None,
    connect_raw: Annotated[
        list[str] | None, typer.Option("--connect-raw", help="Raw AVR receiver HOST:PORT")
    ] = None,
    listen_beast: Annotated[
        int | None, typer.Option("--listen-beast", help="Accept Beast feeders on this port")
    ] = None,
    beast_out: Annotated[int | None, typer.Option("--beast-out", help="Serve Beast")] = None,
    raw_out: Annotated[int | None, typer.Option("--raw-out", help="Serve raw AVR")] = None,
    sbs_out: Annotated[int | None, typer.Option("--sbs-out", help="Serve SBS lines")] = None,
    bind: Annotated[str, typer.Option(help="Address to listen on")] = DEFAULT_HOST,
    record_dir: Annotated[
        Path | None, typer.Option("--record", help="Also record to this directory")
    ] = None,
    stats_every_s: Annotated[float, typer.Option(help="Log receiver statistics period")] = 60.0,
    receiver: Annotated[
        str | None,
        typer.Option(help="receiver position 'lat,lon' (surface positions in SBS output)"),
    ] = None,
) -> None:
    """Connect to receivers, accept feeders, and fan frames out to downstream clients."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not (connect or connect_raw or listen_beast is not None):
        raise typer.BadParameter("give --connect, --connect-raw or --listen-beast")
    log = logging.getLogger("overflight.serve")
    rx: tuple[float, float] | None = None
    if receiver:
        try:
            lat_s, lon_s = receiver.split(",")
            rx = (float(lat_s), float(lon_s))
        except ValueError as exc:
            raise typer.BadParameter("--receiver wants 'lat,lon' in degrees") from exc

    async def main() -> None:
        hub = FeedHub()
        outs: list[FanoutServer] = []
        for fmt, port in (("beast", beast_out), ("raw", raw_out), ("sbs", sbs_out)):
            if port is not None:
                o = FanoutServer(fmt)
                await o.start(bind, port)
                if fmt == "sbs":
                    # SBS lines come from the tracker: positions need CPR pairing and state
                    hub.subscribe(
                        TrackingSink(
                            Tracker(rx), on_sbs=o.send_sbs, wants_sbs=partial(_has_clients, o)
                        )
                    )
                else:
                    hub.subscribe(o)
                outs.append(o)
                log.info("serving %s on %s:%d", fmt, bind, o.port)
        rec = BeastRecorder(record_dir) if record_dir is not None else None
        if rec is not None:
            hub.subscribe(rec)
        tasks = [asyncio.create_task(connect_feed(*parse_endpoint(c), hub)) for c in connect or []]
        tasks += [
            asyncio.create_task(connect_feed(*parse_endpoint(c), hub, fmt="raw"))
            for c in connect_raw or []
        ]
        servers = []
        if listen_beast is not None:
            servers.append(await serve_ingest(hub, host=bind, port=listen_beast))
            log.info("accepting Beast feeders on %s:%d", bind, listen_beast)
        try:
            while True:
                await asyncio.sleep(stats_every_s)
                for st in hub.receivers.values():
                    log.info(
                        "receiver %d %s: %d msgs, %.1f msg/s, %d bad, %d resyncs, last %.0f",
                        st.receiver, st.peer, st.messages, st.rate_msg_s, st.bad_frames,
                        st.resyncs, st.last_seen_s,
                    )
        finally:
            for t in tasks:
                t.cancel()
            for s in servers:
                s.close()
            for o in outs:
                await o.close()
            if rec is not None:
                rec.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
