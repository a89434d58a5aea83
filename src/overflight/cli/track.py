"""``overflight track FILE``: replay a capture through the tracker and show the final picture."""

from __future__ import annotations

import importlib
import json
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from overflight.cli.app import app
from overflight.pipeline import mlat_feed, track_file
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

    def __init__(self) -> None:
        self._identifier: Any = None
        self._ranges: Any = None
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
            escape(i.registration or ""),  # strings from files and the air are untrusted
            escape(i.type_code or ""),
            escape(a.callsign or ""),
            escape(i.country or ""),
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


@app.command()
def track(
    path: Annotated[
        Path, typer.Argument(help="capture file (Beast, AVR, JSON lines, ...; '-' for stdin)")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="print readsb aircraft.json with every aircraft seen")
    ] = False,
    receiver: Annotated[
        str | None, typer.Option(help="receiver position 'lat,lon' (surface positions)")
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
) -> None:
    """Replay a capture through the tracker and print the final picture with identities.

    With ``--receivers``, aircraft without ADS-B positions get MLAT positions (``type``
    ``"mlat"`` in JSON, with ``mlat_error_m``: horizontal 1-sigma error in metres)."""
    rx: tuple[float, float] | None = None
    if receiver:
        try:
            lat_s, lon_s = receiver.split(",")
            rx = (float(lat_s), float(lon_s))
        except ValueError as exc:
            raise typer.BadParameter("--receiver wants 'lat,lon' in degrees") from exc
    feed = None
    if receivers is not None:
        try:
            feed = mlat_feed(receivers)
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--receivers") from exc
    tracker: Tracker = track_file(path, receiver_lat_lon=rx, start_time_s=start_time, mlat=feed)
    ident = _Identities()
    states = tracker.all_aircraft()
    if as_json:
        doc = aircraft_json(
            states,
            tracker.now_s if not math.isnan(tracker.now_s) else 0.0,
            tracker.messages,
            keep_old=True,
            identify=lambda a: ident(a),
        )
        typer.echo(json.dumps(doc, indent=None, separators=(",", ":")))
        return
    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(
        _table(states, ident, f"{path.name}: {len(states)} aircraft, {tracker.messages:,} messages")
    )
    rej = {k: v for k, v in tracker.rejections.items() if v}
    accepted = tracker.outcomes.get("global", 0) + tracker.outcomes.get("local", 0)
    console.print(
        f"positions accepted: {accepted:,} (by reference: {dict(tracker.references) or 'none'})"
        f"; rejected: {rej or 'none'}; dropped messages: {dict(tracker.dropped) or 'none'}"
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
            + f"; refused {st.refused:,}; skipped frames: {skipped or 'none'}"
        )
        for rid in sorted(feed.engine.bad_receivers):
            console.print(f"[bold yellow]MLAT receiver {rid} excluded[/] (timing or position)")
    for e in tracker.events:
        console.print(
            f"[bold red]EVENT[/] {e.kind} {e.icao24} squawk={e.squawk} "
            f"emergency={e.emergency} t={e.time_s:.1f}"
        )
