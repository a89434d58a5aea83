"""The web map (``web/``, built to ``web/dist``) in headless Chromium, with every request to
anything but the loopback server aborted: the page must work with no internet at all.

Servers: the real one (a live station fed the real dump1090 capture over a real socket, with
the identity store of ``conftest.py``: registry rows, 3981E4 flagged military by a user row), and
a tiny Starlette app serving the same built page beside a crafted ``aircraft.json`` with hostile
strings, MLAT and stale positions, a military aircraft with a position and ``simulated: true``,
and stand-ins for the history and alerts APIs (their formats as ``overflight.history.export``
writes them).

A third: the history API over a real DuckDB history (``overflight ingest`` of the CDG -> Toulouse
A321 and of the Beast capture, placed in time beside it) with alerts from the same flight, for
single-aircraft and area replay and alerts that open their flight.

Needs Debian's ``chromium`` and the ``playwright`` package (never ``playwright install``), and a
built ``web/dist``: built here with ``npm ci && npm run build`` when npm exists, else skipped with
the reason. Screenshots are written under each test's tmp dir and their paths printed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from overflight.geo import haversine_m
from overflight.history.query import History, parse_area
from overflight.server import serve_http
from overflight.server.web import (
    BUILD_COMMAND,
    ENV_VAR,
    NOT_BUILT_DIR,
    default_web_root,
    find_web_dist,
)
from overflight.station import StationConfig

from .conftest import REGISTRY, LiveServer, running_server, wait_for
from .test_browser import _chromium

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# ------------------------------------------------------------------ fixtures: build, browser
@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The built web map; built here (``npm ci``, ``npm run build``) when missing and npm
    exists, else the tests skip."""
    found = find_web_dist()
    if found is not None:
        return found
    if os.environ.get(ENV_VAR):
        pytest.skip(f"{ENV_VAR}={os.environ[ENV_VAR]} holds no built web map")
    npm = shutil.which("npm")
    if npm is None or not (WEB / "package-lock.json").is_file():
        pytest.skip(f"web map not built and npm not found: run `{BUILD_COMMAND}`")
    for args in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
        done = subprocess.run([npm, *args, "--prefix", str(WEB)], capture_output=True, text=True,
                              timeout=900, check=False)
        assert done.returncode == 0, f"npm {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    found = find_web_dist()
    assert found is not None, "npm run build wrote no web/dist/index.html"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install playwright)")
    exe = _chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True,
                              args=["--no-sandbox", "--use-angle=swiftshader",
                                    "--enable-unsafe-swiftshader"])
        try:
            yield b
        finally:
            b.close()


class Page:
    """A page that may only talk to 127.0.0.1: ``blocked`` lists every other URL it tried,
    ``errors`` its uncaught exceptions and console errors."""

    def __init__(self, browser: Any, width: int = 1500, height: int = 900,
                 expected: tuple[str, ...] = ()) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.expected = ("404", *expected)
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", self._console)
        self.page.route("**/*", self._route)

    def _console(self, msg: Any) -> None:
        # a 404 from an optional API (history, alerts) is logged by Chromium as a failed load
        if msg.type == "error" and not any(x in msg.text for x in self.expected):
            self.errors.append(f"console: {msg.text}")

    def _route(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def open(self, url: str) -> Any:
        self.page.goto(url, wait_until="domcontentloaded")
        self.page.wait_for_function(
            "() => window.overflight && window.overflight.mapReady"
            " && window.overflight.map.loaded() && window.overflight.map.isSourceLoaded('land')",
            timeout=60_000)
        return self.page

    def shot(self, path: Path) -> None:
        self.page.screenshot(path=str(path))
        print(f"\nweb map screenshot: {path}")

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Page]]:
    pages: list[Page] = []

    def make(**kw: Any) -> Page:
        p = Page(browser, **kw)
        pages.append(p)
        return p

    yield make
    for p in pages:
        p.close()


def rendered(page: Any, layer: str = "aircraft") -> list[dict[str, Any]]:
    """Properties of the features MapLibre drew in ``layer`` (on screen now)."""
    props: list[dict[str, Any]] = page.evaluate(
        "(layer) => window.overflight.map.queryRenderedFeatures({layers: [layer]})"
        ".map(f => f.properties)", layer)
    return props


def click_aircraft(page: Any, hex_: str) -> None:
    """Click the aircraft's icon on the map where MapLibre drew it."""
    xy = page.evaluate(
        """(hex) => {
            const e = window.overflight.state.aircraft.get(hex);
            const p = window.overflight.map.project([e.rec.lon, e.rec.lat]);
            const r = document.getElementById('map').getBoundingClientRect();
            return [r.left + p.x, r.top + p.y];
        }""", hex_)
    page.mouse.click(xy[0], xy[1])


