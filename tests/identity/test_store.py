"""Imports into a tmp_path store: real files, broken rows counted, untrusted strings cleaned."""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from overflight.identity import Identifier, ImportReport, import_file, open_store
from overflight.identity.registry import clean_text, registration_key

REGISTRY = "aircraft-db-tar1090/aircraft.csv.gz"
WATCHLIST = "aircraft-plane-alert-db/plane-alert-db.csv"
TYPES2 = "aircraft-db-tar1090/icao_aircraft_types2.json"
OPERATORS = "aircraft-db-tar1090/operators.json"


def test_real_imports(real_store: tuple[Path, dict[str, ImportReport]]) -> None:
    path, reports = real_store
    reg = reports[REGISTRY]
    assert (reg.source, reg.kind, reg.format) == ("tar1090-db", "registry", "tar1090-csv")
    assert reg.rows_ok == 619_472 and reg.rows_rejected == 0
    print(f"\ntar1090-db import: {reg.rows_ok:,} rows in {reg.seconds:.2f} s")
    watch = reports[WATCHLIST]
    assert (watch.source, watch.kind) == ("plane-alert-db", "watchlist")
    # two rows of the real file have a malformed address; they are counted, not fatal
    assert watch.rows_read == 17_198 and watch.rejected == {"bad address": 2}
    assert reports[TYPES2].rows_ok == 2_844 and reports[OPERATORS].rows_ok == 6_310
    with sqlite3.connect(path) as con:
        n_sources = con.execute("SELECT count(*) FROM sources").fetchone()[0]
        both = con.execute("SELECT count(*) FROM (SELECT icao24 FROM aircraft GROUP BY icao24 "
                           "HAVING count(*) > 1)").fetchone()[0]
    assert n_sources == 5
    assert both > 10_000  # aircraft with an opinion from each database, both kept


def _real_lines(shared: Callable[[str], Path], n: int) -> list[str]:
    with gzip.open(shared(REGISTRY), "rt", encoding="utf-8") as f:
        return [next(f) for _ in range(n)]


