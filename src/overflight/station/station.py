"""The station: the one runtime that turns frames into tracks, fixes, events and flights and
hands them to subscribers. A file and a live feed go through the same :meth:`Station.process`.

>>> st = Station(StationConfig())                     # doctest: +SKIP
>>> st.subscribe(print, inline=True)                   # doctest: +SKIP
>>> st.run_file("capture.bin")                         # doctest: +SKIP
>>> st.snapshot().aircraft_json()                      # doctest: +SKIP

Per batch: number the frames (``seq``), publish them, decode the tracker's columns, track (with
MLAT in one-second slices when a receivers table is given), publish accepted and rejected
positions, fixes, the aircraft whose state changed and the events raised (first seen, emergency,
callsign or squawk changed), feed live flights (take-off, landing, closed legs), expire aircraft
not heard for ``expire_after_s``, and refresh the live snapshot when it is due.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.station.config import StationConfig
from overflight.station.schema import EVENTS_SCHEMA, GONE_SCHEMA, REJECTED_SCHEMA
from overflight.station.subscriptions import Subscription
from overflight.station.updates import (
    Changed,
    Events,
    Fixes,
    Flights,
    Frames,
    Gone,
    Positions,
    Rejected,
    Snapshot,
    SubscriberLike,
    Update,
    flights_table,
)

if TYPE_CHECKING:  # the flights package (and scipy) is imported only when flights are asked
    from overflight.station.flights import FlightEnd, StationFlights

__all__ = ["Station", "StationStats"]

log = logging.getLogger("overflight.station")

READERS_GONE_S = 5.0
"""The tracking thread keeps the snapshot fresh only if it was read in the last this many
wall seconds; otherwise a reader builds it on demand."""
EXPIRE_EVERY_S = 10.0
"""Expiry runs at most this often (station seconds)."""


@dataclass(slots=True)
class StationStats:
    """Counts since the start (frames numbered, batches processed or dropped, events...)."""

    frames: int = 0
    decoded: int = 0
    """Rows of state decoded elsewhere (SBS lines, aircraft.json entries) applied."""
    batches: int = 0
    batches_dropped: int = 0
    frames_dropped: int = 0
    positions: int = 0
    rejected: int = 0
    fixes: int = 0
    events: dict[str, int] = field(default_factory=dict)
    flights_closed: int = 0
    gone: int = 0
    failures: int = 0


class Station:
    """One live runtime: decode, track, multilaterate, identify and find flights; publish.

    Args:
        config: what to read and serve (:class:`StationConfig`).
        tracker: an existing tracker to continue (default: a new one from the config).
        identifier: an :class:`overflight.identity.Identifier` (default: from the config).
        mlat: an :class:`~overflight.tracking.mlat_feed.MlatFeed` (default: from the config's
            receivers table, if any).
    """

    def __init__(
        self,
        config: StationConfig | None = None,
        *,
        tracker: Any = None,
        identifier: Any = None,
        mlat: Any = None,
    ) -> None:
        from overflight.tracking import Tracker

        self.config = config or StationConfig()
        self.mlat: Any = mlat
        if mlat is None and self.config.receivers_csv is not None:
            from overflight.pipeline import mlat_feed

            self.mlat = mlat_feed(self.config.receivers_csv,
                                  slice_s=max(1.0, self.config.mlat_slice_s))
        if tracker is None:
            kwargs: dict[str, Any] = {}
            if self.config.max_aircraft is not None:
                kwargs["max_aircraft"] = self.config.max_aircraft
            if self.mlat is not None:  # each frame's surface reference: the receiver heard it
                kwargs["receivers"] = {r.receiver_id: (r.lat_deg, r.lon_deg)
                                       for r in self.mlat.registry}
            tracker = Tracker(self.config.receiver_lat_lon, **kwargs)
        self.tracker = tracker
        self._identifier = identifier
        self._identifier_loaded = identifier is not None or not self.config.identify
        self.flights: StationFlights | None = None
        if self.config.flights:
            from overflight.station.flights import StationFlights

            self.flights = StationFlights(self.config.flights_every_s,
                                          identifier=self._registration_type)
        self.stats = StationStats()
        self._subs: list[Subscription] = []
        self._seq = 0
        self._known = _Published()
        """Per state key (address | non-ICAO flag): (callsign id, squawk) last published."""
        self._last_expire_s = -math.inf
        self._lock = threading.RLock()
        self._snapshot: Snapshot | None = None
        self._read_wall = -math.inf
        """Wall time of the last :meth:`snapshot` call."""
        self._tracked_hooks: list[Callable[[pa.Table, pa.Table, pa.Table], None]] = []
        self._hooks_need_table = False
        self._supports_seq = _accepts_seq(tracker)
        self._frames_in = self._supports_seq and hasattr(tracker, "update_frames")
        """Frames can go straight to the tracker (:meth:`Tracker.update_frames`)."""

    # ------------------------------------------------------------------ subscribers
    def subscribe(
        self,
        sub: SubscriberLike,
        *,
        name: str | None = None,
        kinds: Iterable[str] | None = None,
        inline: bool = False,
        queue_size: int = 1024,
        block: bool = False,
    ) -> Subscription:
        """Register a subscriber (a callable or an object with ``on_update``); see
        :class:`~overflight.station.subscriptions.Subscription` for the options."""
        s = Subscription(
            sub, name=name, kinds=frozenset(kinds) if kinds is not None else None,
            inline=inline, queue_size=queue_size, block=block,
        )
        self._subs.append(s)
        return s

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Every subscription, failed ones included (their stats say why)."""
        return tuple(self._subs)

    def on_tracked(self, hook: Callable[[pa.Table, pa.Table, pa.Table], None], *,
                   needs_table: bool = True) -> None:
        """Call ``hook(decoded, positions, fixes)`` on the tracking thread right after each
        tracker update, while the tracker's last-batch state is current (the SBS output uses
        it to format lines). Keep it cheap. ``needs_table=False``: the hook also takes
        ``decoded`` None, for a batch decoded straight into the tracker (its rows are then
        ``tracker.last_decoded``), which spares every batch a decoded table."""
        self._tracked_hooks.append(hook)
        self._hooks_need_table |= needs_table

    def publish(self, update: Update) -> None:
        """Hand ``update`` to every subscriber that wants it (never raises)."""
        for s in self._subs:
            s.deliver(update)

    # ------------------------------------------------------------------ identity
    @property
    def identifier(self) -> Any:
        """The identity resolver (None when identities are off or unavailable)."""
        if not self._identifier_loaded:
            self._identifier_loaded = True
            try:
                from overflight.identity import Identifier

                db = self.config.identity_db
                self._identifier = Identifier(db) if db is not None else Identifier.default()
            except Exception:
                log.exception("identities unavailable")
                self._identifier = None
        return self._identifier

    def identify(self, address: int) -> Any:
        """The identity of an ICAO address (None when unknown or identities are off)."""
        ident = self.identifier
        if ident is None:
            return None
        try:
            return ident.identify(int(address))
        except Exception:
            return None

    def _registration_type(self, icao24: str) -> tuple[str | None, str | None] | None:
        """(registration, ICAO type) of a hex address, for the flights' records."""
        i = self.identify(int(icao24, 16))
        return None if i is None else (i.registration, i.type_code)

    def warm_up(self) -> None:
        """Compile (or load from the cache) the decoding, tracking and MLAT kernels on a
        throwaway copy, so that a live run does not stall on its first batch (the first run
        after an install compiles for seconds, and the live queue would drop frames)."""
        from overflight.modes.encode import encode_airborne_position, encode_identification
        from overflight.pipeline import decode_frames
        from overflight.tracking import Tracker

        frames = [encode_identification(0x3C6589, "WARMUP", "A3"),
                  encode_airborne_position(0x3C6589, 50.0, 8.0, 35000.0, False),
                  encode_airborne_position(0x3C6589, 50.0, 8.0, 35000.0, True)]
        batch = FrameBatch.from_bytes(frames, time_s=[1e9, 1e9 + 0.5, 1e9 + 1.0])
        tr = Tracker(self.config.receiver_lat_lon)
        table = decode_frames(batch)
        seq = np.arange(len(frames), dtype=np.int64)
        positions = tr.update(table, seq=seq)
        straight = Tracker(self.config.receiver_lat_lon)  # the one-pass decoding's kernels
        straight_positions = straight.update_frames(batch, seq)
        from overflight.tracking._frames import commb_structure

        commb_structure(np.ones(1, np.int64))  # (Comm-B replies: none among these frames)
        if self.config.sbs_out is not None:  # the SBS writer's kernel
            from overflight.tracking.sbs import sbs_lines

            sbs_lines(tr, table, positions)
            sbs_lines(straight, None, straight_positions)
        tr.expire(2e9, 1.0)
        if self.flights is not None:
            from overflight.station.flights import StationFlights

            StationFlights(0.0).flush()

    # ------------------------------------------------------------------ processing
    def process(self, batch: FrameBatch, seq: npt.NDArray[np.int64] | None = None) -> None:
        """Number, publish, decode, track (and multilaterate) one batch of frames, and publish
        everything that followed from it. Rows must be in arrival order.

        ``seq``: the frames' sequence numbers when they were numbered elsewhere (a scale-out
        worker gets them from the ingest node, which published the frames): used as given,
        and the frames are not published again."""
        n = len(batch)
        if n == 0:
            return
        with self._lock:
            if seq is None:
                seq_first = self._seq
                self.publish(Frames(batch, seq_first))
                seq = np.arange(seq_first, seq_first + n, dtype=np.int64)
            self._seq = int(seq[-1]) + 1
            self.stats.frames += n
            self.stats.batches += 1
            self._expire_before(batch)
            from overflight.pipeline import MLAT_SLICE_S, decode_frames, time_slices

            if self.mlat is None and not self._hooks_need_table and self._frames_in:
                self._track_frames(batch, seq)
            elif self.mlat is None:
                self._track(decode_frames(batch), seq, batch)
            else:
                table = decode_frames(batch)
                for a, b in time_slices(batch.time_s, max(self.config.mlat_slice_s,
                                                          MLAT_SLICE_S)):
                    whole = (a, b) == (0, n)
                    part = table if whole else table.slice(a, b - a)
                    rows = batch if whole else batch.take(np.arange(a, b))
                    self._track(part, seq[a:b], rows)
                    self.mlat.add(rows, part, self.tracker, seq[a:b])
                    self._fixes(self.mlat.flush(self.tracker))
            self._after_batch()

    def process_decoded(self, table: pa.Table, source: str = "sbs") -> None:
        """Apply state decoded by another decoder (rows of
        :mod:`overflight.tracking.decoded`: SBS lines, a readsb ``aircraft.json``) to the
        same live picture, marked with its ``source`` ("sbs" or "json"), and publish what
        followed (positions, changed aircraft, events, flights). No frames: there are none."""
        if table.num_rows == 0:
            return
        with self._lock:
            self.stats.decoded += table.num_rows
            t = table.column("time_s").to_numpy(zero_copy_only=False)
            self._expire_at(float(np.nanmin(t)) if np.isfinite(t).any() else math.nan)
            positions = self.tracker.update_decoded(table, source)
            if positions.num_rows:
                self.stats.positions += positions.num_rows
                self.publish(Positions(positions))
                if self.flights is not None:
                    self.flights.add(positions)
            self._changed()
            self._after_batch()

    def process_sbs(self, records: list[Any]) -> None:
        """:meth:`process_decoded` of SBS records (``sources.sbs.SbsRecord``)."""
        from overflight.tracking.decoded import sbs_table

        self.process_decoded(sbs_table(records), "sbs")

    def _track_frames(self, batch: FrameBatch, seq: npt.NDArray[np.int64]) -> None:
        """:meth:`_track` with the frames decoded straight into the tracker's inputs (no
        table: no hook on this station needs one)."""
        positions = self.tracker.update_frames(batch, seq)
        for hook in self._tracked_hooks:
            hook(None, positions, _EMPTY_POSITIONS)
        self._tracked(positions, None, seq, batch)

    def _track(self, table: pa.Table, seq: npt.NDArray[np.int64],
               batch: FrameBatch | None = None) -> None:
        tr = self.tracker
        positions = tr.update(table, seq=seq) if self._supports_seq else tr.update(table)
        for hook in self._tracked_hooks:
            hook(table, positions, _EMPTY_POSITIONS)
        self._tracked(positions, table, seq, batch)

    def _tracked(self, positions: pa.Table, table: pa.Table | None,
                 seq: npt.NDArray[np.int64], batch: FrameBatch | None) -> None:
        """Publish what the tracker's last update of a frame batch gave (``table``: its
        decoded rows when they were decoded as a table)."""
        if positions.num_rows:
            self.stats.positions += positions.num_rows
            self.publish(Positions(positions))
            if self.flights is not None:
                self.flights.add(positions)
        self._rejected(table, seq)
        self._changed(_Evidence(table, batch, seq, self.tracker))

    def _rejected(self, table: pa.Table | None, seq: npt.NDArray[np.int64]) -> None:
        from overflight.tracking import OUTCOME_NAMES, REJECTION_REASONS

        out = self.tracker.last_outcomes
        if out.size != seq.size or out.size == 0:
            return
        codes = np.array([OUTCOME_NAMES.index(r) for r in REJECTION_REASONS if r in OUTCOME_NAMES])
        bad = np.flatnonzero(np.isin(out, codes))
        if bad.size == 0:
            return
        self.stats.rejected += int(bad.size)
        names = np.asarray(OUTCOME_NAMES, dtype=object)
        head = getattr(self.tracker, "last_head", None)
        if head is not None and head.t.size == out.size:
            t, addr, non_icao = head.t[bad], head.keys[bad] & 0xFFFFFF, head.non_icao[bad]
        elif table is not None:
            t = table.column("time_s").to_numpy(zero_copy_only=False)[bad]
            addr = table.column("address").to_numpy(zero_copy_only=False)[bad]
            non_icao = table.column("non_icao").to_numpy(zero_copy_only=False)[bad]
        else:
            return
        rej = pa.Table.from_arrays(
            [
                pa.array(seq[bad]),
                pa.array(t, pa.float64(), mask=np.isnan(t)),
                pa.array(addr.astype(np.uint32)),
                pa.array(non_icao.astype(bool)),
                pa.array(names[out[bad]].tolist(), pa.string()),
            ],
            schema=REJECTED_SCHEMA,
        )
        self.publish(Rejected(rej))

    def _changed(self, evidence: _Evidence | None = None) -> None:
        """Publish the aircraft the last update touched, and their first-seen / emergency /
        callsign / squawk events, each naming its frame (``evidence``: the rows the tracker
        was last given, None: unknown)."""
        tr = self.tracker
        all_rows = tr.last_rows
        rows, first = _first_rows(all_rows)
        if evidence is None:
            evidence = _Evidence(None, None, None, tr)
        events: list[dict[str, Any]] = []
        for e in tr.drain_events():
            if e.kind in ("squawk", "emergency"):
                events.append(_event(
                    "emergency", e.time_s, e.address, e.non_icao, callsign=e.callsign,
                    squawk=e.squawk, lat=e.lat_deg, lon=e.lon_deg,
                    after=e.emergency if e.kind == "emergency" else e.squawk,
                    frame_seq=evidence.emergency(e.address, e.non_icao, e.squawk, e.emergency),
                ))
        if rows.size == 0:
            self._publish_events(events)
            return
        rec = np.take(tr.table.rows, rows)
        keys = rec["key"].astype(np.int64)
        cs = rec["callsign"].astype(np.int64)
        sq = rec["squawk"].astype(np.int64)
        seen_t = rec["seen_t"]
        has_pos = rec["pos_src"] > 0
        found, prev_c, prev_s = self._known.get(keys)
        news = (~found | ((prev_c >= 0) & (cs >= 0) & (prev_c != cs))
                | ((prev_s >= 0) & (sq >= 0) & (prev_s != sq)))
        for i in np.flatnonzero(news).tolist():  # new aircraft and changes only: no loop per row
            key, c, s = int(keys[i]), int(cs[i]), int(sq[i])
            prev = (int(prev_c[i]), int(prev_s[i])) if found[i] else None
            address, non_icao = key & 0xFFFFFF, bool(key >> 24)
            lat = float(rec["lat"][i]) if has_pos[i] else None
            lon = float(rec["lon"][i]) if has_pos[i] else None
            t = float(seen_t[i])
            callsign = tr.string(c) if c >= 0 else None
            squawk = f"{s:04d}" if s >= 0 else None
            if prev is None:  # at its first frame of the batch (not its last)
                t = evidence.time_at(int(first[i]), t)
                events.append(_event("first_seen", t, address, non_icao, callsign=callsign,
                                     squawk=squawk, lat=lat, lon=lon,
                                     frame_seq=evidence.seq_at(int(first[i]))))
            else:
                if prev[0] >= 0 and c >= 0 and prev[0] != c:
                    events.append(_event(
                        "callsign_changed", t, address, non_icao, callsign=callsign,
                        squawk=squawk, lat=lat, lon=lon, before=tr.string(prev[0]),
                        after=callsign,
                        frame_seq=evidence.first(int(rows[i]), "callsign", callsign)))
                if prev[1] >= 0 and s >= 0 and prev[1] != s:
                    events.append(_event(
                        "squawk_changed", t, address, non_icao, callsign=callsign,
                        squawk=squawk, lat=lat, lon=lon, before=f"{prev[1]:04d}", after=squawk,
                        frame_seq=evidence.first(int(rows[i]), "squawk", squawk)))
        self._known.put(keys, cs, sq)
        changed = pa.table({
            "address": pa.array((keys & 0xFFFFFF).astype(np.uint32)),
            "non_icao": pa.array((keys >> 24).astype(bool)),
        })
        self.publish(Changed(changed, float(tr.now_s)))
        self._publish_events(events)

    def _fixes(self, accepted: pa.Table) -> None:
        """Publish the MLAT fixes of the last flush (all offered, with their evidence) and the
        positions the tracker accepted from them."""
        for hook in self._tracked_hooks:
            hook(_EMPTY_TABLE, _EMPTY_POSITIONS, accepted)
        assert self.mlat is not None
        offered = self.mlat.last_fixes
        if offered.num_rows:
            self.publish(Fixes(offered))
        if accepted.num_rows == 0:
            return
        self.stats.fixes += accepted.num_rows
        self.stats.positions += accepted.num_rows
        self.publish(Positions(accepted))
        if self.flights is not None:
            self.flights.add(accepted)
        self._changed()

    def _publish_events(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        for e in events:
            self.stats.events[e["kind"]] = self.stats.events.get(e["kind"], 0) + 1
        self.publish(Events(pa.Table.from_pylist(events, schema=EVENTS_SCHEMA)))

    def _after_batch(self, *, final: bool = False) -> None:
        now = float(self.tracker.now_s)
        if self.flights is not None and (final or not math.isnan(now)):
            closed, ends = (self.flights.flush() if final
                            else self.flights.settle(now))
            self._publish_flights(closed, ends)
        # Rebuilt here only while someone reads snapshots (a state per live aircraft costs
        # ~0.1 ms: with thousands of aircraft and no reader it was half the tracking time).
        now_wall = time.time()
        if now_wall - self._read_wall < READERS_GONE_S and (
                self._snapshot is None
                or now_wall - self._snapshot.wall_s >= self.config.snapshot_every_s):
            self._snapshot = self._take_snapshot()

    def _publish_flights(self, closed: list[Any], ends: list[FlightEnd]) -> None:
        events = []
        for end in ends:
            f = end.flight
            takeoff = end.kind == "takeoff"
            est = f.departure if takeoff else f.arrival
            t = f.departure_time_s if takeoff else f.arrival_time_s
            events.append(_event(
                end.kind, float(t if t is not None else f.first_seen_s), int(f.icao24, 16),
                False, callsign=f.callsigns[-1] if f.callsigns else None,
                lat=est.lat_deg, lon=est.lon_deg, airport=est.code, flight_id=f.id,
                frame_seq=end.frame_seq,
            ))
        self._publish_events(events)
        if closed:
            assert self.flights is not None
            self.stats.flights_closed += len(closed)
            srcs = {f.id: self.flights.closed_sources.get(f.id, ()) for f in closed}
            table = flights_table(closed, srcs, self.flights.closed_evidence)
            self.publish(Flights(tuple(closed), table))

    def _expire_before(self, batch: FrameBatch) -> None:
        """Expire at the batch's first time (before it is tracked: an aircraft heard again after
        a long silence is first seen again), at most every :data:`EXPIRE_EVERY_S`."""
        t = batch.time_s
        if t.size == 0 or np.isnan(t).all():
            return
        self._expire_at(float(np.nanmin(t)))

    def _expire_at(self, t0: float) -> None:
        if not math.isnan(t0) and t0 - self._last_expire_s >= EXPIRE_EVERY_S:
            self._last_expire_s = t0
            self.expire(t0)

    def expire(self, now_s: float) -> pa.Table:
        """Drop the state of aircraft not heard for ``expire_after_s``; publish them as gone."""
        expire = getattr(self.tracker, "expire", None)
        if expire is None:
            return GONE_SCHEMA.empty_table()
        gone: pa.Table = expire(now_s, self.config.expire_after_s)
        if gone.num_rows:
            self.stats.gone += gone.num_rows
            addr = gone.column("address").to_numpy(zero_copy_only=False).astype(np.int64)
            non = gone.column("non_icao").to_numpy(zero_copy_only=False).astype(np.int64)
            self._known.drop(addr | (non << 24))
            self.publish(Gone(gone.select(GONE_SCHEMA.names).cast(GONE_SCHEMA)))
        if len(self._known) > 2 * max(len(self.tracker), 1024):  # evicted by the tracker's cap
            self._known.keep(self.tracker.table.rows["key"].astype(np.int64))
        return gone

    def finish(self) -> None:
        """End of input: solve what MLAT still holds, close every flight, take a last
        snapshot. Subscribers stay registered (see :meth:`close`)."""
        with self._lock:
            if self.mlat is not None:
                self._fixes(self.mlat.flush(self.tracker, final=True))
            self._after_batch(final=True)
            self._snapshot = self._take_snapshot()

    def close(self) -> None:
        """Deliver what is queued to every subscriber and stop their threads."""
        for s in self._subs:
            s.close()

    # ------------------------------------------------------------------ readers
    def _take_snapshot(self) -> Snapshot:
        from overflight.station.snapshot import take_snapshot

        return take_snapshot(self)

    def snapshot(self) -> Snapshot:
        """The live picture: the latest snapshot, rebuilt when older than
        ``snapshot_every_s`` (never per request; cheap to call often)."""
        self._read_wall = time.time()
        snap = self._snapshot
        if snap is not None and self._read_wall - snap.wall_s < self.config.snapshot_every_s:
            return snap
        if not self._lock.acquire(timeout=0.05):  # tracking is busy: the last one will do
            return snap if snap is not None else self._empty_snapshot()
        try:
            self._snapshot = self._take_snapshot()
            return self._snapshot
        finally:
            self._lock.release()

    def _empty_snapshot(self) -> Snapshot:
        from overflight.station.snapshot import empty_snapshot

        return empty_snapshot(self)

    # ------------------------------------------------------------------ runs
    def run_file(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        start_time_s: float | None = None,
        sample_rate_hz: float = 2.0e6,
        failure: list[BaseException] | None = None,
        finish: bool = True,
    ) -> Any:
        """Run a capture (any format ``sources.files.read_batches`` reads) through the station
        and :meth:`finish`; returns the frame reader (its ``stats`` and ``fault``).

        ``failure``: when given, a read error ends the run quietly and is appended there (the
        picture from the part read before it stays), else it is raised. ``finish=False``
        leaves the station running for the next file (pieces of one recording: flights go on
        across the cut; call :meth:`finish` after the last)."""
        from overflight.sources.files import read_batches

        # only a regular file is peeked at: a named pipe opened twice would lose its data
        if fmt in (None, "auto") and str(path) != "-" and Path(path).is_file():
            decoded = self._run_decoded_file(path, failure, finish)
            if decoded is not None:
                return decoded
        if fmt == "iq" and start_time_s is None:
            start_time_s = 0.0
        reader = read_batches(
            path, fmt=None if fmt in (None, "auto") else fmt, start_time_s=start_time_s,
            sample_rate_hz=sample_rate_hz,
        )
        batches: Iterable[FrameBatch] = reader
        if failure is not None:
            from overflight.cli.app import guarded

            batches = guarded(reader, failure)
        for b in batches:
            self.process(b)
        if finish:
            self.finish()
        return reader

    def _run_decoded_file(self, path: str | Path, failure: list[BaseException] | None,
                          finish: bool = True) -> Any:
        """Run an SBS or aircraft.json file through :meth:`process_decoded` and finish; None
        when the file is a capture of frames (nothing read)."""
        from overflight.station.decoded_files import (
            DecodedReader,
            DecodedStats,
            open_decoded,
            read_decoded,
        )

        try:
            fh, kind = open_decoded(path)
        except OSError as exc:
            if failure is None:
                raise
            failure.append(exc)
            return DecodedReader(DecodedStats("unknown"))
        if kind is None:
            fh.close()
            return None
        reader = DecodedReader(DecodedStats(kind))
        try:
            for table in read_decoded(fh, kind, reader):
                self.process_decoded(table, kind)
        except OSError as exc:
            if failure is None:
                raise
            failure.append(exc)
        finally:
            fh.close()
        if finish:
            self.finish()
        return reader

    def run_batches(self, batches: Iterable[FrameBatch]) -> None:
        """Process every batch, then :meth:`finish`."""
        for b in batches:
            self.process(b)
        self.finish()

    async def run_live(self, *, ready: Callable[[dict[str, int]], None] | None = None) -> None:
        """Run the configured network inputs and outputs until cancelled (see
        :mod:`overflight.station.live`)."""
        from overflight.station.live import run_live

        await run_live(self, ready=ready)


def _accepts_seq(tracker: Any) -> bool:
    import inspect

    try:
        return "seq" in inspect.signature(tracker.update).parameters
    except (TypeError, ValueError):
        return False


def _event(
    kind: str, time_s: float, address: int, non_icao: bool, *, callsign: str | None = None,
    squawk: str | None = None, lat: float | None = None, lon: float | None = None,
    airport: str | None = None, before: str | None = None, after: str | None = None,
    flight_id: str | None = None, frame_seq: int = -1,
) -> dict[str, Any]:
    icao24 = ("~" if non_icao else "") + f"{address:06x}"
    return {
        "event_id": f"{kind}:{icao24}:{round(time_s * 1000)}",
        "kind": kind, "time_s": time_s, "address": address, "non_icao": non_icao,
        "icao24": icao24, "callsign": callsign, "squawk": squawk,
        "lat_deg": lat, "lon_deg": lon, "airport": airport, "before": before, "after": after,
        "flight_id": flight_id, "frame_seq": frame_seq,
    }


class _Published:
    """Per state key (address | non-ICAO flag << 24): the callsign id and squawk last
    published (-1 none), as sorted arrays: looked up and updated a batch at a time."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)
        self.cs = np.zeros(0, np.int64)
        self.sq = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return int(self.keys.size)

    def _find(self, keys: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp],
                                                          npt.NDArray[np.bool_]]:
        i = np.searchsorted(self.keys, keys)
        found = i < self.keys.size
        found[found] = self.keys[i[found]] == keys[found]
        return i, found

    def get(self, keys: npt.NDArray[np.int64]) -> tuple[
            npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(known, callsign ids, squawks) of ``keys`` (-1 where unknown)."""
        i, found = self._find(keys)
        j = np.where(found, i, 0)
        if self.keys.size == 0:
            none = np.full(keys.size, -1, np.int64)
            return found, none, none.copy()
        return (found, np.where(found, self.cs[j], -1), np.where(found, self.sq[j], -1))

    def put(self, keys: npt.NDArray[np.int64], cs: npt.NDArray[np.int64],
            sq: npt.NDArray[np.int64]) -> None:
        """Set the values of ``keys`` (unique), adding those not known."""
        i, found = self._find(keys)
        self.cs[i[found]] = cs[found]
        self.sq[i[found]] = sq[found]
        if not found.all():
            new = ~found
            k = np.concatenate((self.keys, keys[new]))
            o = np.argsort(k, kind="stable")
            self.keys = k[o]
            self.cs = np.concatenate((self.cs, cs[new]))[o]
            self.sq = np.concatenate((self.sq, sq[new]))[o]

    def drop(self, keys: npt.NDArray[np.int64]) -> None:
        """Forget ``keys`` (those not known are ignored)."""
        self.keep(np.setdiff1d(self.keys, keys, assume_unique=False))

    def keep(self, keys: npt.NDArray[np.int64]) -> None:
        """Forget every key not in ``keys``."""
        m = np.isin(self.keys, keys)
        self.keys, self.cs, self.sq = self.keys[m], self.cs[m], self.sq[m]


def _first_rows(rows: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The distinct state rows (>= 0) of a batch, ascending, and the batch row where each first
    appears: ``np.unique(rows, return_index=True)`` without sorting the batch (state rows are
    few and small integers)."""
    if rows.size == 0 or int(rows.max()) < 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    first = np.full(int(rows.max()) + 1, rows.size, np.intp)
    at = np.flatnonzero(rows >= 0)
    np.minimum.at(first, rows[at], at)
    distinct = np.flatnonzero(first < rows.size)
    return distinct, first[distinct]


class _Evidence:
    """Which frame of the batch last given to the tracker raised an event (its ``seq``).

    The rows' fields come from ``table`` (the batch decoded as a table) when there is one, else
    from decoding just the rows asked about (``batch``): events are few, batches are not."""

    def __init__(self, table: pa.Table | None, batch: FrameBatch | None,
                 seq: npt.NDArray[np.int64] | None, tracker: Any) -> None:
        rows = tracker.last_rows
        n = table.num_rows if table is not None else len(batch) if batch is not None else -1
        ok = seq is not None and seq.size == n == rows.size and rows.size > 0
        self.table = table if ok else None
        self.batch = batch if ok else None
        self.seq = seq if ok else None
        self.rows = rows
        head = getattr(tracker, "last_head", None)
        self.head = head if ok and head is not None and head.t.size == n else None

    def _column(self, name: str, idx: npt.NDArray[np.intp]) -> list[Any]:
        if self.table is not None:
            return list(self.table.column(name).take(pa.array(idx)).to_pylist())
        if self.batch is None:
            return [None] * idx.size
        from overflight.pipeline import decode_frames

        return list(decode_frames(self.batch.take(idx)).column(name).to_pylist())

    def seq_at(self, i: int) -> int:
        """The frame number of row ``i`` (-1 unknown)."""
        return int(self.seq[i]) if self.seq is not None else -1

    def time_at(self, i: int, default: float) -> float:
        """The time of row ``i`` (UTC epoch s; ``default`` when unknown)."""
        if self.head is not None:
            v = float(self.head.t[i])
        elif self.table is not None:
            got = self.table.column("time_s")[i].as_py()
            v = float(got) if got is not None else math.nan
        else:
            return default
        return v if math.isfinite(v) else default

    def first(self, state_row: int, column: str, value: str | None) -> int:
        """The first frame of the aircraft at ``state_row`` whose ``column`` reads ``value``."""
        if self.seq is None or value is None:
            return -1
        mine = np.flatnonzero(self.rows == state_row)
        if mine.size == 0:
            return -1
        got = self._column(column, mine)
        want = value if column != "callsign" else value.strip()
        for k, v in zip(mine.tolist(), got, strict=True):
            v = f"{v:04d}" if isinstance(v, int) else v
            if v is not None and str(v).strip() == want:
                return int(self.seq[k])
        return int(self.seq[mine[0]])

    def emergency(self, address: int, non_icao: bool, squawk: str | None,
                  state: str | None) -> int:
        """The first frame of ``address`` carrying the emergency squawk or state."""
        if self.seq is None:
            return -1
        if self.head is not None:
            from overflight.tracking.state import NON_ICAO_FLAG

            key = (address & 0xFFFFFF) | (NON_ICAO_FLAG if non_icao else 0)
            mine = np.flatnonzero(self.head.usable & (self.head.keys == key))
        elif self.table is not None:
            a = self.table.column("address").to_numpy(zero_copy_only=False)
            non = self.table.column("non_icao").to_numpy(zero_copy_only=False).astype(bool)
            mine = np.flatnonzero((a == address) & (non == non_icao))
        else:
            return -1
        if mine.size == 0:
            return -1
        sq = self._column("squawk", mine)
        em = self._column("emergency_state", mine)
        for k, s_, e_ in zip(mine.tolist(), sq, em, strict=True):
            s_ = f"{s_:04d}" if isinstance(s_, int) else s_
            if (squawk is not None and s_ == squawk) or (state is not None and e_ == state):
                return int(self.seq[k])
        return int(self.seq[mine[0]])


def _empty_positions() -> pa.Table:
    from overflight.tracking import POSITIONS_SCHEMA

    return POSITIONS_SCHEMA.empty_table()


_EMPTY_POSITIONS = _empty_positions()
_EMPTY_TABLE = pa.table({})