# ------------------------------------------------------------------ the real station
@pytest.fixture(scope="module")
def map_server(capture: Path, identity_db: Path, web_dist: Path) -> Iterator[LiveServer]:
    config = StationConfig(listen_beast=0, identity_db=identity_db, snapshot_every_s=0.2,
                           receiver_lat_lon=(43.63, 1.37))
    with running_server(config, web_root=web_dist, live_period_s=0.5) as srv:
        srv.push(capture.read_bytes())
        wait_for(lambda: "PH-HXB" in srv.get("/data/aircraft.json").text, 120,
                 "the capture's aircraft in aircraft.json")
        yield srv


def test_map_loads_offline_with_the_captures_aircraft(
    map_server: LiveServer, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """Basemap land drawn, the capture's positioned aircraft drawn as icons, the list shows all
    three tracked aircraft; nothing outside the loopback server was requested; the live push
    connected."""
    p = new_page()
    page = p.open(map_server.url + "/")
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['aircraft']})"
        ".some(f => f.properties.hex === '48520a')", timeout=60_000)
    page.wait_for_function("() => document.getElementById('status').textContent.includes('live')",
                           timeout=30_000)
    p.shot(tmp_path / "map.png")
    assert rendered(page, "land"), "no land drawn around the receiver (Toulouse)"
    drawn = {f["hex"]: f for f in rendered(page)}
    assert "48520a" in drawn
    assert drawn["48520a"]["src"] == "adsb"
    assert drawn["48520a"]["icon"].startswith("ac-")
    rows = page.eval_on_selector_all("#list tbody tr", "rs => rs.map(r => r.dataset.hex)")
    assert {"48520a", "3981e4", "44ce69"} <= set(rows)
    assert page.evaluate("document.getElementById('simulated-banner').hidden") is True
    assert p.blocked == []
    assert p.errors == []


def test_clicking_an_aircraft_opens_its_panel(
    map_server: LiveServer, new_page: Callable[..., Page], registry_rows: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    p = new_page()
    page = p.open(map_server.url + "/")
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['aircraft']})"
        ".some(f => f.properties.hex === '48520a')", timeout=60_000)
    click_aircraft(page, "48520a")
    page.wait_for_selector("#panel:not([hidden])", timeout=10_000)
    page.wait_for_function(
        "() => document.getElementById('p-flights').textContent !== 'loading…'", timeout=10_000)
    p.shot(tmp_path / "panel.png")
    fields = dict(zip(page.eval_on_selector_all("#p-fields dt", "ds => ds.map(d => d.textContent)"),
                      page.eval_on_selector_all("#p-fields dd", "ds => ds.map(d => d.textContent)"),
                      strict=True))
    row = registry_rows["48520A"]
    assert fields["Address"] == "48520A"
    assert fields["Registration"] == row[1] == "PH-HXB"
    assert fields["Type"] == f"{row[2]} — {row[4]}"  # B738 — BOEING 737-800
    assert fields["Callsign"] == "TRA89M"
    assert fields["Squawk"] == "5516"
    assert "Netherlands" in fields["Country"]
    assert "38,000 ft" in fields["Altitude"]
    assert fields["Position source"].startswith("ADS-B")
    assert "?icao=48520a" in page.url
    # no history API on this server: said so, nothing broken
    assert page.text_content("#p-flights") == "no flight history on this server"
    assert p.blocked == []
    assert p.errors == []


def test_military_filter_hides_civil_aircraft(
    map_server: LiveServer, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """3981E4 is military (a user row in the store); the filter leaves only it, and ``?mil``
    does the same from the URL."""
    p = new_page()
    page = p.open(map_server.url + "/")
    page.wait_for_function("() => window.overflight.visible.includes('48520a')", timeout=60_000)
    page.check("#f-mil")
    page.wait_for_function("() => window.overflight.visible.join() === '3981e4'", timeout=10_000)
    rows = page.eval_on_selector_all("#list tbody tr", "rs => rs.map(r => r.dataset.hex)")
    assert rows == ["3981e4"]
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['aircraft']}).length === 0",
        timeout=10_000)  # 3981E4 has no position: no icon left
    p.shot(tmp_path / "military.png")
    page.uncheck("#f-mil")
    page.wait_for_function("() => window.overflight.visible.includes('48520a')", timeout=10_000)

    page2 = p.open(map_server.url + "/?mil")
    page2.wait_for_function("() => window.overflight.state.aircraft.size >= 3", timeout=60_000)
    assert page2.evaluate("window.overflight.visible") == ["3981e4"]
    assert page2.is_checked("#f-mil")
    assert p.errors == []


def test_url_parameters_select_an_aircraft(
    map_server: LiveServer, new_page: Callable[..., Page]
) -> None:
    p = new_page()
    page = p.open(map_server.url + "/?icao=44ce69")
    page.wait_for_selector("#panel:not([hidden])", timeout=30_000)
    page.wait_for_function(
        "() => document.getElementById('p-fields').textContent.includes('OO-SSI')",
        timeout=30_000)
    page = p.open(map_server.url + "/?reg=PH-HXB")
    page.wait_for_function(
        "() => window.overflight.state.selected === '48520a'", timeout=30_000)
    assert page.text_content("#p-title") == "PH-HXB · TRA89M"
    assert p.errors == []


