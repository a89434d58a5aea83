"""TickClock on the real counter of a dump1090 capture: time records keep a live feed on their
own timescale (no flip-flop with the wall clock); resets and far records still re-anchor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from overflight.sources.beast import MLAT_TICKS, TICKS_PER_S, parse_beast
from overflight.sources.clock import TickClock

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
T_REC = 1_720_248_189.525094  # 2024-07-06 06:43:09 UTC: what the feed's time records say
T_WALL = 1_795_000_000.0  # 2026-11: when the frames arrive
LATENCY_S = 0.05


@pytest.fixture(scope="module")
def ticks(shared: Callable[[str], Path]) -> npt.NDArray[np.int64]:
    """The real 12 MHz counter of the capture's 239 frames (23.9 s, never backwards)."""
    fb = parse_beast(shared(SAMPLE).read_bytes(), final=True).frames
    return fb.ticks.astype(np.int64)


def _truth(ticks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return T_REC + (ticks - ticks[0]) / TICKS_PER_S


def _records(truth: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A time record before the first frame of every second (as the simulator writes them)."""
    sec = np.floor(truth - truth[0])
    first = np.ones(truth.size, bool)
    first[1:] = sec[1:] != sec[:-1]
    return np.where(first, truth, np.nan)


def _live_chunks(n: int, size: int = 7) -> Iterator[slice]:
    for a in range(0, n, size):
        yield slice(a, min(a + size, n))


def _play_live(
    clock: TickClock,
    ticks: npt.NDArray[np.int64],
    known: npt.NDArray[np.float64],
    elapsed_s: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Chunks of 7 frames arriving in real time (LATENCY_S after their last frame, received
    ``elapsed_s`` after the first), years after the time the records carry."""
    out = np.empty(ticks.size)
    for s in _live_chunks(ticks.size):
        arrival = T_WALL + elapsed_s[s.stop - 1] + LATENCY_S
        out[s] = clock.times(ticks[s].astype(np.uint64), arrival_s=arrival, known_time_s=known[s])
    return out


def test_live_records_years_away_keep_their_timescale(ticks: npt.NDArray[np.int64]) -> None:
    truth = _truth(ticks)
    known = _records(truth)
    assert np.isnan(known[1:8]).all() and np.isfinite(known).sum() >= 20
    clock = TickClock()
    got = _play_live(clock, ticks, known, truth - T_REC)
    assert np.abs(got - truth).max() < 1e-6  # 2024 throughout, never the arrival (2026)
    assert np.all(np.diff(got) >= 0)
    st = clock.stats
    assert st.anchors == 1 and st.drift == 0 and st.far_records == 0
    assert st.records == int(np.isfinite(known).sum())
    assert abs(clock.offset_s - (T_REC - T_WALL - LATENCY_S)) < 1e-6


def test_counter_reset_reanchors_once_on_the_records_timescale(
    ticks: npt.NDArray[np.int64],
) -> None:
    """The receiver restarts at frame 150 (its counter starts again near 0): one re-anchor on
    the records' timescale, and the next record agrees with it."""
    truth = _truth(ticks)
    known = _records(truth)
    cut = 150
    assert np.isnan(known[cut])
    reset = ticks.copy()
    reset[cut:] = ticks[cut:] - ticks[cut] + 5_000
    clock = TickClock()
    got = _play_live(clock, reset, known, truth - T_REC)
    st = clock.stats
    assert st.anchors == 2 and st.backwards == 1 and st.drift == 0 and st.far_records == 0
    assert np.all(np.diff(got) >= 0)
    # The chunk holding the reset is anchored on its arrival on the records' timescale: exact
    # here, as the latency is constant; the frames before the reset in that chunk are held.
    assert np.abs(got - truth)[cut:].max() < 1e-6
    assert np.abs(got - truth)[:cut].max() < 1e-6


def test_record_far_from_the_anchor_reanchors(ticks: npt.NDArray[np.int64]) -> None:
    """Two recordings back to back (an hour apart, same counter): one far record, counted."""
    elapsed = _truth(ticks) - T_REC
    truth = _truth(ticks)
    truth[120:] += 3600.0
    known = _records(truth)
    known[120] = truth[120]
    clock = TickClock()
    got = _play_live(clock, ticks, known, elapsed)
    st = clock.stats
    assert st.anchors == 2 and st.far_records == 1 and st.drift == 0
    assert np.abs(got - truth).max() < 1e-6


def test_file_records_refresh_without_reanchoring(ticks: npt.NDArray[np.int64]) -> None:
    truth = _truth(ticks)
    known = _records(truth)
    clock = TickClock()
    got = np.concatenate([
        clock.times(ticks[s].astype(np.uint64), known_time_s=known[s])
        for s in _live_chunks(ticks.size, 50)
    ])
    assert np.abs(got - truth).max() < 1e-6
    assert clock.stats.anchors == 1 and clock.stats.records == int(np.isfinite(known).sum())


def test_feed_without_records_still_follows_arrival(ticks: npt.NDArray[np.int64]) -> None:
    """No records: dated by arrival, and re-anchored when the counter drifts from it (here the
    connection stalls 30 s and delivers the rest at once, late)."""
    truth = _truth(ticks)
    nothing = np.full(ticks.size, np.nan)
    clock = TickClock()
    got = _play_live(clock, ticks[:100], nothing[:100], truth[:100] - T_REC)
    wall = truth - T_REC + T_WALL
    assert np.abs(got - wall[:100]).max() < LATENCY_S + 1e-6
    late = wall[-1] + 30.0
    rest = clock.times(ticks[100:].astype(np.uint64), arrival_s=late)
    assert clock.stats.anchors == 2 and clock.stats.drift == 1 and clock.offset_s == 0.0
    assert rest[-1] == late and np.all(np.diff(rest) >= 0)


def test_mlat_marker_frames_stay_on_the_records_timescale(ticks: npt.NDArray[np.int64]) -> None:
    truth = _truth(ticks)
    clock = TickClock()
    first = clock.times(
        ticks[:5].astype(np.uint64), arrival_s=T_WALL, known_time_s=[truth[0], *[np.nan] * 4]
    )
    assert np.abs(first - truth[:5]).max() < 1e-6
    t = np.array([ticks[5], MLAT_TICKS, ticks[6]], np.uint64)
    arrival = T_WALL + (truth[6] - truth[4])
    got = clock.times(t, arrival_s=arrival)
    assert abs(got[0] - truth[5]) < 1e-6 and abs(got[2] - truth[6]) < 1e-6
    assert abs(got[1] - (arrival + clock.offset_s)) < 1e-9 and got[1] < T_WALL - 1e7
