"""read_batches on every capture format in shared/data, against independent counts and decoders."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyModeS
import pytest

from overflight.frames import FrameBatch
from overflight.sources.avr import encode_avr
from overflight.sources.beast import encode_beast
from overflight.sources.files import detect_format, read_batches

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
ADSB_CSV = "modes-pymodes-samples/sample_data_adsb.csv"
DF20_CSV = "modes-pymodes-samples/sample_data_commb_df20.csv"

# DF histogram of sample_dump1090.bin, from modes-traffic-samples/README.md
SAMPLE_DF = {11: 90, 0: 44, 4: 39, 17: 23, 20: 16, 21: 14, 5: 12, 16: 1}


def _all(path: Path | str, **kw: object) -> tuple[FrameBatch, object]:
    r = read_batches(path, **kw)  # type: ignore[arg-type]
    return FrameBatch.concat(list(r)), r.stats


def _callsigns(batch: FrameBatch) -> set[str]:
    """Callsigns by pyModeS 3 (the oracle): ADS-B identification and Comm-B BDS 2,0."""
    out = set()
    for i in range(len(batch)):
        if batch.length_bytes[i] == 14 and batch.data[i, 0] >> 3 in (17, 18, 20, 21):
            d = pyModeS.decode(batch.frame_hex(i))
            if d.get("callsign") and d.get("crc_valid") is not False:
                out.add(d["callsign"].strip("_ "))
    return out


def test_sample_dump1090_counts_dfs_and_callsigns(shared: Callable[[str], Path]) -> None:
    batch, stats = _all(shared(SAMPLE))
    assert len(batch) == 239
    assert Counter(batch.length_bytes.tolist()) == {7: 185, 14: 54}
    assert Counter((batch.data[:, 0] >> 3).tolist()) == SAMPLE_DF
    assert {"TRA89M", "TJT62CB"} <= _callsigns(batch)
    assert stats.malformed == 0  # type: ignore[attr-defined]
    assert stats.format == "beast"  # type: ignore[attr-defined]
    # counter span 23.9 s (README); relative times from the counter, non-decreasing
    assert 23.8 < batch.time_s[-1] - batch.time_s[0] < 24.0
    assert np.all(np.diff(batch.time_s) >= 0)
    addr = Counter(
        pyModeS.decode(batch.frame_hex(i))["icao"] for i in range(len(batch))
        if batch.data[i, 0] >> 3 in (11, 17)
    )
    assert addr.most_common(1)[0][0] == "48520A"


def test_batch_size_splits_without_loss(shared: Callable[[str], Path]) -> None:
    r = read_batches(shared(SAMPLE), batch_size=50)
    sizes = [len(b) for b in r]
    assert sizes == [50, 50, 50, 50, 39]
    assert r.stats.frames == 239


def test_jsonl_gz_full_flight(shared: Callable[[str], Path]) -> None:
    batch, stats = _all(shared(FLIGHT))
    assert len(batch) == 57793
    assert stats.format == "jsonl"  # type: ignore[attr-defined]
    dfs = Counter((batch.data[:, 0] >> 3).tolist())
    assert dfs == {0: 15691, 17: 15573, 21: 12622, 20: 7770, 4: 4296, 5: 1031, 16: 810}
    # short frames were padded to 28 digits: cut back by DF
    assert np.all(batch.length_bytes[(batch.data[:, 0] >> 3) < 16] == 7)
    assert batch.frame_hex(1) == "212800BF40F1EF"
    with gzip.open(shared(FLIGHT), "rt") as f:
        first = json.loads(f.readline())
    assert batch.time_s[0] == first["timestamp"]
    i4 = next(i for i in range(len(batch)) if batch.data[i, 0] >> 3 == 4)
    assert pyModeS.decode(batch.frame_hex(i4))["icao"] == "393322"


def test_pymodes_csv_layouts(shared: Callable[[str], Path]) -> None:
    adsb, s1 = _all(shared(ADSB_CSV))
    assert len(adsb) == 2000 and s1.malformed == 0  # type: ignore[attr-defined]
    assert adsb.time_s[0] == 1457996400.0
    assert _callsigns(adsb) == {"EZY85MH"}
    df20, s2 = _all(shared(DF20_CSV))  # ts,icao,hex with a UTF-8 BOM
    assert len(df20) == 5000 and s2.malformed == 0  # type: ignore[attr-defined]
    assert np.all(df20.data[:, 0] >> 3 == 20)
    assert df20.frame_hex(0) == "A00015B7C26E1370AA00005DD34A"
    assert df20.time_s[0] == 1495353600.0


def test_avr_hex_csv_from_real_frames(shared: Callable[[str], Path], tmp_path: Path) -> None:
    batch, _ = _all(shared(SAMPLE))
    hexes = [batch.frame_hex(i) for i in range(len(batch))]
    files = {
        "a.avr": encode_avr(batch),
        "b.avr": encode_avr(batch, style="@"),
        "c.avr": encode_avr(batch, style="<"),
        "d.txt": "".join(h + "\n" for h in hexes).encode(),
        "e.csv": (
            "timestamp,hex\n" + "".join(f"{i}.5,{h}\n" for i, h in enumerate(hexes))
        ).encode(),
    }
    for name, content in files.items():
        p = tmp_path / name
        p.write_bytes(content)
        got, stats = _all(p)
        assert [got.frame_hex(i) for i in range(len(got))] == hexes, name
        assert stats.malformed == 0, name  # type: ignore[attr-defined]
    got, _ = _all(tmp_path / "c.avr")
    assert np.array_equal(got.ticks, batch.ticks)
    assert np.allclose(got.signal_dbfs, batch.signal_dbfs, atol=1e-5)
    got, _ = _all(tmp_path / "e.csv")
    assert got.time_s[3] == 3.5
    gz = tmp_path / "s.bin.gz"
    gz.write_bytes(gzip.compress(encode_beast(batch)))
    got, _ = _all(gz)
    assert [got.frame_hex(i) for i in range(len(got))] == hexes


def test_malformed_lines_are_counted_not_raised(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_bytes(
        b"*8D4840D6202CC371C32CE0576098;\n"
        b"*8D4840D6202CC371C32CE05760;\n"  # 26 digits
        b"*ZZ4840D6202CC371C32CE0576098;\n"
        b"@12;\n"
        b"{\"timestamp\": 1.5, \"frame\": \"8d4840d6202cc371c32ce0576098\"}\n"
        b"{not json\n"
        b"\xff\xfe\x00garbage\n"
        b"\n"
        b"1.0,8D4840D6202CC371C32CE0576098\n"
    )
    batch, stats = _all(p)
    assert len(batch) == 3
    assert stats.malformed == 5  # type: ignore[attr-defined]
    assert batch.time_s[1] == 1.5


def test_stdin_dash(shared: Callable[[str], Path]) -> None:
    code = (
        "from overflight.sources.files import read_batches\n"
        "r = read_batches('-'); n = sum(len(b) for b in r); print(n, r.stats.format)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=shared(SAMPLE).read_bytes(),
        capture_output=True, timeout=60, check=True,
    )
    assert out.stdout.split() == [b"239", b"beast"]


def test_truncated_gzip_keeps_every_line_read_before_the_cut(shared, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A capture cut mid-stream (a crash while recording) loses nothing that was written."""
    from overflight.sources.files import read_batches

    src = shared("modes-traffic-samples/full_flight_short.jsonl.gz").read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(src[:100_000])
    reader = read_batches(cut)
    n = sum(len(b) for b in reader)
    assert n > 4000
    assert reader.stats.skipped["broken input: EOFError"] == 1


