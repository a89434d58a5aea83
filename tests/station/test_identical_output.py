"""The fast path gives the same picture as the plain one, bit for bit.

The station (``Station.run_file``: compiled Beast pass, the tracker's columns decoded only) is
checked against a reference built from the plain pieces: frames read with the vectorised Beast
parser only, ``decode_batch`` of every column, ``Tracker.update`` batch after batch. Positions
(every column, every row) and the final state of every aircraft must be identical, on every
real capture of ``modes-traffic-samples`` and on the 20-aircraft tiling of its A321 flight that
``bench/pipeline.py`` measures (1.16 M frames, written as Beast with 12 MHz counters).
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.crc import crc24
from overflight.sources import beast
from overflight.sources.beast import encode_beast
from overflight.sources.files import read_batches
from overflight.station import Positions, Station, StationConfig
from overflight.tracking import Tracker

CAPTURES = (
    "modes-traffic-samples/sample_dump1090.bin",
    "modes-traffic-samples/full_flight_short.jsonl.gz",
)


def _reference(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[pa.Table], Tracker]:
    """Vectorised Beast parser, every column decoded, Tracker.update per batch."""
    with monkeypatch.context() as m:
        m.setattr(beast, "_parse_clean", lambda *a: None)
        batches = list(read_batches(path))
    tr = Tracker()
    out: list[pa.Table] = []
    seq = 0
    for b in batches:
        t = decode_batch(b)
        out.append(tr.update(t, seq=np.arange(seq, seq + len(b), dtype=np.int64)))
        seq += len(b)
    return out, tr


def _station(path: Path) -> tuple[list[pa.Table], Tracker]:
    st = Station(StationConfig(identify=False, flights=False, expire_after_s=math.inf))
    out: list[pa.Table] = []

    def positions(u: Any) -> None:
        if isinstance(u, Positions):
            out.append(u.table)

    st.subscribe(positions, kinds=("positions",), inline=True)
    st.run_file(path)
    st.close()
    return out, st.tracker


def _rows(tables: list[pa.Table]) -> list[str]:
    if not tables:
        return []
    t = pa.concat_tables(tables)
    return [repr(r) for r in t.to_pylist()]  # repr: NaN equals NaN, -0.0 differs from 0.0


def _assert_identical(path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    ref_pos, ref = _reference(path, monkeypatch)
    got_pos, got = _station(path)
    a, b = _rows(ref_pos), _rows(got_pos)
    assert len(a) == len(b)
    assert a == b
    assert [repr(s) for s in ref.all_aircraft()] == [repr(s) for s in got.all_aircraft()]
    assert ref.messages == got.messages
    assert dict(ref.outcomes) == dict(got.outcomes)
    assert dict(ref.dropped) == dict(got.dropped)
    return len(a)


@pytest.mark.parametrize("name", CAPTURES)
def test_real_captures(
    name: str, shared: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_identical(shared(name), monkeypatch)


def _flight(shared: Callable[[str], Path]) -> FrameBatch:
    frames, times = [], []
    with gzip.open(shared("modes-traffic-samples/full_flight_short.jsonl.gz"), "rt") as fh:
        for line in fh:
            r = json.loads(line)
            f = r["frame"]
            frames.append(bytes.fromhex(f[:14] if (int(f[:2], 16) >> 3) < 16 else f))
            times.append(r["timestamp"])
    return FrameBatch.from_bytes(frames, time_s=times)


def tile(batch: FrameBatch, copies: int, time_step_s: float, base: int = 0x393322) -> FrameBatch:
    """``copies`` of the flight, copy k with address base+k*7919, CRC and parity fixed (as
    ``bench/track.py`` builds it), interleaved in time, with 12 MHz counters."""
    n = len(batch)
    df = batch.data[:, 0] >> 3
    data = np.tile(batch.data, (copies, 1))
    k = np.repeat(np.arange(copies, dtype=np.int64), n)
    deltas = ((np.arange(copies) * 7919 + base) & 0xFFFFFF) ^ base
    d3 = np.stack([(deltas >> 16) & 0xFF, (deltas >> 8) & 0xFF, deltas & 0xFF], 1)
    d3 = d3.astype(np.uint8)[k]
    c14 = np.array([crc24(bytes([0, *int(d).to_bytes(3, "big"), *bytes(7)])) for d in deltas])
    c7 = np.array([crc24(bytes([0, *int(d).to_bytes(3, "big")])) for d in deltas])
    dff = np.tile(df, copies)
    clear = (dff == 17) | (dff == 18) | (dff == 11)
    data[clear, 1:4] ^= d3[clear]
    for sel, par, at in (((dff == 17) | (dff == 18), c14, 11), (dff == 11, c7, 4)):
        p = par[k[sel]]
        for j in range(3):
            data[sel, at + j] ^= ((p >> (16 - 8 * j)) & 0xFF).astype(np.uint8)
    lengths = np.tile(batch.length_bytes, copies)
    rows = np.flatnonzero(~clear)
    last = lengths.astype(np.int64) - 3
    for j in range(3):
        data[rows, last[rows] + j] ^= d3[rows, j]
    t = np.tile(batch.time_s, copies) + k * time_step_s
    order = np.argsort(t, kind="stable")
    t = t[order]
    ticks = np.rint((t - t[0]) * 12e6).astype(np.uint64) + np.uint64(12_000_000_000)
    return FrameBatch.from_columns(data[order], lengths[order], ticks=ticks,
                                   signal_dbfs=np.float32(-20.0))


def test_tiled_flight_as_beast(
    shared: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    many = tile(_flight(shared), 20, 0.0137)
    path = tmp_path / "tiled.beast"
    with path.open("wb") as fh:
        for s in range(0, len(many), 65536):
            fh.write(encode_beast(many.take(np.arange(s, min(s + 65536, len(many))))))
    assert len(many) == 1_155_860
    assert _assert_identical(path, monkeypatch) > 100_000
