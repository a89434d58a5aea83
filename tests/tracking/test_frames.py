"""Frames straight to the tracker's inputs (``tracking._frames``) = the table path, exactly.

``FrameDecoder.decode`` must give, for every row that reaches an aircraft, the values that
``address_columns`` and ``ColumnReader.read`` give of the same batch's ``decode_batch`` table
(strings compared as strings: the two intern them in their own order). Checked on real
captures (ADS-B, and the Comm-B samples of pyModeS for DF20/21) and on random frames of every
downlink format and ADS-B type code, with valid parity, single-bit errors, bad lengths and
missing times.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from overflight.frames import FrameBatch
from overflight.jsonout import dumps
from overflight.modes import decode_batch
from overflight.modes.crc import crc24
from overflight.tracking import TRACKER_COLUMNS, Tracker, aircraft_json
from overflight.tracking._columns import (
    AddressColumns,
    ColumnReader,
    Interner,
    MessageColumns,
    address_columns,
)
from overflight.tracking._frames import FrameDecoder


def _compare(batches: list[FrameBatch]) -> dict[str, int]:
    """Rows where each field differs, over ``batches`` decoded by both paths in turn (one
    interner each, as a tracker keeps it across batches)."""
    si, sf = Interner(), Interner()
    reader, decoder = ColumnReader(si), FrameDecoder(sf)
    bad: dict[str, int] = {}

    def text(ids: np.ndarray, strings: Interner) -> np.ndarray:
        return np.array([strings.values[i] if i >= 0 else None for i in ids.tolist()], object)

    for b in batches:
        table = decode_batch(b, columns=TRACKER_COLUMNS)
        ha = address_columns(table)
        ca = reader.read(table, ha)
        got = decoder.decode(b)
        hb, cb = got.head, got.cols
        assert np.array_equal(ha.usable, hb.usable), "rows reaching an aircraft differ"
        u = ha.usable
        pairs: list[tuple[str, Any, Any]] = [
            (f.name, getattr(ha, f.name)[u], getattr(hb, f.name)[u]) for f in fields(AddressColumns)
        ]
        for f in fields(MessageColumns):
            x, y = getattr(ca, f.name)[u], getattr(cb, f.name)[u]
            if f.name in ("callsign", "category", "emergency"):
                x, y = text(x, si), text(y, sf)
            pairs.append((f.name, x, y))
        for name in ("alert", "spi"):  # read by the SBS output only
            col = table.column(name).to_pylist()
            x = np.array([-1 if v is None else int(v) for v in col], np.int8)[u]
            pairs.append((name, x, getattr(got, name)[u]))
        for name, x, y in pairs:
            same = (x == y) | ((x != x) & (y != y)) if x.dtype.kind == "f" else x == y
            if not np.all(same):
                bad[name] = bad.get(name, 0) + int(np.count_nonzero(~same))
    return bad


def _hex_batch(frames: list[str], t0: float = 1.7e9) -> FrameBatch:
    data = [bytes.fromhex(f) for f in frames]
    return FrameBatch.from_bytes(data, time_s=t0 + 0.01 * np.arange(len(data)))


def test_real_flight_matches(shared: Any) -> None:
    path = shared("modes-traffic-samples/full_flight_short.jsonl.gz")
    with gzip.open(path, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    frames = [r["frame"] for r in rows]
    times = np.array([r["timestamp"] for r in rows], np.float64)
    batch = FrameBatch.from_bytes([bytes.fromhex(f) for f in frames], time_s=times)
    parts = [batch.take(np.arange(a, min(a + 4096, len(batch))))
             for a in range(0, len(batch), 4096)]
    assert _compare(parts) == {}


@pytest.mark.parametrize("name", ["sample_data_adsb.csv", "sample_data_commb_df20.csv",
                                  "sample_data_commb_df21.csv"])
def test_pymodes_samples_match(shared: Any, name: str) -> None:
    path = shared(f"modes-pymodes-samples/{name}")
    with path.open() as fh:
        frames = [max(row, key=len).strip() for row in csv.reader(fh) if row]
    frames = [f for f in frames if len(f) == 28 and all(c in "0123456789abcdefABCDEF" for c in f)]
    assert len(frames) > 1000
    assert _compare([_hex_batch(frames)]) == {}


def _with_parity(body: bytes) -> bytes:
    return body + crc24(body).to_bytes(3, "big")


def _random_frames(n: int, seed: int) -> FrameBatch:
    """Every DF and, for DF17/18, every type code and subtype, with random payloads; DF11/17/18
    with valid parity (some with one flipped bit), the rest address/parity; a few bad lengths
    and missing times."""
    rng = np.random.default_rng(seed)
    out: list[bytes] = []
    for _ in range(n):
        df = int(rng.choice([0, 4, 5, 11, 16, 17, 17, 17, 18, 18, 19, 20, 21, 24]))
        long_frame = df >= 16
        body = bytearray(rng.integers(0, 256, 11 if long_frame else 4, dtype=np.uint8).tobytes())
        body[0] = (df << 3) | (body[0] & 7) if df < 24 else 0xC0 | (body[0] & 0x3F)
        if df in (17, 18):
            body[4] = (int(rng.integers(0, 32)) << 3) | (body[4] & 7)  # type code
            body[3] = (body[3] & 0xFF) if rng.random() < 0.3 else body[3] & 0xF0  # addresses
        if df in (11, 17, 18):
            frame = bytearray(_with_parity(bytes(body)))
            if df == 11:
                frame[-1] ^= int(rng.integers(0, 0x80)) if rng.random() < 0.3 else 0
            if rng.random() < 0.15:  # one bit wrong (past the DF): corrected
                bit = int(rng.integers(5, len(frame) * 8))
                frame[bit // 8] ^= 0x80 >> (bit % 8)
            if rng.random() < 0.05:  # beyond repair
                frame[5] ^= 0x11
        else:
            frame = bytearray(body) + bytearray(rng.integers(0, 256, 3, dtype=np.uint8).tobytes())
        if rng.random() < 0.02:
            frame = frame[:5]  # bad length
        elif not long_frame and rng.random() < 0.05:
            frame = frame + bytes(7)  # a short reply written as 14 bytes
        out.append(bytes(frame))
    times = 1.7e9 + np.cumsum(rng.random(n) * 0.01)
    times[rng.random(n) < 0.01] = np.nan
    fb = FrameBatch.from_bytes(out, time_s=times)
    signal = rng.uniform(-40, 0, n).astype(np.float32)
    signal[rng.random(n) < 0.05] = np.nan
    receiver = rng.integers(0, 4, n).astype(np.uint64)
    return FrameBatch(fb.data, fb.length_bytes, fb.time_s, receiver, signal, fb.ticks)


def test_random_frames_match() -> None:
    batches = [_random_frames(6000, seed) for seed in range(4)]
    usable = sum(int(np.count_nonzero(FrameDecoder(Interner()).decode(b).head.usable))
                 for b in batches)
    assert usable > 15_000  # most reach an aircraft: the comparison is not vacuous
    assert _compare(batches) == {}


def test_tracker_update_frames_equals_update(shared: Any) -> None:
    """The whole tracker, both ways, on the real flight: same positions, same aircraft."""
    path = shared("modes-traffic-samples/full_flight_short.jsonl.gz")
    with gzip.open(path, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    batch = FrameBatch.from_bytes([bytes.fromhex(r["frame"]) for r in rows],
                                  time_s=np.array([r["timestamp"] for r in rows], np.float64))
    a, b = Tracker(), Tracker()
    for s in range(0, len(batch), 5000):
        part = batch.take(np.arange(s, min(s + 5000, len(batch))))
        seq = np.arange(s, s + len(part), dtype=np.int64)
        pa_ = a.update(decode_batch(part, columns=TRACKER_COLUMNS), seq=seq)
        pb = b.update_frames(part, seq)
        assert pa_.equals(pb)
        assert np.array_equal(a.last_outcomes, b.last_outcomes)
        assert np.array_equal(a.last_rows, b.last_rows)
    assert a.messages == b.messages > 50_000
    doc = [dumps(aircraft_json(t.all_aircraft(), t.now_s, t.messages, keep_old=True))
           for t in (a, b)]
    assert doc[0] == doc[1]
    assert '"rssi":' in doc[0] and '"track":' in doc[0]
    assert dict(a.dropped) == dict(b.dropped)


def test_signal_survives_the_table(tmp_path: Path) -> None:
    """decode_batch's float32 signal column (it once carried float64 bytes: garbage)."""
    fb = _hex_batch(["8D4840D6202CC371C32CE0576098", "5D4840D6A41B2F"])
    fb = FrameBatch(fb.data, fb.length_bytes, fb.time_s, fb.receiver,
                    np.array([-12.5, np.nan], np.float32), fb.ticks)
    assert decode_batch(fb).column("signal_dbfs").to_pylist() == [-12.5, None]


