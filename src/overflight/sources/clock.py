"""Anchor a receiver's 12 MHz counter to wall-clock (UTC) time.

A Beast counter is relative: it starts at an arbitrary value, wraps, is reset when the receiver
restarts, and in real captures it sometimes goes backwards (merged feeds, resets). The clock keeps
one anchor ``(ticks, time_s)``; a frame gets ``anchor_time_s + (ticks - anchor_ticks) / rate``.
It re-anchors, and counts why, when

* an explicit time is known for a frame (a recording's time record),
* the counter goes backwards or jumps forward by more than ``max_jump_s``: the new anchor is the
  arrival time if known, else the time of the previous frame, so times never go backwards and
  nothing is invented,
* (live) the last frame of a chunk is anchored to the chunk's arrival time when the clock
  starts or re-anchors;
* (live) the prediction drifts from the arrival time by more than ``max_drift_s``; a prediction
  later than the arrival time is clamped to it (nothing is received in the future).

Frames whose counter is synthetic (0, the MLAT-result or UAT marker) get the arrival time, or the
previous frame's time.
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
    """Why the clock re-anchored (counts)."""

    anchors: int = 0
    backwards: int = 0
    jumps: int = 0
    drift: int = 0
    synthetic: int = 0


class TickClock:
    """Maps one receiver's counter to UTC epoch seconds (see module docstring).

    Args:
        rate_hz: counter rate (12 MHz for Beast).
        start_time_s: time given to the first frame when nothing better is known (a file with no
            absolute time: times are then relative to the first frame).
        max_jump_s: a forward jump larger than this is a counter reset.
        max_drift_s: live only: re-anchor when the prediction and arrival differ by more.
    """

    __slots__ = (
        "_anchor_ticks", "_anchor_time_s", "_last_ticks", "_last_time_s", "max_drift_s",
        "max_jump_s", "rate_hz", "start_time_s", "stats",
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
        self._anchor_ticks = -1
        self._anchor_time_s = math.nan
        self._last_ticks = -1
        self._last_time_s = math.nan
        self.stats = ClockStats()

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
            ti = t[real].astype(np.int64)
            kn = known[real]
            jump = int(self.max_jump_s * self.rate_hz)
            prev = np.empty_like(ti)
            prev[0] = self._last_ticks
            prev[1:] = ti[:-1]
            d = ti - prev
            back = (d < 0) & (prev >= 0)
            far = d > jump
            brk = back | far | np.isfinite(kn)
            if self._anchor_ticks < 0:
                brk[0] = True
            if arrival_s is not None and self._anchor_ticks >= 0 and not brk[0]:
                pred = self._anchor_time_s + (ti[0] - self._anchor_ticks) / self.rate_hz
                if abs(pred - arrival_s) > self.max_drift_s:
                    brk[0] = True
                    self.stats.drift += 1
            self.stats.backwards += int(back.sum())
            self.stats.jumps += int((far & (prev >= 0)).sum())
            res = np.empty(ti.size)
            starts = np.flatnonzero(brk)
            bounds = [*starts.tolist(), ti.size]
            if starts.size == 0 or starts[0] != 0:
                bounds.insert(0, 0)
            for s, e in itertools.pairwise(bounds):
                if brk[s]:
                    self._reanchor(int(ti[s]), float(kn[s]), arrival_s, int(ti[e - 1]))
                res[s:e] = self._anchor_time_s + (ti[s:e] - self._anchor_ticks) / self.rate_hz
                if not math.isnan(self._last_time_s) and math.isnan(kn[s]):
                    # Honest order: a segment never starts before the previous frame.
                    res[s:e] = np.maximum(res[s:e], self._last_time_s)
                if arrival_s is not None:
                    # Nothing is received in the future (a replay faster than real time).
                    res[s:e] = np.minimum(res[s:e], arrival_s)
                self._last_ticks = int(ti[e - 1])
                self._last_time_s = float(res[e - 1])
            out[real] = res
        if synth.any():
            fill = arrival_s if arrival_s is not None else math.nan
            if arrival_s is None and real.size:
                # Previous real frame's time (or the clock's last time before this chunk).
                idx = np.maximum.accumulate(np.where(~synth, np.arange(n), -1))
                prior = np.where(idx >= 0, out[np.maximum(idx, 0)], prev_last_s)
                out[synth] = prior[synth]
            else:
                out[synth] = fill if not math.isnan(fill) else self._last_time_s
        return out

    def _reanchor(
        self, ticks: int, known_s: float, arrival_s: float | None, last_ticks: int
    ) -> None:
        if not math.isnan(known_s):
            when = known_s
        elif arrival_s is not None:
            # The segment's last frame arrived just now; earlier ones before it.
            when = arrival_s
            ticks = last_ticks
        elif not math.isnan(self._last_time_s):
            when = self._last_time_s
        else:
            when = self.start_time_s
        self._anchor_ticks = ticks
        self._anchor_time_s = when
        self.stats.anchors += 1
