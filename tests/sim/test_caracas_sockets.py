"""The Caracas story end to end over real sockets: the ``caracas-2019`` scenario's receivers push
Beast over loopback TCP (one feeder each, with its ``0xe3`` id) to a real ``overflight serve
--http --db --alerts defaults --receivers`` subprocess; the answers are read back through the HTTP
API (``/data/aircraft.json`` while live, the history flights endpoint, ``/api/alerts``), the web
map in Debian's Chromium (Playwright), and, once the server has stopped (DuckDB admits one
process), ``overflight history flights ... --format json``.

Only the windows the story needs are simulated (no background traffic): the take-offs from
Chkalovsky, the landings at and take-offs from Latakia, the arrivals at Caracas (RA-86496 with
ADS-B off, so MLAT only), and the An-124 leaving Caracas on 24 March. Between them the aircraft
are out of every receiver's reach, as over the Atlantic. Identities come from the real
plane-alert-db and ICAO type list in ``../shared/data``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from overflight.sim.library import SCENARIO_FILES
from overflight.sim.recordings import truth_document
from overflight.sim.result import write_receivers_csv
from overflight.sim.scenario_file import parse_scenario
from overflight.sim.serve import beast_chunks
from overflight.sim.stream import simulate_stream

pytestmark = pytest.mark.slow

TOLERANCE_S = 120.0
STEP_S = 300.0
"""The feeders push this many simulated seconds at a time, then wait for the station to have
tracked them (``now`` in ``aircraft.json``): as fast as the station goes on a loaded machine,
never so fast that it drops a batch (a drop fails ``test_the_server_kept_up...``)."""

IL62, AN124 = "1551e0", "154073"

WINDOWS = (
    ("2019-03-22T19:38Z", "2019-03-22T19:52Z"),  # An-124 takes off from UUMU (19:45)
    ("2019-03-22T20:28Z", "2019-03-22T20:42Z"),  # Il-62 takes off from UUMU (20:35)
    ("2019-03-22T22:44Z", "2019-03-22T22:58Z"),  # An-124 lands at OSLK (22:52)
    ("2019-03-22T23:20Z", "2019-03-22T23:34Z"),  # Il-62 lands at OSLK (23:27)
    ("2019-03-23T01:42Z", "2019-03-23T01:56Z"),  # An-124 takes off from OSLK (01:49)
    ("2019-03-23T02:36Z", "2019-03-23T02:55Z"),  # Il-62 takes off from OSLK (02:44), the
    # An-124 still heard climbing out: both cross the Atlantic unheard for under 12 h
    ("2019-03-23T14:30Z", "2019-03-23T15:00Z"),  # both approach SVMI, the Il-62 on MLAT only
    ("2019-03-23T15:00Z", "2019-03-23T15:25Z"),  # ... and land (15:05, 15:18)
    ("2019-03-24T15:28Z", "2019-03-24T15:45Z"),  # the An-124 leaves SVMI (15:35)
)
LIVE_CHECK_AFTER = 6
"""Index of the window after which the live answers (aircraft.json, the map) are read: both
aircraft on their approach to Caracas."""


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Story:
    """What the server answered, gathered once for the module's tests."""

    truth: dict[str, list[dict[str, Any]]]
    start_time_s: float
    live: dict[str, Any] = field(default_factory=dict)
    map_drawn: dict[str, dict[str, Any]] = field(default_factory=dict)
    map_rows: list[str] = field(default_factory=list)
    map_panel: list[Any] = field(default_factory=list)
    map_errors: list[str] = field(default_factory=list)
    map_skipped: str = ""
    map_blocked: list[str] = field(default_factory=list)
    api_flights: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    cli_flights: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    server_log: str = ""
    report_md: str = ""
    returncode: int | None = None
    seconds: float = 0.0


