"""``overflight demo``: the full server with the Caracas 2019 story played live (simulated).

Builds a config and runs what ``overflight serve --http --db --alerts defaults`` runs, fed by
the ``caracas-2019`` scenario's receivers over real loopback sockets: a child process running
``overflight sim caracas-2019 --push --scenario-time`` (one Beast feeder per receiver, background
traffic; ``--from``/``--to`` read as ``sim`` reads them), so that the simulation never holds up
the server's event loop. Ctrl-C stops the feeders first, then the server in order (exit 0).
Everything it writes goes into a temporary folder (or ``--db``'s); the page says the data is
simulated, as does every live answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from overflight.cli.app import app, endpoint, shown

__all__ = ["demo"]

log = logging.getLogger("overflight.demo")

SCENARIO = "caracas-2019"

_REGISTRY_EXTRACT = """\
$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link
1551E0,RA-86496,Russian Air Force,Ilyushin Il-62M,IL62,Mil,Caracas 2019,,,Russian Air Force,
154073,RA-82035,Russian Air Force,Antonov An-124-100,A124,Mil,Caracas 2019,,,Russian Air Force,
"""
"""The two aircraft of the story as a watchlist extract (public reporting), used when no aircraft
store has been imported (``overflight db import`` brings the full registries)."""


def _identity_store(folder: Path) -> Path | None:
    """The user's aircraft store when imported, else a small one with the story's aircraft."""
    from overflight.identity.store import default_store_path, import_file, open_store

    user = default_store_path()
    if user.exists():
        return None
    store = folder / "aircraft.sqlite"
    src = folder / "caracas-2019-registry.csv"
    src.write_text(_REGISTRY_EXTRACT, encoding="utf-8")
    con = open_store(store)
    try:
        import_file(con, src, "caracas-2019 (public reporting)")
        con.commit()
    except Exception:  # identities from the address alone: the demo still runs
        log.exception("the story's registry extract could not be imported")
    finally:
        con.close()
    try:
        from overflight.identity.index import build_index

        build_index(store)
    except Exception:
        log.exception("the story's registry extract could not be indexed")
    return store


@app.command()
def demo(
    http: Annotated[str, typer.Option(
        "--http", help="serve the map and the API on [HOST:]PORT")] = "127.0.0.1:8080",
    speed: Annotated[float, typer.Option(
        "--speed", min=1.0, help="simulated seconds per second")] = 300.0,
    background: Annotated[int | None, typer.Option(
        "--background", min=0, help="background aircraft (default: the scenario's)")] = None,
    db: Annotated[Path | None, typer.Option(
        "--db", help="keep the history in this database (default: a temporary one)")] = None,
    browser: Annotated[bool, typer.Option(
        "--browser/--no-browser", help="open the map in a browser where one exists")] = True,
    from_: Annotated[str | None, typer.Option(
        "--from", help="start the story at this UTC time, e.g. 2019-03-23T14:50Z for the "
        "arrivals at Caracas (or this long after its start: 21h; default: its start, "
        "2019-03-22T18:00Z)")] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="end the story at this UTC time (or this long after its start; default: "
        "its end, 2019-03-25T06:00Z)")] = None,
) -> None:
    """Play the Caracas 2019 story (simulated): two Russian Air Force aircraft from Chkalovsky
    via Latakia to Caracas, one with ADS-B off on its approach, among background traffic, on
    the live map with history, alerts and the API. Ctrl-C stops it.

    With a real receiver, the same server runs with 'overflight serve --connect HOST:30005
    --http 8080 --db history.duckdb --alerts defaults'."""
    import tempfile

    from overflight.cli.serve import build_station, load_alerts, run
    from overflight.sim.library import SCENARIO_FILES
    from overflight.sim.recordings import iso
    from overflight.sim.scenario_file import parse_scenario
    from overflight.station import StationConfig

    host, port = endpoint(http, "--http")
    spec = parse_scenario(SCENARIO_FILES[SCENARIO], source=SCENARIO)
    sc = spec.scenario
    t0, t1 = _window(sc, from_, to)
    tmp = Path(tempfile.mkdtemp(prefix="overflight-demo-"))
    from overflight.sim.result import write_receivers_csv

    receivers = tmp / "receivers.csv"
    write_receivers_csv(sc, receivers)
    history = db if db is not None else tmp / "history.duckdb"
    config = StationConfig(
        listen_beast=0, receivers_csv=receivers, identity_db=_identity_store(tmp),
        simulated=True, mlat_slice_s=min(10.0, max(1.0, speed / 60.0)),
    )
    station = build_station(config)
    alerts = load_alerts("defaults", history)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    typer.echo(
        f"Overflight demo: {SCENARIO} (SIMULATED data; times approximate, from public "
        f"reporting), {len(sc.receivers)} receivers, {iso(sc.start_time_s + t0)} to "
        f"{iso(sc.start_time_s + t1)} played at {speed:g}x.\n"
        f"Working folder: {shown(tmp)}", err=True)

    feeders = _Feeders(_sim_argv(speed, background, t0, t1))
    running: list[asyncio.Task[None]] = []

    def ready(ports: dict[str, int]) -> None:
        url = f"http://{host}:{ports.get('http', port)}/"
        typer.echo(f"The map: {url}  (Ctrl-C stops)", err=True)
        loop = asyncio.get_running_loop()
        feeders.task = loop.create_task(feeders.play(ports["ingest"]))
        # run() installs its Ctrl-C handler right after this call; ours replaces it on the
        # next turn of the loop, so that the feeders stop before the station closes its port
        loop.call_soon(_stop_feeders_first, loop, feeders, running[0])
        if browser:
            with contextlib.suppress(Exception):
                import os
                import webbrowser

                if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
                    webbrowser.open(url)

    async def main() -> None:
        running.append(asyncio.create_task(run(
            station, http=(host, port), db=history, alerts=alerts, ready=ready,
            stats_every_s=60.0)))
        try:
            await running[0]
        except asyncio.CancelledError:
            if not feeders.stopping:
                raise
        finally:
            await feeders.close()

    with contextlib.suppress(KeyboardInterrupt):
        _warm_up(spec, config)
        asyncio.run(main())
    typer.echo(f"stopped; the history is in {shown(history)}", err=True)


