"""Registry records and the parsers of the tar1090-db / Mictronics formats.

Pure parsing: text in, :class:`RegistryRecord` out, every broken row rejected and counted with a
reason (:class:`Rejects`), never raised. Strings from a database are untrusted: they are kept as
text, never evaluated, with control and format characters removed and their length capped.

Formats:

* tar1090-db ``aircraft.csv.gz``: ``icao24,registration,type_code,flags,description`` with a header,
  or upstream's header-less ``;``-separated rows ``icao;reg;type;flags;description[;year;ownop]``.
  ``flags``: character i = '1' sets readsb ``dbFlags`` bit i (1 military, 2 interesting, 4 PIA,
  8 LADD).
* Mictronics / tar1090-db ``db/*.js`` JSON blocks: ``{"A0": [reg, type, flags, desc], ...,
  "children": [...]}`` where the file name is the address prefix (or 6-hex keys in a plain file);
  entries may also be objects ``{"r": .., "t": .., "f": .., "d": ..}``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DB_FLAG_INTERESTING",
    "DB_FLAG_LADD",
    "DB_FLAG_MILITARY",
    "DB_FLAG_PIA",
    "MAX_TEXT",
    "RegistryRecord",
    "Rejects",
    "clean_text",
    "parse_address",
    "parse_flags",
    "parse_tar1090_csv",
    "parse_tar1090_json",
    "registration_key",
    "tar1090_csv_columns",
]

DB_FLAG_MILITARY = 1
DB_FLAG_INTERESTING = 2
DB_FLAG_PIA = 4
DB_FLAG_LADD = 8
MAX_TEXT = 200  # characters kept of any database string

_HEX6 = re.compile(r"[0-9A-Fa-f]{6}")
_NON_ALNUM = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True, slots=True)
class RegistryRecord:
    """One source's opinion on one aircraft; ``None`` means the source says nothing."""

    icao24: int
    registration: str | None = None
    type_code: str | None = None
    description: str | None = None
    operator: str | None = None
    year: int | None = None
    military: bool | None = None
    interesting: bool | None = None
    pia: bool | None = None
    ladd: bool | None = None
    watch_class: str | None = None  # plane-alert #CMPG: Mil, Gov, Pol, Civ
    category: str | None = None
    tags: tuple[str, ...] = ()
    link: str | None = None


@dataclass
class Rejects:
    """Rows read and rows rejected, by reason (with the first line number seen per reason)."""

    rows: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    first_line: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str, line: int) -> None:
        self.by_reason[reason] += 1
        self.first_line.setdefault(reason, line)

    @property
    def rejected(self) -> int:
        return sum(self.by_reason.values())

    @property
    def accepted(self) -> int:
        return self.rows - self.rejected


def clean_text(value: object, max_len: int = MAX_TEXT) -> str | None:
    """Untrusted database text → stripped text without control/format characters, or ``None``."""
    if value is None:
        return None
    s = value if isinstance(value, str) else str(value)
    if not s.isprintable():
        s = "".join(" " if c in "\t\r\n" else c for c in s
                    if c in "\t\r\n" or unicodedata.category(c)[0] != "C")
    s = s.strip()
    return s[:max_len] if s else None


def parse_address(text: str) -> int | None:
    """Six hex digits → 24-bit address, else ``None`` (non-ICAO ``~`` addresses included)."""
    t = text.strip()
    return int(t, 16) if _HEX6.fullmatch(t) else None


def parse_flags(text: str) -> int | None:
    """tar1090 flag string ('1' at index i sets bit i), or an integer; ``None`` if malformed."""
    t = text.strip()
    if not t:
        return 0
    if len(t) <= 8 and set(t) <= {"0", "1"}:
        return sum(1 << i for i, c in enumerate(t) if c == "1")
    return None


def _flag_record(
    address: int, reg: str, typ: str, flags: int, desc: str, year: int | None = None,
    operator: str | None = None,
) -> RegistryRecord:
    t = clean_text(typ, 8)
    return RegistryRecord(
        icao24=address,
        registration=clean_text(reg, 16),
        type_code=t.upper() if t else None,
        description=clean_text(desc),
        operator=clean_text(operator) if operator else None,
        year=year,
        military=bool(flags & DB_FLAG_MILITARY),
        interesting=bool(flags & DB_FLAG_INTERESTING),
        pia=bool(flags & DB_FLAG_PIA),
        ladd=bool(flags & DB_FLAG_LADD),
    )


