"""Multilateration in the tracking pipeline: frames with receiver timestamps in, MLAT fixes out.

:class:`MlatFeed` sits beside a :class:`~overflight.tracking.Tracker`. For each decoded batch
(:meth:`MlatFeed.add`) it keeps the CRC-checked Mode S frames of known receivers with their
time of arrival on the receiver's own clock; :meth:`MlatFeed.flush` hands them to an
:class:`overflight.mlat.Multilaterator` in time order, one slice at a time, and applies the
resulting fixes with :meth:`Tracker.update_mlat` (source ``mlat``, error estimate kept).

Which frames are used (mlat-client's rules): DF 0/4/5/11/16/17/18/20/21 of 7 or 14 bytes from a
receiver in the registry, with a real counter value (not 0 nor readsb's MLAT/UAT markers); DF
11/17/18 with a clean CRC (no bit corrected); replies whose address comes from the parity only
when that address has been heard in clear (the tracker's trust). DF 17/18 positions feed the
clock synchronisation.

Time of arrival: ``((ticks - base) mod 2**48) / rate`` with ``rate`` the receiver's clock rate
(12 MHz Beast; 1 GHz for GPS receivers). The base is the first counter value seen (per receiver;
one shared base for all GPS receivers, which share GPS time) less a margin, so values stay small
(sub-nanosecond float64 resolution) and one counter wrap is absorbed.

GPS receivers send one of two layouts, decided per receiver from the data
(:meth:`MlatFeed.gps_layout`), as :mod:`overflight.sources.clock` does for UTC times:

* ``"ns"``: UTC nanoseconds modulo 2**48 (a 1 GHz counter), used as is;
* ``"radarcape"``: ``second_of_day << 30 | nanosecond`` (a Radarcape in GPS mode), made UTC
  nanoseconds modulo 2**48 with the day nearest the frame's UTC time (so midnight, when the
  second of day falls back to 0, is the next day).

A value that cannot be Radarcape time (nanosecond >= 1e9 or second >= 86,400) makes the receiver
``"ns"`` for good: a 1 GHz counter's lower 30 bits pass 1e9 for 74 ms of every 1.07 s (and its
upper bits pass 86,400 two thirds of the time), so a few frames tell. Before that, a receiver
whose frames' UTC times (``time_s``) agree within :data:`LAYOUT_TOLERANCE_S` with one reading
and not the other is decided by them, and one whose values kept the layout over
:data:`DETECT_FRAMES` frames spanning :data:`DETECT_SPAN_S` seconds is ``"radarcape"`` (a 1 GHz
counter would have broken it with near certainty); an undecided receiver is read as Radarcape
time (the layout holds so far). Counters are converted when receptions are released to the
engine, not when they arrive, so a decision made while they wait (``hold_s``) still applies to
them. (A Radarcape whose firmware runs one second ahead of UTC is read as it sends; the source's
status record, :mod:`overflight.sources.clock`, corrects only ``time_s``.)

Timing: receptions wait ``hold_s`` seconds (newest UTC arrival minus ``hold_s``) so that every
receiver's copy of a transmission is in hand before solving; a copy arriving after its time was
released is counted ``late`` and dropped (this also drops a replayed capture). Fixes come back on
the engine's common timescale and are mapped to UTC through the timescale's root receiver
(arrival UTC minus arrival counter time of a nearby frame).

Aircraft with ADS-B: a fix is not applied while the aircraft has an ADS-B (or ADS-R/TIS-B)
position younger than ``adsb_hold_s`` (readsb holds MLAT back for 30 s against better sources);
it is compared with that position instead (:attr:`MlatFeedStats.median_verify_m`, from a bounded
sample), as mlat-server uses ADS-B aircraft to check itself.

Evidence: every fix the engine returns with a UTC time is kept in :attr:`MlatFeed.last_fixes`
(:data:`FIXES_SCHEMA`) with the receivers and the frame sequence numbers of the receptions it was
solved from, and whether the tracker took it; its position's ``frame_seq`` is the first of them.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.geo import EARTH_RADIUS_M, M_PER_NM, haversine_m_scalar
from overflight.sources.beast import GPS_NS_BITS, gps_layout_ok, gps_seconds_of_day
from overflight.tracking.records import POSITIONS_SCHEMA
from overflight.tracking.state import SOURCE_CODES

if TYPE_CHECKING:
    from overflight.mlat import MlatPosition, Multilaterator, ReceiverRegistry
    from overflight.tracking.tracker import Tracker

__all__ = [
    "DETECT_FRAMES",
    "DETECT_SPAN_S",
    "FIXES_SCHEMA",
    "GPS_LAYOUTS",
    "LAYOUT_TOLERANCE_S",
    "MLAT_DFS",
    "PER_AIRCRAFT_MAX",
    "SKIP_REASONS",
    "VERIFY_SAMPLE",
    "MlatFeed",
    "MlatFeedStats",
]

FIXES_SCHEMA = pa.schema(
    [
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("non_icao", pa.bool_(), nullable=False),
        pa.field("icao24", pa.string(), nullable=False),
        pa.field("time_s", pa.float64(), nullable=False),
        pa.field("lat_deg", pa.float64(), nullable=False),
        pa.field("lon_deg", pa.float64(), nullable=False),
        pa.field("altitude_ft", pa.float64()),
        pa.field("error_m", pa.float64()),
        pa.field("gdop", pa.float64()),
        pa.field("accepted", pa.bool_(), nullable=False),
        pa.field("receivers", pa.list_(pa.uint64())),
        pa.field("frame_seqs", pa.list_(pa.int64())),
    ]
)
"""MLAT fixes offered to the tracker: transmit time (UTC epoch s), position, altitude (ft: the
frame's, else the solved height), horizontal 1-sigma error (m), GDOP, whether the tracker took
it as the aircraft's position (it refuses those that fail its speed gate or would override fresh
ADS-B), and the evidence: the receivers that heard the frame and the sequence numbers of their
receptions (parallel lists; -1 where the caller gave no numbers)."""

PER_AIRCRAFT_MAX = 10_000
"""Most aircraft :attr:`MlatFeedStats.per_aircraft` counts (then those with the fewest fixes are
dropped, counted in ``per_aircraft_dropped``): a process running for weeks stays the same size."""

MLAT_DFS = (0, 4, 5, 11, 16, 17, 18, 20, 21)
"""Downlink formats used for multilateration (as mlat-client)."""
SKIP_REASONS = (
    "not_mode_s",
    "unknown_receiver",
    "no_timestamp",
    "crc",
    "corrected",
    "untrusted_address",
    "late",
    "duplicate",
)
"""Why a frame was not given to the engine (:attr:`MlatFeedStats.skipped`)."""
GPS_LAYOUTS = ("detecting", "radarcape", "ns")
"""A GPS receiver's timestamp layout (:meth:`MlatFeed.gps_layout`; module docstring)."""
LAYOUT_TOLERANCE_S = 5.0
"""Most a GPS receiver's reading may differ from its frames' UTC times (median, seconds) to
decide its layout by them."""
DETECT_FRAMES = 200
DETECT_SPAN_S = 10.0
"""Frames and seconds of Radarcape time without a value breaking the layout that make a GPS
receiver ``"radarcape"`` (a 1 GHz counter passes one frame with probability 0.93; 200 frames
over ten of its 1.07 s nanosecond cycles, about 5e-7)."""

