"""Turn a ``decode_batch`` Arrow table into the NumPy columns the tracking kernel reads.

Cheap by design (the tracker must not be the bottleneck of decode plus track):

* only the columns the kernel reads are touched, each converted once, zero-copy where Arrow's
  buffer already has the kernel's dtype and no nulls;
* rows are filtered first: :func:`address_columns` reads the seven columns that decide whether a
  row reaches an aircraft at all (valid, CRC, address, DF, time); the tracker drops the rest
  (and parity addresses never heard in clear) before the other columns are converted;
* dictionary columns (squawk, category, callsign, ...) are mapped through their indices with a
  lookup table cached per column while the dictionary stays the same.

Missing columns read as "not present" (NaN / -1 / False), so the tracker accepts any table with
the contract's names. Strings (callsign, category, emergency state, source) become small integer
ids interned in an :class:`Interner` that lives as long as the tracker. Every array handed to the
kernel is contiguous and read-only, so the compiled kernel has one signature whatever Arrow gave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.modes.fields import SIL_TYPES
from overflight.tracking._gather import gather_bool, gather_dictionary, gather_values
from overflight.tracking.state import ADDR_TYPE_NAMES, NON_ICAO_FLAG, SOURCE_CODES

__all__ = [
    "ADDRESS_COLUMNS",
    "MLAT_FEED_COLUMNS",
    "SBS_COLUMNS",
    "TRACKED_DF",
    "TRACKER_COLUMNS",
    "AddressColumns",
    "ColumnReader",
    "Interner",
    "MessageColumns",
    "address_columns",
]

_AT = {name: i for i, name in enumerate(ADDR_TYPE_NAMES)}
TRACKED_DF = (0, 4, 5, 11, 16, 17, 18, 20, 21)
"""Downlink formats that carry something the tracker keeps (others are dropped early)."""
_DF_TRACKED = np.zeros(256, np.bool_)
_DF_TRACKED[list(TRACKED_DF)] = True

_FIELD_COLUMNS = (
    "source",
    "cpr_lat",
    "cpr_lon",
    "cpr_odd",
    "surface",
    "vertical_rate_source",
    "airspeed_kt",
    "airspeed_type",
    "tas_kt",
    "ias_kt",
    "altitude_ft",
    "altitude_gnss_ft",
    "gnss_baro_diff_ft",
    "on_ground",
    "squawk",
    "callsign",
    "category",
    "emergency_state",
    "nic",
    "containment_radius_m",
    "typecode",
    "nic_supplement_a",
    "nic_supplement_b",
    "nic_supplement_c",
    "groundspeed_kt",
    "track_deg",
    "vertical_rate_fpm",
    "nac_p",
    "sil",
    "sil_type",
    "adsb_version",
    "selected_altitude_ft",
    "selected_heading_deg",
    "signal_dbfs",
    "receiver",
)
"""Columns read after the row filter (besides those of :func:`address_columns`)."""

ADDRESS_COLUMNS = (
    "valid",
    "crc_ok",
    "address",
    "address_from_parity",
    "non_icao",
    "df",
    "time_s",
)
"""Columns of the row filter (:func:`address_columns`)."""

SBS_COLUMNS = (
    "time_s",
    "df",
    "callsign",
    "cpr_lat",
    "surface",
    "altitude_ft",
    "groundspeed_kt",
    "track_deg",
    "vertical_rate_fpm",
    "squawk",
    "alert",
    "spi",
    "on_ground",
)
"""Columns ``tracking.sbs.sbs_records`` formats."""

MLAT_FEED_COLUMNS = ("df", "crc_ok", "corrected_bits", "address")
"""Columns ``tracking.mlat_feed.MlatFeed.add`` reads."""

TRACKER_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys((*ADDRESS_COLUMNS, *_FIELD_COLUMNS, *SBS_COLUMNS, *MLAT_FEED_COLUMNS))
)
"""Every ``decode_batch`` column the tracking side reads (tracker, SBS output, MLAT feed):
``decode_batch(frames, columns=TRACKER_COLUMNS)`` gives the same tracking as the full table.
Comm-B stays decoded because callsign, speeds and selected altitude come from it too."""


class Interner:
    """Strings to stable small integer ids (and back)."""

    __slots__ = ("ids", "values")

    def __init__(self) -> None:
        self.values: list[str] = []
        self.ids: dict[str, int] = {}

    def intern(self, value: str) -> int:
        i = self.ids.get(value)
        if i is None:
            i = len(self.values)
            self.ids[value] = i
            self.values.append(value)
        return i

    def compact(self, keep: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
        """Keep only the strings ``keep`` (ids), renumbered in their order; return the new id of
        every old one (-1 for those dropped). Holders of old ids must remap them."""
        ids = np.unique(np.asarray(keep, np.int64))
        ids = ids[(ids >= 0) & (ids < len(self.values))]
        remap = np.full(len(self.values), -1, np.int32)
        remap[ids] = np.arange(ids.size, dtype=np.int32)
        self.values = [self.values[i] for i in ids.tolist()]
        self.ids = {v: i for i, v in enumerate(self.values)}
        return remap


def _ro(x: npt.ArrayLike, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """A contiguous read-only view of ``x`` as ``dtype`` (copies only when it must)."""
    y = np.ascontiguousarray(x, dtype=dtype).view()
    y.flags.writeable = False
    return y


def _array(table: pa.Table, names: dict[str, int], name: str) -> pa.Array | None:
    i = names.get(name)
    if i is None:
        return None
    c = table.column(i)
    return c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()


def _is_number(arr: pa.Array) -> bool:
    return bool(pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type))


def _float(arr: pa.Array | None, n: int) -> npt.NDArray[np.float64]:
    """float64 values, NaN for nulls and for missing or non-numeric columns."""
    if arr is None or not _is_number(arr):
        return np.full(n, np.nan)
    return gather_values(arr, np.float64, math.nan)


def _int(arr: pa.Array | None, n: int, dtype: npt.DTypeLike, fill: int = -1) -> npt.NDArray[Any]:
    """Integer values as ``dtype``, ``fill`` for nulls and missing columns."""
    if arr is not None and pa.types.is_boolean(arr.type):
        return gather_bool(arr, dtype, fill)
    if arr is None or not pa.types.is_integer(arr.type):
        return np.full(n, fill, dtype)
    return gather_values(arr, dtype, fill)


def _bool(arr: pa.Array | None, n: int, fill: bool = False) -> npt.NDArray[np.bool_]:
    if arr is None:
        return np.full(n, fill, np.bool_)
    if not pa.types.is_boolean(arr.type):
        return np.asarray(_int(arr, n, np.int64, int(fill)) != 0, np.bool_)
    return gather_bool(arr, np.bool_, int(fill))


@dataclass(frozen=True, slots=True)
class AddressColumns:
    """Who each row is about, and whether it can reach an aircraft at all."""

    keys: npt.NDArray[np.uint32]
    usable: npt.NDArray[np.bool_]
    from_parity: npt.NDArray[np.bool_]
    trusts: npt.NDArray[np.bool_]
    non_icao: npt.NDArray[np.bool_]
    df: npt.NDArray[np.uint8]
    t: npt.NDArray[np.float64]

    def take(self, idx: npt.NDArray[np.intp]) -> AddressColumns:
        return AddressColumns(*(getattr(self, f.name)[idx] for f in fields(self)))


def address_columns(table: pa.Table) -> AddressColumns:
    """The row filter's columns: valid and CRC-checked rows of tracked DFs with an address."""
    n = table.num_rows
    names = {nm: i for i, nm in enumerate(table.schema.names)}
    address = _int(_array(table, names, "address"), n, np.int64, -1)
    df = _int(_array(table, names, "df"), n, np.uint8, 0)
    t = _float(_array(table, names, "time_s"), n)
    usable = (
        _bool(_array(table, names, "valid"), n, True)
        & _bool(_array(table, names, "crc_ok"), n, True)
        & (address >= 0)
        & ~np.isnan(t)
        & _DF_TRACKED[df]
    )
    non_icao = _bool(_array(table, names, "non_icao"), n)
    keys = (address & 0xFFFFFF).astype(np.uint32)
    keys[non_icao] |= np.uint32(NON_ICAO_FLAG)
    from_parity = _bool(_array(table, names, "address_from_parity"), n)
    # addresses that DF11/17/18 announce in clear (CRC checked) are trusted for parity replies
    trusts = usable & ~from_parity & ((df == 11) | (df == 17) | (df == 18))
    return AddressColumns(keys, usable, from_parity, trusts, non_icao, df, t)


