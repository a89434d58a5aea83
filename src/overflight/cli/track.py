"""``overflight track FILE``: replay a capture through the tracker and show the final picture."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from overflight.cli.app import (
    Column,
    app,
    input_path,
    lat_lon,
    print_table,
    progress,
    read_failed,
    shown,
    untrusted,
    warn_cut,
)

if TYPE_CHECKING:
    from overflight.sources.files import FrameReader
    from overflight.tracking import AircraftState

__all__ = ["track"]


def _fmt(v: float | None, digits: int = 0) -> str:
    if v is None or math.isnan(v):
        return ""
    return f"{v:,.{digits}f}"


def _position_source(a: AircraftState) -> str:
    """Where the position came from: ``MLAT ±12 m`` (1-sigma error), ``ADS-B``, ``TIS-B``..."""
    if a.lat_deg is None or a.position_source is None:
        return ""
    if a.position_source == "mlat":
        err = f" ±{a.rc_m:,.0f} m" if a.rc_m is not None and not math.isnan(a.rc_m) else ""
        return "MLAT" + err
    return {"adsb": "ADS-B", "tisb": "TIS-B", "adsr": "ADS-R", "sbs": "SBS",
            "json": "aircraft.json"}.get(
        a.position_source, a.position_source
    )


_COLUMNS = (
    Column("hex"),
    Column("reg", 3),
    Column("type", 4),
    Column("callsign", 2),
    Column("country", 6),
    Column("mil", 5),
    Column("lat", 1, "right"),
    Column("lon", 1, "right"),
    Column("pos", 7),
    Column("alt ft", 2, "right"),
    Column("gs kt", 6, "right"),
    Column("msgs", 3, "right"),
    Column("last seen", 8),
)
"""Columns of the table; the higher the priority, the sooner dropped on a narrow terminal."""


def _rows(states: list[AircraftState], identify: Any) -> list[list[object]]:
    rows: list[list[object]] = []
    for a in sorted(states, key=lambda s: -s.messages):
        i = identify(a.address) if not a.non_icao else None
        mil = bool(getattr(i, "military", False) or (getattr(i, "db_flags", 0) or 0) & 1)
        rows.append([
            ("~" if a.non_icao else "") + a.icao24,
            getattr(i, "registration", None),
            getattr(i, "type_code", None),
            a.callsign,
            getattr(i, "country", None),
            "MIL" if mil else "",
            _fmt(a.lat_deg, 4),
            _fmt(a.lon_deg, 4),
            _position_source(a),
            "ground" if a.on_ground else _fmt(a.altitude_baro_ft),
            _fmt(a.groundspeed_kt),
            f"{a.messages:,}",
            _when(a.last_seen_s),
        ])
    return rows


def _when(time_s: float | None) -> str:
    """UTC time for absolute times, seconds since the capture start otherwise."""
    if time_s is None or math.isnan(time_s):
        return ""
    if time_s > 1e9:  # epoch seconds (captures with absolute time)
        return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{time_s:.1f} s"


_PARTIAL = "the picture above is from the part read before it"
_Format = Literal["auto", "beast", "avr", "hex", "csv", "jsonl", "text", "iq"]


def _input_summary(reader: FrameReader, *, failed: bool = False) -> str:
    st = reader.stats
    rows = getattr(st, "rows", None)
    if rows is not None:  # decoded state (SBS lines, aircraft.json): no frames
        parts = [f"input: {st.format} (decoded elsewhere), {rows:,} rows of state"]
        bad = {k: v for k, v in st.skipped.items() if v}
        if bad:
            parts.append(f"skipped: {dict(sorted(bad.items()))}")
        return "; ".join(parts)
    parts = [f"input: {st.format}, {st.frames:,} frames"]
    skipped = {
        k: v
        for k, v in st.skipped.items()
        if v and k not in ("empty", "header") and not k.startswith("broken input")
    }
    if skipped:
        parts.append(f"skipped lines: {dict(sorted(skipped.items()))}")
    b = st.beast
    if st.format == "beast" and (b.errors or b.resyncs or b.garbage_bytes or b.truncated_bytes):
        parts.append(
            f"Beast: {b.bad_frames:,} bad frames, {b.unknown_types:,} unknown types, "
            f"{b.resyncs:,} resyncs, {b.garbage_bytes:,} garbage bytes, "
            f"{b.truncated_bytes:,} truncated bytes"
        )
    d = getattr(reader, "demod_stats", None)
    if st.format == "iq" and d is not None:
        parts.append(
            f"I/Q: {d.samples:,} samples, {d.candidates:,} bursts, "
            f"{sum(d.crc_ok.values()):,} CRC-valid frames"
        )
    if st.frames == 0 and st.format != "iq" and not failed:
        parts.append("no frames found: is this a capture? (raw I/Q needs --format iq)")
    return "; ".join(parts)


@app.command()
def track(
    path: Annotated[
        Path,
        typer.Argument(
            help="capture file: Beast, AVR, hex, CSV, JSON lines, raw I/Q (with --format iq), "
            "gzip; '-' = standard input",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="print readsb aircraft.json with every aircraft seen")
    ] = False,
    fmt: Annotated[
        _Format, typer.Option("--format", help="input format (auto: detected from the content)")
    ] = "auto",
    sample_rate: Annotated[
        float,
        typer.Option("--sample-rate", help="raw I/Q samples per second: 2.0e6 or 2.4e6"),
    ] = 2.0e6,
    receiver: Annotated[
        str | None,
        typer.Option(help="receiver position 'lat,lon' in degrees (for surface positions)"),
    ] = None,
    start_time: Annotated[
        float | None,
        typer.Option(help="UTC epoch seconds of the first frame, for relative captures"),
    ] = None,
    receivers: Annotated[
        Path | None,
        typer.Option(
            "--receivers",
            help="receivers CSV (serial,latitude,longitude,height,type): multilaterate "
            "frames heard by several receivers (aggregated Beast with receiver ids)",
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="aircraft store for identities (default: as 'overflight db')"),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress display on a terminal")
    ] = False,
) -> None:
    """Replay a capture through the station and print the final picture with identities.

    With --receivers, aircraft without ADS-B positions get MLAT positions (type "mlat" in
    JSON, with mlat_error_m: horizontal 1-sigma error in metres). Unreadable lines and frames
    are counted and skipped; the counts are printed under the table.
    """
    from overflight.cli.serve import build_station
    from overflight.station import Events, Frames, StationConfig

    input_path(path, "PATH")
    if sample_rate not in (2.0e6, 2.4e6):
        raise typer.BadParameter("want 2.0e6 or 2.4e6 (RTL-SDR rates)", param_hint="--sample-rate")
    if start_time is not None and not math.isfinite(start_time):
        raise typer.BadParameter("want UTC epoch seconds", param_hint="--start-time")
    if receivers is not None:
        input_path(receivers, "--receivers", stdin=False)
    identifier = None
    if db is not None:
        from overflight.cli.db import open_identifier

        identifier = open_identifier(db)
    config = StationConfig(
        receivers_csv=receivers,
        receiver_lat_lon=lat_lon(receiver, "--receiver") if receiver else None,
        identity_db=db, flights=False, expire_after_s=math.inf,
    )
    station = build_station(config)
    if identifier is not None:
        station._identifier, station._identifier_loaded = identifier, True
    emergencies: list[dict[str, Any]] = []

    def on_events(u: Any) -> None:
        if isinstance(u, Events):
            emergencies.extend(e for e in u.table.to_pylist() if e["kind"] == "emergency")

    station.subscribe(on_events, name="events", kinds=("events",), inline=True)
    failure: list[BaseException] = []
    with progress(f"tracking {path.name}", unit="frames", quiet=quiet) as step:

        def advance(u: Any) -> None:
            if isinstance(u, Frames):
                step(len(u.batch))

        station.subscribe(advance, name="progress", kinds=("frames",), inline=True)
        reader = station.run_file(path, fmt=fmt, start_time_s=start_time,
                                  sample_rate_hz=sample_rate, failure=failure)
    station.close()
    tracker = station.tracker
    states = tracker.all_aircraft()
    decoded = getattr(reader.stats, "rows", 0)
    if reader.stats.frames == 0 and not decoded and reader.stats.format != "iq":
        # nothing usable (exit 1, cli/app.py's rule); what was skipped is still counted
        typer.echo(_input_summary(reader, failed=True), err=True)
        raise read_failed(path, failure[0] if failure else ValueError(
            "no frames found: is this a capture? (raw I/Q needs --format iq)"))
    tracked = f"the {reader.stats.frames:,} frames before it were tracked"
    if as_json:
        from overflight.jsonout import dumps
        from overflight.tracking import aircraft_json

        now = tracker.now_s if not math.isnan(tracker.now_s) else 0.0
        doc = aircraft_json(states, now, tracker.messages, keep_old=True,
                            identify=station.identify)
        typer.echo(dumps(doc))
        typer.echo(_input_summary(reader, failed=bool(failure)), err=True)
        warn_cut(path, reader.fault, tracked)
        if failure:
            raise read_failed(path, failure[0], note=_PARTIAL)
        return
    from rich.console import Console

    console = Console()
    title = f"{shown(path.name)}: {len(states)} aircraft, {tracker.messages:,} messages"
    print_table(_COLUMNS, _rows(states, station.identify), title=title, console=console)
    err = Console(stderr=True) if not console.is_terminal else console
    err.print(untrusted(_input_summary(reader, failed=bool(failure))))
    rej = {k: v for k, v in tracker.rejections.items() if v}
    refs = _refs(tracker.references)
    err.print(
        f"positions accepted: {sum(refs.values()):,} (by reference: "
        f"{refs or 'none'}); rejected: {rej or 'none'}; "
        f"dropped messages: {dict(tracker.dropped) or 'none'}",
        markup=False,
    )
    feed = station.mlat
    if feed is not None:
        st = feed.stats
        skipped = {k: v for k, v in st.skipped.items() if v}
        med = getattr(st, "median_verify_m", None)
        med = med() if callable(med) else med
        err.print(
            f"MLAT: {st.receptions:,} receptions from {len(feed.registry)} receivers, "
            f"{st.fixes:,} fixes, {st.applied:,} applied "
            f"({dict(st.per_aircraft) or 'none'}), {st.adsb_preferred:,} of ADS-B aircraft"
            + (f" (median {med:.0f} m from their ADS-B position)"
               if med is not None and not math.isnan(med) else "")
            + f"; refused {st.refused:,}; skipped frames: {skipped or 'none'}",
            markup=False,
        )
        for rid in sorted(feed.engine.bad_receivers):
            err.print(f"[bold yellow]MLAT receiver {rid} excluded[/] (timing or position)")
    for e in emergencies:
        err.print(untrusted(
            f"EVENT emergency {e['icao24']} squawk={e['squawk']} "
            f"state={e['after']} t={e['time_s']:.1f}"
        ))
    warn_cut(path, reader.fault, tracked)
    if failure:
        raise read_failed(path, failure[0], note=_PARTIAL)


def _refs(references: Any) -> dict[str, int]:
    """Accepted positions by what resolved them (MLAT fixes are counted apart)."""
    return {k: v for k, v in dict(references).items() if v and k != "mlat"}
