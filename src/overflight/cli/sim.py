"""``overflight sim [SCENARIO]``: simulated multi-receiver traffic to a Beast file or sockets."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import (
    app,
    bind_failed,
    endpoint,
    output_file,
    shown,
    speed_factor,
    untrusted,
)

__all__ = ["sim"]


@app.command()
def sim(
    scenario: Annotated[str, typer.Argument(help="built-in scenario name")] = "mlat-demo",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write the aggregated Beast stream (receiver ids, times) here"),
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="truth table CSV (default: OUT with .truth.csv)")
    ] = None,
    receivers: Annotated[
        Path | None,
        typer.Option(
            help="receivers CSV, OpenSky sensors.csv layout (default: OUT .receivers.csv)"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed", min=0)] = 1,
    duration_s: Annotated[
        float | None, typer.Option("--duration", help="seconds to simulate (default: scenario's)")
    ] = None,
    serve: Annotated[
        str | None,
        typer.Option(help="serve the aggregated Beast stream on HOST:PORT (waits for a client)"),
    ] = None,
    push: Annotated[
        str | None, typer.Option(help="push one Beast feeder per receiver to HOST:PORT (ingest)")
    ] = None,
    speed: Annotated[
        str, typer.Option(help="live pacing: simulated seconds per second, or 'max'")
    ] = "1",
    scenario_time: Annotated[
        bool,
        typer.Option(
            "--scenario-time",
            help="--serve/--push: time records carry the scenario's own UTC times (as in the "
            "truth table) instead of the scenario moved to the wall clock",
        ),
    ] = False,
) -> None:
    """Simulate receivers hearing aircraft (truth kept) for MLAT and tracking tests.

    Played live (--serve, --push) the feeders stand in for receivers on the air now: their time
    records carry the scenario moved to the wall clock. --scenario-time sends the scenario's
    own recorded times instead, to compare live output with the truth table.
    """
    if out is None and serve is None and push is None:
        raise typer.BadParameter("give --out FILE.beast, --serve HOST:PORT and/or --push HOST:PORT")
    if duration_s is not None and not (duration_s > 0 and math.isfinite(duration_s)):
        raise typer.BadParameter("want a number of seconds > 0", param_hint="--duration")
    pace = speed_factor(speed) or math.inf
    serve_at = endpoint(serve, "--serve") if serve is not None else None
    push_to = endpoint(push, "--push") if push is not None else None
    if out is not None:
        output_file(out, "--out")
        stem = out.with_suffix("") if out.suffix else out
        truth = output_file(truth or stem.with_name(stem.name + ".truth.csv"), "--truth")
        receivers = output_file(
            receivers or stem.with_name(stem.name + ".receivers.csv"), "--receivers"
        )
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from overflight.sim import builtin_scenario, simulate

    try:
        sc = builtin_scenario(scenario, seed=seed, duration_s=duration_s)
    except KeyError as e:
        raise typer.BadParameter(shown(e.args[0]), param_hint="SCENARIO") from None
    err = Console(stderr=True)
    t0 = time.perf_counter()
    result = simulate(sc)
    elapsed = time.perf_counter() - t0
    if out is not None:
        assert truth is not None and receivers is not None
        try:
            n = result.write_beast(out)
            result.write_truth_csv(truth)
            result.write_receivers_csv(receivers)
        except OSError as exc:
            typer.echo(f"error: cannot write: {shown(exc)}", err=True)
            raise typer.Exit(1) from None
        err.print(untrusted(f"wrote {len(result.frames):,} frames ({n:,} bytes) to {out}"))
        err.print(untrusted(f"truth: {truth}  receivers: {receivers}"))

    tx = result.truth
    table = Table(
        title=untrusted(
            f"{sc.name}: {sc.duration_s:.0f} s, seed {sc.seed}, simulated in {elapsed:.2f} s"
        )
    )
    for c in ("aircraft", "callsign", "equipage", "transmissions", "frames heard", "DF"):
        table.add_column(c)
    heard = np.bincount(tx.aircraft[result.transmission], minlength=len(sc.aircraft))
    for i, ac in enumerate(sc.aircraft):
        sel = tx.aircraft == i
        dfs = ",".join(str(int(d)) for d in np.unique(tx.df[sel]))
        table.add_row(
            untrusted(ac.icao24),
            untrusted(ac.callsign),
            "ADS-B" if ac.equipage.adsb else "Mode S only",
            str(int(sel.sum())),
            str(int(heard[i])),
            dfs,
        )
    err.print(table)
    rt = Table(title="receivers")
    for c in ("id", "name", "clock", "frames"):
        rt.add_column(c)
    for r in sc.receivers:
        clk = r.clock
        desc = (
            f"GPS {clk.jitter_ns:.0f} ns"
            if clk.gps_synchronised
            else f"12 MHz, {getattr(clk, 'drift_ppm', 0.0):+.1f} ppm, {clk.jitter_ns:.0f} ns"
        )
        rt.add_row(
            str(r.receiver_id),
            untrusted(r.label),
            desc,
            str(int((result.frames.receiver == np.uint64(r.receiver_id)).sum())),
        )
    err.print(rt)

    if serve is None and push is None:
        return
    from overflight.sim.serve import push_feeders, serve_fanout

    start_s = sc.start_time_s if scenario_time else None  # None: the wall clock at play start

    import asyncio

    async def main() -> None:
        tasks = []
        if serve_at is not None:
            host, port = serve_at
            try:  # bind now, so that a port in use is a usage error, not a failed task
                # A client that connects in this instant is hung up on (it will reconnect to
                # the real server) rather than left on a connection nobody serves.
                probe = await asyncio.start_server(lambda r, w: w.close(), host, port)
            except OSError as exc:
                raise bind_failed(exc, host, port, "--serve") from None
            probe.close()
            await probe.wait_closed()
            tasks.append(
                serve_fanout(
                    result,
                    host,
                    port,
                    speed=pace,
                    start_time_s=start_s,
                    on_listening=lambda p: err.print(
                        f"serving Beast on {host}:{p}; waiting for a client", markup=False
                    ),
                )
            )
        if push_to is not None:
            host2, port2 = push_to
            err.print(f"pushing {len(sc.receivers)} feeders to {host2}:{port2}", markup=False)
            tasks.append(push_feeders(result, host2, port2, speed=pace, start_time_s=start_s))
        try:
            sent = await asyncio.gather(*tasks)
        except OSError as exc:
            if push_to is not None and isinstance(exc, ConnectionError | TimeoutError):
                raise typer.BadParameter(
                    f"cannot connect to {push_to[0]}:{push_to[1]} ({exc.strerror or exc})",
                    param_hint="--push",
                ) from None
            typer.echo(f"error: network: {exc}", err=True)
            raise typer.Exit(1) from None
        err.print(f"sent {', '.join(f'{s:,}' for s in sent)} frames")

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
