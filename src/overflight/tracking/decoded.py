"""State decoded by another decoder, as rows for :meth:`Tracker.update_decoded`: BaseStation (SBS)
lines and readsb ``aircraft.json`` snapshots. Column names are ``decode_batch``'s, so one
tracker applies them beside the station's own decoding (marked ``sbs`` / ``json``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from overflight.sources.readsb_json import ReadsbSnapshot
from overflight.sources.sbs import SbsRecord

__all__ = ["DECODED_SCHEMA", "readsb_table", "sbs_table"]

DECODED_SCHEMA = pa.schema(
    [
        pa.field("time_s", pa.float64()),
        pa.field("address", pa.uint32()),
        pa.field("non_icao", pa.bool_()),
        pa.field("altitude_ft", pa.float64()),
        pa.field("altitude_gnss_ft", pa.float64()),
        pa.field("on_ground", pa.bool_()),
        pa.field("callsign", pa.string()),
        pa.field("squawk", pa.string()),
        pa.field("groundspeed_kt", pa.float64()),
        pa.field("track_deg", pa.float64()),
        pa.field("vertical_rate_fpm", pa.float64()),
        pa.field("category", pa.string()),
        pa.field("lat_deg", pa.float64()),
        pa.field("lon_deg", pa.float64()),
    ]
)
"""Rows of decoded state (units in names; null where the input did not say)."""


def _addr(text: str) -> tuple[int, bool] | None:
    t = text.strip().lower()
    non = t.startswith("~")
    t = t.lstrip("~")
    if len(t) != 6:
        return None
    try:
        return int(t, 16), non
    except ValueError:
        return None


def sbs_table(records: Sequence[SbsRecord]) -> pa.Table:
    """SBS records (``MSG`` lines; MLAT results too) as decoded-state rows in time order; a
    record with an unusable address is left out."""
    rows = []
    for r in records:
        a = _addr(r.icao24)
        if a is None or r.time_s != r.time_s:
            continue
        rows.append({
            "time_s": r.time_s, "address": a[0], "non_icao": a[1],
            "altitude_ft": None if r.altitude_ft is None else float(r.altitude_ft),
            "altitude_gnss_ft": None, "on_ground": r.on_ground,
            "callsign": (r.callsign or "").strip() or None,
            "squawk": r.squawk, "groundspeed_kt": r.groundspeed_kt, "track_deg": r.track_deg,
            "vertical_rate_fpm": None if r.vertical_rate_fpm is None
            else float(r.vertical_rate_fpm),
            "category": None, "lat_deg": r.latitude_deg, "lon_deg": r.longitude_deg,
        })
    return _sorted(pa.Table.from_pylist(rows, schema=DECODED_SCHEMA))


def readsb_table(snapshot: ReadsbSnapshot) -> pa.Table:
    """The aircraft of an ``aircraft.json`` snapshot as decoded-state rows: the state at its
    ``seen`` time, the position (when any) at its ``seen_pos`` time."""
    rows = []
    for a in snapshot.aircraft:
        addr = _addr(a.icao24)
        if addr is None:
            continue
        base = {
            "address": addr[0], "non_icao": addr[1] or a.non_icao,
            "altitude_ft": None if a.altitude_ft is None else float(a.altitude_ft),
            "altitude_gnss_ft": None if a.altitude_gnss_ft is None
            else float(a.altitude_gnss_ft),
            "on_ground": a.on_ground, "callsign": (a.callsign or "").strip() or None,
            "squawk": a.squawk, "groundspeed_kt": a.groundspeed_kt, "track_deg": a.track_deg,
            "vertical_rate_fpm": None if a.vertical_rate_fpm is None
            else float(a.vertical_rate_fpm),
            "category": a.category, "lat_deg": None, "lon_deg": None,
        }
        if a.latitude_deg is not None and a.longitude_deg is not None:
            t_pos = a.position_time_s if a.position_time_s is not None else a.time_s
            rows.append({**base, "time_s": t_pos, "lat_deg": a.latitude_deg,
                         "lon_deg": a.longitude_deg})
            if t_pos != a.time_s:
                rows.append({**base, "time_s": a.time_s})
        else:
            rows.append({**base, "time_s": a.time_s})
    return _sorted(pa.Table.from_pylist(rows, schema=DECODED_SCHEMA))


def _sorted(t: pa.Table) -> pa.Table:
    if t.num_rows < 2:
        return t
    order = np.argsort(t.column("time_s").to_numpy(zero_copy_only=False), kind="stable")
    return t.take(pa.array(order))
