"""``overflight flights``: legs found in a capture or a trajectory file, with their airports.

The exit status follows the rule in :mod:`overflight.cli.app`: a file that breaks while it is
read (a truncated or corrupt gzip) gives the legs of the part read before the break and a
one-line warning (exit status 0), or, when nothing before the break can be used, a one-line
error (1); a file that is not a positions file or capture at all, or one without a single
position, gives a one-line error (1); a missing file or an unknown ``--format`` is a usage
error (2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from overflight.cli.app import (
    READ_ERRORS,
    Column,
    app,
    describe_read_error,
    input_path,
    print_table,
    progress,
    read_failed,
    shown,
    untrusted,
)
from overflight.jsonout import dumps

if TYPE_CHECKING:
    from collections.abc import Sequence

    from overflight.flights.itinerary import CoverageGap
    from overflight.flights.readers import PositionsRead
    from overflight.flights.records import Flight
    from overflight.flights.table import PositionTable, Skipped

__all__ = ["FORMATS", "flights"]

FORMATS = ("auto", "capture", "decoded", "traffic", "readsb", "fr24", "csv", "parquet")
"""``overflight.flights.readers.FORMATS``, written here so that ``--help`` needs no reader (a
test checks that the two agree)."""

_CONTENT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, LookupError, TypeError, AttributeError, RecursionError,
)
"""What the readers raise on a file that is not what its name or ``--format`` says (JSON that
does not parse, a JSON document without the expected fields, a CSV pyarrow cannot read)."""


def _why(exc: BaseException) -> str:
    """A short, printable reason for a content error."""
    if isinstance(exc, KeyError):
        text = f"no field {exc}"
    elif isinstance(exc, RecursionError):
        text = "nested too deeply"
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return untrusted(text[:200]).plain


def _read(path: Path, fmt: str) -> PositionsRead:
    """The positions of ``path`` (for a file that broke while read, those of the part before the
    fault, with the fault); a ``typer.Exit`` for a file that cannot be used."""
    from overflight.flights import CaptureUnsupportedError
    from overflight.flights.readers import read_file

    try:
        return read_file(path, fmt)
    except CaptureUnsupportedError as exc:
        typer.echo(f"error: {shown(exc)}", err=True)
        raise typer.Exit(2) from None
    except READ_ERRORS as exc:
        raise read_failed(path, exc) from None
    except _CONTENT_ERRORS as exc:
        typer.echo(f"error: {shown(path)}: not a positions file or capture ({_why(exc)})",
                   err=True)
        raise typer.Exit(1) from None


def _identifier(db: Path | None) -> Any:
    """``find_flights``' identifier (hex address -> registration, type) from the aircraft store:
    ``--db``, else the default store where there is one, else None."""
    from overflight.cli.db import open_identifier
    from overflight.identity.store import default_store_path

    store = db if db is not None else default_store_path()
    if db is None and not store.is_file():
        return None
    ident = open_identifier(store)

    def identify(hexa: str) -> tuple[str | None, str | None]:
        a = ident.identify(int(hexa, 16))
        return a.registration, a.type_code

    return identify


def _skipped_text(s: Skipped) -> str:
    parts = [(s.no_address, "no address"), (s.no_time, "no time"),
             (s.no_position, "no position"), (s.duplicate, "duplicate")]
    return ", ".join(f"{label}: {n:,}" for n, label in parts if n)


@app.command()
def flights(
    input: Annotated[
        Path,
        typer.Option("--input", "-i", help="positions file or capture", show_default=False),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per leg")] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto, or one of: "
            + ", ".join(f for f in FORMATS if f != "auto")
            + " (capture: decode the raw frames; decoded: rs1090 JSON lines' decoded fields)",
        ),
    ] = "auto",
    db: Annotated[
        Path | None,
        typer.Option("--db", help="aircraft store for registrations (default: as 'overflight db')"),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress display on a terminal")
    ] = False,
) -> None:
    """List the flights (legs) found in FILE with departure and arrival airports and times,
    chained into journeys (legs with their stops on the ground).

    Each end says how it is known (observed / inferred / estimated); a leg whose arrival was
    not seen lists where it was probably bound for (ranked, an estimate); each stretch without
    positions says whether it was over no coverage (judged against the receivers table beside
    a capture) or not heard; the position sources (adsb, mlat...) are listed where the input
    says them.

    On a terminal, a table fitted to its width (the least useful columns left out when
    narrow); piped or redirected, tab-separated values with a header line, every value whole.
    Rows without an address, time or position are counted and skipped."""
    input_path(input, "--input", stdin=False)
    if fmt not in FORMATS:
        raise typer.BadParameter(f"{shown(fmt)!r} is not one of {', '.join(FORMATS)}",
                                 param_hint="--format")
    from overflight.flights import find_flights

    identifier = _identifier(db)
    with progress(f"reading {input.name}", quiet=quiet) as step:
        got = _read(input, fmt)
        tab, broken = got.table, got.broken
        step(description=f"finding legs in {len(tab):,} positions")
        res = find_flights(tab, identifier=identifier)
    if broken is not None and len(tab) == 0:
        raise read_failed(input, broken, note="nothing before it could be used")
    legs = _legs(res.flights, tab, _receivers(input))
    if as_json:
        for leg in legs:
            typer.echo(dumps(leg.to_dict()))
    else:
        n_trips = len({leg.journey["id"] for leg in legs})
        title = (f"{len(legs)} legs in {n_trips} journeys in {input.name} "
                 f"({len(tab):,} positions)")
        _print_legs(legs, title)
    if tab.skipped.total:
        typer.echo(f"skipped rows: {_skipped_text(tab.skipped)}", err=True)
    if got.input_skipped:
        typer.echo("skipped input: " + shown(", ".join(
            f"{why}: {n:,}" for why, n in got.input_skipped.items())), err=True)
    if len(tab) == 0 and broken is None:  # nothing usable at all: exit 1
        typer.echo(f"error: {shown(input)}: no positions found: is it a positions file or a "
                   f"capture? (formats: {', '.join(FORMATS)})", err=True)
        raise typer.Exit(1)
    if broken is not None:  # the exit rule (cli/app.py): what was read is used, exit status 0
        where = "above are" if not as_json else "are"
        typer.echo(
            f"warning: {shown(input)}: the input ends early: {describe_read_error(broken)} "
            f"(the legs {where} from the {len(tab):,} positions read before it)",
            err=True,
        )


@dataclass(frozen=True, slots=True)
class _Leg:
    """A leg with what the journey view adds: its journey (as
    :func:`overflight.flights.itinerary.journey_rows` gives it), its coverage gaps and the
    sources of its positions."""

    flight: Flight
    journey: dict[str, Any]
    journey_number: int
    gaps: tuple[CoverageGap, ...]
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        f = self.flight
        bound = f.arrival.candidates if f.arrival.how == "estimated" else ()
        return {
            **f.to_dict(),
            "position_sources": list(self.sources),
            "journey": self.journey,
            "coverage_gaps": [g.to_dict() for g in self.gaps],
            "bound_for": [{"code": c.code, "name": c.name,
                           "distance_km": round(c.distance_km, 1),
                           "probability": round(c.probability, 3)} for c in bound],
        }


def _receivers(path: Path) -> Any:
    """The receivers' positions ``(n, 2)`` degrees from the receivers table beside a capture
    (None: none there, or one that cannot be read)."""
    import numpy as np

    from overflight.flights.readers import receivers_beside

    csv = receivers_beside(path)
    if csv is None:
        return None
    try:
        from overflight.mlat.receivers import ReceiverRegistry

        reg = ReceiverRegistry.from_csv(csv)
    except (OSError, ValueError, UnicodeError):
        return None
    return np.array([(r.lat_deg, r.lon_deg) for r in reg], dtype=float).reshape(-1, 2)


def _legs(flights: Sequence[Flight], tab: PositionTable, receivers: Any) -> list[_Leg]:
    """The legs in journey order (aircraft, then time), each with its journey, gaps and
    sources."""
    import numpy as np

    from overflight.flights.itinerary import coverage_gap, journey_rows

    rows = [{"address": int(f.icao24, 16), "first_seen_s": f.first_seen_s,
             "last_seen_s": f.last_seen_s, "departure_time_s": f.departure_time_s,
             "arrival_time_s": f.arrival_time_s, "departure_airport": f.departure.code,
             "arrival_airport": f.arrival.code} for f in flights]
    trips = journey_rows(rows)
    order = sorted(range(len(flights)), key=lambda i: (rows[i]["address"],
                                                       flights[i].first_seen_s))
    numbers: dict[str, int] = {}
    out = []
    for i in order:
        f = flights[i]
        t = tab.time_s[f.row_start : f.row_end + 1]
        gaps = []
        for a, b in f.gaps:
            ia = f.row_start + int(np.clip(np.searchsorted(t, a), 0, len(t) - 1))
            ib = f.row_start + int(np.clip(np.searchsorted(t, b), 0, len(t) - 1))
            gaps.append(coverage_gap(
                a, b, (float(tab.lat_deg[ia]), float(tab.lon_deg[ia])),
                (float(tab.lat_deg[ib]), float(tab.lon_deg[ib])), receivers))
        n = numbers.setdefault(trips[i]["id"], len(numbers) + 1)
        out.append(_Leg(f, trips[i], n, tuple(gaps), tab.sources_in(f.row_start, f.row_end)))
    return out


# Columns by usefulness: the legs' ends first, then who; distance, altitude, coverage last.
_LEG_COLUMNS = (
    Column("icao24"),
    Column("registration", priority=4),
    Column("type", priority=5),
    Column("callsign", priority=3),
    Column("journey", priority=2),
    Column("from"),
    Column("departure (UTC)", priority=1),
    Column("to"),
    Column("arrival (UTC)", priority=2),
    Column("bound for", priority=3),
    Column("sources", priority=4),
    Column("gaps", priority=5),
    Column("km", priority=6, justify="right"),
    Column("max ft", priority=7, justify="right"),
    Column("seen", priority=8, justify="right"),
)


def _print_legs(legs: Sequence[_Leg], title: str) -> None:
    from overflight.flights.records import iso_utc

    known = any(g.flight.registration or g.flight.typecode for g in legs)  # from the store
    columns = [c for c in _LEG_COLUMNS if known or c.header not in ("registration", "type")]
    rows = []
    for g in legs:
        f = g.flight
        rows.append((
            f.icao24,
            *((f.registration, f.typecode) if known else ()),
            ",".join(f.callsigns),
            _journey(g),
            _where(f.departure.code, f.departure.kind, f.departure.how),
            f"{iso_utc(f.departure_time_s) or '?'} ({f.departure_how})",
            _where(f.arrival.code, f.arrival.kind, f.arrival.how),
            f"{iso_utc(f.arrival_time_s) or '?'} ({f.arrival_how})",
            _bound_for(f),
            ",".join(g.sources),
            "; ".join(x.label for x in g.gaps),
            f"{f.distance_km:,.0f}",
            "" if f.max_altitude_ft is None else f"{f.max_altitude_ft:,.0f}",
            f"{f.observed_fraction:.0%}",
        ))
    print_table(columns, rows, title=title)


def _journey(g: _Leg) -> str:
    """``2: leg 2/2 after stop at OSLK, 3.3 h``."""
    j = g.journey
    text = f"{g.journey_number}: leg {j['leg']}/{j['legs']}"
    return text + (f" after {j['stop_before']['label']}" if j.get("stop_before") else "")


def _bound_for(f: Flight, limit: int = 3) -> str:
    """The ranked destinations of a leg whose arrival was not seen: ``SVMI 71%, SVCS 18%``."""
    if f.arrival.how != "estimated" or not f.arrival.candidates:
        return ""
    return ", ".join(f"{c.code} {c.probability:.0%}" for c in f.arrival.candidates[:limit])


def _where(code: str | None, kind: str, how: str) -> str:
    if code is not None:
        return f"{code} ({how})"
    return "no airport (unlisted site)" if kind == "unlisted" else "?"
