"""The compiled pass over clean Beast buffers gives exactly what the vectorised parser gives:
frames, record times, bytes consumed, receiver id, counts and status, whatever the cut."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.frames import FrameBatch
from overflight.sources.beast import (
    BeastChunk,
    _parse_clean,
    _parse_vectorised,
    encode_beast,
    parse_beast,
)

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
_STATUS = b"\x1a\x34" + bytes(6) + b"\x00" + bytes([0x10, 0x00, 0x80]) + bytes(11)
_PING = b"\x1a\x50\x01\x02\x03"
_HEARTBEAT = b"\x1a\x31" + bytes(9)


def _same(a: BeastChunk, b: BeastChunk) -> None:
    for name in ("data", "length_bytes", "receiver", "signal_dbfs", "ticks", "time_s"):
        x, y = getattr(a.frames, name), getattr(b.frames, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    np.testing.assert_array_equal(a.record_time_s, b.record_time_s)
    assert a.record_time_s.dtype == b.record_time_s.dtype
    assert (a.consumed, a.receiver, a.stats, a.status, a.status_receiver) == (
        b.consumed, b.receiver, b.stats, b.status, b.status_receiver)


def _check(buf: bytes, *, final: bool, receiver: int = 0) -> bool:
    """True when the compiled pass took the buffer (and then agrees)."""
    a = np.frombuffer(buf, np.uint8)
    fast = _parse_clean(a, receiver, final) if buf[:1] == b"\x1a" else None
    slow = _parse_vectorised(a, receiver, final)
    if fast is not None:
        _same(fast, slow)
    _same(parse_beast(buf, receiver=receiver, final=final), slow)
    return fast is not None


def _stream() -> bytes:
    rng = np.random.default_rng(7)
    n = 400
    data = rng.integers(0, 256, (n, 14), dtype=np.uint8)
    data[::3, 5] = 0x1A  # escaped bytes inside frames
    lengths = rng.choice(np.array([2, 7, 14], np.uint8), n)
    for i, ln in enumerate(lengths):
        data[i, ln:] = 0
    ticks = rng.integers(0, 1 << 48, n, dtype=np.uint64)
    ticks[::5] = np.uint64(0x1A1A1A1A1A1A)
    ticks[7] = np.uint64(0xFF004D4C4154)  # an MLAT result
    batch = FrameBatch.from_columns(
        data, lengths, time_s=1.7e9 + np.arange(n) * 0.01,
        receiver=np.repeat(np.array([5, 0x1A1A, 2**63 + 3], np.uint64), [150, 150, 100]),
        signal_dbfs=rng.uniform(-40, 0, n).astype(np.float32), ticks=ticks,
    )
    body = encode_beast(batch, receiver_ids=True, time_records=np.arange(n) % 4 == 0)
    cut = len(body) // 2
    cut = body.index(b"\x1a\x32", cut) if b"\x1a\x32" in body[cut:] else cut
    return _STATUS + _PING + body[:cut] + _HEARTBEAT + _STATUS + body[cut:] + _PING


def test_real_capture(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    assert _check(raw, final=True)
    assert _check(raw, final=False)


def test_every_kind_of_record_at_every_cut() -> None:
    buf = _stream()
    assert _check(buf, final=True, receiver=9)
    for k in range(0, len(buf), 7):
        _check(buf[:k], final=False, receiver=9)
        _check(buf[k:], final=False)
    for k in range(1, 60):  # the end of the buffer: every way a record can be cut
        assert _check(buf[: len(buf) - k], final=False) or buf[0] != 0x1A


def test_chunked_stream_is_identical() -> None:
    from overflight.sources.beast import BeastParser

    buf = _stream()
    whole = parse_beast(buf, final=True)
    rng = np.random.default_rng(3)
    p = BeastParser()
    got = []
    i = 0
    while i < len(buf):
        k = int(rng.integers(1, 300))
        got.append(p.feed(buf[i : i + k]).frames)
        i += k
    got.append(p.close().frames)
    joined = FrameBatch.concat(got)
    np.testing.assert_array_equal(joined.data, whole.frames.data)
    np.testing.assert_array_equal(joined.receiver, whole.frames.receiver)
    np.testing.assert_array_equal(joined.ticks, whole.frames.ticks)


@pytest.mark.parametrize("bad", [b"\x00\x01", b"\x1a\x77abc", b"\x1a\x33\x00\x1a\x32"])
def test_anomalies_go_to_the_vectorised_parser(bad: bytes) -> None:
    buf = _stream()
    k = len(buf) // 3
    assert not _check(buf[:k] + bad + buf[k:], final=True)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_fuzz(buf: bytes, final: bool) -> None:
    _check(b"\x1a" + buf, final=final)
    _check(_stream()[:50] + buf, final=final)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.booleans(), st.booleans())
def test_compiled_encoder_equals_vectorised(seed: int, n: int, rids: bool, times: bool) -> None:
    from overflight.sources.beast import _encode_vectorised

    rng = np.random.default_rng(seed)
    data = rng.choice(np.array([0, 0x1A, 0x8D, 0xFF], np.uint8), (n, 14))
    lengths = rng.choice(np.array([2, 7, 14, 5, 0], np.uint8), n)
    t = 1.7e9 + rng.uniform(0, 100, n)
    t[rng.random(n) < 0.2] = np.nan
    batch = FrameBatch.from_columns(
        data, lengths, time_s=t,
        receiver=rng.choice(np.array([0, 0x1A1A, 2**64 - 1], np.uint64), n),
        signal_dbfs=np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-60, 3, n)),
        ticks=rng.choice(np.array([0, 0x1A, 0x1A1A1A1A1A1A, 2**63 + 0x1A], np.uint64), n),
    )
    mask = rng.random(n) < 0.5 if times else None
    assert encode_beast(batch, receiver_ids=rids, time_records=mask) == _encode_vectorised(
        batch, receiver_ids=rids, time_records=mask)


def test_compiled_encoder_round_trips_the_capture(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    assert encode_beast(parse_beast(raw, final=True).frames) == raw
