"""TickClock on the real counter of a dump1090 capture: time records keep a live feed on their
own timescale (no flip-flop with the wall clock); resets and far records still re-anchor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from overflight.frames import FrameBatch
from overflight.sources.beast import (
    MLAT_TICKS,
    TICKS_PER_S,
    encode_beast,
    encode_gps_ticks,
    parse_beast,
)
from overflight.sources.clock import TickClock
from overflight.sources.files import read_batches

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
T_REC = 1_720_248_189.525094  # 2024-07-06 06:43:09 UTC: what the feed's time records say
T_WALL = 1_795_000_000.0  # 2026-11: when the frames arrive
LATENCY_S = 0.05


@pytest.fixture(scope="module")
def ticks(shared: Callable[[str], Path]) -> npt.NDArray[np.int64]:
    """The real 12 MHz counter of the capture's 239 frames (23.9 s, never backwards)."""
    fb = parse_beast(shared(SAMPLE).read_bytes(), final=True).frames
    return fb.ticks.astype(np.int64)


def _truth(ticks: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return T_REC + (ticks - ticks[0]) / TICKS_PER_S


def _records(truth: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A time record before the first frame of every second (as the simulator writes them)."""
    sec = np.floor(truth - truth[0])
    first = np.ones(truth.size, bool)
    first[1:] = sec[1:] != sec[:-1]
    return np.where(first, truth, np.nan)


def _live_chunks(n: int, size: int = 7) -> Iterator[slice]:
    for a in range(0, n, size):
        yield slice(a, min(a + size, n))


def _play_live(
    clock: TickClock,
    ticks: npt.NDArray[np.int64],
    known: npt.NDArray[np.float64],
    elapsed_s: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Chunks of 7 frames arriving in real time (LATENCY_S after their last frame, received
    ``elapsed_s`` after the first), years after the time the records carry."""
    out = np.empty(ticks.size)
    for s in _live_chunks(ticks.size):
        arrival = T_WALL + elapsed_s[s.stop - 1] + LATENCY_S
        out[s] = clock.times(ticks[s].astype(np.uint64), arrival_s=arrival, known_time_s=known[s])
    return out


def test_live_records_years_away_keep_their_timescale(ticks: npt.NDArray[np.int64]) -> None:
    truth = _truth(ticks)
    known = _records(truth)
    assert np.isnan(known[1:8]).all() and np.isfinite(known).sum() >= 20
    clock = TickClock()
    got = _play_live(clock, ticks, known, truth - T_REC)
    assert np.abs(got - truth).max() < 1e-6  # 2024 throughout, never the arrival (2026)
    assert np.all(np.diff(got) >= 0)
    st = clock.stats
    assert st.anchors == 1 and st.drift == 0 and st.far_records == 0
    assert st.records == int(np.isfinite(known).sum())
    assert abs(clock.offset_s - (T_REC - T_WALL - LATENCY_S)) < 1e-6


def test_counter_reset_reanchors_once_on_the_records_timescale(
    ticks: npt.NDArray[np.int64],
) -> None:
    """The receiver restarts at frame 150 (its counter starts again near 0): one re-anchor on
    the records' timescale, and the next record agrees with it."""
    truth = _truth(ticks)
    known = _records(truth)
    cut = 150
    assert np.isnan(known[cut])
    reset = ticks.copy()
    reset[cut:] = ticks[cut:] - ticks[cut] + 5_000
    clock = TickClock()
    got = _play_live(clock, reset, known, truth - T_REC)
    st = clock.stats
    assert st.anchors == 2 and st.backwards == 1 and st.drift == 0 and st.far_records == 0
    assert np.all(np.diff(got) >= 0)
    # The chunk holding the reset is anchored on its arrival on the records' timescale: exact
    # here, as the latency is constant; the frames before the reset in that chunk are held.
    assert np.abs(got - truth)[cut:].max() < 1e-6
    assert np.abs(got - truth)[:cut].max() < 1e-6


def test_record_far_from_the_anchor_reanchors(ticks: npt.NDArray[np.int64]) -> None:
    """Two recordings back to back (an hour apart, same counter): one far record, counted."""
    elapsed = _truth(ticks) - T_REC
    truth = _truth(ticks)
    truth[120:] += 3600.0
    known = _records(truth)
    known[120] = truth[120]
    clock = TickClock()
    got = _play_live(clock, ticks, known, elapsed)
    st = clock.stats
    assert st.anchors == 2 and st.far_records == 1 and st.drift == 0
    assert np.abs(got - truth).max() < 1e-6


def test_file_records_refresh_without_reanchoring(ticks: npt.NDArray[np.int64]) -> None:
    truth = _truth(ticks)
    known = _records(truth)
    clock = TickClock()
    got = np.concatenate([
        clock.times(ticks[s].astype(np.uint64), known_time_s=known[s])
        for s in _live_chunks(ticks.size, 50)
    ])
    assert np.abs(got - truth).max() < 1e-6
    assert clock.stats.anchors == 1 and clock.stats.records == int(np.isfinite(known).sum())


def test_feed_without_records_still_follows_arrival(ticks: npt.NDArray[np.int64]) -> None:
    """No records: dated by arrival, and re-anchored when the counter drifts from it (here the
    connection stalls 30 s and delivers the rest at once, late)."""
    truth = _truth(ticks)
    nothing = np.full(ticks.size, np.nan)
    clock = TickClock()
    got = _play_live(clock, ticks[:100], nothing[:100], truth[:100] - T_REC)
    wall = truth - T_REC + T_WALL
    assert np.abs(got - wall[:100]).max() < LATENCY_S + 1e-6
    late = wall[-1] + 30.0
    rest = clock.times(ticks[100:].astype(np.uint64), arrival_s=late)
    assert clock.stats.anchors == 2 and clock.stats.drift == 1 and clock.offset_s == 0.0
    assert rest[-1] == late and np.all(np.diff(rest) >= 0)


def test_mlat_marker_frames_stay_on_the_records_timescale(ticks: npt.NDArray[np.int64]) -> None:
    truth = _truth(ticks)
    clock = TickClock()
    first = clock.times(
        ticks[:5].astype(np.uint64), arrival_s=T_WALL, known_time_s=[truth[0], *[np.nan] * 4]
    )
    assert np.abs(first - truth[:5]).max() < 1e-6
    t = np.array([ticks[5], MLAT_TICKS, ticks[6]], np.uint64)
    arrival = T_WALL + (truth[6] - truth[4])
    got = clock.times(t, arrival_s=arrival)
    assert abs(got[0] - truth[5]) < 1e-6 and abs(got[2] - truth[6]) < 1e-6
    assert abs(got[1] - (arrival + clock.offset_s)) < 1e-9 and got[1] < T_WALL - 1e7


# --- GPS (Radarcape) timestamps ------------------------------------------------------------
# The real messages of a CDG->Toulouse flight (57,793 frames over 4,778 s, epoch-µs
# timestamps), put on the GPS layout mlat-client reads for a Radarcape in GPS mode
# (modes_reader.c: second of day << 30 | nanoseconds), or on a 12 MHz counter.

FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"


@pytest.fixture(scope="module")
def flight(shared: Callable[[str], Path]) -> FrameBatch:
    """The flight's frames (short replies cut to 7 bytes) with their recorded times."""
    import gzip
    import json

    with gzip.open(shared(FULL_FLIGHT), "rt") as f:
        rows = [json.loads(line) for line in f]
    hexes = [r["frame"][:14] if int(r["frame"][:2], 16) < 0x80 else r["frame"] for r in rows]
    t = np.array([r["timestamp"] for r in rows], np.float64)
    return FrameBatch.from_bytes([bytes.fromhex(h) for h in hexes], time_s=t)


def _with_ticks(fb: FrameBatch, ticks: npt.NDArray[np.uint64], shift_s: float = 0.0) -> FrameBatch:
    return FrameBatch(
        fb.data, fb.length_bytes, fb.time_s + shift_s, fb.receiver, fb.signal_dbfs, ticks
    )


def test_a_file_of_gps_timestamps_is_detected_and_dated(flight: FrameBatch, tmp_path: Path) -> None:
    """No status record, no time record: the layout is found from the counter in the first
    read; the time of day is exact, the date that of ``start_time_s``."""
    gps = _with_ticks(flight, encode_gps_ticks(flight.time_s))
    path = tmp_path / "radarcape.beast"
    path.write_bytes(encode_beast(gps))
    got = FrameBatch.concat(list(read_batches(path)))  # start_time_s unknown: 1970-01-01
    assert len(got) == len(flight)
    assert np.abs(got.time_s - np.mod(flight.time_s, 86_400.0)).max() < 1e-6
    day = float(np.floor(flight.time_s[0] / 86_400) * 86_400)
    got = FrameBatch.concat(list(read_batches(path, start_time_s=day + 3_600.0)))
    assert np.abs(got.time_s - flight.time_s).max() < 1e-6


def test_gps_feed_across_midnight_with_time_records(flight: FrameBatch) -> None:
    """The flight moved to end 30 min after midnight; chunks of 500 frames, a time record
    every 100 frames (about 8 s): detected in the first chunk, the next day starts at the
    rollover, every time exact."""
    shift = np.ceil(flight.time_s[-1] / 86_400) * 86_400 - flight.time_s[-1] + 1_800.0
    t = flight.time_s + shift
    ticks = encode_gps_ticks(t)
    known = np.full(t.size, np.nan)
    known[::100] = t[::100]
    clock = TickClock()
    out = np.concatenate([
        clock.times(ticks[a : a + 500], known_time_s=known[a : a + 500])
        for a in range(0, t.size, 500)
    ])
    assert clock.layout == "gps"
    assert np.abs(out - t).max() < 1e-6
    assert clock.stats.gps_days == 2  # the first date, then midnight


def test_live_gps_feed_keeps_gps_time(flight: FrameBatch) -> None:
    """Live, chunks of 20 frames (about 15 s here) arriving 50 ms after their last frame:
    detected once the arrivals span ``detect_ref_s`` (the second chunk); from then on the GPS
    time is taken as sent. Before, the counter is read as 12 MHz, held to the arrival time."""
    n = 4_000
    t = flight.time_s[:n]
    ticks = encode_gps_ticks(t)
    clock = TickClock()
    out = np.empty(n)
    for a in range(0, n, 20):
        s = slice(a, min(a + 20, n))
        out[s] = clock.times(ticks[s], arrival_s=float(t[s.stop - 1]) + 0.05)
    assert clock.layout == "gps" and clock.stats.layout_changes == 1
    assert np.abs(out[20:] - t[20:]).max() < 1e-6
    assert np.all(out[:20] <= t[19] + 0.05 + 1e-6)


def test_twelve_mhz_counters_are_never_read_as_gps(
    flight: FrameBatch, ticks: npt.NDArray[np.int64]
) -> None:
    """The real dump1090 counter (23.9 s) stays a 12 MHz counter, its times unchanged; the
    flight's 57,793 messages on a 12 MHz counter are found to be one at once."""
    auto, fixed = TickClock(), TickClock(gps=False)
    assert np.array_equal(auto.times(ticks.astype(np.uint64)),
                          fixed.times(ticks.astype(np.uint64)))
    assert auto.layout in ("detecting", "counter")
    for start in (12_345, 1 << 40, 86_399 << 30):  # (0 would be the "no counter" marker)
        ctr = (start + np.rint((flight.time_s - flight.time_s[0]) * TICKS_PER_S)).astype(np.uint64)
        clock = TickClock()
        out = np.concatenate([clock.times(ctr[a : a + 5_000]) for a in range(0, ctr.size, 5_000)])
        assert clock.layout == "counter" and clock.stats.layout_changes == 0
        assert np.abs(out - (flight.time_s - flight.time_s[0])).max() < 1e-6


def _status_record(settings: int, gps_status: int) -> bytes:
    """A Radarcape status record (Beast type '4'): settings, PPS delta, GPS status."""
    payload = bytes([settings, 0, gps_status]) + bytes(11)
    return b"\x1a\x34" + bytes(7) + payload


def test_status_record_sets_the_layout_and_old_firmware_second(flight: FrameBatch) -> None:
    """Settings bit 0x10 = GPS timestamps; GPS status without bit 0x80 is firmware whose second
    is one ahead of UTC (mlat-client corrects it the same way). 50 frames suffice."""
    t = flight.time_s[:50]
    for gps_status, ahead in ((0x80 | 0x1F, 0.0), (0x1F, 1.0)):
        data = _status_record(0x10 | 0x01, gps_status) + encode_beast(
            _with_ticks(flight.take(np.arange(50)), encode_gps_ticks(t + ahead))
        )
        chunk = parse_beast(data, final=True)
        assert chunk.status is not None and chunk.status.gps_timestamps
        assert chunk.status.utc == (ahead == 0.0) and chunk.status.synchronised
        clock = TickClock()
        clock.apply_status(chunk.status)
        got = clock.times(chunk.frames.ticks, known_time_s=np.r_[t[0], np.full(49, np.nan)])
        assert clock.layout == "gps"
        assert np.abs(got - t).max() < 1e-6
    chunk = parse_beast(_status_record(0x01, 0x80), final=True)  # 12 MHz mode
    assert chunk.status is not None and not chunk.status.gps_timestamps
    clock = TickClock()
    clock.apply_status(chunk.status)
    assert clock.layout == "counter"


def test_file_reader_follows_the_status_record(flight: FrameBatch, tmp_path: Path) -> None:
    """50 frames over a few seconds are too few to tell GPS time from a counter by the data
    alone; a status record at the head of the file settles it, so read_batches dates them
    exactly (seconds of day + nanoseconds on the day of start_time_s)."""
    t = flight.time_s[:50]
    frames = encode_beast(_with_ticks(flight.take(np.arange(50)), encode_gps_ticks(t)))
    day = float(np.floor(t[0] / 86_400.0) * 86_400.0)
    path = tmp_path / "radarcape.bin"
    path.write_bytes(frames)
    plain = FrameBatch.concat(list(read_batches(path, start_time_s=day)))
    assert np.abs(plain.time_s - t).max() > 1.0  # read as a 12 MHz counter: wrong
    path.write_bytes(_status_record(0x10 | 0x01, 0x80 | 0x1F) + frames)
    got = FrameBatch.concat(list(read_batches(path, start_time_s=day)))
    assert np.abs(got.time_s - t).max() < 1e-6


def test_a_status_record_applies_to_its_own_receiver_only(
    flight: FrameBatch, tmp_path: Path
) -> None:
    """A merged feed (0xe3 receiver ids): receiver 7 is a Radarcape in GPS mode and says so,
    receiver 9 is a 12 MHz Beast. Each is dated by its own layout."""
    idx = np.arange(50)
    t = flight.time_s[:50]
    a = flight.take(idx)
    a = FrameBatch(
        a.data, a.length_bytes, t, np.full(50, 7, np.uint64), a.signal_dbfs, encode_gps_ticks(t)
    )
    b = flight.take(idx)
    counter = np.rint((t - t[0]) * 12e6).astype(np.uint64) + np.uint64(5_000_000)
    b = FrameBatch(b.data, b.length_bytes, t, np.full(50, 9, np.uint64), b.signal_dbfs, counter)
    ea = encode_beast(a, receiver_ids=True)
    assert ea[:2] == b"\x1a\xe3"
    ea = ea[:10] + _status_record(0x10 | 0x01, 0x80 | 0x1F) + ea[10:]
    eb = encode_beast(b, receiver_ids=True, time_records=np.r_[True, np.zeros(49, bool)])
    day = float(np.floor(t[0] / 86_400.0) * 86_400.0)
    path = tmp_path / "merged.bin"
    path.write_bytes(ea + eb)
    got = FrameBatch.concat(list(read_batches(path, start_time_s=day)))
    assert len(got) == 100
    for rid in (7, 9):
        sel = got.receiver == rid
        assert np.abs(got.time_s[sel] - t).max() < 1e-6, rid


def test_a_gps_file_read_in_small_pieces_is_dated_from_its_first_frame(
    flight: FrameBatch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No status record, no time record, read 4 KiB at a time (a pipe): the reader holds the
    frames until the counter is known to be GPS time, so none is dated as a 12 MHz counter
    (before, most of the first minute was off by up to an hour, then time ran backwards)."""
    import overflight.sources.files as files

    monkeypatch.setattr(files, "_READ_SIZE", 4096)
    n = 1_200
    day = float(np.floor(flight.time_s[0] / 86_400.0) * 86_400.0)
    t = day + 600.0 + np.arange(n) / 20.0  # 20 frames/s from 00:10 UTC
    fb = _with_ticks(flight.take(np.arange(n)), encode_gps_ticks(t))
    path = tmp_path / "radarcape.bin"
    path.write_bytes(encode_beast(fb))
    got = FrameBatch.concat(list(read_batches(path, start_time_s=day)))
    assert len(got) == n
    assert np.abs(got.time_s - t).max() < 1e-6
