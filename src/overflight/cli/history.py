"""``overflight history``: ask the history database (``overflight ingest`` / ``serve --db``).

* ``history track HEX|REGISTRATION|CALLSIGN [--from T --to T] [--format ...]``
* ``history flights HEX|REGISTRATION|CALLSIGN [--format table|json]``
* ``history airport ICAO --date YYYY-MM-DD``
* ``history area --bbox S,W,N,E | --circle LAT,LON,KM --from T --to T``
* ``history aircraft --mil | --country C | --type T | --watchlist TAG --from T --to T``
* ``history archive --before DATE``, ``history rebuild --from T --to T``,
  ``history prune --keep TABLE=DAYS``, ``history info``

Times: ISO 8601 (UTC unless a zone is given), a date, or epoch seconds. Exit status 2, with
one ``error:`` line, for an unknown aircraft or registration, an inverted time range, a
malformed area, date or airport code, and a database that cannot be used (locked by another
process, corrupt, from a newer Overflight: the line says what to do). Every answer ends with
a line on standard error saying what supports it (frames and receivers).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer

from overflight.cli.app import Column, app, print_table, shown

if TYPE_CHECKING:
    from overflight.history.query import History
    from overflight.history.store import HistoryStore

__all__ = ["db_or_exit", "history_app"]

history_app = typer.Typer(
    help="Ask the history database: tracks, flights, airports, areas, who was seen.",
    no_args_is_help=True)
app.add_typer(history_app, name="history")

_Db = Annotated[Path | None, typer.Option(
    "--db", help="history database (default: history.duckdb in the user data directory)")]
_From = Annotated[str | None, typer.Option(
    "--from", help="start (ISO 8601 UTC, a date, or epoch seconds)", show_default=False)]
_To = Annotated[str | None, typer.Option(
    "--to", help="end, exclusive (ISO 8601 UTC, a date, or epoch seconds)", show_default=False)]
_IdentityDb = Annotated[Path | None, typer.Option(
    "--identity-db", help="aircraft store for registrations and types (default: the user's)")]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {shown(message)}", err=True)
    raise typer.Exit(code)


def db_or_exit(db: Path | None, *, create: bool = False, read_only: bool = False) -> HistoryStore:
    """The history database at ``db`` (default: the user's), or a one-line error and exit 2
    (no database, locked, corrupt, too new)."""
    from overflight.history.store import HistoryError, open_history

    try:
        return open_history(db, create=create, read_only=read_only)
    except (HistoryError, FileNotFoundError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{db}: cannot open the history database ({exc.strerror or exc})")


def _history(db: Path | None, identity_db: Path | None) -> History:
    from overflight.history.query import History

    ident = None
    if identity_db is not None:
        from overflight.cli.db import open_identifier

        ident = open_identifier(identity_db)
    return History(db_or_exit(db, read_only=True), ident)


def _window(start: str | None, end: str | None) -> tuple[float | None, float | None]:
    from overflight.history.query import QueryError, check_window, parse_time

    try:
        t0 = parse_time(start) if start is not None else None
        t1 = parse_time(end) if end is not None else None
        check_window(t0, t1)
    except QueryError as exc:
        _fail(str(exc))
    return t0, t1


def _support(h: History, positions: Any) -> None:
    typer.echo(h.support(positions).text(), err=True)


def _when(t: float | None) -> str:
    from overflight.history.export import iso

    s = iso(t)
    return "" if s is None else s[:19].replace("T", " ") + "Z"


def _names(h: History) -> Any:
    def names(address: int, non_icao: bool) -> dict[str, Any]:
        if non_icao:
            return {}
        try:
            i = h.identifier.identify(int(address))
        except Exception:
            return {}
        return {"registration": i.registration, "type": i.type_code}
    return names


_TrackFormat = Literal["table", "csv", "geojson", "kml", "json", "trace"]


@history_app.command("track")
def track_cmd(
    aircraft: Annotated[str, typer.Argument(help="hex address (~ for non-ICAO), "
                                            "registration or callsign", show_default=False)],
    start: _From = None,
    end: _To = None,
    fmt: Annotated[_TrackFormat, typer.Option("--format", help="output format")] = "table",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="write to this file instead of standard output")] = None,
    db: _Db = None,
    identity_db: _IdentityDb = None,
) -> None:
    """One aircraft's positions (table, CSV, GeoJSON, KML, JSON lines, trace).

    KML replays in Google Earth's time slider; 'trace' is readsb's trace_full JSON for
    tar1090."""
    from overflight.history import export
    from overflight.history.query import QueryError

    t0, t1 = _window(start, end)
    if output is not None:
        from overflight.cli.app import output_file

        output_file(output, "--output")
    h = _history(db, identity_db)
    try:
        try:
            tr = h.track(aircraft, t0, t1)
        except QueryError as exc:
            _fail(str(exc))
        p = tr.positions
        if p.num_rows == 0:
            typer.echo(f"no positions of {shown(aircraft)} in that window", err=True)
        text: str | None = None
        if fmt == "csv":
            text = export.positions_csv(p)
        elif fmt == "json":
            text = export.positions_jsonl(p)
        elif fmt == "geojson":
            from overflight.jsonout import dumps

            text = dumps(export.positions_geojson(p, _names(h))) + "\n"
        elif fmt == "kml":
            text = export.positions_kml(p, f"Overflight: {aircraft}", _names(h))
        elif fmt == "trace":
            if p.num_rows == 0:
                raise typer.Exit(1)
            text = _trace(h, tr)
        if text is not None:
            if output is not None:
                output.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
                sys.stdout.flush()
        else:
            rows = p.to_pylist()
            print_table(
                [Column("time (UTC)"), Column("hex"), Column("callsign"),
                 Column("lat", justify="right"), Column("lon", justify="right"),
                 Column("alt ft", justify="right"), Column("gs kt", justify="right", priority=2),
                 Column("track", justify="right", priority=3),
                 Column("vrate", justify="right", priority=3), Column("src", priority=1)],
                [(_when(r["time_s"]), ("~" if r["non_icao"] else "") + f"{r['address']:06x}",
                  r["callsign"], f"{r['lat_deg']:.5f}", f"{r['lon_deg']:.5f}",
                  "ground" if r["on_ground"] else _f(r["altitude_ft"]),
                  _f(r["groundspeed_kt"]), _f(r["track_deg"]), _f(r["vertical_rate_fpm"]),
                  r["source"]) for r in rows],
                title=f"{aircraft}: {len(rows):,} positions ({tr.ref.matched})")
        _support(h, p)
    finally:
        h.close()


def _f(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


def _trace(h: History, tr: Any) -> str:
    from overflight.history.export import trace_full
    from overflight.jsonout import dumps

    a, non = tr.ref.addresses[0]
    p = tr.positions
    if len(tr.ref.addresses) > 1:
        import pyarrow.compute as pc

        p = p.filter(pc.equal(p.column("address"), a))
    reg = typ = desc = None
    flags = 0
    if not non:
        try:
            i = h.identifier.identify(int(a))
            reg, typ, flags = i.registration, i.type_code, int(i.db_flags)
            desc = i.type_description or i.description
        except Exception:
            pass
    fl = h.flights(((a, non),), tr.start_s, tr.end_s)
    starts = [float(x) for x in fl.column("first_seen_s").to_pylist()] if fl.num_rows else []
    return dumps(trace_full(p, registration=reg, type_code=typ, description=desc,
                            db_flags=flags, leg_starts_s=starts)) + "\n"


@history_app.command("flights")
def flights_cmd(
    aircraft: Annotated[str, typer.Argument(help="hex address, registration or callsign",
                                            show_default=False)],
    start: _From = None,
    end: _To = None,
    fmt: Annotated[Literal["table", "json"], typer.Option(
        "--format", help="table, or JSON lines (ISO 8601 UTC times)")] = "table",
    db: _Db = None,
    identity_db: _IdentityDb = None,
) -> None:
    """An aircraft's flights, with airports and times, chained into journeys.

    Each end says how it is known (observed / inferred / estimated / unknown); the sources of
    the positions behind each flight are listed; each stretch without positions says whether it
    was over no coverage (further than any receiver can hear) or not heard within coverage.
    JSON lines add ``journey`` (id, leg of legs, route, the stop before) and
    ``coverage_gaps``."""
    from overflight.history.query import QueryError

    t0, t1 = _window(start, end)
    h = _history(db, identity_db)
    try:
        try:
            _, fl = h.flights_of(aircraft, t0, t1)
        except QueryError as exc:
            _fail(str(exc))
        rows = fl.to_pylist()
        trips, gaps = _itinerary(h, rows)
        if fmt == "json":
            from overflight.history.export import flight_json
            from overflight.jsonout import dumps

            for r, trip, gs in zip(rows, trips, gaps, strict=True):
                sys.stdout.write(dumps({**flight_json(r), "journey": trip,
                                        "coverage_gaps": [g.to_dict() for g in gs]}) + "\n")
        else:
            _flights_table(rows, f"{aircraft}: {len(rows)} flight(s)", trips, gaps)
        typer.echo(f"{len(rows)} flight(s), {sum(r['n_messages'] or 0 for r in rows):,} "
                   "messages behind them", err=True)
    finally:
        h.close()


def _end(r: dict[str, Any], end: str) -> str:
    code = r.get(f"{end}_airport") or "?"
    return f"{code} ({r.get(f'{end}_airport_how') or 'unknown'})"


def _itinerary(h: History, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each stored leg's journey and its coverage gaps (judged against the stored receivers)."""
    from overflight.flights.itinerary import journey_rows
    from overflight.report.build import stored_gaps

    return journey_rows(rows), stored_gaps(h, rows)


def _flights_table(rows: list[dict[str, Any]], title: str,
                   trips: list[dict[str, Any]] | None = None,
                   gaps: list[Any] | None = None) -> None:
    trips = trips if trips is not None else [{} for _ in rows]
    gaps = gaps if gaps is not None else [[] for _ in rows]
    print_table(
        [Column("flight"), Column("hex"), Column("callsign"),
         *((Column("journey", priority=1),) if any(trips) else ()), Column("from"),
         Column("departure (UTC)"), Column("how", priority=2), Column("to"),
         Column("arrival (UTC)"), Column("how ", priority=2),
         Column("km", justify="right", priority=3), Column("sources", priority=4),
         *((Column("gaps", priority=3),) if any(gaps) else ())],
        [(r["flight_id"], f"{r['address']:06x}", " ".join(r["callsigns"] or []),
          *((_trip(t),) if any(trips) else ()),
          _end(r, "departure"), _when(r["departure_time_s"]), r["departure_how"],
          _end(r, "arrival"), _when(r["arrival_time_s"]), r["arrival_how"],
          _f(r["distance_km"]), ",".join(r["position_sources"] or []),
          *(("; ".join(x.label for x in g),) if any(gaps) else ()))
         for r, t, g in zip(rows, trips, gaps, strict=True)],
        title=title)


def _trip(t: dict[str, Any]) -> str:
    """``leg 2/2 after stop at OSLK, 3.3 h``."""
    if not t:
        return ""
    text = f"leg {t['leg']}/{t['legs']}"
    return text + (f" after {t['stop_before']['label']}" if t.get("stop_before") else "")


@history_app.command("airport")
def airport_cmd(
    airport: Annotated[str, typer.Argument(help="ICAO airport code, e.g. LFBO",
                                           show_default=False)],
    day: Annotated[str, typer.Option("--date", help="the UTC day, YYYY-MM-DD",
                                     show_default=False)],
    fmt: Annotated[Literal["table", "json"], typer.Option("--format")] = "table",
    db: _Db = None,
) -> None:
    """Departures and arrivals of an airport on one UTC day."""
    from overflight.history.export import flight_json
    from overflight.history.query import QueryError, parse_day
    from overflight.jsonout import dumps

    try:
        d = parse_day(day)
    except QueryError as exc:
        _fail(str(exc))
    h = _history(db, None)
    try:
        try:
            ad = h.airport_day(airport, d)
        except QueryError as exc:
            _fail(str(exc))
        deps, arrs = ad.departures.to_pylist(), ad.arrivals.to_pylist()
        if fmt == "json":
            for kind, rows in (("departure", deps), ("arrival", arrs)):
                for r in rows:
                    sys.stdout.write(dumps({"movement": kind, **flight_json(r)}) + "\n")
        else:
            _flights_table(deps, f"{ad.airport} {d}: {len(deps)} departure(s)")
            _flights_table(arrs, f"{ad.airport} {d}: {len(arrs)} arrival(s)")
        typer.echo(f"{len(deps)} departure(s), {len(arrs)} arrival(s); "
                   f"{sum(r['n_messages'] or 0 for r in deps + arrs):,} messages behind them",
                   err=True)
    finally:
        h.close()


@history_app.command("area")
def area_cmd(
    bbox: Annotated[str | None, typer.Option("--bbox", help="S,W,N,E in degrees")] = None,
    circle: Annotated[str | None, typer.Option("--circle", help="LAT,LON,KM")] = None,
    start: _From = None,
    end: _To = None,
    fmt: Annotated[Literal["table", "json"], typer.Option("--format")] = "table",
    db: _Db = None,
) -> None:
    """Every aircraft with a position in an area during a time window."""
    from overflight.history.query import QueryError, parse_area

    try:
        area = parse_area(bbox, circle)
    except QueryError as exc:
        _fail(str(exc))
    t0, t1 = _window(start, end)
    h = _history(db, None)
    try:
        rows = h.area(area, t0, t1).to_pylist()
        _seen_out(rows, fmt, f"{len(rows)} aircraft in the area")
        if rows:
            _support(h, h.area_positions(area, t0, t1))
    finally:
        h.close()


def _seen_out(rows: list[dict[str, Any]], fmt: str, title: str) -> None:
    from overflight.history.export import iso
    from overflight.jsonout import dumps

    if fmt == "json":
        for r in rows:
            r = {"icao24": ("~" if r["non_icao"] else "") + f"{r['address']:06x}", **r,
                 "first": iso(r["first_s"]), "last": iso(r["last_s"])}
            sys.stdout.write(dumps(r) + "\n")
        return
    extra = [k for k in ("registration", "type_code", "country", "military")
             if rows and k in rows[0]]
    print_table(
        [Column("hex"), Column("callsigns"), *(Column(k, priority=2) for k in extra),
         Column("first (UTC)"), Column("last (UTC)"),
         Column("positions", justify="right")],
        [(("~" if r["non_icao"] else "") + f"{r['address']:06x}",
          " ".join(c for c in r["callsigns"] if c),
          *(("MIL" if r[k] else "") if k == "military" else r[k] for k in extra),
          _when(r["first_s"]), _when(r["last_s"]), f"{r['positions']:,}") for r in rows],
        title=title)


@history_app.command("aircraft")
def aircraft_cmd(
    mil: Annotated[bool, typer.Option("--mil", help="military only")] = False,
    country: Annotated[str | None, typer.Option(
        "--country", help="country of registration (name or ISO code)")] = None,
    type_code: Annotated[str | None, typer.Option("--type", help="ICAO type, e.g. A321")] = None,
    watchlist: Annotated[str | None, typer.Option(
        "--watchlist", help="watchlist tag or category")] = None,
    start: _From = None,
    end: _To = None,
    fmt: Annotated[Literal["table", "json"], typer.Option("--format")] = "table",
    db: _Db = None,
    identity_db: _IdentityDb = None,
) -> None:
    """Who was seen in a time window: military, by country, type or watchlist tag."""
    if not (mil or country or type_code or watchlist):
        _fail("give a filter: --mil, --country C, --type T or --watchlist TAG")
    t0, t1 = _window(start, end)
    h = _history(db, identity_db)
    try:
        rows = h.aircraft(t0, t1, military=mil, country=country, type_code=type_code,
                          watchlist=watchlist).to_pylist()
        _seen_out(rows, fmt, f"{len(rows)} aircraft")
        typer.echo(f"{len(rows)} aircraft, {sum(r['positions'] for r in rows):,} positions",
                   err=True)
    finally:
        h.close()


@history_app.command("info")
def info_cmd(db: _Db = None) -> None:
    """Where the database is, its schema version, rows per table and runs."""
    store = db_or_exit(db, read_only=True)
    try:
        meta = store.meta()
        typer.echo(f"database: {shown(store.path)} (schema {meta.get('schema_version')}, "
                   f"created by {shown(meta.get('created_by'))})")
        typer.echo(f"archive: {shown(store.archive_dir)}")
        for k, v in store.counts().items():
            typer.echo(f"{k}: {v:,}")
        runs = store.con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
        typer.echo(f"runs: {runs}")
    finally:
        store.close()


@history_app.command("archive")
def archive_cmd(
    before: Annotated[str, typer.Option("--before", help="move whole UTC days before this "
                                        "date (YYYY-MM-DD) to Parquet", show_default=False)],
    db: _Db = None,
) -> None:
    """Move whole days before a date to Parquet (queries read both).

    Hive style (TABLE/day=YYYY-MM-DD/*.parquet) beside the database: DuckDB, Polars, pandas
    and Spark read the files without Overflight."""
    from overflight.history.archive import archive
    from overflight.history.query import QueryError, parse_day

    try:
        d = parse_day(before)
    except QueryError as exc:
        _fail(str(exc))
    store = db_or_exit(db)
    try:
        moved = archive(store, d)
    except OSError as exc:
        _fail(f"archive failed ({exc.strerror or exc}); the database is unchanged for the "
              "days not archived", 1)
    finally:
        store.close()
    typer.echo(f"archived to {shown(store.archive_dir)}: "
               + ", ".join(f"{v:,} {k}" for k, v in moved.items()))


@history_app.command("prune")
def prune_cmd(
    keep: Annotated[list[str], typer.Option(
        "--keep", help="TABLE=DAYS: keep this many days of a table (frames, positions, fixes, "
        "rejected, events, flights); repeat per table", show_default=False)],
    db: _Db = None,
) -> None:
    """Retention: delete rows older than the days kept, per table.

    Raw frames can be kept shorter than positions; the database and the archive are pruned."""
    import math

    from overflight.history.archive import prune
    from overflight.history.store import TIME_COLUMN

    days: dict[str, float] = {}
    for k in keep:
        name, _, value = k.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = math.nan
        if name not in TIME_COLUMN or not (v >= 0 and math.isfinite(v)):
            raise typer.BadParameter(f"{k!r}: want TABLE=DAYS with TABLE one of "
                                     f"{', '.join(TIME_COLUMN)}", param_hint="--keep")
        days[name] = v
    store = db_or_exit(db)
    try:
        gone = prune(store, days)
    finally:
        store.close()
    typer.echo("deleted: " + ", ".join(f"{v:,} {k}" for k, v in gone.items()))


@history_app.command("rebuild")
def rebuild_cmd(
    start: _From = None,
    end: _To = None,
    check: Annotated[bool, typer.Option(
        "--check", help="compare with the stored positions, write nothing")] = False,
    db: _Db = None,
) -> None:
    """Positions, fixes, events and flights again from the stored frames.

    Run by run (the runs with frames in the window), replacing the stored ones; says whether
    the positions came out the same (bit for bit when the tracker has not changed)."""
    from overflight.history.rebuild import rebuild, runs_in_window

    t0, t1 = _window(start, end)
    store = db_or_exit(db)
    status = 0
    try:
        runs = runs_in_window(store, t0, t1)
        if not runs:
            typer.echo("no stored frames in that window", err=True)
        for run in runs:
            try:
                r = rebuild(store, run, replace=not check)
            except ValueError as exc:
                typer.echo(f"error: {shown(exc)}", err=True)
                status = 1
                continue
            same = "identical" if r.identical else (
                f"different ({r.only_before:,} stored positions not rebuilt, "
                f"{r.only_after:,} new)")
            typer.echo(f"run {r.run_id}: {r.frames:,} frames; positions {r.positions_before:,} "
                       f"stored, {r.positions_after:,} rebuilt: {same}; flights "
                       f"{r.flights_before} -> {r.flights_after}"
                       + ("" if r.replaced else " (checked, nothing written)"))
    finally:
        store.close()
    if status:
        raise typer.Exit(status)
