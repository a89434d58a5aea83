"""gzipread: a broken gzip is read to the byte of its fault, against independent zlib runs."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.sources.gzipread import (
    GzipPrefixFile,
    GzipPrefixReader,
    describe_fault,
    read_prefix,
)

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
SAMPLE = "modes-traffic-samples/sample_dump1090.bin"


def _read(data: bytes, buffer_size: int = 1 << 17) -> tuple[bytes, BaseException | None]:
    f = GzipPrefixFile(io.BytesIO(data), buffer_size=buffer_size)
    return f.read(), f.fault


def _byte_by_byte(data: bytes) -> bytes:
    """Independent reference: one zlib stream fed one byte at a time until it fails."""
    d = zlib.decompressobj(wbits=31)
    out = bytearray()
    for i in range(len(data)):
        try:
            out += d.decompress(data[i : i + 1])
        except zlib.error:
            break
    return bytes(out)


def test_whole_real_gzip_reads_as_gzip_does(shared: Callable[[str], Path]) -> None:
    data = shared(FLIGHT).read_bytes()
    out, fault = _read(data)
    assert fault is None
    assert out == gzip.decompress(data)
    assert len(out) == 10_406_338
    assert read_prefix(shared(FLIGHT)) == (out, None)


@pytest.mark.parametrize("cut", [1, 9, 10, 11, 5_000, 100_000, 684_487, -8, -1])
def test_truncated_gives_every_byte_zlib_recovers(shared: Callable[[str], Path], cut: int) -> None:
    data = shared(FLIGHT).read_bytes()
    part = data[:cut]
    out, fault = _read(part)
    assert out == zlib.decompressobj(wbits=31).decompress(part)
    assert isinstance(fault, EOFError)
    assert describe_fault(fault) == "truncated: the compressed stream ends early"


def test_small_reads_and_chunks_give_the_same_bytes(shared: Callable[[str], Path]) -> None:
    part = shared(FLIGHT).read_bytes()[:20_000]
    expected = zlib.decompressobj(wbits=31).decompress(part)
    raw = GzipPrefixReader(io.BytesIO(part), chunk_bytes=7)
    buf = bytearray(13)
    got = bytearray()
    while k := raw.readinto(buf):
        assert k <= 13
        got += buf[:k]
    assert bytes(got) == expected and raw.decompressed_bytes == len(expected)
    assert isinstance(raw.fault, EOFError)


def test_corrupt_stream_ends_exactly_at_the_fault(shared: Callable[[str], Path]) -> None:
    """Bytes damaged inside a real stream: the output is the byte-by-byte zlib prefix."""
    data = bytearray(shared(FLIGHT).read_bytes()[:200_000])
    data[70_000:70_016] = b"\xff" * 16
    out, fault = _read(bytes(data))
    expected = _byte_by_byte(bytes(data))
    assert 200_000 < len(expected) < 2_000_000
    assert out == expected
    assert isinstance(fault, zlib.error)
    assert describe_fault(fault).startswith("corrupt gzip data (Error -3 while decompressing")


def test_beast_capture_cut_at_60_percent(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    gz = gzip.compress(raw)
    part = gz[: len(gz) * 6 // 10]
    out, fault = _read(part)
    assert out == zlib.decompressobj(wbits=31).decompress(part)
    assert raw.startswith(out) and 0 < len(out) < len(raw)
    assert isinstance(fault, EOFError)


def test_members_padding_and_garbage(shared: Callable[[str], Path]) -> None:
    raw = shared(SAMPLE).read_bytes()
    a, b = raw[:2000], raw[2000:]
    two = gzip.compress(a) + gzip.compress(b)
    assert _read(two) == (raw, None)
    assert _read(two + bytes(16)) == (raw, None)  # zero padding, as gzip allows
    assert _read(gzip.compress(a) + bytes(5) + gzip.compress(b)) == (raw, None)
    assert _read(two, buffer_size=1) == (raw, None)
    out, fault = _read(two + b"not gzip")
    assert out == raw and isinstance(fault, gzip.BadGzipFile)
    assert describe_fault(fault) == "corrupt gzip data (8 bytes of garbage after the end)"
    out, fault = _read(gzip.compress(a) + b"\x1f")
    assert out == a and isinstance(fault, gzip.BadGzipFile)
    out, fault = _read(gzip.compress(a) + gzip.compress(b)[:-4])  # second member cut
    assert out == raw and isinstance(fault, EOFError)


def test_crc_and_header_faults() -> None:
    data = bytearray(gzip.compress(b"overflight " * 1000))
    data[-8] ^= 0xFF  # the CRC-32 of the trailer
    out, fault = _read(bytes(data))
    assert out == b"overflight " * 1000  # the data before the check is kept
    assert isinstance(fault, zlib.error) and "incorrect data check" in str(fault)
    out, fault = _read(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)) * 4)
    assert out == b"" and isinstance(fault, zlib.error)
    assert _read(b"") == (b"", None)
    out, fault = _read(b"\x1f")
    assert out == b"" and isinstance(fault, EOFError)


def test_memory_stays_bounded() -> None:
    """64 MiB of decompressed output read 64 KiB at a time: never held at once."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    block = bytes(range(256)) * 4096  # 1 MiB
    data = b"".join(c.compress(block) for _ in range(64)) + c.flush()
    assert len(data) < 1 << 20
    tracemalloc.start()
    try:
        f = GzipPrefixFile(io.BytesIO(data))
        total = 0
        while piece := f.read(1 << 16):
            total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 64 << 20 and f.fault is None
    assert peak < 4 << 20


def test_read_prefix_of_plain_and_broken_files(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    assert read_prefix(shared(SAMPLE)) == (shared(SAMPLE).read_bytes(), None)
    cut = tmp_path / "cut.gz"
    part = shared(FLIGHT).read_bytes()[:100_000]
    cut.write_bytes(part)
    data, fault = read_prefix(cut)
    assert data == zlib.decompressobj(wbits=31).decompress(part)
    assert isinstance(fault, EOFError)


def test_truncations_keep_every_byte_zlib_can_give(shared: Callable[[str], Path]) -> None:
    """Cut a real gzip at 120 random places and read it in small pieces: the bytes read are
    exactly what zlib decompresses from the same prefix, including output it held back because
    a read asked for fewer bytes than it had finished (the last bytes before the cut)."""
    data = gzip.compress(shared("modes-traffic-samples/sample_dump1090.bin").read_bytes() * 20)
    rng = np.random.default_rng(3)
    for cut in rng.integers(20, len(data) - 8, 120).tolist():
        ref = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:cut])
        f = GzipPrefixReader(io.BytesIO(data[:cut]), chunk_bytes=int(rng.integers(1, 300)))
        got = bytearray()
        buf = bytearray(int(rng.integers(1, 64)))
        while k := f.readinto(buf):
            got += buf[:k]
        assert bytes(got) == ref, cut
        assert isinstance(f.fault, EOFError)
