"""Replay a capture file as a timed live stream.

``speed=1`` follows the recorded times (``FrameBatch.time_s``), ``speed=N`` is N times faster,
except that a jump of the recorded time by more than ``max_jump_s`` (10 minutes; a corrupt time
record, a pause in the recording) is logged, counted and not waited for;
``speed=None`` ("max") as fast as the slowest kept client reads: replay is not live, so it waits
for downstream queues to drain instead of dropping data (a client that stops reading altogether
is still dropped by its write timeout).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from overflight.frames import FrameBatch
from overflight.sources.files import read_batches
from overflight.sources.net import FanoutServer

__all__ = ["MAX_JUMP_S", "ReplayStats", "paced_slices", "replay_file"]

log = logging.getLogger(__name__)

_SLICE_S = 0.05


@dataclass(slots=True)
class ReplayStats:
    """Frames sent and the recorded span they covered (seconds)."""

    frames: int = 0
    batches: int = 0
    span_s: float = 0.0
    fault: BaseException | None = None
    """Why the input ended early (a truncated or corrupt gzip); the frames before it were sent."""
    time_jumps: int = 0
    """Recorded times that jumped by more than ``max_jump_s`` (forwards or back): not waited for."""
    jumped_s: float = 0.0
    """Recorded seconds those jumps spanned (absolute values summed), seconds."""


MAX_JUMP_S = 600.0
"""Default largest jump of the recorded time followed when pacing (10 minutes), seconds."""
_MAX_REBASES = 64
"""Backward jumps handled one by one per batch; beyond that a batch is paced forwards only."""
_LOGGED_JUMPS = 10


@dataclass(slots=True)
class _Pacer:
    """Pacing clock across batches: recorded time to seconds after the start (before speed).

    Follows the running maximum of the recorded time (jitter and small steps back are sent at
    once); a jump of more than ``max_jump_s`` either way (a corrupt time record, a pause in
    the recording) is not waited for: the clock goes on from where it was, and it is counted.
    """

    max_jump_s: float
    stats: ReplayStats
    last: float = math.nan
    """Running maximum of the recorded time since the last jump, seconds."""
    offset: float = 0.0
    """Pacing seconds at ``last``."""

    def offsets(self, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Pacing offsets (seconds) of recorded times ``t`` (NaN: with the previous frame)."""
        n = t.size
        out = np.empty(n)
        if math.isnan(self.last):
            finite = t[np.isfinite(t)]
            if finite.size == 0:
                out[:] = self.offset
                return out
            self.last = float(finite[0])
        i = 0
        rebases = 0
        while i < n:
            seg = t[i:]
            m = np.fmax.accumulate(np.fmax(seg, self.last))  # NaN and steps back: no time
            prev = np.empty_like(m)
            prev[0] = self.last
            prev[1:] = m[:-1]
            if rebases >= _MAX_REBASES:  # pathological: the rest forwards only, in one pass
                out[i:] = self._forward_only(m, prev)
                break
            with np.errstate(invalid="ignore"):
                jump = (seg - prev > self.max_jump_s) | (prev - seg > self.max_jump_s)
            j = int(np.argmax(jump)) if jump.any() else seg.size
            out[i : i + j] = self.offset + (m[:j] - self.last)
            if j:
                self.offset += float(m[j - 1]) - self.last
                self.last = float(m[j - 1])
            if j == seg.size:
                break
            self._jump(float(seg[j]))
            out[i + j] = self.offset
            rebases += 1
            i += j + 1
        return out

    def _forward_only(
        self, m: npt.NDArray[np.float64], prev: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Offsets along running maximum ``m``, steps over ``max_jump_s`` taking no time."""
        step = m - prev
        big = step > self.max_jump_s
        self.stats.time_jumps += int(big.sum())
        self.stats.jumped_s += float(step[big].sum())
        out = self.offset + np.cumsum(np.where(big, 0.0, step))
        self.offset, self.last = float(out[-1]), float(m[-1])
        return out

    def _jump(self, to: float) -> None:
        st = self.stats
        st.time_jumps += 1
        st.jumped_s += abs(to - self.last)
        if st.time_jumps <= _LOGGED_JUMPS:
            log.warning(
                "recorded time jumps by %+.1f s (limit %.0f s): not waited for%s",
                to - self.last, self.max_jump_s,
                "; further jumps are only counted" if st.time_jumps == _LOGGED_JUMPS else "",
            )
        self.last = to


def paced_slices(
    batches: Iterable[FrameBatch],
    speed: float | None,
    slice_s: float = _SLICE_S,
    *,
    max_jump_s: float = MAX_JUMP_S,
    stats: ReplayStats | None = None,
) -> Iterator[tuple[float, FrameBatch]]:
    """Split batches into slices of ``slice_s`` recorded seconds, each with its send offset.

    The offset (seconds after the start) is the recorded time elapsed since the first frame
    divided by ``speed``; 0 for ``speed=None``. Frames without a time are sent with the
    previous one; time never runs backwards; a jump of the recorded time by more than
    ``max_jump_s`` seconds (forwards or back) is not waited for, and is logged and counted in
    ``stats`` (``time_jumps``, ``jumped_s``).
    """
    pacer = _Pacer(max_jump_s, stats if stats is not None else ReplayStats())
    for b in batches:
        if len(b) == 0:
            continue
        if speed is None:
            yield 0.0, b
            continue
        off = pacer.offsets(np.asarray(b.time_s, np.float64))
        key = np.floor(off / slice_s).astype(np.int64)
        cuts = np.flatnonzero(np.diff(key)) + 1
        for s, e in zip([0, *cuts.tolist()], [*cuts.tolist(), len(b)], strict=True):
            yield float(off[s]) / speed, b.take(np.arange(s, e))


async def replay_file(
    path: str | Path,
    outputs: list[FanoutServer],
    *,
    speed: float | None = 1.0,
    on_batch: Callable[[FrameBatch], None] | None = None,
    high_water: int = 32,
    max_jump_s: float = MAX_JUMP_S,
    time_records: bool = True,
) -> ReplayStats:
    """Send a capture to ``outputs`` paced by its recorded times (see module docstring); a
    jump of the recorded time by more than ``max_jump_s`` seconds is not waited for.

    ``time_records``: Beast outputs carry each frame's recorded time (``0x1a 0xe9``) when the
    capture's times are absolute (UTC), so a downstream Overflight tracks the capture on its own
    timescale whatever the speed (readsb and dump1090 skip the record); a capture with only a
    relative clock is dated by the receiving end, as a live receiver would be."""
    stats = ReplayStats()
    start = time.monotonic()
    first_t = math.nan
    reader = read_batches(path)
    dated = False
    for offset, part in paced_slices(reader, speed, max_jump_s=max_jump_s, stats=stats):
        if not dated:  # only a capture with absolute (UTC) times has times to carry
            dated = True
            for o in outputs:
                if o.fmt == "beast":
                    o.time_records = time_records and reader.stats.absolute_time
        if speed is not None:
            delay = start + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            while any(o.backlog() > high_water for o in outputs):
                await asyncio.sleep(0.001)
        for o in outputs:
            o(part)
        if on_batch is not None:
            on_batch(part)
        stats.frames += len(part)
        stats.batches += 1
        finite = part.time_s[np.isfinite(part.time_s)]
        if finite.size:
            if math.isnan(first_t):
                first_t = float(finite[0])
            stats.span_s = float(finite[-1]) - first_t
        await asyncio.sleep(0)
    # let queued bytes reach the clients
    while any(o.backlog() > 0 for o in outputs):
        await asyncio.sleep(0.005)
    stats.fault = reader.fault
    return stats
