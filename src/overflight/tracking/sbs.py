"""SBS BaseStation records (port 30003) from tracked messages.

Unlike ``overflight.sources.sbs.records_from_frames`` (stateless), these carry what only the
tracker knows: decoded positions (MSG,2 surface and MSG,3 airborne with latitude/longitude from
CPR pairing, validated by the speed gate) and, on position lines, the aircraft's tracked
barometric altitude. One record per message applied to an aircraft, as dump1090 writes them:

* MSG,1 identification (callsign), DF17/18;
* MSG,2 surface position (ground speed, track, position), MSG,3 airborne position (altitude,
  position); position fields empty while the pair is pending, and no line for a position the
  tracker rejected as bad data;
* MSG,4 airborne velocity (ground speed, track, vertical rate);
* MSG,5 surveillance altitude (DF4/20), MSG,6 surveillance identity (DF5/21, squawk),
  MSG,7 air-to-air (DF0/16), MSG,8 all-call reply (DF11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.sources.sbs import SbsRecord, format_sbs_columns
from overflight.tracking import _kernel
from overflight.tracking._columns import SBS_COLUMNS
from overflight.tracking._frames import DecodedFrames
from overflight.tracking.state import NON_ICAO_FLAG
from overflight.tracking.tracker import REJECTION_REASONS, Tracker

__all__ = ["sbs_lines", "sbs_records"]

_ACCEPTED = (_kernel.GLOBAL, _kernel.LOCAL, _kernel.DIRECT)
_REJECTED = tuple(_kernel.OUTCOME_NAMES.index(r) for r in REJECTION_REASONS)
_Rows = npt.NDArray[np.intp]
_EMERGENCY_SQUAWKS = ("7500", "7600", "7700")
# from NumPy arrays: pyarrow imports pandas to check a Python sequence
_EMERGENCY = pa.array(np.array(_EMERGENCY_SQUAWKS, dtype=object), pa.string())
_NO_WORDS = pa.array(np.array([], dtype=object), pa.string())


def _column(table: pa.Table, name: str, rows: _Rows) -> list[Any]:
    """Python values of ``name`` at ``rows`` (all None when the column is absent)."""
    if name not in table.column_names:
        return [None] * len(rows)
    return table.column(name).take(pa.array(rows)).to_pylist()  # type: ignore[no-any-return]


def _opt_int(v: Any) -> int | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v)


def sbs_records(
    tracker: Tracker,
    table: pa.Table,
    positions: pa.Table,
    *,
    logged_time_s: float | None = None,
) -> list[SbsRecord]:
    """SBS records of ``table``, the batch just given to ``tracker.update`` (which returned
    ``positions``), in message order. ``logged_time_s``: the log time field (default: each
    message's time)."""
    n = table.num_rows
    if len(tracker.last_rows) != n or len(tracker.last_outcomes) != n:
        raise ValueError("table is not the batch the tracker last applied")
    applied = np.flatnonzero(tracker.last_rows >= 0)
    if applied.size == 0:
        return []
    outcome = tracker.last_outcomes
    accepted = np.flatnonzero(np.isin(outcome, _ACCEPTED))
    if len(accepted) != positions.num_rows:
        raise ValueError("positions do not belong to this batch")
    pos_at = {int(r): k for k, r in enumerate(accepted.tolist())}
    p_lat = positions.column("lat_deg").to_pylist()
    p_lon = positions.column("lon_deg").to_pylist()
    p_alt = positions.column("altitude_ft").to_pylist()
    keys = tracker.table.rows["key"][tracker.last_rows[applied]]
    hexes = [("~" if k & NON_ICAO_FLAG else "") + f"{k & 0xFFFFFF:06X}" for k in keys.tolist()]
    col = {name: _column(table, name, applied) for name in SBS_COLUMNS}
    rejected = set(np.flatnonzero(np.isin(outcome, _REJECTED)).tolist())
    out: list[SbsRecord] = []
    for j, i in enumerate(applied.tolist()):
        df = col["df"][j]
        t = float(col["time_s"][j])
        base: dict[str, Any] = {
            "icao24": hexes[j],
            "time_s": t,
            "logged_time_s": logged_time_s,
            "on_ground": col["on_ground"][j],
        }
        alt = _opt_int(col["altitude_ft"][j])
        if df in (17, 18):
            if col["callsign"][j]:
                out.append(SbsRecord(1, callsign=col["callsign"][j], **base))
            elif col["cpr_lat"][j] is not None:
                if i in rejected:
                    continue
                k = pos_at.get(i)
                lat = p_lat[k] if k is not None else None
                lon = p_lon[k] if k is not None else None
                if col["surface"][j]:
                    out.append(
                        SbsRecord(
                            2,
                            groundspeed_kt=col["groundspeed_kt"][j],
                            track_deg=col["track_deg"][j],
                            latitude_deg=lat,
                            longitude_deg=lon,
                            **{**base, "on_ground": True},
                        )
                    )
                else:
                    if k is not None and p_alt[k] is not None:
                        alt = _opt_int(p_alt[k])
                    out.append(
                        SbsRecord(
                            3,
                            altitude_ft=alt,
                            latitude_deg=lat,
                            longitude_deg=lon,
                            **{**base, "on_ground": False},
                        )
                    )
            elif col["groundspeed_kt"][j] is not None or col["vertical_rate_fpm"][j] is not None:
                out.append(
                    SbsRecord(
                        4,
                        groundspeed_kt=col["groundspeed_kt"][j],
                        track_deg=col["track_deg"][j],
                        vertical_rate_fpm=_opt_int(col["vertical_rate_fpm"][j]),
                        **base,
                    )
                )
        elif df in (4, 20) and alt is not None:
            out.append(
                SbsRecord(5, altitude_ft=alt, alert=col["alert"][j], spi=col["spi"][j], **base)
            )
        elif df in (5, 21) and col["squawk"][j] is not None:
            sq = col["squawk"][j]
            out.append(
                SbsRecord(
                    6,
                    squawk=sq,
                    alert=col["alert"][j],
                    emergency=sq in _EMERGENCY_SQUAWKS,
                    spi=col["spi"][j],
                    **base,
                )
            )
        elif df in (0, 16) and alt is not None:
            out.append(SbsRecord(7, altitude_ft=alt, **base))
        elif df == 11:
            out.append(SbsRecord(8, **base))
    return out


def _is(mask: pa.Array) -> npt.NDArray[np.bool_]:
    """An Arrow boolean array as NumPy, null as False."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), np.bool_)


class _Columns:
    """Columns of a table read straight from their Arrow buffers at ``rows`` (no compute
    kernels, no Python objects): absent columns read as all null."""

    def __init__(self, table: pa.Table, rows: _Rows) -> None:
        self.table = table
        self.rows = rows

    def array(self, name: str) -> pa.Array | None:
        if name not in self.table.column_names:
            return None
        col = self.table.column(name)
        if col.num_chunks == 1:
            return col.chunk(0)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type).combine_chunks().dictionary_encode()
            return col
        return col.combine_chunks()

    def _bits(self, buf: Any, arr: pa.Array) -> npt.NDArray[np.bool_]:
        n = arr.offset + len(arr)
        bits = np.unpackbits(np.frombuffer(buf, np.uint8), count=n, bitorder="little")
        out: npt.NDArray[np.bool_] = bits[arr.offset :].view(np.bool_)[self.rows]
        return out

    def valid(self, name: str, arr: pa.Array | None = None) -> npt.NDArray[np.bool_]:
        """Where ``name`` is not null."""
        arr = self.array(name) if arr is None else arr
        if arr is None:
            return np.zeros(self.rows.size, np.bool_)
        if arr.null_count == 0:
            return np.ones(self.rows.size, np.bool_)
        return self._bits(arr.buffers()[0], arr)

    def values(self, name: str) -> npt.NDArray[np.float64]:
        """Numbers as floats, NaN where null."""
        arr = self.array(name)
        if arr is None:
            return np.full(self.rows.size, np.nan)
        dtype = arr.type.to_pandas_dtype()
        data = np.frombuffer(arr.buffers()[1], dtype, count=arr.offset + len(arr))
        out = data[arr.offset :][self.rows].astype(np.float64)
        if arr.null_count:
            out[~self.valid(name, arr)] = np.nan
        return out

    def flags(self, name: str) -> npt.NDArray[np.int8]:
        """Booleans as ``sources.sbs.flag_codes``: 1 true, 0 false, -1 null."""
        arr = self.array(name)
        if arr is None:
            return np.full(self.rows.size, -1, np.int8)
        out = self._bits(arr.buffers()[1], arr).astype(np.int8)
        if arr.null_count:
            out[~self.valid(name, arr)] = -1
        return out

    def words(self, name: str) -> tuple[npt.NDArray[np.int32], pa.Array]:
        """A string column as (index into the words, -1 where null; the words)."""
        arr = self.array(name)
        if arr is None:
            return np.full(self.rows.size, -1, np.int32), _NO_WORDS
        if not isinstance(arr, pa.DictionaryArray):
            arr = arr.dictionary_encode()
        idx = arr.indices
        data = np.frombuffer(idx.buffers()[1], np.int32, count=idx.offset + len(idx))
        codes = data[idx.offset :][self.rows].astype(np.int32)
        if idx.null_count:
            codes[~self.valid(name, idx)] = -1
        return codes, arr.dictionary


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What the SBS lines read of the applied rows of a batch: numbers as float (NaN absent),
    flags as ``flag_codes`` (-1 absent), strings as (codes, words)."""

    df: npt.NDArray[np.float64]
    time_s: npt.NDArray[np.float64]
    callsign: tuple[npt.NDArray[np.int32], pa.Array]
    callsign_full: npt.NDArray[np.bool_]
    squawk: tuple[npt.NDArray[np.int32], pa.Array]
    altitude_ft: npt.NDArray[np.float64]
    has_cpr: npt.NDArray[np.bool_]
    groundspeed_kt: npt.NDArray[np.float64]
    track_deg: npt.NDArray[np.float64]
    vertical_rate_fpm: npt.NDArray[np.float64]
    surface: npt.NDArray[np.int8]
    on_ground: npt.NDArray[np.int8]
    alert: npt.NDArray[np.int8]
    spi: npt.NDArray[np.int8]


def _table_inputs(table: pa.Table, rows: _Rows) -> _Inputs:
    c = _Columns(table, rows)
    cs_codes, cs_words = c.words("callsign")
    cs_full = np.append(_is(pc.greater(pc.utf8_length(cs_words), 0)), False)[cs_codes]
    gs = c.values("groundspeed_kt")
    vr = c.values("vertical_rate_fpm")
    gs[~c.valid("groundspeed_kt")] = np.nan
    vr[~c.valid("vertical_rate_fpm")] = np.nan
    return _Inputs(
        df=c.values("df"), time_s=c.values("time_s"), callsign=(cs_codes, cs_words),
        callsign_full=cs_full, squawk=c.words("squawk"), altitude_ft=c.values("altitude_ft"),
        has_cpr=c.valid("cpr_lat"), groundspeed_kt=gs, track_deg=c.values("track_deg"),
        vertical_rate_fpm=vr, surface=c.flags("surface"), on_ground=c.flags("on_ground"),
        alert=c.flags("alert"), spi=c.flags("spi"),
    )


_SQUAWK_WORDS = pa.array(np.array([f"{i:04d}" for i in range(10_000)], dtype=object), pa.string())
"""Squawks as the tracker keeps them (an int whose decimal digits are the octal code)."""


def _frames_inputs(tracker: Tracker, decoded: DecodedFrames, rows: _Rows) -> _Inputs:
    c = decoded.cols
    cs = c.callsign[rows].astype(np.int32)
    return _Inputs(
        df=c.df[rows].astype(np.float64), time_s=c.t[rows], callsign=(cs, tracker.string_array()),
        callsign_full=cs >= 0,  # (only non-empty callsigns are interned)
        squawk=(c.squawk[rows].astype(np.int32), _SQUAWK_WORDS),
        altitude_ft=c.alt_baro[rows], has_cpr=c.has_cpr[rows], groundspeed_kt=c.gs[rows],
        track_deg=c.track[rows], vertical_rate_fpm=c.vrate[rows],
        surface=c.surface[rows].astype(np.int8), on_ground=c.on_ground[rows],
        alert=decoded.alert[rows], spi=decoded.spi[rows],
    )


def sbs_lines(
    tracker: Tracker,
    table: pa.Table | None,
    positions: pa.Table,
    *,
    logged_time_s: float | None = None,
) -> bytes:
    """The SBS lines of ``table``, the batch just given to ``tracker.update`` (which returned
    ``positions``), ``\\r\\n`` after each: byte for byte ``format_sbs`` of every record
    :func:`sbs_records` gives, built from the columns without a Python object per line.
    ``table`` None: the batch last given to ``tracker.update_frames`` (no table decoded).
    ``logged_time_s``: the log time field (default: each message's time, UTC epoch s)."""
    decoded = tracker.last_decoded if table is None else None
    if table is None and decoded is None:
        raise ValueError("no table, and the tracker's last batch was not frames")
    n = table.num_rows if table is not None else decoded.head.t.size  # type: ignore[union-attr]
    if len(tracker.last_rows) != n or len(tracker.last_outcomes) != n:
        raise ValueError("table is not the batch the tracker last applied")
    rows = tracker.last_rows
    applied = np.flatnonzero(rows >= 0)
    if applied.size == 0:
        return b""
    outcome = tracker.last_outcomes
    accepted = np.isin(outcome, _ACCEPTED)
    if int(np.count_nonzero(accepted)) != positions.num_rows:
        raise ValueError("positions do not belong to this batch")
    i = (_table_inputs(table, applied) if table is not None
         else _frames_inputs(tracker, decoded, applied))  # type: ignore[arg-type]
    df = i.df
    cs_codes, cs_words = i.callsign
    cs_full = i.callsign_full
    sq_codes, sq_words = i.squawk
    has_sq = sq_codes >= 0
    alt = i.altitude_ft
    alt_ok = ~np.isnan(alt)
    adsb = (df == 17) | (df == 18)
    position = adsb & ~cs_full & i.has_cpr
    velocity = adsb & ~cs_full & ~position & (~np.isnan(i.groundspeed_kt)
                                               | ~np.isnan(i.vertical_rate_fpm))
    kind = np.zeros(applied.size, np.int64)
    kind[adsb & cs_full] = 1
    surface = i.surface == 1
    kind[position & surface] = 2
    kind[position & ~surface] = 3
    kind[velocity] = 4
    kind[((df == 4) | (df == 20)) & alt_ok] = 5
    kind[((df == 5) | (df == 21)) & has_sq] = 6
    kind[((df == 0) | (df == 16)) & alt_ok] = 7
    kind[df == 11] = 8
    kind[position & np.isin(outcome[applied], _REJECTED)] = 0  # no line for bad data
    keep = np.flatnonzero(kind)
    if keep.size == 0:
        return b""
    rows_k = applied[keep]
    kind = kind[keep]
    is2, is3, is4, is6 = kind == 2, kind == 3, kind == 4, kind == 6
    # the accepted position of each line (NaN where none)
    lat = np.full(keep.size, np.nan)
    lon = np.full(keep.size, np.nan)
    p_alt = np.full(keep.size, np.nan)
    p_alt_ok = np.zeros(keep.size, np.bool_)
    has_pos = accepted[rows_k] & (is2 | is3)
    if has_pos.any():
        p = _Columns(positions, (np.cumsum(accepted) - 1)[rows_k[has_pos]])
        lat[has_pos] = p.values("lat_deg")
        lon[has_pos] = p.values("lon_deg")
        p_alt[has_pos] = p.values("altitude_ft")
        p_alt_ok[has_pos] = p.valid("altitude_ft")
    alt = np.where(is3 & p_alt_ok, p_alt, alt[keep])
    alt[~(is3 | (kind == 5) | (kind == 7))] = np.nan
    moving = is2 | is4
    gs = np.where(moving, i.groundspeed_kt[keep], np.nan)
    trk = np.where(moving, i.track_deg[keep], np.nan)
    vr = np.where(is4, i.vertical_rate_fpm[keep], np.nan)
    on_ground = i.on_ground[keep].copy()
    on_ground[is2] = 1
    on_ground[is3] = 0
    surv = (kind == 5) | is6
    alert = np.where(surv, i.alert[keep], -1).astype(np.int8)
    spi = np.where(surv, i.spi[keep], -1).astype(np.int8)
    sq = np.where(is6, sq_codes[keep], -1).astype(np.int32)
    emergency = np.full(keep.size, -1, np.int8)
    if is6.any():
        urgent = np.append(_is(pc.is_in(sq_words, _EMERGENCY)), False)
        emergency[is6] = urgent[sq[is6]]
    cs = np.where(kind == 1, cs_codes[keep], -1).astype(np.int32)
    return format_sbs_columns(
        kind,
        i.time_s[keep],
        address=tracker.table.rows["key"][rows[rows_k]].astype(np.int64),
        logged_time_s=logged_time_s,
        callsign=(cs, cs_words),
        squawk=(sq, sq_words),
        altitude_ft=alt,
        groundspeed_kt=gs,
        track_deg=trk,
        latitude_deg=lat,
        longitude_deg=lon,
        vertical_rate_fpm=vr,
        alert=alert,
        emergency=emergency,
        spi=spi,
        on_ground=on_ground,
    )
