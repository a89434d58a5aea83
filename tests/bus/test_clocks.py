"""Clock synchronisation shared between shards: the clock-sync worker over every shard's
reference frames, its clock models on ``overflight.clocks``, and shard workers solving with
them. A simulated window of caracas-2019 at SVMI, where the Il-62 (1551e0) has ADS-B off and
only MLAT places it, while the An-124 (154073) with ADS-B is the clock reference: with 2
shards they fall in different shards, so the Il-62's shard has no reference of its own once
its ADS-B is off (14:35Z)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from overflight.bus import subjects as subj
from overflight.bus.clocks import (
    ClockBoard,
    ClockDelta,
    ClockSyncRunner,
    PairRow,
    delta_parts,
    deltas_from_parts,
    sync_rows,
)
from overflight.bus.codec import pack, shard_of, unpack
from overflight.bus.publish import FramePublisher
from overflight.bus.worker import ShardRunner, WorkerStats, make_station_factory
from overflight.cli import app
from overflight.frames import FrameBatch
from overflight.mlat import ReceiverRegistry
from overflight.sources.files import read_batches
from overflight.station import Station, StationConfig
from overflight.station.updates import Frames

SHARDS = 2
IL62 = 0x1551E0
AN124 = 0x154073
BATCH_FRAMES = 2000


class Window:
    """The simulated frames in batches, the receivers table, and the single station's fixes."""

    def __init__(self, out: Path) -> None:
        self.receivers = out / "receivers.csv"
        whole = FrameBatch.concat([b for p in sorted(out.glob("*.beast"))
                                   for b in read_batches(p)])
        self.batches = [whole.take(np.arange(i, min(i + BATCH_FRAMES, len(whole))))
                        for i in range(0, len(whole), BATCH_FRAMES)]
        st = Station(StationConfig(receivers_csv=self.receivers, identify=False, flights=False))
        fixes: list[pa.Table] = []
        st.subscribe(lambda u: fixes.append(u.table) if u.name == "fixes" else None,
                     inline=True)
        for b in self.batches:
            st.process(b)
        st.finish()
        self.fixes = accepted(pa.concat_tables(fixes))


def accepted(t: pa.Table) -> pa.Table:
    return t.filter(pa.compute.equal(t["accepted"], True))


@pytest.fixture(scope="module")
def window(tmp_path_factory: pytest.TempPathFactory) -> Window:
    out = tmp_path_factory.mktemp("svmi-clocks")
    r = CliRunner().invoke(app, ["sim", "caracas-2019", "--out", str(out), "--from",
                                 "2019-03-23T14:33Z", "--to", "2019-03-23T14:45Z",
                                 "--background", "0"])
    assert r.exit_code == 0, r.output
    return Window(out)


def compare(ref: pa.Table, got: pa.Table, address: int) -> tuple[int, int, np.ndarray]:
    """(reference fixes, fixes got, distances m of the got fixes at the reference fixes'
    times, within 5 ms) for one aircraft."""
    rs = ref.filter(pa.compute.equal(ref["address"], address))
    gs = got.filter(pa.compute.equal(got["address"], address))
    if rs.num_rows == 0 or gs.num_rows == 0:
        return rs.num_rows, gs.num_rows, np.zeros(0)
    rt = np.asarray(rs["time_s"])
    order = np.argsort(np.asarray(gs["time_s"]))
    gt = np.asarray(gs["time_s"])[order]
    j = np.searchsorted(gt, rt).clip(1, max(1, gt.size - 1))
    j = np.where(np.abs(gt[j - 1] - rt) <= np.abs(gt[np.minimum(j, gt.size - 1)] - rt), j - 1,
                 np.minimum(j, gt.size - 1))
    hit = np.abs(gt[j] - rt) < 0.005
    lat1, lon1 = np.asarray(rs["lat_deg"])[hit], np.asarray(rs["lon_deg"])[hit]
    lat2 = np.asarray(gs["lat_deg"])[order][j[hit]]
    lon2 = np.asarray(gs["lon_deg"])[order][j[hit]]
    d = np.hypot(lat1 - lat2, (lon1 - lon2) * np.cos(np.radians(lat1))) * 111_195.0
    return rs.num_rows, gs.num_rows, d


# ---------------------------------------------------------------------- pieces
def test_a_delta_survives_the_bus_encoding() -> None:
    d = ClockDelta(
        upto_s=1553351700.25, final=False,
        pairs=(PairRow(3201, 3202, 8.5e-8, -1.0512, -1.04e-5, 1e-16, 1e-20, 1e-24, 776.6, 176,
                       2),),
        bases=((3201, 3406229447696, 12e6), (-1, 172598664704049, 1e9)),
        biases_s=((3205, 2.5e-8),), roots=(-1, 3201), references=964)
    (back,) = deltas_from_parts(unpack(pack(delta_parts(d))))
    assert back == d
    end = ClockDelta(upto_s=1553352300.0, final=True, pairs=(), bases=(), biases_s=(),
                     roots=(), references=964)
    assert deltas_from_parts(unpack(pack(delta_parts(d) + delta_parts(end)))) == [d, end]


