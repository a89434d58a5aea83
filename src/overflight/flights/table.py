"""The canonical in-memory position table: NumPy columns sorted by (icao24, time_s).

Every reader and adapter produces a :class:`PositionTable`; flight detection works only on it.
Units are in the column names; missing values are ``nan`` (floats), ``-1`` (``on_ground``,
``callsign_code``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

__all__ = [
    "FLOAT_COLUMNS",
    "PositionTable",
    "Skipped",
    "concat",
    "from_arrow",
    "from_columns",
    "from_pandas",
]

FLOAT_COLUMNS = (
    "time_s",
    "lat_deg",
    "lon_deg",
    "altitude_ft",
    "groundspeed_kt",
    "track_deg",
    "vertical_rate_fpm",
)

# Accepted alternative column names (trajectories-traffic, OpenSky state vectors, readsb).
_ALIASES: dict[str, tuple[str, ...]] = {
    "icao24": ("icao24", "icao", "hex", "address"),
    "time_s": ("time_s", "time", "timestamp"),
    "lat_deg": ("lat_deg", "latitude", "lat"),
    "lon_deg": ("lon_deg", "longitude", "lon"),
    "altitude_ft": ("altitude_ft", "altitude", "baroaltitude_ft", "alt_baro"),
    "groundspeed_kt": ("groundspeed_kt", "groundspeed", "gs"),
    "track_deg": ("track_deg", "track", "heading"),
    "vertical_rate_fpm": ("vertical_rate_fpm", "vertical_rate", "baro_rate"),
    "on_ground": ("on_ground", "onground", "ground"),
    "callsign": ("callsign", "flight"),
    "estimated": ("estimated",),
    "source": ("source", "position_source"),
}


@dataclass(frozen=True, slots=True)
class Skipped:
    """Rows dropped while normalising, by reason (counts)."""

    no_address: int = 0
    no_time: int = 0
    no_position: int = 0
    duplicate: int = 0

    @property
    def total(self) -> int:
        return self.no_address + self.no_time + self.no_position + self.duplicate


@dataclass(frozen=True, slots=True)
class PositionTable:
    """Positions sorted by (icao24, time_s); one row per distinct (icao24, time_s).

    ``on_ground`` is int8 (1 ground, 0 airborne, -1 unknown); ``callsign_code`` indexes
    ``callsigns`` (-1 none); ``estimated`` marks positions that were not observed;
    ``source_code`` indexes ``sources``, how each position was found (``adsb``, ``mlat``...;
    -1 unknown; None when the input had no such column).
    """

    icao24: NDArray[np.uint32]
    time_s: NDArray[np.float64]
    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    altitude_ft: NDArray[np.float64]
    groundspeed_kt: NDArray[np.float64]
    track_deg: NDArray[np.float64]
    vertical_rate_fpm: NDArray[np.float64]
    on_ground: NDArray[np.int8]
    callsign_code: NDArray[np.int32]
    callsigns: tuple[str, ...]
    estimated: NDArray[np.bool_]
    skipped: Skipped = field(default_factory=Skipped)
    source_code: NDArray[np.int32] | None = None
    sources: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def aircraft_bounds(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Start and end (exclusive) row of each aircraft's run."""
        n = len(self)
        if n == 0:
            e = np.zeros(0, dtype=np.int64)
            return e, e
        cut = np.flatnonzero(self.icao24[1:] != self.icao24[:-1]) + 1
        starts = np.concatenate([[0], cut]).astype(np.int64)
        ends = np.concatenate([cut, [n]]).astype(np.int64)
        return starts, ends

    def take(self, idx: NDArray[np.int64] | slice) -> PositionTable:
        """Rows ``idx`` (must keep the sort order), same callsign dictionary."""
        return PositionTable(
            self.icao24[idx],
            self.time_s[idx],
            self.lat_deg[idx],
            self.lon_deg[idx],
            self.altitude_ft[idx],
            self.groundspeed_kt[idx],
            self.track_deg[idx],
            self.vertical_rate_fpm[idx],
            self.on_ground[idx],
            self.callsign_code[idx],
            self.callsigns,
            self.estimated[idx],
            Skipped(),
            None if self.source_code is None else self.source_code[idx],
            self.sources,
        )

    def sources_in(self, start: int, end: int) -> tuple[str, ...]:
        """The position sources of rows ``start`` to ``end`` (inclusive), sorted; empty when
        the input did not say."""
        if self.source_code is None:
            return ()
        codes = np.unique(self.source_code[start : end + 1])
        return tuple(sorted(self.sources[c] for c in codes.tolist() if c >= 0))

    def callsign_at(self, row: int) -> str | None:
        c = int(self.callsign_code[row])
        return self.callsigns[c] if c >= 0 else None