def _window(sc: Any, from_: str | None, to: str | None) -> tuple[float, float]:
    """``--from``/``--to`` as seconds since the scenario's start (read as ``overflight sim``
    reads them); a window not inside the scenario is a usage error."""
    from overflight.cli.sim import _when
    from overflight.sim.recordings import iso

    t0 = _when(from_, sc.start_time_s, "--from") if from_ is not None else 0.0
    t1 = _when(to, sc.start_time_s, "--to") if to is not None else sc.duration_s
    span = f"{SCENARIO} runs from {iso(sc.start_time_s)} to {iso(sc.start_time_s + sc.duration_s)}"
    if not 0.0 <= t0 < sc.duration_s:
        raise typer.BadParameter(f"outside the scenario: {span}", param_hint="--from")
    if not t0 < t1 <= sc.duration_s:
        raise typer.BadParameter(f"not after --from and inside the scenario: {span}",
                                 param_hint="--to")
    return t0, t1


WARM_UP = ("2019-03-23T15:02:00Z", 120.0)
"""The part of the story played through a throwaway station before the demo starts: the Il-62
landing at Caracas on MLAT, the An-124 on its approach, background traffic."""


def _warm_up(spec: Any, config: Any) -> None:
    """Compile (or load from the cache) every kernel the story needs before it plays, by
    parsing, tracking and drawing :data:`WARM_UP` on a throwaway station. ``Station.warm_up``
    covers decoding and tracking only; without this the first run after an install drops the
    story's first minutes while the tracker compiles MLAT, surface and flight kernels."""
    from datetime import datetime

    from overflight.server.views import SnapshotView
    from overflight.sim.stream import simulate_stream
    from overflight.sources.beast import BeastParser
    from overflight.station import Station

    sc = spec.scenario
    a = datetime.fromisoformat(WARM_UP[0].replace("Z", "+00:00")).timestamp() - sc.start_time_s
    b = a + WARM_UP[1]
    try:
        station = Station(config)
        for result in simulate_stream(sc, from_s=a, to_s=b, background=spec.background(None, a, b)):
            BeastParser().feed(result.beast_bytes(), final=True)  # as the feeders' bytes come
            station.process(result.frames)
            SnapshotView(station.snapshot())  # as the map asks
        station.finish()
    except Exception:  # the demo still runs, only its first minutes may be lost
        log.exception("the warm-up failed")


def _sim_argv(speed: float, background: int | None, t0: float, t1: float) -> list[str]:
    """The feeders' command: ``overflight sim caracas-2019 --push`` over ``[t0, t1)`` (seconds
    since the scenario's start) on the scenario's own clock; ``--push`` is added at play."""
    import sys

    argv = [sys.executable, "-m", "overflight", "sim", SCENARIO, "--speed", repr(speed),
            "--from", f"{t0:.6f}", "--to", f"{t1:.6f}", "--scenario-time"]
    if background is not None:
        argv += ["--background", str(background)]
    return argv


class _Feeders:
    """The scenario's receivers pushing Beast to the station, one loopback connection each,
    from a child process (``overflight sim ... --push``: the simulation runs beside the
    station, not on its event loop). Its messages go to the same standard error."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.proc: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    async def play(self, ingest_port: int) -> None:
        """Start the feeders and wait for them; say how they ended (unless stopped)."""
        import asyncio.subprocess as aio

        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, "--push", f"127.0.0.1:{ingest_port}", stdin=aio.DEVNULL,
            stdout=aio.DEVNULL, start_new_session=True)  # Ctrl-C reaches the demo only
        rc = await self.proc.wait()
        if rc == 0:
            log.info("the scenario has been played; the map stays up (Ctrl-C stops)")
        elif not self.stopping:
            log.error("the simulated receivers stopped (exit status %d)", rc)

    def stop(self) -> None:
        """Ask the feeders to stop (SIGTERM: they end without a word)."""
        self.stopping = True
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()

    async def close(self) -> None:
        """Stop the feeders and wait for them (killed after 10 s)."""
        self.stop()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.proc is not None and self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.proc.wait(), 10.0)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


def _stop_feeders_first(
    loop: asyncio.AbstractEventLoop, feeders: _Feeders, server: asyncio.Task[None]
) -> None:
    """Ctrl-C and SIGTERM: the feeders stop, then the server (``run`` cancelled stops its
    tasks in order, as on its own signal handler)."""
    import signal

    def stop() -> None:
        feeders.stop()
        server.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop)
