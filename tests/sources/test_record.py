"""Recording: rotating Beast files with receiver ids and absolute times, read back exactly."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from overflight.frames import FrameBatch
from overflight.sources.beast import MLAT_TICKS, parse_beast
from overflight.sources.clock import TickClock
from overflight.sources.files import read_batches
from overflight.sources.record import BeastRecorder

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
T0 = 1_720_248_189.525094  # 2024-07-06 06:43:09 UTC


def _read_all(paths: list[Path]) -> FrameBatch:
    return FrameBatch.concat([b for p in paths for b in read_batches(p)])


def test_recording_keeps_receivers_ticks_and_absolute_times(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    b = parse_beast(shared(SAMPLE).read_bytes(), final=True).frames
    clock = TickClock(start_time_s=T0)
    times = clock.times(b.ticks)
    # two receivers interleaved, as a live hub delivers them
    rx = np.where(np.arange(len(b)) % 3 == 0, 0x1A1A_0000_0000_0001, 42).astype(np.uint64)
    live = FrameBatch(b.data, b.length_bytes, times, rx, b.signal_dbfs, b.ticks)
    now = [T0]
    rec = BeastRecorder(tmp_path, max_bytes=2000, clock=lambda: now[0])
    for s in range(0, len(live), 40):
        rec(live.take(np.arange(s, min(s + 40, len(live)))))
        now[0] += 600  # 10 minutes later: crosses an hour boundary too
    rec.close()
    assert len(rec.files) >= 3
    got = _read_all(rec.files)
    assert np.array_equal(got.data, live.data)
    assert np.array_equal(got.ticks, live.ticks)
    assert np.array_equal(got.receiver, live.receiver)
    assert np.allclose(got.time_s, live.time_s, atol=2e-6, rtol=0)
    r = read_batches(rec.files[0])
    list(r)
    assert r.stats.absolute_time and r.stats.beast.time_records > 0


def test_clock_backwards_counter_and_mlat_marker_keep_order() -> None:
    clock = TickClock(start_time_s=100.0)
    ticks = np.array([12_000_000, 24_000_000, 6_000_000, MLAT_TICKS, 18_000_000], np.uint64)
    t = clock.times(ticks)
    assert t.tolist() == [100.0, 101.0, 101.0, 101.0, 102.0]
    assert clock.stats.backwards == 1 and clock.stats.synthetic == 1
    live = TickClock()
    a = live.times(np.array([1000, 13_000], np.uint64), arrival_s=T0)
    assert a[1] == T0 and abs(a[0] - (T0 - 1e-3)) < 1e-9  # the last frame arrived just now
    c = live.times(np.array([12_013_000, 12_025_000], np.uint64), arrival_s=T0 + 1.01)
    assert abs(c[0] - (T0 + 1)) < 1e-6 and abs(c[1] - (T0 + 1.001)) < 1e-6
    # counter reset after a receiver restart: re-anchored on arrival
    b = live.times(np.array([5, 12_000_005], np.uint64), arrival_s=T0 + 60)
    assert b.tolist() == [T0 + 59, T0 + 60]
    assert live.stats.backwards == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_replay_then_record(shared: Callable[[str], Path], tmp_path: Path) -> None:
    sample = shared(SAMPLE)
    port = _free_port()
    exe = [sys.executable, "-m", "overflight"]
    player = subprocess.Popen(
        [*exe, "replay", str(sample), "--to", f"127.0.0.1:{port}", "--speed", "max"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        t_start = time.time()
        out = subprocess.run(
            [*exe, "record", "--connect", f"127.0.0.1:{port}", "--out", str(tmp_path),
             "--duration-s", "4"],
            capture_output=True, timeout=60, check=True,
        )
        assert b"recorded 239 frames" in out.stderr
    finally:
        player.kill()
        player.wait(10)
    files = sorted(tmp_path.glob("*.beast"))
    got = _read_all(files)
    want = parse_beast(sample.read_bytes(), final=True).frames
    assert np.array_equal(got.data, want.data) and np.array_equal(got.ticks, want.ticks)
    # absolute times anchored on arrival (never in the future), spaced by the 12 MHz counter:
    # (a max-speed burst of 23.9 s of counter may reach back before the replay started)
    assert got.time_s[-1] <= time.time() and got.time_s[-1] > t_start
    assert got.time_s[0] > t_start - 30
    assert 0 < got.time_s[-1] - got.time_s[0] < 23.917155 + 1e-3
    assert np.all(np.diff(got.time_s) >= 0)
