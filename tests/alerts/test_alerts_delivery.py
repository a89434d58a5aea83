"""Delivery on loopback: a signed webhook verified by a real HTTP server; a receiver that is down,
then up, gets every alert once and in order (also across a restart); e-mail to a local SMTP
server; the Atom feed and the JSON list over HTTP; hostile callsigns stay inert everywhere."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import socketserver
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from overflight.alerts import parse_rules
from overflight.alerts.service import AlertService
from overflight.station import Events
from overflight.station.schema import EVENTS_SCHEMA

SECRET = "s3cret-for-tests"
HOSTILE = ["<script>alert(1)</script>", "]]><x/>", "\"'&amp;", "A\x1b[2J\x00\x07B",
           "X\r\nBcc: victim@example.org", "\u202eRTL"]


class _Hook(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append((dict(self.headers), body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _serve_http(port: int = 0) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer(("127.0.0.1", port), _Hook)
    srv.got = []  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rules(target: str) -> str:
    return f"""
[webhook]
secret = "{SECRET}"
timeout_s = 2

[[rule]]
name = "seen"
select = {{}}
when = {{ first_seen = true }}
notify = ["log", "{target}"]
"""


def _events(n: int, t0: float = 1_720_000_000.0, callsigns: list[str] | None = None) -> Events:
    rows = []
    for i in range(n):
        a = 0x400000 + i
        cs = callsigns[i % len(callsigns)] if callsigns else f"TST{i}"
        rows.append({"event_id": f"first_seen:{a:06x}:{i}", "kind": "first_seen",
                     "time_s": t0 + i, "address": a, "non_icao": False, "icao24": f"{a:06x}",
                     "callsign": cs, "squawk": None, "lat_deg": 51.0, "lon_deg": 0.1,
                     "airport": None, "before": None, "after": None, "flight_id": None})
    return Events(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA))


def _wait(cond: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.fixture
def hook() -> Iterator[ThreadingHTTPServer]:
    srv = _serve_http()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_webhook_is_signed_and_verified(tmp_path: Path, hook: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
    svc = AlertService(parse_rules(_rules(f"webhook:{url}")), store=tmp_path / "a.duckdb",
                       base_backoff_s=0.05)
    svc.start()
    try:
        svc.on_update(_events(3))
        got = hook.got  # type: ignore[attr-defined]
        _wait(lambda: len(got) == 3)
        for headers, body in got:
            want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Overflight-Signature-256"], want)
            doc = json.loads(body)
            assert headers["X-Overflight-Alert-Id"] == doc["id"]
            assert doc["rule"] == "seen" and doc["evidence"] is not None
        assert [json.loads(b)["icao24"] for _, b in got] == ["400000", "400001", "400002"]
        st = svc.status()["delivery"][f"webhook:{url}"]
        assert st == {"delivered": 3, "pending": 0, "failed_attempts": 0, "last_error": None}
    finally:
        svc.close()


def test_a_receiver_down_then_up_gets_everything_once_in_order(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/hook"
    store = tmp_path / "a.duckdb"
    rules = parse_rules(_rules(f"webhook:{url}"))
    svc = AlertService(rules, store=store, base_backoff_s=0.05, max_backoff_s=0.2)
    svc.start()
    try:
        svc.on_update(_events(5))
        _wait(lambda: svc.dispatcher.failures >= 3)
        st = svc.status()
        assert st["delivery"][f"webhook:{url}"]["pending"] == 5
        assert st["delivery"][f"webhook:{url}"]["failed_attempts"] >= 3
        assert st["delivery"][f"webhook:{url}"]["last_error"]
    finally:
        svc.close()  # a restart with everything still in the outbox
    svc = AlertService(rules, store=store, base_backoff_s=0.05, max_backoff_s=0.2)
    svc.on_update(_events(3, t0=1_720_086_400.0))  # next day: new alerts behind the old
    svc.on_update(_events(5))  # the same alerts again: not stored or sent twice
    srv = _serve_http(port)
    svc.start()
    try:
        got = srv.got  # type: ignore[attr-defined]
        _wait(lambda: len(got) >= 8)
        time.sleep(0.3)
        ids = [json.loads(b)["id"] for _, b in got]
        times = [json.loads(b)["time_s"] for _, b in got]
        assert len(ids) == 8 == len(set(ids))
        assert times == sorted(times)
        assert svc.status()["delivery"][f"webhook:{url}"]["pending"] == 0
    finally:
        svc.close()
        srv.shutdown()
        srv.server_close()


class _Smtp(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        w = self.wfile.write
        w(b"220 localhost test SMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("ascii", "replace").strip().upper()
            if cmd.startswith(("EHLO", "HELO")):
                w(b"250 localhost\r\n")
            elif cmd.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                w(b"250 ok\r\n")
            elif cmd == "DATA":
                w(b"354 go\r\n")
                data = b""
                while True:
                    ln = self.rfile.readline()
                    if ln in (b".\r\n", b""):
                        break
                    data += ln[1:] if ln.startswith(b"..") else ln
                self.server.messages.append(data)  # type: ignore[attr-defined]
                w(b"250 queued\r\n")
            elif cmd == "QUIT":
                w(b"221 bye\r\n")
                return
            else:
                w(b"502 no\r\n")


def test_email_over_smtp_keeps_hostile_callsigns_inert(tmp_path: Path) -> None:
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    srv.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    text = _rules("email:ops@example.org") + f"""
[email]
host = "127.0.0.1"
port = {port}
sender = "overflight@localhost"
"""
    svc = AlertService(parse_rules(text), store=tmp_path / "a.duckdb", base_backoff_s=0.05)
    svc.start()
    try:
        svc.on_update(_events(len(HOSTILE), callsigns=HOSTILE))
        msgs = srv.messages  # type: ignore[attr-defined]
        _wait(lambda: len(msgs) == len(HOSTILE))
        for raw, cs in zip(msgs, HOSTILE, strict=True):
            m = email.message_from_bytes(raw, policy=email.policy.default)
            assert m["Bcc"] is None
            assert "\n" not in str(m["Subject"]) and "\r" not in str(m["Subject"])
            assert m.get_content_type() == "text/plain"
            body = m.get_content()
            assert "\x1b" not in body and "\x00" not in body and "\u202e" not in body
            if cs.startswith("<script>"):
                assert "<script>alert(1)</script>" in body  # plain text, shown as written
            if "\x1b" in cs:
                assert "A\\x1b[2J\\x00\\x07B" in body
    finally:
        svc.close()
        srv.shutdown()
        srv.server_close()


def test_atom_feed_and_json_list_keep_hostile_callsigns_inert(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from overflight.alerts.routes import alert_routes

    svc = AlertService(parse_rules(_rules("log")), store=tmp_path / "a.duckdb")
    svc.on_update(_events(len(HOSTILE), callsigns=HOSTILE))
    client = TestClient(Starlette(routes=alert_routes(svc)))
    r = client.get("/alerts.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == len(HOSTILE)
    assert all(e.tag.startswith("{http://www.w3.org/2005/Atom}") for e in root.iter())
    titles = [e.findtext("a:title", namespaces=ns) or "" for e in entries]
    assert any("<script>alert(1)</script>" in t for t in titles)
    assert any("]]><x/>" in t for t in titles)
    assert any("A\\x1b[2J\\x00\\x07B" in t for t in titles)
    assert any("X\\x0d\\x0aBcc: victim@example.org" in t for t in titles)
    assert any("\\u202eRTL" in t for t in titles)
    r = client.get("/api/alerts?limit=2")
    doc = json.loads(r.text)
    assert len(doc["alerts"]) == 2 and doc["status"]["rules"] == 1
    assert doc["alerts"][0]["callsign"] in HOSTILE  # JSON carries the value as received
    assert client.get("/api/alerts?limit=abc").status_code == 400
    assert client.get("/api/alerts?limit=0").status_code == 400
    svc.close()


def test_chat_through_apprise(tmp_path: Path, hook: ThreadingHTTPServer) -> None:
    pytest.importorskip("apprise")
    port = hook.server_address[1]
    svc = AlertService(parse_rules(_rules(f"apprise:json://127.0.0.1:{port}/chat")),
                       store=tmp_path / "a.duckdb", base_backoff_s=0.05)
    svc.start()
    try:
        svc.on_update(_events(2))
        got = hook.got  # type: ignore[attr-defined]
        _wait(lambda: len(got) == 2)
        assert "seen" in json.loads(got[0][1])["title"]
    finally:
        svc.close()