@dataclass(frozen=True, slots=True)
class MessageColumns:
    """Kernel inputs for ``n`` messages (see ``_kernel.track_kernel`` for the meaning)."""

    t: npt.NDArray[np.float64]
    src: npt.NDArray[np.uint8]
    addr_type: npt.NDArray[np.uint8]
    df: npt.NDArray[np.uint8]
    alt_baro: npt.NDArray[np.float64]
    alt_geom: npt.NDArray[np.float64]
    geo_diff: npt.NDArray[np.float64]
    on_ground: npt.NDArray[np.int8]
    squawk: npt.NDArray[np.int16]
    callsign: npt.NDArray[np.int32]
    category: npt.NDArray[np.int32]
    emergency: npt.NDArray[np.int32]
    has_cpr: npt.NDArray[np.bool_]
    cpr_odd: npt.NDArray[np.bool_]
    cpr_lat: npt.NDArray[np.int32]
    cpr_lon: npt.NDArray[np.int32]
    surface: npt.NDArray[np.bool_]
    nic: npt.NDArray[np.int8]
    rc: npt.NDArray[np.float64]
    typecode: npt.NDArray[np.uint8]
    nic_b: npt.NDArray[np.int8]
    nic_a: npt.NDArray[np.int8]
    nic_c: npt.NDArray[np.int8]
    gs: npt.NDArray[np.float64]
    track: npt.NDArray[np.float64]
    vrate: npt.NDArray[np.float64]
    vrate_gnss: npt.NDArray[np.bool_]
    tas: npt.NDArray[np.float64]
    ias: npt.NDArray[np.float64]
    nac_p: npt.NDArray[np.int8]
    sil: npt.NDArray[np.int8]
    sil_type: npt.NDArray[np.int8]
    version: npt.NDArray[np.int8]
    nav_alt: npt.NDArray[np.float64]
    nav_hdg: npt.NDArray[np.float64]
    signal_dbfs: npt.NDArray[np.float64]
    receiver: npt.NDArray[np.uint64]


