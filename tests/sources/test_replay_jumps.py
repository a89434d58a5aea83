"""replay pacing: a jump of the recorded time by more than 10 minutes is not waited for.

The schedule (send offsets) of real captures is checked, never the wall clock."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.frames import FrameBatch
from overflight.sources.beast import encode_beast
from overflight.sources.files import read_batches
from overflight.sources.replay import ReplayStats, paced_slices

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
YEAR_S = 31_536_000.0


def _flight(shared: Callable[[str], Path], n: int = 20_000) -> tuple[list[bytes], np.ndarray]:
    with gzip.open(shared(FLIGHT), "rt") as f:
        rows = [json.loads(line) for _, line in zip(range(n), f, strict=False)]
    frames = [bytes.fromhex(r["frame"][:14] if int(r["frame"][:2], 16) < 0x80 else r["frame"])
              for r in rows]
    return frames, np.array([r["timestamp"] for r in rows], np.float64)


def _recording(path: Path, frames: list[bytes], t: np.ndarray) -> None:
    """A Beast recording as ``overflight record`` writes it: 12 MHz counter, a time record
    every 100 frames."""
    ticks = np.rint((t - t[0]) * 12e6).astype(np.uint64) + np.uint64(1000)
    fb = FrameBatch.from_bytes(frames, time_s=t, ticks=ticks)
    marks = np.zeros(t.size, bool)
    marks[::100] = True
    path.write_bytes(encode_beast(fb, time_records=marks))


def _schedule(path: Path, **kw: float) -> tuple[np.ndarray, ReplayStats]:
    stats = ReplayStats()
    offs = [o for o, _ in paced_slices(read_batches(path), 1.0, stats=stats, **kw)]
    return np.array(offs), stats


def test_a_corrupt_time_record_is_not_waited_for(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    frames, t = _flight(shared)
    span = float(t[-1] - t[0])
    good = tmp_path / "good.beast"
    _recording(good, frames, t)
    bad_t = t.copy()
    bad_t[5000] += YEAR_S  # one time record (frame 5000 carries one) a year ahead
    bad = tmp_path / "bad.beast"
    _recording(bad, frames, bad_t)
    # the plain call, as `replay --speed 1` makes it: the schedule stays within the real span
    offs = np.array([o for o, _ in paced_slices(read_batches(bad), 1.0)])
    assert offs.max() <= span + 1.0
    want, st_good = _schedule(good)
    got, st_bad = _schedule(bad)
    assert st_good.time_jumps == 0 and abs(want[-1] - span) < 1.0
    assert st_bad.time_jumps == 2  # a year forwards, and back at the next time record
    assert st_bad.jumped_s == pytest.approx(2 * YEAR_S, rel=1e-3)
    assert abs(got[-1] - span) < 5.0  # paced as before, minus the two jumps' own frame gaps


def test_a_pause_in_the_recording_is_skipped_and_pacing_goes_on(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    frames, t = _flight(shared)
    paused = t.copy()
    paused[10_000:] += 3600.0  # the receiver was off for an hour
    path = tmp_path / "paused.beast"
    _recording(path, frames, paused)
    offs, st = _schedule(path)
    assert st.time_jumps == 1 and st.jumped_s == pytest.approx(3600.0, abs=5.0)
    assert abs(offs[-1] - float(t[-1] - t[0])) < 5.0
    _, st_long = _schedule(path, max_jump_s=7200.0)  # a larger limit follows the pause
    assert st_long.time_jumps == 0


def test_pathological_times_stay_bounded_and_counted() -> None:
    """Times that jump back and forth on every frame: every jump counted, nothing waited for."""
    n = 5000
    t = np.where(np.arange(n) % 2 == 0, 1.7e9, 1.7e9 + YEAR_S) + np.arange(n) * 0.01
    fb = FrameBatch.from_bytes([b"\x5d\x48\x40\xd6\x20\x2c\xc3"] * n, time_s=t)
    st = ReplayStats()
    offs = [o for o, _ in paced_slices([fb], 1.0, stats=st)]
    assert max(offs) <= n * 0.01 * 2
    assert st.time_jumps >= 64