def test_a_malformed_clocks_message_is_counted_not_raised() -> None:
    board = ClockBoard(wait_s=0.0)
    board.apply_message(1, 0, 1, b"\x00\x00\x00\x05nope!")
    bad_meta = pack([("meta", pa.table({"upto_s": [1.0]}))])  # no 'final' column
    board.apply_message(2, 0, 1, bad_meta)
    assert board.malformed == 2 and board.received == 0
    good = pack(delta_parts(ClockDelta(5.0, False, (), (), (), (), 0)))
    board.apply_message(3, 0, 1, good)
    board.apply_message(3, 0, 1, good)  # delivered again: skipped
    assert board.received == 1


def test_a_malformed_sync_message_is_dropped_and_counted(window: Window) -> None:
    from overflight.bus.codec import table_to_ipc

    stats = WorkerStats()
    runner = ClockSyncRunner(ReceiverRegistry.from_csv(window.receivers), stats)
    assert runner.handle(b"\xff" * 40, {}, 1) is None
    assert runner.handle(table_to_ipc(pa.table({"raw": [b"x"]})), {}, 2) is None
    assert runner.handle(table_to_ipc(pa.table({"raw": [b"x"]})), {subj.H_CHUNK: "7/2"},
                         3) is None
    assert stats.malformed == 3 and stats.frames == 0


def test_sync_rows_are_the_adsb_airborne_positions(window: Window) -> None:
    from overflight.modes import decode_batch

    b = FrameBatch.concat(window.batches)
    rows = sync_rows(b.data, b.length_bytes)
    t = decode_batch(b, columns=("df", "typecode"))
    df = np.asarray(t["df"].fill_null(0))
    tc = np.asarray(t["typecode"].fill_null(0))
    want = np.flatnonzero(np.isin(df, (17, 18)) & (tc >= 9) & (tc <= 18))
    assert rows.tolist() == want.tolist()
    assert 0 < rows.size < 0.5 * len(b)  # the references are a fraction of the traffic
    assert sync_rows(np.zeros((0, 14), np.uint8), np.zeros(0, np.uint8)).size == 0


# ---------------------------------------------------------------------- in one process
def _publish(window: Window) -> tuple[list[list[tuple[str, bytes, dict[str, str]]]], float]:
    """What an ingest node publishes for the window (messages per batch), and its end time."""
    loop = asyncio.new_event_loop()  # never run: messages() only builds the bodies
    try:
        pub = FramePublisher(None, loop, shards=SHARDS, run_id="w")
        msgs, seq = [], 0
        for b in window.batches:
            msgs.append(pub.messages(Frames(b, seq)))
            seq += len(b)
    finally:
        loop.close()
    return msgs, pub.newest_s


def _run_shards(window: Window, msgs: list[Any], end_s: float, board: ClockBoard | None
                ) -> pa.Table:
    """Both shards' runners over their messages (as workers would), their fixes."""
    factory = make_station_factory(receivers_csv=window.receivers, identify=False,
                                   flights=False, clocks=board)
    stats = WorkerStats()
    runners = [ShardRunner(k, factory, stats) for k in range(SHARDS)]  # views first
    got: list[pa.Table] = []
    end = {"Overflight-End": "w", subj.H_NOW: repr(end_s)}
    for r in runners:
        n = 0
        for batch_msgs in msgs:
            for subject, body, headers in batch_msgs:
                if subject == r.in_subject:
                    n += 1
                    got += [t for k, t in r.handle(body, headers, n) or () if k == "fixes"]
        got += [t for k, t in r.handle(b"", end, n + 1) or () if k == "fixes"]
    return accepted(pa.concat_tables(got))


def test_the_two_aircraft_are_in_different_shards() -> None:
    assert shard_of([IL62, AN124], SHARDS).tolist() == [1, 0]


def test_shards_solving_with_the_published_clocks_match_the_single_station(
        window: Window) -> None:
    msgs, end_s = _publish(window)
    stats = WorkerStats()
    sync = ClockSyncRunner(ReceiverRegistry.from_csv(window.receivers), stats)
    board = ClockBoard(wait_s=0.0)
    n = 0
    for batch_msgs in msgs:
        for subject, body, headers in batch_msgs:
            if subject == subj.SYNC_SUBJECT:
                n += 1
                board.add(deltas_from_parts(sync.handle(body, headers, n) or []))
    board.add(deltas_from_parts(sync.handle(b"", {"Overflight-End": "w",
                                                  subj.H_NOW: repr(end_s)}, n + 1) or []))
    # the clock-sync worker saw a fraction of the frames and every reference
    assert stats.frames < 0.3 * sum(len(b) for b in window.batches)
    assert sync.feed.engine.stats.references > 500
    got = _run_shards(window, msgs, end_s, board)

    n_ref, n_got, d = compare(window.fixes, got, IL62)
    assert n_ref > 150  # only MLAT places it for most of the window
    assert n_got >= 0.95 * n_ref
    assert d.size >= 0.9 * n_ref
    assert np.median(d) < 15.0 and np.percentile(d, 90) < 60.0


