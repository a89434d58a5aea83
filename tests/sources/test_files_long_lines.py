"""Text captures: an overlong line is skipped as it streams past, counted, and costs no memory."""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.frames import FrameBatch
from overflight.sources.files import read_batches
from overflight.sources.text import LINE_TOO_LONG, MAX_LINE_BYTES, LineSplitter

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
ADSB_CSV = "modes-pymodes-samples/sample_data_adsb.csv"
LONG = 32 << 20  # a 32 MiB line


def _read(path: Path) -> tuple[FrameBatch, dict[str, int], int]:
    """Frames, skip reasons and the peak traced memory (bytes) of reading ``path``."""
    tracemalloc.start()
    try:
        r = read_batches(path)
        fb = FrameBatch.concat(list(r))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return fb, dict(r.stats.skipped), peak


def _with_long_lines(text: bytes) -> bytes:
    """``text`` with a 32 MiB line in the middle and another (unterminated) at the end."""
    lines = text.splitlines(keepends=True)
    mid = len(lines) // 2
    long_json = b'{"timestamp": 1, "frame": "' + b"8d" * (LONG // 2) + b'"}\n'
    return b"".join(lines[:mid]) + long_json + b"".join(lines[mid:]) + b"a" * LONG


def test_overlong_lines_are_skipped_counted_and_not_held(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    for name, text in (
        ("flight.jsonl", gzip.decompress(shared(FLIGHT).read_bytes())),
        ("adsb.csv", shared(ADSB_CSV).read_bytes()),
    ):
        plain = tmp_path / name
        plain.write_bytes(text)
        want, want_skipped, base_peak = _read(plain)
        assert len(want) > 1000
        hostile = tmp_path / f"long-{name}"
        hostile.write_bytes(_with_long_lines(text))
        zipped = tmp_path / f"long-{name}.gz"
        zipped.write_bytes(gzip.compress(hostile.read_bytes(), compresslevel=1))
        for path in (hostile, zipped):
            got, skipped, peak = _read(path)
            assert np.array_equal(got.data, want.data)  # every line around them still read
            assert np.array_equal(got.time_s, want.time_s, equal_nan=True)
            assert skipped == {**want_skipped, LINE_TOO_LONG: 2}
            assert peak < base_peak + 8 * MAX_LINE_BYTES + (4 << 20)  # not 32 MiB or more


def _reference(data: bytes, max_bytes: int) -> tuple[list[bytes], int, bytes | None]:
    """What LineSplitter must give, by splitting the whole stream at once."""
    parts = data.split(b"\n")
    last = parts.pop()
    lines = [x for x in parts if len(x) <= max_bytes]
    too_long = sum(len(x) > max_bytes for x in parts) + (len(last) > max_bytes)
    return lines, too_long, (last if last and len(last) <= max_bytes else None)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"bc", b"\n", b"x" * 7, b"\n\n"]), max_size=40),
    st.lists(st.integers(0, 200), max_size=10),
    st.integers(1, 8),
)
def test_line_splitter_equals_splitting_the_whole_stream(
    pieces: list[bytes], cuts: list[int], max_bytes: int
) -> None:
    data = b"".join(pieces)
    pos = sorted(min(c, len(data)) for c in cuts)
    sp = LineSplitter(max_bytes)
    got: list[bytes] = []
    for a, b in zip([0, *pos], [*pos, len(data)], strict=True):
        got += sp.feed(data[a:b])
    last = sp.close()
    lines, too_long, want_last = _reference(data, max_bytes)
    assert (got, sp.too_long, last) == (lines, too_long, want_last)
