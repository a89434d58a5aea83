"""A capture played live over a real loopback socket by ``overflight replay`` gives the station
the same final picture as the same file read by ``overflight track``'s path."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from overflight.station import Station, StationConfig
from overflight.station.live import run_live

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _picture(st: Station) -> dict[str, tuple[object, ...]]:
    """What a user sees of each aircraft, without the times (a live feed is dated by the wall
    clock, a file by its own counter)."""
    return {
        a.icao24: (a.messages, a.positions, a.callsign, a.squawk, a.altitude_baro_ft,
                   a.groundspeed_kt, a.track_deg,
                   None if a.lat_deg is None else round(a.lat_deg, 5),
                   None if a.lon_deg is None else round(a.lon_deg, 5))
        for a in st.tracker.all_aircraft()
    }


def _live(path: Path, frames: int) -> Station:
    port = _free_port()
    replay = subprocess.Popen(
        [sys.executable, "-m", "overflight", "replay", str(path), "--to", f"127.0.0.1:{port}",
         "--speed", "max"],
        stderr=subprocess.PIPE,
    )
    st = Station(StationConfig(connect=(("127.0.0.1", port),), identify=False, flights=False,
                               expire_after_s=1e9))

    async def main() -> None:
        task = asyncio.create_task(run_live(st, stats_every_s=3600.0))
        deadline = time.monotonic() + 120
        while st.stats.frames < frames and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the coalescer's last period
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(main())
    finally:
        replay.kill()
        replay.wait()
    return st


def test_replayed_capture_gives_the_file_picture(shared: Callable[[str], Path]) -> None:
    for name in (SAMPLE, FLIGHT):
        path = shared(name)
        file_st = Station(StationConfig(identify=False, flights=False, expire_after_s=1e9))
        file_st.run_file(path)
        live_st = _live(path, file_st.stats.frames)
        assert live_st.stats.frames == file_st.stats.frames, name
        assert live_st.stats.batches_dropped == 0
        want = _picture(file_st)
        assert want and _picture(live_st) == want, name
