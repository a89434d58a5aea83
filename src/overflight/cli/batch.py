"""``overflight batch flights --from T --to T --spark MASTER``: history jobs on Spark.

Flights are rebuilt from the Parquet history's positions (``history archive`` writes them:
``<archive>/positions/day=YYYY-MM-DD/``) by the same flight code a single machine runs, one
group of aircraft per Spark task. ``--spark local[*]`` runs on this machine; a cluster's
master URL (``spark://HOST:7077``, ``yarn``, ``k8s://...``) runs the same job there.
``--embedded`` runs the single-process rebuild instead (the reference). Exit status: 0 done,
1 the job failed, 2 usage errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from overflight.cli.app import app, shown

__all__ = ["batch_app"]

batch_app = typer.Typer(help="History jobs on Apache Spark (Parquet history in, tables out).",
                        no_args_is_help=True)
app.add_typer(batch_app, name="batch")


@batch_app.command("flights")
def flights(
    start: Annotated[str, typer.Option("--from", help="window start: UTC ISO 8601 or epoch s",
                                       show_default=False)],
    end: Annotated[str, typer.Option("--to", help="window end (excluded)",
                                     show_default=False)],
    spark: Annotated[str, typer.Option(
        "--spark", help="Spark master URL: local[*], local[2], spark://HOST:7077, yarn...",
    )] = "local[*]",
    history: Annotated[Path | None, typer.Option(
        "--history", help="the Parquet history folder (default: the archive beside the "
        "default history database)")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="write the flights as Parquet here (default: a table on "
        "standard output)")] = None,
    embedded: Annotated[bool, typer.Option(
        "--embedded", help="rebuild in this process, without Spark (the reference)")] = False,
) -> None:
    """Rebuild the flights of a window from the Parquet history with Spark."""
    from overflight.history.query import QueryError, parse_time

    try:
        t0, t1 = parse_time(start), parse_time(end)
    except QueryError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not t1 > t0:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    if history is None:
        from overflight.history.store import default_archive_dir, default_db_path

        history = default_archive_dir(default_db_path())
    if not (history / "positions").is_dir():
        raise typer.BadParameter(f"{shown(history)}: no archived positions (see 'overflight "
                                 "history archive')", param_hint="--history")
    from overflight.batch.flights import embedded_flights, spark_flights, spark_session

    if embedded:
        table = embedded_flights(history, t0, t1)
    else:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            typer.echo("overflight: Spark jobs need pyspark: pip install 'overflight[spark]'",
                       err=True)
            raise typer.Exit(2) from None
        session = spark_session(spark)
        try:
            table = spark_flights(session, history, t0, t1)
        except Exception as exc:
            typer.echo(f"overflight: the Spark job failed: {exc}", err=True)
            raise typer.Exit(1) from None
        finally:
            session.stop()
    if output is not None:
        import pyarrow.parquet as pq

        pq.write_table(table, output, compression="zstd")
        typer.echo(f"{table.num_rows:,} flights written to {shown(output)}")
        return
    from datetime import UTC, datetime

    def when(t: float | None) -> str:
        return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")

    typer.echo(f"{'icao24':<8} {'callsign':<9} {'from':<5} {'to':<5} {'first seen':<17} "
               f"{'last seen':<17}")
    for r in table.to_pylist():
        cs = (r["callsigns"] or ["-"])[-1] or "-"
        typer.echo(f"{r['icao24']:<8} {cs!s:<9.9} {r['departure_airport'] or '-':<5} "
                   f"{r['arrival_airport'] or '-':<5} {when(r['first_seen_s']):<17} "
                   f"{when(r['last_seen_s']):<17}")
    typer.echo(f"{table.num_rows:,} flights")