def test_without_the_clock_sync_worker_the_adsb_off_aircraft_is_lost(window: Window) -> None:
    msgs, end_s = _publish(window)
    got = _run_shards(window, msgs, end_s, None)
    n_ref, n_got, _ = compare(window.fixes, got, IL62)
    # its shard syncs clocks from its own ADS-B until 14:35Z, then has no reference left
    assert n_got < 0.2 * n_ref


# ---------------------------------------------------------------------- over NATS
async def _network(url: str, window: Window, *, clock_sync: bool) -> pa.Table:
    """1 ingest + (the clock-sync worker) + 2 shard workers + 1 API node on a real
    nats-server; the fixes the API node received."""
    from overflight.bus.picture import BusPicture
    from overflight.bus.publish import attach_bus
    from overflight.bus.worker import run_clock_sync, run_worker

    stop = asyncio.Event()
    tasks = []
    if clock_sync:
        tasks.append(asyncio.create_task(run_clock_sync(url, window.receivers, stop=stop)))
    for k in range(SHARDS):
        board = ClockBoard(wait_s=60.0) if clock_sync else None
        factory = make_station_factory(receivers_csv=window.receivers, identify=False,
                                       flights=False, clocks=board)
        tasks.append(asyncio.create_task(run_worker(url, (k,), make_station=factory,
                                                    stop=stop, clocks=board)))
    picture = BusPicture()
    await picture.start(url)
    st = Station(StationConfig(identify=False, flights=False))
    handle = await attach_bus(st, url, shards=SHARDS, block=True)
    try:
        def feed() -> None:
            for b in window.batches:
                st.process(b)
            st.finish()
            st.close()

        await asyncio.to_thread(feed)
        await handle.end()
        await picture.wait_ended(handle.publisher.run_id, SHARDS, timeout_s=300)
        assert handle.publisher.stats.sync_frames > 0
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await handle.close()
        await picture.close()
    return accepted(picture.fixes_table())


def test_over_nats_the_clock_sync_worker_gives_the_single_station_fixes(
        nats_server: Any, window: Window) -> None:
    got = asyncio.run(_network(nats_server.url, window, clock_sync=True))
    n_ref, n_got, d = compare(window.fixes, got, IL62)
    assert n_got >= 0.95 * n_ref and d.size >= 0.9 * n_ref
    assert np.median(d) < 15.0 and np.percentile(d, 90) < 60.0


def test_over_nats_without_the_clock_sync_worker_fixes_are_lost(
        nats_server: Any, window: Window) -> None:
    got = asyncio.run(_network(nats_server.url, window, clock_sync=False))
    n_ref, n_got, _ = compare(window.fixes, got, IL62)
    assert n_got < 0.2 * n_ref


def test_the_cli_clock_sync_worker_and_shard_worker(nats_server: Any, window: Window,
                                                    tmp_path: Path) -> None:
    """``overflight worker --clock-sync`` and ``overflight worker --shared-clocks`` as
    processes (SIGTERM ends them cleanly) give the same fixes."""
    import os
    import signal
    import subprocess
    import sys

    from overflight.bus.picture import BusPicture
    from overflight.bus.publish import attach_bus

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    common = [sys.executable, "-m", "overflight", "worker", "--bus", nats_server.url,
              "--receivers", str(window.receivers), "--no-identify"]
    logs = [tmp_path / "sync.log", tmp_path / "shards.log"]
    with open(logs[0], "wb") as f0, open(logs[1], "wb") as f1:
        procs = [
            subprocess.Popen([*common, "--clock-sync"], stdout=f0, stderr=subprocess.STDOUT,
                             env=env),
            subprocess.Popen([*common, "--shards", f"0-{SHARDS - 1}", "--shared-clocks",
                              "--clock-wait", "120"], stdout=f1, stderr=subprocess.STDOUT,
                             env=env),
        ]

    async def main() -> pa.Table:
        picture = BusPicture()
        await picture.start(nats_server.url)
        st = Station(StationConfig(identify=False, flights=False))
        handle = await attach_bus(st, nats_server.url, shards=SHARDS, block=True)
        try:
            def feed() -> None:
                for b in window.batches:
                    st.process(b)
                st.finish()
                st.close()

            await asyncio.to_thread(feed)
            await handle.end()
            await picture.wait_ended(handle.publisher.run_id, SHARDS, timeout_s=300)
        finally:
            await handle.close()
            await picture.close()
        return accepted(picture.fixes_table())

    try:
        got = asyncio.run(main())
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in procs]
    assert codes == [0, 0], [f.read_text()[-2000:] for f in logs]
    assert "clock messages published" in logs[0].read_text()
    n_ref, n_got, d = compare(window.fixes, got, IL62)
    assert n_got >= 0.95 * n_ref and d.size >= 0.9 * n_ref
    assert np.median(d) < 15.0
