"""``overflight serve --connect --http --db --alerts`` as a user runs it: a real capture played by
``overflight replay`` over loopback, the live picture read over HTTP while it runs, then Ctrl-C
(SIGINT): the process exits 0 and the history database answers for the flight."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as r:
        doc: dict[str, object] = json.loads(r.read())
        return doc


def test_serve_with_http_and_history_then_ctrl_c(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    cap = shared(FLIGHT)
    feed, http = _free_port(), _free_port()
    db = tmp_path / "h.duckdb"
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nname = "landed at Toulouse"\nselect = {}\n'
        'when = { landed = { airport = ["LFBO"] } }\nnotify = ["log"]\n', encoding="utf-8")
    env = {**os.environ, "OVERFLIGHT_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "overflight"]
    replay = subprocess.Popen([*cmd, "replay", str(cap), "--to", f"127.0.0.1:{feed}",
                               "--speed", "max"], stderr=subprocess.DEVNULL, env=env)
    serve = subprocess.Popen(
        [*cmd, "serve", "--connect", f"127.0.0.1:{feed}", "--http", f"127.0.0.1:{http}",
         "--db", str(db), "--alerts", str(rules), "--stats-every-s", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )
    try:
        doc: dict[str, object] = {}
        deadline = time.monotonic() + 180  # a cold kernel cache compiles first
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                doc = _get(f"http://127.0.0.1:{http}/data/aircraft.json")
            except OSError:
                continue
            if doc.get("messages") == 57793:
                break
        assert doc.get("messages") == 57793, doc
        aircraft = doc["aircraft"]
        assert isinstance(aircraft, list) and [a["hex"] for a in aircraft] == ["393322"]
        a = aircraft[0]
        # the capture's own timescale (2024-07-06), the A321 parked at Toulouse at the end
        assert abs(float(doc["now"]) - 1720252967.5) < 1.0  # type: ignore[arg-type]
        assert a["flight"].strip() == "AFR34ZG" and a["alt_baro"] == "ground"
        assert abs(a["lat"] - 43.6292) < 0.01 and abs(a["lon"] - 1.3740) < 0.01
        time.sleep(1.5)  # one flush (1 s) of the history writer
        # the history API answers from the database the same process is writing
        track = _get(f"http://127.0.0.1:{http}/api/history/track/393322")
        assert track["count"] == 8302 and track["aircraft"] == ["393322"]
        assert track["support"]["frames"] > 8000  # type: ignore[index]
        # the landing at LFBO is announced once, in the JSON list and the Atom feed
        alerts = _get(f"http://127.0.0.1:{http}/api/alerts")
        fired = [a for a in alerts["alerts"] if a["rule"] == "landed at Toulouse"]  # type: ignore[union-attr]
        assert len(fired) == 1 and fired[0]["icao24"] == "393322", alerts
        with urllib.request.urlopen(f"http://127.0.0.1:{http}/alerts.atom", timeout=5) as r:
            assert b"landed at Toulouse" in r.read()
        serve.send_signal(signal.SIGINT)
        out, _ = serve.communicate(timeout=60)
        assert serve.returncode == 0, out.decode(errors="replace")
        assert b"Traceback" not in out, out.decode(errors="replace")
    finally:
        for p in (serve, replay):
            if p.poll() is None:
                p.kill()
                p.wait()
    res = subprocess.run([*cmd, "history", "flights", "393322", "--db", str(db),
                          "--format", "json"], capture_output=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    legs = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    assert [(f["departure_airport"], f["arrival_airport"]) for f in legs] == [("LFPG", "LFBO")]
    # the alert is stored in the history database itself, with its flight and evidence
    res = subprocess.run([*cmd, "alerts", "list", "--db", str(db), "--json"],
                         capture_output=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    stored = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    assert [(a["rule"], a["icao24"]) for a in stored
            if a["rule"] == "landed at Toulouse"] == [("landed at Toulouse", "393322")]
    assert not (db.parent / "alerts.sqlite").exists()
