"""``overflight track FILE``: replay a capture through the tracker and show the final picture."""

from __future__ import annotations

import importlib
import json
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from overflight.cli.app import (
    app,
    guarded,
    input_path,
    lat_lon,
    read_failed,
    untrusted,
    warn_cut,
)
from overflight.pipeline import mlat_feed, track_batches
from overflight.sources.files import FrameReader, read_batches
from overflight.tracking import AircraftState, Tracker, aircraft_json

__all__ = ["track"]


@dataclass(frozen=True, slots=True)
class _Ident:
    registration: str | None = None
    type_code: str | None = None
    description: str | None = None
    operator: str | None = None
    country: str | None = None
    military: bool = False
    db_flags: int = 0


class _Identities:
    """``overflight.identity.Identifier`` when available, else country/military by address."""

    def __init__(self, identifier: Any = None) -> None:
        self._identifier: Any = identifier
        self._ranges: Any = None
        if identifier is None:
            try:
                ident_mod = importlib.import_module("overflight.identity")
                cls = getattr(ident_mod, "Identifier", None)
                if cls is not None:
                    self._identifier = cls.default()
            except Exception:
                self._identifier = None
        try:
            self._ranges = importlib.import_module("overflight.identity.ranges")
        except Exception:
            self._ranges = None

    def __call__(self, address: int) -> _Ident:
        if self._identifier is not None:
            try:
                i = self._identifier.identify(address)
                flags = int(getattr(i, "db_flags", 0) or 0)
                mil = bool(getattr(i, "military", False)) or bool(flags & 1)
                return _Ident(
                    getattr(i, "registration", None),
                    getattr(i, "type_code", None),
                    getattr(i, "description", None),
                    getattr(i, "operator", None),
                    getattr(i, "country", None),
                    mil,
                    flags | (1 if mil else 0),
                )
            except Exception:
                pass
        if self._ranges is None:
            return _Ident()
        block = self._ranges.country_of(address)
        mil = self._ranges.military_block_of(address) is not None
        return _Ident(
            country=getattr(block, "country", None), military=mil, db_flags=1 if mil else 0
        )


def _median(v: list[float]) -> float:
    s = sorted(v)
    k = len(s) // 2
    return s[k] if len(s) % 2 else (s[k - 1] + s[k]) / 2


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
    return {"adsb": "ADS-B", "tisb": "TIS-B", "adsr": "ADS-R"}.get(
        a.position_source, a.position_source
    )