# ------------------------------------------------------------------ the real history API
FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
A321 = "393322"
"""F-GMZC, AFR34ZG, LFPG -> LFBO on 2024-07-06 (full_flight_short)."""
BEAST_START_S = 1_720_252_100.0
"""The Beast capture has no absolute time: it is stored as heard from 07:48:20 UTC, when the
A321 entered 40 km around Toulouse, so both are in the Toulouse area together."""
AREA = (43.3, 0.8, 44.3, 2.2)
"""S, W, N, E around Toulouse: the A321 on approach and 48520A at FL380."""
ALERT_RULES = """
[[rule]]
name = "approach to Toulouse"
select = {}
when = { entered = { circle = { lat = 43.635, lon = 1.368, radius_km = 40 } } }
notify = ["log"]

[[rule]]
name = "landed at LFBO"
select = {}
when = { landed = { airport = "LFBO" } }
notify = ["log"]
"""
"""One alert without a flight (entering a circle) and one with its flight_id (landing)."""


def _ingest(home: Path, *args: str) -> None:
    env = {**os.environ, "OVERFLIGHT_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "overflight", "ingest", *args], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])


@dataclass
class HistoryMap:
    """A server with the history API over a real database and alerts from the real flight."""

    srv: LiveServer
    history: History
    alerts: list[dict[str, Any]]


@pytest.fixture(scope="module")
def history_map(shared: Callable[[str], Path], capture: Path, web_dist: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryMap]:
    """``overflight ingest`` of the CDG -> Toulouse A321 and of the Beast capture (placed at
    :data:`BEAST_START_S`) into a DuckDB history, identities from the real tar1090-db rows of
    their aircraft; alerts from an :class:`AlertService` fed the same flight through a station;
    the app built as ``overflight serve`` builds it (history routes, alert routes, the map)."""
    from overflight.alerts import parse_rules
    from overflight.alerts.routes import alert_routes
    from overflight.alerts.service import AlertService
    from overflight.alerts.store import AlertStore
    from overflight.history import open_history
    from overflight.identity import Identifier, import_file, open_store
    from overflight.server.api_history import history_routes
    from overflight.station import Station

    flight = shared(FULL_FLIGHT)
    home = tmp_path_factory.mktemp("history-map")
    want = (A321.upper(), "48520A", "3981E4", "44CE69", "440062")
    with gzip.open(shared(REGISTRY), "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    (home / "aircraft.csv").write_text(
        lines[0] + "".join(x for x in lines[1:] if x.upper().startswith(want)), encoding="utf-8")
    ids = home / "aircraft.sqlite"
    con = open_store(ids)
    import_file(con, home / "aircraft.csv")
    con.close()
    db = home / "history.duckdb"
    _ingest(home, str(flight), "--db", str(db), "--identity-db", str(ids))
    _ingest(home, str(capture), "--db", str(db), "--identity-db", str(ids),
            "--start-time", str(BEAST_START_S))

    # the alerts' own store file (AlertStore.open where the store is a DuckDB file of its own,
    # the alerts helper's change under way; AlertStore(path) before it)
    make: Any = AlertStore
    store = make.open(home / "alerts.duckdb") if hasattr(make, "open") else make(
        home / "alerts.sqlite")
    service = AlertService(parse_rules(ALERT_RULES, "test rules"), store=store)
    station = Station(StationConfig(identify=False))
    service.attach(station, block=True)
    try:
        station.run_file(flight)
    finally:
        station.close()
    alerts = service.recent()
    history = History(open_history(db, read_only=True), Identifier(ids))
    routes, paths = history_routes(history)
    config = StationConfig(listen_beast=0, identify=False, receiver_lat_lon=(43.63, 1.37))
    try:
        with running_server(config, web_root=web_dist, extra_paths=paths,
                            extra_routes=[*routes, *alert_routes(service)]) as srv:
            yield HistoryMap(srv, history, alerts)
    finally:
        service.close()
        history.close()


def stored_at(history: History, hex_: str, t_s: float) -> tuple[float, float]:
    """(lon, lat) of the stored track at ``t_s``: linear between the stored positions around
    it."""
    p = history.positions(int(hex_, 16), False, t_s - 900, t_s + 900)
    t = p.column("time_s").to_numpy()
    lat = p.column("lat_deg").to_numpy()
    lon = p.column("lon_deg").to_numpy()
    order = np.argsort(t, kind="stable")
    t, lat, lon = t[order], lat[order], lon[order]
    assert t[0] <= t_s <= t[-1], (hex_, t_s, t[0], t[-1])
    i = int(np.searchsorted(t, t_s, side="right")) - 1
    j = min(i + 1, len(t) - 1)
    f = (t_s - t[i]) / (t[j] - t[i]) if t[j] > t[i] else 0.0
    return float(lon[i] + (lon[j] - lon[i]) * f), float(lat[i] + (lat[j] - lat[i]) * f)


def panel_fields(page: Any) -> dict[str, str]:
    """The panel's fields, name -> text."""
    return dict(zip(page.eval_on_selector_all("#p-fields dt", "ds => ds.map(d => d.textContent)"),
                    page.eval_on_selector_all("#p-fields dd", "ds => ds.map(d => d.textContent)"),
                    strict=True))


def metres(a: list[float] | tuple[float, float], b: tuple[float, float]) -> float:
    return float(haversine_m(a[1], a[0], b[1], b[0]))


def seek(page: Any, offset_ms: float | None = None, at_ms: float | None = None) -> float:
    """Move the replay slider as a user does (value, then an input event); the time (ms) the
    page took."""
    t: float = page.evaluate(
        """([off, at]) => { const s = document.getElementById('r-slider');
            s.value = String(at !== null ? at : Number(s.min) + off);
            s.dispatchEvent(new Event('input'));
            return window.overflight.state.replay.t; }""", [offset_ms, at_ms])
    return t


def test_replay_on_the_real_history_api(
    history_map: HistoryMap, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """The A321's stored track from /api/history/track: the slider puts it where the stored
    positions say it was at the slider's time, and moving the slider moves it."""
    p = new_page()
    page = p.open(history_map.srv.url + f"/?icao={A321}")
    page.wait_for_selector("#panel:not([hidden])", timeout=30_000)
    page.click("#p-replay")
    page.fill("#r-from", "2024-07-06T07:40:00")
    page.fill("#r-to", "2024-07-06T07:50:00")
    page.click("#r-load")
    page.wait_for_function("() => !document.getElementById('r-slider').disabled", timeout=30_000)
    want = history_map.history.track(A321, _t("2024-07-06T07:40:00Z"),
                                     _t("2024-07-06T07:50:00Z")).positions
    msg = page.text_content("#r-msg") or ""
    assert msg.startswith(f"{want.num_rows} positions"), msg
    t_first = min(want.column("time_s").to_pylist())
    first = page.evaluate("window.overflight.replayPosition")
    assert metres(first, stored_at(history_map.history, A321, t_first)) < 1.0
    for off in (95_000, 333_000, 540_000):
        t = seek(page, off)
        at = page.evaluate("window.overflight.replayPosition")
        assert metres(at, stored_at(history_map.history, A321, t / 1000)) < 5.0, off
    assert metres(at, tuple(first)) > 30_000  # nine minutes at 250+ kt
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['replay-ac']}).length === 1",
        timeout=10_000)
    p.shot(tmp_path / "replay-real.png")
    assert p.blocked == []
    assert p.errors == []


