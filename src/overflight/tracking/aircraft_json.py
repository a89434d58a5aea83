"""readsb's ``aircraft.json``: the live picture in the format tar1090 reads unchanged.

Field names and units as readsb writes them (README-json.md): ``hex`` ("~" prefix for non-ICAO
addresses), ``flight`` padded to 8 characters, ``alt_baro`` in feet or ``"ground"``, ``gs`` knots,
``baro_rate`` ft/min, ``seen``/``seen_pos`` seconds before ``now``, ``rssi`` dBFS, ``mlat``/``tisb``
lists naming the fields derived from those sources. Keys are omitted when there is no data (and,
for a live snapshot, when the data is older than readsb keeps it).

One key readsb does not write: ``mlat_error_m``, the horizontal 1-sigma error estimate (metres)
of an MLAT position (``type`` ``"mlat"``, ``"lat"`` and ``"lon"`` in ``mlat``), written instead
of ``rc``; tar1090 ignores keys it does not know.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from overflight.tracking.records import AircraftState

__all__ = ["FIELD_EXPIRE_S", "IdentityLike", "aircraft_json", "aircraft_record"]

FIELD_EXPIRE_S = 60.0
"""A value older than this is left out of a live snapshot (readsb's TRACK_EXPIRE)."""

_JSON_NAME = {
    "altitude_baro_ft": "alt_baro",
    "altitude_gnss_ft": "alt_geom",
    "groundspeed_kt": "gs",
    "track_deg": "track",
    "baro_rate_fpm": "baro_rate",
    "geom_rate_fpm": "geom_rate",
    "tas_kt": "tas",
    "ias_kt": "ias",
    "callsign": "flight",
    "squawk": "squawk",
    "emergency": "emergency",
    "category": "category",
    "nic": "nic",
    "nac_p": "nac_p",
    "sil": "sil",
    "adsb_version": "version",
    "selected_altitude_ft": "nav_altitude_mcp",
    "selected_heading_deg": "nav_heading",
}


class IdentityLike(Protocol):
    """What :mod:`overflight.identity` returns for an address (only these attributes are read)."""

    @property
    def registration(self) -> str | None: ...
    @property
    def type_code(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def operator(self) -> str | None: ...
    @property
    def db_flags(self) -> int: ...


def _num(v: float | None) -> float | None:
    """``v`` when it is a finite number, else None (NaN and ±Infinity are left out)."""
    return v if v is not None and math.isfinite(v) else None


def _put(out: dict[str, Any], key: str, v: float | None, digits: int | None) -> None:
    """``out[key] = round(v, digits)`` when ``v`` is finite; nothing otherwise (as readsb)."""
    f = _num(v)
    if f is not None:
        out[key] = round(f) if digits is None else round(f, digits)


def aircraft_record(
    a: AircraftState, now_s: float, *, keep_old: bool = False, identity: IdentityLike | None = None
) -> dict[str, Any]:
    """One aircraft as readsb writes it in ``aircraft.json``; never a non-finite number.

    A value that is not a finite number (NaN, ±Infinity) is left out with its key, as readsb
    does, so the record is strict JSON (``json.dumps(..., allow_nan=False)``).

    Args:
        a: the tracked state.
        now_s: the snapshot time (epoch seconds): ``seen`` and ``seen_pos`` count back from it.
        keep_old: keep values older than :data:`FIELD_EXPIRE_S` (history view of a whole file).
        identity: registry data for ``r``, ``t``, ``desc``, ``ownOp``, ``dbFlags``.
    """

    def fresh(public: str) -> bool:
        st = a.stamps.get(public)
        return st is not None and (keep_old or now_s - st.time_s <= FIELD_EXPIRE_S)

    out: dict[str, Any] = {"hex": ("~" if a.non_icao else "") + a.icao24, "type": a.addr_type}
    if a.callsign and fresh("callsign"):
        out["flight"] = a.callsign.ljust(8)[:8]
    if identity is not None:
        if identity.registration:
            out["r"] = identity.registration
        if identity.type_code:
            out["t"] = identity.type_code
        if identity.description:
            out["desc"] = identity.description
        if identity.operator:
            out["ownOp"] = identity.operator
        if identity.db_flags:
            out["dbFlags"] = int(identity.db_flags)
    if a.on_ground and fresh("on_ground"):
        out["alt_baro"] = "ground"
    elif fresh("altitude_baro_ft"):
        _put(out, "alt_baro", a.altitude_baro_ft, None)
    # (public field, JSON key, digits: None rounds to an integer)
    for public, key, digits in (
        ("altitude_gnss_ft", "alt_geom", None),
        ("groundspeed_kt", "gs", 1),
        ("ias_kt", "ias", None),
        ("tas_kt", "tas", None),
        ("track_deg", "track", 2),
        ("baro_rate_fpm", "baro_rate", None),
        ("geom_rate_fpm", "geom_rate", None),
    ):
        if fresh(public):
            _put(out, key, getattr(a, public), digits)
    if a.squawk is not None and fresh("squawk"):
        out["squawk"] = a.squawk
    if a.emergency is not None and fresh("emergency"):
        out["emergency"] = a.emergency
    if a.category is not None:
        out["category"] = a.category
    if fresh("selected_altitude_ft"):
        _put(out, "nav_altitude_mcp", a.selected_altitude_ft, None)
    if fresh("selected_heading_deg"):
        _put(out, "nav_heading", a.selected_heading_deg, 2)
    lat, lon, pos_t = _num(a.lat_deg), _num(a.lon_deg), _num(a.position_time_s)
    pos_ok = (
        lat is not None
        and lon is not None
        and pos_t is not None
        and a.reliable
        and (keep_old or now_s - pos_t <= FIELD_EXPIRE_S)
    )
    if pos_ok:
        assert lat is not None and lon is not None and pos_t is not None
        out["lat"] = round(lat, 6)
        out["lon"] = round(lon, 6)
        if a.nic is not None:
            out["nic"] = a.nic
        _put(out, "mlat_error_m" if a.position_source == "mlat" else "rc", a.rc_m,
             1 if a.position_source == "mlat" else None)
        _put(out, "seen_pos", max(now_s - pos_t, 0.0), 1)
    if a.adsb_version is not None:
        out["version"] = a.adsb_version
    if a.nac_p is not None and fresh("nac_p"):
        out["nac_p"] = a.nac_p
    if a.sil is not None and fresh("sil"):
        out["sil"] = a.sil
        out["sil_type"] = a.sil_type or "unknown"
    mlat: list[str] = []
    tisb: list[str] = []
    for public, st in a.stamps.items():
        target = mlat if st.source == "mlat" else tisb if st.source == "tisb" else None
        if target is None:
            continue
        if public == "position":
            if pos_ok:
                target.extend(["lat", "lon"])
        elif public in _JSON_NAME and _JSON_NAME[public] in out:
            target.append(_JSON_NAME[public])
    out["mlat"] = sorted(mlat)
    out["tisb"] = sorted(tisb)
    out["messages"] = a.messages
    _put(out, "seen", max(now_s - a.last_seen_s, 0.0), 1)
    if a.rssi_dbfs is None:
        out["rssi"] = -49.5  # readsb's floor when it has no level
    else:
        _put(out, "rssi", a.rssi_dbfs, 1)
    return out


def aircraft_json(
    aircraft: Iterable[AircraftState],
    now_s: float,
    messages: int,
    *,
    keep_old: bool = False,
    identify: Callable[[int], IdentityLike | None] | None = None,
) -> dict[str, Any]:
    """The whole ``aircraft.json`` document: ``{now, messages, aircraft: [...]}``, strict JSON
    (``now`` is left out when not finite: a tracker that saw no frame has no time)."""
    records = []
    for a in aircraft:
        ident = identify(a.address) if (identify is not None and not a.non_icao) else None
        records.append(aircraft_record(a, now_s, keep_old=keep_old, identity=ident))
    doc: dict[str, Any] = {}
    _put(doc, "now", now_s, 1)  # left out when not finite (a tracker that saw no frame)
    doc["messages"] = int(messages)
    doc["aircraft"] = records
    return doc
