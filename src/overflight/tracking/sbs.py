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
import pyarrow as pa

from overflight.sources.sbs import SbsRecord
from overflight.tracking import _kernel
from overflight.tracking._columns import SBS_COLUMNS
from overflight.tracking.state import NON_ICAO_FLAG
from overflight.tracking.tracker import REJECTION_REASONS, Tracker

__all__ = ["sbs_records"]

_ACCEPTED = (_kernel.GLOBAL, _kernel.LOCAL, _kernel.DIRECT)
_REJECTED = tuple(_kernel.OUTCOME_NAMES.index(r) for r in REJECTION_REASONS)
_EMERGENCY_SQUAWKS = ("7500", "7600", "7700")


def _column(table: pa.Table, name: str, rows: np.ndarray) -> list[Any]:
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
