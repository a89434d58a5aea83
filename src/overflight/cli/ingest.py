"""``overflight ingest FILE... --db PATH``: run the station over captures and store the result.

Every format ``overflight track`` reads. One line per file says what was stored. Exit status:
0 when every file was stored (a file that ends early is stored up to the break, with a warning;
a file already stored is skipped with a note), 1 when a file had nothing readable or storing
failed (a full disk: the line says how much was not stored), 2 for usage errors and a database
that cannot be used (locked by another process, corrupt, written by a newer Overflight: the
message says what to do).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from overflight.cli.app import app, input_path, read_failed, shown, warn_cut

__all__ = ["ingest"]

_Format = Literal["auto", "beast", "avr", "hex", "csv", "jsonl", "text", "iq"]


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(
        help="captures or recordings: Beast, AVR, hex, CSV, JSON lines, raw I/Q (with --format "
        "iq), gzip", show_default=False)],
    db: Annotated[Path | None, typer.Option(
        "--db", help="history database (default: history.duckdb in the user data directory)",
    )] = None,
    receivers: Annotated[Path | None, typer.Option(
        "--receivers", help="receivers CSV (serial,latitude,longitude,height,type) for MLAT",
    )] = None,
    fmt: Annotated[_Format, typer.Option(
        "--format", help="input format (auto: detected from the content)")] = "auto",
    start_time: Annotated[float | None, typer.Option(
        help="UTC epoch seconds of the first frame, for captures without absolute time",
    )] = None,
    flush_every: Annotated[float, typer.Option(
        "--flush-every", help="seconds between commits: a crash loses at most this much",
    )] = 1.0,
    again: Annotated[bool, typer.Option(
        "--again", help="store a file whose content is already stored")] = False,
    identity_db: Annotated[Path | None, typer.Option(
        "--identity-db", help="aircraft store for identities (default: as 'overflight db')",
    )] = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="one line on stderr per commit (running totals)")] = False,
    one_recording: Annotated[bool, typer.Option(
        "--one-recording", help="the files are pieces of one recording (e.g. hourly files): "
        "one run, tracks and flights going on across the cuts")] = False,
) -> None:
    """Store captures in the history database (see 'overflight history').

    The station decodes, tracks, multilaterates (with --receivers) and finds flights; every
    frame, position, fix, event and flight is stored. A file already stored is skipped."""
    import math

    from overflight.cli.history import db_or_exit

    for p in paths:
        input_path(p, "FILE")
    if receivers is not None:
        input_path(receivers, "--receivers", stdin=False)
    if not (flush_every > 0 and math.isfinite(flush_every)):
        raise typer.BadParameter("want seconds > 0", param_hint="--flush-every")
    if start_time is not None and not math.isfinite(start_time):
        raise typer.BadParameter("want UTC epoch seconds", param_hint="--start-time")
    from overflight.history.ingest import AlreadyStoredError, ingest_file
    from overflight.history.writer import WriterStats

    store = db_or_exit(db, create=True)

    def progress(s: WriterStats) -> None:
        if verbose:
            typer.echo(f"flush {s.flushes}: " + ", ".join(
                f"{k} {v}" for k, v in s.stored.items()), err=True)

    status = 0
    if one_recording:
        from overflight.history.ingest import ingest_recording

        try:
            r = ingest_recording(list(paths), store, receivers_csv=receivers,
                                 identity_db=identity_db, flush_every_s=flush_every,
                                 on_flush=progress, keep_open=True)
        except ValueError as exc:  # a receivers table without one usable receiver
            typer.echo(f"error: {shown(exc)}", err=True)
            raise typer.Exit(2) from None
        finally:
            store.close()
        s = r.stored
        typer.echo(
            f"{len(paths)} files as one recording: run {r.run_id}: stored {s['frames']:,} "
            f"frames, {s['positions']:,} positions, {s['fixes']:,} MLAT fixes, "
            f"{s['events']:,} events, {s['flights']:,} flights")
        if r.failed is not None:
            typer.echo(f"error: storing failed ({shown(r.failed)})", err=True)
            raise typer.Exit(1)
        return
    try:
        for p in paths:
            try:
                r = ingest_file(
                    p, store, receivers_csv=receivers, identity_db=identity_db,
                    flush_every_s=flush_every, on_flush=progress, again=again,
                    fmt=None if fmt == "auto" else fmt, start_time_s=start_time,
                    keep_open=True)
            except AlreadyStoredError as exc:
                typer.echo(f"note: {shown(p)}: already stored (run {exc.run_id}); skipped "
                           "(--again stores it twice)", err=True)
                continue
            except ValueError as exc:  # a receivers table without one usable receiver
                typer.echo(f"error: {shown(exc)}", err=True)
                raise typer.Exit(2) from None
            s = r.stored
            typer.echo(
                f"{shown(p)}: run {r.run_id}: stored {s['frames']:,} frames, "
                f"{s['positions']:,} positions, {s['fixes']:,} MLAT fixes, "
                f"{s['events']:,} events, {s['flights']:,} flights")
            if r.failed is not None:
                lost = ", ".join(f"{v:,} {k}" for k, v in r.not_stored.items() if v)
                typer.echo(f"error: {shown(p)}: storing failed ({shown(r.failed)}); "
                           f"not stored: {lost or 'nothing'}", err=True)
                status = 1
                break
            fault = r.fault
            frames = getattr(getattr(r.reader, "stats", None), "frames", 0)
            if fault is not None and not frames:
                raise read_failed(p, fault)
            warn_cut(p, getattr(r.reader, "fault", None) or fault,
                     f"the {frames:,} frames before it were stored")
            if not frames:
                typer.echo(f"error: {shown(p)}: no frames found: is this a capture?", err=True)
                status = 1
    finally:
        store.close()
    if status:
        raise typer.Exit(status)
