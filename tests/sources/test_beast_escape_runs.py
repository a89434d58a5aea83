"""Beast: a run of 0x1a bytes of any length costs bounded memory and is counted as garbage.

A trailing run of ``0x1a`` used to be held back whole as ambiguous, so a stream of them grew the
parser's pending buffer without limit and the final parse needed ~60x the input in memory.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.frames import FrameBatch
from overflight.sources.beast import (
    MAX_PENDING_BYTES,
    BeastParser,
    BeastStats,
    parse_beast,
)

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
RUN = b"\x1a" * (4 << 20)  # 4 MiB of escape bytes


def _feed_all(parts: list[bytes]) -> tuple[FrameBatch, BeastParser, int]:
    """Feed ``parts`` in order, then close; also return the most bytes held between calls."""
    p = BeastParser()
    got = []
    most = 0
    for part in parts:
        got.append(p.feed(part).frames)
        most = max(most, p.pending_bytes)
    got.append(p.close().frames)
    return FrameBatch.concat(got), p, most


def _chunks(data: bytes, rng: np.random.Generator, n: int) -> list[bytes]:
    cuts = np.sort(rng.integers(0, len(data), n))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def _same_stats(a: BeastStats, b: BeastStats) -> bool:
    """Every count equal except resyncs (a garbage stretch cut by a read counts once per read)."""
    return all(getattr(a, k) == getattr(b, k) for k in a.__slots__ if k != "resyncs")


def test_an_escape_run_fed_at_once_is_not_held_and_is_counted_as_garbage() -> None:
    for run in (RUN, RUN + b"\x1a"):  # even: escaped literals; odd: the last byte may start a frame
        p = BeastParser()
        assert len(p.feed(run).frames) == 0
        assert p.pending_bytes <= MAX_PENDING_BYTES
        assert len(p.close().frames) == 0
        assert p.pending_bytes == 0
        assert p.stats.garbage_bytes + p.stats.truncated_bytes == len(run)
        assert p.stats.frames == 0


def test_an_escape_run_fed_in_many_reads_stays_bounded(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    step = 65536
    parts = [RUN[i : i + step] for i in range(0, len(RUN), step)] + [raw]
    got, p, most = _feed_all(parts)
    assert most <= MAX_PENDING_BYTES
    assert p.stats.garbage_bytes == len(RUN)  # the run, and nothing of the real frames after it
    want = parse_beast(raw, final=True).frames
    assert len(got) == len(want) == 239  # every real frame after the run parses
    assert np.array_equal(got.data, want.data) and np.array_equal(got.ticks, want.ticks)


def test_escape_run_memory_is_linear_in_the_input() -> None:
    """Peak memory of parsing a 4 MiB run (in one read, and through close) stays within a few
    times the input (it was ~60x)."""
    tracemalloc.start()
    try:
        p = BeastParser()
        p.feed(RUN)
        p.close()
        one_read = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        parse_beast(RUN + b"\x1a\x33" + bytes(21), final=True)  # a run then a frame, one buffer
        one_buffer = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert one_read < 10 * len(RUN)
    assert one_buffer < 10 * len(RUN)


def test_frames_around_escape_runs_parse_the_same_in_any_chunking(
    shared: Callable[[str], Path],
) -> None:
    """Real frames with even runs of 0x1a between them (escaped literals; an odd run would pair
    with the next frame start and hide it, in any Beast reader): one buffer and random reads give
    the same frames and the same counts; only the runs are garbage."""
    raw = shared(SAMPLE).read_bytes()
    rng = np.random.default_rng(7)
    runs = [b"\x1a" * int(k) for k in (2, 44, 46, 48, 1000, 100_000)]
    data = raw + b"".join(r + raw for r in runs)
    want, p1, _ = _feed_all([data])
    assert len(want) == 239 * (len(runs) + 1)
    assert p1.stats.garbage_bytes == sum(len(r) for r in runs)
    assert p1.stats.errors == 0 and p1.stats.truncated_bytes == 0
    for n_cuts in (3, 40, 400):
        got, p2, most = _feed_all(_chunks(data, rng, n_cuts))
        assert most <= MAX_PENDING_BYTES
        assert np.array_equal(got.data, want.data)
        assert np.array_equal(got.ticks, want.ticks)
        assert np.array_equal(got.signal_dbfs, want.signal_dbfs, equal_nan=True)
        assert _same_stats(p1.stats, p2.stats)


def test_real_capture_one_buffer_equals_random_chunking(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    want, p1, _ = _feed_all([raw])
    rng = np.random.default_rng(3)
    for _ in range(30):
        got, p2, most = _feed_all(_chunks(raw, rng, int(rng.integers(1, 200))))
        assert most <= MAX_PENDING_BYTES
        for col in ("data", "length_bytes", "ticks", "receiver"):
            assert np.array_equal(getattr(got, col), getattr(want, col))
        assert np.array_equal(got.signal_dbfs, want.signal_dbfs, equal_nan=True)
        assert p1.stats == p2.stats


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.integers(0, 300).map(lambda k: b"\x1a" * k),
            st.sampled_from(
                [b"\x1a\x33" + bytes(21), b"\x1a\x32" + bytes(14), b"\x1a\xe3" + bytes(8)]
            ),
        ),
        max_size=20,
    ),
    st.lists(st.integers(0, 4000), max_size=8),
)
def test_fuzz_runs_one_buffer_equals_any_chunking(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    want, p1, _ = _feed_all([data])
    pos = sorted(min(c, len(data)) for c in cuts)
    edges = zip([0, *pos], [*pos, len(data)], strict=True)
    got, p2, most = _feed_all([data[a:b] for a, b in edges])
    assert most <= MAX_PENDING_BYTES
    assert np.array_equal(got.data, want.data) and np.array_equal(got.ticks, want.ticks)
    assert _same_stats(p1.stats, p2.stats)
    s = p1.stats
    assert s.garbage_bytes + s.truncated_bytes <= len(data)
