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
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.sources.beast import TICKS_PER_S, is_synthetic_ticks

__all__ = ["ClockStats", "TickClock"]


@dataclass(slots=True)
class ClockStats:
    """Why the clock (re-)anchored, and how many time records it used (counts).

    ``anchors`` counts every anchoring, the first included; ``backwards``, ``jumps``, ``drift``
    and ``far_records`` count their causes; ``records`` counts time records applied (those that
    agree with the prediction only refresh the anchor); ``synthetic`` counts frames without a
    real counter."""

    anchors: int = 0
    backwards: int = 0
    jumps: int = 0
    drift: int = 0
    records: int = 0
    far_records: int = 0
    synthetic: int = 0


class TickClock:
    """Maps one receiver's counter to UTC epoch seconds (see module docstring).

    Args:
        rate_hz: counter rate (12 MHz for Beast).
        start_time_s: time given to the first frame when nothing better is known (a file with no
            absolute time: times are then relative to the first frame).
        max_jump_s: a forward jump larger than this is a counter reset.
        max_drift_s: re-anchor when a time record, or (live) the arrival time plus the offset,
            differs from the prediction by more.
    """

    __slots__ = (
        "_anchor_ticks", "_anchor_time_s", "_from_record", "_last_ticks", "_last_time_s",
        "max_drift_s", "max_jump_s", "offset_s", "rate_hz", "start_time_s", "stats",
    )

    def __init__(
        self,
        *,
        rate_hz: float = TICKS_PER_S,
        start_time_s: float = 0.0,
        max_jump_s: float = 600.0,
        max_drift_s: float = 2.0,
    ) -> None:
        self.rate_hz = rate_hz
        self.start_time_s = start_time_s
        self.max_jump_s = max_jump_s
        self.max_drift_s = max_drift_s
        self.offset_s = 0.0
        """Live: the feed's timescale minus arrival (wall-clock) time, seconds (0 without
        time records)."""
        self._anchor_ticks = -1
        self._anchor_time_s = math.nan
        self._from_record = False
        self._last_ticks = -1
        self._last_time_s = math.nan
        self.stats = ClockStats()

    def _predict(self, ticks: int) -> float:
        return self._anchor_time_s + (ticks - self._anchor_ticks) / self.rate_hz

    def times(
        self,
        ticks: npt.ArrayLike,
        *,
        arrival_s: float | None = None,
        known_time_s: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.float64]:
        """UTC seconds for frames in arrival order.

        Args:
            ticks: ``(n,)`` counter values.
            arrival_s: wall-clock time the chunk arrived (live), or None (files).
            known_time_s: ``(n,)`` explicit times (NaN where unknown), e.g. from time records.
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
            out[real] = self._real_times(t[real].astype(np.int64), known[real], arrival_s)
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
