"""readsb's ``aircraft.json``: the live picture in the format tar1090 reads unchanged.

Field names and units as readsb writes them (README-json.md): ``hex`` ("~" prefix for non-ICAO
addresses), ``flight`` padded to 8 characters, ``alt_baro`` in feet or ``"ground"``, ``gs`` knots,
``baro_rate`` ft/min, ``seen``/``seen_pos`` seconds before ``now``, ``rssi`` dBFS, ``mlat``/``tisb``
lists naming the fields derived from those sources. Keys are omitted when there is no data (and,
for a live snapshot, when the data is older than readsb keeps it).

A position older than 60 s is written as readsb's ``lastPosition`` (``{lat, lon, nic, rc,
seen_pos}``); the registry's keys are ``r``, ``t``, ``desc``, ``ownOp``, ``dbFlags`` and ``year``.
readsb keys we have no data for are not written: ``mach``, ``roll``, ``track_rate``,
``mag_heading``, ``true_heading``, ``calc_track``, ``nav_qnh``, ``nav_altitude_fms``,
``nav_modes``, ``nic_baro``, ``nac_v``, ``gva``, ``sda``, ``alert``, ``spi``, ``wd``/``ws``,
``oat``/``tat``, ``rr_lat``/``rr_lon``, ``gpsOkBefore``.

One key readsb does not write: ``mlat_error_m``, the horizontal 1-sigma error estimate (metres)
of an MLAT position (``type`` ``"mlat"``, ``"lat"`` and ``"lon"`` in ``mlat``), written instead
of ``rc``; tar1090 ignores keys it does not know.

Two writers give the same bytes: :func:`aircraft_record` / :func:`aircraft_json` from
:class:`~overflight.tracking.records.AircraftState` objects (history, files, the message bus),
and :func:`records_json`, one compiled pass over the tracker's records for the live snapshot
(10,000 aircraft in about 10 ms instead of about 1 s); tests hold them equal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.jsonout import dumps
from overflight.modes.fields import SIL_TYPES
from overflight.tracking.records import AircraftState
from overflight.tracking.state import ADDR_TYPE_NAMES, NON_ICAO_FLAG, SOURCE_CODES

__all__ = [
    "FIELD_EXPIRE_S",
    "LAST_POSITION_S",
    "EncodedStrings",
    "IdentityLike",
    "InternedJson",
    "JsonPool",
    "aircraft_json",
    "aircraft_record",
    "document_json",
    "identity_fields",
    "identity_json",
    "records_json",
]

FIELD_EXPIRE_S = 60.0
"""A value older than this is left out of a live snapshot (readsb's TRACK_EXPIRE)."""
LAST_POSITION_S = 14 * 86400.0
"""A position older than :data:`FIELD_EXPIRE_S` is still written as ``lastPosition`` up to
this age (seconds), as readsb does."""

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


def identity_fields(identity: IdentityLike) -> dict[str, Any]:
    """The registry's keys of a record: ``r``, ``t``, ``desc``, ``ownOp``, ``dbFlags`` and
    ``year`` (a string, as readsb writes it), each only when known."""
    out: dict[str, Any] = {}
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
    year = getattr(identity, "year", None)
    if year:
        out["year"] = str(year)
    return out


def identity_json(identity: IdentityLike | None) -> bytes:
    """:func:`identity_fields` as the bytes the columnar writer splices into a record
    (``,"r":...``; empty for None or no fields)."""
    fields = identity_fields(identity) if identity is not None else {}
    return b"," + dumps(fields).encode()[1:-1] if fields else b""


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
        out.update(identity_fields(identity))
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
    elif (lat is not None and lon is not None and pos_t is not None and a.reliable
          and now_s - pos_t <= LAST_POSITION_S):
        last: dict[str, Any] = {"lat": round(lat, 6), "lon": round(lon, 6)}
        if a.nic is not None:
            last["nic"] = a.nic
        _put(last, "mlat_error_m" if a.position_source == "mlat" else "rc", a.rc_m,
             1 if a.position_source == "mlat" else None)
        _put(last, "seen_pos", max(now_s - pos_t, 0.0), 1)
        out["lastPosition"] = last
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
    doc = _head(now_s, messages)
    doc["aircraft"] = records
    return doc


def _head(now_s: float, messages: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    _put(doc, "now", now_s, 1)  # left out when not finite (a tracker that saw no frame)
    doc["messages"] = int(messages)
    return doc


# --------------------------------------------------------------------------- columnar writer
# The same document written straight from the tracker's records (STATE_DTYPE rows) by one
# compiled pass: no AircraftState, no dict per aircraft. Every rule above has its twin in
# _write_row; tests hold the two equal byte for byte over real captures. Numbers are written
# as Python's ``json.dumps(round(x, digits))`` writes them (correct rounding, half to even,
# shortest form); a row with a value the kernel cannot write that way (beyond 2**52 after
# scaling) is left to aircraft_record.
#
# The kernels are compiled without numba's reference counting (``_nrt=False``: they allocate
# nothing): its atomic increments on every array passed to a helper were half the time.


class JsonPool:
    """JSON-encoded strings end to end, appended to and never changed: entry ``i`` is
    ``data[offsets[i]:offsets[i + 1]]``. :meth:`arrays` gives views that later appends leave
    alone (a full buffer is replaced, not resized), so a snapshot may keep them."""

    __slots__ = ("_data", "_offsets", "n")

    def __init__(self) -> None:
        self._data: npt.NDArray[np.uint8] = np.empty(1 << 12, np.uint8)
        self._offsets: npt.NDArray[np.int64] = np.zeros(1 << 10, np.int64)
        self.n = 0

    def extend(self, items: list[bytes]) -> None:
        """Append encoded entries."""
        if not items:
            return
        blob = b"".join(items)
        start = int(self._offsets[self.n])
        end = start + len(blob)
        k = len(items)
        if end > self._data.size:
            grown = np.empty(max(end, 2 * self._data.size), np.uint8)
            grown[:start] = self._data[:start]
            self._data = grown
        if self.n + k + 1 > self._offsets.size:
            offs = np.zeros(max(self.n + k + 1, 2 * self._offsets.size), np.int64)
            offs[: self.n + 1] = self._offsets[: self.n + 1]
            self._offsets = offs
        self._data[start:end] = np.frombuffer(blob, np.uint8)
        lengths = np.fromiter((len(b) for b in items), np.int64, k)
        self._offsets[self.n + 1 : self.n + k + 1] = start + np.cumsum(lengths)
        self.n += k

    def arrays(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        """(data, offsets) of the entries so far."""
        return self._data[: int(self._offsets[self.n])], self._offsets[: self.n + 1]


Pool = tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]
"""(data, offsets) of a :class:`JsonPool` (:meth:`JsonPool.arrays`)."""


@dataclass(frozen=True, slots=True)
class EncodedStrings:
    """The tracker's interned strings JSON-encoded, as of one moment: ``plain`` (categories,
    emergency states) and ``callsigns`` (``flight``: padded to 8 characters; empty for an
    empty string), entry ``i`` for string id ``i``."""

    plain: Pool
    callsigns: Pool


class InternedJson:
    """The tracker's interned strings (callsigns, categories, emergency states) JSON-encoded
    once each. Follows a growing list; a new list (the tracker compacted its strings) starts
    over."""

    __slots__ = ("_callsigns", "_plain", "_source")

    def __init__(self) -> None:
        self._source: list[str] | None = None
        self._plain = JsonPool()
        self._callsigns = JsonPool()

    def sync(self, values: list[str]) -> EncodedStrings:
        """Encode the strings of ``values`` not encoded yet; all of them, encoded."""
        if values is not self._source:
            self._source = values
            self._plain = JsonPool()
            self._callsigns = JsonPool()
        have = self._plain.n
        if have < len(values):
            new = values[have:]
            self._plain.extend([json.dumps(v).encode() for v in new])
            self._callsigns.extend([json.dumps(v.ljust(8)[:8]).encode() if v else b""
                                    for v in new])
        return EncodedStrings(self._plain.arrays(), self._callsigns.arrays())


def _pool_of(texts: Iterable[str]) -> Pool:
    p = JsonPool()
    p.extend([json.dumps(t).encode() for t in texts])
    return p.arrays()


_NO_POOL = _pool_of(())
_TYPE_NAMES = _pool_of(ADDR_TYPE_NAMES)
_SIL_TYPE_NAMES = _pool_of((*SIL_TYPES, "unknown"))
_SIL_UNKNOWN = len(SIL_TYPES)

# names that may appear in the "mlat" / "tisb" lists, in the order the lists are written
_LIST_NAMES = sorted({*_JSON_NAME.values(), "lat", "lon"})
_LITERAL_TEXTS = (
    '{"hex":"', "~", '","type":', ',"flight":', ',"alt_baro":', '"ground"', ',"alt_geom":',
    ',"gs":', ',"ias":', ',"tas":', ',"track":', ',"baro_rate":', ',"geom_rate":',
    ',"squawk":"', '"', ',"emergency":', ',"category":', ',"nav_altitude_mcp":',
    ',"nav_heading":', ',"lat":', ',"lon":', ',"nic":', ',"rc":', ',"mlat_error_m":',
    ',"seen_pos":', ',"lastPosition":{"lat":', "}", ',"version":', ',"nac_p":', ',"sil":',
    ',"sil_type":', ',"mlat":[', '],"tisb":[', '],"messages":', ',"seen":', ',"rssi":', ",",
    *(f'"{n}"' for n in _LIST_NAMES),
)
(L_HEX, L_TILDE, L_TYPE, L_FLIGHT, L_ALT_BARO, L_GROUND, L_ALT_GEOM, L_GS, L_IAS, L_TAS,
 L_TRACK, L_BARO_RATE, L_GEOM_RATE, L_SQUAWK, L_QUOTE, L_EMERGENCY, L_CATEGORY, L_NAV_ALT,
 L_NAV_HEADING, L_LAT, L_LON, L_NIC, L_RC, L_MLAT_ERROR, L_SEEN_POS, L_LAST_POSITION, L_CLOSE,
 L_VERSION, L_NAC_P, L_SIL, L_SIL_TYPE, L_MLAT, L_TISB, L_MESSAGES, L_SEEN, L_RSSI,
 L_COMMA) = range(37)
L_NAMES = 37
_lit = JsonPool()
_lit.extend([t.encode() for t in _LITERAL_TEXTS])
_LITERALS = _lit.arrays()
del _lit
# index of each list name (in _LIST_NAMES) of the fields that can be in the lists
(N_ALT_BARO, N_ALT_GEOM, N_BARO_RATE, N_CATEGORY, N_EMERGENCY, N_FLIGHT, N_GEOM_RATE, N_GS,
 N_IAS, N_LAT, N_LON, N_NAC_P, N_NAV_ALT, N_NAV_HEADING, N_NIC, N_SIL, N_SQUAWK, N_TAS,
 N_TRACK, N_VERSION) = (_LIST_NAMES.index(k) for k in (
    "alt_baro", "alt_geom", "baro_rate", "category", "emergency", "flight", "geom_rate", "gs",
    "ias", "lat", "lon", "nac_p", "nav_altitude_mcp", "nav_heading", "nic", "sil", "squawk",
    "tas", "track", "version"))
N_LIST = len(_LIST_NAMES)
SRC_MLAT = SOURCE_CODES["mlat"]
SRC_TISB = SOURCE_CODES["tisb"]
NON_ICAO = NON_ICAO_FLAG
RSSI_FLOOR_X10 = -495
"""readsb's -49.5 dBFS (tenths) when there is no signal level."""
ROW_BYTES = 4096
"""Bound of a record's bytes besides its strings (callsign, category, emergency, identity)."""
_TWO52 = 4503599627370496.0
_KERNEL_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False}
_kernel = numba.njit(**_KERNEL_OPTIONS)


@_kernel
def _lit_put(out, p, lit, lit_off, k):  # type: ignore[no-untyped-def]
    return _str_put(out, p, lit, lit_off, k)


@_kernel
def _uint_put(out, p, v):  # type: ignore[no-untyped-def]
    n = 1
    t = v // 10
    while t > 0:
        n += 1
        t //= 10
    q = np.uint64(p + n)
    while True:
        q -= np.uint64(1)
        out[q] = 48 + v % 10
        v //= 10
        if v == 0:
            break
    return p + n


@_kernel
def _rint(x):  # type: ignore[no-untyped-def]
    """``round(x)`` of a finite float below 2**52 in magnitude (half to even)."""
    f = math.floor(x)
    d = x - f
    if d > 0.5 or (d == 0.5 and f % 2.0 != 0.0):
        f += 1.0
    return f


@_kernel
def _int_put(out, p, x):  # type: ignore[no-untyped-def]
    """``json.dumps(round(x))``; -1 when ``x`` is too large to write here."""
    if not abs(x) < _TWO52:
        return -1
    r = _rint(x)
    if r < 0:
        out[p] = 45
        p += 1
        r = -r
    return _uint_put(out, p, np.int64(r))


@_kernel
def _dec_put(out, p, x, digits):  # type: ignore[no-untyped-def]
    """``json.dumps(round(x, digits))`` (digits 1, 2 or 6); -1 when too large to write here.

    ``x * 10**digits`` rounded as Python rounds the exact product: half to even, the rare tie of
    the computed product settled by the sign of its rounding error (Dekker's exact product)."""
    scale = 10.0 if digits == 1 else 100.0 if digits == 2 else 1e6
    y = x * scale
    if not abs(y) < _TWO52:
        return -1
    f = math.floor(y)
    d = y - f
    if d > 0.5:
        f += 1.0
    elif d == 0.5:
        c = 134217729.0 * x
        xh = c - (c - x)
        xl = x - xh
        c = 134217729.0 * scale
        sh = c - (c - scale)
        sl = scale - sh
        err = ((xh * sh - y) + xh * sl + xl * sh) + xl * sl
        if err > 0.0 or (err == 0.0 and f % 2.0 != 0.0):
            f += 1.0
    neg = x < 0.0 or (x == 0.0 and math.copysign(1.0, x) < 0.0)
    r = np.int64(abs(f))
    if neg:
        out[p] = 45
        p += 1
    unit = np.int64(10 if digits == 1 else 100 if digits == 2 else 1_000_000)
    if digits == 6 and 0 < r < 100:  # below 1e-4: Python writes 5e-05, 1.2e-05, 7e-06
        if r >= 10:
            out[p] = 48 + r // 10
            p += 1
            if r % 10:
                out[p] = 46
                out[p + 1] = 48 + r % 10
                p += 2
            exp = 5
        else:
            out[p] = 48 + r
            p += 1
            exp = 6
        out[p] = 101
        out[p + 1] = 45
        out[p + 2] = 48
        out[p + 3] = 48 + exp
        return p + 4
    p = _uint_put(out, p, r // unit)
    out[p] = 46
    p += 1
    frac = r % unit
    width = digits
    while width > 1 and frac % 10 == 0:
        frac //= 10
        width -= 1
    q = p + width
    for _ in range(width):
        q -= 1
        out[q] = 48 + frac % 10
        frac //= 10
    return p + width


@_kernel
def _str_put(out, p, data, off, k):  # type: ignore[no-untyped-def]
    """Entry ``k`` of a pool at ``out[p:]`` (unsigned indexes: no negative-index check per
    byte, which made this loop the writer's main cost)."""
    a = np.uint64(off[k])
    b = np.uint64(off[k + 1])
    q = np.uint64(p)
    for j in range(a, b):
        out[q] = data[j]
        q += np.uint64(1)
    return p + np.int64(b - a)


@_kernel
def _fresh(src, t, now, keep_old):  # type: ignore[no-untyped-def]
    return src != 0 and (keep_old or now - t <= FIELD_EXPIRE_S)


@_kernel
def _rssi_dbfs(sig):  # type: ignore[no-untyped-def]
    """10 log10 of the mean of the positive levels, summed as numpy sums them in float32
    (in order below 8, pairwise for 8); NaN when none."""
    n = 0
    s = np.float32(-0.0)
    for k in range(sig.size):
        if sig[k] > 0:
            n += 1
            s = np.float32(s + sig[k])
    if n == 0:
        return math.nan
    if n == 8:
        s = np.float32(np.float32(np.float32(sig[0] + sig[1]) + np.float32(sig[2] + sig[3]))
                       + np.float32(np.float32(sig[4] + sig[5]) + np.float32(sig[6] + sig[7])))
    m = np.float32(s / np.float32(n))
    return 10.0 * math.log10(np.float64(m))


@_kernel
def _num_put(  # type: ignore[no-untyped-def]
    out, p, v, t, src, now, keep_old, lit, lit_off, literal, name, digits, present, source
):
    """A fresh, finite number under its key (``digits`` 0: rounded to an integer); -1 passes
    on (too large to write here)."""
    source[name] = src
    if p < 0:
        return p
    x = np.float64(v)
    if not (_fresh(src, t, now, keep_old) and math.isfinite(x)):
        return p
    p = _lit_put(out, p, lit, lit_off, literal)
    present[name] = True
    return _int_put(out, p, x) if digits == 0 else _dec_put(out, p, x, digits)


@_kernel
def _since(now, t):  # type: ignore[no-untyped-def]
    """``max(now - t, 0.0)`` as Python computes it (NaN stays NaN)."""
    d = now - t
    return 0.0 if d < 0.0 else d


@_kernel
def _write_row(  # type: ignore[no-untyped-def]
    out, p, a, now, keep_old, json_reliable, lit, lit_off, str_data, str_off, cs_data, cs_off,
    type_data, type_off, sil_data, sil_off, id_data, id_off, id_slot, present, source,
):
    """Record ``a`` at ``out[p:]``; the end, or -1 when a value needs aircraft_record."""
    present[:] = False
    source[:] = 0
    key = a["key"]
    non_icao = (key & NON_ICAO) != 0
    p = _lit_put(out, p, lit, lit_off, L_HEX)
    if non_icao:
        p = _lit_put(out, p, lit, lit_off, L_TILDE)
    addr = key & 0xFFFFFF
    for shift in range(20, -4, -4):
        h = (addr >> shift) & 0xF
        out[p] = 48 + h if h < 10 else 87 + h
        p += 1
    p = _lit_put(out, p, lit, lit_off, L_TYPE)
    p = _str_put(out, p, type_data, type_off, a["addr_type"])
    cs = a["callsign"]
    if (cs >= 0 and cs_off[cs + 1] > cs_off[cs]
            and _fresh(a["callsign_src"], a["callsign_t"], now, keep_old)):
        p = _lit_put(out, p, lit, lit_off, L_FLIGHT)
        p = _str_put(out, p, cs_data, cs_off, cs)
        present[N_FLIGHT] = True
    source[N_FLIGHT] = a["callsign_src"]
    if not non_icao and id_slot >= 0:
        p = _str_put(out, p, id_data, id_off, id_slot)
    # alt_baro
    og_src = a["on_ground_src"]
    if a["on_ground"] == 1 and og_src != 0 and _fresh(og_src, a["on_ground_t"], now, keep_old):
        p = _lit_put(out, p, lit, lit_off, L_ALT_BARO)
        p = _lit_put(out, p, lit, lit_off, L_GROUND)
        present[N_ALT_BARO] = True
    elif _fresh(a["alt_baro_src"], a["alt_baro_t"], now, keep_old):
        v = np.float64(a["alt_baro"])
        if math.isfinite(v):
            p = _lit_put(out, p, lit, lit_off, L_ALT_BARO)
            p = _int_put(out, p, v)
            if p < 0:
                return -1
            present[N_ALT_BARO] = True
    source[N_ALT_BARO] = a["alt_baro_src"]
    p = _num_put(out, p, a["alt_geom"], a["alt_geom_t"], a["alt_geom_src"], now, keep_old,
                 lit, lit_off, L_ALT_GEOM, N_ALT_GEOM, 0, present, source)
    p = _num_put(out, p, a["gs"], a["gs_t"], a["gs_src"], now, keep_old,
                 lit, lit_off, L_GS, N_GS, 1, present, source)
    p = _num_put(out, p, a["ias"], a["ias_t"], a["ias_src"], now, keep_old,
                 lit, lit_off, L_IAS, N_IAS, 0, present, source)
    p = _num_put(out, p, a["tas"], a["tas_t"], a["tas_src"], now, keep_old,
                 lit, lit_off, L_TAS, N_TAS, 0, present, source)
    p = _num_put(out, p, a["track"], a["track_t"], a["track_src"], now, keep_old,
                 lit, lit_off, L_TRACK, N_TRACK, 2, present, source)
    p = _num_put(out, p, a["baro_rate"], a["baro_rate_t"], a["baro_rate_src"], now, keep_old,
                 lit, lit_off, L_BARO_RATE, N_BARO_RATE, 0, present, source)
    p = _num_put(out, p, a["geom_rate"], a["geom_rate_t"], a["geom_rate_src"], now, keep_old,
                 lit, lit_off, L_GEOM_RATE, N_GEOM_RATE, 0, present, source)
    if p < 0:
        return -1
    sq = np.int64(a["squawk"])
    source[N_SQUAWK] = a["squawk_src"]
    if sq >= 0 and _fresh(a["squawk_src"], a["squawk_t"], now, keep_old):
        p = _lit_put(out, p, lit, lit_off, L_SQUAWK)
        digits = 1
        t = sq // 10
        while t > 0:
            digits += 1
            t //= 10
        for _ in range(4 - digits):  # f"{sq:04d}"
            out[p] = 48
            p += 1
        p = _uint_put(out, p, sq)
        p = _lit_put(out, p, lit, lit_off, L_QUOTE)
        present[N_SQUAWK] = True
    em = a["emergency"]
    source[N_EMERGENCY] = a["emergency_src"]
    if em >= 0 and _fresh(a["emergency_src"], a["emergency_t"], now, keep_old):
        p = _lit_put(out, p, lit, lit_off, L_EMERGENCY)
        p = _str_put(out, p, str_data, str_off, em)
        present[N_EMERGENCY] = True
    cat = a["category"]
    source[N_CATEGORY] = a["category_src"]
    if cat >= 0:
        p = _lit_put(out, p, lit, lit_off, L_CATEGORY)
        p = _str_put(out, p, str_data, str_off, cat)
        present[N_CATEGORY] = True
    p = _num_put(out, p, a["nav_alt"], a["nav_alt_t"], a["nav_alt_src"], now, keep_old,
                 lit, lit_off, L_NAV_ALT, N_NAV_ALT, 0, present, source)
    p = _num_put(out, p, a["nav_heading"], a["nav_heading_t"], a["nav_heading_src"], now,
                 keep_old, lit, lit_off, L_NAV_HEADING, N_NAV_HEADING, 2, present, source)
    if p < 0:
        return -1
    # position
    lat = a["lat"]
    lon = a["lon"]
    pos_t = a["pos_t"]
    pos_src = a["pos_src"]
    has_pos = not math.isnan(lat)
    reliable = pos_src != 0 and (
        pos_src == SRC_MLAT or (a["rel_odd"] >= json_reliable and a["rel_even"] >= json_reliable))
    finite = has_pos and math.isfinite(lat) and math.isfinite(lon) and math.isfinite(pos_t)
    pos_ok = finite and reliable and (keep_old or now - pos_t <= FIELD_EXPIRE_S)
    last = (not pos_ok) and finite and reliable and now - pos_t <= LAST_POSITION_S
    if pos_ok or last:
        p = _lit_put(out, p, lit, lit_off, L_LAT if pos_ok else L_LAST_POSITION)
        p = _dec_put(out, p, lat, 6)
        if p < 0:
            return -1
        p = _lit_put(out, p, lit, lit_off, L_LON)
        p = _dec_put(out, p, lon, 6)
        if p < 0:
            return -1
        nic = np.int64(a["pos_nic"])
        if nic < 0 and a["nic"] >= 0 and a["nic_src"] != 0:
            nic = np.int64(a["nic"])
        if nic >= 0:
            p = _lit_put(out, p, lit, lit_off, L_NIC)
            p = _uint_put(out, p, nic)
            present[N_NIC] = pos_ok
        rc = np.float64(a["pos_rc_m"])
        if math.isfinite(rc):
            if pos_src == SRC_MLAT:
                p = _lit_put(out, p, lit, lit_off, L_MLAT_ERROR)
                p = _dec_put(out, p, rc, 1)
            else:
                p = _lit_put(out, p, lit, lit_off, L_RC)
                p = _int_put(out, p, rc)
            if p < 0:
                return -1
        p = _lit_put(out, p, lit, lit_off, L_SEEN_POS)
        p = _dec_put(out, p, _since(now, pos_t), 1)
        if p < 0:
            return -1
        if last:
            p = _lit_put(out, p, lit, lit_off, L_CLOSE)
        present[N_LAT] = pos_ok
        present[N_LON] = pos_ok
    if has_pos and pos_src != 0:
        source[N_LAT] = pos_src
        source[N_LON] = pos_src
    source[N_NIC] = a["nic_src"]
    ver = a["version"]
    source[N_VERSION] = a["version_src"]
    if ver >= 0 and a["version_src"] != 0:
        p = _lit_put(out, p, lit, lit_off, L_VERSION)
        p = _uint_put(out, p, np.int64(ver))
        present[N_VERSION] = True
    nac = a["nac_p"]
    source[N_NAC_P] = a["nac_p_src"]
    if nac >= 0 and _fresh(a["nac_p_src"], a["nac_p_t"], now, keep_old):
        p = _lit_put(out, p, lit, lit_off, L_NAC_P)
        p = _uint_put(out, p, np.int64(nac))
        present[N_NAC_P] = True
    sil = a["sil"]
    source[N_SIL] = a["sil_src"]
    if sil >= 0 and _fresh(a["sil_src"], a["sil_t"], now, keep_old):
        p = _lit_put(out, p, lit, lit_off, L_SIL)
        p = _uint_put(out, p, np.int64(sil))
        p = _lit_put(out, p, lit, lit_off, L_SIL_TYPE)
        st = a["sil_type"]
        p = _str_put(out, p, sil_data, sil_off, st if st >= 0 else _SIL_UNKNOWN)
        present[N_SIL] = True
    for which in range(2):
        p = _lit_put(out, p, lit, lit_off, L_MLAT if which == 0 else L_TISB)
        want = SRC_MLAT if which == 0 else SRC_TISB
        first = True
        for k in range(N_LIST):
            if present[k] and source[k] == want:
                if not first:
                    p = _lit_put(out, p, lit, lit_off, L_COMMA)
                p = _lit_put(out, p, lit, lit_off, L_NAMES + k)
                first = False
    p = _lit_put(out, p, lit, lit_off, L_MESSAGES)
    p = _uint_put(out, p, np.int64(a["messages"]))
    seen = _since(now, a["seen_t"])
    if math.isfinite(seen):
        p = _lit_put(out, p, lit, lit_off, L_SEEN)
        p = _dec_put(out, p, seen, 1)
        if p < 0:
            return -1
    rssi = _rssi_dbfs(a["signal"])
    if math.isnan(rssi):
        p = _lit_put(out, p, lit, lit_off, L_RSSI)
        p = _dec_put(out, p, -49.5, 1)
    elif math.isfinite(rssi):
        p = _lit_put(out, p, lit, lit_off, L_RSSI)
        p = _dec_put(out, p, rssi, 1)
        if p < 0:
            return -1
    return _lit_put(out, p, lit, lit_off, L_CLOSE)


@_kernel
def _write_rows(  # type: ignore[no-untyped-def]
    out, rows, now, keep_old, json_reliable, lit, lit_off, str_data, str_off, cs_data, cs_off,
    type_data, type_off, sil_data, sil_off, id_data, id_off, id_slots, fallback, present, source,
):
    """Every record, comma separated; a row needing aircraft_record gets only its comma and
    ``fallback[i] = p``, the place to put it. Returns the end. (``present``, ``source``:
    scratch, one per list name.)"""
    p = 0
    for i in range(rows.size):
        if i > 0:
            out[p] = 44
            p += 1
        q = _write_row(out, p, rows[i], now, keep_old, json_reliable, lit, lit_off, str_data,
                       str_off, cs_data, cs_off, type_data, type_off, sil_data, sil_off,
                       id_data, id_off, id_slots[i], present, source)
        if q < 0:
            fallback[i] = p
        else:
            p = q
    return p


def records_json(
    rows: npt.NDArray[np.void],
    now_s: float,
    strings: EncodedStrings,
    *,
    json_reliable: int,
    identities: tuple[npt.NDArray[np.int32], Pool] | None = None,
    keep_old: bool = False,
    record: Callable[[int], bytes] | None = None,
) -> bytes:
    """The ``aircraft`` array of ``aircraft.json`` (``[...]``) written from the tracker's
    records (:data:`~overflight.tracking.state.STATE_DTYPE`): the bytes ``jsonout.dumps``
    writes for :func:`aircraft_record` of each :meth:`Tracker.state_of_row`.

    Args:
        rows: the records, in the order to write them.
        now_s: the snapshot time (epoch seconds).
        strings: the tracker's interned strings, encoded (:meth:`InternedJson.sync`).
        json_reliable: the tracker's ``json_reliable`` (reliability counters needed).
        identities: per row, an entry of a pool of :func:`identity_json` (-1: none).
        keep_old: as :func:`aircraft_record`.
        record: row number -> the record's bytes by :func:`aircraft_record`, for a row with a
            value beyond what the compiled writer writes (magnitudes over 2**52); needed only
            when such a row exists.
    """
    n = len(rows)
    if n == 0:
        return b"[]"
    str_data, str_off = strings.plain
    cs_data, cs_off = strings.callsigns
    if identities is None:
        slots = np.full(n, -1, np.int32)
        id_data, id_off = _NO_POOL
    else:
        slots = np.asarray(identities[0], np.int32)
        id_data, id_off = identities[1]
    bound = n * ROW_BYTES + 2
    for off in (cs_off, str_off, str_off, id_off):  # callsign, category, emergency, identity
        if off.size > 1:
            bound += n * int(np.diff(off).max())
    out = np.empty(bound, np.uint8)
    out[0] = 91  # [
    fallback = np.full(n, -1, np.int64)
    end = _write_rows(out[1:], rows, float(now_s), bool(keep_old), int(json_reliable),
                      *_LITERALS, str_data, str_off, cs_data, cs_off, *_TYPE_NAMES,
                      *_SIL_TYPE_NAMES, id_data, id_off, slots, fallback,
                      np.zeros(N_LIST, np.bool_), np.zeros(N_LIST, np.int64))
    out[end + 1] = 93  # ]
    body = out[: end + 2]
    todo = np.flatnonzero(fallback >= 0)
    if todo.size == 0:
        return body.tobytes()
    if record is None:
        raise ValueError(f"{todo.size} records need aircraft_record and no record() was given")
    parts: list[bytes] = []
    at = 0
    for i in todo.tolist():
        cut = int(fallback[i]) + 1  # +1: the "[" before the kernel's output
        parts.append(body[at:cut].tobytes())
        parts.append(record(i))
        at = cut
    parts.append(body[at:].tobytes())
    return b"".join(parts)


def document_json(records: bytes, now_s: float, messages: int,
                  extra: dict[str, Any] | None = None) -> bytes:
    """The whole document around an ``aircraft`` array written by :func:`records_json`: the
    bytes ``jsonout.dumps`` writes for :func:`aircraft_json` (``extra`` keys last)."""
    head = dumps(_head(now_s, messages))[:-1] + ',"aircraft":'
    tail = "," + dumps(extra)[1:] if extra else "}"
    return head.encode() + records + tail.encode()