def _table(states: list[AircraftState], ident: _Identities, title: str) -> Table:
    t = Table(title=title)
    for col in (
        "hex",
        "reg",
        "type",
        "callsign",
        "country",
        "mil",
        "lat",
        "lon",
        "pos",
        "alt ft",
        "gs kt",
        "msgs",
        "last seen",
    ):
        t.add_column(
            col, justify="right" if col in ("msgs", "alt ft", "gs kt", "lat", "lon") else "left"
        )
    for a in sorted(states, key=lambda s: -s.messages):
        i = ident(a.address) if not a.non_icao else _Ident()
        alt = "ground" if a.on_ground else _fmt(a.altitude_baro_ft)
        t.add_row(
            ("~" if a.non_icao else "") + a.icao24,
            untrusted(i.registration),  # strings from files and the air are shown literally
            untrusted(i.type_code),
            untrusted(a.callsign),
            untrusted(i.country),
            "MIL" if i.military else "",
            _fmt(a.lat_deg, 4),
            _fmt(a.lon_deg, 4),
            _position_source(a),
            alt,
            _fmt(a.groundspeed_kt),
            f"{a.messages:,}",
            _when(a.last_seen_s),
        )
    return t


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
    d = reader.demod_stats
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
) -> None:
    """Replay a capture through the tracker and print the final picture with identities.

    With --receivers, aircraft without ADS-B positions get MLAT positions (type "mlat" in
    JSON, with mlat_error_m: horizontal 1-sigma error in metres). Unreadable lines and frames
    are counted and skipped; the counts are printed under the table.
    """
    from overflight.cli.db import open_identifier

    input_path(path, "PATH")
    if sample_rate not in (2.0e6, 2.4e6):
        raise typer.BadParameter("want 2.0e6 or 2.4e6 (RTL-SDR rates)", param_hint="--sample-rate")
    if start_time is not None and not math.isfinite(start_time):
        raise typer.BadParameter("want UTC epoch seconds", param_hint="--start-time")
    rx = lat_lon(receiver, "--receiver") if receiver else None
    feed = None
    if receivers is not None:
        input_path(receivers, "--receivers", stdin=False)
        try:
            feed = mlat_feed(receivers)
        except (OSError, ValueError, UnicodeError) as exc:
            why = str(exc) if str(receivers) in str(exc) else f"{receivers}: {exc}"
            raise typer.BadParameter(
                f"not a receivers CSV: {why}", param_hint="--receivers"
            ) from None
    ident = _Identities(open_identifier(db) if db is not None else None)
    tracker = Tracker(rx)
    if fmt == "iq" and start_time is None:
        start_time = 0.0  # the demodulator leaves times unset without it: seconds into the file
    reader = read_batches(
        path,
        fmt=None if fmt == "auto" else fmt,
        start_time_s=start_time,
        sample_rate_hz=sample_rate,
    )
    failure: list[BaseException] = []
    for _ in track_batches(guarded(reader, failure), tracker, mlat=feed):
        pass
    states = tracker.all_aircraft()
    tracked = f"the {reader.stats.frames:,} frames before it were tracked"
    if as_json:
        doc = aircraft_json(
            states,
            tracker.now_s if not math.isnan(tracker.now_s) else 0.0,
            tracker.messages,
            keep_old=True,
            identify=lambda a: ident(a),
        )
        typer.echo(json.dumps(doc, indent=None, separators=(",", ":")))
        typer.echo(_input_summary(reader, failed=bool(failure)), err=True)
        warn_cut(path, reader.fault, tracked)
        if failure:
            raise read_failed(path, failure[0], note=_PARTIAL)
        return
    console = Console() if sys.stdout.isatty() else Console(width=160)
    title = f"{path.name}: {len(states)} aircraft, {tracker.messages:,} messages"
    console.print(_table(states, ident, title))
    console.print(untrusted(_input_summary(reader, failed=bool(failure))))
    rej = {k: v for k, v in tracker.rejections.items() if v}
    accepted = tracker.outcomes.get("global", 0) + tracker.outcomes.get("local", 0)
    console.print(
        f"positions accepted: {accepted:,} (by reference: {dict(tracker.references) or 'none'})"
        f"; rejected: {rej or 'none'}; dropped messages: {dict(tracker.dropped) or 'none'}",
        markup=False,
    )
    if feed is not None:
        st = feed.stats
        skipped = {k: v for k, v in st.skipped.items() if v}
        console.print(
            f"MLAT: {st.receptions:,} receptions from {len(feed.registry)} receivers, "
            f"{st.fixes:,} fixes, {st.applied:,} applied "
            f"({dict(st.per_aircraft) or 'none'}), {st.adsb_preferred:,} of ADS-B aircraft"
            + (
                f" (median {_median(st.verify_m):.0f} m from their ADS-B position)"
                if st.verify_m
                else ""
            )
            + f"; refused {st.refused:,}; skipped frames: {skipped or 'none'}",
            markup=False,
        )
        for rid in sorted(feed.engine.bad_receivers):
            console.print(f"[bold yellow]MLAT receiver {rid} excluded[/] (timing or position)")
    for e in tracker.events:
        console.print(
            f"[bold red]EVENT[/] {e.kind} {e.icao24} squawk={e.squawk} "
            f"emergency={e.emergency} t={e.time_s:.1f}"
        )
    warn_cut(path, reader.fault, tracked)
    if failure:
        raise read_failed(path, failure[0], note=_PARTIAL)
