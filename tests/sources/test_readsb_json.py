"""readsb ``aircraft.json`` both ways: our tracker writes it, the poller reads it over real HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from overflight.pipeline import track_file
from overflight.sources.readsb_json import parse_aircraft_json, poll_aircraft_json
from overflight.tracking import aircraft_json


@pytest.fixture(scope="module")
def document(shared: Callable[[str], Path]) -> dict[str, object]:
    """aircraft.json of the real Beast capture, as `overflight track --json` writes it."""
    tracker = track_file(shared("modes-traffic-samples/sample_dump1090.bin"))
    return aircraft_json(tracker.all_aircraft(), tracker.now_s, tracker.messages, keep_old=True)


class _Server:
    """A tiny HTTP server on 127.0.0.1 serving whatever body is set (503 when None)."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if outer.body is None:
                    self.send_response(503)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data/aircraft.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


def test_our_aircraft_json_parses_back_with_the_same_values(document: dict[str, object]) -> None:
    snap = parse_aircraft_json(json.dumps(document))
    assert not isinstance(snap, str)
    by_hex = {a.icao24: a for a in snap.aircraft}
    assert set(by_hex) == {"48520a", "3981e4", "44ce69"}  # 440062: one DF11, never confirmed
    assert by_hex["48520a"].callsign == "TRA89M"
    assert by_hex["3981e4"].callsign == "TJT62CB"  # from Comm-B BDS 2,0 only
    assert by_hex["48520a"].altitude_ft == 38000
    assert by_hex["48520a"].latitude_deg == pytest.approx(43.6566, abs=1e-3)
    assert by_hex["48520a"].longitude_deg == pytest.approx(1.2296, abs=1e-3)


def test_poller_survives_errors_and_yields_only_new_snapshots(
    server: _Server, document: dict[str, object]
) -> None:
    """503, then garbage, then a real document twice (one yield), then a newer one."""
    newer = dict(document, now=float(document["now"]) + 1.0)  # type: ignore[arg-type]
    bodies: list[bytes | None] = [
        None, b"{not json", json.dumps(document).encode(), json.dumps(document).encode(),
        json.dumps(newer).encode(),
    ]

    async def run() -> list[float]:
        got: list[float] = []
        server.body = bodies.pop(0)

        async def advance() -> None:
            while bodies:
                await asyncio.sleep(0.05)
                server.body = bodies.pop(0)

        task = asyncio.create_task(advance())
        async for snap in poll_aircraft_json(server.url, interval_s=0.02, timeout_s=2.0):
            got.append(snap.time_s)
            if len(got) == 2:
                break
        await task
        return got

    times = asyncio.run(asyncio.wait_for(run(), timeout=20))
    assert times == [float(document["now"]), float(document["now"]) + 1.0]  # type: ignore[arg-type]


def test_poller_retries_a_refused_connection(server: _Server, document: dict[str, object]) -> None:
    """A receiver that is down is logged and retried, never fatal."""
    url = server.url
    server.close()

    async def run() -> float:
        late = _Server()
        late.body = json.dumps(document).encode()
        try:
            gen = poll_aircraft_json(url.replace(url.split("/")[2], "127.0.0.1:1"), interval_s=0.02)
            first = asyncio.create_task(gen.__anext__())
            await asyncio.sleep(0.2)
            assert not first.done()  # still retrying, no exception
            first.cancel()
            async for snap in poll_aircraft_json(late.url, interval_s=0.02):
                return snap.time_s
            raise AssertionError("no snapshot")
        finally:
            late.close()

    assert asyncio.run(asyncio.wait_for(run(), timeout=20)) == float(document["now"])  # type: ignore[arg-type]


def _doc(entry: str, now: str = "1700000000.5") -> str:
    """A readsb document with one aircraft entry, written as text (hostile values stay raw)."""
    other = '{"hex": "3c6586", "alt_baro": 1000}'
    return '{"now": ' + now + ', "messages": 10, "aircraft": [' + entry + ", " + other + "]}"


HOSTILE_VALUES = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "9" * 400]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("key", ["alt_baro", "alt_geom", "gs", "lat", "rssi", "messages", "seen"])
def test_non_finite_numbers_are_read_as_absent_and_counted(key: str, value: str) -> None:
    snap = parse_aircraft_json(_doc(f'{{"hex": "4840d6", "{key}": {value}}}'))
    assert not isinstance(snap, str)
    assert [a.icao24 for a in snap.aircraft] == ["4840d6", "3c6586"]
    a = snap.aircraft[0]
    assert a.altitude_ft is None and a.on_ground is None
    assert a.latitude_deg is None and a.rssi_dbfs is None and a.messages is None
    assert a.time_s == 1700000000.5
    assert snap.reasons == {"non-finite or huge number": 1}
    assert snap.aircraft[1].altitude_ft == 1000


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_a_document_time_that_is_not_finite_is_a_reason(value: str) -> None:
    assert parse_aircraft_json(_doc('{"hex": "4840d6"}', now=value)) == "no time"


def test_times_that_overflow_skip_the_aircraft() -> None:
    snap = parse_aircraft_json(_doc('{"hex": "4840d6", "seen": -1.7e308}', now="1.7e308"))
    assert not isinstance(snap, str)
    assert [a.icao24 for a in snap.aircraft] == ["3c6586"]
    assert snap.skipped == 1 and snap.reasons == {"bad time": 1}


def test_deep_nesting_and_huge_integers_are_reasons() -> None:
    deep = '{"now": 1, "aircraft": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    assert parse_aircraft_json(deep) == "bad json: nested too deep"
    assert parse_aircraft_json(_doc('{"hex": "4840d6", "gs": %s}' % ("9" * 5000))) == "bad json"
    assert parse_aircraft_json(b"\xff\xfe{") == "bad json"


def test_poller_survives_every_hostile_document_and_counts_it(
    server: _Server, document: dict[str, object]
) -> None:
    """Each hostile document gives a counted reason; the poller goes on to the good one."""
    from overflight.sources.readsb_json import PollStats

    bodies: list[bytes | None] = [
        _doc('{"hex": "4840d6", "alt_baro": NaN}', now="NaN").encode(),
        _doc('{"hex": "4840d6"}', now="Infinity").encode(),
        _doc('{"hex": "4840d6"}', now="9" * 400).encode(),
        ('{"now": 1, "aircraft": ' + "[" * 100_000 + "]" * 100_000 + "}").encode(),
        None,  # 503
        json.dumps(document).encode(),
    ]
    stats = PollStats()

    async def run() -> float:
        server.body = bodies.pop(0)

        async def advance() -> None:
            while bodies:
                await asyncio.sleep(0.05)
                server.body = bodies.pop(0)

        task = asyncio.create_task(advance())
        async for snap in poll_aircraft_json(
            server.url, interval_s=0.01, timeout_s=2.0, stats=stats
        ):
            await task
            return snap.time_s
        raise AssertionError("the poller ended")

    assert asyncio.run(asyncio.wait_for(run(), timeout=20)) == document["now"]
    assert stats.unusable["no time"] >= 3
    assert stats.unusable["bad json: nested too deep"] >= 1
    assert stats.fetch_errors >= 1 and stats.snapshots == 1
