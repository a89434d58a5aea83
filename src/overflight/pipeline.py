"""Wiring of the stages: sources -> modes (decode) -> tracking, for files and live feeds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.sources.sbs import SbsRecord
from overflight.tracking import Tracker
from overflight.tracking.sbs import sbs_records

__all__ = ["TrackingSink", "decode_frames", "track_batches", "track_file"]


def decode_frames(batch: FrameBatch) -> pa.Table:
    """Decode one frame batch with ``overflight.modes.decode_batch``."""
    from overflight.modes import decode_batch  # type: ignore[attr-defined,unused-ignore]

    return decode_batch(batch)  # type: ignore[no-any-return,unused-ignore]


def track_batches(
    batches: Iterable[FrameBatch],
    tracker: Tracker | None = None,
    *,
    on_positions: Callable[[pa.Table], None] | None = None,
) -> Iterator[Tracker]:
    """Decode and track each batch in turn (live feed or file); yields the tracker after each."""
    tr = tracker if tracker is not None else Tracker()
    for batch in batches:
        if len(batch) == 0:
            continue
        positions = tr.update(decode_frames(batch))
        if on_positions is not None and positions.num_rows:
            on_positions(positions)
        yield tr


def track_file(
    path: str | Path,
    *,
    receiver_lat_lon: tuple[float, float] | None = None,
    start_time_s: float | None = None,
    on_positions: Callable[[pa.Table], None] | None = None,
) -> Tracker:
    """Replay a capture (any format ``sources.files.read_batches`` reads) into a new tracker."""
    from overflight.sources.files import read_batches

    tracker = Tracker(receiver_lat_lon)
    reader = read_batches(path, start_time_s=start_time_s)
    for _ in track_batches(reader, tracker, on_positions=on_positions):
        pass
    return tracker


class TrackingSink:
    """A feed hub sink: decode and track every published batch, optionally emitting SBS.

    Args:
        tracker: the tracker to update (a new one without receiver position by default).
        on_sbs: receives the SBS records of each batch (e.g. ``FanoutServer.send_sbs``).
        wants_sbs: asked before building records (e.g. "has the SBS server clients?"), so
            tracking runs always but SBS lines are formatted only when someone reads them.
        on_positions: receives each batch's accepted positions (``POSITIONS_SCHEMA``).
    """

    def __init__(
        self,
        tracker: Tracker | None = None,
        *,
        on_sbs: Callable[[list[SbsRecord]], None] | None = None,
        wants_sbs: Callable[[], bool] | None = None,
        on_positions: Callable[[pa.Table], None] | None = None,
    ) -> None:
        self.tracker = tracker if tracker is not None else Tracker()
        self.on_sbs = on_sbs
        self.wants_sbs = wants_sbs
        self.on_positions = on_positions

    def __call__(self, batch: FrameBatch) -> None:
        if len(batch) == 0:
            return
        table = decode_frames(batch)
        positions = self.tracker.update(table)
        if self.on_positions is not None and positions.num_rows:
            self.on_positions(positions)
        if self.on_sbs is not None and (self.wants_sbs is None or self.wants_sbs()):
            records = sbs_records(self.tracker, table, positions)
            if records:
                self.on_sbs(records)
