"""Replay a capture file as a timed live stream.

``speed=1`` follows the recorded times (``FrameBatch.time_s``), ``speed=N`` is N times faster,
``speed=None`` ("max") as fast as the slowest kept client reads: replay is not live, so it waits
for downstream queues to drain instead of dropping data (a client that stops reading altogether
is still dropped by its write timeout).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from overflight.frames import FrameBatch
from overflight.sources.files import read_batches
from overflight.sources.net import FanoutServer

__all__ = ["ReplayStats", "paced_slices", "replay_file"]

_SLICE_S = 0.05


@dataclass(slots=True)
class ReplayStats:
    """Frames sent and the recorded span they covered (seconds)."""

    frames: int = 0
    batches: int = 0
    span_s: float = 0.0
    fault: BaseException | None = None
    """Why the input ended early (a truncated or corrupt gzip); the frames before it were sent."""


def paced_slices(
    batches: Iterable[FrameBatch], speed: float | None, slice_s: float = _SLICE_S
) -> Iterator[tuple[float, FrameBatch]]:
    """Split batches into slices of ``slice_s`` recorded seconds, each with its send offset.

    The offset (seconds after the start) is ``(t - t0) / speed``; 0 for ``speed=None``. Frames
    without a time are sent with the previous one; time never runs backwards.
    """
    t0 = math.nan
    last = -math.inf
    for b in batches:
        if len(b) == 0:
            continue
        if speed is None:
            yield 0.0, b
            continue
        t = np.asarray(b.time_s, np.float64).copy()
        if math.isnan(t0):
            finite = t[np.isfinite(t)]
            t0 = float(finite[0]) if finite.size else 0.0
        # forward-fill NaN and keep the order honest
        t = np.where(np.isfinite(t), t, -np.inf)
        t = np.maximum.accumulate(np.maximum(t, last))
        t = np.where(np.isfinite(t), t, t0)
        last = float(t[-1])
        key = np.floor((t - t0) / slice_s).astype(np.int64)
        cuts = np.flatnonzero(np.diff(key)) + 1
        for s, e in zip([0, *cuts.tolist()], [*cuts.tolist(), len(b)], strict=True):
            yield float(t[s] - t0) / speed, b.take(np.arange(s, e))


async def replay_file(
    path: str | Path,
    outputs: list[FanoutServer],
    *,
    speed: float | None = 1.0,
    on_batch: Callable[[FrameBatch], None] | None = None,
    high_water: int = 32,
) -> ReplayStats:
    """Send a capture to ``outputs`` paced by its recorded times (see module docstring)."""
    stats = ReplayStats()
    start = time.monotonic()
    first_t = math.nan
    reader = read_batches(path)
    for offset, part in paced_slices(reader, speed):
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
