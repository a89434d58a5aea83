"""Readers on broken gzips: the positions of the part before the fault, and the fault reported.

The reference is always the same reader on a plain file holding the whole lines that an
independent ``zlib.decompressobj`` recovers from the cut file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.flights import read_positions
from overflight.flights.readers import PositionsRead, read_capture, read_file
from overflight.flights.table import PositionTable

Shared = Callable[[str], Path]
FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
MUNICH = "trajectories-traffic/calibration/munich.json.gz"


def _cut(data: bytes, n: int, path: Path) -> bytes:
    """Write the first ``n`` bytes of ``data`` to ``path``; the whole lines zlib recovers."""
    path.write_bytes(data[:n])
    text = zlib.decompressobj(wbits=31).decompress(data[:n])
    return text[: text.rfind(b"\n") + 1]


def _same(a: PositionTable, b: PositionTable) -> None:
    assert len(a) == len(b)
    for col in ("icao24", "time_s", "lat_deg", "lon_deg", "altitude_ft", "on_ground"):
        assert np.array_equal(getattr(a, col), getattr(b, col), equal_nan=True), col


def test_truncated_capture_gives_positions_and_input_skipped(shared: Shared,
                                                             tmp_path: Path) -> None:
    """The first 100 kB of the Paris-Toulouse capture: the positions of the whole lines."""
    cut = tmp_path / "cut.jsonl.gz"
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(_cut(shared(FLIGHT).read_bytes(), 100_000, cut))
    want = read_file(plain)
    got = read_file(cut)
    assert want.broken is None and isinstance(got.broken, EOFError)
    _same(got.table, want.table)
    assert len(got.table) == 1_554
    assert {f"{a:06x}" for a in np.unique(got.table.icao24)} == {"393322"}
    assert got.input_skipped == {"cut by the broken input": 1}
    assert want.input_skipped == {}
    with pytest.raises(EOFError):
        read_positions(cut)
    _same(read_positions(plain), want.table)


def test_truncated_beast_gzip_capture(shared: Shared, tmp_path: Path) -> None:
    raw = shared(SAMPLE).read_bytes()
    gz = gzip.compress(raw)
    cut = tmp_path / "cut.bin.gz"
    cut.write_bytes(gz[: len(gz) * 6 // 10])
    plain = tmp_path / "prefix.bin"
    plain.write_bytes(zlib.decompressobj(wbits=31).decompress(cut.read_bytes()))
    got, want = read_capture(cut), read_capture(plain)
    assert isinstance(got, PositionsRead) and isinstance(got.broken, EOFError)
    _same(got.table, want.table)
    assert got.input_skipped == want.input_skipped == {"Beast truncated bytes": 8}
    whole = read_capture(shared(SAMPLE))
    assert whole.broken is None and whole.input_skipped == {}
    assert 0 < len(got.table) <= len(whole.table)


def test_capture_broken_before_its_first_byte(tmp_path: Path) -> None:
    p = tmp_path / "bad.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)) * 4)
    got = read_file(p)
    assert len(got.table) == 0 and isinstance(got.broken, zlib.error)


def test_truncated_json_document_gives_nothing_and_the_fault(shared: Shared,
                                                             tmp_path: Path) -> None:
    """A cut pandas JSON document has no usable part: no positions, the fault, no exception."""
    cut = tmp_path / "cut.json.gz"
    _cut(shared(MUNICH).read_bytes(), 20_000, cut)
    got = read_file(cut)
    assert len(got.table) == 0 and isinstance(got.broken, EOFError)
    with pytest.raises(EOFError):
        read_positions(cut)
    whole = read_file(shared(MUNICH))
    assert whole.broken is None and len(whole.table) == 3_060


def test_truncated_decoded_jsonl(shared: Shared, tmp_path: Path) -> None:
    cut = tmp_path / "cut.jsonl.gz"
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(_cut(shared(FLIGHT).read_bytes(), 300_000, cut))
    want = read_file(plain, "decoded")
    got = read_file(cut, "decoded")
    assert want.broken is None and isinstance(got.broken, EOFError)
    _same(got.table, want.table)
    assert len(got.table) > 1_000


def test_truncated_positions_csv(shared: Shared, tmp_path: Path) -> None:
    """Real positions (Munich calibration flight) as a gzipped CSV, cut: the whole rows."""
    tab = read_positions(shared(MUNICH))
    rows = "".join(
        f"{a:06x},{t!r},{la!r},{lo!r},{al!r}\n"
        for a, t, la, lo, al in zip(tab.icao24.tolist(), tab.time_s.tolist(),
                                    tab.lat_deg.tolist(), tab.lon_deg.tolist(),
                                    tab.altitude_ft.tolist(), strict=True)
    )
    data = gzip.compress(("icao24,time_s,lat_deg,lon_deg,altitude_ft\n" + rows).encode())
    cut = tmp_path / "cut.csv.gz"
    plain = tmp_path / "plain.csv"
    plain.write_bytes(_cut(data, len(data) // 2, cut))
    want = read_file(plain)
    got = read_file(cut)
    assert want.broken is None and isinstance(got.broken, EOFError)
    _same(got.table, want.table)
    assert 0 < len(got.table) < len(tab)
    assert np.array_equal(got.table.time_s, tab.time_s[: len(got.table)])
    whole = tmp_path / "whole.csv.gz"
    whole.write_bytes(data)
    _same(read_positions(whole), tab)
