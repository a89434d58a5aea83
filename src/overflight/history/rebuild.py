"""Positions, fixes, events and flights again from the stored frames.

A run (one ingested file, one live session) is replayed from its first stored batch, batch
by batch as it was first processed (``batches`` keeps their boundaries), through a new
:class:`~overflight.station.Station` with the run's receivers table: tracking state depends
on every earlier frame, so a run is the unit of a rebuild; ``start_s`` / ``end_s`` choose the
runs with frames in that window.

Positions are bit-identical to the stored ones when the frames are processed in the same
order and batches, by the same version of the tracker (what :func:`rebuild` does). A run whose
frames were partly pruned by retention cannot be rebuilt the same way and is refused.

With ``replace``, the run's derived rows (positions, fixes, rejected, events, flights) are
replaced by the rebuilt ones in one transaction; without it, nothing is written and the result
says how the rebuilt positions compare with the stored ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.history.store import POSITION_COLUMNS, HistoryStore, first_row

__all__ = ["RebuildResult", "frame_batch", "rebuild", "runs_in_window"]

_DERIVED = ("positions", "fixes", "rejected", "events", "flights")


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """One run rebuilt: positions stored before and rebuilt, how many of each side have no
    identical row on the other (0 and 0: the same result), and whether it was written."""

    run_id: int
    frames: int
    positions_before: int
    positions_after: int
    only_before: int
    only_after: int
    flights_before: int
    flights_after: int
    replaced: bool

    @property
    def identical(self) -> bool:
        """True when every position is the same, bit for bit."""
        return self.only_before == 0 and self.only_after == 0


def frame_batch(table: pa.Table) -> Any:
    """A :class:`~overflight.frames.FrameBatch` from ``frames`` rows (``time_s, receiver,
    signal_dbfs, ticks, raw``), vectorised."""
    from overflight.frames import FRAME_WIDTH_BYTES, FrameBatch

    raw = table.column("raw").combine_chunks()
    n = len(raw)
    buffers = raw.buffers()
    offsets = np.frombuffer(buffers[1], np.int32, n + 1, raw.offset * 4)
    values = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0,
                                                                                         np.uint8)
    lengths = np.diff(offsets).astype(np.int64)
    data = np.zeros((n, FRAME_WIDTH_BYTES), np.uint8)
    lengths = np.minimum(lengths, FRAME_WIDTH_BYTES)
    rows = np.repeat(np.arange(n), lengths)
    starts = np.repeat(offsets[:-1].astype(np.int64), lengths)
    cols = np.arange(rows.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    data[rows, cols] = values[starts + cols]

    def col(name: str, dtype: Any, fill: float) -> Any:
        return table.column(name).to_numpy(zero_copy_only=False).astype(dtype) if \
            table.column(name).null_count == 0 else \
            np.where(table.column(name).is_null().to_numpy(zero_copy_only=False), fill,
                     table.column(name).fill_null(fill).to_numpy(zero_copy_only=False)
                     ).astype(dtype)

    return FrameBatch.from_columns(
        data, lengths.astype(np.uint8), time_s=col("time_s", np.float64, np.nan),
        receiver=col("receiver", np.uint64, 0), signal_dbfs=col("signal_dbfs", np.float32,
                                                                 np.nan),
        ticks=col("ticks", np.uint64, 0))


def runs_in_window(store: HistoryStore, start_s: float | None,
                   end_s: float | None) -> list[int]:
    """Runs (not rebuilds) with a stored frame in the window, in order."""
    params: dict[str, Any] = {"t0": -np.inf if start_s is None else float(start_s),
                              "t1": np.inf if end_s is None else float(end_s)}
    frames = store.source("frames", params, "seq, time_s")
    rows = store.con.execute(
        "SELECT r.run_id FROM runs r WHERE r.kind <> 'rebuild' AND EXISTS (SELECT 1 FROM "
        f"batches b JOIN {frames} f ON f.seq >= b.seq_first AND f.seq < b.seq_first + b.n "
        "WHERE b.run_id = r.run_id AND f.time_s >= $t0 AND f.time_s < $t1) ORDER BY r.run_id",
        params).fetchall()
    return [int(r[0]) for r in rows]


class _Collect:
    def __init__(self) -> None:
        self.tables: dict[str, list[pa.Table]] = {k: [] for k in _DERIVED}

    def __call__(self, update: Any) -> None:
        if update.name in self.tables and update.table.num_rows:
            self.tables[update.name].append(update.table)


def rebuild(store: HistoryStore, run_id: int, *, replace: bool = False,
            receivers_csv: Path | str | None = None) -> RebuildResult:
    """Replay run ``run_id``'s stored frames through a new station (see the module text).

    ``receivers_csv``: the MLAT receivers table (default: the run's, when the file is still
    there). ValueError when the run is unknown or frames of it are missing."""
    from overflight.history.writer import insert_table, positions_select
    from overflight.station import Station, StationConfig

    con = store.con
    run = first_row(con.execute("SELECT seq_first, receivers_csv FROM runs WHERE run_id = $r",
                                {"r": run_id}))
    if run is None:
        raise ValueError(f"run {run_id}: no such run")
    batches = con.execute("SELECT seq_first, n FROM batches WHERE run_id = $r ORDER BY "
                          "seq_first", {"r": run_id}).fetchall()
    if not batches:
        raise ValueError(f"run {run_id}: no frames stored")
    lo, hi = int(batches[0][0]), int(batches[-1][0]) + int(batches[-1][1])
    params: dict[str, Any] = {"lo": lo, "hi": hi}
    frames = store.cursor().sql(
        "SELECT seq, time_s, receiver, signal_dbfs, ticks, raw FROM "
        f"{store.source('frames', params)} WHERE seq >= $lo AND seq < $hi ORDER BY seq",
        params=params).to_arrow_table()
    if frames.num_rows != hi - lo:
        raise ValueError(f"run {run_id}: {hi - lo - frames.num_rows:,} of its {hi - lo:,} "
                         "frames are no longer stored (retention); it cannot be rebuilt")
    archived = store.archive_files("positions")
    if archived:
        hit = first_row(con.execute("SELECT count(*) FROM read_parquet($f) WHERE run_id = $r",
                                    {"f": archived, "r": run_id}))
        if hit and int(hit[0]):
            raise ValueError(f"run {run_id}: its positions are archived; rebuild works on "
                             "runs still in the database")
    rx = receivers_csv if receivers_csv is not None else run[1]
    if rx is not None and not Path(str(rx)).is_file():
        rx = None
    station = Station(StationConfig(receivers_csv=Path(str(rx)) if rx else None))
    sink = _Collect()
    station.subscribe(sink, inline=True)
    seq0 = frames.column("seq").to_numpy()
    for s, n in batches:
        a = int(np.searchsorted(seq0, int(s)))
        station.process(frame_batch(frames.slice(a, int(n))))
    station.finish()
    station.close()

    new_positions = (pa.concat_tables(sink.tables["positions"], promote_options="permissive")
                     if sink.tables["positions"] else None)
    cols = ", ".join(n for n, _ in POSITION_COLUMNS)
    old_where = "run_id = $r"
    cur = store.cursor()
    before = first_row(cur.execute(f"SELECT count(*) FROM positions WHERE {old_where}",
                                   {"r": run_id}))
    n_before = int(before[0]) if before else 0
    flights_before = int((first_row(cur.execute(
        "SELECT count(*) FROM flights WHERE run_id = $r", {"r": run_id})) or (0,))[0])
    # the rebuilt positions as stored rows (same shift of frame numbers, same columns)
    n_after = only_before = only_after = 0
    if new_positions is not None:
        cur.register("_new", new_positions)
        sel = positions_select(new_positions.schema)
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _rebuilt AS SELECT {sel} FROM _new",
                    {"off": lo, "run": run_id})
        cur.unregister("_new")
    else:
        cur.execute("CREATE OR REPLACE TEMP TABLE _rebuilt AS SELECT * FROM positions LIMIT 0")
    n_after = int((first_row(cur.execute("SELECT count(*) FROM _rebuilt")) or (0,))[0])
    only_before = int((first_row(cur.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM positions WHERE {old_where} EXCEPT ALL "
        f"SELECT {cols} FROM _rebuilt)", {"r": run_id})) or (0,))[0])
    only_after = int((first_row(cur.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM _rebuilt EXCEPT ALL SELECT {cols} FROM "
        f"positions WHERE {old_where})", {"r": run_id})) or (0,))[0])
    flights_after = sum(t.num_rows for t in sink.tables["flights"])
    if replace:
        with store.transaction():
            for t in ("positions", "fixes", "events", "flights"):
                con.execute(f"DELETE FROM {t} WHERE run_id = $r", {"r": run_id})
            con.execute("DELETE FROM rejected WHERE seq >= $lo AND seq < $hi",
                        {"lo": lo, "hi": hi})
            for name in _DERIVED:
                for t in sink.tables[name]:
                    insert_table(con, name, t, seq_offset=lo, run_id=run_id)
    cur.execute("DROP TABLE IF EXISTS _rebuilt")
    return RebuildResult(run_id, hi - lo, n_before, n_after, only_before, only_after,
                         flights_before, flights_after, replace)