def _frames(batch: FrameBatch) -> list[tuple[str, int]]:
    return [(batch.frame_hex(i), int(batch.ticks[i])) for i in range(len(batch))]


def test_truncated_beast_gzip_gives_every_frame_before_the_cut(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """A gzipped real Beast capture cut at 60 % of its compressed size: the frames are those of
    the bytes zlib recovers (an independent decompressobj run, read as a plain file), no fewer;
    the break is counted as broken input and the cut last frame as truncated bytes."""
    import zlib

    from overflight.sources.files import CUT_LINE

    raw = shared(SAMPLE).read_bytes()
    gz = gzip.compress(raw)
    cut = tmp_path / "cut.bin.gz"
    cut.write_bytes(gz[: len(gz) * 6 // 10])
    prefix = zlib.decompressobj(wbits=31).decompress(cut.read_bytes())
    plain = tmp_path / "prefix.bin"
    plain.write_bytes(prefix)
    want, want_stats = _all(plain)
    whole, _ = _all(shared(SAMPLE))

    reader = read_batches(cut)
    got = FrameBatch.concat(list(reader))
    assert len(got) == len(want) == 129  # of the 239 frames in the whole capture
    assert _frames(got) == _frames(want) == _frames(whole)[:129]
    assert np.array_equal(got.time_s, want.time_s)
    assert reader.stats.format == "beast"
    assert reader.stats.skipped == {"broken input: EOFError": 1}
    assert reader.stats.beast.truncated_bytes == want_stats.beast.truncated_bytes > 0  # type: ignore[attr-defined]
    assert isinstance(reader.fault, EOFError)
    assert CUT_LINE not in reader.stats.skipped


def test_corrupt_beast_gzip_gives_every_frame_before_the_fault(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    import zlib

    raw = shared(SAMPLE).read_bytes()
    gz = bytearray(gzip.compress(raw))
    gz[len(gz) // 2 : len(gz) // 2 + 8] = b"\xff" * 8
    bad = tmp_path / "bad.bin.gz"
    bad.write_bytes(bytes(gz))
    d = zlib.decompressobj(wbits=31)  # independent: one byte at a time until zlib fails
    prefix = bytearray()
    for i in range(len(gz)):
        try:
            prefix += d.decompress(gz[i : i + 1])
        except zlib.error:
            break
    plain = tmp_path / "prefix.bin"
    plain.write_bytes(bytes(prefix))
    want, _ = _all(plain)
    reader = read_batches(bad)
    got = FrameBatch.concat(list(reader))
    assert 0 < len(got) == len(want) < 239
    assert _frames(got) == _frames(want)
    assert reader.stats.skipped == {"broken input: error": 1}
    assert isinstance(reader.fault, zlib.error)


def test_truncated_text_gzip_drops_only_the_cut_line(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """The whole lines before the cut give the same frames as the plain prefix file; the cut
    last line is counted, never parsed (half a hex frame could look like a short frame)."""
    import zlib

    from overflight.sources.files import CUT_LINE

    part = shared(FLIGHT).read_bytes()[:100_000]
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(part)
    text = zlib.decompressobj(wbits=31).decompress(part)
    plain = tmp_path / "prefix.jsonl"
    plain.write_bytes(text[: text.rfind(b"\n") + 1])
    want, want_stats = _all(plain)
    reader = read_batches(cut)
    got = FrameBatch.concat(list(reader))
    assert len(got) == len(want) == 4_367
    assert _frames(got) == _frames(want)
    assert reader.stats.skipped == {**want_stats.skipped, CUT_LINE: 1,  # type: ignore[attr-defined]
                                    "broken input: EOFError": 1}


def test_gzip_broken_before_its_first_byte_raises(tmp_path: Path) -> None:
    """Nothing could be read: the fault is raised (the commands report it and exit 1)."""
    import zlib

    p = tmp_path / "bad.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)) * 4)
    reader = read_batches(p)
    with pytest.raises(zlib.error):
        list(reader)
    assert isinstance(reader.fault, zlib.error)


def test_format_detection_binary_text_and_real_captures(shared: Callable[[str], Path]) -> None:
    """Random bytes are binary, read as Beast (garbage counted), not CSV split at commas; text
    with non-ASCII UTF-8 stays text; the real captures keep their formats."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        junk = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
        if junk[0] != 0x1A:
            assert detect_format(junk) == "beast"
    utf8 = ('{"callsign": "ÉÀÜ€€€€€€€€€€€€", "hex": "8d4840d6202cc371c32ce0576098"}\n' * 4).encode()
    assert detect_format(utf8) == "jsonl"
    assert detect_format(b"8d4840d6202cc371c32ce0576098\n") == "hex"
    assert detect_format(b"*8d4840d6202cc371c32ce0576098;\n") == "avr"
    assert detect_format(b"t,hex\n1.0,8d4840d6202cc371c32ce0576098\n") == "csv"
    beast = shared("modes-traffic-samples/sample_dump1090.bin").read_bytes()
    assert detect_format(beast[:4096]) == "beast"
    assert detect_format(beast[3:4096]) == "beast"  # not aligned at byte 0
