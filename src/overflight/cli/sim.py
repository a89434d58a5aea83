"""``overflight sim [SCENARIO]``: simulated multi-receiver traffic to a Beast file, a directory of
recordings, or sockets."""

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
    output_dir,
    output_file,
    shown,
    speed_factor,
    untrusted,
)

__all__ = ["BUILTIN_NAMES", "sim"]

BUILTIN_NAMES = ("mlat-demo", "caracas-2019", "larnaca-beirut")
"""Every built-in scenario (kept here so that ``--help`` imports nothing heavy; a test checks it
against :data:`overflight.sim.library.SCENARIO_FILES` and ``BUILTIN_SCENARIOS``)."""
_LEGACY = ("mlat-demo",)


def _when(text: str, start_s: float, hint: str) -> float:
    """Seconds since the scenario start of ``text``: an ISO 8601 UTC time, or a duration from
    the start (``30h``, ``90min``, ``3600``)."""
    import re
    from datetime import UTC, datetime

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|min|m|h|d)?\s*", text)
    if m:
        mult = {None: 1, "s": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        return float(m.group(1)) * mult
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"want a UTC time (2019-03-23T14:00Z) or a duration from the start (30h): "
            f"{shown(text)}", param_hint=hint,
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.timestamp() - start_s


@app.command()
def sim(
    scenario: Annotated[
        str,
        typer.Argument(
            help="built-in scenario (" + ", ".join(BUILTIN_NAMES) + ") or a scenario file "
            "(TOML, see docs/scenarios.md)"
        ),
    ] = "mlat-demo",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="mlat-demo: write the aggregated Beast stream here; scenario files: a "
            "directory for the recordings, receivers.csv and the truth",
        ),
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
    background: Annotated[
        int | None,
        typer.Option(
            "--background", min=0,
            help="scenario files: background aircraft airborne at once around each receiver "
            "region (default: the scenario's)",
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="scenario files: start at this UTC time or this long after the start"
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="scenario files: stop at this UTC time or this long after the start"
        ),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="print the scenario file (to copy and edit) and exit")
    ] = False,
    scenario_time: Annotated[
        bool,
        typer.Option(
            "--scenario-time",
            help="--serve/--push: time records carry the scenario's own UTC times (as in the "
            "truth table) instead of the scenario moved to the wall clock",
        ),
    ] = False,
) -> None:
    """Simulate receivers hearing aircraft (truth kept) for MLAT, tracking and flights.

    Scenario files (caracas-2019, larnaca-beirut or your own TOML) fly aircraft gate to gate
    between real airports; --out DIR writes one Beast recording per hour (receiver ids, time
    records, as 'overflight record' writes them), receivers.csv and the truth (truth.json,
    truth_legs.csv, truth_track.csv). Played live (--serve, --push) the feeders stand in for
    receivers on the air now: their time records carry the scenario moved to the wall clock.
    --scenario-time sends the scenario's own recorded times instead, to compare live output
    with the truth table.
    """
    if scenario not in _LEGACY:
        _sim_file(scenario, out, seed, duration_s, serve, push, speed, background, from_, to,
                  show, scenario_time)  # fmt: skip
        return
    if show or background is not None or from_ is not None or to is not None:
        raise typer.BadParameter(
            "--show, --background, --from and --to are for scenario files", param_hint="SCENARIO"
        )
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


