"""A real station fed a real capture over a real socket, with the HTTP server on a loopback port.

The server (station live loop + uvicorn) runs in its own thread and event loop; tests talk to it
over TCP with httpx, websockets and Chromium, as any client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from overflight.identity import build_index, import_file, open_store
from overflight.server import create_app, serve_http
from overflight.station import Station, StationConfig

CAPTURE = "modes-traffic-samples/sample_dump1090.bin"
REGISTRY = "aircraft-db-tar1090/aircraft.csv.gz"
CAPTURE_ADDRESSES = ("48520A", "3981E4", "44CE69", "440062")
"""Every address in the capture (its README)."""
TRACKED = ("48520A", "3981E4", "44CE69")
"""The capture's aircraft heard more than once: always tracked (440062, heard once by a reply
with address/parity, is the tracker's call)."""
USER_MILITARY = "3981E4"
"""Flagged military by a user source in the test store (the real registry has no military
aircraft in the capture): /v2/mil must list it."""


def strict_loads(text: str | bytes) -> Any:
    """json.loads that refuses NaN / Infinity (what browsers and tar1090 refuse)."""

    def bad(name: str) -> Any:
        raise ValueError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=bad)


@pytest.fixture(scope="session")
def capture(shared: Callable[[str], Path]) -> Path:
    return shared(CAPTURE)


@pytest.fixture(scope="session")
def registry_rows(shared: Callable[[str], Path]) -> dict[str, list[str]]:
    """The real tar1090-db rows of the capture's aircraft."""
    rows: dict[str, list[str]] = {}
    with gzip.open(shared(REGISTRY), "rt", encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            if row and row[0].upper() in CAPTURE_ADDRESSES:
                rows[row[0].upper()] = row
    assert set(rows) == set(CAPTURE_ADDRESSES)
    return rows


@pytest.fixture(scope="session")
def identity_db(registry_rows: dict[str, list[str]],
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the registry's real rows for the capture's aircraft, and one user row that
    flags 3981E4 as military (everything else as the registry says)."""
    d = tmp_path_factory.mktemp("identity")
    reg = d / "tar1090.csv"
    with reg.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["icao24", "registration", "type_code", "flags", "description"])
        w.writerows(registry_rows.values())
    user = d / "user.csv"
    with user.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["icao24", "registration", "type_code", "flags", "description"])
        r = registry_rows[USER_MILITARY]
        w.writerow([r[0], r[1], r[2], "10", r[4]])
    store = d / "aircraft.sqlite"
    con = open_store(store)
    import_file(con, reg)
    import_file(con, user, source="user")
    con.close()
    build_index(store)
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A running station + HTTP server; ``url`` is ``http://127.0.0.1:PORT``."""

    station: Station
    app: Any
    loop: asyncio.AbstractEventLoop
    ports: dict[str, int] = field(default_factory=dict)
    http_port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.http_port}/ws/aircraft"

    def push(self, data: bytes) -> None:
        """Send Beast bytes into the station's ingest port as a feeder does."""
        with socket.create_connection(("127.0.0.1", self.ports["ingest"]), timeout=10) as s:
            s.sendall(data)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)


@contextlib.contextmanager
def running_server(config: StationConfig, **app_kw: Any) -> Iterator[LiveServer]:
    """Start a live station and the HTTP server on a free loopback port, in a thread."""
    station = Station(config)
    app = create_app(station, **app_kw)
    loop = asyncio.new_event_loop()
    srv = LiveServer(station, app, loop)
    started = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        live_ready = asyncio.Event()
        http_ready = asyncio.Event()

        def on_live(ports: dict[str, int]) -> None:
            srv.ports.update(ports)
            live_ready.set()

        def on_http(port: int) -> None:
            srv.http_port = port
            http_ready.set()

        tasks = [asyncio.create_task(station.run_live(ready=on_live)),
                 asyncio.create_task(serve_http(app, "127.0.0.1", 0, ready=on_http))]
        try:
            ready = asyncio.gather(live_ready.wait(), http_ready.wait())
            waiting: list[asyncio.Future[Any]] = [ready, *tasks]
            done, _ = await asyncio.wait(waiting, timeout=120,
                                         return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                for t in tasks:
                    if t.done():
                        t.result()
                raise RuntimeError("station or HTTP server did not start")
            started.set()
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                if not t.done() and not t.cancelling():
                    t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    main_task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            main_task.append(loop.create_task(main()))
            loop.run_until_complete(main_task[0])
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            failure.append(exc)
        finally:
            started.set()

    th = threading.Thread(target=run, name="test-server", daemon=True)
    th.start()
    started.wait(180)
    if failure:
        raise failure[0]
    try:
        yield srv
    finally:
        loop.call_soon_threadsafe(main_task[0].cancel)
        th.join(60)


def wait_for(cond: Callable[[], Any], timeout_s: float = 60.0, what: str = "condition") -> Any:
    """Poll ``cond`` until it returns something truthy; fail with ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _fed(srv: LiveServer) -> Any:
    doc = strict_loads(srv.get("/data/aircraft.json").content)
    by_hex = {a["hex"]: a for a in doc["aircraft"]}
    ok = {h.lower() for h in TRACKED} <= set(by_hex) and "lat" in by_hex["48520a"] \
        and "r" in by_hex["48520a"]
    return doc if ok else None


@pytest.fixture(scope="session")
def live(capture: Path, identity_db: Path) -> Iterator[LiveServer]:
    """The station, fed the real capture over a real socket, with the server answering."""
    config = StationConfig(listen_beast=0, identity_db=identity_db, snapshot_every_s=0.2,
                           receiver_lat_lon=(43.63, 1.37))
    with running_server(config) as srv:
        srv.push(capture.read_bytes())
        wait_for(lambda: _fed(srv), 120, "the capture's aircraft in aircraft.json")
        yield srv


@pytest.fixture(scope="session")
def reference(capture: Path) -> dict[str, Any]:
    """The same capture run through a station from the file: the tracker's own states."""
    st = Station(StationConfig(identify=False))
    st.run_file(capture)
    return {a.icao24: a for a in st.snapshot().aircraft}
