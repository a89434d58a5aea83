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

Two configurations in the same run, the same bytes: **forwarding alone** (the feed hub with
Beast re-serve and a client, no decoding: the peer figure, what ingest and fan-out cost) and
**the station** (``run_live``: tracking, Beast and SBS re-serve, a client on each; with
``--no-sbs-client`` nobody reads SBS, so no line is formatted).

msg/s = frames taken in (tracked or forwarded; batches dropped counted apart) / seconds from the
first to the last byte sent; beside it the process's CPU seconds after start-up (all threads)
and the frames it took in per CPU second (the figure that holds on a machine shared with others).
``--profile`` runs cProfile on the station's tracking thread and on its event loop and prints
where the time goes.

Run: ``python bench/serve_live.py [--aircraft 3000 --seconds 10 --rate 0 --profile]``
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
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FEEDERS = 10


def _print_profile(prof: Any, title: str) -> None:
    import pstats

    print(f"--- cProfile: {title} (top 18 by own time)", file=sys.stderr)
    pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(18)


def forward_main() -> None:
    """Child: forwarding alone (feed hub -> Beast re-serve), until a line arrives on stdin."""
    import threading

    from overflight.sources.net import FanoutServer, FeedHub, serve_ingest

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        hub = FeedHub()
        out = FanoutServer("beast")
        await out.start("127.0.0.1", 0)
        hub.subscribe(out)
        server = await serve_ingest(hub, host="127.0.0.1", port=0)
        threading.Thread(target=lambda: (sys.stdin.readline(),
                                         loop.call_soon_threadsafe(stop.set)),
                         daemon=True).start()
        started = time.process_time()
        print(json.dumps({"ingest": server.sockets[0].getsockname()[1], "beast": out.port}),
              flush=True)
        await stop.wait()
        cpu = time.process_time() - started
        frames = sum(r.messages for r in hub.receivers.values())
        print(json.dumps({"frames": frames, "batches": 0, "batches_dropped": 0,
                          "frames_dropped": 0, "aircraft": 0, "positions": 0, "cpu_s": cpu}),
              flush=True)
        server.close()
        await out.close()

    asyncio.run(main())


def station_main(profile: bool) -> None:
    """Child: run the station until a line arrives on stdin, then print its figures."""
    import threading

    from overflight.station import Station, StationConfig

    st = Station(StationConfig(listen_beast=0, beast_out=0, sbs_out=0, identify=False,
                               flights=False))
    loop_prof: Any = None
    track_prof: Any = None
    if profile:
        import cProfile

        # CPU time of each thread (wall time would count the other thread's turns)
        loop_prof = cProfile.Profile(time.thread_time)
        track_prof = cProfile.Profile(time.thread_time)
        process = st.process

        def profiled(*a: Any, **k: Any) -> Any:  # on the tracking thread
            return track_prof.runcall(process, *a, **k)

        st.process = profiled  # type: ignore[method-assign]

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

    if loop_prof is not None:
        loop_prof.enable()
    asyncio.run(main())
    if loop_prof is not None:
        loop_prof.disable()
        _print_profile(track_prof, "tracking thread (Station.process)")
        _print_profile(loop_prof, "event loop thread (ingest, coalescer, re-serve)")


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


def drain(port: int, counter: list[int]) -> Any:
    """A client reading ``port`` on its own thread (blocking reads, without the GIL: one on the
    feeders' event loop was starved by them and dropped as a slow client)."""
    import socket
    import threading

    sock = socket.create_connection(("127.0.0.1", port))

    def read() -> None:
        buf = bytearray(1 << 20)
        with contextlib.suppress(OSError):
            while k := sock.recv_into(buf):
                counter[0] += k

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return sock


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
    readers = [drain(ports["beast"], beast_bytes)]
    if args.sbs_client and "sbs" in ports:
        readers.append(drain(ports["sbs"], sbs_bytes))
    await asyncio.sleep(0.3)
    t0 = time.perf_counter()
    sent = await asyncio.gather(*(feed(ports["ingest"], b, args.rate / FEEDERS, args.seconds)
                                  for b in blobs))
    wall = time.perf_counter() - t0
    await asyncio.sleep(1.0)
    for r in readers:
        r.close()
    return sum(sent), wall, beast_bytes, sbs_bytes


def measure(args: argparse.Namespace, blobs: list[bytes], mode: str) -> dict[str, Any]:
    """One child (``mode``: forward or station) fed ``blobs``; its figures."""
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") else []
    extra = ["--profile"] if args.profile and mode == "station" else []
    child = subprocess.Popen([*pin, sys.executable, __file__, f"--{mode}", *extra],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    ports = json.loads(child.stdout.readline())
    if pin:
        import os

        os.sched_setaffinity(0, {0})
    sent, wall, beast_bytes, sbs_bytes = asyncio.run(run(args, ports, blobs))
    child.stdin.write("stop\n")
    child.stdin.flush()
    figures: dict[str, Any] = json.loads(child.stdout.readline())
    child.wait(timeout=60)
    figures.update(sent=sent, wall=wall, beast_mb=beast_bytes[0] / 1e6,
                   sbs_mb=sbs_bytes[0] / 1e6)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--aircraft", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=0.0, help="total msg/s (0: as fast as read)")
    ap.add_argument("--no-sbs-client", dest="sbs_client", action="store_false",
                    help="no client on the SBS port (SBS lines are then not formatted)")
    ap.add_argument("--only", choices=("forward", "station"), help="run one configuration")
    ap.add_argument("--profile", action="store_true",
                    help="cProfile the station's tracking thread and event loop")
    ap.add_argument("--station", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--forward", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.station:
        station_main(args.profile)
        return
    if args.forward:
        forward_main()
        return
    blobs = traffic(args.aircraft)
    modes = [args.only] if args.only else ["forward", "station"]
    pace = "as fast as read" if args.rate <= 0 else f"paced at {args.rate:,.0f} msg/s"
    print(f"10 feeders over loopback Beast, {args.aircraft:,} aircraft, {pace}, "
          f"{args.seconds:.0f} s each; the serving process pinned to one core")
    print(f"{'':<40} {'taken/s':>10} {'done/s':>10} {'done/CPU s':>10} {'CPU s':>6} "
          f"{'dropped':>9} {'Beast MB':>9} {'SBS MB':>7}")
    print("  (taken: frames read from the feeders; done: forwarded, or tracked with every "
          "output; dropped: frames in batches the tracking queue dropped)")
    for mode in modes:
        f = measure(args, blobs, mode)
        taken = f["frames"] + f["frames_dropped"]
        name = ("forwarding alone (hub -> Beast out)" if mode == "forward" else
                "station: tracking + Beast + SBS out" if args.sbs_client else
                "station: tracking + Beast out (no SBS)")
        done = f["frames"]
        print(f"{name:<40} {taken / f['wall']:>10,.0f} {done / f['wall']:>10,.0f} "
              f"{done / max(f['cpu_s'], 1e-9):>10,.0f} {f['cpu_s']:>6.1f} "
              f"{f['frames_dropped']:>9,} {f['beast_mb']:>9.1f} {f['sbs_mb']:>7.1f}")
        if mode == "station":
            print(f"  station: {f['batches']:,} batches tracked, {f['batches_dropped']:,} "
                  f"dropped; {f['aircraft']:,} aircraft, {f['positions']:,} positions; "
                  f"{f['sent']:,} frames sent in {f['wall']:.1f} s")

if __name__ == "__main__":
    main()
