"""Columnar decoding: many frames in, one ``pyarrow.Table`` out (one row per frame, input order).

Every column is built from whole-array NumPy operations on the groups of rows it applies to,
with the same field functions as the scalar :func:`overflight.modes.decode.decode`. Bad rows
(empty, non-hex, wrong length) are kept, marked ``valid = False`` with an ``invalid_reason``;
CRC failures are rows with ``crc_ok = False`` and reason ``"crc"``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from functools import lru_cache, partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.frames import FRAME_WIDTH_BYTES, FrameBatch
from overflight.modes import adsb
from overflight.modes import commb as _commb
from overflight.modes.crc import error_bit_batch, syndrome_batch
from overflight.modes.decode import _STRIP
from overflight.modes.fields import (
    AC13_FT_NP,
    CALLSIGN_CHARSET,
    CATEGORY_VALUES,
    EMERGENCY_STATES,
    ID13_SQUAWK_INDEX_NP,
    INT_NA,
    MOVEMENT_KT_NP,
    SIL_TYPES,
    SQUAWK_VALUES,
    ac12_to_ac13,
    airborne_nic,
    nucp_from_typecode,
    surface_nic,
)
from overflight.modes.message import MESSAGE_FIELDS

__all__ = [
    "COLUMN_TYPES",
    "COMMB_EXTRA_COLUMNS",
    "INVALID_REASONS",
    "TABLE_COLUMNS",
    "batch_stats",
    "commb_parts",
    "decode_batch",
    "frames_from_hex",
]

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

INVALID_REASONS: tuple[str, ...] = (
    "", "empty", "non-hex", "odd length", "bad length", "crc", "unknown address",
)
"""Values of ``invalid_reason`` (index 0: valid row, null in the table)."""
_R_EMPTY, _R_NONHEX, _R_ODD, _R_LEN, _R_CRC, _R_UNKNOWN = 1, 2, 3, 4, 5, 6

_SOURCES = ("adsb", "tisb", "adsr", "modes")
_CF_SOURCE_IDX = np.array([0, 0, 1, 1, 1, 1, 2, 0], dtype=np.int32)
# non_icao by CF: 0 False, 1 True, 2 unknown (null)
_CF_NON_ICAO = np.array([0, 1, 2, 2, 2, 1, 2, 2], dtype=np.int8)
_AP_DF = np.zeros(32, dtype=bool)  # address/parity formats (address_from_parity)
_AP_DF[[0, 4, 5, 16, 20, 21, 24]] = True
# non_icao by DF: 0 False (Mode S replies, DF17), 2 unknown (null; DF18 set by CF below)
_DF_NON_ICAO = np.full(32, 2, dtype=np.int8)
_DF_NON_ICAO[[0, 4, 5, 11, 16, 17, 20, 21]] = 0
_CF_ADSB = np.zeros(8, dtype=bool)  # DF18 control fields carrying an ADS-B ME field
_CF_ADSB[[0, 1, 2, 5, 6]] = True
_AIRSPEED_TYPES = ("IAS", "TAS")
_VR_SOURCES = ("gnss", "baro")
_ALT_SOURCES = ("MCP/FCU", "FMS")

_STR = pa.string()
COLUMN_TYPES: dict[str, pa.DataType] = {
    "time_s": pa.float64(), "df": pa.uint8(), "icao24": pa.dictionary(pa.int32(), _STR),
    "address": pa.uint32(), "crc_ok": pa.bool_(), "corrected_bits": pa.uint8(),
    "address_from_parity": pa.bool_(), "non_icao": pa.bool_(),
    "source": pa.dictionary(pa.int32(), _STR), "capability": pa.uint8(),
    "flight_status": pa.uint8(), "downlink_request": pa.uint8(), "utility_message": pa.uint8(),
    "interrogator_id": pa.uint8(), "sensitivity_level": pa.uint8(),
    "reply_information": pa.uint8(), "on_ground": pa.bool_(), "alert": pa.bool_(),
    "spi": pa.bool_(), "altitude_ft": pa.int32(), "altitude_gnss_ft": pa.int32(),
    "squawk": pa.dictionary(pa.int32(), _STR), "typecode": pa.uint8(),
    "category": pa.dictionary(pa.int32(), _STR), "callsign": pa.dictionary(pa.int32(), _STR),
    "cpr_odd": pa.bool_(), "cpr_lat": pa.int32(), "cpr_lon": pa.int32(), "surface": pa.bool_(),
    "groundspeed_kt": pa.float64(), "track_deg": pa.float64(), "airspeed_kt": pa.int32(),
    "airspeed_type": pa.dictionary(pa.int32(), _STR), "heading_deg": pa.float64(),
    "vertical_rate_fpm": pa.int32(), "vertical_rate_source": pa.dictionary(pa.int32(), _STR),
    "gnss_baro_diff_ft": pa.int32(), "velocity_subtype": pa.uint8(), "nuc_p": pa.uint8(),
    "nic": pa.uint8(), "nac_p": pa.uint8(), "nac_v": pa.uint8(), "sil": pa.uint8(),
    "sil_type": pa.dictionary(pa.int32(), _STR),
    "gva": pa.uint8(), "nic_baro": pa.uint8(), "nic_supplement_a": pa.uint8(),
    "nic_supplement_b": pa.uint8(), "nic_supplement_c": pa.uint8(),
    "containment_radius_m": pa.float64(), "adsb_version": pa.uint8(),
    "emergency_state": pa.dictionary(pa.int32(), _STR), "selected_altitude_ft": pa.int32(),
    "selected_altitude_source": pa.dictionary(pa.int32(), _STR),
    "baro_setting_hpa": pa.float64(), "selected_heading_deg": pa.float64(),
    "autopilot": pa.bool_(), "vnav": pa.bool_(), "alt_hold": pa.bool_(), "approach": pa.bool_(),
    "lnav": pa.bool_(), "tcas": pa.bool_(), "bds": pa.dictionary(pa.int32(), _STR),
    "bds_candidates": pa.list_(_STR), "roll_deg": pa.float64(), "true_track_deg": pa.float64(),
    "track_rate_deg_s": pa.float64(), "tas_kt": pa.float64(), "ias_kt": pa.float64(),
    "mach": pa.float64(), "magnetic_heading_deg": pa.float64(),
    "baro_vertical_rate_fpm": pa.float64(), "inertial_vertical_rate_fpm": pa.float64(),
}  # fmt: skip
"""Arrow type of every :class:`Message` column (``commb`` is flattened into register columns)."""

# per-type-code tables built once from the scalar definitions
_NUCP_NP = np.array([(nucp_from_typecode(t) if nucp_from_typecode(t) is not None else -1)
                     for t in range(32)], dtype=np.int64)


def _nic_tables(fn: Any, second: int) -> tuple[I64, npt.NDArray[np.float64]]:
    nic = np.full((32, 2), -1, dtype=np.int64)
    rc = np.full((32, 2), np.nan)
    for t in range(32):
        for b in range(2):
            r = fn(t, 0, b) if second else fn(t, 0, 0)
            if r is not None:
                nic[t, b] = r[0]
                rc[t, b] = np.nan if r[1] is None else r[1]
    return nic, rc


_AIR_NIC, _AIR_RC = _nic_tables(airborne_nic, 1)
_SURF_NIC, _SURF_RC = _nic_tables(surface_nic, 0)

# nibble value of every byte (255: not a hex digit)
_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _NIBBLE[_c] = 10 + _i


def _hex_one(s: Any) -> tuple[bytes, int]:
    """Slow path for one messy row: bytes or a reason code."""
    if isinstance(s, bytes | bytearray | memoryview):
        b = bytes(s)
        return (b, 0) if b else (b"", _R_EMPTY)
    if not isinstance(s, str):
        return b"", _R_NONHEX
    t = "".join(s.strip(_STRIP).split())
    if not t:
        return b"", _R_EMPTY
    if len(t) % 2:
        return b"", _R_ODD
    try:
        return bytes.fromhex(t), 0
    except ValueError:
        return b"", _R_NONHEX


def frames_from_hex(frames: Sequence[Any]) -> tuple[FrameBatch, npt.NDArray[np.int8]]:
    """Parse hex strings (or bytes) into a FrameBatch, with a reason code per row (0: parsed).

    Clean rows of 14 or 28 hex digits are converted with whole-array operations; anything else
    (AVR ``*...;`` wrappers, whitespace, bytes) takes a per-row path.
    """
    n = len(frames)
    data = np.zeros((n, FRAME_WIDTH_BYTES), np.uint8)
    length = np.zeros(n, np.uint8)
    reason = np.zeros(n, np.int8)
    if n == 0:
        return FrameBatch.from_columns(data, length), reason
    slow: list[int]
    arr: npt.NDArray[Any] | None
    # fast path: every row is exactly 28 hex digits (receivers and archives print long rows).
    # Joined with spaces (which fromhex skips), every row is 28 characters when the separators
    # all sit 29 characters apart, and 28 hex digits when fromhex gives 14n bytes (whitespace
    # inside a row leaves fewer digits; an odd or non-hex one raises ValueError).
    try:
        text = " ".join(frames)  # TypeError unless every row is str
        if len(text) == 29 * n - 1 and text[28::29] == " " * (n - 1):
            raw = bytearray.fromhex(text)  # ValueError: not hex
            if len(raw) == 14 * n:
                length[:] = 14
                return FrameBatch.from_columns(np.frombuffer(raw, np.uint8), length), reason
    except (TypeError, ValueError):
        pass
    try:
        arr = np.asarray(frames, dtype="S28")  # bytes/non-ASCII text: per-row path
        total = len("".join(frames))  # TypeError unless all rows are str
    except (UnicodeEncodeError, ValueError, TypeError):
        arr = None
    if arr is not None and arr.ndim == 1:
        u8 = arr.view(np.uint8).reshape(n, 28)
        nib = _NIBBLE[u8]
        nchar = np.count_nonzero(u8, axis=1)
        # hex text has no NUL, so the only non-hex bytes of a clean row are its zero padding
        ok = (np.count_nonzero(nib == 255, axis=1) == 28 - nchar) & ((nchar == 14) | (nchar == 28))
        if total != int(nchar.sum()):  # some rows were longer than 28 characters
            long_rows = np.flatnonzero(nchar == 28).tolist()
            ok[[i for i in long_rows if len(frames[i]) != 28]] = False
        packed = (nib[:, 0::2] << 4) | (nib[:, 1::2] & 0x0F)
        data[ok] = packed[ok]
        length[ok] = (nchar[ok] // 2).astype(np.uint8)
        slow = np.flatnonzero(~ok).tolist()
    else:
        slow = list(range(n))
    for i in slow:
        b, r = _hex_one(frames[i])
        if r:
            reason[i] = r
            continue
        m = len(b)
        if m > FRAME_WIDTH_BYTES:
            reason[i] = _R_LEN
            continue
        data[i, :m] = np.frombuffer(b, np.uint8)
        length[i] = m
    return FrameBatch.from_columns(data, length), reason


def _to_batch(frames: Any) -> tuple[FrameBatch, npt.NDArray[np.int8]]:
    if isinstance(frames, FrameBatch):
        return frames, np.zeros(len(frames), np.int8)
    if isinstance(frames, np.ndarray) and frames.dtype == np.uint8:
        fb = FrameBatch.from_columns(frames.reshape(-1, FRAME_WIDTH_BYTES))
        return fb, np.zeros(len(fb), np.int8)
    return frames_from_hex(frames if isinstance(frames, list) else list(frames))


def _np_dtype(t: pa.DataType) -> Any:
    if pa.types.is_dictionary(t):
        return np.int32
    if pa.types.is_list(t):
        return object
    # Arrow names float32 "float" and float64 "double"; NumPy reads "float" as float64
    return np.dtype({"bool": "bool", "halffloat": "float16", "float": "float32",
                     "double": "float64"}.get(str(t), str(t)))


_NP_DTYPES: dict[str, Any] = {k: _np_dtype(t) for k, t in COLUMN_TYPES.items()}


def _zeros(n: int, dtype: Any) -> npt.NDArray[Any]:
    """``np.zeros(n, dtype)`` in memory of Arrow's pool: a table's columns are allocated and
    freed together, and the pool recycles that memory, where ``np.zeros`` page-faults it in
    afresh on every batch (~10,000 page faults, a third of the decoding time)."""
    dt = np.dtype(dtype)
    a = np.frombuffer(pa.allocate_buffer(max(n, 1) * dt.itemsize), dtype=dt, count=n)
    a.fill(0)
    return a


class _Columns:
    """Full-length value arrays with a validity mask, filled group by group."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.values: dict[str, npt.NDArray[Any]] = {}
        self.ok: dict[str, BOOL] = {}
        self.strings: dict[str, tuple[list[str], dict[str, int]]] = {}

    def put(self, name: str, rows: Any, values: Any, valid: Any = True, dtype: Any = None) -> None:
        """Set ``values`` (and their validity) at ``rows``; later puts override earlier ones.

        ``rows`` is an index array, a boolean mask or ``slice(None)`` (every row).
        """
        if name not in self.values:
            if isinstance(rows, slice) and np.ndim(values) == 1:
                self.values[name] = np.asarray(values, dtype=_NP_DTYPES[name])
                self.ok[name] = (
                    np.ones(self.n, dtype=bool) if valid is True else np.array(valid, dtype=bool)
                )
                return
            self.values[name] = _zeros(self.n, _NP_DTYPES[name])
            self.ok[name] = _zeros(self.n, bool)
        self.values[name][rows] = values
        self.ok[name][rows] = valid

    def intern(self, name: str, strings: list[str]) -> npt.NDArray[np.int32]:
        """Indices of ``strings`` in the column's growing dictionary."""
        values, index = self.strings.setdefault(name, ([], {}))
        out = np.empty(len(strings), dtype=np.int32)
        for i, s in enumerate(strings):
            k = index.get(s)
            if k is None:
                k = index[s] = len(values)
                values.append(s)
            out[i] = k
        return out


