"""1-bit error syndromes and correction tables."""

from __future__ import annotations

import numpy as np

from overflight.modes import crc


def test_syndrome_tables_locate_every_single_bit_error() -> None:
    clean = bytes.fromhex("8D4840D6202CC371C32CE0576098")
    assert crc.syndrome(clean) == 0
    value = int.from_bytes(clean, "big")
    syns, longs = [], []
    for bit in range(5, 112):
        bad = (value ^ (1 << (111 - bit))).to_bytes(14, "big")
        s = crc.syndrome(bad)
        assert crc.error_bit(s, 112) == bit
        syns.append(s)
        longs.append(True)
    short = bytes.fromhex("5D4840D6AB4F1B")  # DF11 (interrogator 0): syndrome is 0
    sv = int.from_bytes(short, "big")
    for bit in range(5, 56):
        s = crc.syndrome((sv ^ (1 << (55 - bit))).to_bytes(7, "big")) ^ crc.syndrome(short)
        assert crc.error_bit(s, 56) == bit
        syns.append(s)
        longs.append(False)
    got = crc.error_bit_batch(np.array(syns, np.uint32), np.array(longs))
    assert got.tolist() == list(range(5, 112)) + list(range(5, 56))
    assert crc.error_bit_batch(np.array([0, 1 << 23], np.uint32), np.array([True, True]))[0] == -1


def test_df_bits_are_never_corrected() -> None:
    assert len(crc.SYNDROME_BIT_112) == 107 and len(crc.SYNDROME_BIT_56) == 51
    assert min(crc.SYNDROME_BIT_112.values()) == 5


def test_position_table_syndromes_equal_the_bytewise_crc() -> None:
    rng = np.random.default_rng(7)
    frames = [bytes(rng.integers(0, 256, 14 if i % 2 else 7, dtype=np.uint8)) for i in range(400)]
    for f in frames:
        assert crc.frame_syndrome(f) == crc.syndrome(f)
    data = np.zeros((len(frames), 14), np.uint8)
    for i, f in enumerate(frames):
        data[i, : len(f)] = np.frombuffer(f, np.uint8)
    lengths = np.array([len(f) for f in frames], np.uint8)
    assert crc.syndrome_batch(data, lengths).tolist() == [crc.syndrome(f) for f in frames]
