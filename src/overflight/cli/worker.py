"""``overflight worker --bus nats://HOST:PORT --shards 0-7``: own shards of a receiver network.

A worker runs a station (tracking, MLAT with ``--receivers``, flights) per shard it owns over
the frames ingest nodes (``overflight serve --bus``) publish on ``overflight.frames.<shard>``,
and publishes what it finds on ``overflight.updates.<shard>`` for API nodes and history
writers. ``--clock-sync`` runs the network's one clock-sync worker instead (every shard's
reference frames from ``overflight.sync``, clock models on ``overflight.clocks``), and
``--shared-clocks`` makes shard workers solve MLAT with those models; ``--history DB`` runs a
history writer of the updates (idempotent by sequence number). A worker resumes where
its durable consumer stands: run another with the same shards after one dies. Stops on Ctrl-C
or SIGTERM (nothing is lost: unacknowledged frames are delivered again). See docs/scaling.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import app, input_path, log_to_stderr, stop_on_signals

__all__ = ["worker"]


@app.command()
def worker(
    bus: Annotated[str, typer.Option(
        "--bus", help="NATS server with JetStream, nats://HOST:PORT", show_default=False)],
    shards: Annotated[str, typer.Option(
        "--shards", help="shards this worker owns: 0-7, 3 or 0-3,6")] = "0-7",
    receivers: Annotated[Path | None, typer.Option(
        "--receivers", help="receivers CSV (serial,latitude,longitude,height,type) for MLAT",
    )] = None,
    identity_db: Annotated[Path | None, typer.Option(
        "--identity-db", help="aircraft store for identities (default: as 'overflight db')",
    )] = None,
    no_identify: Annotated[bool, typer.Option(
        "--no-identify", help="no identities (registration, type) in flights")] = False,
    clock_sync: Annotated[bool, typer.Option(
        "--clock-sync", help="be the clock-sync worker (needs --receivers; no shards)",
    )] = False,
    shared_clocks: Annotated[bool, typer.Option(
        "--shared-clocks", help="solve MLAT with the clock-sync worker's clocks instead of "
        "each shard's own (needs --receivers)")] = False,
    history: Annotated[Path | None, typer.Option(
        "--history", help="be a history writer: store the workers' updates in this history "
        "database (DuckDB; no shards)")] = None,
    clock_wait: Annotated[float, typer.Option(
        "--clock-wait", help="with --shared-clocks: longest wait for the clock-sync worker to "
        "reach a slice, seconds")] = 10.0,
    ack_wait: Annotated[float, typer.Option(
        "--ack-wait", help="seconds before a frames message not acknowledged (a dead worker's) "
        "is delivered again")] = 30.0,
) -> None:
    """Run tracking, MLAT and flights for some shards of a network on NATS JetStream."""
    import asyncio

    from overflight.bus.subjects import parse_shards

    try:
        owned = parse_shards(shards)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--shards") from None
    if not bus.startswith(("nats://", "tls://")):
        raise typer.BadParameter("want nats://HOST:PORT", param_hint="--bus")
    if receivers is not None:
        input_path(receivers, "--receivers", stdin=False)
    if not ack_wait > 0:
        raise typer.BadParameter("want seconds > 0", param_hint="--ack-wait")
    if history is not None and (clock_sync or shared_clocks):
        raise typer.BadParameter("a history writer does nothing else", param_hint="--history")
    if (clock_sync or shared_clocks) and receivers is None:
        raise typer.BadParameter("needs --receivers",
                                 param_hint="--clock-sync" if clock_sync else "--shared-clocks")
    if not clock_wait >= 0:
        raise typer.BadParameter("want seconds >= 0", param_hint="--clock-wait")
    try:
        import nats  # noqa: F401
    except ImportError:
        typer.echo("overflight: the bus needs nats-py: pip install 'overflight[bus]'", err=True)
        raise typer.Exit(2) from None
    from overflight.bus.clocks import ClockBoard
    from overflight.bus.worker import make_station_factory, run_clock_sync, run_worker

    log_to_stderr()

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop.set)
        if history is not None:
            from overflight.bus.history import run_history_writer

            w = await run_history_writer(
                bus, history, stop=stop, ack_wait_s=ack_wait,
                ready=lambda: typer.echo(f"worker: history in {history} from {bus}", err=True))
            typer.echo(f"worker: stored {dict(w.stats.stored)}, {w.skipped} messages seen "
                       "before", err=True)
            return
        if clock_sync:
            stats = await run_clock_sync(
                bus, receivers, stop=stop, ack_wait_s=ack_wait,
                ready=lambda: typer.echo(f"worker: clock sync on {bus}", err=True))
            typer.echo(f"worker: {stats.frames} reference frames, {stats.published} clock "
                       "messages published", err=True)
            return
        board = ClockBoard(wait_s=clock_wait) if shared_clocks else None
        factory = make_station_factory(receivers_csv=receivers, identify=not no_identify,
                                       identity_db=identity_db, clocks=board)
        stats = await run_worker(
            bus, owned, make_station=factory, stop=stop, ack_wait_s=ack_wait, clocks=board,
            ready=lambda: typer.echo(f"worker: shards {shards} on {bus}", err=True))
        typer.echo(f"worker: {stats.frames} frames in {stats.batches} batches, "
                   f"{stats.published} updates published, {stats.redelivered} redelivered, "
                   f"{stats.warmup_messages} replayed to warm up",
                   err=True)

    history_errors: tuple[type[Exception], ...] = ()
    if history is not None:
        from overflight.history import HistoryError

        history_errors = (HistoryError,)
    try:
        asyncio.run(main())
    except history_errors as exc:  # locked, corrupt, too new
        typer.echo(f"overflight: {exc}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:  # a receivers table with no receiver
        typer.echo(f"overflight: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"overflight: cannot reach {bus}: {exc}", err=True)
        raise typer.Exit(1) from None
