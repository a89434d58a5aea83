"""Messages per second through the NATS JetStream bus with 1 and 2 workers, against the
in-process station on the same frames, measured in the same run.

    python bench/scaleout.py [CAPTURE] [--seconds 600] [--receivers CSV] [--no-bus]

CAPTURE: any capture ``overflight track`` reads (default: ``overflight sim mlat-demo`` for
``--seconds``, many aircraft over 7 receivers, written to a temporary folder with its
receivers table). Needs ``nats-server`` on the PATH (Debian: nats-server) and nats-py. Prints:

* in-process: frames / CPU-second of ``Station.process`` over the capture's batches;
* publish: frames / s of the ingest side (address decode, shard split, Arrow IPC, JetStream
  publish with acks), without tracking;
* bus, N workers (subprocesses, ``overflight worker``, warmed on a few frames first): frames
  / s from the first publish to the last shard's end marker applied by an API node (publish,
  pull, tracking, updates published, API node applying them);
* bus overhead per frame: (worker wall per frame with 1 worker) - (in-process per frame);
* with a receivers table, clock synchronisation shared by shards (in process, no bus: the
  work of each side): the in-process station with MLAT (the peer: one process syncing its own
  clocks) in CPU per frame; the clock-sync worker's CPU per frame it reads (``overflight.sync``)
  and per frame of all traffic, its clock messages per second of capture and bytes each; the
  8 shards' stations with MLAT solving with the published clocks, against the same shards
  fitting their own, in CPU per frame.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SHARDS = 8
BATCH_FRAMES = 20_000


def batches_of(path: Path) -> list[Any]:
    from overflight.frames import FrameBatch
    from overflight.sources.files import read_batches

    whole = FrameBatch.concat(list(read_batches(path)))
    return [whole.take(np.arange(i, min(i + BATCH_FRAMES, len(whole))))
            for i in range(0, len(whole), BATCH_FRAMES)]


def in_process(batches: list[Any]) -> tuple[float, int]:
    """CPU seconds of one station over the batches (after a first full run that loads
    compiled kernels and the airport index), and the aircraft tracked."""
    from overflight.station import Station, StationConfig

    best = float("inf")
    aircraft = 0
    for _ in range(2):
        st = Station(StationConfig(identify=False))
        t0 = time.process_time()
        for b in batches:
            st.process(b)
        st.finish()
        best = min(best, time.process_time() - t0)
        aircraft = len(st.tracker)
    return best, aircraft


def mlat_costs(batches: list[Any], receivers: Path) -> None:
    """The clock-sync worker's cost and the shards' MLAT with and without it (module doc)."""
    from overflight.bus import subjects as subj
    from overflight.bus.clocks import ClockBoard, ClockSyncRunner, deltas_from_parts
    from overflight.bus.codec import pack
    from overflight.bus.publish import FramePublisher
    from overflight.bus.worker import ShardRunner, WorkerStats, make_station_factory
    from overflight.mlat import ReceiverRegistry
    from overflight.station import Station, StationConfig
    from overflight.station.updates import Frames

    n = sum(len(b) for b in batches)
    span_s = float(np.nanmax(batches[-1].time_s) - np.nanmin(batches[0].time_s))
    cfg = StationConfig(identify=False, flights=False, receivers_csv=receivers)
    st = Station(cfg)
    t0 = time.process_time()
    for b in batches:
        st.process(b)
    st.finish()
    single = time.process_time() - t0
    fixes = st.mlat.stats.fixes
    print(f"in-process station with MLAT (peer: its own clock sync): {n / single:,.0f} "
          f"frames/CPU-s ({single * 1e6 / n:.1f} us/frame), {fixes:,} fixes")

    loop = asyncio.new_event_loop()
    try:
        pub = FramePublisher(None, loop, shards=SHARDS, run_id="bench")
        msgs, seq = [], 0
        for b in batches:
            msgs.append(pub.messages(Frames(b, seq)))
            seq += len(b)
    finally:
        loop.close()
    end = {"Overflight-End": "bench", subj.H_NOW: repr(pub.newest_s)}
    stats = WorkerStats()
    runner = ClockSyncRunner(ReceiverRegistry.from_csv(receivers), stats)
    board = ClockBoard(wait_s=0.0)
    out_bytes = 0
    k = 0
    t0 = time.process_time()
    for batch_msgs in msgs:
        for subject, body, headers in batch_msgs:
            if subject == subj.SYNC_SUBJECT:
                k += 1
                parts = runner.handle(body, headers, k) or []
                out_bytes += len(pack(parts)) if parts else 0
                board.add(deltas_from_parts(parts))
    parts = runner.handle(b"", end, k + 1) or []
    board.add(deltas_from_parts(parts))
    sync_cpu = time.process_time() - t0
    print(f"clock-sync worker: {stats.frames:,} sync frames ({100 * stats.frames / n:.1f} % of "
          f"traffic), {sync_cpu * 1e6 / max(stats.frames, 1):.1f} us/sync frame = "
          f"{sync_cpu * 1e6 / n:.2f} us per frame of traffic; {board.received:,} clock deltas "
          f"({board.received / span_s:.1f}/s of capture, {out_bytes / max(board.received, 1):,.0f}"
          f" B each); {runner.feed.engine.stats.references:,} references")

    for name, clocks in (("shared clocks", board), ("own clocks", None)):
        if clocks is not None:  # a fresh board with the same deltas for these views
            fresh = ClockBoard(wait_s=0.0)
            factory = make_station_factory(receivers_csv=receivers, identify=False,
                                           flights=False, clocks=fresh)
        else:
            factory = make_station_factory(receivers_csv=receivers, identify=False,
                                           flights=False)
        ws = WorkerStats()
        runners = [ShardRunner(s, factory, ws) for s in range(SHARDS)]
        if clocks is not None:
            fresh.add(clocks._deltas)
        t0 = time.process_time()
        fixes = 0
        for r in runners:
            m = 0
            for batch_msgs in msgs:
                for subject, body, headers in batch_msgs:
                    if subject == r.in_subject:
                        m += 1
                        r.handle(body, headers, m)
            r.handle(b"", end, m + 1)
            fixes += r.station.mlat.stats.fixes
        cpu = time.process_time() - t0
        print(f"{SHARDS} shards with MLAT, {name}: {n / cpu:,.0f} frames/CPU-s "
              f"({cpu * 1e6 / n:.1f} us/frame), {fixes:,} fixes")


def start_nats(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    (root / "js").mkdir(exist_ok=True)
    proc = subprocess.Popen([binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd",
                             str(root / "js")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    return proc, f"nats://127.0.0.1:{port}"


async def bus_run(batches: list[Any], workers: int, root: Path) -> dict[str, float]:
    from overflight.bus.picture import BusPicture
    from overflight.bus.publish import FramePublisher, connect
    from overflight.bus.subjects import ensure_streams
    from overflight.bus.worker import publish_end
    from overflight.station.updates import Frames

    proc, url = start_nats(root)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        nc = await connect(url)
        js = nc.jetstream()
        await ensure_streams(js)
        picture = BusPicture()
        await picture.start(url)
        per = SHARDS // workers
        for w in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "overflight", "worker", "--bus", url, "--shards",
                 f"{w * per}-{(w + 1) * per - 1}", "--no-identify"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # warm the workers (imports, compiled kernels) on a few frames of another run
        warm = FramePublisher(js, asyncio.get_running_loop(), shards=SHARDS)
        await warm._send(warm.messages(Frames(batches[0].take(np.arange(200)), 0)))
        await publish_end(js, warm.run_id, SHARDS)
        await picture.wait_ended(warm.run_id, SHARDS, timeout_s=600)
        pub = FramePublisher(js, asyncio.get_running_loop(), shards=SHARDS)
        seq = 10_000_000
        t0 = time.perf_counter()
        for b in batches:
            await pub._send(pub.messages(Frames(b, seq)))
            seq += len(b)
        await publish_end(js, pub.run_id, SHARDS)
        t_pub = time.perf_counter() - t0
        await picture.wait_ended(pub.run_id, SHARDS, timeout_s=1800)
        wall = time.perf_counter() - t0
        await picture.close()
        await nc.close()
        return {"publish_s": t_pub, "wall_s": wall, "messages": picture.messages}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("capture", nargs="?", type=Path)
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--receivers", type=Path, help="receivers CSV for the MLAT figures")
    ap.add_argument("--no-bus", action="store_true", help="only the in-process figures")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cap = args.capture
        receivers = args.receivers
        if cap is None:
            cap = root / "sim.bin"
            receivers = root / "sim.receivers.csv"
            subprocess.run([sys.executable, "-m", "overflight", "sim", "mlat-demo", "--out",
                            str(cap), "--duration", str(args.seconds)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        batches = batches_of(cap)
        n = sum(len(b) for b in batches)
        cpu, aircraft = in_process(batches)
        print(f"capture: {cap.name}, {n:,} frames, {aircraft} aircraft, {len(batches)} batches "
              f"of <= {BATCH_FRAMES:,}; {os.cpu_count()} CPUs")
        print(f"in-process station: {n / cpu:,.0f} frames/CPU-s ({cpu * 1e6 / n:.1f} us/frame)")
        if receivers is not None:
            mlat_costs(batches, receivers)
        base = None
        for w in () if args.no_bus else (1, 2):
            d = root / f"bus{w}"
            d.mkdir()
            r = asyncio.run(bus_run(batches, w, d))
            rate = n / r["wall_s"]
            print(f"bus, {w} worker(s): {rate:,.0f} frames/s end to end "
                  f"({r['wall_s']:.1f} s, publish to last update applied); ingest publish "
                  f"{n / r['publish_s']:,.0f} frames/s")
            if w == 1:
                base = r["wall_s"] * 1e6 / n
        if base is not None:
            print(f"bus overhead per frame (1 worker wall - in-process CPU): "
                  f"{base - cpu * 1e6 / n:.1f} us")


if __name__ == "__main__":
    main()