def test_rssi_is_the_frames_signal(shared: Any) -> None:
    """aircraft.json's rssi is the mean power of the last frames' signal, whichever way the
    frames came in (it read garbage while decode_batch mangled its float32 column)."""
    path = shared("modes-traffic-samples/full_flight_short.jsonl.gz")
    with gzip.open(path, "rt") as fh:
        rows = [json.loads(line) for _, line in zip(range(3000), fh, strict=False)]
    fb = FrameBatch.from_bytes([bytes.fromhex(r["frame"]) for r in rows],
                               time_s=np.array([r["timestamp"] for r in rows], np.float64))
    signal = np.full(len(fb), -12.5, np.float32)
    signal[-4:] = -30.0  # the last 8 frames of the aircraft: 4 at -12.5, 4 at -30 dBFS
    fb = FrameBatch(fb.data, fb.length_bytes, fb.time_s, fb.receiver, signal, fb.ticks)
    want = round(10 * np.log10((4 * 10 ** -1.25 + 4 * 10 ** -3.0) / 8), 1)
    for tr, update in ((Tracker(), "table"), (Tracker(), "frames")):
        if update == "table":
            tr.update(decode_batch(fb, columns=TRACKER_COLUMNS))
        else:
            tr.update_frames(fb)
        doc = json.loads(dumps(aircraft_json(tr.all_aircraft(), tr.now_s, tr.messages)))
        (plane,) = doc["aircraft"]
        assert plane["rssi"] == want, update


def test_compiled_commb_structure_equals_the_columnar_rules(shared: Any) -> None:
    """The Comm-B structure stage compiled from the scalar rules = the columnar one."""
    from overflight.modes.commb import structure_columns
    from overflight.tracking._frames import commb_structure

    words: list[int] = []
    for name in ("sample_data_commb_df20.csv", "sample_data_commb_df21.csv"):
        with shared(f"modes-pymodes-samples/{name}").open() as fh:
            words += [int(f[8:22], 16) for f in (max(r, key=len).strip()
                                                 for r in csv.reader(fh) if r) if len(f) == 28]
    rng = np.random.default_rng(3)
    rand = rng.integers(0, 1 << 56, 40_000, dtype=np.int64)
    rand[:4000] = (rand[:4000] & ((1 << 48) - 1)) | (rng.choice([0x10, 0x20, 0x30], 4000) << 48)
    mb = np.concatenate([np.array(words, np.int64), rand, np.zeros(3, np.int64)])
    want = structure_columns(mb)
    assert np.array_equal(commb_structure(mb), want)
    assert np.count_nonzero(want) > 10_000 and len(np.unique(want)) >= 15  # every register
