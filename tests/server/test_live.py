"""Live push over WebSocket: a full picture first, then only what changed; a slow client is
skipped or dropped while the others go on."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from overflight.server import create_app, serve_http
from overflight.server.live import diff_message
from overflight.server.views import SnapshotView
from overflight.station import Station, StationConfig

from ._many import ManyAircraft
from .conftest import CAPTURE_ADDRESSES, TRACKED, LiveServer, running_server, strict_loads


@pytest.fixture(scope="module")
def ws_live(capture: Path, identity_db: Path) -> Iterator[LiveServer]:
    """A station of its own (the test feeds it twice), fed the capture once."""
    config = StationConfig(listen_beast=0, identity_db=identity_db, snapshot_every_s=0.2)
    with running_server(config) as srv:
        yield srv


def _recv(ws: Any, timeout: float = 30.0) -> dict[str, Any]:
    msg = strict_loads(ws.recv(timeout=timeout))
    assert isinstance(msg, dict)
    return msg


def test_full_then_only_what_changed(ws_live: LiveServer, capture: Path) -> None:
    data = capture.read_bytes()
    ws_live.push(data)
    with connect(ws_live.ws_url, open_timeout=30, max_size=None) as ws:
        # The first message is the whole picture; until the capture is tracked it may be empty,
        # then diffs bring the aircraft.
        first = _recv(ws)
        assert first["type"] == "full"
        picture = {a["hex"]: a for a in first["data"]["aircraft"]}
        assert first["now"] > 1.7e12  # epoch ms (the live feed's UTC clock)
        while not {h.lower() for h in TRACKED} <= set(picture) \
                or picture["48520a"]["messages"] < 144:
            m = _recv(ws)
            assert m["type"] == "diff"
            picture.update({a["hex"]: a for a in m["ac"]})
        assert picture["48520a"]["r"] == "PH-HXB"
        assert picture["48520a"]["flight"] == "TRA89M  "
        # Nothing new: a diff, when one comes, never repeats an unchanged aircraft.
        ws_live.push(data)  # the same frames again: every aircraft gets new messages
        diffs = []
        while picture["48520a"]["messages"] < 288 or picture["3981e4"]["messages"] < 184:
            m = _recv(ws)
            assert m["type"] == "diff", m["type"]
            assert m["gone"] == []
            for a in m["ac"]:
                old = picture.get(a["hex"])  # 440062 may first appear now (two messages)
                assert old is None or (a["messages"], len(a)) != (old["messages"], len(old))
            diffs.append(m)
            picture.update({a["hex"]: a for a in m["ac"]})
        assert picture["48520a"]["messages"] == 288
        assert picture["3981e4"]["messages"] == 184
        assert picture["44ce69"]["messages"] == 4
        assert all(len(m["ac"]) <= len(CAPTURE_ADDRESSES) for m in diffs)


def test_diff_of_two_real_views(capture: Path) -> None:
    """Only the aircraft whose records changed are in a diff, and the ones gone are named."""
    from overflight.sources.files import read_batches
    from overflight.station import Snapshot

    st = Station(StationConfig(identify=False, flights=False))
    (frames,) = list(read_batches(capture))
    assert len(frames) == 239
    st.process(frames.take(list(range(0, 200))))
    a = SnapshotView(st._take_snapshot())
    st.process(frames.take(list(range(200, 239))))
    snap = st._take_snapshot()
    b = SnapshotView(snap)
    before = {r["hex"]: r for r in a.records}
    after = {r["hex"]: r for r in b.records}
    changed = {h for h, r in after.items()
               if h not in before or before[h]["messages"] != r["messages"]}
    assert changed and changed != set(after)  # some aircraft got nothing in the last frames
    _, sigs = diff_message({}, a)
    msg, sigs_b = diff_message(sigs, b)
    assert msg is not None
    d = strict_loads(msg)
    assert d["type"] == "diff"
    assert {r["hex"] for r in d["ac"]} == changed
    assert d["gone"] == []
    assert diff_message(sigs_b, b)[0] is None  # the same view again: nothing to send
    # One aircraft leaves the live picture: it is named in "gone", and nothing else is sent.
    left = snap.aircraft[0]
    c = SnapshotView(Snapshot(snap.time_s, snap.wall_s, snap.messages, snap.aircraft[1:],
                              snap.identities))
    msg, _ = diff_message(sigs_b, c)
    assert msg is not None
    d = strict_loads(msg)
    assert d["gone"] == [left.icao24]
    assert d["ac"] == []


def _handshake(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws/aircraft HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return s


@contextlib.contextmanager
def _serve(app: Any) -> Iterator[int]:
    loop = asyncio.new_event_loop()
    port: list[int] = []
    ready = threading.Event()

    main: list[asyncio.Task[None]] = []

    def run() -> None:
        main.append(loop.create_task(
            serve_http(app, "127.0.0.1", 0, ready=lambda p: (port.append(p), ready.set()))))
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(main[0])

    th = threading.Thread(target=run, daemon=True)
    th.start()
    assert ready.wait(60)
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(main[0].cancel)
        th.join(30)


def test_a_slow_client_is_skipped_then_dropped_others_go_on(capture: Path) -> None:
    st = Station(StationConfig(identify=False, flights=False))
    st.run_file(capture)
    source = ManyAircraft(st.snapshot().aircraft, 5000)
    app = create_app(source, live_period_s=0.2, ws_send_timeout_s=3.0)
    with _serve(app) as port:
        slow = _handshake(port)
        try:
            with connect(f"ws://127.0.0.1:{port}/ws/aircraft", max_size=None) as ws:
                kinds = []
                while app.state.live.stats.dropped == 0 and len(kinds) < 200:
                    kinds.append(_recv(ws)["type"])
                stats = app.state.live.stats
                assert stats.skipped >= 1
                assert stats.dropped == 1  # the slow one; the reader is still served:
                more = [_recv(ws)["type"] for _ in range(3)]
                assert set(more) <= {"diff", "full"}
                assert kinds[0] == "full" and "diff" in kinds + more
        finally:
            slow.close()


def test_a_page_of_another_origin_is_refused(ws_live: LiveServer) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.typing import Origin

    with pytest.raises(InvalidStatus) as refused:
        connect(ws_live.ws_url, origin=Origin("http://evil.example"), open_timeout=30)
    assert refused.value.response.status_code == 403
    own = f"http://127.0.0.1:{ws_live.http_port}"
    with connect(ws_live.ws_url, origin=Origin(own), open_timeout=30, max_size=None) as ws:
        assert _recv(ws)["type"] == "full"
    with connect(ws_live.ws_url, open_timeout=30, max_size=None) as ws:  # no Origin: not a browser
        assert _recv(ws)["type"] == "full"
