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
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.sources.sbs import SbsRecord, format_sbs_columns
from overflight.tracking import _kernel
from overflight.tracking._columns import SBS_COLUMNS
from overflight.tracking.state import NON_ICAO_FLAG
from overflight.tracking.tracker import REJECTION_REASONS, Tracker

__all__ = ["sbs_lines", "sbs_records"]

_ACCEPTED = (_kernel.GLOBAL, _kernel.LOCAL, _kernel.DIRECT)
_REJECTED = tuple(_kernel.OUTCOME_NAMES.index(r) for r in REJECTION_REASONS)
_Rows = npt.NDArray[np.intp]
_EMERGENCY_SQUAWKS = ("7500", "7600", "7700")


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


def _valid(table: pa.Table, name: str, rows: _Rows) -> npt.NDArray[np.bool_]:
    """Where ``name`` is not null at ``rows`` (nowhere when the column is absent)."""
    if name not in table.column_names:
        return np.zeros(rows.size, bool)
    col = table.column(name)
    if col.null_count == 0:
        return np.ones(rows.size, bool)
    out: npt.NDArray[np.bool_] = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), bool)
    return out[rows]


def _values(table: pa.Table, name: str, rows: _Rows) -> npt.NDArray[np.float64]:
    """``name`` at ``rows`` as floats, NaN where null or absent."""
    if name not in table.column_names:
        return np.full(rows.size, np.nan)
    col = table.column(name)
    if col.null_count:
        col = pc.fill_null(col.cast(pa.float64()), math.nan)
    out: npt.NDArray[np.float64] = np.asarray(col.to_numpy(), np.float64)
    return out[rows]


def _bools(table: pa.Table, name: str, rows: _Rows) -> npt.NDArray[np.bool_]:
    """``name`` at ``rows``, False where null or absent."""
    if name not in table.column_names:
        return np.zeros(rows.size, bool)
    col = pc.fill_null(table.column(name), False)
    out: npt.NDArray[np.bool_] = np.asarray(col.to_numpy(), bool)
    return out[rows]


def _strings(table: pa.Table, name: str, rows: _Rows) -> tuple[pa.Array, npt.NDArray[np.bool_]]:
    """``name`` at ``rows`` (an Arrow array, dictionary kept) and where it is a non-empty
    string."""
    if name not in table.column_names:
        return pa.nulls(rows.size, pa.string()), np.zeros(rows.size, bool)
    col = table.column(name)
    arr = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    arr = arr.take(pa.array(rows))
    if isinstance(arr, pa.DictionaryArray):
        words = arr.dictionary.to_pylist()
        full = np.array([bool(w) for w in words] + [False], bool)
        idx = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return arr, full[idx]
    ok = pc.fill_null(pc.greater(pc.utf8_length(arr), 0), False)
    return arr, np.asarray(ok.to_numpy(zero_copy_only=False), bool)


