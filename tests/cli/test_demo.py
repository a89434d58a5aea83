"""``overflight demo`` as a newcomer runs it: a real subprocess serving the map on a loopback
port, the ``caracas-2019`` story played from :data:`FROM` (both aircraft approaching Caracas)
at :data:`SPEED` with background traffic, the page read in Debian's Chromium (Playwright;
nothing but 127.0.0.1 reachable), then Ctrl-C (SIGINT).

The timeline, in simulated time: the Il-62 (ADS-B off, MLAT only) lands at SVMI at 15:05 and
leaves the live picture a few minutes later; the An-124 lands at 15:18 and its "military landed
abroad" alert fires 90 s after. At :data:`SPEED` that is about 35 s of wall time with both on
the map, then about a minute until the alert. (The Il-62's own landing alert waits until it is
heard again or the station stops: on the ground with ADS-B off it sends no position.)

Screenshots are written under the test's temporary folder and their paths printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from overflight.cli import app

FROM = "2019-03-23T14:50Z"
SPEED = "30"
IL62, AN124 = "1551e0", "154073"
REGS = {IL62: ("RA-86496", "IL62"), AN124: ("RA-82035", "A124")}
LANDED_ABROAD = "military landed abroad"


@pytest.mark.parametrize(("args", "hint", "says"), [
    (["--from", "2019-03-21T00:00Z"], "--from", "outside the scenario"),
    (["--from", "2019-03-25T06:00Z"], "--from", "outside the scenario"),
    (["--from", "2019-03-23T15:00Z", "--to", "2019-03-23T14:00Z"], "--to", "not after --from"),
    (["--to", "2019-03-26T00:00Z"], "--to", "not after --from"),
    (["--from", "yesterday\x1b[2J"], "--from", "want a UTC time"),
])
def test_a_window_outside_the_story_is_a_usage_error(args: list[str], hint: str, says: str) -> None:
    before = set(Path(tempfile.gettempdir()).glob("overflight-demo-*"))
    res = CliRunner().invoke(app, ["demo", "--no-browser", *args])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.replace("│", " ").split())
    assert f"Invalid value for {hint}" in text and says in text
    assert "2019-03-22T18:00:00Z to 2019-03-25T06:00:00Z" in text or "UTC time" in text
    assert "\x1b[2J" not in res.output  # the user's text shown inert
    # refused before any work
    assert set(Path(tempfile.gettempdir()).glob("overflight-demo-*")) == before


# ---------------------------------------------------------------------------- the live demo

@dataclass
class Run:
    """What the demo showed and how it ended, gathered once for the module's tests."""

    folder: Path
    banner: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, str] = field(default_factory=dict)
    drawn: dict[str, dict[str, Any]] = field(default_factory=dict)
    alert_items: list[dict[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    aircraft_json: dict[str, Any] = field(default_factory=dict)
    alerts_api: dict[str, Any] = field(default_factory=dict)
    feeders: list[int] = field(default_factory=list)
    returncode: int | None = None
    log: str = ""
    port_open_after: bool = True
    seconds: float = 0.0


def _chromium() -> str:
    for c in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(c).exists():
            return c
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium not installed (Debian: apt-get install -y chromium)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(check: Callable[[], Any], timeout_s: float, what: str, proc: Any, log: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the demo ended ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            got = check()
        except httpx.HTTPError:
            got = None
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux /proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


_ROWS_JS = """() => Object.fromEntries([...document.querySelectorAll('#list tbody tr')]
    .map(r => [r.dataset.hex, r.innerText]))"""
_DRAWN_JS = """() => window.overflight.map.queryRenderedFeatures({layers: ['aircraft']})
    .map(f => f.properties)"""
_READY_JS = """() => window.overflight && window.overflight.mapReady
    && window.overflight.map.loaded()"""
_SHOWN_JS = """([zoom, hexes]) => { const m = window.overflight.map;
    const d = m.queryRenderedFeatures({layers: ['aircraft']}).map(f => f.properties.hex);
    return Math.abs(m.getZoom() - zoom) < 0.5 && hexes.every(h => d.includes(h)); }"""
_ALERTS_JS = """() => [...document.querySelectorAll('#alerts-list .alert-item')]
    .map(e => ({hex: e.dataset.hex, text: e.innerText}))"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install playwright; never "
        "`playwright install`: the test drives Debian's chromium)")
    from overflight.server.web import find_web_dist

    exe = _chromium()
    if find_web_dist() is None:
        pytest.skip("web map not built (npm ci --prefix web && npm run build --prefix web)")
    t0 = time.perf_counter()
    folder = tmp_path_factory.mktemp("demo")
    run = Run(folder=folder)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OVERFLIGHT_HOME": str(folder / "home"), "TMPDIR": str(folder),
           "PYTHONUNBUFFERED": "1"}
    env.pop("DISPLAY", None)
    log = folder / "demo.log"
    with log.open("w") as out, sync_api.sync_playwright() as p:
        # the browser first: the story starts as soon as the map answers
        browser = p.chromium.launch(executable_path=exe, headless=True, args=[
            "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
        proc = subprocess.Popen(
            [sys.executable, "-m", "overflight", "demo", "--no-browser", "--http",
             f"127.0.0.1:{port}", "--background", "1", "--from", FROM, "--speed", SPEED],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        client = httpx.Client(base_url=url, timeout=30.0)
        try:
            # up to minutes: the first run after a change to a kernel's sources compiles it
            _wait(lambda: client.get("/data/aircraft.json").status_code == 200, 600,
                  "the map's address", proc, log)
            _look(run, browser, url, client, proc, log)
            run.aircraft_json = client.get("/data/aircraft.json").json()
            run.alerts_api = client.get("/api/alerts").json()
            run.feeders = _children(proc.pid)
        finally:
            client.close()
            browser.close()
            proc.send_signal(signal.SIGINT)
            try:
                run.returncode = proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
    run.log = log.read_text()
    run.port_open_after = _listening(port)
    run.seconds = time.perf_counter() - t0
    print(f"\noverflight demo test: {run.seconds:.0f} s in all")
    yield run


def _look(run: Run, browser: Any, url: str, client: httpx.Client, proc: Any, log: Path) -> None:
    """Open the map; once both aircraft are on it, read the banner, the list and what is drawn
    near Caracas; once the API has the An-124's alert, reload and read the alerts list."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("pageerror", lambda e: run.page_errors.append(f"pageerror: {e}"))

    def route(r: Any) -> None:
        if urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            run.blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url + "/", wait_until="domcontentloaded")
    page.wait_for_function(_READY_JS, timeout=120_000)
    both = [IL62, AN124]
    page.wait_for_function(
        "(hexes) => { const rows = [...document.querySelectorAll('#list tbody tr')]"
        ".map(r => r.dataset.hex); return hexes.every(h => rows.includes(h)); }",
        arg=both, timeout=120_000)
    # after the page's own first fit: both near Caracas, drawn
    page.evaluate("window.overflight.map.jumpTo({center: [-66.9, 10.8], zoom: 7})")
    page.wait_for_function(_SHOWN_JS, arg=[7, both], timeout=30_000)
    run.rows = page.evaluate(_ROWS_JS)
    run.drawn = {str(f["hex"]): f for f in page.evaluate(_DRAWN_JS)}
    run.banner = page.evaluate(
        "() => { const b = document.getElementById('simulated-banner');"
        " const r = b.getBoundingClientRect();"
        " return {hidden: b.hidden, text: b.innerText, height: r.height}; }")
    shot = run.folder / "demo-both-aircraft.png"
    page.screenshot(path=str(shot))
    print(f"\ndemo screenshot (both aircraft): {shot}")

    def landed() -> bool:
        doc = client.get("/api/alerts").json()
        return any(a.get("rule") == LANDED_ABROAD and a.get("icao24") == AN124
                   for a in doc.get("alerts", []))

    _wait(landed, 240, "the An-124's 'military landed abroad' alert", proc, log)
    page.reload(wait_until="domcontentloaded")
    page.wait_for_function(
        "(hex) => [...document.querySelectorAll('#alerts-list .alert-item')]"
        ".some(e => e.dataset.hex === hex)", arg=AN124, timeout=60_000)
    run.alert_items = page.evaluate(_ALERTS_JS)
    # the An-124 on the ground at Maiquetia (after the page's first fit to what it lists)
    page.wait_for_function(_READY_JS, timeout=120_000)
    page.wait_for_selector(f"#list tbody tr[data-hex='{AN124}']", timeout=60_000)
    page.evaluate("window.overflight.map.jumpTo({center: [-66.99, 10.6], zoom: 10})")
    page.wait_for_function(_SHOWN_JS, arg=[10, [AN124]], timeout=30_000)
    shot = run.folder / "demo-alert.png"
    page.screenshot(path=str(shot))
    print(f"demo screenshot (alert): {shot}")


@pytest.mark.slow
def test_the_page_says_simulated_and_shows_both_aircraft(demo: Run) -> None:
    assert demo.banner["hidden"] is False and demo.banner["height"] > 0
    assert "SIMULATED" in demo.banner["text"]
    for hexa, (reg, typ) in REGS.items():
        assert reg in demo.rows[hexa] and typ in demo.rows[hexa], demo.rows[hexa]
        assert hexa.upper() in demo.rows[hexa].upper()
    # drawn near Caracas: the Il-62 placed by MLAT (ADS-B off), the An-124 by ADS-B
    assert demo.drawn[IL62]["src"] == "mlat"
    assert demo.drawn[AN124]["src"] == "adsb"
    assert demo.blocked == []
    assert demo.page_errors == []


@pytest.mark.slow
def test_the_alerts_list_names_the_an124_landed_at_caracas(demo: Run) -> None:
    mine = [a for a in demo.alert_items if a["hex"] == AN124]
    assert any(LANDED_ABROAD in a["text"] and "SVMI" in a["text"] for a in mine), \
        demo.alert_items
    (api,) = [a for a in demo.alerts_api["alerts"]
              if a["rule"] == LANDED_ABROAD and a["icao24"] == AN124]
    assert (api["airport"], api["registration"], api["military"], api["country_code"]) == (
        "SVMI", "RA-82035", True, "RU")
    # at the scenario's landing at Caracas (its truth table: 15:18:27), within 2 minutes
    from overflight.sim.library import SCENARIO_FILES
    from overflight.sim.recordings import truth_document
    from overflight.sim.scenario_file import parse_scenario

    spec = parse_scenario(SCENARIO_FILES["caracas-2019"], source="caracas-2019")
    (legs,) = [a["legs"] for a in truth_document(spec)["aircraft"] if a["icao24"] == AN124]
    (leg,) = [g for g in legs if g["arrival_airport"] == "SVMI"]
    assert abs(api["time_s"] - float(leg["landing_s"])) < 120.0, (api["time"], leg)


@pytest.mark.slow
def test_aircraft_json_says_simulated(demo: Run) -> None:
    doc = demo.aircraft_json
    assert doc["simulated"] is True
    assert doc["now"] > 1553353000  # the scenario's own clock: 23 March 2019


@pytest.mark.slow
@pytest.mark.slow
def test_alerts_api_says_simulated(demo: Run) -> None:
    """Every API answer of the demo says simulated, the alerts' included."""
    assert demo.alerts_api.get("simulated") is True


@pytest.mark.slow
def test_ctrl_c_stops_it_cleanly(demo: Run) -> None:
    """SIGINT: exit status 0 (cli/app.py: an interrupted server that stopped in order), no
    traceback or error line, the port closed, the feeders' process gone, the history kept."""
    assert demo.returncode == 0, demo.log[-3000:]
    assert "Traceback" not in demo.log, demo.log[-3000:]
    assert [x for x in demo.log.splitlines() if " ERROR " in x or x.startswith("error:")] == []
    assert "stopped; the history is in" in demo.log
    assert not demo.port_open_after
    assert demo.feeders, "the feeders run as a child process"
    assert not any(_alive(pid) for pid in demo.feeders)
    (history,) = demo.folder.glob("overflight-demo-*/history.duckdb")
    assert history.stat().st_size > 0
    print(json.dumps({"seconds": round(demo.seconds)}))


@pytest.mark.slow
def test_the_history_kept_the_an124_landing(demo: Run) -> None:
    """After the stop, the demo's history database (one process at a time) has the An-124's
    leg into Caracas, as ``overflight history flights`` reads it."""
    (history,) = demo.folder.glob("overflight-demo-*/history.duckdb")
    env = {**os.environ, "OVERFLIGHT_HOME": str(demo.folder / "home")}
    res = subprocess.run(
        [sys.executable, "-m", "overflight", "history", "flights", AN124, "--db", str(history),
         "--format", "json"], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    legs = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
    assert [g["icao24"] for g in legs] == [AN124] * len(legs)
    assert any(g["arrival_airport"] == "SVMI" and g["arrival_time"].startswith("2019-03-23T15:1")
               for g in legs), legs