def _validity(ok: BOOL | None) -> pa.Buffer | None:
    """Arrow validity bitmap of a boolean mask (None: every value valid)."""
    if ok is None or ok.all():
        return None
    return pa.py_buffer(np.packbits(ok, bitorder="little"))


def _arrow(vals: npt.NDArray[Any], ok: BOOL | None, typ: pa.DataType) -> pa.Array:
    """A typed Arrow array over a NumPy column (nulls where ``ok`` is False), without copying
    through Python objects (``pa.array(mask=...)`` is ~500x slower on 100k rows)."""
    n = vals.shape[0]
    if pa.types.is_boolean(typ):
        data = pa.py_buffer(np.packbits(vals.astype(bool, copy=False), bitorder="little"))
    else:
        data = pa.py_buffer(np.ascontiguousarray(vals, dtype=_np_dtype(typ)))
    return pa.Array.from_buffers(typ, n, [_validity(ok), data])


def _words(data: npt.NDArray[np.uint8], long_frame: BOOL) -> tuple[I64, I64]:
    """``head`` (first 32 bits) and ``me`` (bits 33-88 of long frames, 0 for short) as int64."""
    head = np.ascontiguousarray(data[:, 0:4]).view(">u4").ravel().astype(np.int64)
    me = np.ascontiguousarray(data[:, 3:11]).view(">u8").ravel().astype(np.int64)
    me &= (1 << 56) - 1
    me[~long_frame] = 0
    return head, me