def _squawk_value(word: object) -> int:
    if isinstance(word, str) and len(word) == 4 and word.isdigit():
        return int(word)
    return -1


class ColumnReader:
    """Converts tables to :class:`MessageColumns`, caching dictionary lookup tables.

    A dictionary column's lookup table (dictionary index to interned id) is rebuilt only when the
    column's dictionary changes; ``decode_batch`` uses fixed dictionaries for squawk, category,
    emergency state and source, so those are built once per tracker.
    """

    __slots__ = ("_luts", "strings")

    def __init__(self, strings: Interner) -> None:
        self.strings = strings
        self._luts: dict[str, tuple[pa.Array, npt.NDArray[Any]]] = {}

    def forget(self) -> None:
        """Drop the cached lookup tables (after the interner was compacted)."""
        self._luts.clear()

    def _lut(self, name: str, dictionary: pa.Array, strip: bool) -> npt.NDArray[Any]:
        cached = self._luts.get(name)
        if cached is not None and (cached[0] is dictionary or cached[0].equals(dictionary)):
            return cached[1]
        words = dictionary.to_pylist()
        if name == "squawk":
            lut = np.array([*map(_squawk_value, words)], np.int16)
        elif name == "sil_type":
            lut = np.array([SIL_TYPES.index(w) if w in SIL_TYPES else -1 for w in words], np.int8)
        else:
            lut = np.full(len(words), -1, np.int32)
            for j, v in enumerate(words):
                s = v.strip() if (strip and isinstance(v, str)) else v
                if s:
                    lut[j] = self.strings.intern(str(s))
        self._luts[name] = (dictionary, lut)
        return lut

    def ids(
        self, name: str, arr: pa.Array | None, n: int, *, strip: bool = True
    ) -> npt.NDArray[Any]:
        """Interned ids of a string column; -1 for nulls. Two columns are codes, not ids:
        "squawk" gives int16 squawk values, "sil_type" int8 indices into ``SIL_TYPES``."""
        if arr is None or not (pa.types.is_dictionary(arr.type) or pa.types.is_string(arr.type)):
            dtype = {"squawk": np.int16, "sil_type": np.int8}.get(name, np.int32)
            return np.full(n, -1, dtype)
        if not pa.types.is_dictionary(arr.type):
            arr = pc.dictionary_encode(arr)
        return gather_dictionary(arr, self._lut(name, arr.dictionary, strip))

    def read(self, table: pa.Table, head: AddressColumns) -> MessageColumns:
        """Kernel inputs of ``table`` (rows as in ``head``, already filtered)."""
        n = table.num_rows
        names = {nm: i for i, nm in enumerate(table.schema.names)}

        def a(name: str) -> pa.Array | None:
            return _array(table, names, name)

        strings = self.strings
        src_ids = self.ids("source", a("source"), n)
        src_lut = np.full(len(strings.values) + 1, SOURCE_CODES["modes"], np.uint8)
        for name, code in SOURCE_CODES.items():
            if name in strings.ids:
                src_lut[strings.ids[name]] = code
        src = src_lut[src_ids]
        non_icao, df = head.non_icao, head.df
        at = np.full(n, _AT["mode_s"], np.uint8)
        adsb = src == SOURCE_CODES["adsb"]
        at[adsb] = np.where(
            non_icao[adsb],
            _AT["adsb_other"],
            np.where(df[adsb] == 17, _AT["adsb_icao"], _AT["adsb_icao_nt"]),
        )
        adsr = src == SOURCE_CODES["adsr"]
        at[adsr] = np.where(non_icao[adsr], _AT["adsr_other"], _AT["adsr_icao"])
        tisb = src == SOURCE_CODES["tisb"]
        at[tisb] = np.where(non_icao[tisb], _AT["tisb_other"], _AT["tisb_icao"])

        cpr_lat = _int(a("cpr_lat"), n, np.int32, -1)
        has_cpr = cpr_lat >= 0
        airspeed = _float(a("airspeed_kt"), n)
        aspd_type = self.ids("airspeed_type", a("airspeed_type"), n)
        tas = np.where(aspd_type == strings.ids.get("TAS", -2), airspeed, _float(a("tas_kt"), n))
        ias = np.where(aspd_type == strings.ids.get("IAS", -2), airspeed, _float(a("ias_kt"), n))
        vsrc = self.ids("vertical_rate_source", a("vertical_rate_source"), n)
        gnss_id = strings.ids.get("gnss", -2)  # after ids(): it interns "gnss" at first sight
        return MessageColumns(
            t=_ro(head.t, np.float64),
            src=_ro(src, np.uint8),
            addr_type=_ro(at, np.uint8),
            df=_ro(df, np.uint8),
            alt_baro=_ro(_float(a("altitude_ft"), n), np.float64),
            alt_geom=_ro(_float(a("altitude_gnss_ft"), n), np.float64),
            geo_diff=_ro(_float(a("gnss_baro_diff_ft"), n), np.float64),
            on_ground=_ro(_int(a("on_ground"), n, np.int8, -1), np.int8),
            squawk=_ro(self.ids("squawk", a("squawk"), n), np.int16),
            callsign=_ro(self.ids("callsign", a("callsign"), n), np.int32),
            category=_ro(self.ids("category", a("category"), n), np.int32),
            emergency=_ro(
                self.ids("emergency_state", a("emergency_state"), n, strip=False), np.int32
            ),
            has_cpr=_ro(has_cpr, np.bool_),
            cpr_odd=_ro(_bool(a("cpr_odd"), n), np.bool_),
            cpr_lat=_ro(np.maximum(cpr_lat, 0), np.int32),
            cpr_lon=_ro(np.maximum(_int(a("cpr_lon"), n, np.int32, 0), 0), np.int32),
            surface=_ro(_bool(a("surface"), n), np.bool_),
            nic=_ro(_int(a("nic"), n, np.int8, -1), np.int8),
            rc=_ro(_float(a("containment_radius_m"), n), np.float64),
            typecode=_ro(_int(a("typecode"), n, np.uint8, 0), np.uint8),
            nic_b=_ro(_int(a("nic_supplement_b"), n, np.int8, -1), np.int8),
            nic_a=_ro(_int(a("nic_supplement_a"), n, np.int8, -1), np.int8),
            nic_c=_ro(_int(a("nic_supplement_c"), n, np.int8, -1), np.int8),
            gs=_ro(_float(a("groundspeed_kt"), n), np.float64),
            track=_ro(_float(a("track_deg"), n), np.float64),
            vrate=_ro(_float(a("vertical_rate_fpm"), n), np.float64),
            vrate_gnss=_ro(vsrc == gnss_id, np.bool_),
            tas=_ro(tas, np.float64),
            ias=_ro(ias, np.float64),
            nac_p=_ro(_int(a("nac_p"), n, np.int8, -1), np.int8),
            sil=_ro(_int(a("sil"), n, np.int8, -1), np.int8),
            sil_type=_ro(self.ids("sil_type", a("sil_type"), n), np.int8),
            version=_ro(_int(a("adsb_version"), n, np.int8, -1), np.int8),
            nav_alt=_ro(_float(a("selected_altitude_ft"), n), np.float64),
            nav_hdg=_ro(_float(a("selected_heading_deg"), n), np.float64),
            signal_dbfs=_ro(_float(a("signal_dbfs"), n), np.float64),
            receiver=_ro(_int(a("receiver"), n, np.uint64, 0), np.uint64),
        )

    def needed(self, table: pa.Table) -> list[str]:
        """Names of ``table``'s columns that :meth:`read` uses."""
        present = set(table.schema.names)
        return [c for c in _FIELD_COLUMNS if c in present]
