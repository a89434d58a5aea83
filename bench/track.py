"""Decode + track throughput on real frames, and memory per tracked aircraft.

Real frames of ``full_flight_short`` (one A321, gate to gate) are tiled with shifted addresses
(parity fields fixed so every copy still passes CRC): 20 copies of the whole flight, interleaved
in time (1.16 M messages), and a 40-frame cruise window copied to 50,000 aircraft (2 M messages)
for the memory figure. Decoding builds only ``TRACKER_COLUMNS`` (as the pipeline does); printed
beside the all-column decode, ``decode_batch`` alone and a peer (pyModeS 3 batch decode,
which pairs CPR itself, plus a dict-per-aircraft tracker) measured in the same run.

Run: ``python bench/track.py``
"""

from __future__ import annotations

import gzip
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, best_rate, print_table
from overflight.datapaths import shared_file
from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.crc import crc24
from overflight.tracking import TRACKER_COLUMNS, Tracker


def load_flight() -> tuple[list[str], np.ndarray]:
    path = shared_file("modes-traffic-samples/full_flight_short.jsonl.gz")
    if path is None:
        sys.exit("shared data modes-traffic-samples/full_flight_short.jsonl.gz not found")
    frames, times = [], []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            r = json.loads(line)
            f = r["frame"]
            frames.append(f[:14] if (int(f[:2], 16) >> 3) < 16 else f)
            times.append(r["timestamp"])
    return frames, np.asarray(times)


def tile(batch: FrameBatch, copies: int, time_step_s: float, base: int = 0x393322) -> FrameBatch:
    """``copies`` of the batch, copy k with address base+k*7919 (mod 2^24), CRC/AP fixed."""
    n = len(batch)
    df = batch.data[:, 0] >> 3
    data = np.tile(batch.data, (copies, 1))
    k = np.repeat(np.arange(copies, dtype=np.int64), n)
    new = (base + k * 7919) & 0xFFFFFF
    delta = (new ^ base).astype(np.int64)
    d3 = np.stack([(delta >> 16) & 0xFF, (delta >> 8) & 0xFF, delta & 0xFF], axis=1).astype(
        np.uint8
    )
    dff = np.tile(df, copies)
    # CRC of an address-only difference (CRC is linear over XOR), one per copy
    c14 = np.array(
        [
            crc24(bytes([0, *int(d).to_bytes(3, "big"), 0, 0, 0, 0, 0, 0, 0]))
            for d in (np.arange(copies) * 7919 + base & 0xFFFFFF) ^ base
        ],
        np.int64,
    )
    c7 = np.array(
        [
            crc24(bytes([0, *int(d).to_bytes(3, "big")]))
            for d in (np.arange(copies) * 7919 + base & 0xFFFFFF) ^ base
        ],
        np.int64,
    )
    clear = (dff == 17) | (dff == 18) | (dff == 11)
    data[clear, 1:4] ^= d3[clear]
    long_clear = (dff == 17) | (dff == 18)
    par14 = c14[k[long_clear]]
    data[long_clear, 11] ^= ((par14 >> 16) & 0xFF).astype(np.uint8)
    data[long_clear, 12] ^= ((par14 >> 8) & 0xFF).astype(np.uint8)
    data[long_clear, 13] ^= (par14 & 0xFF).astype(np.uint8)
    df11 = dff == 11
    par7 = c7[k[df11]]
    data[df11, 4] ^= ((par7 >> 16) & 0xFF).astype(np.uint8)
    data[df11, 5] ^= ((par7 >> 8) & 0xFF).astype(np.uint8)
    data[df11, 6] ^= (par7 & 0xFF).astype(np.uint8)
    ap = ~clear
    lengths = np.tile(batch.length_bytes, copies)
    last = lengths.astype(np.int64) - 3
    rows = np.flatnonzero(ap)
    for j in range(3):
        data[rows, last[rows] + j] ^= d3[rows, j]
    t = np.tile(batch.time_s, copies) + k * time_step_s
    order = np.argsort(t, kind="stable")
    return FrameBatch.from_columns(data[order], lengths[order], time_s=t[order])


CHUNK = 65536
"""Frames per batch, as ``sources.files.read_batches`` yields them."""


def chunks(batch: FrameBatch, chunk: int = CHUNK) -> list[FrameBatch]:
    return [
        batch.take(np.arange(s, min(s + chunk, len(batch)))) for s in range(0, len(batch), chunk)
    ]


