"""``overflight sim``: writes the Beast file, truth and receivers; rejects bad arguments."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from overflight.cli import app
from overflight.frames import FrameBatch
from overflight.sim import mlat_demo
from overflight.sources.beast import parse_beast
from overflight.sources.files import read_batches


def test_sim_writes_beast_truth_and_receivers(tmp_path: Path) -> None:
    out = tmp_path / "demo.beast"
    res = CliRunner().invoke(app, ["sim", "mlat-demo", "--out", str(out), "--duration", "15"])
    assert res.exit_code == 0, res.output
    fb = FrameBatch.concat(list(read_batches(out)))
    truth = (tmp_path / "demo.truth.csv").read_text().splitlines()
    rx = (tmp_path / "demo.receivers.csv").read_text().splitlines()
    assert rx[0] == "serial,latitude,longitude,height,type,name" and len(rx) == 7
    assert set(np.unique(fb.receiver).tolist()) == {1001, 1002, 1003, 1004, 1005, 1006}
    heard = sum(int(line.rsplit(",", 1)[1]) for line in truth[1:])
    assert heard == len(fb) > 1000
    assert any('"3b7777"' in line and '"df4"' in line for line in truth)


def test_sim_rejects_unknown_scenarios_and_missing_outputs(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["sim", "nope", "--out", str(tmp_path / "x.beast")])
    assert r.exit_code != 0 and "mlat-demo" in r.output
    r = CliRunner().invoke(app, ["sim", "mlat-demo"])
    assert r.exit_code != 0


class _Sink:
    """A real TCP listener on 127.0.0.1 that keeps every byte each connection sends."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.streams: list[bytearray] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._run, daemon=True)
        self._accept.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            buf = bytearray()
            self.streams.append(buf)
            t = threading.Thread(target=self._read, args=(conn, buf), daemon=True)
            t.start()
            self._threads.append(t)

    @staticmethod
    def _read(conn: socket.socket, buf: bytearray) -> None:
        with conn:
            while chunk := conn.recv(65536):
                buf.extend(chunk)

    def close(self) -> list[bytes]:
        self._stop.set()
        self._accept.join(5)
        for t in self._threads:
            t.join(5)
        self.sock.close()
        return [bytes(b) for b in self.streams]


def _record_times(streams: list[bytes]) -> tuple[int, np.ndarray]:
    frames = 0
    times = []
    for data in streams:
        chunk = parse_beast(data, final=True)
        assert chunk.stats.errors == 0
        frames += len(chunk.frames)
        times.append(chunk.record_time_s[np.isfinite(chunk.record_time_s)])
    return frames, np.concatenate(times)


def _push(*extra: str) -> tuple[int, np.ndarray, float]:
    sink = _Sink()
    before = time.time()
    try:
        res = CliRunner().invoke(
            app,
            ["sim", "mlat-demo", "--duration", "10", "--speed", "max",
             "--push", f"127.0.0.1:{sink.port}", *extra],
        )
    finally:
        streams = sink.close()
    assert res.exit_code == 0, res.output
    assert len(streams) == 6  # one feeder per receiver
    frames, times = _record_times(streams)
    return frames, times, before


def test_push_sends_wall_clock_times_by_default_and_scenario_times_on_request() -> None:
    start = mlat_demo(duration_s=10.0).start_time_s  # 2024-06-01T12:00:00Z
    frames, times, before = _push()
    assert frames > 500 and times.size >= 6
    assert times.min() >= before - 1.0 and times.max() <= time.time() + 11.0
    frames2, times2, _ = _push("--scenario-time")
    assert frames2 == frames  # same seed: the same frames, only the dates differ
    assert start <= times2.min() and times2.max() <= start + 10.0
    assert np.allclose(np.sort(times2 - start), np.sort(times - times.min()), atol=1.0)


def test_serve_sends_scenario_times_on_request() -> None:
    start = mlat_demo(duration_s=10.0).start_time_s
    with socket.socket() as probe:  # a free port for the server to bind
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    got = bytearray()

    def client() -> None:  # retries until served (the CLI probes the port before serving)
        # A deadline, not a count: on a cold start (numba compiling) the server may take tens
        # of seconds to listen, and it waits for a client, so giving up early would hang it.
        deadline = time.monotonic() + 180.0
        while time.monotonic() < deadline:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                time.sleep(0.05)
                continue
            try:
                with conn:
                    while chunk := conn.recv(65536):
                        got.extend(chunk)
            except OSError:  # e.g. no data within the timeout: try again
                continue
            if got:
                return

    t = threading.Thread(target=client, daemon=True)
    t.start()
    res = CliRunner().invoke(
        app,
        ["sim", "mlat-demo", "--duration", "10", "--speed", "max", "--serve",
         f"127.0.0.1:{port}", "--scenario-time"],
    )
    t.join(30)
    assert res.exit_code == 0, res.output
    frames, times = _record_times([bytes(got)])
    assert frames > 500
    assert start <= times.min() and times.max() <= start + 10.0
