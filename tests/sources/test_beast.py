"""Beast binary: real capture, byte-identical round trips, escapes, extensions, fuzzing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyModeS
from hypothesis import given, settings
from hypothesis import strategies as st

from overflight.frames import FrameBatch
from overflight.sources.beast import (
    MLAT_TICKS,
    BeastParser,
    dbfs_to_signal_byte,
    encode_beast,
    parse_beast,
    signal_byte_to_dbfs,
)

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"


def _sample(shared: Callable[[str], Path]) -> tuple[bytes, FrameBatch]:
    raw = shared(SAMPLE).read_bytes()
    return raw, parse_beast(raw, final=True).frames


def test_real_capture_round_trips_byte_identical(shared: Callable[[str], Path]) -> None:
    raw, batch = _sample(shared)
    assert len(batch) == 239
    assert raw.count(b"\x1a\x1a") > 0  # the capture has escaped bytes
    assert encode_beast(batch) == raw


def test_any_chunking_gives_the_same_frames(shared: Callable[[str], Path]) -> None:
    raw, batch = _sample(shared)
    rng = np.random.default_rng(1)
    for _ in range(20):
        cuts = np.sort(rng.integers(0, len(raw), 30))
        p = BeastParser()
        edges = zip([0, *cuts], [*cuts, len(raw)], strict=True)
        parts = [p.feed(raw[a:b]).frames for a, b in edges]
        parts.append(p.close().frames)
        got = FrameBatch.concat(parts)
        assert np.array_equal(got.data, batch.data)
        assert np.array_equal(got.ticks, batch.ticks)
        assert p.stats.errors == 0 and p.stats.garbage_bytes == 0


def test_escapes_inside_timestamp_signal_and_payload() -> None:
    # A real DF17 (KLM1023 identification) with 0x1a forced into counter, signal and payload.
    frame = bytes.fromhex("8D4840D6202CC371C32CE0576098")
    frames = [frame, bytes.fromhex("8D1A1A1A202CC371C32CE057601A"), frame[:7]]
    batch = FrameBatch.from_bytes(
        [frames[0], frames[1], bytes.fromhex("5D1A1A1A1A1A1A")],
        ticks=np.array([0x1A1A1A1A1A1A, 0x00001A000000, 0x1A], np.uint64),
        signal_dbfs=signal_byte_to_dbfs(np.array([0x1A, 200, 0x1A])),
    )
    wire = encode_beast(batch)
    assert wire.count(b"\x1a") == 3 + 2 * (7 + 5 + 8)  # markers + doubled inner bytes
    back = parse_beast(wire, final=True).frames
    assert np.array_equal(back.data, batch.data)
    assert np.array_equal(back.ticks, batch.ticks)
    assert np.array_equal(dbfs_to_signal_byte(back.signal_dbfs), [0x1A, 200, 0x1A])
    assert encode_beast(back) == wire
    assert pyModeS.decode(FrameBatch.concat([back]).frame_hex(0))["callsign"] == "KLM1023"


def test_signal_levels_round_trip_every_byte() -> None:
    b = np.arange(256)
    d = signal_byte_to_dbfs(b)
    assert np.isnan(d[0]) and d[255] == 0.0
    assert abs(d[128] - 20 * np.log10(128 / 255)) < 1e-5
    assert np.array_equal(dbfs_to_signal_byte(d), b)


def test_receiver_id_and_time_records_heartbeat_mlat_marker() -> None:
    f1 = bytes.fromhex("8D4840D6202CC371C32CE0576098")
    batch = FrameBatch.from_bytes(
        [f1, f1[:7], f1],
        receiver=np.array([0x1A00000000000001, 0x1A00000000000001, 7], np.uint64),
        ticks=np.array([100, 200, MLAT_TICKS], np.uint64),
        time_s=np.array([1_720_248_189.525094, np.nan, 1_720_248_190.0]),
    )
    wire = encode_beast(batch, receiver_ids=True, time_records=True)
    heartbeat = b"\x1a1" + bytes(9)
    ping = b"\x1aP\x01\x02\x03"
    status = b"\x1a4" + bytes(6) + b"\x00" + bytes(14)
    chunk = parse_beast(heartbeat + ping + wire + status, final=True)
    got = chunk.frames
    assert len(got) == 3
    assert got.receiver.tolist() == [0x1A00000000000001, 0x1A00000000000001, 7]
    assert chunk.stats.heartbeats == 1 and chunk.stats.status == 1
    assert chunk.stats.receiver_ids == 2 and chunk.stats.time_records == 2
    assert chunk.stats.mlat_results == 1
    assert chunk.record_time_s[0] == 1_720_248_189.525094
    assert np.isnan(chunk.record_time_s[1]) and chunk.record_time_s[2] == 1_720_248_190.0
    assert chunk.receiver == 7


def test_garbage_and_bad_frames_resync_and_are_counted(shared: Callable[[str], Path]) -> None:
    raw, batch = _sample(shared)
    # Text on the Beast port, a truncated frame, an unknown type, random bytes.
    first = raw[: raw.index(b"\x1a", 1)]
    bad = b"GET / HTTP/1.1\r\n\r\n" + raw[:10] + b"\x1a\x7fxyz" + bytes(range(256))
    chunk = parse_beast(first + bad + raw, final=True)
    assert chunk.stats.bad_frames >= 1 and chunk.stats.resyncs >= 2
    assert chunk.stats.unknown_types >= 1
    got = chunk.frames
    # every real frame survives; garbage may add frames only where it looks like one
    hexes = [got.frame_hex(i) for i in range(len(got))]
    want = [batch.frame_hex(i) for i in range(len(batch))]
    assert hexes[0] == want[0]
    assert hexes[-239:] == want


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 400))
def test_fuzz_never_raises(data: bytes, cut: int) -> None:
    p = BeastParser()
    n = len(p.feed(data[:cut]).frames) + len(p.feed(data[cut:]).frames) + len(p.close().frames)
    assert n <= len(data) // 11 + 1
    assert p.pending_bytes == 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([2, 7, 14]),
            st.binary(min_size=14, max_size=14),
            st.integers(0, (1 << 48) - 1),
            st.integers(1, 255),
        ),
        max_size=30,
    ),
    st.integers(1, 64),
)
def test_round_trip_property(rows: list[tuple[int, bytes, int, int]], step: int) -> None:
    frames = [b[:n] for n, b, _, _ in rows]
    batch = FrameBatch.from_bytes(
        frames, ticks=np.array([r[2] for r in rows], np.uint64),
        signal_dbfs=signal_byte_to_dbfs(np.array([r[3] for r in rows])),
    )
    wire = encode_beast(batch)
    p = BeastParser()
    parts = [p.feed(wire[i : i + step]).frames for i in range(0, len(wire), step)]
    parts.append(p.close().frames)
    got = FrameBatch.concat(parts)
    heartbeat = [(n == 2 and t == 0 and b[:2] == b"\0\0") for n, b, t, _ in rows]
    keep = ~np.array(heartbeat, bool) if rows else np.zeros(0, bool)
    assert len(got) == int(keep.sum())
    assert np.array_equal(got.data, batch.data[keep])
    assert np.array_equal(got.ticks, batch.ticks[keep])
    assert p.stats.errors == 0


def test_gps_timestamps_of_a_radarcape_feed_over_a_real_socket(
    shared: Callable[[str], Path],
) -> None:
    """A Radarcape in GPS mode (second of day << 30 | ns, as mlat-client reads it) pushing the
    real messages of a flight, with a status record and a time record every 100 frames, to an
    ingest port: every frame is dated by its GPS time on the records' date (2024), though it
    arrives now. The parser reads the status record (the ingest does not pass it to the clock
    yet: the clock finds the layout from the records)."""
    import asyncio
    import gzip
    import json

    from overflight.sources.beast import encode_gps_ticks, gps_layout_ok, gps_seconds_of_day
    from overflight.sources.net import FeedHub, serve_ingest

    with gzip.open(shared("modes-traffic-samples/full_flight_short.jsonl.gz"), "rt") as f:
        rows = [json.loads(line) for _, line in zip(range(6000), f, strict=False)]
    frames = [bytes.fromhex(r["frame"][:14] if int(r["frame"][:2], 16) < 0x80 else r["frame"])
              for r in rows]
    t = np.array([r["timestamp"] for r in rows])
    ticks = encode_gps_ticks(t)
    assert gps_layout_ok(ticks).all()
    assert np.abs(gps_seconds_of_day(ticks) - np.mod(t, 86_400)).max() < 1e-6
    fb = FrameBatch.from_bytes(frames, time_s=t, ticks=ticks, receiver=np.full(t.size, 7))
    marks = np.zeros(t.size, bool)
    marks[::100] = True
    status = b"\x1a\x34" + bytes(7) + bytes([0x11, 0, 0x9F]) + bytes(11)  # GPS, UTC, synced
    data = status + encode_beast(fb, receiver_ids=True, time_records=marks)

    async def run() -> FrameBatch:
        hub = FeedHub()
        got: list[FrameBatch] = []
        hub.subscribe(got.append)
        server = await serve_ingest(hub, host="127.0.0.1", port=0)
        port = server.sockets[0].getsockname()[1]
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for a in range(0, len(data), 4096):
                writer.write(data[a : a + 4096])
                await writer.drain()
            for _ in range(500):
                if sum(len(b) for b in got) >= t.size:
                    break
                await asyncio.sleep(0.01)
            writer.close()
        finally:
            server.close()
            await server.wait_closed()
        return FrameBatch.concat(got)

    got = asyncio.run(run())
    assert len(got) == t.size and np.array_equal(got.ticks, ticks)
    # The ingest does not pass status records to the clock yet: the layout is detected from
    # the records, at the latest once they span detect_ref_s (5 s, by frame 100 here).
    assert np.abs(got.time_s[100:] - t[100:]).max() < 1e-6
    assert np.isfinite(got.time_s).all()


def test_a_time_record_cut_from_its_frame_by_a_read_still_dates_it(
    shared: Callable[[str], Path],
) -> None:
    """``0x1a 0xe9`` dates the next frame. A read that ends after the record but before (or
    inside) its frame used to lose the time (the frame was then dated by the arrival clock: a
    replayed 2024 flight got one frame in 2026). Every cut gives the one-shot times."""
    from overflight.sources.beast import BeastParser, encode_beast
    from overflight.sources.files import read_batches

    b = next(iter(read_batches(shared("modes-traffic-samples/full_flight_short.jsonl.gz"),
                               batch_size=120)))
    data = encode_beast(b, time_records=True)
    whole = BeastParser().feed(data, final=True).record_time_s
    assert np.allclose(whole, b.time_s, rtol=0, atol=1e-6)  # microseconds on the wire
    for cut in range(1, 2 * 25):
        p = BeastParser()
        parts = [p.feed(data[:cut]), p.feed(data[cut:]), p.close()]
        got = np.concatenate([c.record_time_s for c in parts])
        assert np.array_equal(got, whole), cut
        assert p.stats.time_records == len(b)