def test_broken_rows_are_counted_and_skipped(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    lines = _real_lines(shared, 1001)  # header + 1000 real rows
    broken = [
        "XYZ123,N1,B738,00,bad hex\n",
        "~0a1b2c,TISB,,00,non-ICAO address\n",
        "0A1B2C,N2,B738,0x7,bad flags\n",
        "0A1B2D\n",
        lines[5],  # duplicate address of a row already seen
        '0A1B2E,"unterminated,B738,00,quote\n',
    ]
    p = tmp_path / "aircraft.csv"
    p.write_text("".join(lines[:500] + broken + lines[500:]), encoding="utf-8")
    con = open_store(tmp_path / "s.sqlite")
    rep = import_file(con, p, source="tar1090-db")
    assert rep.rows_ok == 1000
    assert rep.rejected["bad address"] == 2
    assert rep.rejected["bad flags"] == 1
    assert rep.rejected["duplicate address"] == 1
    assert rep.rejected.get("too few fields", 0) + rep.rejected.get("malformed CSV", 0) >= 1
    assert con.execute("SELECT count(*) FROM aircraft").fetchone()[0] == 1000


def test_untrusted_strings_are_cleaned(tmp_path: Path) -> None:
    p = tmp_path / "evil.csv"
    p.write_text(
        "icao24,registration,type_code,flags,description\n"
        "ABCDEF,\x1b[31mN1\x07,b738,10,\u202eevil\u200b description  " + "x" * 500 + "\n"
        "ABCDF0,N2,B738,00,__import__('os').system('echo pwned')\n",
        encoding="utf-8",
    )
    con = open_store(tmp_path / "s.sqlite")
    rep = import_file(con, p, source="evil")
    assert rep.rows_ok == 2 and rep.kind == "user"
    ident = Identifier(tmp_path / "s.sqlite").identify(0xABCDEF)
    assert ident.registration == "[31mN1"  # escape and bell removed, text kept as text
    assert ident.type_code == "B738" and ident.military
    assert ident.description is not None and ident.description.startswith("evil description")
    assert len(ident.description) == 200
    code = Identifier(tmp_path / "s.sqlite").identify(0xABCDF0).description
    assert code == "__import__('os').system('echo pwned')"  # stored, never evaluated
    assert clean_text(" a\tb\r\n ") == "a b" and clean_text("\x00\x01") is None


def test_mictronics_json_blocks(tmp_path: Path) -> None:
    block = {"children": ["15"], "51E0": ["RA-86496", "IL62", "10", "ILYUSHIN Il-62"],
             "51E1": {"r": "RA-X", "t": "A124", "f": "00", "d": "x"},
             "ZZZZ": ["bad"], "51E2": ["RA-Y", "B738", "2", ""], "51E3": 7}
    p = tmp_path / "15.js"
    p.write_bytes(gzip.compress(json.dumps(block).encode()))
    con = open_store(tmp_path / "s.sqlite")
    rep = import_file(con, p)
    assert (rep.source, rep.format, rep.rows_ok) == ("tar1090-db", "tar1090-json", 2)
    assert rep.rejected == {"bad address": 1, "bad entry": 2}
    ident = Identifier(tmp_path / "s.sqlite").identify(0x1551E0)
    assert (ident.registration, ident.type_code, ident.military) == ("RA-86496", "IL62", True)


def test_invalid_json_is_counted(tmp_path: Path) -> None:
    p = tmp_path / "broken.json"
    p.write_text('{"A0": ["N1", ', encoding="utf-8")
    rep = import_file(open_store(tmp_path / "s.sqlite"), p)
    assert rep.rows_ok == 0 and rep.rows_rejected == 1


def test_reimport_replaces_the_source(shared: Callable[[str], Path], tmp_path: Path) -> None:
    lines = _real_lines(shared, 101)
    p = tmp_path / "a.csv"
    con = open_store(tmp_path / "s.sqlite")
    p.write_text("".join(lines), encoding="utf-8")
    import_file(con, p, source="tar1090-db")
    p.write_text("".join(lines[:51]), encoding="utf-8")
    import_file(con, p, source="tar1090-db")
    assert con.execute("SELECT count(*) FROM aircraft").fetchone()[0] == 50


def test_fast_csv_path_cleans_like_clean_text(tmp_path: Path) -> None:
    raw = [("ABC001", "  N1-A  ", "b738", "\tBoeing\t737 "), ("ABC002", "ŠP-ÄB1", "", "é"),
           ("ABC003", "\u00a0X-Y\u00a0", "a\u200b320", "x" * 300), ("ABC004", "", "", "")]
    p = tmp_path / "aircraft.csv"
    p.write_text("icao24,registration,type_code,flags,description\n"
                 + "".join(f"{a},{r},{t},00,{d}\n" for a, r, t, d in raw), encoding="utf-8")
    con = open_store(tmp_path / "s.sqlite")
    assert import_file(con, p, source="tar1090-db").rows_ok == 4
    got = con.execute("SELECT registration, reg_key, type_code, description FROM aircraft "
                      "ORDER BY icao24").fetchall()
    for (_, r, t, d), row in zip(raw, got, strict=True):
        reg = clean_text(r, 16)
        typ = clean_text(t.upper(), 8)
        assert row == (reg, registration_key(reg) if reg else None, typ, clean_text(d))


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    p = tmp_path / "aircraft.csv"
    p.write_bytes(b"icao24,registration,type_code,flags,description\n"
                  b"ABC001,N1\xff,B738,00,ok\nABC002,N2,B738,00,fine\n")
    con = open_store(tmp_path / "s.sqlite")
    assert import_file(con, p, source="tar1090-db").rows_ok == 2
    regs = [r[0] for r in con.execute("SELECT registration FROM aircraft ORDER BY icao24")]
    assert regs == ["N1\ufffd", "N2"]


# ------------------------------------------------------------------------------ bad input


def _addresses(con: sqlite3.Connection, source: str) -> set[int]:
    return {r[0] for r in con.execute("SELECT icao24 FROM aircraft WHERE source = ?", (source,))}


def test_garbage_files_are_counted_never_raised(tmp_path: Path) -> None:
    """Random bytes, a gzip of random bytes, a gzip whose stream is corrupt from the start, a
    bare carriage return in the first line, JSON nested too deeply, an empty file: no
    exception, every row counted as rejected, nothing accepted."""
    rng = np.random.default_rng(11)
    files = {f"random{i}.bin": rng.bytes(20_000 + 1_000 * i) for i in range(8)}
    files["junk.gz"] = gzip.compress(rng.bytes(5_000))
    files["corrupt.gz"] = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + rng.bytes(3_000)
    files["cr.csv"] = b"a\rb,c\nnot,a,row\n"
    files["deep.json"] = b'{"a":' * 100_000
    files["empty.csv"] = b""
    con = open_store(tmp_path / "s.sqlite")
    for name, content in files.items():
        p = tmp_path / name
        p.write_bytes(content)
        rep = import_file(con, p)
        assert rep.rows_ok == 0, (name, rep)
        assert rep.rows_rejected == rep.rows_read, (name, rep)
        if name.startswith("random"):
            assert rep.rows_read >= 1
        assert bool(rep.broken) == (name == "corrupt.gz"), (name, rep)
    assert con.execute("SELECT count(*) FROM aircraft").fetchone()[0] == 0
    assert import_file(con, tmp_path / "random0.bin").rejected == {
        "too few fields": 560}
    deep = import_file(con, tmp_path / "deep.json")
    assert deep.rejected == {"invalid JSON (nested too deeply)": 1}
    bad = import_file(con, tmp_path / "corrupt.gz")
    assert bad.broken.startswith("corrupt gzip data") and bad.merged


def test_truncated_real_registry_keeps_rows_before_the_cut(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """The first 300 kB of the real tar1090-db gzip: every whole row before the cut is imported
    (the same rows an independent streaming decompressor sees), the cut row is counted, and the
    source's earlier rows are kept, not replaced by the partial file."""
    raw = shared(REGISTRY).read_bytes()
    cut = tmp_path / "aircraft.csv.gz"
    cut.write_bytes(raw[:300_000])
    text = zlib.decompressobj(wbits=31).decompress(raw[:300_000]).decode()
    whole = text[: text.rfind("\n") + 1].splitlines()[1:]
    expected = {int(line.split(",", 1)[0], 16) for line in whole}
    assert len(expected) > 30_000

    later = tmp_path / "later.csv"  # real rows from far beyond the cut, imported first
    lines = gzip.decompress(raw).decode().splitlines(keepends=True)
    later.write_text(lines[0] + "".join(lines[400_000:401_000]), encoding="utf-8")
    con = open_store(tmp_path / "s.sqlite")
    assert import_file(con, later).rows_ok == 1_000
    before = _addresses(con, "tar1090-db")

    rep = import_file(con, cut)
    assert rep.broken == "truncated: the compressed stream ends early" and rep.merged
    assert rep.rows_ok == len(whole) == len(expected)
    assert rep.rejected == {"cut by the broken input": 1}
    assert _addresses(con, "tar1090-db") == before | expected
    assert not before & expected

    # garbage under the same source name: counted, and the source keeps every row
    junk = tmp_path / "junk.bin"
    junk.write_bytes(np.random.default_rng(3).bytes(50_000))
    rep = import_file(con, junk, source="tar1090-db")
    assert rep.rows_ok == 0 and rep.rows_rejected > 0 and rep.merged and not rep.broken
    assert _addresses(con, "tar1090-db") == before | expected

    # a whole file still replaces the source, as documented
    rep = import_file(con, later)
    assert not rep.merged and _addresses(con, "tar1090-db") == before


def test_corrupt_gzip_keeps_rows_before_the_fault(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """A real watchlist, gzipped, its stream damaged in the middle: no exception, the whole rows
    decompressed before the fault are imported, the damage is reported."""
    data = gzip.compress(shared(WATCHLIST).read_bytes())
    bad = bytearray(data)
    bad[len(bad) // 2 : len(bad) // 2 + 64] = bytes(64)
    p = tmp_path / "plane-alert-db.csv.gz"
    p.write_bytes(bytes(bad))
    rep = import_file(open_store(tmp_path / "s.sqlite"), p)
    assert rep.broken.startswith("corrupt gzip data") and rep.merged
    assert (rep.source, rep.kind) == ("plane-alert-db", "watchlist")
    assert 1_000 < rep.rows_ok < 17_196


def test_gzip_with_several_members_and_padding(shared: Callable[[str], Path],
                                               tmp_path: Path) -> None:
    lines = _real_lines(shared, 201)
    p = tmp_path / "two.csv.gz"
    p.write_bytes(gzip.compress("".join(lines[:101]).encode())
                  + gzip.compress("".join(lines[101:]).encode()) + bytes(16))
    rep = import_file(open_store(tmp_path / "s.sqlite"), p, source="tar1090-db")
    assert rep.rows_ok == 200 and not rep.broken and not rep.merged


def test_corrupt_registry_rows_are_those_before_the_fault(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """Real tar1090-db rows, gzipped with a full flush after the first 12,000, the block after it
    damaged (a reserved block type): exactly those rows are imported, the fault is reported,
    and an independent zlib run, fed one byte at a time, stops at the same byte. The garbage
    after a whole file is reported with its size."""
    lines = _real_lines(shared, 20_001)
    first, rest = "".join(lines[:12_001]).encode(), "".join(lines[12_001:]).encode()
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = c.compress(first) + c.flush(zlib.Z_FULL_FLUSH)
    data = bytearray(head + c.compress(rest) + c.flush())
    data[len(head)] = (data[len(head)] & 0xF8) | 0b110  # BFINAL 0, BTYPE 11: invalid
    d = zlib.decompressobj(wbits=31)
    text = bytearray()
    for i in range(len(data)):
        try:
            text += d.decompress(data[i : i + 1])
        except zlib.error:
            break
    assert bytes(text) == first
    p = tmp_path / "aircraft.csv.gz"
    p.write_bytes(bytes(data))
    con = open_store(tmp_path / "s.sqlite")
    rep = import_file(con, p)
    assert rep.broken == "corrupt gzip data (Error -3 while decompressing data: invalid block type)"
    assert rep.rows_ok == 12_000 and rep.rejected == {} and rep.merged
    assert _addresses(con, "tar1090-db") == {int(x.split(",", 1)[0], 16) for x in lines[1:12_001]}

    tail = tmp_path / "tail.csv.gz"
    tail.write_bytes(gzip.compress("".join(lines[:101]).encode()) + b"junk after the end")
    rep = import_file(con, tail, source="tar1090-db")
    assert rep.rows_ok == 100 and rep.merged
    assert rep.broken == "corrupt gzip data (18 bytes of garbage after the end)"