def test_area_replay_moves_every_aircraft_together(
    history_map: HistoryMap, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """The map's view around Toulouse as the area: the page replays exactly the aircraft
    /api/history/area names there (the A321 and 48520A), each where its stored track puts it at
    the slider's time; 48520A (24 s of capture) leaves the replay when its track ends."""
    from overflight.history.query import Area

    p = new_page()
    page = p.open(history_map.srv.url + "/")
    s, w, n, e = AREA
    page.evaluate("([s, w, n, e]) => { window.overflight.fixedView = true; window.overflight.map"
                  ".fitBounds([[w, s], [e, n]], {duration: 0, padding: 0}); }", [s, w, n, e])
    page.click("#area-replay")
    page.wait_for_selector("#replay:not([hidden])", timeout=10_000)
    box = [float(x) for x in (page.text_content("#r-who") or "").split()[-1].split(",")]
    assert box[0] <= s and box[1] <= w and box[2] >= n and box[3] >= e, box
    page.fill("#r-from", "2024-07-06T07:47:00")
    page.fill("#r-to", "2024-07-06T07:50:00")
    page.click("#r-load")
    page.wait_for_function("() => !document.getElementById('r-slider').disabled", timeout=60_000)
    t0, t1 = _t("2024-07-06T07:47:00Z"), _t("2024-07-06T07:50:00Z")
    seen = history_map.history.area(Area(*box), t0, t1).to_pylist()
    want = {f"{int(r['address']):06x}" for r in seen}
    assert want == {A321, "48520a"}
    tracks = page.evaluate("window.overflight.state.replay.tracks.map(x => x.hex)")
    assert set(tracks) == want

    beast = history_map.history.positions(0x48520A, False, t0, t1).column("time_s").to_numpy()
    assert len(beast) >= 2
    mid_ms = (beast[0] + beast[-1]) / 2 * 1000
    t = seek(page, at_ms=mid_ms)
    where = page.evaluate("window.overflight.replayPositions")
    assert set(where) == want and all(where.values())  # both in the air together
    for hex_ in want:
        assert metres(where[hex_], stored_at(history_map.history, hex_, t / 1000)) < 5.0, hex_
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['replay-ac']}).length === 2",
        timeout=10_000)
    assert "2 of 2 aircraft" in (page.text_content("#r-time") or "")
    p.shot(tmp_path / "area-replay.png")

    t_late = seek(page, at_ms=beast[-1] * 1000 + 60_000)  # a minute after 48520A's last position
    where_late = page.evaluate("window.overflight.replayPositions")
    assert where_late["48520a"] is None
    assert metres(where_late[A321], stored_at(history_map.history, A321, t_late / 1000)) < 5.0
    assert metres(where_late[A321], tuple(where[A321])) > 5_000  # it moved on
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['replay-ac']}).length === 1",
        timeout=10_000)
    page.click("#r-play")
    page.wait_for_function("() => !window.overflight.state.replay.playing", timeout=30_000)
    assert page.evaluate("window.overflight.state.replay.t") == pytest.approx(
        page.evaluate("Number(document.getElementById('r-slider').max)"))
    assert p.blocked == []
    assert p.errors == []