def decode_batch(
    frames: FrameBatch | npt.NDArray[np.uint8] | Sequence[str] | Sequence[bytes],
    *,
    fix: bool = True,
    known_addresses: Collection[int] | None = None,
    columns: Iterable[str] | None = None,
) -> pa.Table:
    """Decode many frames into a table with one row per frame (columns named as Message fields).

    ``frames``: a :class:`FrameBatch`, an ``(n, 14)`` uint8 array (lengths from the DF), or a
    sequence of hex strings/bytes. ``fix`` corrects 1-bit errors in DF11/17/18.
    ``known_addresses`` (an :class:`~overflight.modes.correct.AddressFilter` or a set of ints)
    checks addresses recovered from parity; an ``AddressFilter`` first learns the clean
    DF11/17/18 addresses of this batch. Counts of bad rows: :func:`batch_stats`.

    ``columns`` (names from :data:`TABLE_COLUMNS`) builds only those columns, in that order,
    and skips the Comm-B registers when none of theirs is asked for: a cheaper handoff for a
    consumer that reads a few columns (the tracker). Row counts stay in the metadata.
    """
    want = _wanted(columns)
    want_set = None if want is None else frozenset(want)
    fb, reason = _to_batch(frames)
    n = len(fb)
    data = np.array(fb.data, dtype=np.uint8, copy=True)
    length = fb.length_bytes.astype(np.int64)
    first = data[:, 0].astype(np.int64)
    long_df = first >= 0x80
    # short replies written as 28 hex digits: keep the first 7 bytes
    cut = (length == 14) & ~long_df
    if cut.any():
        data[cut, 7:] = 0
        length[cut] = 7
    len_ok = ((length == 7) & ~long_df) | ((length == 14) & long_df)
    reason[(reason == 0) & ~len_ok] = _R_LEN
    parsed = reason == 0
    data[~parsed] = 0
    df = np.minimum(first >> 3, 24)
    syn = syndrome_batch(data, np.where(long_df, 14, 7).astype(np.uint8)).astype(np.int64)

    is11, is17, is18 = df == 11, df == 17, df == 18
    checked = parsed & (is11 | is17 | is18)
    corrected = np.zeros(n, dtype=bool)
    if fix:
        cand = checked & (syn != 0) & ~(is11 & (syn < 0x80))
        if cand.any():
            rows = np.flatnonzero(cand)
            bits = error_bit_batch(syn[rows].astype(np.uint32), long_df[rows])
            hit = bits >= 0
            rows, bits = rows[hit], bits[hit]
            data[rows, bits // 8] ^= (0x80 >> (bits % 8)).astype(np.uint8)
            syn[rows] = 0
            corrected[rows] = True
    head, me = _words(data, long_df)

    cols = _Columns(n)
    P: Any = slice(None) if parsed.all() else parsed
    cols.put("df", P, df[P], dtype=np.uint8)
    cols.put("time_s", slice(None), fb.time_s, ~np.isnan(fb.time_s), dtype=np.float64)
    cols.put("corrected_bits", P, corrected[P].astype(np.uint8), dtype=np.uint8)
    ap = parsed & ~(is11 | is17 | is18)
    address = np.where(ap, syn, head & 0xFFFFFF)
    cols.put("address", P, address[P], dtype=np.uint32)
    ap_df = _AP_DF[df]
    cols.put("address_from_parity", P, ap_df[P], dtype=bool)
    crc_ok = np.where(is11, syn < 0x80, syn == 0)
    g = np.flatnonzero(checked)
    cols.put("crc_ok", g, crc_ok[g], dtype=bool)
    g = np.flatnonzero(parsed & is11 & crc_ok)
    cols.put("interrogator_id", g, syn[g], dtype=np.uint8)

    # address filter for address/parity formats
    apf = ap & ap_df
    if known_addresses is not None:
        confirm_batch = getattr(known_addresses, "confirm_batch", None)
        if confirm_batch is not None:
            clean = checked & crc_ok & ~corrected & (~is18 | (((head >> 24) & 7) == 0))
            confirm_batch(address[clean], fb.time_s[clean])
        addresses = getattr(known_addresses, "addresses", None)
        known = (
            np.asarray(addresses(), dtype=np.int64) if addresses is not None
            else np.fromiter((int(a) for a in known_addresses), dtype=np.int64)
        )
        g = np.flatnonzero(apf)
        in_known = np.isin(address[g], known)
        cols.put("crc_ok", g, in_known)
        reason[g[~in_known]] = _R_UNKNOWN
    reason[checked & ~crc_ok] = _R_CRC

    ca = (head >> 24) & 7
    src = np.full(n, 3, dtype=np.int32)  # "modes"
    # non_icao: False for Mode S replies and DF17, by CF for DF18, unknown for DF19/22-24
    non_icao = _DF_NON_ICAO[df]
    # DF0/16: vertical status, sensitivity, reply information, AC13
    g = np.flatnonzero(parsed & ((df == 0) | (df == 16)))
    cols.put("on_ground", g, ((head[g] >> 26) & 1) == 1, dtype=bool)
    cols.put("sensitivity_level", g, (head[g] >> 21) & 7, dtype=np.uint8)
    cols.put("reply_information", g, (head[g] >> 15) & 0xF, dtype=np.uint8)
    _altitude(cols, "altitude_ft", g, head[g] & 0x1FFF)
    # DF4/5/20/21: flight status, DR, UM, AC13 or ID13
    g = np.flatnonzero(parsed & ((df == 4) | (df == 5) | (df >= 20) & (df <= 21)))
    fs = ca[g]
    cols.put("flight_status", g, fs, dtype=np.uint8)
    cols.put("on_ground", g, (fs == 1) | (fs == 3), (fs <= 3))
    cols.put("alert", g, (fs >= 2) & (fs <= 4), dtype=bool)
    cols.put("spi", g, (fs == 4) | (fs == 5), dtype=bool)
    cols.put("downlink_request", g, (head[g] >> 19) & 0x1F, dtype=np.uint8)
    cols.put("utility_message", g, (head[g] >> 13) & 0x3F, dtype=np.uint8)
    ga = np.flatnonzero(parsed & ((df == 4) | (df == 20)))
    _altitude(cols, "altitude_ft", ga, head[ga] & 0x1FFF)
    gs = np.flatnonzero(parsed & ((df == 5) | (df == 21)))
    cols.put("squawk", gs, ID13_SQUAWK_INDEX_NP[head[gs] & 0x1FFF], dtype=np.int32)
    # DF11/17: capability
    g = np.flatnonzero(parsed & (is11 | is17))
    cols.put("capability", g, ca[g], dtype=np.uint8)
    cols.put("on_ground", g, ca[g] == 4, (ca[g] == 4) | (ca[g] == 5))
    # DF18: control field
    g = np.flatnonzero(parsed & is18)
    cols.put("capability", g, ca[g])
    src[g] = _CF_SOURCE_IDX[ca[g]]
    src[parsed & is17] = 0
    non_icao[g] = _CF_NON_ICAO[ca[g]]
    cols.put("source", P, src[P], dtype=np.int32)
    cols.put("non_icao", P, non_icao[P] == 1, non_icao[P] != 2, dtype=bool)

    es = parsed & (is17 | (is18 & _CF_ADSB[ca]))
    if es.any():
        _adsb_columns(cols, np.flatnonzero(es), me[es])

    commb_extra: dict[str, pa.Array] = {}
    cb = parsed & ((df == 20) | (df == 21))
    if (want_set is None or not want_set.isdisjoint(_COMMB_NAMES)) and cb.any():
        commb_extra = _commb_columns(
            cols, np.flatnonzero(cb), me[cb], df[cb], head[cb], n, want_set
        )

    builders: dict[str, Callable[[], pa.Array]] = {}
    for name in MESSAGE_FIELDS:
        if name != "commb":
            builders[name] = partial(_message_column, cols, name, address, P, n)
    for name in COMMB_EXTRA_COLUMNS:
        builders[name] = partial(_extra_column, commb_extra, name, n)
    builders["valid"] = lambda: _arrow(reason == 0, None, pa.bool_())
    builders["invalid_reason"] = lambda: pa.DictionaryArray.from_arrays(
        _arrow(reason.astype(np.int32), reason != 0, pa.int32()), _INVALID_DICT
    )
    builders["receiver"] = lambda: _arrow(fb.receiver, None, pa.uint64())
    builders["signal_dbfs"] = lambda: _arrow(
        fb.signal_dbfs, ~np.isnan(fb.signal_dbfs), pa.float32()
    )
    builders["ticks"] = lambda: _arrow(fb.ticks, None, pa.uint64())
    if "bds_candidates" in commb_extra:
        builders["bds_candidates"] = partial(_extra_column, commb_extra, "bds_candidates", n)
    arrays = {name: builders[name]() for name in (TABLE_COLUMNS if want is None else want)}
    counts = np.bincount(reason.astype(np.int64), minlength=len(INVALID_REASONS))
    meta = {
        "overflight.rows": str(n),
        "overflight.invalid": str(int(n - counts[0])),
        "overflight.invalid_reasons": json.dumps(
            {INVALID_REASONS[i]: int(c) for i, c in enumerate(counts) if i and c}
        ),
    }
    return pa.Table.from_pydict(arrays).replace_schema_metadata(meta)


_FIXED_DICTIONARIES: dict[str, pa.Array] = {
    "source": pa.array(_SOURCES, _STR),
    "squawk": pa.array(SQUAWK_VALUES, _STR),
    "category": pa.array(CATEGORY_VALUES, _STR),
    "airspeed_type": pa.array(_AIRSPEED_TYPES, _STR),
    "vertical_rate_source": pa.array(_VR_SOURCES, _STR),
    "selected_altitude_source": pa.array(_ALT_SOURCES, _STR),
    "emergency_state": pa.array(EMERGENCY_STATES, _STR),
    "sil_type": pa.array(SIL_TYPES, _STR),
    "bds": pa.array(_commb.BDS_CODES, _STR),
}
_INVALID_DICT = pa.array(INVALID_REASONS, _STR)


def _message_column(cols: _Columns, name: str, address: I64, P: Any, n: int) -> pa.Array:
    """The Arrow array of one :class:`Message` column."""
    typ = COLUMN_TYPES[name]
    if name == "icao24":  # dictionary of the distinct addresses
        uniq, inv = np.unique(address[P], return_inverse=True)
        cols.put("icao24", P, inv.astype(np.int32), dtype=np.int32)
        cols.strings["icao24"] = ([f"{a:06x}" for a in uniq.tolist()], {})
    if name not in cols.values:
        return pa.nulls(n, typ)
    vals, ok = cols.values[name], cols.ok[name]
    if not pa.types.is_dictionary(typ):
        return _arrow(vals, ok, typ)
    fixed = _FIXED_DICTIONARIES.get(name)
    dictionary = fixed if fixed is not None else pa.array(cols.strings[name][0], _STR)
    return pa.DictionaryArray.from_arrays(_arrow(vals, ok, pa.int32()), dictionary)


def _extra_column(extra: dict[str, pa.Array], name: str, n: int) -> pa.Array:
    got = extra.get(name)
    if got is not None:
        return got
    typ = COMMB_EXTRA_COLUMNS.get(name, COLUMN_TYPES.get(name))
    return pa.nulls(n, typ)


def _wanted(columns: Iterable[str] | None) -> tuple[str, ...] | None:
    if columns is None:
        return None
    want = tuple(dict.fromkeys(columns))
    unknown = [c for c in want if c not in _TABLE_COLUMN_SET]
    if unknown:
        raise ValueError(f"unknown decode_batch columns {unknown}; known: {TABLE_COLUMNS}")
    return want


def batch_stats(table: pa.Table) -> dict[str, Any]:
    """Row counts of a :func:`decode_batch` table: ``rows``, ``valid``, ``invalid``, ``reasons``."""
    meta = table.schema.metadata or {}
    if b"overflight.rows" in meta:
        rows = int(meta[b"overflight.rows"])
        invalid = int(meta[b"overflight.invalid"])
        reasons = json.loads(meta[b"overflight.invalid_reasons"])
    else:
        rows = table.num_rows
        vc = pc.value_counts(table.column("invalid_reason").combine_chunks().dictionary_decode())
        reasons = {d["values"]: d["counts"] for d in vc.to_pylist() if d["values"] is not None}
        invalid = sum(reasons.values())
    return {"rows": rows, "valid": rows - invalid, "invalid": invalid, "reasons": reasons}


def _altitude(cols: _Columns, name: str, rows: Any, ac13: I64) -> None:
    alt = AC13_FT_NP[ac13]
    cols.put(name, rows, alt, alt != INT_NA, dtype=np.int32)


def _adsb_columns(cols: _Columns, rows: I64, me: I64) -> None:
    """ADS-B type-code groups (rows: absolute row numbers, me: their ME fields)."""
    tc = me >> 51
    cols.put("typecode", rows, tc, dtype=np.uint8)

    # TC 9-18, 20-22: airborne position
    g = ((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22))
    if g.any():
        r, m, t = rows[g], me[g], tc[g]
        code = adsb.airborne_altitude_code(m)
        baro = t <= 18
        _altitude(cols, "altitude_ft", r[baro], ac12_to_ac13(code[baro]))
        gn = ~baro & (code != 0)
        cols.put("altitude_gnss_ft", r[gn], adsb.gnss_altitude_ft(code[gn]), dtype=np.int32)
        ss = adsb.airborne_surveillance_status(m)
        cols.put("alert", r, (ss == 1) | (ss == 2))
        cols.put("spi", r, ss == 3)
        cols.put("on_ground", r, False)
        cols.put("surface", r, False, dtype=bool)
        nic_b = adsb.airborne_nic_b(m)
        cols.put("nic_supplement_b", r, nic_b, dtype=np.uint8)
        _cpr(cols, r, m)
        cols.put("nuc_p", r, _NUCP_NP[t], dtype=np.uint8)
        nic, rc = _AIR_NIC[t, nic_b], _AIR_RC[t, nic_b]
        cols.put("nic", r, nic, nic >= 0, dtype=np.uint8)
        cols.put("containment_radius_m", r, rc, ~np.isnan(rc), dtype=np.float64)

    # TC 19: airborne velocity
    g = tc == 19
    if g.any():
        r, m = rows[g], me[g]
        st = adsb.velocity_subtype(m)
        cols.put("velocity_subtype", r, st, dtype=np.uint8)
        cols.put("nac_v", r, adsb.velocity_nac_v(m), dtype=np.uint8)
        cols.put("on_ground", r, False)
        gsub = (st == 1) | (st == 2)
        ew, ns = adsb.velocity_ew(m), adsb.velocity_ns(m)
        k = np.where(st == 2, 4, 1)
        vx = (ew - 1) * k * (1 - 2 * adsb.velocity_ew_sign(m))
        vy = (ns - 1) * k * (1 - 2 * adsb.velocity_ns_sign(m))
        has = gsub & (ew != 0) & (ns != 0)
        vx, vy, rr = vx[has].astype(np.float64), vy[has].astype(np.float64), r[has]
        cols.put("groundspeed_kt", rr, np.sqrt(vx * vx + vy * vy), dtype=np.float64)
        trk = np.degrees(np.arctan2(vx, vy))
        cols.put("track_deg", rr, np.where(trk < 0, trk + 360.0, trk), dtype=np.float64)
        gair = (st == 3) | (st == 4)
        hs = gair & (adsb.heading_status(m) == 1)
        cols.put("heading_deg", r[hs], adsb.velocity_heading_deg(adsb.heading_raw(m[hs])),
                 dtype=np.float64)
        raw = adsb.airspeed_raw(m)
        ha = gair & (raw != 0)
        cols.put("airspeed_kt", r[ha], adsb.airspeed_kt(raw[ha], st[ha]), dtype=np.int32)
        cols.put("airspeed_type", r[gair], adsb.airspeed_type_tas(m[gair]), dtype=np.int32)
        gv = (st >= 1) & (st <= 4)
        cols.put("vertical_rate_source", r[gv], adsb.vertical_rate_source_baro(m[gv]),
                 dtype=np.int32)
        vr = adsb.vertical_rate_raw(m)
        hv = gv & (vr != 0)
        cols.put("vertical_rate_fpm", r[hv],
                 adsb.vertical_rate_fpm(adsb.vertical_rate_sign(m[hv]), vr[hv]), dtype=np.int32)
        d = adsb.gnss_baro_diff_raw(m)
        hd = gv & (d != 0) & (d != 127)
        cols.put("gnss_baro_diff_ft", r[hd],
                 adsb.gnss_baro_diff_ft(adsb.gnss_baro_diff_sign(m[hd]), d[hd]), dtype=np.int32)

    # TC 1-4: identification
    g = (tc >= 1) & (tc <= 4)
    if g.any():
        r, m = rows[g], me[g]
        cols.put("category", r, (tc[g] - 1) * 8 + adsb.emitter_ca(m), dtype=np.int32)
        _callsigns(cols, r, adsb.callsign_bits(m))

    # TC 5-8: surface position
    g = (tc >= 5) & (tc <= 8)
    if g.any():
        r, m, t = rows[g], me[g], tc[g]
        cols.put("on_ground", r, True)
        cols.put("surface", r, True)
        mv = MOVEMENT_KT_NP[adsb.surface_movement(m)]
        cols.put("groundspeed_kt", r, mv, ~np.isnan(mv))
        ts = adsb.surface_track_status(m) == 1
        cols.put("track_deg", r[ts], adsb.surface_track_deg(adsb.surface_track_raw(m[ts])))
        _cpr(cols, r, m)
        cols.put("nuc_p", r, _NUCP_NP[t], dtype=np.uint8)
        nic, rc = _SURF_NIC[t, 0], _SURF_RC[t, 0]
        cols.put("nic", r, nic, nic >= 0, dtype=np.uint8)
        cols.put("containment_radius_m", r, rc, ~np.isnan(rc), dtype=np.float64)

    # TC 28: emergency / squawk
    g = (tc == 28) & (adsb.emergency_subtype(me) == 1)
    if g.any():
        r, m = rows[g], me[g]
        cols.put("emergency_state", r, adsb.emergency_code(m), dtype=np.int32)
        cols.put("squawk", r, ID13_SQUAWK_INDEX_NP[adsb.squawk_id13(m)], dtype=np.int32)

    # TC 29: target state and status
    g = tc == 29
    if g.any():
        _target_state(cols, rows[g], me[g])

    # TC 31: operational status
    g = tc == 31
    if g.any():
        _operational_status(cols, rows[g], me[g])


def _cpr(cols: _Columns, r: I64, m: I64) -> None:
    cols.put("cpr_odd", r, adsb.cpr_format_odd(m) == 1, dtype=bool)
    cols.put("cpr_lat", r, adsb.cpr_lat(m), dtype=np.int32)
    cols.put("cpr_lon", r, adsb.cpr_lon(m), dtype=np.int32)


def _target_state(cols: _Columns, r: I64, m: I64) -> None:
    st = adsb.target_state_subtype(m)
    v2 = st == 1
    if v2.any():
        rr, mm = r[v2], m[v2]
        alt = adsb.ts2_selected_altitude_raw(mm)
        has = alt != 0
        cols.put("selected_altitude_ft", rr[has], adsb.ts2_selected_altitude_ft(alt[has]),
                 dtype=np.int32)
        cols.put("selected_altitude_source", rr[has],
                 adsb.ts2_selected_altitude_source_fms(mm[has]), dtype=np.int32)
        baro = adsb.ts2_baro_raw(mm)
        hb = baro != 0
        cols.put("baro_setting_hpa", rr[hb], adsb.ts2_baro_setting_hpa(baro[hb]), dtype=np.float64)
        hh = adsb.ts2_heading_status(mm) == 1
        cols.put("selected_heading_deg", rr[hh], adsb.ts2_heading_deg(adsb.ts2_heading_raw(mm[hh])),
                 dtype=np.float64)
        cols.put("nac_p", rr, adsb.ts2_nac_p(mm), dtype=np.uint8)
        cols.put("nic_baro", rr, adsb.ts2_nic_baro(mm), dtype=np.uint8)
        cols.put("sil", rr, adsb.ts2_sil(mm), dtype=np.uint8)
        cols.put("sil_type", rr, adsb.ts2_sil_supplement(mm), dtype=np.int32)
        ms = adsb.ts2_mode_status(mm) == 1
        for name, fn in (("autopilot", adsb.ts2_autopilot), ("vnav", adsb.ts2_vnav),
                         ("alt_hold", adsb.ts2_altitude_hold), ("approach", adsb.ts2_approach),
                         ("lnav", adsb.ts2_lnav)):
            cols.put(name, rr[ms], fn(mm[ms]) == 1, dtype=bool)
        cols.put("tcas", rr, adsb.ts2_tcas(mm) == 1, dtype=bool)
        cols.put("adsb_version", rr, 2, dtype=np.uint8)
    v1 = st == 0
    if v1.any():
        rr, mm = r[v1], m[v1]
        hv = adsb.ts1_vertical_source(mm) != 0
        cols.put("selected_altitude_ft", rr[hv], adsb.ts1_target_altitude_raw(mm[hv]) * 100 - 1000,
                 dtype=np.int32)
        hh = adsb.ts1_horizontal_source(mm) != 0
        cols.put("selected_heading_deg", rr[hh], adsb.ts1_heading_raw(mm[hh]).astype(np.float64),
                 dtype=np.float64)
        cols.put("nac_p", rr, adsb.ts1_nac_p(mm), dtype=np.uint8)
        cols.put("nic_baro", rr, adsb.ts1_nic_baro(mm), dtype=np.uint8)
        cols.put("sil", rr, adsb.ts1_sil(mm), dtype=np.uint8)
        cols.put("adsb_version", rr, 1, dtype=np.uint8)


def _operational_status(cols: _Columns, r: I64, m: I64) -> None:
    st = adsb.opstatus_subtype(m)
    ver = adsb.opstatus_version(m)
    cols.put("adsb_version", r, ver, dtype=np.uint8)
    g = (st <= 1) & (ver >= 1)
    cols.put("nic_supplement_a", r[g], adsb.opstatus_nic_a(m[g]), dtype=np.uint8)
    cols.put("nac_p", r[g], adsb.opstatus_nac_p(m[g]), dtype=np.uint8)
    cols.put("sil", r[g], adsb.opstatus_sil(m[g]), dtype=np.uint8)
    a = g & (st == 0)
    cols.put("nic_baro", r[a], adsb.opstatus_nic_baro(m[a]), dtype=np.uint8)
    a2 = a & (ver == 2)
    cols.put("gva", r[a2], adsb.opstatus_gva(m[a2]), dtype=np.uint8)
    v2 = g & (ver == 2)
    cols.put("sil_type", r[v2], adsb.opstatus_sil_supplement(m[v2]), dtype=np.int32)
    s2 = g & (st == 1) & (ver == 2)
    cols.put("nic_supplement_c", r[s2], adsb.opstatus_nic_c(m[s2]), dtype=np.uint8)
    s = st == 1
    cols.put("on_ground", r[s], True)


def _callsigns(cols: _Columns, rows: I64, bits: I64) -> None:
    uniq, inv = np.unique(bits, return_inverse=True)
    cs = CALLSIGN_CHARSET
    names = [
        "".join([cs[(b >> s) & 0x3F] for s in (42, 36, 30, 24, 18, 12, 6, 0)]).strip()
        for b in uniq.tolist()
    ]
    idx = cols.intern("callsign", names)
    cols.put("callsign", rows, idx[inv], dtype=np.int32)


def _factorize(values: npt.NDArray[Any]) -> tuple[I64, list[Any]]:
    """Codes and distinct values of an object array, in order of first appearance (None: -1,
    as ``pandas.factorize`` numbers them; one dict look-up per row)."""
    index: dict[Any, int] = {}
    put = index.setdefault
    codes = np.fromiter((-1 if v is None else put(v, len(index)) for v in values.tolist()),
                        np.int64, count=len(values))
    return codes, list(index)


@lru_cache(maxsize=4)
def _bit_table(shifts: tuple[int, ...]) -> BOOL:
    """``table[w, k]``: bit ``shifts[k]`` of ``w``, for every ``w`` below ``2**(max+1)``."""
    w = np.arange(1 << (max(shifts) + 1), dtype=np.int64)
    table: BOOL = ((w[:, None] >> np.asarray(shifts, dtype=np.int64)[None, :]) & 1) == 1
    return table


def _bitset_lists(
    rows: I64, words: I64, shifts: Sequence[int], labels: pa.Array, n: int
) -> pa.Array:
    """A list<string> column: at ``rows``, ``labels[k]`` for every bit ``shifts[k]`` set in
    the row's word (in label order); null elsewhere. No Python object per row."""
    if len(shifts) <= 10:  # small bit sets (candidate registers): one table look-up per row
        bits = _bit_table(tuple(shifts))[words]
    else:
        bits = ((words[:, None] >> np.asarray(shifts, dtype=np.int64)[None, :]) & 1) == 1
    lengths = np.zeros(n, dtype=np.int32)
    lengths[rows] = bits.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    _, k = np.nonzero(bits)
    null = np.ones(n, dtype=bool)
    null[rows] = False
    return pa.ListArray.from_arrays(
        pa.array(offsets), labels.take(pa.array(k)), mask=pa.array(null)
    )


_CB_CHOSEN = np.array(
    [_commb.BDS_CODES.index(t[0]) if len(t) == 1 else -1 for t in _commb.CANDIDATE_SETS],
    dtype=np.int64,
)
_CB_LABELS = pa.array(_commb.BDS_CODES, _STR)
_CB_SHIFTS = tuple(range(len(_commb.BDS_CODES)))  # candidate bit k: BDS_CODES[k]
_CAP_LABELS = pa.array(_commb.CAPABILITY_BDS, _STR)
_CAP_SHIFTS = tuple(23 - i for i in range(len(_commb.CAPABILITY_BDS)))
_CB_ARROW = {"int": pa.int32(), "float": pa.float64(), "bool": pa.bool_(),
             "str": pa.dictionary(pa.int32(), _STR), "list[str]": pa.list_(_STR)}  # fmt: skip
COMMB_EXTRA_COLUMNS: dict[str, pa.DataType] = {
    name: _CB_ARROW[kind]
    for name, kind in _commb.COMMB_FIELD_KINDS.items()
    if name not in COLUMN_TYPES and name != "callsign"
}
"""Comm-B register fields that are not :class:`Message` fields: extra table columns."""
_COMMB_NAMES = frozenset(_commb.COMMB_FIELD_KINDS)


def commb_parts(
    rows: I64, mb: I64, df: I64, head: I64, want: frozenset[str] | None,
    structure: Callable[[I64], I64] = _commb.structure_columns,
) -> tuple[I64, dict[str, tuple[I64, npt.NDArray[Any]]]]:
    """The Comm-B inference of DF20/21 rows (``mb``: their 56-bit MB fields, ``head``: their
    first 32 bits): each row's candidate register set, and per field name (those in ``want``;
    None: all) the rows (from ``rows``) where the chosen register gives it and its values.
    ``structure``: the structure stage (``commb.structure_columns``, or the same rules
    compiled)."""
    alt = AC13_FT_NP[head & 0x1FFF].astype(np.float64)
    alt = np.where((df == 20) & (alt != INT_NA), alt, np.nan)
    nan = np.full(mb.shape[0], np.nan)
    code = _commb.resolve_columns(mb, structure(mb), alt, nan, nan)
    chosen = _CB_CHOSEN[code]
    parts: dict[str, tuple[I64, npt.NDArray[Any]]] = {}
    for k in range(len(_commb.BDS_CODES)):
        sel = np.flatnonzero(chosen == k)
        if not sel.size:
            continue
        r = rows[sel]
        for name, (present, values) in _commb.register_columns(k, mb[sel], tuples=False).items():
            if want is not None and name not in want:
                continue
            if present is not None:
                if not present.any():
                    continue
                rp, values = r[present], values[present]
            else:
                rp = r
            if name in parts:  # a name several registers share (4,4 and 4,5 temperature...)
                r0, v0 = parts[name]
                rp, values = np.concatenate([r0, rp]), np.concatenate([v0, values])
            parts[name] = (rp, values)
    return code, parts


def _commb_columns(
    cols: _Columns, rows: I64, mb: I64, df: I64, head: I64, n: int, want: frozenset[str] | None
) -> dict[str, pa.Array]:
    """Comm-B register columns for DF20/21 rows: same-named Message columns are filled where
    the Mode S decoding left them null; the other registers' fields become extra columns."""
    code, parts = commb_parts(rows, mb, df, head, want)
    chosen = _CB_CHOSEN[code]
    cols.put("bds", rows, chosen, chosen >= 0, dtype=np.int32)
    extra: dict[str, pa.Array] = {}
    if want is None or "bds_candidates" in want:
        extra["bds_candidates"] = _bitset_lists(rows, code, _CB_SHIFTS, _CB_LABELS, n)
    for name, typ in COMMB_EXTRA_COLUMNS.items():
        if want is not None and name not in want:
            continue
        if name not in parts:
            extra[name] = pa.nulls(n, typ)
            continue
        r, v = parts.pop(name)
        if pa.types.is_list(typ):  # supported_bds: 24-bit capability words
            extra[name] = _bitset_lists(r, v, _CAP_SHIFTS, _CAP_LABELS, n)
        elif pa.types.is_dictionary(typ):
            codes, uniq_s = _factorize(v)
            full = np.full(n, -1, dtype=np.int32)
            full[r] = codes
            extra[name] = pa.DictionaryArray.from_arrays(
                _arrow(full, full >= 0, pa.int32()), pa.array(uniq_s, _STR)
            )
        else:
            vals = _zeros(n, _np_dtype(typ))
            vals[r] = v
            ok = _zeros(n, bool)
            ok[r] = True
            extra[name] = _arrow(vals, ok, typ)
    for name, (r, v) in parts.items():  # Message fields (callsign, speeds, selected altitude...)
        if name in cols.values:
            keep = ~cols.ok[name][r]
            r, v = r[keep], v[keep]
        if _commb.COMMB_FIELD_KINDS[name] == "str":
            codes, uniq_s = _factorize(v)
            cols.put(name, r, cols.intern(name, [str(u) for u in uniq_s])[codes])
        else:
            cols.put(name, r, v)
    return extra


TABLE_COLUMNS: tuple[str, ...] = (
    *(name for name in MESSAGE_FIELDS if name != "commb"),
    *COMMB_EXTRA_COLUMNS,
    "valid",
    "invalid_reason",
    "receiver",
    "signal_dbfs",
    "ticks",
)
"""Every column of a :func:`decode_batch` table, in order."""
_TABLE_COLUMN_SET = frozenset(TABLE_COLUMNS)