def _address_array(values: Any) -> tuple[NDArray[np.uint32], NDArray[np.bool_]]:
    """Parse ICAO addresses (hex strings or integers) to uint32; returns (values, valid)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.uint32), np.ones(arr.shape, dtype=bool)
    if arr.dtype.kind == "f":
        # A numeric column here means a reader lost the hex text: refuse to guess.
        ok = np.zeros(arr.shape, dtype=bool)
        return np.zeros(arr.shape, dtype=np.uint32), ok
    uniq, inv = np.unique(arr.astype(str), return_inverse=True)
    parsed = np.zeros(len(uniq), dtype=np.uint32)
    good = np.zeros(len(uniq), dtype=bool)
    for i, u in enumerate(uniq):
        s = u.strip().lower().lstrip("~")
        try:
            v = int(s, 16)
        except ValueError:
            continue
        if 0 <= v < (1 << 24) and len(s) <= 6:
            parsed[i] = v
            good[i] = True
    return parsed[inv], good[inv]


def _float(values: Any, n: int) -> NDArray[np.float64]:
    if values is None:
        return np.full(n, np.nan)
    arr = np.asarray(values)
    if arr.dtype == object:
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
        out = np.full(n, np.nan)
        for i, v in enumerate(arr):
            try:
                out[i] = float(v) if v is not None else np.nan
            except (TypeError, ValueError):
                out[i] = np.nan
        return out
    return arr.astype(np.float64)


def _ground(values: Any, n: int) -> NDArray[np.int8]:
    if values is None:
        return np.full(n, -1, dtype=np.int8)
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr.astype(np.int8)
    out = np.full(n, -1, dtype=np.int8)
    if arr.dtype.kind in "iuf":
        f = arr.astype(np.float64)
        ok = np.isfinite(f)
        out[ok] = (f[ok] != 0).astype(np.int8)
        return out
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and v != v):
            continue
        out[i] = 1 if (v is True or str(v).strip().lower() in ("true", "1", "ground")) else 0
    return out


def _words(values: Any, n: int) -> tuple[NDArray[np.int32], tuple[str, ...]]:
    """Text values as codes into their distinct words (trimmed; -1: none or empty)."""
    if values is None:
        return np.full(n, -1, dtype=np.int32), ()
    arr = pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)
    arr = pa.compute.utf8_trim_whitespace(arr)
    enc = arr.dictionary_encode()
    idx = enc.indices.to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(idx.astype(np.float64)), -1, np.nan_to_num(idx)).astype(np.int32)
    words = tuple(str(s) for s in enc.dictionary.to_pylist())
    empty = [i for i, w in enumerate(words) if w == ""]
    if empty:
        codes[np.isin(codes, empty)] = -1
    return codes, words


def from_columns(columns: Mapping[str, Any], time_unit_s: float | None = None) -> PositionTable:
    """Build a sorted, de-duplicated table from a mapping of column name -> array.

    Column names may be canonical (``lat_deg``) or common aliases (``latitude``). ``time`` may be
    epoch seconds or milliseconds (guessed from magnitude unless ``time_unit_s`` is given), or
    datetime64.
    """
    picked: dict[str, Any] = {}
    for canon, names in _ALIASES.items():
        for name in names:
            if name in columns:
                picked[canon] = columns[name]
                break
    if "icao24" not in picked or "time_s" not in picked:
        raise ValueError("position table needs an address (icao24) and a time column")
    t_raw = np.asarray(picked["time_s"])
    n = int(t_raw.shape[0])
    if t_raw.dtype.kind == "M":
        t = t_raw.astype("datetime64[ns]").astype(np.int64) / 1e9
        t[np.isnat(t_raw)] = np.nan
    else:
        t = _float(t_raw, n)
        if time_unit_s is None:
            med = np.nanmedian(t) if np.isfinite(t).any() else 0.0
            time_unit_s = 1e-3 if med > 1e11 else 1.0
        t = t * time_unit_s
    icao, good_addr = _address_array(picked["icao24"])
    lat = _float(picked.get("lat_deg"), n)
    lon = _float(picked.get("lon_deg"), n)
    alt_src = picked.get("altitude_ft")
    ground_src = picked.get("on_ground")
    if alt_src is not None and np.asarray(alt_src).dtype == object:
        a = np.asarray(alt_src)
        is_ground_word = np.array([isinstance(v, str) and v == "ground" for v in a])
        if is_ground_word.any():
            g = _ground(ground_src, n)
            g[is_ground_word] = 1
            ground_src = g
    cs_codes, cs_words = _words(picked.get("callsign"), n)
    est = picked.get("estimated")
    estimated = np.zeros(n, dtype=bool) if est is None else np.asarray(est, dtype=bool)
    src = picked.get("source")
    src_codes, src_words = (None, ()) if src is None else _words(src, n)
    cols = {
        "icao24": icao,
        "time_s": t,
        "lat_deg": lat,
        "lon_deg": lon,
        "altitude_ft": _float(alt_src, n),
        "groundspeed_kt": _float(picked.get("groundspeed_kt"), n),
        "track_deg": _float(picked.get("track_deg"), n),
        "vertical_rate_fpm": _float(picked.get("vertical_rate_fpm"), n),
        "on_ground": ground_src
        if isinstance(ground_src, np.ndarray) and ground_src.dtype == np.int8
        else _ground(ground_src, n),
        "callsign_code": cs_codes,
        "estimated": estimated,
    }
    if src_codes is not None:
        cols["source_code"] = src_codes
    return _normalise(cols, cs_words, good_addr, src_words)


def _normalise(
    cols: dict[str, Any], callsigns: tuple[str, ...], good_addr: NDArray[np.bool_],
    sources: tuple[str, ...] = (),
) -> PositionTable:
    t = cols["time_s"]
    lat, lon = cols["lat_deg"], cols["lon_deg"]
    ok_t = np.isfinite(t)
    ok_pos = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    keep = good_addr & ok_t & ok_pos
    no_address = int((~good_addr).sum())
    no_time = int((good_addr & ~ok_t).sum())
    no_position = int((good_addr & ok_t & ~ok_pos).sum())
    idx = np.flatnonzero(keep)
    order = np.lexsort((t[idx], cols["icao24"][idx]))
    idx = idx[order]
    ic = cols["icao24"][idx]
    tt = t[idx]
    dup = np.zeros(len(idx), dtype=bool)
    if len(idx) > 1:
        dup[1:] = (ic[1:] == ic[:-1]) & (tt[1:] == tt[:-1])
    idx = idx[~dup]
    out = {k: np.ascontiguousarray(v[idx]) for k, v in cols.items()}
    return PositionTable(
        out["icao24"],
        out["time_s"],
        out["lat_deg"],
        out["lon_deg"],
        out["altitude_ft"],
        out["groundspeed_kt"],
        out["track_deg"],
        out["vertical_rate_fpm"],
        out["on_ground"],
        out["callsign_code"],
        callsigns,
        out["estimated"],
        Skipped(no_address, no_time, no_position, int(dup.sum())),
        out.get("source_code"),
        sources,
    )


def from_pandas(df: Any) -> PositionTable:
    """Adapter for a pandas DataFrame with canonical or traffic-style column names."""
    return from_columns({str(c): df[c].to_numpy() for c in df.columns})


def from_arrow(table: pa.Table) -> PositionTable:
    """Adapter for a pyarrow Table with canonical or traffic-style column names."""
    cols: dict[str, Any] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            cols[name] = col.cast(pa.timestamp("ns")).to_numpy().astype("datetime64[ns]")
        elif (
            pa.types.is_string(col.type)
            or pa.types.is_large_string(col.type)
            or pa.types.is_dictionary(col.type)
        ):
            cols[name] = np.asarray(col.to_pylist(), dtype=object)
        else:
            cols[name] = col.to_numpy()
    return from_columns(cols)


def concat(tables: Iterable[PositionTable]) -> PositionTable:
    """Merge tables (re-sorted; callsign dictionaries merged)."""
    tabs = list(tables)
    words: list[str] = []
    lookup: dict[str, int] = {}
    codes = []
    for tb in tabs:
        remap = np.array(
            [lookup.setdefault(w, len(lookup)) for w in tb.callsigns] + [-1], dtype=np.int32
        )
        codes.append(remap[tb.callsign_code])  # -1 -> last element -> -1
    words = list(lookup)
    src_lookup: dict[str, int] = {}
    src_codes = []
    for tb in tabs:
        if tb.source_code is None:
            src_codes.append(np.full(len(tb), -1, dtype=np.int32))
            continue
        remap = np.array([src_lookup.setdefault(w, len(src_lookup)) for w in tb.sources] + [-1],
                         dtype=np.int32)
        src_codes.append(remap[tb.source_code])
    cols: dict[str, Any] = {}
    for name in ("icao24", *FLOAT_COLUMNS, "on_ground", "estimated"):
        cols[name] = np.concatenate([getattr(tb, name) for tb in tabs]) if tabs else np.zeros(0)
    cols["callsign_code"] = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
    if not tabs:
        cols["icao24"] = cols["icao24"].astype(np.uint32)
        cols["on_ground"] = cols["on_ground"].astype(np.int8)
        cols["estimated"] = cols["estimated"].astype(bool)
    if any(tb.source_code is not None for tb in tabs):
        cols["source_code"] = np.concatenate(src_codes)
    return _normalise(cols, tuple(words), np.ones(len(cols["time_s"]), dtype=bool),
                      tuple(src_lookup))
