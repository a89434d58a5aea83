"""tar1090's unmodified web page, in headless Chromium, reading our /data/ from a live station
fed a real capture: its aircraft table must list the capture's aircraft with positions,
registrations and types.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` package (never
``playwright install``): skipped with the reason when either is missing. Every request to
anything but the loopback server is aborted (no map tiles: the map stays blank). A screenshot
is written under the test's tmp dir and its path printed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from overflight.station import StationConfig

from .conftest import LiveServer, running_server, wait_for

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed (pip install playwright; never "
    "`playwright install`: the test drives Debian's chromium)")

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _chromium() -> str:
    for c in CHROMIUM_PATHS:
        if Path(c).exists():
            return c
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium not installed (Debian: apt-get install -y chromium)")
    return found


@pytest.fixture(scope="module")
def tar1090(capture: Path, identity_db: Path, shared: Any) -> Iterator[LiveServer]:
    _chromium()  # skip before starting anything
    html = shared("tar1090-web/html")
    config = StationConfig(listen_beast=0, identity_db=identity_db, snapshot_every_s=0.2,
                           receiver_lat_lon=(43.63, 1.37))
    with running_server(config, web_root=html) as srv:
        srv.push(capture.read_bytes())
        wait_for(lambda: "PH-HXB" in srv.get("/data/aircraft.json").text, 120,
                 "the capture's aircraft in aircraft.json")
        yield srv


SHOW_COLUMNS = ("icao", "registration", "lat", "lon", "msgs")
"""tar1090 hides these columns by default; its own column toggles live in localStorage."""

TABLE_JS = """() => {
  const heads = [...document.querySelectorAll('#planesTable thead td, #planesTable thead th')]
      .map(h => h.innerText.replace(/\\s+/g, ' ').trim());
  return [...document.querySelectorAll('#planesTable tbody tr')]
      .filter(r => r.offsetParent !== null)
      .map(r => Object.fromEntries([...r.cells].map((c, i) => [heads[i], c.innerText.trim()])));
}"""


def test_tar1090_lists_the_captures_aircraft(
    tar1090: LiveServer, registry_rows: dict[str, list[str]], tmp_path: Path
) -> None:
    exe = _chromium()
    errors: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", only_loopback)
            page.add_init_script(
                f"for (const c of {json.dumps(SHOW_COLUMNS)}) "
                "localStorage.setItem('column_' + c, 'true');")
            page.goto(tar1090.url + "/index.html?sidebarWidth=1000",
                      wait_until="domcontentloaded")
            page.wait_for_function(
                "() => [...document.querySelectorAll('#planesTable tbody tr')]"
                ".filter(r => r.innerText.includes('PH-HXB') && /\\d\\.\\d{4}/.test(r.innerText))"
                ".length > 0", timeout=90_000)
            rows = page.evaluate(TABLE_JS)
            shot = tmp_path / "tar1090.png"
            page.screenshot(path=str(shot))
            print(f"\ntar1090 screenshot: {shot}")
        finally:
            browser.close()
    assert not errors, errors
    doc = tar1090.get("/data/aircraft.json").json()
    ours = {a["hex"].upper(): a for a in doc["aircraft"]}
    table = {r["Hex ID"]: r for r in rows}
    # tar1090 leaves out 440062 (one message, no data yet); the three others are listed.
    assert {"48520A", "3981E4", "44CE69"} <= set(table) <= set(ours)
    for hex_, row in table.items():
        reg = registry_rows[hex_]
        assert row["Registration"] == reg[1], hex_
        assert row["Type"] == reg[2], hex_
    a = table["48520A"]
    assert a["Callsign"] == "TRA89M"
    assert a["Squawk"] == "5516"
    assert "".join(ch for ch in a["Alt. (ft)"] if ch.isdigit()) == "38000"
    assert float(a["Latitude"]) == pytest.approx(ours["48520A"]["lat"], abs=1e-4)
    assert float(a["Longitude"]) == pytest.approx(ours["48520A"]["lon"], abs=1e-4)
    assert table["3981E4"]["Callsign"] == "TJT62CB"
    assert table["3981E4"]["Latitude"] == ""  # no position: none invented
