"""``overflight serve`` live on loopback: feeders in, receiver ids mapped, MLAT out as SBS lines."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from overflight.frames import FrameBatch
from overflight.pipeline import mlat_feed
from overflight.sim import mlat_demo, simulate
from overflight.sim.result import SimResult
from overflight.sim.serve import push_feeders
from overflight.sources.files import read_batches
from overflight.station import Station, StationConfig
from overflight.station.live import run_live
from overflight.tracking import Tracker
from overflight.tracking.mlat_feed import MlatFeed

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
_EARTH_R_M = 6_371_008.8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    *, tracker: Tracker, feed: MlatFeed | None = None, serials: dict[str, int], sbs: bool,
    record_dir: Path | None = None,
) -> tuple[asyncio.Task[None], asyncio.Future[dict[str, int]]]:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[dict[str, int]] = loop.create_future()
    station = Station(
        StationConfig(listen_beast=0, sbs_out=0 if sbs else None, bind="127.0.0.1",
                      record_dir=record_dir, receiver_ids=serials, identify=False),
        tracker=tracker, mlat=feed,
    )
    task = asyncio.create_task(run_live(station, ready=ready.set_result, stats_every_s=3600.0))
    return task, ready


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_receiver_id_names_a_feeder_without_its_own_id(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """A real dump1090 capture (no 0xe3 records) pushed from a known peer is recorded with the
    serial ``--receiver-id 127.0.0.1:PORT=1001`` gives it."""
    data = shared(SAMPLE).read_bytes()
    local = _free_port()

    async def run() -> None:
        task, ready = _start(tracker=Tracker(), serials={f"127.0.0.1:{local}": 1001}, sbs=False,
                             record_dir=tmp_path)
        ports = await asyncio.wait_for(ready, 10)
        _, w = await asyncio.open_connection(
            "127.0.0.1", ports["ingest"], local_addr=("127.0.0.1", local)
        )
        w.write(data)
        await w.drain()
        w.close()
        await w.wait_closed()
        for _ in range(200):
            if any(p.stat().st_size for p in tmp_path.glob("*.beast")):
                await asyncio.sleep(0.2)
                break
            await asyncio.sleep(0.05)
        await _stop(task)

    asyncio.run(run())
    (path,) = tmp_path.glob("*.beast")
    fb = FrameBatch.concat(list(read_batches(path)))
    assert len(fb) == 239
    assert set(fb.receiver.tolist()) == {1001}


def _distance_m(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = math.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(
        np.radians(lon2 - lon1) / 2
    ) ** 2
    return 2 * _EARTH_R_M * np.arcsin(np.sqrt(a))  # type: ignore[no-any-return]


def test_serve_multilaterates_simulator_feeders(tmp_path: Path) -> None:
    """Six simulated receivers push Beast (with their 0xe3 serials) at recorded pace into
    ``serve --receivers RX.csv --sbs-out``: 3B7777 (Mode S only, no ADS-B position) appears in
    the SBS output as MLAT positions on its true track. The simulator plays live, so every SBS
    line is dated now (today's date, a time during the run), never the scenario's 2024."""
    result = simulate(mlat_demo(seed=1, duration_s=10.0))
    rx_csv = tmp_path / "rx.csv"
    result.write_receivers_csv(rx_csv)
    feed = mlat_feed(rx_csv)
    tracker = Tracker()
    lines: list[str] = []
    span = asyncio.run(_push_and_read_sbs(result, lines, tracker=tracker, feed=feed, speed=1.0))
    assert feed.stats.skipped["unknown_receiver"] == 0  # hub ids are the CSV serials
    mlat = [ln.split(",") for ln in lines if ln.startswith("MLAT,3,")]
    ours = [f for f in mlat if f[4] == "3B7777"]
    assert len(ours) >= 3, (len(lines), feed.stats)
    truth = result.truth
    me = truth.address == 0x3B7777
    for f in ours:
        lat, lon = float(f[14]), float(f[15])
        assert f[11] == "25000"  # altitude from its Mode S replies
        # on the true track: within 300 m of some true position (points 0.5-1 s apart)
        assert float(_distance_m(lat, lon, truth.lat_deg[me], truth.lon_deg[me]).min()) < 300
    state = next(a for a in tracker.all_aircraft() if a.icao24 == "3b7777")
    assert state.position_source == "mlat"
    assert any(ln.startswith("MSG,3,") for ln in lines)  # ADS-B aircraft keep their positions
    times = _sbs_times([ln.split(",") for ln in lines])
    assert times.size == 2 * len(lines)
    assert span[0] - 1.0 <= times.min() and times.max() <= span[1] + 1.0


async def _push_and_read_sbs(
    result: SimResult,
    lines: list[str],
    *,
    tracker: Tracker,
    speed: float,
    feed: MlatFeed | None = None,
    start_time_s: float | None = None,
) -> tuple[float, float]:
    """Run serve (ingest + SBS out), connect an SBS client, push ``result`` from its feeders,
    stop serve; ``lines`` collects the SBS lines. Returns the wall-clock span of the push."""
    task, ready = _start(tracker=tracker, feed=feed, serials={}, sbs=True)
    ports = await asyncio.wait_for(ready, 10)
    reader, writer = await asyncio.open_connection("127.0.0.1", ports["sbs"])

    async def read() -> None:
        while line := await reader.readline():
            lines.append(line.decode())

    rt = asyncio.create_task(read())
    await asyncio.sleep(0.2)  # the SBS client is registered before the first frame
    t0 = time.time()
    sent = await asyncio.wait_for(
        push_feeders(result, "127.0.0.1", ports["ingest"], speed=speed, start_time_s=start_time_s),
        120,  # generous: on a cold numba cache serve compiles its kernels while feeders push
    )
    t1 = time.time()
    assert sent == len(result.frames)
    await asyncio.sleep(0.6)  # the last batch is tracked
    await _stop(task)
    await asyncio.wait_for(rt, 30)  # serve closed the SBS connection
    writer.close()
    return t0, t1


def _sbs_times(rows: list[list[str]]) -> np.ndarray:
    """UTC seconds of the generated and logged date/time fields of SBS rows."""
    out = []
    for f in rows:
        for d, t in ((f[6], f[7]), (f[8], f[9])):
            dt = datetime.strptime(f"{d} {t}", "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC)
            out.append(dt.timestamp())
    return np.asarray(out)


def test_serve_sbs_keeps_the_scenario_dates_when_asked() -> None:
    """Feeders sending the scenario's own 2024 time records (``start_time_s``), as fast as
    possible: the SBS lines all carry 2024 dates within the scenario, none today's."""
    result = simulate(mlat_demo(seed=3, duration_s=6.0))
    start = result.scenario.start_time_s
    lines: list[str] = []

    asyncio.run(
        _push_and_read_sbs(result, lines, tracker=Tracker(), speed=math.inf, start_time_s=start)
    )
    rows = [ln.split(",") for ln in lines]
    assert sum(1 for f in rows if f[1] == "3") >= 10
    times = _sbs_times(rows)
    assert {f[6] for f in rows} == {"2024/06/01"}
    assert start <= times.min() and times.max() <= start + 6.0 + 1e-3
