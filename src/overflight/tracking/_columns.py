"""Turn a ``decode_batch`` Arrow table into the NumPy columns the tracking kernel reads.

Missing columns read as "not present" (NaN / -1 / False), so the tracker accepts any table with
the contract's names. Strings (callsign, category, emergency state, source) become small integer
ids interned in a :class:`Interner` that lives as long as the tracker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.tracking.state import ADDR_TYPE_NAMES, NON_ICAO_FLAG, SOURCE_CODES

__all__ = ["Interner", "MessageColumns", "message_columns"]

_AT = {name: i for i, name in enumerate(ADDR_TYPE_NAMES)}


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

    def column(
        self, col: pa.ChunkedArray | pa.Array | None, n: int, *, strip: bool = True
    ) -> npt.NDArray[np.int32]:
        """Ids of a string column, -1 for nulls and empty strings (via dictionary encoding)."""
        if col is None:
            return np.full(n, -1, np.int32)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if not pa.types.is_dictionary(col.type):
            col = pc.dictionary_encode(col)
        dictionary = col.dictionary.to_pylist()
        lut = np.empty(len(dictionary) + 1, np.int32)
        lut[-1] = -1
        for j, v in enumerate(dictionary):
            s = v.strip() if (strip and isinstance(v, str)) else v
            lut[j] = self.intern(str(s)) if s else -1
        idx = pc.fill_null(col.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return np.asarray(lut[idx], np.int32)


@dataclass(frozen=True, slots=True)
class MessageColumns:
    """Kernel inputs for ``n`` messages (see ``_kernel.track_kernel`` for the meaning)."""

    keys: npt.NDArray[np.uint32]
    usable: npt.NDArray[np.bool_]
    from_parity: npt.NDArray[np.bool_]
    trusts: npt.NDArray[np.bool_]
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
    gs: npt.NDArray[np.float64]
    track: npt.NDArray[np.float64]
    vrate: npt.NDArray[np.float64]
    vrate_gnss: npt.NDArray[np.bool_]
    tas: npt.NDArray[np.float64]
    ias: npt.NDArray[np.float64]
    nac_p: npt.NDArray[np.int8]
    sil: npt.NDArray[np.int8]
    version: npt.NDArray[np.int8]
    nav_alt: npt.NDArray[np.float64]
    nav_hdg: npt.NDArray[np.float64]
    signal_dbfs: npt.NDArray[np.float64]
    receiver: npt.NDArray[np.uint64]


def _col(table: pa.Table, name: str) -> pa.ChunkedArray | None:
    return table.column(name) if name in table.column_names else None


def _numeric(c: pa.ChunkedArray) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.bool_] | None]:
    """Values and validity (None when no nulls) of a fixed-width column, straight from buffers."""
    arr = c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c
    if arr.null_count == 0:
        return np.asarray(arr.to_numpy(zero_copy_only=False)), None
    if pa.types.is_boolean(arr.type):
        values = np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False))
    else:
        dtype = np.dtype(arr.type.to_pandas_dtype())
        buf = arr.buffers()[1]
        values = np.frombuffer(buf, dtype=dtype, count=arr.offset + len(arr))[arr.offset :]
    bits = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little")
    return values, bits[arr.offset : arr.offset + len(arr)].astype(np.bool_)


def _float(table: pa.Table, name: str, n: int) -> npt.NDArray[np.float64]:
    c = _col(table, name)
    if c is None or pa.types.is_dictionary(c.type) or pa.types.is_string(c.type):
        return np.full(n, np.nan)
    values, valid = _numeric(c)
    out = np.asarray(values, dtype=np.float64)
    if valid is not None:
        out = np.where(valid, out, np.nan)
    return out


def _int(
    table: pa.Table, name: str, n: int, dtype: type, fill: int = -1
) -> npt.NDArray[Any]:
    c = _col(table, name)
    if c is None:
        return np.full(n, fill, dtype)
    values, valid = _numeric(c)
    if valid is None:
        return np.asarray(values).astype(dtype)
    return np.where(valid, values, fill).astype(dtype)


def _bool(table: pa.Table, name: str, n: int, fill: bool = False) -> npt.NDArray[np.bool_]:
    c = _col(table, name)
    if c is None:
        return np.full(n, fill, np.bool_)
    values, valid = _numeric(c)
    out = np.asarray(values, dtype=np.bool_)
    return out if valid is None else np.where(valid, out, fill)


def _squawk(table: pa.Table, n: int) -> npt.NDArray[np.int16]:
    c = _col(table, "squawk")
    if c is None:
        return np.full(n, -1, np.int16)
    c = c.combine_chunks()
    if not pa.types.is_dictionary(c.type):
        c = pc.dictionary_encode(c)
    words = c.dictionary.to_pylist()
    lut = np.full(len(words) + 1, -1, np.int16)
    for j, w in enumerate(words):
        if isinstance(w, str) and len(w) == 4 and w.isdigit():
            lut[j] = int(w)
    idx = pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.asarray(lut[idx], np.int16)


def message_columns(table: pa.Table, strings: Interner) -> MessageColumns:
    """Extract kernel inputs from a ``decode_batch`` table (contract column names)."""
    n = table.num_rows
    address = _int(table, "address", n, np.int64, -1)
    valid = _bool(table, "valid", n, True) & _bool(table, "crc_ok", n, True) & (address >= 0)
    non_icao = _bool(table, "non_icao", n)
    keys = (np.where(address >= 0, address, 0) & 0xFFFFFF).astype(np.uint32)
    keys |= np.where(non_icao, NON_ICAO_FLAG, 0).astype(np.uint32)
    df = _int(table, "df", n, np.uint8, 0)
    from_parity = _bool(table, "address_from_parity", n)
    # addresses that DF11/17/18 announce in clear (CRC checked) are trusted for parity replies
    trusts = valid & ~from_parity & ((df == 11) | (df == 17) | (df == 18))

    src_ids = strings.column(_col(table, "source"), n)
    src_lut = np.zeros(max(len(strings.values), 1) + 1, np.uint8)
    for name, code in SOURCE_CODES.items():
        if name in strings.ids:
            src_lut[strings.ids[name]] = code
    src = src_lut[src_ids]
    src[src == 0] = SOURCE_CODES["modes"]

    at = np.full(n, _AT["mode_s"], np.uint8)
    adsb = src == SOURCE_CODES["adsb"]
    at[adsb & ~non_icao & (df == 17)] = _AT["adsb_icao"]
    at[adsb & ~non_icao & (df != 17)] = _AT["adsb_icao_nt"]
    at[adsb & non_icao] = _AT["adsb_other"]
    adsr = src == SOURCE_CODES["adsr"]
    at[adsr] = np.where(non_icao[adsr], _AT["adsr_other"], _AT["adsr_icao"])
    tisb = src == SOURCE_CODES["tisb"]
    at[tisb] = np.where(non_icao[tisb], _AT["tisb_other"], _AT["tisb_icao"])

    cpr_lat = _int(table, "cpr_lat", n, np.int32, -1)
    has_cpr = cpr_lat >= 0
    vsrc = strings.column(_col(table, "vertical_rate_source"), n)
    gnss_id = strings.ids.get("gnss", -2)
    airspeed = _float(table, "airspeed_kt", n)
    aspd_type = strings.column(_col(table, "airspeed_type"), n)
    is_tas = aspd_type == strings.ids.get("TAS", -2)
    is_ias = aspd_type == strings.ids.get("IAS", -2)
    tas = np.where(is_tas, airspeed, np.nan)
    ias = np.where(is_ias, airspeed, np.nan)
    tas_b = _float(table, "tas_kt", n)
    ias_b = _float(table, "ias_kt", n)
    tas = np.where(np.isnan(tas), tas_b, tas)
    ias = np.where(np.isnan(ias), ias_b, ias)
    time_s = _float(table, "time_s", n)
    usable = valid & ~np.isnan(time_s)
    return MessageColumns(
        keys=keys,
        usable=usable,
        from_parity=from_parity,
        trusts=trusts,
        t=time_s,
        src=src,
        addr_type=at,
        df=df,
        alt_baro=_float(table, "altitude_ft", n),
        alt_geom=_float(table, "altitude_gnss_ft", n),
        geo_diff=_float(table, "gnss_baro_diff_ft", n),
        on_ground=_int(table, "on_ground", n, np.int8, -1),
        squawk=_squawk(table, n),
        callsign=strings.column(_col(table, "callsign"), n),
        category=strings.column(_col(table, "category"), n),
        emergency=strings.column(_col(table, "emergency_state"), n, strip=False),
        has_cpr=has_cpr,
        cpr_odd=_bool(table, "cpr_odd", n),
        cpr_lat=np.where(has_cpr, cpr_lat, 0).astype(np.int32),
        cpr_lon=np.maximum(_int(table, "cpr_lon", n, np.int32, 0), 0).astype(np.int32),
        surface=_bool(table, "surface", n),
        nic=_int(table, "nic", n, np.int8, -1),
        rc=_float(table, "containment_radius_m", n),
        gs=_float(table, "groundspeed_kt", n),
        track=_float(table, "track_deg", n),
        vrate=_float(table, "vertical_rate_fpm", n),
        vrate_gnss=vsrc == gnss_id,
        tas=tas,
        ias=ias,
        nac_p=_int(table, "nac_p", n, np.int8, -1),
        sil=_int(table, "sil", n, np.int8, -1),
        version=_int(table, "adsb_version", n, np.int8, -1),
        nav_alt=_float(table, "selected_altitude_ft", n),
        nav_hdg=_float(table, "selected_heading_deg", n),
        signal_dbfs=_float(table, "signal_dbfs", n),
        receiver=_int(table, "receiver", n, np.uint64, 0),
    )