def decode_and_track(
    parts: list[FrameBatch], columns: tuple[str, ...] | None = TRACKER_COLUMNS
) -> Tracker:
    """As ``pipeline.track_batches`` does it: decode only the tracker's columns, then track."""
    tr = Tracker(receiver_lat_lon=(49.0097, 2.5479))
    for b in parts:
        tr.update(decode_batch(b, columns=columns))
    return tr


def decode_only(parts: list[FrameBatch], columns: tuple[str, ...] | None = None) -> None:
    for b in parts:
        decode_batch(b, columns=columns)


def peer_pymodes(frames: list[str], times: list[float]) -> dict[str, dict[str, object]]:
    import pyModeS as pms  # noqa: N813

    state: dict[str, dict[str, object]] = {}
    for d in pms.decode(frames, timestamps=times):
        icao = d.get("icao")
        if not icao:
            continue
        a = state.setdefault(icao, {"messages": 0})
        a["messages"] = int(a["messages"]) + 1  # type: ignore[call-overload]
        for k in (
            "latitude",
            "longitude",
            "altitude",
            "groundspeed",
            "track",
            "callsign",
            "squawk",
        ):
            if k in d and d[k] is not None:
                a[k] = d[k]
    return state


def main() -> None:
    frames, times = load_flight()
    flight = FrameBatch.from_bytes([bytes.fromhex(f) for f in frames], time_s=times)
    many = tile(flight, 20, 0.0137)
    n = len(many)
    parts = chunks(many)
    # warm up (numba compile / caches)
    decode_and_track(chunks(flight.take(np.arange(5000))))
    tr = decode_and_track(parts)
    pos = sum(int(v) for k, v in tr.outcomes.items() if k in ("global", "local"))
    rows = [
        best_rate(
            "overflight decode_batch(TRACKER_COLUMNS) + Tracker",
            n,
            lambda: decode_and_track(parts),
            repeat=3,
            note=f"{len(tr)} aircraft, {pos:,} positions",
        ),
        best_rate(
            "overflight decode_batch (all columns) + Tracker",
            n,
            lambda: decode_and_track(parts, None),
            repeat=2,
        ),
        best_rate(
            "overflight decode_batch(TRACKER_COLUMNS) only",
            n,
            lambda: decode_only(parts, TRACKER_COLUMNS),
            repeat=3,
        ),
        best_rate(
            "overflight decode_batch (all columns) only", n, lambda: decode_only(parts), repeat=2
        ),
    ]
    tables = [decode_batch(b, columns=TRACKER_COLUMNS) for b in parts]

    def track_only() -> None:
        tr = Tracker((49.0097, 2.5479))
        for t in tables:
            tr.update(t)

    rows.append(
        best_rate("overflight Tracker.update only", n, track_only, repeat=3, note="same batches")
    )
    m = 20000
    sub_f, sub_t = frames[30000 : 30000 + m], list(times[30000 : 30000 + m])
    t0 = time.perf_counter()
    peer_pymodes(sub_f, sub_t)
    rows.append(
        Row("pyModeS 3 decode + dict tracker", m, time.perf_counter() - t0, "20,000-frame slice")
    )
    print_table(
        "decode + track, real frames (full_flight_short x20, shifted addresses)",
        rows,
        baseline="pyModeS 3 decode + dict tracker",
    )

    # memory at 50,000 aircraft: a 40-frame cruise window copied to 50,000 addresses
    window = flight.take(np.arange(30000, 30040))
    fleet = tile(window, 50_000, 1e-5)
    tracemalloc.start()
    t0 = time.perf_counter()
    tr = decode_and_track(chunks(fleet, 200_000))
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    snap_bytes = tr.state_nbytes()
    rows2 = [
        Row(
            "overflight decode_batch(TRACKER_COLUMNS) + Tracker, 50,000 aircraft",
            len(fleet),
            dt,
            f"state {snap_bytes / len(tr):,.0f} B/aircraft; tracemalloc peak {peak / 1e6:,.0f} MB",
        )
    ]
    print_table("50,000 aircraft", rows2)
    print(
        f"aircraft tracked: {len(tr):,}; state table {tr.table.rows.nbytes / 1e6:.1f} MB "
        f"allocated, {snap_bytes / len(tr):,.0f} bytes per aircraft "
        f"(record {tr.table.rows.dtype.itemsize} B + index)"
    )


if __name__ == "__main__":
    main()