def _wait(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _identity_store(shared: Callable[[str], Path], folder: Path) -> Path:
    from typer.testing import CliRunner

    from overflight.cli import app

    store = folder / "aircraft.sqlite"
    files = [shared("aircraft-plane-alert-db/plane-alert-db.csv"),
             shared("aircraft-db-tar1090/icao_aircraft_types2.json"),
             shared("aircraft-db-tar1090/operators.json")]
    res = CliRunner().invoke(app, ["db", "import", *map(str, files), "--db", str(store)])
    assert res.exit_code == 0, res.output
    return store


async def _play(sc: Any, port: int, url: str, story: Story) -> int:
    """Push the windows' frames over one loopback connection per receiver (Beast with its
    ``0xe3`` id and the scenario's own UTC in ``0xe9`` records), :data:`STEP_S` at a time;
    after window :data:`LIVE_CHECK_AFTER`, read the live answers. Returns frames sent."""
    ids = [r.receiver_id for r in sc.receivers]
    writers = {rid: (await asyncio.open_connection("127.0.0.1", port))[1] for rid in ids}
    sent = 0
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
            for k, (a, b) in enumerate(WINDOWS):
                from_s, to_s = _t(a) - sc.start_time_s, _t(b) - sc.start_time_s
                for result in simulate_stream(sc, from_s=from_s, to_s=to_s):
                    streams = [
                        ((due, i, data) for due, _, data in beast_chunks(
                            result, chunk_s=1.0, receiver_id=rid))
                        for i, rid in enumerate(ids)]
                    synced = None
                    for due, i, data in heapq.merge(*streams):
                        if synced is None:
                            synced = due
                        if due - synced >= STEP_S:
                            await _drain_until(client, writers, sc.start_time_s + synced)
                            synced = due
                        writers[ids[i]].write(data)
                    sent += len(result.frames)
                    if synced is not None:
                        await _drain_until(client, writers, sc.start_time_s + synced)
                if k == LIVE_CHECK_AFTER:
                    await _drain_until(client, writers, _t(b) - 30.0, both=True, story=story)
                    await asyncio.to_thread(_look_at_the_map, story, url)
    finally:
        for w in writers.values():
            w.close()
    return sent


async def _drain_until(client: httpx.AsyncClient, writers: dict[int, asyncio.StreamWriter],
                       time_s: float, *, both: bool = False, story: Story | None = None) -> None:
    """Send what is written, then wait until the station has tracked up to ``time_s`` (UTC
    epoch s; with ``both``, until both aircraft are in ``aircraft.json``, kept in ``story``)."""
    for w in writers.values():
        await w.drain()
    deadline = time.monotonic() + 180.0
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        doc = (await client.get("/data/aircraft.json")).json()
        seen = {a["hex"] for a in doc["aircraft"]}
        if doc.get("now", 0) >= time_s and (not both or {IL62, AN124} <= seen):
            if story is not None:
                story.live = doc
            return
        await asyncio.sleep(0.1)
    seen_now = [(a["hex"], a.get("seen"), a.get("type")) for a in doc.get("aircraft", [])]
    raise AssertionError(f"the station did not reach {time_s} (now {doc.get('now')}; "
                         f"aircraft {seen_now})")


def _chromium() -> str | None:
    """Debian's Chromium (where tests/server/test_browser.py finds it), else None."""
    import shutil

    for c in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(c).exists():
            return c
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _look_at_the_map(story: Story, url: str) -> None:
    """Open the map in Chromium (nothing but 127.0.0.1 reachable) and note what it drew (or
    why it could not be looked at)."""
    from urllib.parse import urlsplit

    from overflight.server.web import find_web_dist

    exe = _chromium()
    try:
        from playwright import sync_api
    except ImportError:
        story.map_skipped = "playwright not installed (pip install playwright)"
        return
    if exe is None:
        story.map_skipped = "Chromium not installed (Debian: apt-get install -y chromium)"
        return
    if find_web_dist() is None:
        story.map_skipped = "web map not built (npm ci --prefix web && npm run build --prefix web)"
        return
    try:
        _drive_the_map(story, url, sync_api, exe, urlsplit)
    except Exception as exc:  # said by the map test, the other answers still judged
        story.map_errors.append(f"{type(exc).__name__}: {exc}")


def _drive_the_map(story: Story, url: str, sync_api: Any, exe: str, urlsplit: Any) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda e: story.map_errors.append(f"pageerror: {e}"))

            def route(r: Any) -> None:
                if urlsplit(r.request.url).hostname == "127.0.0.1":
                    r.continue_()
                else:
                    story.map_blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(url + "/", wait_until="domcontentloaded")
            page.wait_for_function(
                "() => window.overflight && window.overflight.mapReady"
                " && window.overflight.map.loaded()", timeout=60_000)
            page.wait_for_function(
                "(hexes) => hexes.every(h => window.overflight.state.aircraft.has(h))",
                arg=[IL62, AN124], timeout=60_000)
            story.map_rows = page.eval_on_selector_all(
                "#list tbody tr", "rs => rs.map(r => r.dataset.hex)")
            # fly to Caracas so that both icons are on screen, then read what was drawn
            page.evaluate("window.overflight.map.jumpTo({center: [-66.99, 10.6], zoom: 6})")
            page.wait_for_function(
                "(hexes) => { const d = window.overflight.map.queryRenderedFeatures("
                "{layers: ['aircraft']}).map(f => f.properties.hex);"
                " return hexes.every(h => d.includes(h)); }",
                arg=[IL62, AN124], timeout=30_000)
            for f in page.evaluate(
                    "() => window.overflight.map.queryRenderedFeatures({layers: ['aircraft']})"
                    ".map(f => f.properties)"):
                story.map_drawn[str(f["hex"])] = f
            story.map_panel = page.evaluate("() => [...window.overflight.state.aircraft.values()]"
                                            ".map(e => e.rec)")
        finally:
            browser.close()


