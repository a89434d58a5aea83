"""Every position names the frames it came from (the caller's per-frame sequence numbers)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.encode import encode_airborne_position, encode_df11
from overflight.tracking import POSITIONS_SCHEMA, Tracker

LAT, LON = 52.30, 4.76


def _table(frames: list[bytes], times: list[float]) -> pa.Table:
    return decode_batch(FrameBatch.from_bytes(frames, time_s=np.asarray(times)))


def _pair_frames() -> tuple[list[bytes], list[float]]:
    frames = [
        encode_airborne_position("48520a", LAT, LON, 30000, False),
        encode_airborne_position("48520a", LAT + 0.001, LON, 30000, True),
        encode_airborne_position("48520a", LAT + 0.002, LON, 30000, False),
    ]
    return frames, [100.0, 100.5, 101.0]


def test_a_pair_position_names_both_frames() -> None:
    frames, times = _pair_frames()
    tr = Tracker()
    pos = tr.update(_table(frames, times), seq=np.array([7001, 7002, 7003], np.int64))
    assert pos.schema == POSITIONS_SCHEMA
    assert pos.column("reference").to_pylist() == ["pair", "pair"]
    assert pos.column("frame_seq").to_pylist() == [7002, 7003]
    assert pos.column("pair_frame_seq").to_pylist() == [7001, 7002]


def test_sequence_numbers_survive_dropped_rows_and_batches() -> None:
    frames, times = _pair_frames()
    # frames the tracker drops (bad CRC, untracked DF) between them: the batch is compacted
    junk = [bytes.fromhex("8d4840d6202cc371c32ce0ffffff")] * 6 + [encode_df11("abcdef")]
    tab = _table(
        [junk[0], frames[0], *junk[1:4], frames[1]],
        [99.0, times[0], 100.1, 100.2, 100.3, times[1]],
    )
    tr = Tracker()
    first = tr.update(tab, seq=np.arange(10, 16, dtype=np.int64))
    assert tr.dropped["invalid"] == 4
    assert first.column("frame_seq").to_pylist() == [15]
    assert first.column("pair_frame_seq").to_pylist() == [11]
    # the pair spans two batches: the stored frame keeps its number
    second = tr.update(_table([frames[2]], [times[2]]), seq=np.array([99], np.int64))
    assert second.column("frame_seq").to_pylist() == [99]
    assert second.column("pair_frame_seq").to_pylist() == [15]


def test_local_decode_mlat_and_unknown_sequences() -> None:
    frames, times = _pair_frames()
    tr = Tracker()
    pos = tr.update(_table(frames, times))  # no seq given
    assert set(pos.column("frame_seq").to_pylist()) == {-1}
    assert set(pos.column("pair_frame_seq").to_pylist()) == {-1}
    # a lone frame (its partner over 10 s old) decoded against the aircraft's position: no pair
    lone = tr.update(
        _table([encode_airborne_position("48520a", LAT + 0.003, LON, 30000, True)], [112.0]),
        seq=np.array([5], np.int64),
    )
    assert lone.column("reference").to_pylist() == ["aircraft"]
    assert lone.column("frame_seq").to_pylist() == [5]
    assert lone.column("pair_frame_seq").to_pylist() == [-1]
    fix = tr.update_mlat(["48520a"], [150.0], [LAT + 0.01], [LON], None, [80.0], frame_seq=[4242])
    assert fix.column("source").to_pylist() == ["mlat"]
    assert fix.column("frame_seq").to_pylist() == [4242]
    assert fix.column("pair_frame_seq").to_pylist() == [-1]
    with pytest.raises(ValueError, match="seq"):
        tr.update(_table(frames, times), seq=np.array([1, 2], np.int64))
