"""``overflight serve``: run the station live: receivers and feeders in, Beast / raw / SBS
re-served, tracking, MLAT, identities and flights; optionally the HTTP API and map (``--http``).

With ``--receivers RX.csv`` the frames are also multilaterated: aircraft without ADS-B get MLAT
positions, sent as SBS lines marked ``MLAT``. Multilateration needs each frame's receiver id to
be the receiver's serial in the CSV. A feed that sends ``0x1a 0xe3`` receiver-id records
(``overflight sim --push``, readsb aggregators) has them already; any other feed is numbered by
the hub (1, 2, ... in order of connection) and must be named with ``--receiver-id PEER=SERIAL``.

This module only builds a :class:`~overflight.station.StationConfig` and runs the station.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from overflight.cli.app import (
    app,
    bind_failed,
    endpoint,
    input_path,
    lat_lon,
    log_to_stderr,
    output_dir,
    shown,
    stop_on_signals,
)

if TYPE_CHECKING:
    from overflight.station import Station, StationConfig

__all__ = ["parse_receiver_ids", "serve"]

log = logging.getLogger("overflight.serve")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 8080


def parse_receiver_ids(items: list[str]) -> dict[str, int]:
    """``PEER=SERIAL`` options to ``{peer: serial}``; PEER is ``HOST:PORT`` (a ``--connect``
    receiver, normalised as the hub names it) or an IP address (every feeder from it)."""
    out: dict[str, int] = {}
    for item in items:
        peer, sep, serial_s = item.rpartition("=")
        try:
            serial = int(serial_s, 0)
        except ValueError:
            serial = -1
        if not sep or not peer or not 0 <= serial < 1 << 64:
            raise typer.BadParameter(
                f"{item!r}: want PEER=SERIAL, e.g. 127.0.0.1:30005=1001 or 192.0.2.7=1002",
                param_hint="--receiver-id",
            )
        if peer.startswith("[") or peer.count(":") == 1:  # HOST:PORT, [IPv6]:PORT
            host, port = endpoint(peer, "--receiver-id")
            peer = f"{host}:{port}"
        out[peer] = serial  # else an address: IPv4, or IPv6 without brackets
    return out


def http_endpoint(text: str) -> tuple[str, int]:
    """``[HOST:]PORT`` of ``--http`` (host 127.0.0.1 by default)."""
    return endpoint(text, "--http")


@app.command()
def serve(
    connect: Annotated[
        list[str] | None,
        typer.Option("--connect", help="Beast receiver [HOST:]PORT to read (repeatable)"),
    ] = None,
    connect_raw: Annotated[
        list[str] | None,
        typer.Option("--connect-raw", help="raw AVR receiver [HOST:]PORT to read (repeatable)"),
    ] = None,
    connect_sbs: Annotated[
        list[str] | None,
        typer.Option("--connect-sbs",
                     help="SBS (BaseStation, port 30003) feed [HOST:]PORT to read: state decoded "
                     "elsewhere, tracked as source sbs (repeatable)"),
    ] = None,
    listen_beast: Annotated[
        int | None,
        typer.Option("--listen-beast", min=0, max=65535,
                     help="accept feeders pushing Beast on this port (readsb --net-connector)"),
    ] = None,
    beast_out: Annotated[
        int | None, typer.Option("--beast-out", min=0, max=65535, help="serve Beast on this port")
    ] = None,
    raw_out: Annotated[
        int | None, typer.Option("--raw-out", min=0, max=65535, help="serve raw AVR on this port")
    ] = None,
    sbs_out: Annotated[
        int | None,
        typer.Option("--sbs-out", min=0, max=65535,
                     help="serve SBS (BaseStation) lines of the tracked state on this port"),
    ] = None,
    http: Annotated[
        str | None,
        typer.Option("--http", help="serve the HTTP API (readsb aircraft.json, ADS-B Exchange "
                     f"v2) on [HOST:]PORT (e.g. {DEFAULT_HTTP_PORT})"),
    ] = None,
    bind: Annotated[str, typer.Option(help="address the listening ports bind")] = DEFAULT_HOST,
    record_dir: Annotated[
        Path | None, typer.Option("--record", help="also record to this directory")
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="store frames, positions, flights and events in this history "
                     "database (DuckDB) as they arrive"),
    ] = None,
    bus: Annotated[
        str | None,
        typer.Option("--bus", help="also publish the frames to NATS JetStream at nats://HOST:PORT, "
                     "sharded by aircraft address, for 'overflight worker' (scale-out)"),
    ] = None,
    bus_shards: Annotated[
        int, typer.Option("--bus-shards", min=1, max=4096, help="shards on the bus")] = 8,
    ingest_only: Annotated[
        bool, typer.Option("--ingest-only", help="with --bus: number and publish the frames "
                           "only (no tracking here: the workers track; no --http, --sbs-out "
                           "or --alerts)")] = False,
    api_only: Annotated[
        bool, typer.Option("--api-only", help="with --bus and --http: serve the live picture "
                           "of the workers' updates (an API node: no receivers)")] = False,
    alerts: Annotated[
        str | None,
        typer.Option("--alerts",
                     help="alert rules: a TOML file (see docs/alerts.md), or 'defaults' for the "
                     "shipped rules; alerts go to their targets, /alerts.atom and /api/alerts"),
    ] = None,
    identity_db: Annotated[
        Path | None,
        typer.Option("--identity-db",
                     help="aircraft store for identities (default: as 'overflight db')"),
    ] = None,
    stats_every_s: Annotated[
        float, typer.Option("--stats-every-s", help="log receiver statistics every N seconds")
    ] = 60.0,
    receiver: Annotated[
        str | None,
        typer.Option(help="receiver position 'lat,lon' in degrees (surface positions in SBS)"),
    ] = None,
    receivers: Annotated[
        Path | None,
        typer.Option(
            "--receivers",
            help="receivers CSV (serial,latitude,longitude,height,type): multilaterate, MLAT "
            "positions go out as SBS lines",
        ),
    ] = None,
    receiver_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--receiver-id",
            help="PEER=SERIAL: the receivers-CSV serial of a feed without 0xe3 ids; PEER is a "
            "--connect HOST:PORT or a feeder's IP address (repeatable)",
        ),
    ] = None,
) -> None:
    """Run the station live: connect to receivers, accept feeders, track, and serve.

    Frames are re-served as they come (--beast-out, --raw-out); tracking runs on its own
    thread (SBS lines of the tracked state with --sbs-out; MLAT with --receivers, positions
    going out as SBS lines marked MLAT). Frames need the receiver serials of the CSV: feeds
    with 0xe3 receiver-id records have them, any other feed is named with --receiver-id."""
    from overflight.station import StationConfig

    if api_only:
        serve_api_node(bus, http, identity_db, inputs=bool(
            connect or connect_raw or connect_sbs or listen_beast is not None))
        return
    if ingest_only:
        if bus is None:
            raise typer.BadParameter("needs --bus", param_hint="--ingest-only")
        for given, name in ((http, "--http"), (sbs_out, "--sbs-out"), (alerts, "--alerts")):
            if given is not None:
                raise typer.BadParameter(f"an ingest-only node tracks nothing to serve: "
                                         f"leave out {name} (run an API node: --api-only)",
                                         param_hint="--ingest-only")
    if not (connect or connect_raw or connect_sbs or listen_beast is not None):
        raise typer.BadParameter("give --connect, --connect-raw, --connect-sbs or --listen-beast")
    if not (stats_every_s > 0 and math.isfinite(stats_every_s)):
        raise typer.BadParameter("want a number of seconds > 0", param_hint="--stats-every-s")
    http_at = http_endpoint(http) if http is not None else None
    serials = parse_receiver_ids(receiver_ids or [])
    if receivers is not None:
        input_path(receivers, "--receivers", stdin=False)
    elif serials:
        raise typer.BadParameter("only useful with --receivers", param_hint="--receiver-id")
    if record_dir is not None:
        output_dir(record_dir, "--record")
    config = StationConfig(
        connect=tuple(endpoint(c, "--connect") for c in connect or []),
        connect_raw=tuple(endpoint(c, "--connect-raw") for c in connect_raw or []),
        connect_sbs=tuple(endpoint(c, "--connect-sbs") for c in connect_sbs or []),
        listen_beast=listen_beast, bind=bind, beast_out=beast_out, raw_out=raw_out,
        sbs_out=sbs_out, record_dir=record_dir, receivers_csv=receivers,
        receiver_ids=serials,
        receiver_lat_lon=lat_lon(receiver, "--receiver") if receiver else None,
        identity_db=identity_db,
    )
    service = load_alerts(alerts, db) if alerts is not None else None
    station = build_station(config, ingest_only=ingest_only)
    log_to_stderr()
    if http_at is not None and http_at[0] not in ("127.0.0.1", "localhost", "::1"):
        log.warning("the HTTP server listens on %s: anyone who can reach it sees the map and "
                    "the API", shown(http_at[0]))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(station, http=http_at, db=db, stats_every_s=stats_every_s,
                        alerts=service, bus=bus, bus_shards=bus_shards))


def load_alerts(rules: str, db: Path | None) -> Any:
    """The alert service of ``rules`` (a TOML file, or ``defaults``); its alerts are stored in
    the history database when one is written (``--db``: chosen when it is attached to the
    station), else in the alerts-only file beside the default history. A rules file that
    cannot be used is one error line per fault and exit 1."""
    from overflight.alerts.rules import DEFAULT_RULES, RulesError, parse_rules
    from overflight.alerts.service import AlertService

    del db  # the station's history writer is found when the service is attached
    try:
        if rules == "defaults":
            return AlertService(parse_rules(DEFAULT_RULES, "defaults"))
        input_path(Path(rules), "--alerts", stdin=False)
        return AlertService.from_file(rules)
    except RulesError as exc:
        typer.echo(f"error: {shown(exc)}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: {shown(rules)}: {shown(exc.strerror or exc)}", err=True)
        raise typer.Exit(1) from None


def serve_api_node(bus: str | None, http: str | None, identity_db: Path | None, *,
                   inputs: bool) -> None:
    """``serve --api-only``: the HTTP API and web map of the workers' updates on ``bus``."""
    if bus is None or http is None:
        raise typer.BadParameter("needs --bus and --http", param_hint="--api-only")
    if inputs:
        raise typer.BadParameter("an API node has no receivers: leave out --connect*, "
                                 "--listen-beast", param_hint="--api-only")
    from overflight.bus.api import run_api_node
    from overflight.server.web import default_web_root

    host, port = http_endpoint(http)
    log_to_stderr()

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop.set)
        try:
            await run_api_node(bus, host, port, identity_db=identity_db,
                               web_root=default_web_root(), stop=stop,
                               ready=lambda p: log.info("API node: %s on http://%s:%d/",
                                                        shown(bus), host, p))
        except OSError as exc:
            raise typer.BadParameter(f"cannot serve or reach the bus ({shown(exc)})",
                                     param_hint="--api-only") from None

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def build_station(config: StationConfig, *, ingest_only: bool = False) -> Station:
    """The station of ``config`` (``ingest_only``: one that numbers and publishes frames
    only, :class:`overflight.bus.ingest.IngestStation`); a receivers table that cannot be
    used is a usage error."""
    from overflight.station import Station

    try:
        if ingest_only:
            from overflight.bus.ingest import IngestStation

            station: Station = IngestStation(config)
        else:
            station = Station(config)
    except (OSError, ValueError, UnicodeError) as exc:
        path = config.receivers_csv
        why = str(exc) if str(path) in str(exc) else f"{shown(path)}: {exc}"
        raise typer.BadParameter(f"not a receivers CSV: {why}", param_hint="--receivers") \
            from None
    if station.mlat is not None:  # a bad row is left out and said, never stops the others
        rejected = station.mlat.registry.rejected
        for row in rejected[:20]:
            typer.echo(f"warning: {shown(config.receivers_csv)}: receiver left out: "
                       f"{shown(row)}", err=True)
        if len(rejected) > 20:
            typer.echo(f"warning: ... and {len(rejected) - 20} more rows left out", err=True)
    return station


