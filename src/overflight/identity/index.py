"""The resolved index: one row per address, precedence already applied, memory-mapped from disk.

Built from the store (SQLite stays the source of truth and keeps every opinion) and written
beside it as one Arrow IPC file (``aircraft.sqlite`` → ``aircraft.index.arrow``), so that an
:class:`~overflight.identity.identifier.Identifier` opens in milliseconds instead of resolving
600,000 rows at every start. The file carries the store's generation stamp
(:func:`~overflight.identity.store.store_generation`, renewed by every import) and
:data:`INDEX_FORMAT`; a file whose stamp differs is stale and is rebuilt.

Layout (one record batch, rows sorted by address):

* ``icao24`` uint32;
* ``registration`` string: a source's, else the one derived from the address (flagged in
  ``packed``), else ``""``;
* ``codes`` fixed-size list of int32, one row per address: the index into each value pool of
  :data:`POOL_FIELDS` (0 = none), then ``packed`` = dbFlags bits (0-3), military opinion kind + 1
  (bits 4-5: 1 user, 2 registry, 3 watchlist), year (bits 6-17), 1 in bit 18 where the
  registration was derived and 1 in bit 19 where there is a registration.

The value pools (a few thousand distinct descriptions, types, operators ...) are JSON in the
schema metadata, parsed on first use. Strings are decoded only for the rows asked for.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.identity.registration import derive_registration
from overflight.identity.registry import (
    DB_FLAG_INTERESTING,
    DB_FLAG_LADD,
    DB_FLAG_MILITARY,
    DB_FLAG_PIA,
    registration_key,
)
from overflight.identity.store import KIND_REGISTRY, KIND_USER, KIND_WATCHLIST, store_generation

__all__ = [
    "COLS",
    "INDEX_FORMAT",
    "KINDS",
    "PACKED_DERIVED_SHIFT",
    "PACKED_HAS_REG_SHIFT",
    "POOL_FIELDS",
    "ResolvedIndex",
    "build_index",
    "index_path",
    "load_index",
]

INDEX_FORMAT = "3"
PACKED_DERIVED_SHIFT = 18  # packed bit: the registration was derived from the address
PACKED_HAS_REG_SHIFT = 19  # packed bit: the row has a registration (a source's or derived)
# value pools, in the order of the ``codes`` columns; ``packed`` follows them
POOL_FIELDS = ("description", "type_code", "operator", "watch_class", "category", "tags",
               "sources", "conflicts")
KINDS = (KIND_USER, KIND_REGISTRY, KIND_WATCHLIST)  # military opinion kind, packed as index + 1
_META_FORMAT = b"overflight.index.format"
_META_GENERATION = b"overflight.store.generation"
_META_POOLS = b"overflight.index.pools"
_META_SOURCES = b"overflight.index.sources"

_IDENTITY_ORDER = (KIND_USER, KIND_REGISTRY, KIND_WATCHLIST)
_WATCH_ORDER = (KIND_USER, KIND_WATCHLIST, KIND_REGISTRY)
_PROGRAMME_ORDER = (KIND_USER, KIND_REGISTRY, KIND_WATCHLIST)

# column order of the store rows read by the build (and by Identifier.opinions)
COLS = ("icao24", "source", "registration", "type_code", "description", "operator", "year",
        "military", "interesting", "pia", "ladd", "watch_class", "category", "tags", "link")
_F = {name: i for i, name in enumerate(COLS)}


def index_path(store: Path | str) -> Path:
    """Where the resolved index of ``store`` lives (beside it)."""
    p = Path(store)
    return p.with_name(p.stem + ".index.arrow")


class _Pool:
    """Interned values: index 0 is ``None``."""

    def __init__(self, values: list[Any] | None = None) -> None:
        self.values: list[Any] = [None] if values is None else values
        self._index: dict[Any, int] = {v: i for i, v in enumerate(self.values)}

    def add(self, value: Any) -> int:
        i = self._index.get(value)
        if i is None:
            i = self._index[value] = len(self.values)
            self.values.append(value)
        return i


def _first(rows: list[tuple[Any, ...]], field: str) -> tuple[Any, Any]:
    """First non-None value of ``field`` in precedence-ordered rows, with its row."""
    i = _F[field]
    for r in rows:
        if r[i] is not None:
            return r[i], r
    return None, None


def _conflicts(group: list[tuple[Any, ...]]) -> tuple[str, ...]:
    """Names of the fields on which the rows of one address disagree."""
    out = []
    for field in ("registration", "type_code", "operator", "military"):
        i = _F[field]
        vals = {r[i] for r in group if r[i] is not None and r[i] == r[i]}  # NaN: no opinion
        if len(vals) > 1 and field == "registration":  # RA-82011 and RA82011 agree
            vals = {registration_key(v) for v in vals}
        if len(vals) > 1:
            out.append(field)
    return tuple(out)


def _resolve_group(
    group: list[tuple[Any, ...]], kind_of: dict[str, str], stamp: dict[str, float]
) -> dict[str, Any]:
    """Precedence over the rows of one address (see :mod:`overflight.identity.identifier`)."""
    def order(kind_order: tuple[str, ...]) -> list[tuple[Any, ...]]:
        return sorted(group, key=lambda rec: (
            kind_order.index(kind_of.get(rec[1], KIND_USER)), -stamp.get(rec[1], 0.0)))

    ident, watch, prog = order(_IDENTITY_ORDER), order(_WATCH_ORDER), order(_PROGRAMME_ORDER)
    mil, mil_row = _first(watch, "military")
    return {
        "registration": _first(ident, "registration")[0],
        "type_code": _first(ident, "type_code")[0],
        "description": _first(ident, "description")[0],
        "year": _first(ident, "year")[0],
        "operator": _first(watch, "operator")[0],
        "military": mil,
        "mil_kind": (KINDS.index(kind_of.get(mil_row[1], KIND_USER)) if mil_row is not None
                     else -1),
        "interesting": _first(watch, "interesting")[0],
        "watch_class": _first(watch, "watch_class")[0],
        "category": _first(watch, "category")[0],
        "tags": _first(watch, "tags")[0],
        "pia": _first(prog, "pia")[0],
        "ladd": _first(prog, "ladd")[0],
        "sources": tuple(opinion[1] for opinion in ident),
        "conflicts": _conflicts(group),
    }


def _encode(values: pa.Array) -> tuple[npt.NDArray[np.int32], list[Any]]:
    """Dictionary codes (0 = null) and the pool (index 0 = ``None``) of a string column."""
    enc = values.dictionary_encode()
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32) + 1
    return idx, [None, *enc.dictionary.to_pylist()]


# the build reads the four 0/1/NULL flags as one base-3 number (2 = NULL): 4x fewer values
_FLAGS_SQL = ("ifnull(military != 0, 2) + 3 * ifnull(interesting != 0, 2) "
              "+ 9 * ifnull(pia != 0, 2) + 27 * ifnull(ladd != 0, 2)")
_READ_SQL = ("SELECT icao24, source, registration, type_code, description, operator, year, "
             f"{_FLAGS_SQL}, watch_class, category, tags FROM aircraft ORDER BY icao24, source")
_TRI = (0, 1, None)


def _expand(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of ``_READ_SQL`` in :data:`COLS` layout (without ``link``)."""
    f = row[7]
    return (*row[:7], _TRI[f % 3], _TRI[f // 3 % 3], _TRI[f // 9 % 3], _TRI[f // 27 % 3],
            *row[8:])


def _build_table(con: sqlite3.Connection) -> tuple[pa.Table, dict[str, list[Any]], dict[str, str]]:
    """Resolve every address of the store: the columns of the index, its pools, source kinds."""
    sources = con.execute("SELECT name, kind, imported_at FROM sources").fetchall()
    kind_of = {n: k for n, k, _ in sources}
    stamp = {n: t for n, _, t in sources}  # among user sources the latest import wins
    rows = con.execute(_READ_SQL).fetchall()
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 11
    addr = np.array(cols[0], dtype=np.int64)
    if len(addr) and not bool(np.all(np.diff(addr) >= 0)):  # never for a WITHOUT ROWID scan
        raise RuntimeError("store rows not in address order")
    starts = np.flatnonzero(np.r_[True, addr[1:] != addr[:-1]]) if len(addr) else (
        np.zeros(0, dtype=np.intp))
    sizes = np.diff(np.r_[starts, len(addr)])
    n = len(starts)
    multi = np.flatnonzero(sizes > 1)
    resolved = [_resolve_group([_expand(r) for r in rows[s:s + k]], kind_of, stamp)
                for s, k in zip(starts[multi].tolist(), sizes[multi].tolist(), strict=True)]

    col_of = {"registration": 2, "type_code": 3, "description": 4, "operator": 5,
              "watch_class": 8, "category": 9, "tags": 10}

    def column(field: str) -> pa.Array:
        base = pa.array(cols[col_of[field]], pa.string()).take(pa.array(starts))
        if not len(multi):
            return base
        order = np.arange(n)
        order[multi] = n + np.arange(len(multi))
        patch = pa.array([r[field] for r in resolved], pa.string())
        return pa.concat_arrays([base, patch]).take(pa.array(order))

    codes = np.zeros((n, len(POOL_FIELDS) + 1), dtype=np.int32)
    pools: dict[str, list[Any]] = {}
    for k, field in enumerate(POOL_FIELDS[:6]):  # string-valued fields
        codes[:, k], pools[field] = _encode(column(field))
    # sources: one name for single-opinion addresses, a precedence-ordered tuple otherwise
    src_codes, src_names = _encode(pa.array(cols[1], pa.string()).take(pa.array(starts)))
    src_pool = _Pool([(), *[(s,) for s in src_names[1:]]])
    codes[:, 6] = src_codes
    conf_pool = _Pool([()])
    f = np.array(cols[7], dtype=np.int64)[starts]
    mil, inter, pia, ladd = (f % 3 == 1), (f // 3 % 3 == 1), (f // 9 % 3 == 1), (f // 27 % 3 == 1)
    has_mil = f % 3 != 2
    year = np.nan_to_num(np.array(cols[6], dtype=np.float64)[starts]).astype(np.int64)
    src_kind = np.array([KINDS.index(kind_of.get(s, KIND_USER)) if s is not None else -1
                         for s in src_names], dtype=np.int64)
    mil_kind = np.where(has_mil, src_kind[src_codes], -1)
    for g, r in zip(multi.tolist(), resolved, strict=True):
        codes[g, 6] = src_pool.add(r["sources"])
        codes[g, 7] = conf_pool.add(r["conflicts"])
        mil[g], inter[g] = bool(r["military"]), bool(r["interesting"])
        pia[g], ladd[g] = bool(r["pia"]), bool(r["ladd"])
        year[g] = r["year"] or 0
        mil_kind[g] = r["mil_kind"]
    year = np.where((year > 0) & (year < 4096), year, 0)
    flags = (mil * DB_FLAG_MILITARY | inter * DB_FLAG_INTERESTING | pia * DB_FLAG_PIA
             | ladd * DB_FLAG_LADD)
    # no source gives a registration: derive it from the address now, once (flagged derived)
    reg = column("registration").fill_null("")
    empty = np.asarray(pc.equal(reg, "").to_numpy(zero_copy_only=False), dtype=bool)
    derived = np.zeros(n, dtype=bool)
    if empty.any():
        rows_empty = np.flatnonzero(empty)
        values = [derive_registration(a) for a in addr[starts][rows_empty].tolist()]
        derived[rows_empty] = [v is not None for v in values]
        reg = pc.replace_with_mask(reg, pa.array(empty), pa.array([v or "" for v in values],
                                                                   pa.string()))
    has_reg = ~np.asarray(pc.equal(reg, "").to_numpy(zero_copy_only=False), dtype=bool)
    codes[:, 8] = (flags | (mil_kind + 1) << 4 | year << 6
                   | derived.astype(np.int64) << PACKED_DERIVED_SHIFT
                   | has_reg.astype(np.int64) << PACKED_HAS_REG_SHIFT)
    pools["sources"] = [list(v) for v in src_pool.values]
    pools["conflicts"] = [list(v) for v in conf_pool.values]
    table = pa.table({
        "icao24": pa.array(addr[starts].astype(np.uint32)),
        "registration": reg,
        "codes": pa.FixedSizeListArray.from_arrays(pa.array(codes.ravel()), codes.shape[1]),
    })
    return table, pools, kind_of


def build_index(store: Path | str, *, write: bool = True) -> ResolvedIndex:
    """Resolve the store into an index; written beside the store when ``write`` (best effort)."""
    with sqlite3.connect(f"file:{Path(store)}?mode=ro", uri=True) as con:
        con.execute("BEGIN")  # one read snapshot: the stamp and the rows belong together
        generation = store_generation(con)
        table, pools, kind_of = _build_table(con)
    meta = {_META_FORMAT: INDEX_FORMAT.encode(), _META_GENERATION: generation.encode(),
            _META_POOLS: json.dumps(pools).encode(), _META_SOURCES: json.dumps(kind_of).encode()}
    table = table.replace_schema_metadata(meta)
    if write:
        path = index_path(store)
        try:
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
            os.close(fd)
            try:
                with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                    w.write_table(table)
                os.chmod(tmp, Path(store).stat().st_mode & 0o666)  # as readable as the store
                os.replace(tmp, path)  # atomic: a reader sees the old or the new file
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            return ResolvedIndex(table, generation)  # read-only place: keep it in memory
        opened = _open(path, generation)
        if opened is not None:
            return opened
    return ResolvedIndex(table, generation)


def _open(path: Path, generation: str) -> ResolvedIndex | None:
    """The memory-mapped index at ``path`` if it matches ``generation`` and this code's format."""
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
        meta = reader.schema.metadata or {}
        if (meta.get(_META_FORMAT) != INDEX_FORMAT.encode()
                or meta.get(_META_GENERATION) != generation.encode()):
            return None
        return ResolvedIndex(reader.read_all(), generation)
    except (OSError, pa.ArrowInvalid):
        return None


def load_index(store: Path | str) -> ResolvedIndex:
    """The store's index: the file beside it when current, else built now (and written)."""
    with sqlite3.connect(f"file:{Path(store)}?mode=ro", uri=True) as con:
        generation = store_generation(con)
    opened = _open(index_path(store), generation)
    return opened if opened is not None else build_index(store)


def _int64_array(values: npt.NDArray[np.int64]) -> pa.Array:
    """A NumPy int64 array as an Arrow array, zero-copy (``pa.array`` would import pandas)."""
    v = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(v), [None, pa.py_buffer(v)])


def _empty_strings() -> pa.Array:
    return pa.Array.from_buffers(pa.string(), 0, [None, pa.py_buffer(np.zeros(1, np.int32)),
                                                  pa.py_buffer(b"")])


class ResolvedIndex:
    """Zero-copy views of an index table (memory-mapped or in memory)."""

    def __init__(self, table: pa.Table, generation: str) -> None:
        self.generation = generation
        if any(c.num_chunks != 1 for c in table.columns):
            table = table.combine_chunks()
        self.table = table
        n = table.num_rows
        meta = table.schema.metadata or {}
        self._pools_json = meta.get(_META_POOLS, b"{}")
        self.source_kind: dict[str, str] = json.loads(meta.get(_META_SOURCES, b"{}"))
        self._pools: dict[str, list[Any]] | None = None
        if n:
            keys = table.column("icao24").chunk(0)
            codes = table.column("codes").chunk(0)
            reg = table.column("registration").chunk(0)
            # views of the mapped buffers (Array.to_numpy would import pandas: 0.5 s at start)
            self.keys: npt.NDArray[np.uint32] = np.frombuffer(
                keys.buffers()[1], dtype=np.uint32, count=n, offset=4 * keys.offset)
            width = codes.type.list_size
            flat = codes.flatten()
            self.codes: npt.NDArray[np.int32] = np.frombuffer(
                flat.buffers()[1], dtype=np.int32, count=n * width,
                offset=4 * flat.offset).reshape(n, width)
            self.reg: pa.StringArray = reg
            off = np.frombuffer(reg.buffers()[1], dtype=np.int32, count=reg.offset + n + 1)
            self._reg_offsets = off[reg.offset:]
            self._reg_off = self._reg_offsets.data
            data = reg.buffers()[2]
            self._reg_data = memoryview(data if data is not None else b"")
        else:
            self.keys = np.zeros(0, dtype=np.uint32)
            self.codes = np.zeros((0, len(POOL_FIELDS) + 1), dtype=np.int32)
            self.reg = _empty_strings()
            self._reg_offsets = np.zeros(1, dtype=np.int32)
            self._reg_off = self._reg_offsets.data
            self._reg_data = memoryview(b"")
        self._keys_mv = self.keys.data
        self.width = self.codes.shape[1]
        self._reg_obj: npt.NDArray[np.object_] | None = None
        self._reg_done: npt.NDArray[np.bool_] | None = None
        self._pool_arrays: dict[str, npt.NDArray[np.object_]] = {}
        self._bitmap: npt.NDArray[np.uint64] | None = None
        self._before: npt.NDArray[np.int64] | None = None
        self._bitmap_mv: memoryview | None = None
        self._before_mv: memoryview | None = None
        self._codes_flat = self.codes.reshape(-1).data  # one row: a slice, no NumPy call

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def pools(self) -> dict[str, list[Any]]:
        """Value pools by field (index 0 = ``None`` / empty), tags and lists as tuples."""
        if self._pools is None:
            raw: dict[str, list[Any]] = json.loads(self._pools_json)
            pools = {f: raw.get(f, [None]) for f in POOL_FIELDS}
            pools["tags"] = [tuple(json.loads(t)) if t else () for t in pools["tags"]]
            for f in ("sources", "conflicts"):
                pools[f] = [tuple(v) if v else () for v in pools[f]]
            self._pools = pools
        return self._pools

    def _rank(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """Presence bitmap of the 2**24 addresses (64 per word) and the rows before each word.

        Row of a present address = rows before its word + set bits below it in the word: two
        look-ups in 3 MiB instead of a binary search over the keys (built once, ~10 ms).
        """
        if self._bitmap is None or self._before is None:
            words = (self.keys >> 6).astype(np.int64)
            bits = np.left_shift(np.uint64(1), (self.keys & 63).astype(np.uint64))
            bitmap = np.zeros(1 << 18, dtype=np.uint64)
            if len(words):
                first = np.flatnonzero(np.r_[True, words[1:] != words[:-1]])
                bitmap[words[first]] = np.bitwise_or.reduceat(bits, first)
            counts = np.bitwise_count(bitmap).astype(np.int64)
            before = np.zeros(len(bitmap), dtype=np.int64)
            np.cumsum(counts[:-1], out=before[1:])
            self._bitmap, self._before = bitmap, before
            self._bitmap_mv, self._before_mv = bitmap.data, before.data
        return self._bitmap, self._before

    def row(self, address: int) -> int:
        """Row of ``address`` (0 <= address < 2**24), or -1."""
        if self._bitmap_mv is None:
            self._rank()
        assert self._bitmap_mv is not None and self._before_mv is not None
        w = address >> 6
        word: int = self._bitmap_mv[w]
        bit = address & 63
        if not word >> bit & 1:
            return -1
        before: int = self._before_mv[w]
        return before + (word & ((1 << bit) - 1)).bit_count()

    def row_codes(self, row: int) -> list[int]:
        """The ``codes`` of one row as Python ints (pool indices, then ``packed``)."""
        w = self.width
        out: list[int] = self._codes_flat[row * w:(row + 1) * w].tolist()
        return out

    def registration(self, row: int) -> str | None:
        """Registration of one row, decoded from the memory-mapped bytes."""
        off = self._reg_off
        a, b = off[row], off[row + 1]
        return str(self._reg_data[a:b], "utf-8") if b > a else None

    def rows(self, addresses: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Rows of many addresses, -1 where absent (vectorised)."""
        bitmap, before = self._rank()
        valid = (addresses >= 0) & (addresses <= 0xFFFFFF)
        a = np.where(valid, addresses, 0)
        w = a >> 6
        bit = (a & 63).astype(np.uint64)
        word = bitmap[w]
        present = valid & ((word >> bit) & np.uint64(1) > 0)
        below = word & ((np.uint64(1) << bit) - np.uint64(1))
        return np.where(present, before[w] + np.bitwise_count(below), -1)

    def registrations(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        """Registrations of many rows that have one (``packed`` bit 19).

        A row's string is decoded the first time it is asked for and kept (an object array
        filled on demand), so repeated batches of the same aircraft copy pointers only.
        """
        if self._reg_obj is None or self._reg_done is None:
            self._reg_obj = np.full(len(self), None, dtype=object)
            self._reg_done = np.zeros(len(self), dtype=bool)
        done = self._reg_done
        new = rows[~done[rows]]
        if len(new):
            need = np.zeros(len(done), dtype=bool)
            need[new] = True  # unique and in file order, without a sort
            new = np.flatnonzero(need & ~done)
            self._reg_obj[new] = self.reg.take(_int64_array(new)).to_pylist()
            done[new] = True
        out: npt.NDArray[np.object_] = self._reg_obj[rows]
        return out

    def forget_decoded(self) -> None:
        """Drop the registrations decoded so far (memory; they are decoded again on demand)."""
        self._reg_obj = self._reg_done = None

    def pool_array(self, field: str) -> npt.NDArray[np.object_]:
        """The pool of ``field`` as an object array (for vectorised gathers; built once)."""
        arr = self._pool_arrays.get(field)
        if arr is None:
            values = self.pools[field]
            arr = self._pool_arrays[field] = np.empty(len(values), dtype=object)
            arr[:] = values
        return arr
