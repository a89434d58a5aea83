"""Live push over WebSocket (``/ws/aircraft``): only what changed, at most once a period.

Protocol (server to client, JSON text frames; the client sends nothing):

* ``{"type": "full", "now": ms, "data": <aircraft.json document>}`` first, and again whenever
  the client fell behind (it then missed diffs; the full picture replaces what it had);
* ``{"type": "diff", "now": ms, "messages": n, "ac": [records], "gone": [hex, ...]}`` each period
  (default 1 s) in which something changed: ``ac`` holds the whole readsb record of every
  aircraft that changed (a new message, a field appearing or expiring, a new identity);
  ``gone`` the addresses no longer live. ``seen``/``seen_pos`` count back from ``now``.

Simulated input adds ``"simulated": true`` to every message.

One broadcaster task builds each message once and hands the same text to every client.
Each client has its own sender task and at most one message waiting: a client still sending
the previous one when the next is due is skipped (counted) and gets a ``full`` message when it
catches up; one stuck on a send longer than ``send_timeout_s`` is dropped. Nothing waits for a
client: ingest and the other clients never slow down for a slow one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from overflight.jsonout import dumps
from overflight.server.views import SnapshotView, ViewCache

__all__ = ["LiveHub", "LiveStats", "diff_message", "full_message"]

log = logging.getLogger("overflight.server")

_Sig = tuple[Any, ...]


def _signature(r: dict[str, Any]) -> _Sig:
    # Everything but the ages changes the record only with a new message (``messages``), a
    # field appearing or expiring (the key count) or a new identity.
    return (r["messages"], len(r), r.get("r"), r.get("t"), r.get("dbFlags"), r.get("ownOp"),
            r.get("desc"))


def _extra(view: SnapshotView) -> str:
    return ",\"simulated\":true" if view.snapshot.simulated else ""


def full_message(view: SnapshotView) -> str:
    """The ``full`` message for ``view`` (reuses its serialized ``aircraft.json``)."""
    return (f"{{\"type\":\"full\",\"now\":{view.now_ms}{_extra(view)},\"data\":"
            + view.aircraft_json_bytes.decode() + "}")


def diff_message(prev: dict[str, _Sig], view: SnapshotView) -> tuple[str | None, dict[str, _Sig]]:
    """The ``diff`` message from signatures ``prev`` to ``view`` (None when nothing changed),
    and ``view``'s signatures."""
    sigs: dict[str, _Sig] = {}
    changed: list[int] = []
    for i, r in enumerate(view.records):
        h = r["hex"]
        s = _signature(r)
        sigs[h] = s
        if prev.get(h) != s:
            changed.append(i)
    gone = [h for h in prev if h not in sigs]
    if not changed and not gone:
        return None, sigs
    ac = b",".join(view.fragment(i) for i in changed).decode()
    msg = (f"{{\"type\":\"diff\",\"now\":{view.now_ms},\"messages\":{int(view.doc['messages'])}"
           f"{_extra(view)},\"ac\":[{ac}],\"gone\":{dumps(gone)}}}")
    return msg, sigs


@dataclass(slots=True)
class LiveStats:
    """Counts since the start."""

    clients: int = 0
    connected: int = 0
    messages: int = 0
    skipped: int = 0
    dropped: int = 0
    ticks: int = 0
    refused: int = 0


class _Client:
    __slots__ = ("pending", "resync", "wake", "ws")

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.pending: str | None = None
        self.resync = True
        self.wake = asyncio.Event()