def sbs_lines(
    tracker: Tracker,
    table: pa.Table,
    positions: pa.Table,
    *,
    logged_time_s: float | None = None,
) -> bytes:
    """The SBS lines of ``table``, the batch just given to ``tracker.update`` (which returned
    ``positions``), ``\r\n`` after each: byte for byte ``format_sbs`` of every record
    :func:`sbs_records` gives, built from the columns without a Python object per line.
    ``logged_time_s``: the log time field (default: each message's time, UTC epoch s)."""
    n = table.num_rows
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
    df = _values(table, "df", applied)
    callsign, has_callsign = _strings(table, "callsign", applied)
    squawk, has_squawk = _strings(table, "squawk", applied)
    alt = _values(table, "altitude_ft", applied)
    alt_ok = _valid(table, "altitude_ft", applied) & ~np.isnan(alt)
    gs_ok = _valid(table, "groundspeed_kt", applied)
    vr_ok = _valid(table, "vertical_rate_fpm", applied)
    surface = _bools(table, "surface", applied)
    adsb = (df == 17) | (df == 18)
    ident = adsb & has_callsign
    position = adsb & ~has_callsign & _valid(table, "cpr_lat", applied)
    velocity = adsb & ~has_callsign & ~position & (gs_ok | vr_ok)
    kind = np.zeros(applied.size, np.int64)
    kind[ident] = 1
    kind[position & surface] = 2
    kind[position & ~surface] = 3
    kind[velocity] = 4
    kind[((df == 4) | (df == 20)) & alt_ok] = 5
    kind[((df == 5) | (df == 21)) & has_squawk] = 6
    kind[((df == 0) | (df == 16)) & alt_ok] = 7
    kind[df == 11] = 8
    kind[position & np.isin(outcome[applied], _REJECTED)] = 0  # no line for bad data
    keep = np.flatnonzero(kind)
    if keep.size == 0:
        return b""
    rows_k = applied[keep]
    kind = kind[keep]
    # the accepted position of each row (NaN where none)
    at = np.cumsum(accepted)[rows_k] - 1
    has_pos = accepted[rows_k]
    lat = np.full(keep.size, np.nan)
    lon = np.full(keep.size, np.nan)
    p_alt = np.full(keep.size, np.nan)
    p_alt_ok = np.zeros(keep.size, bool)
    if has_pos.any():
        k = at[has_pos]
        lat[has_pos] = _values(positions, "lat_deg", k)
        lon[has_pos] = _values(positions, "lon_deg", k)
        p_alt[has_pos] = _values(positions, "altitude_ft", k)
        p_alt_ok[has_pos] = _valid(positions, "altitude_ft", k)
    is2, is3 = kind == 2, kind == 3
    alt = alt[keep]
    alt = np.where(is3 & p_alt_ok, p_alt, alt)
    alt[~np.isin(kind, (3, 5, 7))] = np.nan
    gs = np.where((kind == 2) | (kind == 4), _values(table, "groundspeed_kt", rows_k), np.nan)
    trk = np.where((kind == 2) | (kind == 4), _values(table, "track_deg", rows_k), np.nan)
    vr = np.where(kind == 4, _values(table, "vertical_rate_fpm", rows_k), np.nan)
    lat[~(is2 | is3)] = np.nan
    lon[~(is2 | is3)] = np.nan
    on_ground = np.where(_valid(table, "on_ground", rows_k),
                         _bools(table, "on_ground", rows_k), -1).astype(np.int8)
    on_ground[is2] = 1
    on_ground[is3] = 0
    surv = (kind == 5) | (kind == 6)
    alert = np.where(surv & _valid(table, "alert", rows_k), _bools(table, "alert", rows_k), -1)
    spi = np.where(surv & _valid(table, "spi", rows_k), _bools(table, "spi", rows_k), -1)
    is6 = kind == 6
    sq = squawk.take(pa.array(keep))
    sq = pc.if_else(pa.array(is6), sq, pa.nulls(keep.size, sq.type))
    emergency = np.full(keep.size, -1, np.int8)
    if is6.any():
        emerg = pc.fill_null(pc.is_in(sq.cast(pa.string()), pa.array(_EMERGENCY_SQUAWKS)), False)
        emergency[is6] = np.asarray(emerg.to_numpy(zero_copy_only=False), bool)[is6]
    cs = callsign.take(pa.array(keep))
    cs = pc.if_else(pa.array(kind == 1), cs, pa.nulls(keep.size, cs.type))
    return format_sbs_columns(
        kind,
        _values(table, "time_s", rows_k),
        address=tracker.table.rows["key"][rows[rows_k]].astype(np.int64),
        logged_time_s=logged_time_s,
        callsign=cs,
        squawk=sq,
        altitude_ft=alt,
        groundspeed_kt=gs,
        track_deg=trk,
        latitude_deg=lat,
        longitude_deg=lon,
        vertical_rate_fpm=vr,
        alert=alert.astype(np.int8),
        emergency=emergency,
        spi=spi.astype(np.int8),
        on_ground=on_ground,
    )