def _sim_file(
    scenario: str,
    out: Path | None,
    seed: int,
    duration_s: float | None,
    serve: str | None,
    push: str | None,
    speed: str,
    background: int | None,
    from_: str | None,
    to: str | None,
    show: bool,
    scenario_time: bool,
) -> None:
    """A scenario file: built-in by name or a path."""
    path = Path(scenario)
    if scenario not in BUILTIN_NAMES and not path.exists():
        raise typer.BadParameter(
            f"{shown(scenario)}: no such scenario file; built-in: {', '.join(BUILTIN_NAMES)}",
            param_hint="SCENARIO",
        )
    if serve is not None:
        raise typer.BadParameter(
            "scenario files play live with --push HOST:PORT (one feeder per receiver)",
            param_hint="--serve",
        )
    if not show and out is None and push is None:
        raise typer.BadParameter("give --out DIR and/or --push HOST:PORT")
    pace = speed_factor(speed) or math.inf
    push_to = endpoint(push, "--push") if push is not None else None
    if duration_s is not None and not (duration_s > 0 and math.isfinite(duration_s)):
        raise typer.BadParameter("want a number of seconds > 0", param_hint="--duration")
    from overflight.sim.library import SCENARIO_FILES
    from overflight.sim.scenario_file import ScenarioError, load_scenario, parse_scenario

    try:
        if scenario in SCENARIO_FILES:
            text = SCENARIO_FILES[scenario]
            if show:
                typer.echo(text, nl=False)
                return
            spec = parse_scenario(text, source=scenario)
        else:
            spec = load_scenario(path)
            if show:
                typer.echo(spec.text, nl=False)
                return
    except ScenarioError as exc:
        typer.echo(f"error: {shown(exc)}", err=True)
        raise typer.Exit(2) from None
    sc = spec.scenario if seed == 1 else spec.scenario.with_(seed=seed)
    if sc is not spec.scenario:
        import dataclasses

        spec = dataclasses.replace(spec, scenario=sc)
    t0 = _when(from_, sc.start_time_s, "--from") if from_ is not None else 0.0
    t1 = _when(to, sc.start_time_s, "--to") if to is not None else sc.duration_s
    if duration_s is not None:
        t1 = min(t0 + duration_s, sc.duration_s) if to is None else t1
    t0, t1 = max(t0, 0.0), min(t1, sc.duration_s)
    if not t1 > t0:
        raise typer.BadParameter(
            "the time window is empty (or outside the scenario)", param_hint="--from/--to"
        )
    if out is not None:
        output_dir(out, "--out")
    from rich.console import Console

    err = Console(stderr=True)
    from overflight.sim.recordings import iso

    err.print(untrusted(
        f"{sc.name}: {iso(sc.start_time_s + t0)} to {iso(sc.start_time_s + t1)}, "
        f"{len(sc.receivers)} receivers, {len(sc.aircraft)} aircraft"
        + (f"; {spec.note}" if spec.note else "")
    ))  # fmt: skip
    if out is not None:
        from overflight.sim.recordings import write_recordings

        try:
            rs = write_recordings(spec, out, from_s=t0, to_s=t1, background=background)
        except OSError as exc:
            typer.echo(f"error: cannot write: {shown(exc)}", err=True)
            raise typer.Exit(1) from None
        err.print(untrusted(
            f"wrote {rs.frames:,} frames ({rs.bytes:,} bytes, {rs.files} files) to {out} in "
            f"{rs.elapsed_s:.1f} s; {rs.background_flights:,} background flights; "
            "receivers.csv, truth.json, truth_legs.csv, truth_track.csv beside them"
        ))  # fmt: skip
    if push_to is None:
        return
    import asyncio

    from overflight.sim.serve import push_stream
    from overflight.sim.stream import simulate_stream

    bg = spec.background(background, t0, t1)
    results = simulate_stream(sc, from_s=t0, to_s=t1, background=bg)
    host, port = push_to
    err.print(f"pushing {len(sc.receivers)} feeders to {host}:{port}", markup=False)

    async def main() -> int:
        return await push_stream(
            results, [r.receiver_id for r in sc.receivers], host, port, from_s=t0, speed=pace,
            start_time_s=(sc.start_time_s + t0) if scenario_time else None,
            scenario_start_s=sc.start_time_s,
        )  # fmt: skip

    try:
        with contextlib.suppress(KeyboardInterrupt):
            sent = asyncio.run(main())
            err.print(f"sent {sent:,} frames")
    except (ConnectionError, TimeoutError) as exc:
        raise typer.BadParameter(
            f"cannot connect to {host}:{port} ({getattr(exc, 'strerror', None) or exc})",
            param_hint="--push",
        ) from None
    except OSError as exc:
        typer.echo(f"error: network: {exc}", err=True)
        raise typer.Exit(1) from None
