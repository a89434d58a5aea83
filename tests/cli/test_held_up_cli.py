"""Issue 17, held up and kept so: ``overflight record`` killed with SIGKILL keeps every frame it
wrote; every listener of ``overflight serve`` binds to 127.0.0.1 by default."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.sources.beast import parse_beast

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
HOST = "127.0.0.1"


def _overflight() -> list[str]:
    exe = shutil.which("overflight", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "overflight"]


def test_record_killed_with_sigkill_keeps_every_frame_it_was_sent(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    raw = shared(SAMPLE).read_bytes()
    sent = parse_beast(raw, final=True).frames
    assert len(sent) > 200
    out = tmp_path / "rec"

    def recorded() -> int:
        files = sorted(out.glob("*.beast")) if out.exists() else []
        return sum(len(parse_beast(f.read_bytes()).frames) for f in files)

    async def main() -> tuple[int, list[Path]]:
        done = asyncio.Event()

        async def handle(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            for i in range(0, len(raw), 333):  # several reads, several batches
                w.write(raw[i : i + 333])
                await w.drain()
                await asyncio.sleep(0.01)
            done.set()
            await asyncio.sleep(3600)  # then waits, connection open

        srv = await asyncio.start_server(handle, HOST, 0)
        port = srv.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            *_overflight(), "record", "--connect", f"{HOST}:{port}", "--out", str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await asyncio.wait_for(done.wait(), 30)
            # the recorder writes and flushes each batch: wait (with a deadline) until it has
            end = time.monotonic() + 15
            while recorded() < len(sent) and time.monotonic() < end:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)  # and a flush interval more
        finally:
            proc.send_signal(signal.SIGKILL)
            rc = await proc.wait()
            srv.close()
        return rc, sorted(out.glob("*.beast"))

    rc, files = asyncio.run(main())
    assert rc == -signal.SIGKILL
    assert len(files) == 1
    got = parse_beast(files[0].read_bytes(), final=True)
    assert got.stats.truncated_bytes == 0 and got.stats.garbage_bytes == 0
    frames = got.frames
    assert len(frames) == len(sent)
    assert np.array_equal(frames.length_bytes, sent.length_bytes)
    assert np.array_equal(frames.data, sent.data)  # byte for byte
    assert np.array_equal(frames.ticks, sent.ticks)
    assert np.array_equal(frames.signal_dbfs, sent.signal_dbfs)
    assert got.stats.receiver_ids >= 1 and got.stats.time_records >= 1


def _listening_inodes() -> dict[int, tuple[str, int]]:
    """inode -> (local address, port) of every listening TCP socket (IPv4 and IPv6)."""
    found: dict[int, tuple[str, int]] = {}
    for name, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            local, state, inode = f[1], f[3], int(f[9])
            if state != "0A":  # LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            raw = bytes.fromhex(addr_hex)
            if v6:
                words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
                b = b"".join(words)
                addr = ":".join(b[i : i + 2].hex() for i in range(0, 16, 2))
            else:
                addr = ".".join(str(x) for x in raw[::-1])
            found[inode] = (addr, int(port_hex, 16))
    return found


def _socket_inodes(pid: int) -> set[int]:
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_every_listener_of_serve_binds_loopback_by_default(tmp_path: Path) -> None:
    err = tmp_path / "serve.err"
    with open(err, "wb") as ef:
        proc = subprocess.Popen(
            [*_overflight(), "serve", "--listen-beast", "0", "--beast-out", "0", "--sbs-out",
             "0", "--raw-out", "0", "--http", "0"],
            stdout=subprocess.DEVNULL, stderr=ef, cwd=tmp_path,
        )
        try:
            end = time.monotonic() + 60
            while b"HTTP API on" not in err.read_bytes() and time.monotonic() < end:
                assert proc.poll() is None, err.read_text()
                time.sleep(0.1)
            mine = _socket_inodes(proc.pid)
            listening = [a for i, a in _listening_inodes().items() if i in mine]
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                rc = proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
    log = err.read_text()
    assert len(listening) == 5, (listening, log)  # feeders, beast, sbs, raw, http
    assert all(addr == "127.0.0.1" for addr, _port in listening), listening
    ports = {p for _a, p in listening}
    assert len(ports) == 5 and all(p > 0 for p in ports)
    for port in ports:
        assert f"127.0.0.1:{port}" in log
    assert rc == 0, log