class LiveHub:
    """The WebSocket fan-out.

    Args:
        cache: the views to read.
        period_s: at most one message per client per this many seconds.
        send_timeout_s: a client whose send has not completed after this long is dropped.
        max_clients: connections beyond this are refused (close code 1013, try again later).
        origins: web origins (``scheme://host[:port]``) allowed besides the server's own.

    A browser connecting from a page of another origin is refused (any web page can open a
    WebSocket to a loopback server; the live picture is for this server's own pages and for
    clients that are not browsers, which send no ``Origin``).
    """

    def __init__(self, cache: ViewCache, *, period_s: float = 1.0, send_timeout_s: float = 10.0,
                 max_clients: int = 1000, origins: Iterable[str] = ()) -> None:
        self.cache = cache
        self.origins = frozenset(o.rstrip("/").lower() for o in origins)
        self.period_s = period_s
        self.send_timeout_s = send_timeout_s
        self.max_clients = max_clients
        self.stats = LiveStats()
        self._clients: set[_Client] = set()
        self._sigs: dict[str, _Sig] = {}
        self._last: SnapshotView | None = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the broadcaster (in the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="overflight-live")

    async def stop(self) -> None:
        """Stop the broadcaster and close every client."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for c in list(self._clients):
            with contextlib.suppress(Exception):
                await c.ws.close(1001)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period_s)
            try:
                await self.tick()
            except Exception:
                log.exception("live push failed")

    async def tick(self) -> None:
        """One period: hand the diff (or a full picture) to every client."""
        self.stats.ticks += 1
        if not self._clients:
            self._last = None
            return
        view = await self.cache.get()
        diff: str | None = None
        if view is not self._last:
            diff, self._sigs = diff_message(self._sigs if self._last is not None else {}, view)
            if self._last is None:
                diff = None  # a fresh start: every client resyncs with a full message
                for c in self._clients:
                    c.resync = True
            self._last = view
        full: str | None = None
        for c in self._clients:
            if c.pending is not None:  # still sending the one before: skip, resync later
                c.pending = None
                c.resync = True
                self.stats.skipped += 1
                continue
            if c.resync:
                if full is None:
                    full = full_message(view)
                c.pending = full
                c.resync = False
            elif diff is not None:
                c.pending = diff
            else:
                continue
            c.wake.set()

    # ------------------------------------------------------------------ one client
    def origin_allowed(self, ws: WebSocket) -> bool:
        """No ``Origin`` (not a browser), the server's own origin, or one of ``origins``."""
        origin = ws.headers.get("origin")
        if origin is None:
            return True
        o = origin.rstrip("/").lower()
        if o in self.origins:
            return True
        host = ws.headers.get("host", "").lower()
        return bool(host) and o in (f"http://{host}", f"https://{host}")

    async def serve(self, ws: WebSocket) -> None:
        """Serve one WebSocket until it closes, is dropped or the server stops."""
        if not self.origin_allowed(ws):
            self.stats.refused += 1
            await ws.close(1008)  # refused before the handshake: the browser sees a 403
            return
        if len(self._clients) >= self.max_clients:
            self.stats.refused += 1
            await ws.close(1013)
            return
        await ws.accept()
        c = _Client(ws)
        self._clients.add(c)
        self.stats.clients += 1
        self.stats.connected = len(self._clients)
        reader = asyncio.create_task(self._read(ws))
        try:
            if self._last is not None:  # the first picture at once, not a period later
                c.pending = full_message(self._last)
                c.resync = False
                c.wake.set()
            while not reader.done():
                waiter = asyncio.create_task(c.wake.wait())
                await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if reader.done():
                    break
                c.wake.clear()
                msg = c.pending
                if msg is None:
                    continue
                try:
                    await asyncio.wait_for(ws.send_text(msg), self.send_timeout_s)
                except TimeoutError:
                    self.stats.dropped += 1
                    break
                finally:
                    c.pending = None
                self.stats.messages += 1
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self._clients.discard(c)
            self.stats.connected = len(self._clients)
            reader.cancel()
            with contextlib.suppress(Exception):
                await ws.close()

    @staticmethod
    async def _read(ws: WebSocket) -> None:
        # The client sends nothing we use; reading notices its close (and drains pings).
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    return

    def route(self, path: str = "/ws/aircraft") -> WebSocketRoute:
        """The WebSocket route."""
        return WebSocketRoute(path, self.serve)