async def run(
    station: Station,
    *,
    http: tuple[str, int] | None = None,
    db: Path | None = None,
    stats_every_s: float = 60.0,
    ready: Any = None,
    alerts: Any = None,
    bus: str | None = None,
    bus_shards: int = 8,
) -> None:
    """Run ``station`` live with the HTTP server (``http``) and a history writer (``db``)
    attached, until cancelled. ``ready(ports)`` once every port listens (``ports["http"]`` too).
    A port that cannot be bound is a usage error naming its option."""
    from overflight.station.live import run_live

    cfg = station.config
    writer: Any = None
    if db is not None:
        from overflight.history import HistoryError, HistoryWriter

        try:
            writer = HistoryWriter.open(
                db, kind="serve", receivers_csv=cfg.receivers_csv,
                source=", ".join(f"{h}:{p}" for h, p in (*cfg.connect, *cfg.connect_raw))
                or None,
            )
        except HistoryError as exc:
            raise typer.BadParameter(str(exc), param_hint="--db") from None
        # a deep queue: storage catches up after a slow flush; what it drops is counted
        station.subscribe(writer, name="history", queue_size=4096)
        log.info("storing history in %s", shown(db))
    bus_handle: Any = None
    if bus is not None:
        from overflight.bus.publish import attach_bus

        try:
            bus_handle = await attach_bus(station, bus, shards=bus_shards)
        except (OSError, TimeoutError) as exc:
            raise typer.BadParameter(f"cannot reach {shown(bus)} ({shown(exc)})",
                                     param_hint="--bus") from None
    if alerts is not None:
        from overflight.history import HistoryError

        alerts.attach(station)
        try:
            alerts.start()
        except HistoryError as exc:  # the alerts-only file held by another server
            raise typer.BadParameter(str(exc), param_hint="--alerts") from None
        log.info("alerts: %d rule(s), stored in %s", len(alerts.rules.rules),
                 shown(alerts.store.path))
    tasks: list[asyncio.Task[None]] = []
    try:
        ports_ready: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        tasks.append(asyncio.create_task(
            run_live(station, ready=ports_ready.set_result, stats_every_s=stats_every_s)
        ))
        first: list[asyncio.Future[Any]] = [tasks[0], ports_ready]
        done, _ = await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if tasks[0] in done:
            _raise_bind(tasks[0], cfg.bind)
        ports = dict(ports_ready.result())
        if http is not None:
            from overflight.server import serve_http

            http_ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            tasks.append(asyncio.create_task(
                serve_http(build_app(station, writer, alerts), http[0], http[1],
                           ready=http_ready.set_result)
            ))
            second: list[asyncio.Future[Any]] = [tasks[1], http_ready]
            done, _ = await asyncio.wait(second, return_when=asyncio.FIRST_COMPLETED)
            if tasks[1] in done and not http_ready.done():
                failed = tasks[1].exception()
                if isinstance(failed, OSError):
                    raise bind_failed(failed, http[0], http[1], "--http") from None
                if failed is not None:
                    raise failed
            ports["http"] = http_ready.result()
            log.info("HTTP API on http://%s:%d/", http[0], ports["http"])
        if ready is not None:
            ready(ports)
        # Ctrl-C / SIGTERM end the run here, so that every task is stopped in order (the HTTP
        # server first, then ingest, which finishes tracking and flushes storage) rather than
        # cancelled all at once by asyncio.run
        stop = asyncio.Event()
        release_signals = stop_on_signals(stop.set)
        stopping = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopping],
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            release_signals()
        for t in done:
            if t is not stopping and not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        for t in reversed(tasks):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if alerts is not None:
            await asyncio.to_thread(alerts.close)
        if bus_handle is not None:
            with contextlib.suppress(Exception):
                await bus_handle.end()
                await bus_handle.close()


