"""Anchor a receiver's 12 MHz counter to absolute (UTC) time.

A Beast counter is relative: it starts at an arbitrary value, wraps, is reset when the receiver
restarts, and in real captures it sometimes goes backwards (merged feeds, resets). The clock keeps
one anchor ``(ticks, time_s)``; a frame gets ``anchor_time_s + (ticks - anchor_ticks) / rate``.

Timescale. A feed's time records (``0x1a 0xe9``, :mod:`overflight.sources.record`) say when its
frames were received; on a live feed they need not be the wall-clock time (a replay of a 2024
recording, a simulator). When a record anchors the clock on a live feed the clock keeps
``offset_s`` = record time minus arrival time, and every live check and fallback uses
``arrival_s + offset_s`` instead of the arrival time, so such a feed stays on its records'
timescale. A feed without records has ``offset_s = 0``: its frames are dated by arrival.

It anchors (and counts why, :class:`ClockStats`) when

* the clock starts;
* a time record disagrees with the prediction by more than ``max_drift_s`` (or cannot be
  predicted: the counter went backwards or jumped). A record that agrees only refreshes the
  anchor (the counter's own drift is then corrected), counted in ``records`` but not as an
  anchor;
* the counter goes backwards or jumps forward by more than ``max_jump_s`` (a reset): the new
  anchor is the arrival time plus the offset if live, else the time of the previous frame, so
  times never go backwards and nothing is invented;
* (live) the prediction for a chunk's last frame drifts from ``arrival_s + offset_s`` by more
  than ``max_drift_s`` (a counter at another rate, a stalled connection).

A live chunk anchored without a record has its last frame received "just now"
(``arrival_s + offset_s``) and no frame later than that (a replay faster than real time is
clamped), unless that would put it before the previous frame: order wins. Between records, a
record-anchored clock follows the counter.

Frames whose counter is synthetic (0, the MLAT-result or UAT marker) get their own time record,
else the arrival time plus the offset, or the previous frame's time.

GPS timestamps. A Radarcape in GPS mode (and readsb/mlat-client's "radarcape" clock) sends
the UTC second of the day in the upper 18 bits and the nanosecond in the lower 30
(:mod:`overflight.sources.beast`; mlat-client ``modes_reader.c``). Such a frame's time is
``day + second + ns·1e-9`` and needs no anchor: only the date comes from outside, the day
nearest the time record, or else the arrival time plus the offset (live), or the date of
``start_time_s`` (a file). A backwards step of more than half a day is midnight (the next
day), a forward one of more than half a day a late frame of the previous day. GPS times are
kept as received (a late frame stays earlier). A Radarcape status record
(:meth:`TickClock.apply_status`) says which layout a feed uses, and whether its seconds are
UTC (older firmware is one second ahead, corrected) or not GPS-synchronised at all (then the
time of day is not trusted: the continuous nanosecond count is anchored like a 1 GHz counter).

Without a status record the clock detects the layout from the counter (``gps=None``):

* 12 MHz, for good, as soon as one value cannot be a GPS timestamp (nanoseconds ≥ 1e9, or
  second ≥ 86,400): a 12 MHz counter's lower 30 bits pass 1e9 for 6.1 s of every 89.5 s, a GPS
  feed never does;
* else, given a time reference (time records, or live arrival times) at least
  ``detect_ref_s`` apart: GPS if the GPS reading of the counter advanced as the reference did
  and the 12 MHz reading did not (the two differ by a factor of 83), 12 MHz in the opposite
  case;
* else (a file without time records) GPS once ``detect_frames`` frames over at least
  ``detect_span_s`` GPS seconds never broke the layout (a 12 MHz counter would have broken it
  with near certainty: that span is ``detect_span_s`` wraps of its lower 30 bits, 45 minutes);
* until then the counter is read as 12 MHz, so a plain Beast feed is never read as GPS.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.sources.beast import (
    GPS_NS_BITS,
    TICKS_PER_S,
    RadarcapeStatus,
    gps_layout_ok,
    is_synthetic_ticks,
)

__all__ = ["ClockStats", "TickClock"]

_DAY_S = 86_400.0
_NS = 1_000_000_000
_NS_MASK = (1 << GPS_NS_BITS) - 1


@dataclass(slots=True)
class ClockStats:
    """Why the clock (re-)anchored, and how many time records it used (counts).

    ``anchors`` counts every anchoring, the first included; ``backwards``, ``jumps``, ``drift``
    and ``far_records`` count their causes; ``records`` counts time records applied (those that
    agree with the prediction only refresh the anchor); ``synthetic`` counts frames without a
    real counter; ``gps_days`` counts dates chosen for GPS timestamps (first one, midnight
    rollovers and corrections by a reference); ``layout_changes`` counts switches between
    12 MHz and GPS readings (detection or status records)."""

    anchors: int = 0
    backwards: int = 0
    jumps: int = 0
    drift: int = 0
    records: int = 0
    far_records: int = 0
    synthetic: int = 0
    gps_days: int = 0
    layout_changes: int = 0


class TickClock:
    """Maps one receiver's counter to UTC epoch seconds (see module docstring).

    Args:
        rate_hz: counter rate (12 MHz for Beast).
        start_time_s: time given to the first frame when nothing better is known (a file with no
            absolute time: times are then relative to the first frame).
        max_jump_s: a forward jump larger than this is a counter reset.
        max_drift_s: re-anchor when a time record, or (live) the arrival time plus the offset,
            differs from the prediction by more.
        gps: the counter is a GPS timestamp (True), a free-running counter at ``rate_hz``
            (False), or detect it (None; see the module docstring).
        detect_frames, detect_span_s: what detection without a time reference needs (frames,
            GPS seconds).
        detect_ref_s: reference seconds (time records or arrival) the rate test needs.
    """

    __slots__ = (
        "_anchor_ticks", "_anchor_time_s", "_det_first", "_det_frames", "_det_hi", "_det_lo",
        "_from_record", "_gps_day_s", "_gps_last_sod", "_last_ticks", "_last_time_s",
        "_synchronised", "_utc_ahead_s", "detect_frames", "detect_ref_s", "detect_span_s", "gps",
        "max_drift_s", "max_jump_s", "offset_s", "rate_hz", "start_time_s", "stats",
    )

    def __init__(
        self,
        *,
        rate_hz: float = TICKS_PER_S,
        start_time_s: float = 0.0,
        max_jump_s: float = 600.0,
        max_drift_s: float = 2.0,
        gps: bool | None = None,
        detect_frames: int = 1000,
        detect_span_s: float = 30.0,
        detect_ref_s: float = 5.0,
    ) -> None:
        self.rate_hz = rate_hz
        self.start_time_s = start_time_s
        self.max_jump_s = max_jump_s
        self.max_drift_s = max_drift_s
        self.offset_s = 0.0
        """Live: the feed's timescale minus arrival (wall-clock) time, seconds (0 without
        time records)."""
        self.gps = gps
        """Counter layout: True GPS timestamps, False free-running, None not decided yet."""
        self.detect_frames = detect_frames
        self.detect_span_s = detect_span_s
        self.detect_ref_s = detect_ref_s
        self._anchor_ticks = -1
        self._anchor_time_s = math.nan
        self._from_record = False
        self._last_ticks = -1
        self._last_time_s = math.nan
        self._gps_day_s = math.nan
        self._gps_last_sod = math.nan
        self._utc_ahead_s = 0.0
        self._synchronised = True
        self._det_first: tuple[int, float] | None = None
        self._det_frames = 0
        self._det_lo = math.inf
        self._det_hi = -math.inf
        self.stats = ClockStats()

    @property
    def layout(self) -> str:
        """``"gps"``, ``"gps-unsynchronised"``, ``"counter"`` or ``"detecting"``."""
        if self.gps is None:
            return "detecting"
        if self.gps:
            return "gps" if self._synchronised else "gps-unsynchronised"
        return "counter"

    def apply_status(self, status: RadarcapeStatus | None) -> None:
        """Follow a Radarcape status record: GPS or 12 MHz timestamps, UTC or 1 s ahead."""
        if status is None:
            return
        self._utc_ahead_s = 0.0 if status.utc else 1.0
        synced = status.synchronised
        if status.gps_timestamps != self.gps or (status.gps_timestamps and
                                                  synced != self._synchronised):
            self._set_layout(status.gps_timestamps, synchronised=synced)

    def _set_layout(self, gps: bool, *, synchronised: bool = True) -> None:
        was_counter = not self.gps  # undecided reads the counter as 12 MHz
        self.gps = gps
        self._synchronised = synchronised
        if was_counter and not gps:
            return  # same reading: the anchor stands
        self.stats.layout_changes += 1
        self._anchor_ticks = -1  # the counter machinery starts afresh on the new reading
        self._last_ticks = -1
        self._gps_last_sod = math.nan
        if gps and not synchronised:
            self.rate_hz = float(_NS)
        elif not gps:
            self.rate_hz = float(TICKS_PER_S) if self.rate_hz == _NS else self.rate_hz

    def _predict(self, ticks: int) -> float:
        return self._anchor_time_s + (ticks - self._anchor_ticks) / self.rate_hz

    def observe(self, ticks: npt.ArrayLike, *, known_time_s: npt.ArrayLike | None = None) -> None:
        """Run layout detection on counter values without dating them (a file reader holds
        its frames until :attr:`gps` is decided, then dates them with ``detect=False``)."""
        if self.gps is not None:
            return
        t = np.asarray(ticks, dtype=np.uint64)
        real = ~is_synthetic_ticks(t)
        if real.any():
            kn = (
                np.full(t.size, np.nan) if known_time_s is None
                else np.asarray(known_time_s, dtype=np.float64)
            )
            self._detect(t[real], kn[real], None)

    def times(
        self,
        ticks: npt.ArrayLike,
        *,
        arrival_s: float | None = None,
        known_time_s: npt.ArrayLike | None = None,
        detect: bool = True,
    ) -> npt.NDArray[np.float64]:
        """UTC seconds for frames in arrival order.

        Args:
            ticks: ``(n,)`` counter values.
            arrival_s: wall-clock time the chunk arrived (live), or None (files).
            known_time_s: ``(n,)`` explicit times (NaN where unknown), e.g. from time records.
            detect: run layout detection on these values (False: they went through
                :meth:`observe` already).
        """
        t = np.asarray(ticks, dtype=np.uint64)
        n = t.size
        out = np.full(n, np.nan)
        if n == 0:
            return out
        known = (
            np.full(n, np.nan) if known_time_s is None
            else np.asarray(known_time_s, dtype=np.float64)
        )
        prev_last_s = self._last_time_s
        synth = is_synthetic_ticks(t)
        real = np.flatnonzero(~synth)
        self.stats.synthetic += int(synth.sum())
        if real.size:
            tr = t[real]
            if self.gps is None and detect:
                self._detect(tr, known[real], arrival_s)
            if self.gps and self._synchronised:
                out[real] = self._gps_times(tr, known[real], arrival_s)
            elif self.gps:
                out[real] = self._real_times(self._gps_ns(tr), known[real], arrival_s)
            else:
                out[real] = self._real_times(tr.astype(np.int64), known[real], arrival_s)
        now_s = None if arrival_s is None else arrival_s + self.offset_s
        if synth.any():
            if arrival_s is None and real.size:
                # Previous real frame's time (or the clock's last time before this chunk).
                idx = np.maximum.accumulate(np.where(~synth, np.arange(n), -1))
                prior = np.where(idx >= 0, out[np.maximum(idx, 0)], prev_last_s)
                out[synth] = prior[synth]
            else:
                out[synth] = now_s if now_s is not None else self._last_time_s
            own = synth & np.isfinite(known)
            out[own] = known[own]
        return out

    def _detect(
        self, tr: npt.NDArray[np.uint64], kn: npt.NDArray[np.float64], arrival_s: float | None
    ) -> None:
        """Decide the counter's layout from one chunk of real counter values (module docs)."""
        if not gps_layout_ok(tr).all():
            self._set_layout(False)
            return
        sod = self._sod(tr)
        self._det_frames += tr.size
        self._det_lo = min(self._det_lo, float(sod.min()))
        self._det_hi = max(self._det_hi, float(sod.max()))
        refs = np.flatnonzero(np.isfinite(kn))
        if refs.size:
            point: tuple[int, float] | None = (int(tr[refs[-1]]), float(kn[refs[-1]]))
        elif arrival_s is not None:
            point = (int(tr[-1]), arrival_s + self.offset_s)
        else:
            point = None
        if point is not None:
            if self._det_first is None:
                first = (int(tr[refs[0]]), float(kn[refs[0]])) if refs.size else point
                self._det_first = first
            t1, r1 = self._det_first
            t2, r2 = point
            span = r2 - r1
            if span >= self.detect_ref_s:
                d_gps = float(self._sod(np.array([t2], np.uint64))[0]
                              - self._sod(np.array([t1], np.uint64))[0]) % _DAY_S
                d_ctr = (t2 - t1) / TICKS_PER_S
                tol = max(self.max_drift_s, 0.2 * span)
                gps_ok, ctr_ok = abs(d_gps - span) <= tol, abs(d_ctr - span) <= tol
                if gps_ok != ctr_ok:
                    self._set_layout(gps_ok)
                    return
                self._det_first = point  # neither (a replay at another speed): look again
        if (
            self._det_frames >= self.detect_frames
            and self._det_hi - self._det_lo >= self.detect_span_s
        ):
            self._set_layout(True)

    def _sod(self, tr: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
        """Seconds of day of GPS timestamps (UTC: older Radarcapes are 1 s ahead)."""
        sec = (tr >> np.uint64(GPS_NS_BITS)).astype(np.float64) - self._utc_ahead_s
        ns = (tr & np.uint64(_NS_MASK)).astype(np.float64)
        return np.mod(sec, _DAY_S) + ns * 1e-9

    def _gps_ns(self, tr: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """GPS timestamps as one continuous nanosecond count (days unwrapped), for a
        Radarcape whose time is not GPS-synchronised: anchored like a 1 GHz counter."""
        sec = (tr >> np.uint64(GPS_NS_BITS)).astype(np.int64)
        ns = sec * _NS + (tr & np.uint64(_NS_MASK)).astype(np.int64)
        days = self._day_steps(ns.astype(np.float64) * 1e-9)
        out: npt.NDArray[np.int64] = ns + days * int(_DAY_S) * _NS
        return out

    def _day_steps(self, sod: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Days to add to each second of day: +1 after each midnight (a backwards step of more
        than half a day), -1 for a late frame of the previous day; relative to the last frame
        of the previous chunk."""
        prev = np.empty_like(sod)
        prev[0] = sod[0] if math.isnan(self._gps_last_sod) else self._gps_last_sod
        prev[1:] = sod[:-1]
        d = sod - prev
        step = (d < -_DAY_S / 2).astype(np.int64) - (d > _DAY_S / 2).astype(np.int64)
        self._gps_last_sod = float(sod[-1])
        out: npt.NDArray[np.int64] = np.cumsum(step)
        return out

    def _gps_times(
        self, tr: npt.NDArray[np.uint64], kn: npt.NDArray[np.float64], arrival_s: float | None
    ) -> npt.NDArray[np.float64]:
        """UTC seconds of GPS timestamps: the date from the reference, the rest as sent."""
        sod = self._sod(tr)
        rel = self._day_steps(sod) * _DAY_S + sod  # seconds since this chunk's day began
        refs = np.flatnonzero(np.isfinite(kn))
        if refs.size:
            self.stats.records += int(refs.size)
            i, ref = int(refs[0]), float(kn[refs[0]])
        elif arrival_s is not None:
            i, ref = rel.size - 1, arrival_s + self.offset_s
        else:
            i, ref = -1, math.nan
        day = self._gps_day_s
        if i >= 0:
            # The day that puts the reference frame nearest its reference time.
            near = round((ref - float(rel[i])) / _DAY_S) * _DAY_S
            if math.isnan(day) or abs(day + float(rel[i]) - ref) > _DAY_S / 2:
                day = near
                self.stats.gps_days += 1
                self.stats.anchors += 1
        elif math.isnan(day):
            base = self._last_time_s if not math.isnan(self._last_time_s) else self.start_time_s
            day = math.floor(base / _DAY_S) * _DAY_S  # the date of the start time
            self.stats.gps_days += 1
            self.stats.anchors += 1
        res = day + rel
        # The next chunk continues from the day of this chunk's last frame.
        last_day = day + float(rel[-1] - sod[-1])
        if last_day != self._gps_day_s:
            if not math.isnan(self._gps_day_s) and last_day != day:
                self.stats.gps_days += 1
            self._gps_day_s = last_day
        self._last_time_s = float(res[-1])
        if refs.size and arrival_s is not None:
            self.offset_s = self._last_time_s - arrival_s
        return res

    def _real_times(
        self, ti: npt.NDArray[np.int64], kn: npt.NDArray[np.float64], arrival_s: float | None
    ) -> npt.NDArray[np.float64]:
        jump = int(self.max_jump_s * self.rate_hz)
        prev = np.empty_like(ti)
        prev[0] = self._last_ticks
        prev[1:] = ti[:-1]
        d = ti - prev
        back = (d < 0) & (prev >= 0)
        far = d > jump
        reset = back | far
        brk = reset | np.isfinite(kn)
        if self._anchor_ticks < 0:
            brk[0] = True
        if arrival_s is not None and self._anchor_ticks >= 0 and not brk[0]:
            # The chunk's last frame arrived just now (a chunk may span seconds); with a reset
            # inside, the last frame before it only arrived before now.
            cut = np.flatnonzero(reset)
            last = int(cut[0]) - 1 if cut.size else ti.size - 1
            late = self._predict(int(ti[last])) - (arrival_s + self.offset_s)
            if late > self.max_drift_s or (cut.size == 0 and late < -self.max_drift_s):
                brk[0] = True
                self.stats.drift += 1
        self.stats.backwards += int(back.sum())
        self.stats.jumps += int((far & (prev >= 0)).sum())
        res = np.empty(ti.size)
        starts = np.flatnonzero(brk)
        bounds = [*starts.tolist(), ti.size]
        if starts.size == 0 or starts[0] != 0:
            bounds.insert(0, 0)
        recorded = False
        for s, e in itertools.pairwise(bounds):
            hold = True  # a segment never starts before the previous frame (honest order)
            if brk[s]:
                k = float(kn[s])
                if math.isnan(k):
                    self._reanchor(int(ti[s]), arrival_s, int(ti[e - 1]))
                else:
                    recorded = True
                    hold = self._record(int(ti[s]), k, predictable=not reset[s])
            res[s:e] = self._anchor_time_s + (ti[s:e] - self._anchor_ticks) / self.rate_hz
            if arrival_s is not None and not self._from_record:
                # Nothing is received in the future (a replay faster than real time).
                res[s:e] = np.minimum(res[s:e], arrival_s + self.offset_s)
            if hold and not math.isnan(self._last_time_s):
                res[s:e] = np.maximum(res[s:e], self._last_time_s)
            self._last_ticks = int(ti[e - 1])
            self._last_time_s = float(res[e - 1])
        if recorded and arrival_s is not None:
            self.offset_s = self._last_time_s - arrival_s
        return res

    def _record(self, ticks: int, known_s: float, *, predictable: bool) -> bool:
        """Apply a time record; returns whether the frame may be held to the previous time
        (only a record that agrees with the prediction, a refresh)."""
        self.stats.records += 1
        refresh = (
            predictable
            and self._anchor_ticks >= 0
            and abs(self._predict(ticks) - known_s) <= self.max_drift_s
        )
        if not refresh:
            self.stats.anchors += 1
            if self._anchor_ticks >= 0:
                self.stats.far_records += 1
        self._anchor_ticks = ticks
        self._anchor_time_s = known_s
        self._from_record = True
        return refresh

    def _reanchor(self, ticks: int, arrival_s: float | None, last_ticks: int) -> None:
        if arrival_s is not None:
            # The segment's last frame arrived just now (on the feed's timescale).
            when = arrival_s + self.offset_s
            ticks = last_ticks
        elif not math.isnan(self._last_time_s):
            when = self._last_time_s
        else:
            when = self.start_time_s
        self._anchor_ticks = ticks
        self._anchor_time_s = when
        self._from_record = False
        self.stats.anchors += 1
