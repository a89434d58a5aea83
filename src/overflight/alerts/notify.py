"""Delivery: a log line, JSON webhooks signed with HMAC-SHA256, e-mail over SMTP, and chat
services through Apprise; retried with exponential back-off from the outbox on a background
thread, so delivery never blocks ingest.

Webhook requests: ``POST`` of the alert's JSON document (``Content-Type: application/json``)
with ``X-Overflight-Alert-Id`` (the stable id: a receiver can drop a repeat) and, when a
secret is configured, ``X-Overflight-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``.
Each target receives its alerts in the order they fired: a failing head is retried before
anything behind it is sent.

Every string from the air (callsigns...) is shown through :func:`clean` in text: control
and invisible characters as ``\\xNN`` / ``\\uNNNN``; e-mail is plain text with headers free of
line breaks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from overflight.alerts.rules import EmailSettings, RuleSet
from overflight.alerts.store import AlertStore

__all__ = ["Dispatcher", "alert_line", "clean", "email_message", "sign"]

log = logging.getLogger("overflight.alerts")

SIGNATURE_HEADER = "X-Overflight-Signature-256"
ID_HEADER = "X-Overflight-Alert-Id"


def _esc(ch: str) -> str:
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def clean(value: object) -> str:
    """Untrusted text as it may be shown: control, invisible and direction characters as
    escapes; None as empty."""
    if value is None:
        return ""
    return "".join(_esc(ch) if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
                   else ch for ch in str(value))


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``body`` with ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _time(t: float) -> str:
    from overflight.alerts.engine import _iso

    return _iso(t)


def alert_line(doc: dict[str, Any]) -> str:
    """One line for a log or a terminal: time, rule, address, callsign, registration, detail
    (every field cleaned)."""
    return (f"{_time(float(doc['time_s']))} {clean(doc['rule'])!s}: {clean(doc['icao24'])} "
            f"callsign={clean(doc.get('callsign')) or '-'} "
            f"reg={clean(doc.get('registration')) or '-'} {clean(doc.get('detail'))}")


def email_message(doc: dict[str, Any], to: str, settings: EmailSettings) -> EmailMessage:
    """A plain-text e-mail for one alert (headers without line breaks)."""
    msg = EmailMessage()
    subject = f"[overflight] {clean(doc['rule'])}: {clean(doc['icao24'])} " \
              f"{clean(doc.get('callsign'))}".strip()
    msg["Subject"] = subject[:200]
    msg["From"] = settings.sender
    msg["To"] = to
    msg["X-Overflight-Alert-Id"] = clean(doc["id"])
    lines = [
        alert_line(doc), "",
        f"rule: {clean(doc['rule'])}",
        f"aircraft: {clean(doc['icao24'])}  callsign: {clean(doc.get('callsign'))}  "
        f"registration: {clean(doc.get('registration'))}  type: {clean(doc.get('type_code'))}",
        f"operator: {clean(doc.get('operator'))}  country: {clean(doc.get('country_code'))}",
        f"where: {doc.get('lat_deg')}, {doc.get('lon_deg')}  airport: "
        f"{clean(doc.get('airport'))}",
        f"alert id: {clean(doc['id'])}", "",
        "evidence (positions with their frames by station seq):",
    ]
    ev = doc.get("evidence") or {}
    for p in ev.get("positions", []):
        lines.append(f"  {_time(float(p['time_s']))} {p['lat_deg']:.5f} {p['lon_deg']:.5f} "
                     f"alt={p.get('altitude_ft')} src={clean(p.get('source'))} "
                     f"frames={p.get('frame_seq')},{p.get('pair_frame_seq')}")
    lines.append(f"  receivers: {', '.join(str(r) for r in ev.get('receivers', []))}")
    msg.set_content("\n".join(lines) + "\n")
    return msg


class Dispatcher:
    """Delivers the outbox in the background.

    Args:
        store: returns the outbox (opened when first needed).
        rules: returns the current :class:`RuleSet` (webhook and e-mail settings).
        base_backoff_s, max_backoff_s: retry after ``base * 2**(attempts-1)``, capped.
        senders: override the sender of a target scheme (tests): ``scheme -> fn(target, doc,
            body, rules)`` raising on failure.
    """

    def __init__(self, store: Callable[[], AlertStore], rules: Callable[[], RuleSet], *,
                 base_backoff_s: float = 1.0, max_backoff_s: float = 300.0,
                 senders: dict[str, Callable[..., None]] | None = None) -> None:
        self._store = store
        self.rules = rules
        self.base = base_backoff_s
        self.cap = max_backoff_s
        self.senders: dict[str, Callable[..., None]] = {
            "webhook": _send_webhook, "email": _send_email, "apprise": _send_apprise,
        }
        self.senders.update(senders or {})
        self.failures = 0
        self.delivered = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="overflight-alerts-out",
                                            daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.step()
            except Exception as exc:  # the database went away (closed at the end of a run)
                log.warning("alert delivery paused: %s", clean(exc))
                wait = 1.0
            self._wake.wait(min(wait, 1.0))
            self._wake.clear()

    def step(self) -> float:
        """Deliver what is due; returns seconds until the next retry is due."""
        wait = 1.0
        store = self._store()
        for target in store.targets_pending():
            while not self._stop.is_set():
                row = store.head(target)
                if row is None:
                    break
                now = time.time()
                if row.next_s > now:
                    wait = min(wait, row.next_s - now)
                    break
                try:
                    self._send(row.target, row.doc)
                except Exception as exc:
                    self.failures += 1
                    delay = min(self.cap, self.base * 2 ** row.attempts)
                    err = f"{type(exc).__name__}: {exc}"
                    store.failed(row.n, err, now + delay)
                    log.warning("alert %s to %s failed (attempt %d, retry in %.1f s): %s",
                                clean(row.alert_id), clean(_redact(target)), row.attempts + 1,
                                delay, clean(err))
                    wait = min(wait, delay)
                    break
                store.delivered(row.n)
                self.delivered += 1
        return max(wait, 0.01)

    def _send(self, target: str, doc: str) -> None:
        scheme, _, rest = target.partition(":")
        fn = self.senders.get(scheme)
        if fn is None:
            raise ValueError(f"unknown target {scheme}")
        fn(rest, doc, self.rules())


def _redact(target: str) -> str:
    return re.sub(r"//[^/@]*@", "//***@", target)


def _send_webhook(url: str, doc: str, rules: RuleSet) -> None:
    body = doc.encode()
    aid = json.loads(doc)["id"]
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", ID_HEADER: aid,
        "User-Agent": "overflight-alerts"})
    if rules.webhook.secret:
        req.add_header(SIGNATURE_HEADER, sign(rules.webhook.secret, body))
    with urllib.request.urlopen(req, timeout=rules.webhook.timeout_s) as resp:
        if not 200 <= resp.status < 300:
            raise OSError(f"HTTP {resp.status}")


def _send_email(to: str, doc: str, rules: RuleSet) -> None:
    s = rules.email
    msg = email_message(json.loads(doc), to, s)
    with smtplib.SMTP(s.host, s.port, timeout=10) as smtp:
        if s.starttls:
            smtp.starttls()
        if s.username:
            smtp.login(s.username, s.password or "")
        smtp.send_message(msg)


def _send_apprise(url: str, doc: str, rules: RuleSet) -> None:
    import apprise

    d = json.loads(doc)
    ap = apprise.Apprise()
    if not ap.add(url):
        raise ValueError("Apprise does not understand this URL")
    ok = ap.notify(title=f"{clean(d['rule'])}: {clean(d['icao24'])} {clean(d.get('callsign'))}",
                   body=alert_line(d))
    if not ok:
        raise OSError("Apprise could not deliver")
