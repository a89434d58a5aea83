"""Imports into a tmp_path store: real files, broken rows counted, untrusted strings cleaned."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

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