VERIFY_SAMPLE = 10_000
"""Most ADS-B comparisons kept (a uniform random sample of all) for their median."""

_TICK_MASK = (1 << 48) - 1
_BASE_MARGIN_S = 60.0
_SYNTHETIC_TICKS = (0, 0xFF004D4C4154, 0xFF004D4C4155)  # none, readsb MLAT result, UAT
_GPS_BASE = -1
_DETECTING, _RADARCAPE, _NS = range(3)
_DAY_S = 86_400
_TAIL_S = 5e-3
_KT_TO_M_S = M_PER_NM / 3600.0


@dataclass(slots=True)
class MlatFeedStats:
    """What happened to frames and fixes (counts; ``verify_m``: metres). Bounded in size."""

    frames: int = 0
    """Frames offered (all rows of all batches)."""
    receptions: int = 0
    """Receptions given to the engine."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Frames not given to the engine, by reason (:data:`SKIP_REASONS`)."""
    fixes: int = 0
    """Fixes returned by the engine."""
    adsb_preferred: int = 0
    """Fixes of aircraft with a fresh ADS-B position: compared, not applied."""
    no_time: int = 0
    """Fixes whose timescale could not be mapped to UTC (not applied)."""
    applied: int = 0
    """Fixes the tracker accepted."""
    refused: int = 0
    """Fixes the tracker refused (speed gate, older than its position)."""
    layout_changes: int = 0
    """GPS receivers decided ``"radarcape"`` by their UTC times, then found ``"ns"`` by a value
    Radarcape time cannot have."""
    per_aircraft: Counter[str] = field(default_factory=Counter)
    """Accepted fixes per aircraft (icao24), for at most :data:`PER_AIRCRAFT_MAX` aircraft."""
    per_aircraft_dropped: int = 0
    """Aircraft dropped from ``per_aircraft`` to keep it bounded."""
    verify_m: list[float] = field(default_factory=list)
    """Distance of compared fixes from the aircraft's ADS-B position at the same time
    (extrapolated by its ground speed and track over at most 2 s), metres: every one while
    fewer than :data:`VERIFY_SAMPLE`, then a uniform random sample of that many (reservoir)."""
    verify_count: int = 0
    """Fixes compared with an ADS-B position (all, not only those sampled)."""
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def count_aircraft(self, icao24: list[str]) -> None:
        """Count accepted fixes per aircraft, keeping the table bounded."""
        self.per_aircraft.update(icao24)
        if len(self.per_aircraft) > PER_AIRCRAFT_MAX:
            keep = dict(self.per_aircraft.most_common(PER_AIRCRAFT_MAX // 2))
            self.per_aircraft_dropped += len(self.per_aircraft) - len(keep)
            self.per_aircraft = Counter(keep)

    def add_verify(self, distance_m: float) -> None:
        """Count one comparison and keep it in the bounded sample (reservoir sampling)."""
        self.verify_count += 1
        if len(self.verify_m) < VERIFY_SAMPLE:
            self.verify_m.append(distance_m)
            return
        k = self._rng.randrange(self.verify_count)
        if k < VERIFY_SAMPLE:
            self.verify_m[k] = distance_m

    @property
    def median_verify_m(self) -> float:
        """Median distance of compared fixes from their ADS-B positions, metres (NaN: none);
        exact up to :data:`VERIFY_SAMPLE` comparisons, then the sample's median."""
        if not self.verify_m:
            return math.nan
        return float(np.median(self.verify_m))


class MlatFeed:
    """Feeds a tracker's frames to a multilaterator and its fixes back into the tracker.

    Args:
        registry: the receivers (ids as in the frames' ``receiver`` column).
        engine: the multilaterator (default: ``Multilaterator(registry)``).
        hold_s: how long receptions wait for the other receivers' copies, seconds.
        slice_s: most seconds of receptions per call of the engine (clock sync follows).
        adsb_hold_s: an ADS-B position this recent keeps MLAT fixes out, seconds.
    """

    def __init__(
        self,
        registry: ReceiverRegistry,
        *,
        engine: Multilaterator | None = None,
        hold_s: float = 2.0,
        slice_s: float = 1.0,
        adsb_hold_s: float = 30.0,
    ) -> None:
        from overflight.mlat import Multilaterator

        self.registry = registry
        self.engine = engine if engine is not None else Multilaterator(registry)
        self.hold_s = hold_s
        self.slice_s = slice_s
        self.adsb_hold_s = adsb_hold_s
        self.stats = MlatFeedStats()
        ids = sorted(registry.ids())
        self._ids = np.asarray(ids, np.uint64)
        self._rate = np.asarray([registry[i].clock.tick_rate_hz for i in ids], np.float64)
        self._gps = np.asarray([registry[i].clock.gps_synchronised for i in ids], bool)
        self._layout = np.zeros(len(ids), np.int8)  # GPS_LAYOUTS index, per receiver
        self._det_frames = np.zeros(len(ids), np.int64)
        self._det_lo = np.full(len(ids), math.inf)
        self._det_hi = np.full(len(ids), -math.inf)
        self._base: dict[int, int] = {}
        # buffered receptions: frame rows, lengths, receiver ids, raw counter values, UTC,
        # frame sequence numbers
        self._parts: list[
            tuple[
                npt.NDArray[np.uint8],
                npt.NDArray[np.uint8],
                npt.NDArray[np.int64],
                npt.NDArray[np.uint64],
                npt.NDArray[np.float64],
                npt.NDArray[np.int64],
            ]
        ] = []
        self.last_fixes: pa.Table = FIXES_SCHEMA.empty_table()
        """Every fix of the last :meth:`flush` that had a UTC time (:data:`FIXES_SCHEMA`)."""
        self._newest_s = -math.inf
        self._released_s = -math.inf
        self._anchor: dict[int, tuple[float, float]] = {}

    # ------------------------------------------------------------------ input
    def add(
        self,
        batch: FrameBatch,
        table: pa.Table,
        tracker: Tracker,
        seq: npt.NDArray[np.int64] | None = None,
    ) -> None:
        """Keep the usable receptions of ``batch``; ``table`` is its ``decode_batch`` output
        (row for row) and ``tracker`` has already applied it (its trust of addresses is used).
        ``seq``: the frames' sequence numbers (kept as the fixes' evidence; -1 when None)."""
        n = len(batch)
        self.stats.frames += n
        if n == 0:
            return
        skipped = self.stats.skipped
        df = np.asarray(table.column("df").fill_null(255).to_numpy(zero_copy_only=False))
        length = batch.length_bytes
        mode_s = ((length == 7) | (length == 14)) & np.isin(df, MLAT_DFS)
        pos = np.minimum(np.searchsorted(self._ids, batch.receiver), max(self._ids.size - 1, 0))
        known = (
            (self._ids[pos] == batch.receiver) if self._ids.size else np.zeros(n, bool)
        ) & mode_s
        tk = batch.ticks
        stamped = known & ~np.isin(tk, np.asarray(_SYNTHETIC_TICKS, np.uint64))
        stamped &= np.isfinite(batch.time_s)
        clear = np.isin(df, (11, 17, 18))
        crc_ok = np.asarray(table.column("crc_ok").fill_null(False).to_numpy(zero_copy_only=False))
        fixed = (
            np.asarray(table.column("corrected_bits").fill_null(0).to_numpy(zero_copy_only=False))
            > 0
        )
        crc_good = ~clear | (crc_ok & ~fixed)
        # parity replies: the address must have been heard in clear
        address = np.asarray(
            table.column("address").fill_null(0).to_numpy(zero_copy_only=False), np.uint32
        )
        trusted = np.ones(n, bool)
        par = np.flatnonzero(stamped & ~clear)
        if par.size:
            rows = tracker.table.lookup(address[par] & np.uint32(0xFFFFFF))
            flag = tracker.table.rows["trusted"]
            trusted[par] = (rows >= 0) & (flag[np.maximum(rows, 0)] == 1)
        use = stamped & crc_good & trusted
        skipped["not_mode_s"] += int(n - mode_s.sum())
        skipped["unknown_receiver"] += int(mode_s.sum() - known.sum())
        skipped["no_timestamp"] += int(known.sum() - stamped.sum())
        skipped["crc"] += int((stamped & clear & ~crc_ok).sum())
        skipped["corrected"] += int((stamped & clear & crc_ok & fixed).sum())
        skipped["untrusted_address"] += int((stamped & crc_good & ~trusted).sum())
        utc = batch.time_s
        gps = stamped & self._gps[pos]
        if gps.any():
            self._detect_layouts(pos[gps], tk[gps], utc[gps])
        late = use & (utc < self._released_s)
        skipped["late"] += int(late.sum())
        idx = np.flatnonzero(use & ~late)
        if idx.size == 0:
            return
        self._parts.append(
            (
                batch.data[idx],
                length[idx],
                batch.receiver[idx].astype(np.int64),
                tk[idx],
                utc[idx].astype(np.float64),
                np.asarray(seq, np.int64)[idx] if seq is not None else np.full(idx.size, -1),
            )
        )
        self._newest_s = max(self._newest_s, float(np.max(utc[idx])))

    def gps_layout(self, receiver_id: int) -> str | None:
        """A GPS receiver's timestamp layout so far (:data:`GPS_LAYOUTS`); None for others."""
        k = int(np.searchsorted(self._ids, np.uint64(receiver_id)))
        if k >= self._ids.size or int(self._ids[k]) != receiver_id or not self._gps[k]:
            return None
        return GPS_LAYOUTS[int(self._layout[k])]

    def _detect_layouts(
        self,
        pos: npt.NDArray[np.intp],
        ticks: npt.NDArray[np.uint64],
        utc: npt.NDArray[np.float64],
    ) -> None:
        """Decide GPS receivers' layouts from counter values and UTC times (module doc)."""
        order = np.argsort(pos, kind="stable")
        p, t, u = pos[order], ticks[order], utc[order]
        starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        for a, b in zip(starts.tolist(), [*starts[1:].tolist(), p.size], strict=True):
            k = int(p[a])
            state = int(self._layout[k])
            if state == _NS:
                continue
            tk = t[a:b]
            if not gps_layout_ok(tk).all():
                self._layout[k] = _NS
                if state == _RADARCAPE:
                    self.stats.layout_changes += 1
                continue
            if state != _DETECTING:
                continue
            # each reading's difference from UTC, wrapped to half its period (seconds)
            sod = gps_seconds_of_day(tk)
            d_rc = _wrapped(u[a:b] - sod, float(_DAY_S))
            period_ns = float(_TICK_MASK + 1)
            d_ns = _wrapped(np.mod(u[a:b] * 1e9, period_ns) - tk.astype(np.float64), period_ns)
            rc = float(np.median(np.abs(d_rc))) <= LAYOUT_TOLERANCE_S
            ns = float(np.median(np.abs(d_ns))) * 1e-9 <= LAYOUT_TOLERANCE_S
            if rc != ns:
                self._layout[k] = _RADARCAPE if rc else _NS
                continue
            self._det_frames[k] += b - a
            self._det_lo[k] = min(self._det_lo[k], float(sod.min()))
            self._det_hi[k] = max(self._det_hi[k], float(sod.max()))
            if (
                self._det_frames[k] >= DETECT_FRAMES
                and self._det_hi[k] - self._det_lo[k] >= DETECT_SPAN_S
            ):
                self._layout[k] = _RADARCAPE

    def _toa(
        self,
        rid: npt.NDArray[np.int64],
        ticks: npt.NDArray[np.uint64],
        utc: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        """Arrival time on each receiver's clock, seconds from its base (see module doc)."""
        pos = np.searchsorted(self._ids, rid.astype(np.uint64))
        rate = self._rate[pos]
        gps = self._gps[pos]
        rc = gps & (self._layout[pos] != _NS)
        if rc.any():
            ticks = ticks.copy()
            ticks[rc] = _radarcape_ns(ticks[rc], utc[rc])
        key = np.where(gps, _GPS_BASE, rid)
        base = np.zeros(rid.size, np.uint64)
        for k in np.unique(key).tolist():
            sel = key == k
            b = self._base.get(k)
            if b is None:
                first = int(ticks[sel][0])
                b = self._base[k] = (first - int(_BASE_MARGIN_S * rate[sel][0])) & _TICK_MASK
            base[sel] = b
        rel = (ticks - base) & np.uint64(_TICK_MASK)
        out: npt.NDArray[np.float64] = rel.astype(np.float64) / rate
        return out

    # ------------------------------------------------------------------ solving
    def flush(self, tracker: Tracker, *, final: bool = False) -> pa.Table:
        """Solve the receptions that waited long enough (all when ``final``), in time slices,
        and apply the fixes to ``tracker``; returns the positions it accepted
        (:data:`~overflight.tracking.POSITIONS_SCHEMA`, source ``mlat``)."""
        self.last_fixes = FIXES_SCHEMA.empty_table()
        if not self._parts:
            return POSITIONS_SCHEMA.empty_table()
        if not final and self._parts[0][4][0] > self._newest_s - self.hold_s - self.slice_s:
            return POSITIONS_SCHEMA.empty_table()  # nothing to release yet: no concatenation
        data, length, rid, ticks, utc, seq = (
            np.concatenate([p[k] for p in self._parts]) for k in range(6)
        )
        order = np.argsort(utc, kind="stable")
        first = order[_first_copies(data[order], rid[order], ticks[order])]
        if first.size < utc.size:
            self.stats.skipped["duplicate"] += int(utc.size - first.size)
        data, length, rid, ticks, utc, seq = (
            data[first],
            length[first],
            rid[first],
            ticks[first],
            utc[first],
            seq[first],
        )
        cut = math.inf if final else self._newest_s - self.hold_s
        if utc[0] > cut - self.slice_s:  # call the engine with whole slices only
            self._parts = [(data, length, rid, ticks, utc, seq)]
            return POSITIONS_SCHEMA.empty_table()
        toa = self._toa(rid, ticks, utc)
        out: list[pa.Table] = []
        fixes: list[pa.Table] = []
        while utc.size and utc[0] < cut:
            hi = min(float(utc[0]) + self.slice_s, cut)
            end = int(np.searchsorted(utc, hi, side="left"))
            take = self._hold_tail(data, length, utc, end, hi)
            if take.size == 0:
                if not final and hi >= cut:
                    break  # only copies whose partners have not been released yet
                take = np.arange(end)
            acc, offered = self._solve(
                tracker, data[take], length[take], rid[take], toa[take], utc[take], seq[take]
            )
            out.append(acc)
            fixes.append(offered)
            self._released_s = max(self._released_s, hi)
            keep = np.ones(utc.size, bool)
            keep[take] = False  # held-back copies stay first: they precede utc[end:]
            data, length, rid, ticks, toa, utc, seq = (
                data[keep],
                length[keep],
                rid[keep],
                ticks[keep],
                toa[keep],
                utc[keep],
                seq[keep],
            )
        self._parts = [(data, length, rid, ticks, utc, seq)] if utc.size else []
        if not out:
            return POSITIONS_SCHEMA.empty_table()
        self.last_fixes = pa.concat_tables(fixes)
        return pa.concat_tables(out)

    @staticmethod
    def _hold_tail(
        data: npt.NDArray[np.uint8],
        length: npt.NDArray[np.uint8],
        utc: npt.NDArray[np.float64],
        end: int,
        hi_s: float,
    ) -> npt.NDArray[np.intp]:
        """Rows ``:end`` (before ``hi_s``) less the last few milliseconds' copies of frames
        also heard at or just after ``hi_s`` (they go with the next slice, with their partners)."""
        t0 = int(np.searchsorted(utc, hi_s - _TAIL_S, side="left"))
        t1 = int(np.searchsorted(utc, hi_s + _TAIL_S, side="right"))
        if t0 >= end or t1 <= end:
            return np.arange(end)
        after = {bytes(data[i, : int(length[i])]) for i in range(end, t1)}
        held = [i for i in range(t0, end) if bytes(data[i, : int(length[i])]) in after]
        if not held:
            return np.arange(end)
        return np.setdiff1d(np.arange(end), np.asarray(held, np.intp), assume_unique=True)

    def _solve(
        self,
        tracker: Tracker,
        data: npt.NDArray[np.uint8],
        length: npt.NDArray[np.uint8],
        rid: npt.NDArray[np.int64],
        toa: npt.NDArray[np.float64],
        utc: npt.NDArray[np.float64],
        seq: npt.NDArray[np.int64],
    ) -> tuple[pa.Table, pa.Table]:
        """Solve one slice: (positions the tracker accepted, every fix offered)."""
        from overflight.mlat import Reception

        n = rid.size
        if n == 0:
            return POSITIONS_SCHEMA.empty_table(), FIXES_SCHEMA.empty_table()
        self.stats.receptions += n
        # anchors: UTC minus counter time of each receiver's middle reception in this slice
        o = np.lexsort((utc, rid))
        r_s = rid[o]
        starts = np.flatnonzero(np.r_[True, r_s[1:] != r_s[:-1]])
        ends = np.r_[starts[1:], n]
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            m = int(o[(a + b) // 2])
            self._anchor[int(rid[m])] = (float(toa[m]), float(utc[m]))
        recs = [
            Reception(bytes(data[i, : int(length[i])]), int(rid[i]), float(toa[i]))
            for i in range(n)
        ]
        fixes = self.engine.process(recs)
        self.stats.fixes += len(fixes)
        if not fixes:
            return POSITIONS_SCHEMA.empty_table(), FIXES_SCHEMA.empty_table()
        return self._apply(tracker, fixes, seq)

    def _utc_of(self, p: MlatPosition) -> float | None:
        """UTC epoch seconds of a fix's transmit time (None when no anchor is known)."""
        root = self.engine.sync.root_of(p.receivers[0])
        anchor = None
        if root == -1:
            for r in (*p.receivers, *self._anchor):
                if r in self.registry and self.registry[r].clock.gps_synchronised:
                    anchor = self._anchor.get(r)
                    if anchor is not None:
                        break
        else:
            anchor = self._anchor.get(root)
        if anchor is None:
            return None
        return anchor[1] + (p.time_s - anchor[0])

    def _apply(
        self, tracker: Tracker, fixes: list[MlatPosition], seq: npt.NDArray[np.int64]
    ) -> tuple[pa.Table, pa.Table]:
        """Offer the fixes with a UTC time to the tracker, in time order (those of aircraft with
        fresh ADS-B are compared, not offered): (positions accepted, every fix with a UTC time,
        :data:`FIXES_SCHEMA`). ``seq``: the frame numbers of the slice's receptions."""
        st = tracker.table
        kept: list[tuple[float, MlatPosition, bool]] = []  # (utc, fix, offered)
        better = SOURCE_CODES["mlat"]
        for p in fixes:
            u = self._utc_of(p)
            if u is None:
                self.stats.no_time += 1
                continue
            r = st.row_of(int(p.icao24, 16))
            if r is not None:
                a = st.rows[r]
                if int(a["pos_src"]) > better and abs(u - float(a["pos_t"])) <= self.adsb_hold_s:
                    self.stats.adsb_preferred += 1
                    self._verify(a, p, u)
                    kept.append((u, p, False))
                    continue
            kept.append((u, p, True))
        if not kept:
            return POSITIONS_SCHEMA.empty_table(), FIXES_SCHEMA.empty_table()
        kept.sort(key=lambda k: k[0])
        seqs = [[int(seq[i]) for i in p.receptions] for _, p, _ in kept]
        offer = [i for i, k in enumerate(kept) if k[2]]
        accepted = np.zeros(len(kept), bool)
        acc = POSITIONS_SCHEMA.empty_table()
        if offer:
            sel = [kept[i] for i in offer]
            acc = tracker.update_mlat(
                [p.icao24 for _, p, _ in sel],
                np.asarray([u for u, _, _ in sel]),
                np.asarray([p.lat_deg for _, p, _ in sel]),
                np.asarray([p.lon_deg for _, p, _ in sel]),
                None,
                np.asarray([p.error_m for _, p, _ in sel]),
                np.asarray([min(seqs[i]) if seqs[i] else -1 for i in offer], np.int64),
            )
            from overflight.tracking._kernel import DIRECT  # the outcome of a fix taken

            took = tracker.last_outcomes == DIRECT
            if took.size == len(offer):
                accepted[np.asarray(offer)[took]] = True
            self.stats.applied += acc.num_rows
            self.stats.refused += len(offer) - acc.num_rows
            self.stats.count_aircraft(acc.column("icao24").to_pylist())
        address = [int(p.icao24, 16) for _, p, _ in kept]
        table = pa.Table.from_arrays(
            [
                pa.array(address, pa.uint32()),
                pa.array([False] * len(kept)),
                pa.array([p.icao24 for _, p, _ in kept], pa.string()),
                pa.array([u for u, _, _ in kept], pa.float64()),
                pa.array([p.lat_deg for _, p, _ in kept], pa.float64()),
                pa.array([p.lon_deg for _, p, _ in kept], pa.float64()),
                pa.array([p.altitude_ft for _, p, _ in kept], pa.float64()),
                pa.array([p.error_m for _, p, _ in kept], pa.float64()),
                pa.array([p.gdop for _, p, _ in kept], pa.float64()),
                pa.array(accepted),
                pa.array([list(p.receivers) for _, p, _ in kept], pa.list_(pa.uint64())),
                pa.array(seqs, pa.list_(pa.int64())),
            ],
            schema=FIXES_SCHEMA,
        )
        return acc, table

    def _verify(self, a: np.void, p: MlatPosition, utc: float) -> None:
        """Distance of the fix from the ADS-B position moved to the fix's time (within 2 s)."""
        dt = utc - float(a["pos_t"])
        if abs(dt) > 2.0:
            return
        lat0, lon0 = float(a["lat"]), float(a["lon"])
        if abs(dt) > 0.05:
            if int(a["gs_src"]) == 0 or int(a["track_src"]) == 0:
                return
            d = float(a["gs"]) * _KT_TO_M_S * dt
            trk = math.radians(float(a["track"]))
            lat0 += math.degrees(d * math.cos(trk) / EARTH_RADIUS_M)
            r_lon = EARTH_RADIUS_M * math.cos(math.radians(lat0))
            lon0 += math.degrees(d * math.sin(trk) / r_lon)
        self.stats.add_verify(float(haversine_m_scalar(lat0, lon0, p.lat_deg, p.lon_deg)))


def _wrapped(d: npt.NDArray[np.float64], period: float) -> npt.NDArray[np.float64]:
    """``d`` modulo ``period``, in ``[-period/2, period/2)``."""
    out: npt.NDArray[np.float64] = np.mod(d + period / 2, period) - period / 2
    return out


def _radarcape_ns(
    ticks: npt.NDArray[np.uint64], utc: npt.NDArray[np.float64]
) -> npt.NDArray[np.uint64]:
    """Radarcape timestamps (second of day << 30 | nanosecond) as UTC nanoseconds modulo 2**48,
    each on the day that puts it nearest its frame's UTC time ``utc`` (epoch seconds)."""
    sec = (ticks >> np.uint64(GPS_NS_BITS)).astype(np.int64)
    ns = (ticks & np.uint64((1 << GPS_NS_BITS) - 1)).astype(np.int64)
    day = np.rint((utc - (sec + ns * 1e-9)) / _DAY_S).astype(np.int64)
    full = (day * _DAY_S + sec) * 1_000_000_000 + ns
    out: npt.NDArray[np.uint64] = (full & _TICK_MASK).astype(np.uint64)
    return out


def _first_copies(
    data: npt.NDArray[np.uint8], rid: npt.NDArray[np.int64], ticks: npt.NDArray[np.uint64]
) -> npt.NDArray[np.intp]:
    """Rows (in order) that are not a repeat of an earlier row's receiver, counter and bytes:
    no receiver hears the same bytes at the same counter value twice (a replayed capture)."""
    key = np.empty((rid.size, 30), np.uint8)
    key[:, :14] = data
    key[:, 14:22] = rid.astype("<i8").view(np.uint8).reshape(-1, 8)
    key[:, 22:] = ticks.astype("<u8").view(np.uint8).reshape(-1, 8)
    _, first = np.unique(np.ascontiguousarray(key).view("V30").ravel(), return_index=True)
    return np.sort(first)