def test_an_alert_opens_the_aircraft_and_its_flight(
    history_map: HistoryMap, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """Clicking an alert in the list opens the aircraft's panel, marks its flight there and
    replays that flight with the slider at the alert's time: by ``flight_id`` (the landing) or,
    without one (entering the Toulouse circle), by the flight whose span holds the alert."""
    by_rule = {a["rule"]: a for a in history_map.alerts}
    assert set(by_rule) == {"approach to Toulouse", "landed at LFBO"}
    (flight,) = history_map.history.flights(((0x393322, False),)).to_pylist()
    assert by_rule["landed at LFBO"]["flight_id"] == flight["flight_id"]
    # entering a circle carries no flight here (the page looks the flight up by time); the
    # crafted alert below always goes that way, whatever the engine adds later
    assert by_rule["approach to Toulouse"]["flight_id"] in (None, flight["flight_id"])

    p = new_page()
    page = p.open(history_map.srv.url + "/")
    page.wait_for_function(
        "() => document.querySelectorAll('#alerts-list .alert-item').length === 2", timeout=30_000)
    items = page.eval_on_selector_all(
        "#alerts-list .alert-item", "xs => xs.map(x => [x.textContent, x.dataset.hex])")
    assert items[0][0].startswith("07:58") and "landed at LFBO" in items[0][0]  # newest first
    assert "approach to Toulouse" in items[1][0]
    for rule, index in (("approach to Toulouse", 2), ("landed at LFBO", 1)):
        alert = by_rule[rule]
        page.click(f"#alerts-list .alert-item:nth-child({index})")
        page.wait_for_function(
            "([id, t]) => window.overflight.alertFlight === id"
            " && !document.getElementById('r-slider').disabled"
            " && Math.abs(window.overflight.state.replay.t - t) < 1000",
            arg=[flight["flight_id"], alert["time_s"] * 1000], timeout=30_000)
        assert page.evaluate("window.overflight.state.selected") == A321
        fields = panel_fields(page)
        assert fields["Address"] == A321.upper()
        assert fields["Registration"] == "F-GMZC"  # from its stored flights: not live
        assert fields["Type"] == "A321" and "France" in fields["Country"]
        assert page.text_content("#p-title") == "F-GMZC · AFR34ZG"
        page.wait_for_selector("#p-flights tr.focus", timeout=10_000)
        assert page.get_attribute("#p-flights tr.focus", "data-flight-id") == flight["flight_id"]
        assert "LFPG → LFBO" in (page.text_content("#r-who") or "")
        t = page.evaluate("window.overflight.state.replay.t")
        at = page.evaluate("window.overflight.replayPosition")
        assert metres(at, stored_at(history_map.history, A321, t / 1000)) < 5.0
        if alert["lat_deg"] is not None:
            assert metres(at, (alert["lon_deg"], alert["lat_deg"])) < 2_000, rule
        p.shot(tmp_path / f"alert-{alert['kind']}.png")
    assert p.blocked == []
    assert p.errors == []

# ------------------------------------------------------------------ crafted data
HOSTILE_REG = '<img src=x onerror="window.__pwned=1">'
HOSTILE_OP = "<script>window.__pwned=2</script>Evil Air"
HOSTILE_CALLSIGN = '"><svg/onload=window.__pwned=3>'
HOSTILE_DESC = "<b onmouseover=window.__pwned=4>BOLD</b>"
HOSTILE_AIRPORT = '<iframe src="javascript:window.__pwned=5">'
HOSTILE_ALERT = "<img src=y onerror=window.__pwned=6> squawk 7700"
NOW_S = 1_720_248_189.0
NO_WEBSOCKET = ("WebSocket",)
"""The crafted app has no /ws/aircraft: the page falls back to polling (Chromium logs the
refused WebSocket as a console error)."""

CRAFTED: dict[str, Any] = {
    "now": NOW_S, "messages": 1234, "simulated": True,
    "aircraft": [
        {"hex": "4ca123", "type": "adsb_icao", "flight": HOSTILE_CALLSIGN, "r": HOSTILE_REG,
         "t": "A320", "desc": HOSTILE_DESC, "ownOp": HOSTILE_OP, "dbFlags": 2,
         "alt_baro": 12000, "gs": 310.5, "track": 90.0, "squawk": "7700", "emergency": "general",
         "category": "A3", "lat": 52.0, "lon": 4.0, "seen_pos": 0.5, "mlat": [], "tisb": [],
         "messages": 100, "seen": 0.2, "rssi": -10.0},
        {"hex": "3b7777", "type": "mlat", "alt_baro": 25000, "track": 200.0,
         "lat": 51.2, "lon": 5.1, "seen_pos": 1.0, "mlat": ["lat", "lon", "track"], "tisb": [],
         "mlat_error_m": 55.0, "messages": 40, "seen": 0.5, "rssi": -20.0},
        {"hex": "ae0455", "type": "adsb_icao", "flight": "RCH123  ", "r": "05-5151", "t": "C17",
         "dbFlags": 1, "alt_baro": 31000, "gs": 420.0, "track": 45.0, "category": "A5",
         "lat": 50.5, "lon": 3.5, "seen_pos": 0.1, "mlat": [], "tisb": [], "messages": 300,
         "seen": 0.1, "rssi": -5.0},
        {"hex": "484506", "type": "adsb_icao", "flight": "KLM1234 ", "r": "PH-BXA", "t": "B738",
         "alt_baro": "ground", "gs": 12.0, "track": 300.0, "category": "A3",
         "lat": 52.3, "lon": 4.76, "seen_pos": 40.0, "mlat": [], "tisb": [], "messages": 20,
         "seen": 1.0, "rssi": -30.0},
    ],
}
TRACK = [  # rows as overflight.history.export.positions_jsonl writes them
    {"time": None, "icao24": "4ca123", "time_s": NOW_S - 600 + 60 * i,
     "lat_deg": 51.0 + 0.1 * i, "lon_deg": 3.0 + 0.1 * i, "altitude_ft": 10000.0 + 200 * i,
     "source": "adsb"}
    for i in range(11)
]
FLIGHTS = [{"flight_id": "f1", "icao24": "4ca123", "registration": HOSTILE_REG,
            "callsigns": [HOSTILE_CALLSIGN], "departure_airport": "EHAM",
            "departure_airport_name": HOSTILE_AIRPORT, "departure_time": "2024-07-06T05:00:00Z",
            "arrival_airport": "LFPG", "arrival_airport_name": "Paris Charles de Gaulle",
            "arrival_time": "2024-07-06T06:10:00Z"}]


AREA_SEEN = {f"aa00{i:02x}": i for i in range(60)}
"""The area stand-in's aircraft (address -> stored positions there): more than the page's cap
of 50 track requests."""


def crafted_app(dist: Path) -> Starlette:
    async def aircraft(request: Request) -> Response:
        return JSONResponse(CRAFTED)

    async def receiver(request: Request) -> Response:
        return JSONResponse({"version": "crafted", "refresh": 1000, "lat": 51.5, "lon": 4.5})

    async def track(request: Request) -> Response:
        assert request.query_params["format"] == "json"
        ident = request.path_params["ident"]
        if ident in AREA_SEEN:
            i = AREA_SEEN[ident]
            return JSONResponse({"positions": [
                {"time_s": NOW_S - 300 + 10 * k, "lat_deg": 50.0 + 0.02 * i,
                 "lon_deg": 3.0 + 0.01 * k, "altitude_ft": 1000.0 * i} for k in range(3)]})
        return JSONResponse(TRACK if ident == "4ca123" else [])

    async def area(request: Request) -> Response:
        parse_area(request.query_params["bbox"], None)  # what the real API accepts
        return JSONResponse({"count": len(AREA_SEEN), "aircraft": [
            {"icao24": h, "callsigns": [HOSTILE_CALLSIGN] if i == 59 else [], "positions": i}
            for h, i in AREA_SEEN.items()]})

    async def flights(request: Request) -> Response:
        return JSONResponse({"flights": FLIGHTS})

    async def airport(request: Request) -> Response:
        return JSONResponse({"airport": "EHAM", "date": request.query_params.get("date"),
                             "departures": FLIGHTS, "arrivals": []})

    async def alerts(request: Request) -> Response:
        return JSONResponse([{"time": "2024-07-06T06:43:00Z", "icao24": "4ca123",
                              "message": HOSTILE_ALERT}])

    return Starlette(routes=[
        Route("/data/aircraft.json", aircraft), Route("/data/receiver.json", receiver),
        Route("/api/history/track/{ident}", track), Route("/api/history/flights/{ident}", flights),
        Route("/api/history/airport/{icao}", airport), Route("/api/alerts", alerts),
        Route("/api/history/area", area),
        Mount("/", app=StaticFiles(directory=str(dist), html=True)),
    ])


@pytest.fixture(scope="module")
def crafted(web_dist: Path) -> Iterator[str]:
    """The crafted app on a loopback port; yields its URL."""
    loop = asyncio.new_event_loop()
    port: list[int] = []
    ready = threading.Event()
    task: list[asyncio.Task[None]] = []

    def run() -> None:
        def on_ready(p: int) -> None:
            port.append(p)
            ready.set()

        task.append(loop.create_task(serve_http(crafted_app(web_dist), "127.0.0.1", 0,
                                                ready=on_ready)))
        try:
            loop.run_until_complete(task[0])
        except asyncio.CancelledError:
            pass
        finally:
            ready.set()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    assert ready.wait(60) and port, "crafted server did not start"
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        loop.call_soon_threadsafe(task[0].cancel)
        th.join(30)


def test_hostile_strings_are_shown_as_text(
    crafted: str, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """Registration, operator, callsign, description, airport names and alert texts full of
    markup appear verbatim as text; no planted script or handler runs, no planted element
    exists."""
    p = new_page(expected=NO_WEBSOCKET)
    page = p.open(crafted + "/?icao=4ca123")
    page.wait_for_selector("#panel:not([hidden])", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#p-flights table') !== null",
                           timeout=10_000)
    page.wait_for_function("() => document.querySelector('#alerts-list .alert-item') !== null",
                           timeout=10_000)
    page.click("#airport summary")
    page.fill("#airport-code", "EHAM")
    page.click("#airport-form button")
    page.wait_for_function("() => document.querySelector('#airport-board table') !== null",
                           timeout=10_000)
    page.hover("#p-fields")  # a planted onmouseover would fire now
    page.wait_for_timeout(500)
    p.shot(tmp_path / "hostile.png")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate(
        "document.querySelectorAll('#side img, #side svg, #side script, #side iframe, #side b')"
        ".length") == 0
    panel = page.text_content("#panel") or ""
    for s in (HOSTILE_REG, HOSTILE_OP, HOSTILE_CALLSIGN.strip(), HOSTILE_DESC):
        assert s in panel, s
    assert page.get_attribute("#p-flights td[title]", "title") == HOSTILE_AIRPORT
    assert HOSTILE_ALERT in (page.text_content("#alerts-list") or "")
    assert HOSTILE_CALLSIGN in (page.text_content("#airport-board") or "")
    assert HOSTILE_REG in (page.text_content("#list") or "")
    badges = page.text_content("#p-badges") or ""
    assert "WATCHLIST" in badges and "EMERGENCY" in badges and "MILITARY" not in badges
    assert p.blocked == []
    assert p.errors == []


def test_simulated_banner_mlat_estimated_and_military_on_the_map(
    crafted: str, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """``simulated: true`` shows the banner; the MLAT position and the stale (estimated) one are
    drawn with their own icons; 3B7777 is military by its address block (no registry flag) and
    AE0455 by dbFlags; the military filter removes the civil icons from the map."""
    p = new_page(expected=NO_WEBSOCKET)
    page = p.open(crafted + "/")
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['aircraft']}).length === 4",
        timeout=30_000)
    assert page.is_visible("#simulated-banner")
    assert "SIMULATED DATA" in (page.text_content("#simulated-banner") or "")
    drawn = {f["hex"]: f for f in rendered(page)}
    assert drawn["3b7777"]["src"] == "mlat" and drawn["3b7777"]["icon"].endswith("-mlat")
    assert drawn["484506"]["src"] == "stale"  # last fix 40 s old
    assert drawn["4ca123"]["src"] == "adsb"
    assert drawn["ae0455"]["icon"].startswith("ac-heavy-")
    assert drawn["4ca123"]["rot"] == 90
    p.shot(tmp_path / "crafted.png")
    page.check("#f-mil")
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['aircraft']}).length === 2",
        timeout=10_000)
    assert {f["hex"] for f in rendered(page)} == {"3b7777", "ae0455"}
    page.uncheck("#f-mil")
    page.fill("#f-callsign", "KLM*")
    page.wait_for_function("() => window.overflight.visible.join() === '484506'", timeout=10_000)
    page.fill("#f-callsign", "")
    page.fill("#f-alt-min", "20000")
    page.wait_for_function("() => window.overflight.visible.length === 2", timeout=10_000)
    assert set(page.evaluate("window.overflight.visible")) == {"3b7777", "ae0455"}
    assert p.errors == []


