"""``overflight alerts``: check a rules file, print the shipped defaults, and run rules over a
capture or the history database to see what would fire (nothing is delivered).

* ``alerts check RULES.toml``: every fault with its line and field (exit 1), else a summary.
* ``alerts defaults``: the shipped default rules (copy them into a file and edit).
* ``alerts test RULES.toml --input FILE [--receivers RX.csv]`` or ``--db DB --from T --to T``:
  one line per alert: time, rule, address, callsign, registration, what happened.
* ``alerts list [--db DB] [--from T] [--to T] [--limit N] [--json]``: the alerts stored in a
  history database (those a server fired, with ``serve --db``), in the order they fired.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import Column, app, input_path, print_table, shown

__all__ = ["alerts_app"]

alerts_app = typer.Typer(help="Alert rules: check a rules file, show the defaults, try rules "
                              "on a capture or on history.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

_Db = Annotated[Path | None, typer.Option(
    "--db", help="history database (default: history.duckdb in the user data directory; a "
                 "server without --db stores its alerts in alerts.duckdb beside it)",
    show_default=False)]
_Rules = Annotated[Path, typer.Argument(help="rules file (TOML)", show_default=False,
                                        metavar="RULES")]


def _load(path: Path) -> object:
    from overflight.alerts.rules import RulesError, load_rules

    input_path(path, "RULES", stdin=False)
    try:
        return load_rules(path)
    except RulesError as exc:
        for p in exc.problems:
            typer.echo(f"error: {shown(p.text(str(path)))}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: {shown(path)}: {shown(exc.strerror or exc)}", err=True)
        raise typer.Exit(1) from None


@alerts_app.command("check")
def check(rules: _Rules) -> None:
    """Validate RULES: every fault with its line and field (exit 1), or a summary (0)."""
    from overflight.alerts.rules import RuleSet

    rs = _load(rules)
    assert isinstance(rs, RuleSet)
    typer.echo(f"{shown(rules)}: {len(rs.rules)} rules")
    for r in rs.rules:
        typer.echo(f"  line {r.line}: {shown(r.name)}: {r.kind} -> {shown(', '.join(r.notify))}")


@alerts_app.command("defaults")
def defaults() -> None:
    """Print the shipped default rules (military landing abroad, emergencies, watchlist
    take-offs and landings)."""
    from overflight.alerts.rules import DEFAULT_RULES

    typer.echo(DEFAULT_RULES, nl=False)


@alerts_app.command("test")
def test(
    rules: _Rules,
    input: Annotated[Path | None, typer.Option(
        "--input", "-i", help="capture to run through the station", show_default=False)] = None,
    receivers: Annotated[Path | None, typer.Option(
        "--receivers", help="receivers table for MLAT (serial,latitude,longitude,height,type)",
        show_default=False)] = None,
    db: Annotated[Path | None, typer.Option(
        "--db", help="history database: replay its stored frames instead of a capture",
        show_default=False)] = None,
    start: Annotated[str | None, typer.Option(
        "--from", help="with --db: start (ISO 8601 UTC, a date, or epoch seconds)",
        show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="with --db: end (ISO 8601 UTC, a date, or epoch seconds)",
        show_default=False)] = None,
    aircraft_db: Annotated[Path | None, typer.Option(
        "--aircraft-db", help="aircraft store for identities (default: as 'overflight db')",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document per alert")] = False,
) -> None:
    """Run RULES over a capture (--input) or over history (--db, --from, --to) and print
    what would fire, one line per alert: time, rule, address, callsign, registration."""
    from overflight.alerts.rules import RuleSet

    if (input is None) == (db is None):
        raise typer.BadParameter("give either --input FILE or --db DB", param_hint="--input")
    if input is not None:
        input_path(input, "--input", stdin=False)
    if receivers is not None:
        input_path(receivers, "--receivers", stdin=False)
    if aircraft_db is not None:
        input_path(aircraft_db, "--aircraft-db", stdin=False)
    rs = _load(rules)
    assert isinstance(rs, RuleSet)
    if input is not None:
        from overflight.alerts.replay import alerts_over_capture
        from overflight.cli.app import read_failed

        failure: list[BaseException] = []
        got = alerts_over_capture(rs, input, receivers_csv=receivers, identity_db=aircraft_db,
                                  failure=failure)
        if failure:
            from overflight.cli.app import warn_cut

            if not got:
                raise read_failed(input, failure[0])
            warn_cut(input, failure[0], "the alerts of the part before it are listed")
    else:
        from overflight.alerts.replay import alerts_over_history
        from overflight.history.query import QueryError, check_window, parse_time
        from overflight.history.store import HistoryError

        try:
            t0 = parse_time(start) if start is not None else None
            t1 = parse_time(end) if end is not None else None
            check_window(t0, t1)
        except QueryError as exc:
            raise typer.BadParameter(shown(exc), param_hint="--from/--to") from None
        assert db is not None
        input_path(db, "--db", stdin=False)
        try:
            got = alerts_over_history(rs, db, t0, t1, identity_db=aircraft_db)
        except HistoryError as exc:
            typer.echo(f"error: {shown(db)}: {shown(exc)}", err=True)
            raise typer.Exit(1) from None
    if as_json:
        from overflight.jsonout import dumps

        for a in got:
            typer.echo(dumps(a.to_json()))
        return
    from overflight.alerts.engine import _iso

    print_table(
        [Column("time"), Column("rule"), Column("address"), Column("callsign", 1),
         Column("registration", 1), Column("what", 2)],
        [(_iso(a.time_s), a.rule, a.icao24, a.callsign, a.registration, a.detail)
         for a in got],
        title=f"{len(got)} alerts",
    )


@alerts_app.command("list")
def list_alerts(
    db: _Db = None,
    start: Annotated[str | None, typer.Option(
        "--from", help="start (ISO 8601 UTC, a date, or epoch seconds)",
        show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="end, exclusive (ISO 8601 UTC, a date, or epoch seconds)",
        show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, help="only the last N", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document per alert "
                                                          "(evidence included)")] = False,
) -> None:
    """The alerts stored in the history database, in the order they fired: time, rule,
    address, callsign, registration, flight, what happened."""
    import json

    from overflight.alerts.store import stored_alerts
    from overflight.cli.history import _window, db_or_exit

    t0, t1 = _window(start, end)
    store = db_or_exit(db, read_only=True)
    try:
        docs = stored_alerts(store, t0, t1, limit)
    finally:
        store.close()
    if as_json:
        for d in docs:
            typer.echo(d)
        return
    from overflight.alerts.engine import _iso

    rows = [json.loads(d) for d in docs]
    print_table(
        [Column("time"), Column("rule"), Column("address"), Column("callsign", 1),
         Column("registration", 1), Column("flight", 3), Column("what", 2)],
        [(_iso(float(a["time_s"])), a["rule"], a["icao24"], a.get("callsign"),
          a.get("registration"), a.get("flight_id"), a.get("detail")) for a in rows],
        title=f"{len(rows)} alerts",
    )