def _year(text: str) -> int | None:
    t = text.strip()
    return int(t) if t.isdigit() and len(t) == 4 and 1900 <= int(t) <= 2100 else None


def parse_tar1090_csv(
    lines: Iterable[list[str]], rejects: Rejects, header: bool = True
) -> Iterator[RegistryRecord]:
    """Rows of a tar1090-db CSV (already split into fields) → records; a header row is skipped."""
    seen: set[int] = set()
    for line_no, row in enumerate(lines, start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if header and line_no == 1 and row[0].strip().lower() in ("icao24", "icao"):
            continue
        rejects.rows += 1
        if len(row) < 4:
            rejects.reject("too few fields", line_no)
            continue
        address = parse_address(row[0])
        if address is None:
            rejects.reject("bad address", line_no)
            continue
        flags = parse_flags(row[3])
        if flags is None:
            rejects.reject("bad flags", line_no)
            continue
        if address in seen:
            rejects.reject("duplicate address", line_no)
            continue
        seen.add(address)
        desc = row[4] if len(row) > 4 else ""
        year = _year(row[5]) if len(row) > 5 else None
        operator = row[6] if len(row) > 6 else None
        yield _flag_record(address, row[1], row[2], flags, desc, year, operator)


def _json_entry(address: int, entry: Any) -> RegistryRecord | None:
    if isinstance(entry, list):
        vals = [v if isinstance(v, str) else "" for v in entry[:4]]
        vals += [""] * (4 - len(vals))
        reg, typ, flag_text, desc = vals
    elif isinstance(entry, dict):
        def get(*keys: str) -> str:
            for k in keys:
                v = entry.get(k)
                if isinstance(v, str):
                    return v
            return ""

        reg, typ, flag_text = get("r", "reg"), get("t", "type"), get("f", "flags")
        desc = get("d", "desc", "description")
    else:
        return None
    flags = parse_flags(flag_text)
    if flags is None:
        return None
    return _flag_record(address, reg, typ, flags, desc)


def parse_tar1090_json(
    blocks: dict[str, Any], prefix: str, rejects: Rejects
) -> Iterator[RegistryRecord]:
    """One Mictronics/tar1090 JSON block (``prefix`` = its address prefix, "" for full keys)."""
    for n, (key, entry) in enumerate(blocks.items(), start=1):
        if key == "children":
            continue
        rejects.rows += 1
        address = parse_address(prefix + key) if isinstance(key, str) else None
        if address is None:
            rejects.reject("bad address", n)
            continue
        rec = _json_entry(address, entry)
        if rec is None:
            rejects.reject("bad entry", n)
            continue
        yield rec



def registration_key(registration: str) -> str:
    """Registration for matching: upper case, letters and digits only (RA-86496 → RA86496)."""
    return _NON_ALNUM.sub("", registration.upper())


def _clean_array(col: Any, max_len: int) -> Any:
    """:func:`clean_text` over a pyarrow string column, exactly (empty results become null).

    Printable ASCII rows (nearly all) are trimmed and cut in Arrow; the other rows go through
    :func:`clean_text` itself, so both paths give the same text.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    fast = pc.and_(pc.string_is_ascii(col), pc.ascii_is_printable(col))
    out = pc.utf8_slice_codeunits(pc.utf8_trim(col, " "), 0, max_len)
    slow = np.flatnonzero(~np.asarray(fast.fill_null(True).to_numpy(zero_copy_only=False)))
    if len(slow):
        mask = np.zeros(len(col), dtype=bool)
        mask[slow] = True
        fixed = [clean_text(v, max_len) for v in col.take(pa.array(slow)).to_pylist()]
        out = pc.replace_with_mask(out, pa.array(mask), pa.array(fixed, pa.string()))
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, pa.string()), out)


def _registration_keys(regs: Any) -> list[str | None]:
    """:func:`registration_key` over a pyarrow string column (``None`` stays ``None``)."""
    import numpy as np
    import pyarrow.compute as pc

    keys = pc.replace_substring_regex(pc.ascii_upper(regs), r"[^0-9A-Z]", "")
    out: list[str | None] = keys.to_pylist()
    ascii_ok = np.asarray(pc.string_is_ascii(regs).fill_null(True).to_numpy(zero_copy_only=False))
    for i in np.flatnonzero(~ascii_ok).tolist():
        r = regs[i].as_py()
        out[i] = registration_key(r) if r is not None else None
    return out


def _hex_values(icao: Any) -> Any:
    """Validated 6-hex-digit pyarrow strings → int64 addresses (vectorised, no Python strings)."""
    import numpy as np

    n = len(icao)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.frombuffer(icao.buffers()[1], dtype=np.int32, count=icao.offset + n + 1)
    start = int(offsets[icao.offset])  # every string is 6 bytes: one contiguous run
    data = np.frombuffer(icao.buffers()[2], dtype=np.uint8, count=6 * n, offset=start)
    data = data.reshape(n, 6)
    lut = np.zeros(256, dtype=np.int64)
    for i, c in enumerate("0123456789ABCDEF"):
        lut[ord(c)] = lut[ord(c.lower())] = i
    shifts = np.array([20, 16, 12, 8, 4, 0], dtype=np.int64)
    return (lut[data] << shifts).sum(axis=1)


def tar1090_csv_columns(
    text: str | bytes, rejects: Rejects
) -> tuple[dict[str, list[Any]], list[str]] | None:
    """Fast columnar parse of a headed 5-column tar1090 CSV (pyarrow).

    Returns ``(columns, leftover_lines)``: accepted rows as equal-length column lists (icao24,
    registration, reg_key (:func:`registration_key`), type_code, description, flags as readsb
    ``dbFlags`` bits) and the lines
    pyarrow could not split into five fields, for the row-by-row parser. ``None`` when the text is
    not such a file (the caller then parses row by row).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    data = text.encode("utf-8") if isinstance(text, str) else text
    if not data.startswith(b"icao24,registration,type_code,flags,description"):
        return None
    leftovers: list[str] = []

    def on_invalid(row: Any) -> str:
        leftovers.append(row.text)
        return "skip"

    names = ("icao24", "registration", "type_code", "flags", "description")

    def read(buffer: bytes) -> Any:
        leftovers.clear()
        return pa_csv.read_csv(
            pa.py_buffer(buffer),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(
                column_types={k: pa.string() for k in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )

    try:
        try:
            table = read(data)
        except pa.ArrowInvalid:  # invalid UTF-8: replaced, as the row-by-row reader does
            table = read(data.decode("utf-8", errors="replace").encode("utf-8"))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_columns != 5:
        return None
    n = table.num_rows
    rejects.rows += n
    icao = pc.utf8_trim_whitespace(table.column("icao24").combine_chunks())
    ok = np.asarray(
        pc.match_substring_regex(icao, r"^[0-9A-Fa-f]{6}$").to_numpy(zero_copy_only=False))
    flag_col = table.column("flags").combine_chunks().dictionary_encode()
    flag_vals = [parse_flags(v) for v in flag_col.dictionary.to_pylist()]
    flag_bad = np.array([v is None for v in flag_vals] + [True])
    flag_int = np.array([v or 0 for v in flag_vals] + [0], dtype=np.int64)
    codes = np.asarray(flag_col.indices.to_numpy(zero_copy_only=False))
    for reason, mask in (("bad address", ~ok), ("bad flags", ok & flag_bad[codes])):
        count = int(mask.sum())
        if count:
            rejects.by_reason[reason] += count
            rejects.first_line.setdefault(reason, int(np.argmax(mask)) + 2)
    idx = np.flatnonzero(ok & ~flag_bad[codes])
    addr = _hex_values(icao.take(pa.array(idx)))
    # duplicates: the first row of an address wins, the others are rejected
    _, first = np.unique(addr, return_index=True)
    first.sort()
    if len(first) < len(idx):
        dup = np.ones(len(idx), dtype=bool)
        dup[first] = False
        rejects.by_reason["duplicate address"] += int(dup.sum())
        rejects.first_line.setdefault("duplicate address", int(idx[np.argmax(dup)]) + 2)
    keep = pa.array(idx[first])
    fl = flag_int[codes[idx[first]]]
    regs = _clean_array(table.column("registration").take(keep).combine_chunks(), 16)
    cols: dict[str, list[Any]] = {
        "icao24": addr[first].tolist(),
        "registration": regs.to_pylist(),
        "reg_key": _registration_keys(regs),
        "type_code": _clean_array(
            pc.utf8_upper(table.column("type_code").take(keep).combine_chunks()), 8).to_pylist(),
        "description": _clean_array(table.column("description").take(keep).combine_chunks(),
                                    MAX_TEXT).to_pylist(),
        "flags": fl.tolist(),
    }
    return cols, leftovers