def test_replay_moves_the_aircraft(
    crafted: str, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """Against a stand-in for /api/history/track (rows as positions_jsonl writes them): the
    slider moves the replayed aircraft along the track, and Play runs it to the end."""
    p = new_page(expected=NO_WEBSOCKET)
    page = p.open(crafted + "/?icao=4ca123")
    page.wait_for_selector("#panel:not([hidden])", timeout=30_000)
    page.click("#p-replay")
    page.fill("#r-from", "2024-07-06T06:00:00")
    page.fill("#r-to", "2024-07-06T07:00:00")
    page.click("#r-load")
    page.wait_for_function("() => !document.getElementById('r-slider').disabled", timeout=10_000)
    assert page.evaluate("window.overflight.replayPosition") == [3.0, 51.0]
    page.evaluate("(() => { const s = document.getElementById('r-slider');"
                  " s.value = String(Number(s.min) + 300000); s.dispatchEvent(new Event('input'));"
                  " })()")
    lon, lat = page.evaluate("window.overflight.replayPosition")
    assert lon == pytest.approx(3.5) and lat == pytest.approx(51.5)
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['replay-ac']}).length === 1",
        timeout=10_000)
    p.shot(tmp_path / "replay.png")
    page.click("#r-play")
    page.wait_for_function(  # Play runs to the end of the track and stops there
        "() => !window.overflight.state.replay.playing", timeout=30_000)
    assert page.evaluate("window.overflight.replayPosition") == pytest.approx([4.0, 52.0])
    assert p.errors == []