def build_app(station: Station, writer: Any = None, alerts: Any = None) -> Any:
    """The HTTP app of ``station``: the live API, the history API over the writer's database
    (when storing), the alerts' feed and list, and the web map when it has been built."""
    from overflight.server import create_app
    from overflight.server.web import default_web_root

    routes: list[Any] = []
    paths: dict[str, Any] = {}
    if writer is not None:
        from overflight.history.query import History
        from overflight.server.api_history import history_routes

        more, more_paths = history_routes(History(writer.store, station.identifier))
        routes += more
        paths.update(more_paths)
    if alerts is not None:
        from overflight.alerts.routes import alert_paths, alert_routes

        routes += alert_routes(alerts)
        paths.update(alert_paths())
    return create_app(station, extra_routes=routes, extra_paths=paths,
                      web_root=default_web_root(),
                      # tar1090 asks for trace files only when told they exist
                      receiver_extra={"haveTraces": True} if writer is not None else None)


def _raise_bind(task: asyncio.Task[None], bind: str) -> None:
    exc = task.exception()
    if isinstance(exc, OSError) and len(exc.args) >= 2 and isinstance(exc.args[-2], str) \
            and exc.args[-2].startswith("--"):
        raise bind_failed(exc, bind, int(exc.args[-1]), exc.args[-2]) from None
    if exc is not None:
        raise exc
