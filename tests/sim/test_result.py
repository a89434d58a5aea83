"""Outputs: the aggregated Beast file reads back frame for frame; truth and receiver tables."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from overflight.frames import FrameBatch
from overflight.mlat.receivers import ClockType, ReceiverRegistry
from overflight.sim import SimResult, mlat_demo, simulate
from overflight.sources.beast import signal_byte_to_dbfs
from overflight.sources.files import read_batches


def test_beast_file_reads_back_frame_for_frame(demo: SimResult, tmp_path: Path) -> None:
    path = tmp_path / "demo.beast"
    demo.write_beast(path)
    reader = read_batches(path)
    got = FrameBatch.concat(list(reader))
    want = demo.frames
    assert reader.stats.format == "beast"
    assert reader.stats.malformed == 0 and reader.stats.beast.resyncs == 0
    assert reader.stats.absolute_time
    assert len(got) == len(want)
    assert np.array_equal(got.receiver, want.receiver)
    assert set(np.unique(got.receiver).tolist()) == {r.receiver_id for r in demo.scenario.receivers}
    assert np.array_equal(got.data, want.data)
    assert np.array_equal(got.length_bytes, want.length_bytes)
    assert np.array_equal(got.ticks, want.ticks)
    # Signal goes through the Beast amplitude byte (0.1 dB steps near full scale, ~1 dB at -30).
    assert np.allclose(got.signal_dbfs, want.signal_dbfs, atol=1.1)
    # Times: from the time records (one per receiver per second) continued by the counter,
    # which runs up to 40 ppm fast or slow: well within 100 us of the true arrival.
    assert np.abs(got.time_s - want.time_s).max() < 100e-6
    # Time records: each receiver's first frame and then about once a second.
    n_rx, dur = len(demo.scenario.receivers), demo.scenario.duration_s
    assert reader.stats.beast.time_records == pytest.approx(n_rx * dur, rel=0.05)


def test_arrival_order_and_beast_signal_levels(demo: SimResult) -> None:
    assert (np.diff(demo.frames.time_s) >= 0).all()
    assert (np.diff(demo.receptions.arrival_s) >= 0).all()
    # dBFS -> Beast byte -> dBFS is the parser's own conversion
    from overflight.sources.beast import dbfs_to_signal_byte

    back = signal_byte_to_dbfs(dbfs_to_signal_byte(demo.frames.signal_dbfs))
    assert np.isfinite(back).all()


def test_truth_table_links_every_frame_to_its_transmission(demo: SimResult) -> None:
    table = demo.truth_table()
    assert table.num_rows == len(demo.truth)
    frames_hex = table.column("frame").to_pylist()
    tx = demo.transmission
    for i in range(0, len(demo.frames), 97):
        assert demo.frames.frame_hex(i).lower() == frames_hex[int(tx[i])]
    heard = table.column("receivers").to_numpy()
    assert heard.sum() == len(demo.frames)
    t_ns = table.column("transmit_time_ns").to_numpy()
    t_s = table.column("transmit_time_s").to_numpy()
    assert (np.diff(t_ns) >= 0).all()
    assert np.abs(t_ns / 1e9 - t_s).max() < 1e-6
    # Every frame arrives after it was sent, by distance / c (at most 350 km: 1.2 ms).
    delay = demo.frames.time_s - t_s[tx]
    assert (delay > 0).all() and (delay < 1.2e-3 + 1e-6).all()


def test_receivers_csv_loads_into_the_mlat_registry(tmp_path: Path) -> None:
    from overflight.sim import SimReceiver

    sc = mlat_demo(duration_s=5)
    bad = SimReceiver(2001, 47.7, 8.1, 400.0, name="wrong", position_error_m=(2000.0, 0.0, 0.0))
    res = simulate(sc.with_(receivers=(*sc.receivers, bad)))
    path = tmp_path / "receivers.csv"
    res.write_receivers_csv(path)
    reg = ReceiverRegistry.from_csv(path)
    assert sorted(reg.ids()) == [1001, 1002, 1003, 1004, 1005, 1006, 2001]
    for r in sc.receivers:
        got = reg[r.receiver_id]
        assert got.clock is ClockType.BEAST_12MHZ
        assert (got.lat_deg, got.lon_deg) == pytest.approx((r.lat_deg, r.lon_deg), abs=1e-7)
        assert got.height_m == pytest.approx(r.height_m, abs=1e-3)
    # The misconfigured receiver claims a position 2 km east of its antenna.
    east_m = np.radians(reg[2001].lon_deg - 8.1) * 6_389_500 * np.cos(np.radians(47.7))
    assert reg[2001].lat_deg == pytest.approx(47.7, abs=1e-7)
    assert east_m == pytest.approx(2000.0, rel=2e-3)
    with open(path) as fh:
        names = [row["name"] for row in csv.DictReader(fh)]
    assert names[0] == "zurich" and names[-1] == "wrong"


def test_gps_receivers_read_back_with_nanosecond_times(tmp_path: Path) -> None:
    """1 GHz timestamps are not a 12 MHz counter: every frame carries its own time record."""
    from overflight.sim import GpsClock, SimReceiver

    sc = mlat_demo(duration_s=10)
    rx = tuple(
        SimReceiver(r.receiver_id, r.lat_deg, r.lon_deg, r.height_m, GpsClock(), range_km=350)
        for r in sc.receivers
    )
    res = simulate(sc.with_(receivers=rx))
    path = tmp_path / "gps.beast"
    res.write_beast(path)
    reader = read_batches(path)
    got = FrameBatch.concat(list(reader))
    assert reader.stats.beast.time_records == len(got) == len(res.frames)
    assert np.array_equal(got.ticks, res.frames.ticks)
    assert np.abs(got.time_s - res.frames.time_s).max() < 1e-6
