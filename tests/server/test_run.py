"""serve_http: loopback by default, a warning for other addresses, a bound port reported,
a busy port an OSError, shut down cleanly when cancelled."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import httpx
import pytest

from overflight.server import create_app, public_bind_warning, serve_http
from overflight.station import Station, StationConfig


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_warning(host: str) -> None:
    assert public_bind_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org", ""])
def test_other_addresses_are_warned_about(host: str) -> None:
    w = public_bind_warning(host)
    assert w is not None and "127.0.0.1" in w


def test_serve_answers_on_the_reported_port_then_stops_when_cancelled() -> None:
    app = create_app(Station(StationConfig(identify=False)))

    async def main() -> tuple[int, int, dict[str, object]]:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_http(app, "127.0.0.1", 0, ready=got.set_result))
        port = await asyncio.wait_for(got, 30)
        async with httpx.AsyncClient() as c:
            r = await c.get(f"http://127.0.0.1:{port}/data/aircraft.json")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return port, r.status_code, r.json()

    port, status, doc = asyncio.run(main())
    assert status == 200
    assert doc["aircraft"] == [] and doc["messages"] == 0
    with socket.socket() as s:  # the port was released
        s.bind(("127.0.0.1", port))


def test_a_busy_port_is_an_oserror() -> None:
    app = create_app(Station(StationConfig(identify=False)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]

        async def main() -> None:
            await asyncio.wait_for(serve_http(app, "127.0.0.1", port), 30)

        with pytest.raises(OSError):
            asyncio.run(main())


def test_a_public_bind_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Station(StationConfig(identify=False)))

    async def main() -> None:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_http(app, "0.0.0.0", 0, ready=got.set_result))
        await asyncio.wait_for(got, 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.WARNING, logger="overflight.server"):
        asyncio.run(main())
    assert any("0.0.0.0" in r.getMessage() for r in caplog.records)


def test_simulated_input_is_said_in_every_answer(capture: Path) -> None:
    st = Station(StationConfig(identify=False, simulated=True))
    st.run_file(capture)
    app = create_app(st)

    async def main() -> dict[str, object]:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_http(app, "127.0.0.1", 0, ready=got.set_result))
        port = await asyncio.wait_for(got, 30)
        out: dict[str, object] = {}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            for path in ("/data/aircraft.json", "/data/receiver.json", "/v2/hex/48520a",
                         "/v2/mil"):
                out[path] = (await c.get(path)).json()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return out

    docs = asyncio.run(main())
    for path, doc in docs.items():
        assert isinstance(doc, dict) and doc.get("simulated") is True, path
    hexes = [a["hex"] for a in docs["/v2/hex/48520a"]["ac"]]  # type: ignore[index]
    assert hexes == ["48520a"]


def test_receiver_json_takes_extra_keys(capture: Path) -> None:
    st = Station(StationConfig(identify=False))
    st.run_file(capture)
    app = create_app(st, receiver_extra={"haveTraces": True})

    async def main() -> object:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_http(app, "127.0.0.1", 0, ready=got.set_result))
        port = await asyncio.wait_for(got, 30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            doc = (await c.get("/data/receiver.json")).json()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return doc

    doc = asyncio.run(main())
    assert isinstance(doc, dict)
    assert doc["haveTraces"] is True and doc["refresh"] == 1000
