"""Wiring of the stages: sources -> modes (decode) -> tracking, for files and live feeds."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.sources.sbs import SbsRecord, flag_codes, format_sbs_columns
from overflight.tracking import TRACKER_COLUMNS, Tracker
from overflight.tracking.mlat_feed import MlatFeed
from overflight.tracking.sbs import sbs_lines, sbs_records

__all__ = [
    "MLAT_SLICE_S",
    "TrackingSink",
    "decode_frames",
    "mlat_feed",
    "mlat_sbs_lines",
    "mlat_sbs_records",
    "sbs_hook",
    "sbs_lines_hook",
    "time_slices",
    "track_batches",
    "track_file",
]

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


def _station(
    tracker: Tracker | None, mlat: MlatFeed | None, on_positions: Callable[[pa.Table], None] | None
) -> Any:
    """A station around ``tracker`` and ``mlat`` (no flights, no identities: the caller's
    tracker is the product), handing accepted positions to ``on_positions``."""
    from overflight.station import Positions, Station, StationConfig

    st = Station(
        StationConfig(flights=False, identify=False),
        tracker=tracker if tracker is not None else Tracker(),
        mlat=mlat,
    )
    if on_positions is not None:
        def positions(u: Any) -> None:
            if isinstance(u, Positions):
                on_positions(u.table)

        st.subscribe(positions, name="on_positions", kinds=("positions",), inline=True)
    return st


def track_batches(
    batches: Iterable[FrameBatch],
    tracker: Tracker | None = None,
    *,
    on_positions: Callable[[pa.Table], None] | None = None,
    mlat: MlatFeed | None = None,
) -> Iterator[Tracker]:
    """Decode and track each batch in turn through a :class:`~overflight.station.Station`;
    yields the tracker after each.

    With ``mlat`` the frames also go to multilateration (slices of :data:`MLAT_SLICE_S`) and
    its fixes into the tracker (source ``mlat``); ``on_positions`` then also receives those.
    When the batches end, the receptions still waiting are solved and the tracker yielded once
    more."""
    st = _station(tracker, mlat, on_positions)
    for batch in batches:
        if len(batch) == 0:
            continue
        st.process(batch)
        yield st.tracker
    if mlat is not None:
        st.finish()
        yield st.tracker


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
    """Replay a capture (any format ``sources.files.read_batches`` reads) into a new tracker,
    through a :class:`~overflight.station.Station` (as ``overflight track`` does).

    ``mlat``: multilaterate with these receivers (frames need receiver ids and counters, as
    an aggregated Beast capture has them); see :func:`mlat_feed`. ``fmt``: force an input
    format (one of ``sources.files.FORMATS``; None or "auto" detects it; "iq" for raw RTL-SDR
    samples at ``sample_rate_hz`` samples per second, 2.0e6 or 2.4e6; without
    ``start_time_s`` its times count from 0 at the first sample, as other formats with only a
    relative clock do, since rows without a time cannot be tracked)."""
    st = _station(Tracker(receiver_lat_lon), mlat, on_positions)
    st.run_file(path, fmt=fmt, start_time_s=start_time_s, sample_rate_hz=sample_rate_hz)
    tracker: Tracker = st.tracker
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


def mlat_sbs_lines(positions: pa.Table) -> bytes:
    """The lines of :func:`mlat_sbs_records` (``\r\n`` after each), formatted as columns:
    byte for byte ``format_sbs`` of each record."""
    n = positions.num_rows
    if n == 0:
        return b""
    import pyarrow.compute as pc

    def floats(name: str) -> npt.NDArray[np.float64]:
        col = positions.column(name).cast(pa.float64())
        return np.asarray(pc.fill_null(col, np.nan).to_numpy(), np.float64)

    ground = positions.column("on_ground")
    return format_sbs_columns(
        np.full(n, 3, np.int64),
        floats("time_s"),
        icao24=positions.column("icao24"),
        altitude_ft=floats("altitude_ft"),
        latitude_deg=floats("lat_deg"),
        longitude_deg=floats("lon_deg"),
        on_ground=flag_codes(pc.fill_null(ground, False).to_numpy(zero_copy_only=False),
                             ground.is_valid().to_numpy(zero_copy_only=False)),
        message_type="MLAT",
    )


class TrackingSink:
    """A feed hub sink: decode and track every published batch through a
    :class:`~overflight.station.Station`, optionally emitting SBS.

    Args:
        tracker: the tracker to update (a new one without receiver position by default).
        on_sbs: receives the SBS records of each batch (e.g. ``FanoutServer.send_sbs``).
        on_sbs_lines: receives the SBS lines of each batch as bytes, formatted as columns
            (e.g. ``FanoutServer.send_bytes``): the fast path, no object per line.
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
        on_sbs_lines: Callable[[bytes], None] | None = None,
        on_positions: Callable[[pa.Table], None] | None = None,
        mlat: MlatFeed | None = None,
    ) -> None:
        self.station = _station(tracker, mlat, on_positions)
        self.tracker: Tracker = self.station.tracker
        self.mlat = mlat
        if on_sbs is not None:
            self.station.on_tracked(sbs_hook(self.station, on_sbs, wants_sbs))
        if on_sbs_lines is not None:
            self.station.on_tracked(sbs_lines_hook(self.station, on_sbs_lines, wants_sbs),
                                    needs_table=False)

    def __call__(self, batch: FrameBatch) -> None:
        self.station.process(batch)


def sbs_hook(
    station: Any,
    on_sbs: Callable[[list[SbsRecord]], None],
    wants_sbs: Callable[[], bool] | None = None,
) -> Callable[[pa.Table, pa.Table, pa.Table], None]:
    """A :meth:`Station.on_tracked` hook formatting SBS records of each tracker update (MLAT
    fixes as ``MSG,3`` marked ``MLAT``) and handing them to ``on_sbs``; records are built only
    when ``wants_sbs()`` says someone reads them."""

    def hook(table: pa.Table, positions: pa.Table, fixes: pa.Table) -> None:
        if wants_sbs is not None and not wants_sbs():
            return
        records = sbs_records(station.tracker, table, positions) if table.num_rows else []
        if fixes.num_rows:
            records += mlat_sbs_records(fixes)
        if records:
            on_sbs(records)

    return hook


def sbs_lines_hook(
    station: Any,
    on_lines: Callable[[bytes], None],
    wants_sbs: Callable[[], bool] | None = None,
) -> Callable[[pa.Table, pa.Table, pa.Table], None]:
    """:func:`sbs_hook`, handing ``on_lines`` the bytes of each update's lines (tracked
    messages, then MLAT fixes; ``\r\n`` after each) formatted as columns, no object per line
    (e.g. ``FanoutServer.send_bytes`` on the event loop); formatted only when ``wants_sbs()``
    says someone reads them. Register it with ``needs_table=False``: a batch decoded straight
    into the tracker (``table`` None) is formatted from the tracker's ``last_decoded``."""

    def hook(table: pa.Table | None, positions: pa.Table, fixes: pa.Table) -> None:
        if wants_sbs is not None and not wants_sbs():
            return
        data = (sbs_lines(station.tracker, table, positions)
                if table is None or table.num_rows else b"")
        if fixes.num_rows:
            data += mlat_sbs_lines(fixes)
        if data:
            on_lines(data)

    return hook
