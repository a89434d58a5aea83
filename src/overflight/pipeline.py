"""Wiring of the stages: sources -> modes (decode) -> tracking, for files and live feeds."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.sources.sbs import SbsRecord
from overflight.tracking import POSITIONS_SCHEMA, TRACKER_COLUMNS, Tracker
from overflight.tracking.mlat_feed import MlatFeed
from overflight.tracking.sbs import sbs_records

__all__ = [
    "MLAT_SLICE_S",
    "TrackingSink",
    "decode_frames",
    "mlat_feed",
    "mlat_sbs_records",
    "time_slices",
    "track_batches",
    "track_file",
]

_NO_POSITIONS = POSITIONS_SCHEMA.empty_table()
_NO_POSITIONS_TABLE = pa.table({})
MLAT_SLICE_S = 1.0
"""With MLAT, a batch is tracked in slices of this many seconds, interleaved with the fixes."""


def decode_frames(batch: FrameBatch) -> pa.Table:
    """Decode one frame batch with ``overflight.modes.decode_batch``, building only the columns
    tracking reads (:data:`~overflight.tracking.TRACKER_COLUMNS`)."""
    from overflight.modes import decode_batch

    return decode_batch(batch, columns=TRACKER_COLUMNS)


def mlat_feed(
    receivers_csv: str | Path,
    *,
    hold_s: float = 2.0,
    slice_s: float = 1.0,
    adsb_hold_s: float = 30.0,
) -> MlatFeed:
    """An :class:`~overflight.tracking.mlat_feed.MlatFeed` for the receivers of a CSV
    (``serial,latitude,longitude,height,type``, as ``overflight sim`` writes it); the options
    are :class:`MlatFeed`'s. ValueError when the file names no usable receiver."""
    from overflight.mlat import ReceiverRegistry

    registry = ReceiverRegistry.from_csv(receivers_csv)
    if len(registry) == 0:
        raise ValueError(f"{receivers_csv}: no receivers (serial,latitude,longitude,height,type)")
    return MlatFeed(registry, hold_s=hold_s, slice_s=slice_s, adsb_hold_s=adsb_hold_s)


