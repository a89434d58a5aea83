"""``overflight serve``'s live path under load: 10 feeders push Beast over loopback into
``Station.run_live`` (``listen_beast=0``) with Beast and SBS re-serve attached, one client
reading each; messages per second tracked on one core, and the batches/frames the station
dropped because tracking fell behind.

The station runs in its own process pinned to one core (``taskset -c 1``: event loop, tracking
thread and re-servers share it); feeders and the two clients run in this process on the other
core (``taskset -c 0``). Traffic: a 15,000-frame stretch of the real A321 flight of
``full_flight_short`` tiled to ``--aircraft`` aircraft with shifted addresses (``bench/track.py``'s
``tile``), 12 MHz counters, dealt to the feeders by aircraft. Feeders push as fast as the
station reads (``--rate 0``) or paced to ``--rate`` messages per second in total.

tracked/s = frames tracked (batches not dropped) / seconds from the first to the last byte
sent; beside it the station's CPU seconds after start-up (process, all threads) and
the frames it took in per CPU second (the figure that holds on a machine shared with others).

Run: ``python bench/serve_live.py [--aircraft 3000 --seconds 10 --rate 0]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FEEDERS = 10


def station_main() -> None:
    """Child: run the station until a line arrives on stdin, then print its figures."""
    import threading

    from overflight.station import Station, StationConfig

    st = Station(StationConfig(listen_beast=0, beast_out=0, sbs_out=0, identify=False,
                               flights=False))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        started = [0.0]

        def ready(ports: dict[str, int]) -> None:
            started[0] = time.process_time()
            print(json.dumps(ports), flush=True)

        threading.Thread(target=lambda: (sys.stdin.readline(),
                                         loop.call_soon_threadsafe(stop.set)),
                         daemon=True).start()
        task = asyncio.create_task(st.run_live(ready=ready))
        await stop.wait()
        c0 = time.process_time()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        print(json.dumps({
            "frames": st.stats.frames, "batches": st.stats.batches,
            "batches_dropped": st.stats.batches_dropped,
            "frames_dropped": st.stats.frames_dropped, "aircraft": len(st.tracker),
            "positions": st.stats.positions, "cpu_s": c0 - started[0],
        }), flush=True)

    asyncio.run(main())


def traffic(aircraft: int) -> list[bytes]:
    """Beast bytes for each feeder."""
    from overflight.frames import FrameBatch
    from overflight.sources.beast import encode_beast
    from track import load_flight, tile

    frames, times = load_flight()
    flight = FrameBatch.from_bytes([bytes.fromhex(f) for f in frames], time_s=times)
    part = flight.take(np.arange(20_000, 35_000))
    many = tile(part, aircraft, 0.0137)
    t = many.time_s
    ticks = np.rint((t - t[0]) * 12e6).astype(np.uint64) + np.uint64(12_000_000_000)
    fb = FrameBatch(many.data, many.length_bytes, t, many.receiver,
                    np.full(len(many), -20.0, np.float32), ticks)
    # deal rows to the feeders in blocks of 64 (every aircraft reaches several feeders)
    owner = (np.arange(len(fb)) // 64) % FEEDERS
    return [encode_beast(fb.take(np.flatnonzero(owner == k))) for k in range(FEEDERS)]


async def drain(port: int, counter: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            data = await reader.read(1 << 20)
            if not data:
                return
            counter[0] += len(data)
    finally:
        writer.close()


async def feed(port: int, data: bytes, rate: float, seconds: float) -> int:
    """Send ``data`` (looped) for ``seconds``; paced to ``rate`` frames/s when > 0."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    per_frame = len(data) / max(data.count(b"\x1a\x33") + data.count(b"\x1a\x32"), 1)
    chunk = 1 << 16
    sent = 0
    t0 = time.perf_counter()
    i = 0
    while time.perf_counter() - t0 < seconds:
        piece = data[i : i + chunk]
        i = i + chunk if i + chunk < len(data) else 0
        writer.write(piece)
        sent += len(piece)
        await writer.drain()
        if rate > 0:
            due = t0 + sent / per_frame / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
    writer.close()
    return int(sent / per_frame)


async def run(args: argparse.Namespace, ports: dict[str, int], blobs: list[bytes]) -> tuple[
        int, float, list[int], list[int]]:
    beast_bytes, sbs_bytes = [0], [0]
    readers = [asyncio.create_task(drain(ports["beast"], beast_bytes))]
    if args.sbs_client:
        readers.append(asyncio.create_task(drain(ports["sbs"], sbs_bytes)))
    await asyncio.sleep(0.3)
    t0 = time.perf_counter()
    sent = await asyncio.gather(*(feed(ports["ingest"], b, args.rate / FEEDERS, args.seconds)
                                  for b in blobs))
    wall = time.perf_counter() - t0
    await asyncio.sleep(1.0)
    for r in readers:
        r.cancel()
    return sum(sent), wall, beast_bytes, sbs_bytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--aircraft", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=0.0, help="total msg/s (0: as fast as read)")
    ap.add_argument("--no-sbs-client", dest="sbs_client", action="store_false",
                    help="no client on the SBS port (SBS lines are then not formatted)")
    ap.add_argument("--station", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.station:
        station_main()
        return
    blobs = traffic(args.aircraft)
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") else []
    child = subprocess.Popen([*pin, sys.executable, __file__, "--station"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    ports = json.loads(child.stdout.readline())
    if pin:
        import os

        os.sched_setaffinity(0, {0})
    sent, wall, beast_bytes, sbs_bytes = asyncio.run(run(args, ports, blobs))
    child.stdin.write("stop\n")
    child.stdin.flush()
    figures = json.loads(child.stdout.readline())
    child.wait(timeout=60)
    tracked = figures["frames"]  # processed; dropped batches are counted apart
    taken = tracked + figures["frames_dropped"]
    print(f"10 feeders, {args.aircraft:,} aircraft, {wall:.1f} s, "
          f"{'as fast as read' if args.rate <= 0 else f'paced at {args.rate:,.0f} msg/s'}: "
          f"sent {sent:,} frames ({sent / wall:,.0f}/s); station took in "
          f"{taken:,}, tracked {figures['batches']:,} batches, dropped "
          f"{figures['batches_dropped']:,} batches ({figures['frames_dropped']:,} frames); "
          f"tracked {tracked:,} = {tracked / wall:,.0f} msg/s on one core "
          f"(station CPU {figures['cpu_s']:.1f} s after start-up: "
          f"{taken / max(figures['cpu_s'], 1e-9):,.0f} msg taken in per CPU second); "
          f"{figures['aircraft']:,} aircraft, {figures['positions']:,} positions; Beast out "
          f"{beast_bytes[0] / 1e6:,.1f} MB, SBS out "
          f"{sbs_bytes[0] / 1e6:,.1f} MB{'' if args.sbs_client else ' (no SBS client)'}")


if __name__ == "__main__":
    main()