# ------------------------------------------------------------------ serving and the build
def test_default_web_root_finds_the_build_or_explains(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert find_web_dist() is None
    assert default_web_root() == NOT_BUILT_DIR  # told a folder without a build: the message
    (tmp_path / "index.html").write_text("<p>map</p>")
    assert default_web_root() == tmp_path
    monkeypatch.setenv(ENV_VAR, "none")
    assert default_web_root() is None
    monkeypatch.delenv(ENV_VAR)
    built = (WEB / "dist" / "index.html").is_file() and (WEB / "dist" / "app.js").is_file()
    assert default_web_root() == (WEB / "dist" if built else NOT_BUILT_DIR)


def test_not_built_page_is_served_at_root() -> None:
    import httpx

    from overflight.server import create_app
    from overflight.station import Station

    app = create_app(Station(StationConfig(identify=False)), web_root=NOT_BUILT_DIR)

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1") as client:
            return await client.get("/")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # playwright's loop may be running
        r = pool.submit(asyncio.run, get()).result(60)
    assert r.status_code == 200
    assert BUILD_COMMAND.replace("&", "&amp;") in r.text
    assert "not built" in r.text


def test_build_tables_match_the_identity_package(web_dist: Path) -> None:
    """ranges.json (read by the build from identity/allocations.csv and identity/ranges.py)
    holds exactly the server's country blocks and military blocks."""
    from overflight.identity.ranges import MILITARY_BLOCKS, _read_allocations

    ranges = json.loads((web_dist / "ranges.json").read_text())
    assert [tuple(m) for m in ranges["military"]] == [
        (b.start, b.end, b.label) for b in MILITARY_BLOCKS]
    assert [tuple(c) for c in ranges["countries"]] == [
        (b.start, b.end, b.country, b.country_code) for b in _read_allocations()]
    versions = json.loads((web_dist / "build.json").read_text())
    lock = json.loads((WEB / "package-lock.json").read_text())
    for name in ("maplibre-gl", "world-atlas", "topojson-client"):
        assert versions[name] == lock["packages"][f"node_modules/{name}"]["version"]


def test_area_replay_is_capped(
    crafted: str, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    """60 aircraft in the area: the page asks for the tracks of the 50 with the most positions
    only (one request each), says so, and shows the hostile callsign as text."""
    p = new_page(expected=NO_WEBSOCKET)
    asked: list[str] = []
    p.page.on("request", lambda r: asked.append(urlsplit(r.url).path))
    page = p.open(crafted + "/?lat=50.5&lon=3.2&zoom=7")
    page.click("#area-replay")
    page.fill("#r-from", "2024-07-06T06:30:00")
    page.fill("#r-to", "2024-07-06T07:00:00")
    page.click("#r-load")
    page.wait_for_function("() => !document.getElementById('r-slider').disabled", timeout=30_000)
    tracks = set(page.evaluate("window.overflight.state.replay.tracks.map(x => x.hex)"))
    assert tracks == {h for h, i in AREA_SEEN.items() if i >= 10}
    asked_tracks = [a for a in asked if a.startswith("/api/history/track/")]
    assert sorted(asked_tracks) == sorted(f"/api/history/track/{h}" for h in tracks)
    msg = page.text_content("#r-msg") or ""
    assert "50 aircraft, 150 positions (60 aircraft in the area: the 50 with the most " \
        "positions replayed)" in msg
    assert f"AA003B {HOSTILE_CALLSIGN}" in msg
    seek(page, 10_000)
    page.wait_for_function(
        "() => window.overflight.map.queryRenderedFeatures({layers: ['replay-ac']}).length > 40",
        timeout=10_000)
    p.shot(tmp_path / "area-capped.png")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert p.blocked == []
    assert p.errors == []


def test_an_alert_without_flight_id_finds_its_flight_by_time(
    crafted: str, new_page: Callable[..., Page]
) -> None:
    """The crafted alert (06:43, no flight_id) opens 4CA123's panel and marks the flight of the
    flights endpoint nearest its time (f1, arrived 06:10), the only one within an hour."""
    p = new_page(expected=NO_WEBSOCKET)
    page = p.open(crafted + "/")
    page.wait_for_selector("#alerts-list .alert-item", timeout=30_000)
    assert page.get_attribute("#alerts-list .alert-item", "data-flight-id") is None
    page.click("#alerts-list .alert-item")
    page.wait_for_function("() => window.overflight.alertFlight === 'f1'", timeout=10_000)
    assert page.evaluate("window.overflight.state.selected") == "4ca123"
    page.wait_for_selector("#p-flights tr.focus", timeout=10_000)
    assert page.get_attribute("#p-flights tr.focus", "data-flight-id") == "f1"
    assert "EHAM → LFPG" in (page.text_content("#r-who") or "")
    assert page.evaluate("window.overflight.state.replay.kind") == "aircraft"
    assert p.blocked == []
    assert p.errors == []