def time_slices(time_s: npt.NDArray[np.float64], slice_s: float) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` of a batch in arrival order covering about ``slice_s`` seconds each
    (cut on the running maximum of ``time_s``, NaN times staying with their neighbours)."""
    n = time_s.size
    if n == 0:
        return []
    t = np.fmax.accumulate(np.where(np.isnan(time_s), -np.inf, time_s))
    if not np.isfinite(t[-1]):
        return [(0, n)]
    first = int(np.argmax(np.isfinite(t)))
    # Linear in rows, whatever the time span (a bogus far-future time must not allocate edges).
    idx = np.floor((t[first:] - float(t[first])) / slice_s)
    cuts = first + 1 + np.flatnonzero(np.diff(idx) > 0)
    bounds = [0, *[int(c) for c in cuts if 0 < c < n], n]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _track_with_mlat(
    tr: Tracker,
    batch: FrameBatch,
    table: pa.Table,
    mlat: MlatFeed,
    emit: Callable[[pa.Table, pa.Table, pa.Table], None] | None,
) -> None:
    """Track ``batch`` slice by slice, feeding MLAT and applying its fixes in between.

    ``emit(table_slice, positions, mlat_positions)`` after each slice's tracking (no fixes),
    then with the fixes (an empty table slice)."""
    for a, b in time_slices(batch.time_s, MLAT_SLICE_S):
        part = table if (a, b) == (0, len(batch)) else table.slice(a, b - a)
        rows = batch if (a, b) == (0, len(batch)) else batch.take(np.arange(a, b))
        positions = tr.update(part)
        if emit is not None:  # before the fixes change the tracker's view of its last batch
            emit(part, positions, _NO_POSITIONS)
        mlat.add(rows, part, tr)
        fixes = mlat.flush(tr)
        if emit is not None and fixes.num_rows:
            emit(_NO_POSITIONS_TABLE, _NO_POSITIONS, fixes)


def track_batches(
    batches: Iterable[FrameBatch],
    tracker: Tracker | None = None,
    *,
    on_positions: Callable[[pa.Table], None] | None = None,
    mlat: MlatFeed | None = None,
) -> Iterator[Tracker]:
    """Decode and track each batch in turn (live feed or file); yields the tracker after each.

    With ``mlat`` the frames also go to multilateration (slices of :data:`MLAT_SLICE_S`) and
    its fixes into the tracker (source ``mlat``); ``on_positions`` then also receives those.
    When the batches end, the receptions still waiting are solved and the tracker yielded once
    more."""
    tr = tracker if tracker is not None else Tracker()

    def emit(_part: pa.Table, positions: pa.Table, fixes: pa.Table) -> None:
        if on_positions is not None:
            for p in (positions, fixes):
                if p.num_rows:
                    on_positions(p)

    for batch in batches:
        if len(batch) == 0:
            continue
        if mlat is not None:
            _track_with_mlat(tr, batch, decode_frames(batch), mlat, emit)
            yield tr
            continue
        positions = tr.update(decode_frames(batch))
        if on_positions is not None and positions.num_rows:
            on_positions(positions)
        yield tr
    if mlat is not None:
        emit(_NO_POSITIONS_TABLE, _NO_POSITIONS, mlat.flush(tr, final=True))
        yield tr


def track_file(
    path: str | Path,
    *,
    receiver_lat_lon: tuple[float, float] | None = None,
    start_time_s: float | None = None,
    on_positions: Callable[[pa.Table], None] | None = None,
    mlat: MlatFeed | None = None,
    fmt: str | None = None,
    sample_rate_hz: float = 2.0e6,
) -> Tracker:
    """Replay a capture (any format ``sources.files.read_batches`` reads) into a new tracker.

    ``mlat``: multilaterate with these receivers (frames need receiver ids and counters, as
    an aggregated Beast capture has them); see :func:`mlat_feed`. ``fmt``: force an input
    format (one of ``sources.files.FORMATS``; None or "auto" detects it; "iq" for raw RTL-SDR
    samples at ``sample_rate_hz`` samples per second, 2.0e6 or 2.4e6; without
    ``start_time_s`` its times count from 0 at the first sample, as other formats with only a
    relative clock do, since rows without a time cannot be tracked)."""
    from overflight.sources.files import read_batches

    if fmt == "iq" and start_time_s is None:
        start_time_s = 0.0
    tracker = Tracker(receiver_lat_lon)
    reader = read_batches(
        path,
        start_time_s=start_time_s,
        fmt=None if fmt == "auto" else fmt,
        sample_rate_hz=sample_rate_hz,
    )
    for _ in track_batches(reader, tracker, on_positions=on_positions, mlat=mlat):
        pass
    return tracker


def mlat_sbs_records(positions: pa.Table) -> list[SbsRecord]:
    """SBS ``MSG,3`` records of MLAT positions, marked ``MLAT`` in the message-type field
    (as readsb and mlat-client write them)."""
    cols = {
        c: positions.column(c).to_pylist()
        for c in ("icao24", "time_s", "lat_deg", "lon_deg", "altitude_ft", "on_ground")
    }
    return [
        SbsRecord(
            3,
            icao24=cols["icao24"][k].upper(),
            time_s=float(cols["time_s"][k]),
            altitude_ft=None if cols["altitude_ft"][k] is None else round(cols["altitude_ft"][k]),
            latitude_deg=cols["lat_deg"][k],
            longitude_deg=cols["lon_deg"][k],
            on_ground=cols["on_ground"][k],
            message_type="MLAT",
        )
        for k in range(positions.num_rows)
    ]


class TrackingSink:
    """A feed hub sink: decode and track every published batch, optionally emitting SBS.

    Args:
        tracker: the tracker to update (a new one without receiver position by default).
        on_sbs: receives the SBS records of each batch (e.g. ``FanoutServer.send_sbs``).
        wants_sbs: asked before building records (e.g. "has the SBS server clients?"), so
            tracking runs always but SBS lines are formatted only when someone reads them.
        on_positions: receives each batch's accepted positions (``POSITIONS_SCHEMA``).
        mlat: multilaterate the feeds' frames (receiver ids as the hub numbers its feeds must
            match the registry's); fixes go into the tracker and out as ``MLAT`` SBS records.
    """

    def __init__(
        self,
        tracker: Tracker | None = None,
        *,
        on_sbs: Callable[[list[SbsRecord]], None] | None = None,
        wants_sbs: Callable[[], bool] | None = None,
        on_positions: Callable[[pa.Table], None] | None = None,
        mlat: MlatFeed | None = None,
    ) -> None:
        self.tracker = tracker if tracker is not None else Tracker()
        self.on_sbs = on_sbs
        self.wants_sbs = wants_sbs
        self.on_positions = on_positions
        self.mlat = mlat

    def _emit(self, table: pa.Table, positions: pa.Table, fixes: pa.Table) -> None:
        for p in (positions, fixes):
            if self.on_positions is not None and p.num_rows:
                self.on_positions(p)
        if self.on_sbs is not None and (self.wants_sbs is None or self.wants_sbs()):
            records = sbs_records(self.tracker, table, positions) if table.num_rows else []
            if fixes.num_rows:
                records += mlat_sbs_records(fixes)
            if records:
                self.on_sbs(records)

    def __call__(self, batch: FrameBatch) -> None:
        if len(batch) == 0:
            return
        table = decode_frames(batch)
        if self.mlat is not None:
            _track_with_mlat(self.tracker, batch, table, self.mlat, self._emit)
            return
        positions = self.tracker.update(table)
        self._emit(table, positions, _NO_POSITIONS)