@pytest.fixture(scope="module")
def story(shared: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Story:
    t0 = time.perf_counter()
    tmp = tmp_path_factory.mktemp("caracas-sockets")
    spec = parse_scenario(SCENARIO_FILES["caracas-2019"], source="caracas-2019")
    sc = spec.scenario
    store = _identity_store(shared, tmp)
    receivers = tmp / "receivers.csv"
    write_receivers_csv(sc, receivers)
    db = tmp / "history.duckdb"
    ingest, http = _free_port(), _free_port()
    env = {**os.environ, "OVERFLIGHT_HOME": str(tmp / "home"), "PYTHONUNBUFFERED": "1"}
    log = (tmp / "serve.log").open("w+", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "overflight", "serve", "--listen-beast", str(ingest),
         "--http", f"127.0.0.1:{http}", "--db", str(db), "--alerts", "defaults",
         "--receivers", str(receivers), "--identity-db", str(store), "--stats-every-s", "5"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{http}"
    story = Story(truth={}, start_time_s=sc.start_time_s)
    client = httpx.Client(base_url=url, timeout=30.0)
    try:
        # up to minutes: the first run after a change to a kernel's sources compiles it
        _wait(lambda: server.poll() is not None
              or client.get("/data/aircraft.json").status_code == 200, 600,
              "the server's HTTP port")
        assert server.poll() is None, f"the server stopped:\n{_tail(log)}"
        asyncio.run(_play(sc, ingest, url, story))
        assert server.poll() is None, f"the server stopped:\n{_tail(log)}"
        _settle(client, story)
    finally:
        client.close()
        server.send_signal(signal.SIGINT)
        try:
            story.returncode = server.wait(120)
        except subprocess.TimeoutExpired:
            server.kill()
            story.returncode = server.wait(30)
        log.seek(0)
        story.server_log = log.read()
        log.close()
    for reg in ("RA-86496", "RA-82035"):
        res = subprocess.run(
            [sys.executable, "-m", "overflight", "history", "flights", reg, "--db", str(db),
             "--identity-db", str(store), "--format", "json"],
            capture_output=True, text=True, env=env, timeout=120, check=False)
        assert res.returncode == 0, res.stderr
        story.cli_flights[reg] = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
    res = subprocess.run(
        [sys.executable, "-m", "overflight", "report", "RA-86496", "--db", str(db),
         "--identity-db", str(store), "--out", str(tmp / "report")],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    story.report_md = (tmp / "report" / "report.md").read_text(encoding="utf-8")
    story.truth = {a["icao24"]: a["legs"] for a in truth_document(spec)["aircraft"]}
    story.seconds = time.perf_counter() - t0
    return story


def _tail(log: Any) -> str:
    log.flush()
    log.seek(0)
    text: str = log.read()
    return text[-3000:]


def _settle(client: httpx.Client, story: Story) -> None:
    """Once the last frames are tracked and stored: the alerts and the history API (what they
    say after a minute at most, for the tests to judge)."""
    _wait(lambda: float(client.get("/data/aircraft.json").json()["now"])
          >= _t(WINDOWS[-1][1]) - 30.0, 120, "the station to reach the last frame")

    def read() -> bool:
        story.alerts = client.get("/api/alerts").json()
        for reg in ("RA-86496", "RA-82035"):
            story.api_flights[reg] = client.get(f"/api/history/flights/{reg}").json()
        landed = {a["icao24"] for a in story.alerts.get("alerts", [])
                  if a.get("rule") == "military landed abroad"}
        legs = [len(_legs(d.get("flights", []))) for d in story.api_flights.values()]
        return landed >= {IL62, AN124} and min(legs) >= 2

    with contextlib.suppress(AssertionError):
        _wait(read, 60, "the alerts and the stored flights")


def _dropped(log: str) -> list[str]:
    """The server's statistics lines that say it dropped something (batches or updates)."""
    return [m.group(0) for m in re.finditer(r"dropped (\d+) batches[^\n]*", log)
            if m.group(1) != "0" or "subscriber" in m.group(0)]


def _legs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The legs with an airport at either end (a leg seen only in flight has none)."""
    return [r for r in rows if r["departure_airport"] or r["arrival_airport"]]


def _check_leg(row: dict[str, Any], leg: dict[str, Any]) -> None:
    """Airports and take-off / landing times within 2 minutes of the scenario's, each end
    labelled."""
    assert (row["departure_airport"], row["arrival_airport"]) == (
        leg["departure_airport"], leg["arrival_airport"])
    assert abs(_t(row["departure_time"]) - leg["takeoff_s"]) < TOLERANCE_S, row
    assert abs(_t(row["arrival_time"]) - leg["landing_s"]) < TOLERANCE_S, row
    for end in ("departure", "arrival"):
        assert row[f"{end}_how"] in ("observed", "inferred")
        assert row[f"{end}_airport_how"] in ("observed", "inferred")


STORY = (("RA-86496", IL62), ("RA-82035", AN124))


def test_the_server_kept_up_and_stopped_cleanly(story: Story) -> None:
    print(f"caracas-2019 over real sockets: {story.seconds:.0f} s in all")
    assert story.returncode == 0, story.server_log[-3000:]
    assert "Traceback" not in story.server_log, story.server_log[-3000:]
    assert _dropped(story.server_log) == []
    assert re.search(r"MLAT: \d+ receptions, \d+ fixes, [1-9]\d* applied", story.server_log)


@pytest.mark.parametrize(("reg", "hexa"), STORY)
def test_cli_one_journey_uumu_oslk_svmi_with_a_stop(story: Story, reg: str, hexa: str) -> None:
    truth = story.truth[hexa]
    rows = _legs(story.cli_flights[reg])
    assert [r["icao24"] for r in rows] == [hexa] * len(rows)
    for row, leg in zip(rows[:2], truth[:2], strict=True):
        _check_leg(row, leg)
        assert row["registration"] == reg
    first, second = rows[0]["journey"], rows[1]["journey"]
    assert first["id"] == second["id"]
    assert (first["leg"], second["leg"]) == (1, 2)
    assert first["route"][:3] == ["UUMU", "OSLK", "SVMI"]
    assert first["stop_before"] is None
    stop = second["stop_before"]
    assert stop["airport"] == "OSLK"
    ground_s = truth[1]["takeoff_s"] - truth[0]["landing_s"]
    assert abs(stop["duration_s"] - ground_s) < 2 * TOLERANCE_S
    assert stop["label"] == f"stop at OSLK, {ground_s / 3600:.1f} h"
    # the ocean: hours without a position, further than any receiver hears
    (ocean,) = [g for g in rows[1]["coverage_gaps"] if g["duration_s"] > 6 * 3600]
    assert ocean["coverage"] == "none"
    assert ocean["farthest_from_receivers_km"] > 2000
    assert ocean["label"].startswith("gap over no coverage, ")
    assert ocean["distance_km"] > 5000
    assert [ocean["start"], ocean["end"]] in [
        [a[:19] + "Z", b[:19] + "Z"] for a, b in rows[1]["gaps"]]


def test_cli_il62_last_leg_located_by_mlat(story: Story) -> None:
    rows = _legs(story.cli_flights["RA-86496"])
    assert rows[0]["position_sources"] == ["adsb"]
    assert "mlat" in rows[-1]["position_sources"]
    assert rows[-1]["arrival_airport"] == "SVMI"


def test_cli_an124_leaves_svmi_on_24_march(story: Story) -> None:
    rows = _legs(story.cli_flights["RA-82035"])
    (out,) = [r for r in rows if r["departure_airport"] == "SVMI"]
    assert out["departure_time"].startswith("2019-03-24T")
    assert abs(_t(out["departure_time"]) - story.truth[AN124][2]["takeoff_s"]) < TOLERANCE_S
    assert out["journey"]["leg"] == 3  # a day at Caracas: the same journey goes on
    assert out["journey"]["stop_before"]["airport"] == "SVMI"


@pytest.mark.parametrize(("reg", "hexa"), STORY)
def test_history_api_flights(story: Story, reg: str, hexa: str) -> None:
    doc = story.api_flights[reg]
    assert doc["aircraft"] == [hexa] and doc["matched"] == "registration"
    rows = _legs(doc["flights"])
    for row, leg in zip(rows[:2], story.truth[hexa][:2], strict=True):
        _check_leg(row, leg)
        assert row["registration"] == reg
    if hexa == IL62:
        assert "mlat" in rows[1]["position_sources"]
    # the same legs as the command line reads from the same database once the server stopped
    # (the An-124's last leg, still in the air, is stored when the server stops)
    cli = _legs(story.cli_flights[reg])
    assert [(r["flight_id"], r["departure_time"], r["arrival_time"]) for r in rows[:2]] == [
        (r["flight_id"], r["departure_time"], r["arrival_time"]) for r in cli[:2]]
    # the API tells the journey and the ocean gap as the command line does
    # (while it ran, the An-124's leg out of Caracas was still open, not yet stored)
    assert [(j["id"], j["leg"], j["stop_before"], j["route"][:3]) for j in
            (r["journey"] for r in rows[:2])] == [
        (j["id"], j["leg"], j["stop_before"], j["route"][:3]) for j in
        (r["journey"] for r in cli[:2])]
    assert rows[1]["journey"]["stop_before"]["airport"] == "OSLK"
    assert [g["label"] for g in rows[1]["coverage_gaps"]] == [
        g["label"] for g in cli[1]["coverage_gaps"]]
    assert any(g["coverage"] == "none" and g["duration_s"] > 6 * 3600
               for g in rows[1]["coverage_gaps"])


def test_live_aircraft_json_identities_and_mlat(story: Story) -> None:
    """While both approach Caracas: the Il-62 placed by MLAT, the An-124 by ADS-B, both with
    their identities from the registry (Russian Air Force, military)."""
    ac = {a["hex"]: a for a in story.live["aircraft"]}
    il62, an124 = ac[IL62], ac[AN124]
    assert il62["type"] == "mlat" and {"lat", "lon"} <= set(il62["mlat"])
    assert an124["type"] == "adsb_icao" and "lat" not in an124.get("mlat", [])
    for a, reg, typ in ((il62, "RA-86496", "IL62"), (an124, "RA-82035", "A124")):
        assert (a["r"], a["t"], a["ownOp"]) == (reg, typ, "Russian Air Force")
        assert a["dbFlags"] & 1  # military
        assert 9.0 < a["lat"] < 13.0 and -70.0 < a["lon"] < -60.0
    assert "Il-62" in il62["desc"] or "IL-62" in il62["desc"].upper()
    assert "124" in an124["desc"]


def test_alert_military_landed_abroad_once_each_at_svmi(story: Story) -> None:
    """The default rule fires once for each aircraft at Caracas (and, rightly, at Latakia:
    Syria is not Russia either), with the identity from the registry."""
    fired = [a for a in story.alerts["alerts"] if a["rule"] == "military landed abroad"]
    where = sorted((a["icao24"], a["airport"], a["time"]) for a in fired)
    for hexa, reg in ((IL62, "RA-86496"), (AN124, "RA-82035")):
        at_svmi = [a for a in fired if a["icao24"] == hexa and a["airport"] == "SVMI"]
        assert len(at_svmi) == 1, where
        (a,) = at_svmi
        assert a["kind"] == "landed"
        assert abs(a["time_s"] - story.truth[hexa][1]["landing_s"]) < TOLERANCE_S
        assert (a["registration"], a["operator"], a["military"], a["country_code"]) == (
            reg, "Russian Air Force", True, "RU")
        others = {x["airport"] for x in fired if x["icao24"] == hexa} - {"SVMI"}
        assert others <= {"OSLK"}, where


def test_map_shows_both_aircraft(story: Story) -> None:
    """The web map in Chromium, offline: both aircraft listed and drawn near Caracas, the
    Il-62's icon marked as an MLAT position."""
    if story.map_skipped:
        pytest.skip(story.map_skipped)
    assert {IL62, AN124} <= set(story.map_rows)
    assert story.map_drawn[IL62]["src"] == "mlat"
    assert story.map_drawn[AN124]["src"] == "adsb"
    assert story.map_blocked == []
    assert story.map_errors == []


def test_report_tells_the_journey_and_the_ocean_gap(story: Story) -> None:
    """``overflight report RA-86496``: the second leg is the journey's second, after the stop
    at Latakia, and its hours over the Atlantic are a gap over no coverage."""
    md = story.report_md
    assert "Russian Air Force" in md
    legs = md.split("### Leg ")[1:]
    assert legs[0].startswith("1: UUMU to OSLK") and legs[1].startswith("2: OSLK to SVMI")
    assert "journey: leg 1 of 2 (UUMU → OSLK → SVMI)" in legs[0]
    assert re.search(r"journey: leg 2 of 2 \(UUMU → OSLK → SVMI\), after stop at OSLK, 3\.\d h",
                     legs[1])
    assert re.search(r"gap over no coverage, 11\.\d h \([\d,]+ km\)", legs[1])
    assert "mlat" in legs[1].split("positions by source:")[1].splitlines()[0]
