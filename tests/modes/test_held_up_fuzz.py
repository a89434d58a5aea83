"""Issue 17, held up and kept so: random and mutated frames never crash the decoder or the
tracker, every row is kept and counted, and random frames are (almost) never valid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from overflight.cli.decode import ReadsbCounter
from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.batch import batch_stats
from overflight.pipeline import decode_frames
from overflight.tracking import Tracker

from ._data import FULL_FLIGHT, full_flight


def _random_frames(rng: np.random.Generator, n: int) -> FrameBatch:
    data = rng.integers(0, 256, (n, 14), dtype=np.uint8)
    lens = np.where(rng.random(n) < 0.5, 7, 14).astype(np.uint8)
    data[lens == 7, 7:] = 0
    return FrameBatch.from_columns(data, lens, time_s=1.7e9 + np.arange(n) * 1e-3)


def _reasons(table: pa.Table) -> np.ndarray:
    r = table.column("invalid_reason").combine_chunks().dictionary_decode()
    return np.asarray(r.fill_null("").to_numpy(zero_copy_only=False), dtype=object)


def test_a_million_random_frames_decode_without_error_and_none_is_readsb_valid() -> None:
    n = 1_000_000
    fb = _random_frames(np.random.default_rng(17), n)
    table = decode_batch(fb)
    assert table.num_rows == n
    st = batch_stats(table)
    assert st["rows"] == n and st["valid"] + st["invalid"] == n
    assert sum(st["reasons"].values()) == st["invalid"]
    # 7-byte DF>=16 rows are a length error; DF11/17/18 random rows almost all fail the CRC
    df = (fb.data[:, 0] >> 3).astype(np.int64)
    short_long = (fb.length_bytes == 7) & (df >= 16)
    reasons = _reasons(table)
    assert np.all(reasons[short_long] == "bad length")
    crc_df = ((df == 11) | (df == 17) | (df == 18)) & ~short_long
    crc_ok = np.asarray(table.column("crc_ok").fill_null(False).to_numpy(), dtype=bool)
    assert crc_df.sum() > 50_000
    assert int(crc_ok[crc_df].sum()) <= 5  # 2^-24 per frame, x112 with the 1-bit fix
    # the summary's readsb rule (cli/decode.py): not one random frame is valid
    rc = ReadsbCounter()
    why = rc.add(table, fb)
    assert len(why) == n
    assert rc.counts["valid"] == 0
    assert sum(rc.counts.values()) + int((reasons != "").sum()) - int(
        ((reasons == "unknown address")).sum()
    ) == n


def _mutants(frames: list[str], n: int, seed: int) -> tuple[FrameBatch, np.ndarray, np.ndarray]:
    """``n`` copies of real frames, each with one bit flipped or one byte replaced."""
    rng = np.random.default_rng(seed)
    raw = np.zeros((len(frames), 14), np.uint8)
    lens = np.zeros(len(frames), np.uint8)
    for i, h in enumerate(frames):
        b = bytes.fromhex(h)
        raw[i, : len(b)] = np.frombuffer(b, np.uint8)
        lens[i] = len(b)
    src = rng.integers(0, len(frames), n)
    data = raw[src].copy()
    ln = lens[src]
    pos = (rng.random(n) * ln).astype(np.int64)
    flip = rng.random(n) < 0.5
    rows = np.arange(n)
    bit = (np.uint8(1) << rng.integers(0, 8, n).astype(np.uint8)).astype(np.uint8)
    newbyte = rng.integers(0, 256, n, dtype=np.uint8)
    data[rows, pos] = np.where(flip, data[rows, pos] ^ bit, newbyte)
    fb = FrameBatch.from_columns(data, ln, time_s=1.7e9 + np.arange(n) * 1e-3)
    return fb, src, raw


def test_mutated_real_frames_decode_and_track_without_error(
    shared: Callable[[str], Path],
) -> None:
    flight = full_flight(shared(FULL_FLIGHT))
    frames = [d["frame"] for d in flight]
    n = 200_000
    fb, src, raw = _mutants(frames, n, seed=1717)
    table = decode_batch(fb)
    assert table.num_rows == n
    st = batch_stats(table)
    assert st["rows"] == n and st["invalid"] > 0.05 * n  # uncorrectable mutants are counted
    fixed = np.asarray(table.column("corrected_bits").fill_null(0).to_numpy()) > 0
    assert fixed.sum() > 0.05 * n  # single-bit flips of DF11/17/18 are corrected
    # A row the decoder keeps as valid DF17 names the original aircraft (a 1-bit fix
    # restores it; a corrupted frame is never passed off as another aircraft).
    reasons = _reasons(table)
    df = np.asarray(table.column("df").fill_null(99).to_numpy(), dtype=np.int64)
    addr = np.asarray(table.column("address").fill_null(0).to_numpy(), dtype=np.int64)
    orig_df = (raw[src, 0] >> 3).astype(np.int64)
    orig_addr = (raw[src, 1].astype(np.int64) << 16) | (raw[src, 2].astype(np.int64) << 8)
    orig_addr |= raw[src, 3].astype(np.int64)
    good17 = (reasons == "") & (df == 17) & (orig_df == 17)
    assert good17.sum() > 1000
    assert np.array_equal(addr[good17], orig_addr[good17])

    # the tracker takes the same mutants, in order, in slices, without an exception
    tr = Tracker()
    applied = 0
    for lo in range(0, n, 50_000):
        part = fb.take(np.arange(lo, lo + 50_000))
        t = decode_frames(part)
        assert t.num_rows == len(part)
        tr.update(t)
        applied += t.num_rows
    assert applied == n
    assert tr.dropped["invalid"] >= st["invalid"] - 10
    assert tr.messages + sum(tr.dropped.values()) <= n


def test_random_frames_through_the_tracker_apply_nothing() -> None:
    fb = _random_frames(np.random.default_rng(4242), 200_000)
    tr = Tracker()
    t = decode_frames(fb)
    assert t.num_rows == len(fb)
    pos = tr.update(t)
    assert pos.num_rows == 0  # no position from noise
    assert tr.messages == 0
