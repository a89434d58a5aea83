"""``overflight demo``: the full server with the Caracas 2019 story played live (simulated).

Builds a config and runs what ``overflight serve --http --db --alerts defaults`` runs, fed by
the ``caracas-2019`` scenario's receivers over real loopback sockets (one Beast feeder each, as
``overflight sim caracas-2019 --push`` does) plus background traffic. Everything it writes goes
into a temporary folder (or ``--db``'s); the page and every API answer say the data is simulated.
"""

from __future__ import annotations

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
) -> None:
    """Play the Caracas 2019 story (simulated): two Russian Air Force aircraft from Chkalovsky
    via Latakia to Caracas, one with ADS-B off on its approach, among background traffic, on
    the live map with history, alerts and the API. Ctrl-C stops it.

    With a real receiver, the same server runs with 'overflight serve --connect HOST:30005
    --http 8080 --db history.duckdb --alerts defaults'."""
    import asyncio
    import tempfile

    from overflight.cli.serve import build_station, load_alerts, run
    from overflight.sim.library import SCENARIO_FILES
    from overflight.sim.scenario_file import parse_scenario
    from overflight.station import StationConfig

    host, port = endpoint(http, "--http")
    spec = parse_scenario(SCENARIO_FILES[SCENARIO], source=SCENARIO)
    sc = spec.scenario
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
        f"reporting), {len(sc.receivers)} receivers, played at {speed:g}x.\n"
        f"Working folder: {shown(tmp)}", err=True)

    pusher: list[asyncio.Task[Any]] = []

    def ready(ports: dict[str, int]) -> None:
        url = f"http://{host}:{ports.get('http', port)}/"
        typer.echo(f"The map: {url}  (Ctrl-C stops)", err=True)
        pusher.append(asyncio.get_running_loop().create_task(
            _play(spec, ports["ingest"], speed, background)))
        if browser:
            with contextlib.suppress(Exception):
                import os
                import webbrowser

                if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
                    webbrowser.open(url)

    async def main() -> None:
        try:
            await run(station, http=(host, port), db=history, alerts=alerts, ready=ready,
                      stats_every_s=60.0)
        finally:
            for t in pusher:
                t.cancel()
                with contextlib.suppress(BaseException):
                    await t

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    typer.echo(f"stopped; the history is in {shown(history)}", err=True)


async def _play(spec: Any, ingest_port: int, speed: float, background: int | None) -> None:
    """Push the scenario's receivers to the station, on the scenario's own clock (2019)."""
    from overflight.sim.serve import push_stream
    from overflight.sim.stream import simulate_stream

    sc = spec.scenario
    bg = spec.background(background, 0.0, sc.duration_s)
    results = simulate_stream(sc, background=bg)
    try:
        sent = await push_stream(
            results, [r.receiver_id for r in sc.receivers], "127.0.0.1", ingest_port,
            speed=speed, start_time_s=sc.start_time_s, scenario_start_s=sc.start_time_s,
        )
        log.info("the scenario has been played: %d frames", sent)
    except (ConnectionError, OSError) as exc:
        log.error("the simulated receivers lost the station: %s", exc)
