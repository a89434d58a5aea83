"""``overflight sim [SCENARIO]``: simulated multi-receiver traffic to a Beast file or sockets."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from overflight.cli.app import app

__all__ = ["sim"]


def _speed(text: str) -> float:
    if text.strip().lower() in ("max", "inf"):
        return math.inf
    v = float(text)
    if not v > 0:
        raise typer.BadParameter("--speed is a positive number or 'max'")
    return v


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
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
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
) -> None:
    """Simulate receivers hearing aircraft (truth kept) for MLAT and tracking tests."""
    from overflight.sim import builtin_scenario, simulate
    from overflight.sources.net import parse_endpoint

    try:
        sc = builtin_scenario(scenario, seed=seed, duration_s=duration_s)
    except KeyError as e:
        raise typer.BadParameter(str(e.args[0])) from None
    pace = _speed(speed)
    if out is None and serve is None and push is None:
        raise typer.BadParameter("give --out FILE.beast, --serve HOST:PORT and/or --push HOST:PORT")
    err = Console(stderr=True)
    t0 = time.perf_counter()
    result = simulate(sc)
    elapsed = time.perf_counter() - t0
    if out is not None:
        n = result.write_beast(out)
        stem = out.with_suffix("") if out.suffix else out
        truth_path = truth or stem.with_name(stem.name + ".truth.csv")
        rx_path = receivers or stem.with_name(stem.name + ".receivers.csv")
        result.write_truth_csv(truth_path)
        result.write_receivers_csv(rx_path)
        err.print(f"wrote {len(result.frames):,} frames ({n:,} bytes) to {out}")
        err.print(f"truth: {truth_path}  receivers: {rx_path}")

    tx = result.truth
    table = Table(
        title=f"{sc.name}: {sc.duration_s:.0f} s, seed {sc.seed}, simulated in {elapsed:.2f} s"
    )
    for c in ("aircraft", "callsign", "equipage", "transmissions", "frames heard", "DF"):
        table.add_column(c)
    heard = np.bincount(tx.aircraft[result.transmission], minlength=len(sc.aircraft))
    for i, ac in enumerate(sc.aircraft):
        sel = tx.aircraft == i
        dfs = ",".join(str(int(d)) for d in np.unique(tx.df[sel]))
        table.add_row(
            ac.icao24,
            ac.callsign,
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
            r.label,
            desc,
            str(int((result.frames.receiver == np.uint64(r.receiver_id)).sum())),
        )
    err.print(rt)

    if serve is None and push is None:
        return
    from overflight.sim.serve import push_feeders, serve_fanout

    async def main() -> None:
        tasks = []
        if serve is not None:
            host, port = parse_endpoint(serve)
            tasks.append(
                serve_fanout(
                    result,
                    host,
                    port,
                    speed=pace,
                    on_listening=lambda p: err.print(
                        f"serving Beast on {host}:{p}; waiting for a client"
                    ),
                )
            )
        if push is not None:
            host2, port2 = parse_endpoint(push)
            err.print(f"pushing {len(sc.receivers)} feeders to {host2}:{port2}")
            tasks.append(push_feeders(result, host2, port2, speed=pace))
        sent = await asyncio.gather(*tasks)
        err.print(f"sent {', '.join(f'{s:,}' for s in sent)} frames")

    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(main())
        except OSError as e:
            raise typer.BadParameter(f"network: {e}") from None
