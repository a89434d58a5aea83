"""A simulated station's server labels every JSON answer "simulated" (the demo): the readsb and
v2 answers that say it themselves, and the others (extra routes such as history and alerts,
errors) through the app's middleware; a real station's answers say nothing of it."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from overflight.server import create_app
from overflight.station import Station, StationConfig


def _extra() -> list[Route]:
    async def doc(request: Request) -> JSONResponse:
        return JSONResponse({"alerts": [{"callsign": '"simulated"'}], "count": 1})

    async def empty(request: Request) -> JSONResponse:
        return JSONResponse({})

    async def listing(request: Request) -> JSONResponse:
        return JSONResponse([1, 2])

    async def text(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return [Route("/api/doc", doc), Route("/api/empty", empty), Route("/api/list", listing),
            Route("/api/text", text)]


def _client(simulated: bool) -> TestClient:
    st = Station(StationConfig(simulated=simulated, identify=False, flights=False))
    return TestClient(create_app(st, extra_routes=_extra()))


def test_every_json_answer_of_a_simulated_station_says_so() -> None:
    with _client(True) as c:
        for path in ("/data/aircraft.json", "/v2/mil", "/api/doc", "/api/empty",
                     "/v2/hex/zzzzzz"):
            r = c.get(path)
            body = r.json()
            assert body["simulated"] is True, path
            assert r.text.count('"simulated"') == 1, path  # labelled once, never twice
            assert int(r.headers["content-length"]) == len(r.content)
            assert r.headers["x-overflight-simulated"] == "true"
        doc = c.get("/api/doc").json()
        assert doc["alerts"] == [{"callsign": '"simulated"'}] and doc["count"] == 1
        assert c.get("/api/empty").json() == {"simulated": True}
        assert c.get("/api/list").json() == [1, 2]  # not an object: the header says it
        assert c.get("/api/text").text == "hello"
        assert c.get("/v2/hex/zzzzzz").status_code == 400


def test_a_real_stations_answers_say_nothing_of_it() -> None:
    with _client(False) as c:
        for path in ("/data/aircraft.json", "/api/doc", "/api/empty"):
            r = c.get(path)
            assert "simulated" not in json.loads(r.text), path
            assert "x-overflight-simulated" not in r.headers
