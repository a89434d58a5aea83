"""A real nats-server with JetStream on a free loopback port, in a temporary directory, for
the bus tests (skipped with the reason when the binary is absent: Debian's ``nats-server``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One nats-server process with JetStream, its store and log in ``root``."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.port = _free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        store = self.root / "js"
        store.mkdir(exist_ok=True)
        with open(self.root / "nats.log", "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd",
                 str(store)], stdout=subprocess.DEVNULL, stderr=log,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nats-server exited: "
                                   + (self.root / "nats.log").read_text()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture()
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    pytest.importorskip("nats", reason="nats-py is not installed (pip install overflight[bus])")
    binary = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None)
    if binary is None:
        pytest.skip("nats-server is not installed (Debian: apt-get install nats-server)")
    srv = NatsServer(binary, tmp_path)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
