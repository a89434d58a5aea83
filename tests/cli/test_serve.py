"""``overflight serve`` live on loopback: shutdown closes every connection and leaves no task;
feeders sending 0xe3 ids are named by their serial (hex) in the logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from overflight.sim import mlat_demo, simulate
from overflight.sim.serve import beast_chunks
from overflight.station import Station, StationConfig
from overflight.station.live import run_live
from overflight.tracking import Tracker

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
HOST = "127.0.0.1"


def test_shutdown_closes_every_connection(
    shared: Callable[[str], Path], caplog: pytest.LogCaptureFixture
) -> None:
    """serve with an ingest port and Beast, raw and SBS outputs; two feeders (a dump1090
    capture without receiver id, a simulated receiver with its 0xe3 serial) stay connected,
    one client on each output. Cancelling serve: every peer reads the end of file, no task is
    left behind, nothing is logged as an error, and the statistics name the serial in hex."""
    raw = shared(SAMPLE).read_bytes()
    sim = simulate(mlat_demo(seed=4, duration_s=3.0))
    rid = sim.scenario.receivers[0].receiver_id
    sim_bytes = b"".join(d for _, _, d in beast_chunks(sim, receiver_id=rid))
    caplog.set_level(logging.INFO)

    async def main() -> None:
        async with asyncio.timeout(30):
            await body()

    async def body() -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[dict[str, int]] = loop.create_future()
        station = Station(
            StationConfig(listen_beast=0, beast_out=0, raw_out=0, sbs_out=0, bind=HOST,
                          identify=False),
            tracker=Tracker(),
        )
        task = asyncio.create_task(
            run_live(station, ready=ready.set_result, stats_every_s=0.1)
        )
        ports = await ready
        clients = {
            fmt: await asyncio.open_connection(HOST, ports[fmt]) for fmt in ("beast", "raw", "sbs")
        }
        await asyncio.sleep(0.1)  # the clients are registered before the first frame
        feeders = [await asyncio.open_connection(HOST, ports["ingest"]) for _ in range(2)]
        for (_r, w), data in zip(feeders, (raw, sim_bytes), strict=True):
            w.write(data)
            await w.drain()
        got = await clients["beast"][0].readexactly(64)
        assert got  # frames flow through
        await asyncio.sleep(0.5)  # tracked (SBS) and statistics logged
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for r, _w in [*clients.values(), *feeders]:
            while await r.read(1 << 16):  # what was queued, then the end of file
                pass
        for _r, w in [*clients.values(), *feeders]:
            w.close()
            await w.wait_closed()
        me = asyncio.current_task()
        assert [t for t in asyncio.all_tasks() if t is not me] == []

    asyncio.run(main())
    assert "Task was destroyed" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    serial = f"{rid:016x}"
    assert f"is receiver {serial}" in caplog.text
    assert f"receiver {serial} 127.0.0.1:" in caplog.text  # the statistics line
    assert "sends no receiver id: receiver " in caplog.text  # the dump1090 capture
