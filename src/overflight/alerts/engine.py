"""The alert engine: a station subscriber that evaluates rules over the live update stream.

Work is done on whole columns of each update, never per position in Python:

* **positions**: each row's aircraft slot by a sorted-key search, each aircraft's last
  position of the batch, every (aircraft, area) pair inside an area from a spatial index in C
  (:class:`~overflight.alerts.places.AreaIndex`), crossings as set differences of sorted
  integer keys against the previous state. Python runs only per crossing (rare).
* **events** (first seen, take-off, landing, emergency, callsign / squawk changed): few rows;
  the rules of the event's kind are filtered by the aircraft's selection row (a boolean
  vector over the rules, computed once per aircraft from its identity via inverted indexes).
* **integrity** (the NIC / NACp each position carries, as of its frame): drops found per
  aircraft in time order by comparing each known value with the one before it.
* **silent**: aircraft whose last position was inside an area and who have not been heard
  for N minutes (station clock), checked every few station seconds.

One alert per rule, aircraft and occurrence (the alert id is a hash of the three: a replay
gives the same ids); a cool-down per rule and aircraft suppresses the next occurrences for
``cooldown_min``. Each alert carries its evidence: the aircraft's positions around the
trigger with the frames (by station ``seq``) that made them, their receivers and bytes.
Times are the station's (message times, UTC epoch seconds), so a replayed capture alerts as
the live feed did.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from overflight.alerts.places import AreaIndex, airport_country, country_at
from overflight.alerts.rules import Area, Rule, RuleSet, attr_getter

__all__ = ["Alert", "AlertEngine", "EngineStats"]

log = logging.getLogger("overflight.alerts")

SILENT_CHECK_EVERY_S = 5.0
HISTORY = 16
"""Ring rows of each aircraft's last positions kept at hand for evidence."""
AREA_SAMPLE_S = 5.0
"""Positions are tested against areas at most once per aircraft per this many seconds
(station clock) and at each batch's last position: a crossing is dated to this precision."""
COMPACT_EVERY_S = 600.0
KEEP_AIRCRAFT_S = 2 * 3600.0
SOURCES = ("adsb", "mlat", "tisb", "adsr", "modes", "other")
_SOURCES_ARR = pa.array(SOURCES[:-1])
_EVENT_KIND = {"first_seen": "first_seen", "takeoff": "took_off", "landing": "landed",
               "emergency": "emergency", "callsign_changed": "callsign_changed",
               "squawk_changed": "squawk_changed"}


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert. ``id`` is stable (rule, aircraft, occurrence); ``detail`` is plain text
    (untrusted parts included: escape it where it is shown); ``evidence`` holds
    ``positions`` (with ``frame_seq`` / ``pair_frame_seq``), ``frames`` (``seq, time_s,
    receiver, raw`` hex) and ``receivers``."""

    id: str
    rule: str
    kind: str
    time_s: float
    address: int
    non_icao: bool
    icao24: str
    callsign: str | None
    registration: str | None
    type_code: str | None
    operator: str | None
    country_code: str | None
    military: bool
    lat_deg: float | None
    lon_deg: float | None
    airport: str | None
    flight_id: str | None
    detail: str
    notify: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)
    flight_time_s: float | None = None
    """When the aircraft was last heard at the alert (UTC epoch s): its flight is the one
    flying then (the alert's time, but a silent alert's is the last time it was heard)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (strict JSON through ``overflight.jsonout.dumps``)."""
        return {
            "id": self.id, "rule": self.rule, "kind": self.kind, "time_s": self.time_s,
            "time": _iso(self.time_s), "address": self.address, "non_icao": self.non_icao,
            "icao24": self.icao24, "callsign": self.callsign,
            "registration": self.registration, "type_code": self.type_code,
            "operator": self.operator, "country_code": self.country_code,
            "military": self.military, "lat_deg": self.lat_deg, "lon_deg": self.lon_deg,
            "airport": self.airport, "flight_id": self.flight_id, "detail": self.detail,
            "notify": list(self.notify), "evidence": self.evidence,
            "flight_time_s": self.flight_time_s,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Alert:
        return cls(
            id=d["id"], rule=d["rule"], kind=d["kind"], time_s=float(d["time_s"]),
            address=int(d["address"]), non_icao=bool(d["non_icao"]), icao24=d["icao24"],
            callsign=d.get("callsign"), registration=d.get("registration"),
            type_code=d.get("type_code"), operator=d.get("operator"),
            country_code=d.get("country_code"), military=bool(d.get("military")),
            lat_deg=d.get("lat_deg"), lon_deg=d.get("lon_deg"), airport=d.get("airport"),
            flight_id=d.get("flight_id"), detail=d.get("detail", ""),
            notify=tuple(d.get("notify", ())), evidence=d.get("evidence") or {},
            flight_time_s=d.get("flight_time_s"),
        )


def _iso(t: float) -> str:
    if not math.isfinite(t):
        return ""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(slots=True)
class EngineStats:
    """Counts since the start: updates by kind, positions and events evaluated, alerts fired,
    occurrences suppressed by the cool-down, seconds spent evaluating, rule reloads."""

    updates: dict[str, int] = field(default_factory=dict)
    positions: int = 0
    events: int = 0
    alerts: int = 0
    suppressed: int = 0
    eval_s: float = 0.0
    reloads: int = 0
    sink_failures: int = 0


_EXACT = ("military", "watchlist", "watch_class", "category", "tag", "country", "type",
          "address")
_GLOB = ("operator", "registration")


def _field_values(f: str, address: int, ident: Any) -> tuple[Any, ...]:
    """The values of selector field ``f`` of an aircraft (as the rules' indexes key them)."""
    g = attr_getter(ident)
    if f == "military":
        return (bool(g("military")),)
    if f == "watchlist":
        return (bool(g("categories") or g("watch_class")),)
    if f == "watch_class":
        return ((g("watch_class") or "").lower(),)
    if f == "category":
        return tuple(sorted({str(c).lower() for c in (g("categories") or ())}))
    if f == "tag":
        return tuple(sorted({str(c).lower() for c in (g("tags") or ())}))
    if f == "country":
        return ((g("country_code") or "").upper(),)
    if f == "type":
        return ((g("type_code") or "").upper(),)
    if f == "address":
        return (address,)
    if f == "operator":
        return ((g("operator") or "").lower(),)
    return ((g("registration") or "").upper(),)


_NO_IDENTITY = {f: _field_values(f, 0, None) for f in (*_EXACT, *_GLOB)}
"""The field values of an aircraft without an identity (the address aside)."""


class _Compiled:
    """A rule set prepared for evaluation: rules by kind, inverted selection indexes, the
    distinct areas and their rules."""

    def __init__(self, rs: RuleSet, gen: int) -> None:
        self.gen = gen
        self.rules = rs.rules
        R = len(rs.rules)
        self.R = R
        self.by_kind: dict[str, npt.NDArray[np.intp]] = {}
        for i, r in enumerate(rs.rules):
            self.by_kind.setdefault(r.kind, np.zeros(0, np.intp))
            self.by_kind[r.kind] = np.append(self.by_kind[r.kind], i)
        self.has: dict[str, npt.NDArray[np.bool_]] = {}
        self.inv: dict[str, dict[Any, npt.NDArray[np.intp]]] = {}
        for f in _EXACT:
            has = np.zeros(R, bool)
            inv: dict[Any, list[int]] = {}
            for i, r in enumerate(rs.rules):
                v = getattr(r.select, f)
                if v is None:
                    continue
                has[i] = True
                for x in (v if isinstance(v, frozenset) else (v,)):
                    inv.setdefault(x, []).append(i)
            self.has[f] = has
            self.inv[f] = {k: np.array(v, np.intp) for k, v in inv.items()}
        self.glob: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for f in _GLOB:
            lst = [(i, getattr(r.select, f)) for i, r in enumerate(rs.rules)
                   if getattr(r.select, f) is not None]
            self.glob[f] = lst
            self.has[f] = np.zeros(R, bool)
            for i, _ in lst:
                self.has[f][i] = True
        self.has_cs = np.array([r.select.callsign is not None for r in rs.rules], bool)
        pats: dict[str, list[int]] = {}
        prefixes: dict[str, list[int]] = {}
        for i, r in enumerate(rs.rules):
            for pat in r.select.callsign or ():
                head = pat[:-1]
                if pat.endswith("*") and not any(ch in head for ch in "*?[]"):
                    prefixes.setdefault(head, []).append(i)  # "AFL*": a dictionary look-up
                else:
                    pats.setdefault(pat, []).append(i)
        self.cs_patterns = [(pat, np.array(ids, np.intp)) for pat, ids in pats.items()]
        self.cs_prefix = {k: np.array(v, np.intp) for k, v in prefixes.items()}
        self.cs_prefix_lengths = sorted({len(k) for k in prefixes})
        self._cs_cache: dict[str, npt.NDArray[np.bool_]] = {}
        # the selector fields some rule uses, and the rules without each
        self.used = tuple(f for f in (*_EXACT, *_GLOB) if self.has[f].any())
        self.not_has = {f: ~self.has[f] for f in self.used}
        self._sel_cache: dict[tuple[Any, ...], npt.NDArray[np.bool_]] = {}
        # areas
        keys: dict[tuple[Any, ...], int] = {}
        areas: list[Area] = []
        self.rule_area = np.full(R, -1, np.intp)
        for i, r in enumerate(rs.rules):
            a = r.area
            if a is None:
                continue
            k = a.key
            if k not in keys:
                keys[k] = len(areas)
                areas.append(a)
            self.rule_area[i] = keys[k]
        self.index = AreaIndex(areas) if areas else None
        self.A = max(1, len(areas))
        self.area_rules: dict[str, list[npt.NDArray[np.intp]]] = {}
        for kind in ("entered", "left"):
            ids = self.by_kind.get(kind, np.zeros(0, np.intp))
            self.area_rules[kind] = [ids[self.rule_area[ids] == a] for a in range(self.A)]
        self.silent: list[tuple[int, float, npt.NDArray[np.intp]]] = []
        groups: dict[tuple[int, float], list[int]] = {}
        for i in self.by_kind.get("silent", np.zeros(0, np.intp)).tolist():
            groups.setdefault((int(self.rule_area[i]), float(rs.rules[i].params["minutes"])),
                              []).append(i)
        for (ga, gm), gids in groups.items():
            self.silent.append((ga, gm * 60.0, np.array(gids, np.intp)))
        self.max_silent_s = max((s for _, s, _ in self.silent), default=0.0)
        integ = self.by_kind.get("integrity", np.zeros(0, np.intp))
        self.integrity: list[tuple[str, int, npt.NDArray[np.intp]]] = []
        tg: dict[tuple[str, int], list[int]] = {}
        for i in integ.tolist():
            for which in ("nic_below", "nacp_below"):
                if which in rs.rules[i].params:
                    tg.setdefault((which, int(rs.rules[i].params[which])), []).append(i)
        for (which, th), tids in tg.items():
            self.integrity.append((which, th, np.array(tids, np.intp)))

    def select_row(self, address: int, ident: Any) -> npt.NDArray[np.bool_]:
        """Which rules select this aircraft, callsign conditions aside (bool over rules; do
        not modify it: aircraft alike in every field the rules look at share one)."""
        if ident is None:
            profile = tuple((address,) if f == "address" else _NO_IDENTITY[f]
                            for f in self.used)
        else:
            profile = tuple(_field_values(f, address, ident) for f in self.used)
        row = self._sel_cache.get(profile)
        if row is not None:
            return row
        import fnmatch

        sel = np.ones(self.R, bool)
        for f, values in zip(self.used, profile, strict=True):
            if f in self.inv:
                ok = self.not_has[f].copy()
                for v in values:
                    idx = self.inv[f].get(v)
                    if idx is not None:
                        ok[idx] = True
            else:
                ok = self.not_has[f].copy()
                text = values[0]
                if text:
                    for i, pats in self.glob[f]:
                        if any(fnmatch.fnmatchcase(text, p) for p in pats):
                            ok[i] = True
            sel &= ok
        if len(self._sel_cache) > 100_000:
            self._sel_cache.clear()
        self._sel_cache[profile] = sel
        return sel

    def callsign_row(self, callsign: str | None) -> npt.NDArray[np.bool_]:
        """Which rules the callsign conditions allow (bool over rules; do not modify it)."""
        key = (callsign or "").strip().upper()
        row = self._cs_cache.get(key)
        if row is None:
            import fnmatch

            row = ~self.has_cs
            if key:
                for n in self.cs_prefix_lengths:
                    ids = self.cs_prefix.get(key[:n]) if len(key) >= n else None
                    if ids is not None:
                        row[ids] = True
                for pat, ids in self.cs_patterns:
                    if fnmatch.fnmatchcase(key, pat):
                        row[ids] = True
            if len(self._cs_cache) > 100_000:
                self._cs_cache.clear()
            self._cs_cache[key] = row
        return row


class AlertEngine:
    """Evaluates a :class:`RuleSet` over station updates and hands each :class:`Alert` to
    ``sink`` (on the engine's thread; keep it quick: the service stores and queues it).

    Args:
        rules: the validated rules (swap them with :meth:`set_rules`).
        identify: ``address -> AircraftIdentity | None`` (default: the station's, when
            attached; else no identities).
        sink: called with every alert.
        recent: how many alerts :attr:`recent` keeps.
        position_ring, frame_ring: how many recent positions and frames are kept for
            evidence.
    """

    name = "alerts"
    KINDS = frozenset({"frames", "positions", "changed", "events"})

    def __init__(
        self,
        rules: RuleSet,
        *,
        identify: Callable[[int], Any] | None = None,
        sink: Callable[[Alert], None] | None = None,
        recent: int = 1000,
        position_ring: int = 1 << 18,
        frame_ring: int = 1 << 18,
    ) -> None:
        self._lock = threading.RLock()
        self._gen = 0
        self._c = _Compiled(rules, 0)
        self.rules = rules
        self.identify = identify
        self.sink = sink
        self.stats = EngineStats()
        self.recent: deque[Alert] = deque(maxlen=recent)
        self.now_s = -math.inf
        # aircraft slots
        self._cap = 0
        self._n = 0
        self._keys_sorted = np.zeros(0, np.int64)
        self._slots_sorted = np.zeros(0, np.int32)
        self._key = np.zeros(0, np.int64)
        self._heard = np.zeros(0, np.float64)
        self._had_pos = np.zeros(0, bool)
        self._area_gen = np.zeros(0, np.int32)
        self._area_bucket = np.zeros(0, np.int64)
        """Per aircraft: the AREA_SAMPLE_S bucket of its last position tested against areas."""
        self._cs = np.zeros(0, np.int32)
        self._nic = np.zeros(0, np.int8)
        self._nacp = np.zeros(0, np.int8)
        self._hist = np.full((0, HISTORY), -1, np.int64)
        self._hist_ptr = np.zeros(0, np.int32)
        self._ident: dict[int, Any] = {}
        self._sel: dict[int, npt.NDArray[np.bool_]] = {}
        self._grow(1024)
        # callsign interning
        self._cs_values: list[str] = []
        self._cs_index: dict[str, int] = {}
        self._cs_arrow = pa.array([], pa.string())
        self._cs_dirty = False
        # geofence state: sorted slot * A + area keys currently inside
        self._inside = np.zeros(0, np.int64)
        # dedupe and cool-down
        self._fired: dict[str, float] = {}
        self._last_fire: dict[tuple[str, int], float] = {}
        self._silent_fired: dict[tuple[str, int], float] = {}
        self._ev_cache: dict[tuple[int, float], dict[str, Any]] = {}
        self._last_silent_check = -math.inf
        self._last_compact = -math.inf
        # evidence rings
        self._pr = position_ring
        self._p_key = np.full(position_ring, -1, np.int64)
        self._p_t = np.full(position_ring, np.nan)
        self._p_lat = np.zeros(position_ring)
        self._p_lon = np.zeros(position_ring)
        self._p_alt = np.full(position_ring, np.nan)
        self._p_seq = np.full(position_ring, -1, np.int64)
        self._p_pair = np.full(position_ring, -1, np.int64)
        self._p_src = np.zeros(position_ring, np.int8)
        self._p_next = 0
        self._fr = frame_ring
        self._f_seq = np.full(frame_ring, -1, np.int64)
        self._f_t = np.full(frame_ring, np.nan)
        self._f_rx = np.zeros(frame_ring, np.uint64)
        self._f_len = np.zeros(frame_ring, np.uint8)
        self._f_raw = np.zeros((frame_ring, 14), np.uint8)

    # ------------------------------------------------------------------ rules
    def set_rules(self, rules: RuleSet) -> None:
        """Use ``rules`` from the next update on. Aircraft already inside an area when the
        rules change do not 'enter' it again; dedupe and cool-down carry over by rule name."""
        with self._lock:
            self._gen += 1
            self._c = _Compiled(rules, self._gen)
            self.rules = rules
            self._inside = np.zeros(0, np.int64)
            self._sel.clear()
            self.stats.reloads += 1

    # ------------------------------------------------------------------ wiring
    def attach(self, station: Any, *, queue_size: int = 4096, block: bool | None = None) -> Any:
        """Subscribe to ``station`` (as "alerts"); returns the subscription. ``block``
        (default: True for file runs, False live) waits for room in the queue instead of
        dropping updates."""
        if self.identify is None:
            self.identify = station.identify
        if block is None:
            block = not station.config.is_live
        return station.subscribe(self, name="alerts", kinds=self.KINDS, queue_size=queue_size,
                                 block=block)

    # ------------------------------------------------------------------ updates
    def on_update(self, update: Any) -> None:
        """Evaluate one station update (any kind; those it does not use are ignored)."""
        name = getattr(update, "name", None)
        if name not in self.KINDS:
            return
        t0 = time.perf_counter()
        with self._lock:
            self.stats.updates[name] = self.stats.updates.get(name, 0) + 1
            c = self._c
            if name == "frames":
                self._frames(update)
            elif name == "positions":
                self._positions(update.table, c)
            elif name == "changed":
                self._changed(update.table, float(update.time_s), c)
            elif name == "events":
                self._events(update.table, c)
            self._housekeeping(c)
            self._ev_cache.clear()
        self.stats.eval_s += time.perf_counter() - t0

    __call__ = on_update

    # ------------------------------------------------------------------ slots
    def _grow(self, cap: int) -> None:
        def g(a: npt.NDArray[Any], fill: Any) -> npt.NDArray[Any]:
            out = np.full(cap, fill, a.dtype)
            out[: a.size] = a
            return out

        self._key = g(self._key, -1)
        self._heard = g(self._heard, -np.inf)
        self._had_pos = g(self._had_pos, False)
        self._area_gen = g(self._area_gen, -1)
        self._area_bucket = g(self._area_bucket, _NO_BUCKET)
        self._cs = g(self._cs, -1)
        self._nic = g(self._nic, -1)
        self._nacp = g(self._nacp, -1)
        self._hist_ptr = g(self._hist_ptr, 0)
        h = np.full((cap, HISTORY), -1, np.int64)
        h[: self._hist.shape[0]] = self._hist
        self._hist = h
        self._cap = cap

    def _slots(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        ks = self._keys_sorted
        if ks.size:
            pos = np.minimum(np.searchsorted(ks, keys), ks.size - 1)
            found = ks[pos] == keys
        else:
            pos = np.zeros(keys.size, np.intp)
            found = np.zeros(keys.size, bool)
        if found.all():
            return self._slots_sorted[pos]
        new = np.unique(keys[~found])
        need = self._n + new.size
        if need > self._cap:
            self._grow(max(need, 2 * self._cap))
        slots = np.arange(self._n, need, dtype=np.int32)
        self._key[self._n:need] = new
        self._n = need
        allk = np.concatenate([ks, new])
        alls = np.concatenate([self._slots_sorted, slots])
        order = np.argsort(allk, kind="stable")
        self._keys_sorted = allk[order]
        self._slots_sorted = alls[order]
        return self._slots(keys)

    def _identity(self, slot: int) -> Any:
        if slot in self._ident:
            return self._ident[slot]
        key = int(self._key[slot])
        ident = None
        if self.identify is not None and not key >> 24:
            try:
                ident = self.identify(key & 0xFFFFFF)
            except Exception:
                ident = None
        self._ident[slot] = ident
        return ident

    def _selected(self, slot: int, rules: npt.NDArray[np.intp], c: _Compiled,
                  callsign: str | None = None) -> list[int]:
        if rules.size == 0:
            return []
        row = self._sel.get(slot)
        if row is None:
            row = c.select_row(int(self._key[slot]) & 0xFFFFFF, self._identity(slot))
            self._sel[slot] = row
        ok = rules[row[rules]]
        if ok.size and c.has_cs[ok].any():
            cs = callsign if callsign is not None else self._callsign(slot)
            ok = ok[c.callsign_row(cs)[ok]]
        return [int(i) for i in ok]

    def _callsign(self, slot: int) -> str | None:
        i = int(self._cs[slot])
        return self._cs_values[i] if i >= 0 else None

    def _intern_one(self, s: str) -> int:
        i = self._cs_index.get(s)
        if i is None:
            i = self._cs_index[s] = len(self._cs_values)
            self._cs_values.append(s)
            self._cs_dirty = True
        return i

    def _intern(self, col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int32]:
        """Global ids of a string column (-1 for nulls / blanks), new values added."""
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        if self._cs_dirty:
            self._cs_arrow = pa.array(self._cs_values, pa.string())
            self._cs_dirty = False
        idx = pc.index_in(col, value_set=self._cs_arrow)
        missing = pc.and_(pc.is_null(idx), pc.is_valid(col))
        if pc.any(missing).as_py():
            for s in pc.unique(col.filter(missing)).to_pylist():
                if s is not None and s not in self._cs_index:
                    self._cs_index[s] = len(self._cs_values)
                    self._cs_values.append(s)
            self._cs_arrow = pa.array(self._cs_values, pa.string())
            idx = pc.index_in(col, value_set=self._cs_arrow)
        return np.asarray(idx.fill_null(-1).to_numpy(zero_copy_only=False), np.int32)

    # ------------------------------------------------------------------ frames / positions
    def _frames(self, update: Any) -> None:
        b = update.batch
        n = len(b)
        if n == 0:
            return
        seq = np.arange(update.seq_first, update.seq_first + n, dtype=np.int64)
        if n > self._fr:
            seq, sl = seq[-self._fr:], slice(n - self._fr, n)
        else:
            sl = slice(0, n)
        i = seq % self._fr
        self._f_seq[i] = seq
        self._f_t[i] = b.time_s[sl]
        self._f_rx[i] = b.receiver[sl]
        self._f_len[i] = b.length_bytes[sl]
        self._f_raw[i] = b.data[sl, :14]

    def _positions(self, t: pa.Table, c: _Compiled) -> None:
        n = t.num_rows
        if n == 0:
            return
        self.stats.positions += n

        def col(name: str, dtype: Any, fill: Any = np.nan) -> Any:
            a = t.column(name)
            if a.null_count:
                a = a.fill_null(fill)
            return np.asarray(a.to_numpy(), dtype)

        addr = col("address", np.int64, 0)
        non = col("non_icao", np.int64, 0)
        keys = addr | (non << 24)
        tt = col("time_s", np.float64)
        lat = col("lat_deg", np.float64)
        lon = col("lon_deg", np.float64)
        slots = self._slots(keys)
        # evidence ring
        m = min(n, self._pr)
        ri = (self._p_next + np.arange(m)) % self._pr
        rows = slice(n - m, n)
        self._p_key[ri] = keys[rows]
        self._p_t[ri] = tt[rows]
        self._p_lat[ri] = lat[rows]
        self._p_lon[ri] = lon[rows]
        if "altitude_ft" in t.column_names:
            self._p_alt[ri] = col("altitude_ft", np.float64)[rows]
        if "frame_seq" in t.column_names:
            self._p_seq[ri] = col("frame_seq", np.int64, -1)[rows]
            self._p_pair[ri] = col("pair_frame_seq", np.int64, -1)[rows]
        if "source" in t.column_names:
            src = pc.index_in(t.column("source"), value_set=_SOURCES_ARR).fill_null(
                len(SOURCES) - 1)
            self._p_src[ri] = np.asarray(src.to_numpy(), np.int8)[rows]
        self._p_next = int((self._p_next + m) % self._pr)
        # one sort for all that follows: by aircraft, then time
        order = np.lexsort((np.where(np.isfinite(tt), tt, 0.0), slots))
        self._remember(order[order >= n - m], slots, ri, n - m)
        # clock, callsigns
        np.maximum.at(self._heard, slots, tt)
        tmax = float(np.nanmax(tt))
        if tmax > self.now_s:
            self.now_s = tmax
        if "callsign" in t.column_names and t.column("callsign").null_count < n:
            ids = self._intern(t.column("callsign"))
            ok = ids >= 0
            self._cs[slots[ok]] = ids[ok]
        if c.integrity and "nic" in t.column_names and "nac_p" in t.column_names:
            self._integrity(order, slots, tt, lat, lon, col("nic", np.int8, -1),
                            col("nac_p", np.int8, -1), c)
        if c.index is not None:
            self._areas(order, slots, tt, lat, lon, c)
        else:
            self._had_pos[slots] = True

    def _remember(self, order: npt.NDArray[np.intp], slots: npt.NDArray[np.int32],
                  ri: npt.NDArray[np.int64], first_row: int) -> None:
        """Each aircraft's last :data:`HISTORY` ring rows (a small ring per aircraft):
        ``order`` the batch rows kept in the ring (from ``first_row``, at ring rows ``ri``)
        by aircraft, then time."""
        m = order.size
        if m == 0:
            return
        s_sorted, r_sorted = slots[order], ri[order - first_row]
        start = np.ones(m, bool)
        start[1:] = s_sorted[1:] != s_sorted[:-1]
        run_start = np.flatnonzero(start)
        run_id = np.cumsum(start) - 1
        run_len = np.diff(np.append(run_start, m))
        in_run = np.arange(m) - run_start[run_id]
        keep = run_len[run_id] - 1 - in_run < HISTORY
        skip = run_len - np.minimum(run_len, HISTORY)
        ks = s_sorted[keep]
        pos = (self._hist_ptr[ks] + in_run[keep] - skip[run_id[keep]]) % HISTORY
        self._hist[ks, pos] = r_sorted[keep]
        us = s_sorted[run_start]
        self._hist_ptr[us] = (self._hist_ptr[us] + np.minimum(run_len, HISTORY)) % HISTORY

    def _areas(self, order: npt.NDArray[np.intp], slots: npt.NDArray[np.int32],
               tt: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
               lon: npt.NDArray[np.float64], c: _Compiled) -> None:
        """Crossings of every aircraft in the batch, in time order: positions thinned to one
        per aircraft per :data:`AREA_SAMPLE_S` bucket (across batches) and each aircraft's
        last, tested against every area at once, transitions found by comparing each sample
        with the previous one of its aircraft (the first with the state before the batch).
        ``order``: the batch's rows by aircraft, then time."""
        assert c.index is not None
        A = c.A
        s_sorted = slots[order]
        t_sorted = np.where(np.isfinite(tt[order]), tt[order], 0.0)
        bucket = np.floor(t_sorted / AREA_SAMPLE_S).astype(np.int64)
        n = order.size
        first_of_slot = np.ones(n, bool)
        first_of_slot[1:] = s_sorted[1:] != s_sorted[:-1]
        last_of_slot = np.ones(n, bool)
        last_of_slot[:-1] = first_of_slot[1:]
        # the first of a bucket, unless the aircraft's last tested position (an earlier
        # batch) was in it already, and each aircraft's last
        new_bucket = np.empty(n, bool)
        new_bucket[0] = True
        new_bucket[1:] = bucket[1:] != bucket[:-1]
        fs = s_sorted[first_of_slot]
        new_bucket[first_of_slot] = bucket[first_of_slot] != self._area_bucket[fs]
        self._area_bucket[s_sorted[last_of_slot]] = bucket[last_of_slot]
        keep = order[new_bucket | last_of_slot]
        ss, st = slots[keep], tt[keep]
        sl, so = lat[keep], lon[keep]
        m = keep.size
        first = np.ones(m, bool)
        first[1:] = ss[1:] != ss[:-1]
        last = np.ones(m, bool)
        last[:-1] = first[1:]
        pi, ai = c.index.pairs(sl, so)
        P = _sorted_unique(pi.astype(np.int64) * A + ai)  # sorted already: point, then area
        us = ss[first]
        inside = self._inside
        mold = _in_sorted(inside // A, us) if inside.size else np.zeros(0, bool)
        old = inside[mold]
        # entries: a sample inside whose predecessor (or the state before) was not
        pi, ai = P // A, P % A
        prev_in = np.zeros(P.size, bool)
        f = first[pi]
        if f.any():
            prev_in[f] = _in_sorted(ss[pi[f]].astype(np.int64) * A + ai[f], old)
        nf = ~f
        if nf.any():
            prev_in[nf] = _in_sorted((pi[nf] - 1) * A + ai[nf], P)
        ent_i, ent_a = pi[~prev_in], ai[~prev_in]
        # exits: a sample outside whose predecessor was inside
        lv = ~last[pi]
        nxt = (pi[lv] + 1) * A + ai[lv]
        out = ~_in_sorted(nxt, P)
        left_i, left_a = pi[lv][out] + 1, ai[lv][out]
        if old.size:
            o_slot, o_area = old // A, old % A
            fi = np.flatnonzero(first)[np.searchsorted(us, o_slot)]
            gone = ~_in_sorted(fi.astype(np.int64) * A + o_area, P)
            left_i = np.concatenate([left_i, fi[gone]])
            left_a = np.concatenate([left_a, o_area[gone]])
        lastP = last[pi]
        new_state = _sorted_unique(ss[pi[lastP]].astype(np.int64) * A + ai[lastP])
        if inside.size:  # two sorted sets without a common aircraft: a merge
            merged = np.concatenate([inside[~mold], new_state])
            merged.sort(kind="stable")
            self._inside = merged
        else:
            self._inside = new_state
        stale = us[(self._area_gen[us] != c.gen) & self._had_pos[us]]
        self._area_gen[us] = c.gen
        self._had_pos[us] = True
        if stale.size and ent_i.size:
            # aircraft known before the rules changed: their first sample sets the state
            ok = ~(np.isin(ss[ent_i], stale) & first[ent_i])
            ent_i, ent_a = ent_i[ok], ent_a[ok]
        idx = np.concatenate([ent_i, left_i]).astype(np.intp)
        if idx.size == 0:
            return
        area = np.concatenate([ent_a, left_a]).astype(np.intp)
        is_left = np.concatenate([np.zeros(ent_i.size, bool), np.ones(left_i.size, bool)])
        o = np.lexsort((is_left, st[idx]))  # in time order (entries first at a tie)
        for j, ar, lv in zip(idx[o].tolist(), area[o].tolist(), is_left[o].tolist(),
                             strict=True):
            kind = "left" if lv else "entered"
            rules = c.area_rules[kind][ar]
            if rules.size == 0:
                continue
            slot = int(ss[j])
            for r in self._selected(slot, rules, c):
                a = c.rules[r].area
                self._fire(c, r, slot, float(st[j]), float(sl[j]), float(so[j]),
                           f"{kind} {a.describe() if a else 'the area'}",
                           occurrence=f"{kind}:{round(float(st[j]) * 1000)}")

    # ------------------------------------------------------------------ other updates
    def _changed(self, t: pa.Table, now: float, c: _Compiled) -> None:
        if t.num_rows == 0 or not math.isfinite(now):
            return
        addr = np.asarray(t.column("address").to_numpy(), np.int64)
        non = np.asarray(t.column("non_icao").to_numpy(zero_copy_only=False), np.int64)
        slots = self._slots(addr | (non << 24))
        np.maximum.at(self._heard, slots, now)
        if now > self.now_s:
            self.now_s = now

    def _integrity(self, order: npt.NDArray[np.intp], slots: npt.NDArray[np.int32],
                   tt: npt.NDArray[np.float64], lat: npt.NDArray[np.float64],
                   lon: npt.NDArray[np.float64], nic: npt.NDArray[np.int8],
                   nacp: npt.NDArray[np.int8], c: _Compiled) -> None:
        """NIC / NACp drops below the rules' thresholds: each aircraft's known values in time
        order (``order``: the batch's rows by aircraft, then time), each against the one
        before (the first against the last of earlier batches)."""
        for col, cur_all, state in (("nic", nic, self._nic), ("nac_p", nacp, self._nacp)):
            idx = order[cur_all[order] >= 0]
            if idx.size == 0:
                continue
            s, cur = slots[idx], cur_all[idx]
            first = np.ones(idx.size, bool)
            first[1:] = s[1:] != s[:-1]
            prev = np.empty_like(cur)
            prev[1:] = cur[:-1]
            prev[first] = state[s[first]]
            last = np.ones(idx.size, bool)
            last[:-1] = first[1:]
            state[s[last]] = cur[last]
            name = "nic_below" if col == "nic" else "nacp_below"
            label = "NIC" if col == "nic" else "NACp"
            for k, th, rules in c.integrity:
                if k != name:
                    continue
                for j in np.flatnonzero((prev >= th) & (cur < th)).tolist():
                    slot, row = int(s[j]), int(idx[j])
                    for r in self._selected(slot, rules, c):
                        self._fire(c, r, slot, float(tt[row]), float(lat[row]), float(lon[row]),
                                   f"GNSS integrity dropped: {label} {int(prev[j])} -> "
                                   f"{int(cur[j])} (below {th})",
                                   occurrence=f"{col}:{round(float(tt[row]) * 1000)}")

    def _events(self, t: pa.Table, c: _Compiled) -> None:
        if t.num_rows == 0:
            return
        self.stats.events += t.num_rows
        addr = np.asarray(t.column("address").fill_null(0).to_numpy(), np.int64)
        non = np.asarray(t.column("non_icao").fill_null(False).to_numpy(
            zero_copy_only=False), np.int64)
        slots = self._slots(addr | (non << 24)).tolist()
        for e, slot in zip(t.to_pylist(), slots, strict=True):
            kind = _EVENT_KIND.get(e["kind"])
            if kind is None:
                continue
            cs = e.get("callsign")
            if cs:
                self._cs[slot] = self._intern_one(cs)
            ts = float(e["time_s"])
            if ts > self.now_s:
                self.now_s = ts
            rules = c.by_kind.get(kind)
            if rules is None:
                continue
            for r in self._selected(slot, rules, c, cs):
                self._event_rule(c, r, slot, kind, e)

    def _event_rule(self, c: _Compiled, r: int, slot: int, kind: str, e: dict[str, Any]
                    ) -> None:
        rule: Rule = c.rules[r]
        p = rule.params
        t = float(e["time_s"])
        lat, lon = e.get("lat_deg"), e.get("lon_deg")
        ev_id = str(e.get("event_id") or "")
        airport = e.get("airport")
        if kind == "first_seen":
            day = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")
            self._fire(c, r, slot, t, lat, lon, "first seen today", occurrence=f"day:{day}",
                       event_id=ev_id)
            return
        if kind in ("took_off", "landed"):
            country = airport_country(airport)
            if country is None and lat is not None and lon is not None and (
                    "country" in p or p.get("outside_country_of_registration")):
                country = country_at([lat], [lon])[0]
            if "airport" in p and (airport or "").upper() not in p["airport"]:
                return
            if "country" in p and country not in p["country"]:
                return
            reg_country = getattr(self._identity(slot), "country_code", None)
            if p.get("outside_country_of_registration") and (
                    not country or not reg_country or country == str(reg_country).upper()):
                return
            verb = "took off from" if kind == "took_off" else "landed at"
            where = airport or (f"{lat:.4f}, {lon:.4f}" if lat is not None and lon is not None
                                else "an unknown place")
            detail = f"{verb} {where}" + (f" ({country})" if country else "")
            if p.get("outside_country_of_registration"):
                detail += f", registered in {reg_country}"
            self._fire(c, r, slot, t, lat, lon, detail,
                       occurrence=f"{kind}:{e.get('flight_id') or ev_id}", airport=airport,
                       flight_id=e.get("flight_id"), event_id=ev_id)
            return
        if kind == "emergency":
            code = str(e.get("after") or e.get("squawk") or "").lower()
            if "squawk" in p and code not in p["squawk"]:
                return
            self._fire(c, r, slot, t, lat, lon, f"emergency: {code or 'declared'}",
                       occurrence=f"emergency:{code}:{ev_id}", event_id=ev_id)
            return
        if kind in ("callsign_changed", "squawk_changed"):
            after = e.get("after")
            if "to" in p and after not in p["to"]:
                return
            what = "callsign" if kind == "callsign_changed" else "squawk"
            self._fire(c, r, slot, t, lat, lon,
                       f"{what} changed: {e.get('before')} -> {after}",
                       occurrence=f"{kind}:{ev_id}", event_id=ev_id)

    # ------------------------------------------------------------------ silent, upkeep
    def _housekeeping(self, c: _Compiled) -> None:
        now = self.now_s
        if not math.isfinite(now):
            return
        if c.silent and now - self._last_silent_check >= SILENT_CHECK_EVERY_S:
            self._last_silent_check = now
            self._silent(c, now)
        if now - self._last_compact >= COMPACT_EVERY_S:
            self._last_compact = now
            self._compact(c, now)

    def _silent(self, c: _Compiled, now: float) -> None:
        inside = self._inside
        if inside.size == 0:
            return
        slot = (inside // c.A).astype(np.intp)
        area = inside % c.A
        quiet = now - self._heard[slot]
        for a, after_s, rules in c.silent:
            hit = np.flatnonzero((area == a) & (quiet >= after_s))
            for j in hit.tolist():
                s = int(slot[j])
                heard = float(self._heard[s])
                for r in self._selected(s, rules, c):
                    name = c.rules[r].name
                    if self._silent_fired.get((name, s)) == heard:
                        continue
                    self._silent_fired[(name, s)] = heard
                    last = self._last_position(int(self._key[s]))
                    area_obj = c.rules[r].area
                    self._fire(c, r, s, heard + after_s,
                               last[0] if last else None, last[1] if last else None,
                               f"silent for {after_s / 60:g} min after being seen in "
                               f"{area_obj.describe() if area_obj else 'the area'}",
                               occurrence=f"silent:{round(heard * 1000)}", seen_s=heard)

    def _last_position(self, key: int) -> tuple[float, float] | None:
        idx = np.flatnonzero(self._p_key == key)
        if idx.size == 0:
            return None
        j = idx[np.nanargmax(self._p_t[idx])]
        return float(self._p_lat[j]), float(self._p_lon[j])

    def _compact(self, c: _Compiled, now: float) -> None:
        keep_s = max(KEEP_AIRCRAFT_S, c.max_silent_s + 3600.0)
        horizon = 2 * 86400.0
        self._fired = {k: v for k, v in self._fired.items() if now - v < horizon}
        self._last_fire = {k: v for k, v in self._last_fire.items() if now - v < horizon}
        n = self._n
        alive = self._heard[:n] >= now - keep_s
        if alive.all():
            return
        old = np.flatnonzero(alive).astype(np.int32)
        remap = np.full(max(n, 1), -1, np.int64)
        remap[old] = np.arange(old.size)
        h = np.full_like(self._hist, -1)
        h[: old.size] = self._hist[old]
        self._hist = h
        for name in ("_key", "_heard", "_had_pos", "_area_gen", "_area_bucket", "_cs", "_nic",
                     "_nacp", "_hist_ptr"):
            a = getattr(self, name)
            b = np.full(self._cap, _FILL[name], a.dtype)
            b[: old.size] = a[old]
            setattr(self, name, b)
        self._n = int(old.size)
        order = np.argsort(self._key[: self._n], kind="stable")
        self._keys_sorted = self._key[: self._n][order]
        self._slots_sorted = order.astype(np.int32)
        self._ident = {int(remap[s]): v for s, v in self._ident.items() if remap[s] >= 0}
        self._sel = {int(remap[s]): v for s, v in self._sel.items() if remap[s] >= 0}
        self._silent_fired = {(nm, int(remap[s])): v for (nm, s), v in
                              self._silent_fired.items() if remap[s] >= 0}
        if self._inside.size:
            s = self._inside // c.A
            a = self._inside % c.A
            ns = remap[s]
            ok = ns >= 0
            self._inside = np.sort(ns[ok] * c.A + a[ok])

    # ------------------------------------------------------------------ firing
    def _evidence(self, key: int, t: float, slot: int) -> dict[str, Any]:
        idx = self._hist[slot]
        idx = idx[idx >= 0]
        idx = idx[self._p_key[idx] == key]
        if idx.size == HISTORY and not (self._p_t[idx] <= t + 1.0).any():
            # older than the aircraft's last rows (with fewer, the ring holds all it has)
            idx = np.flatnonzero(self._p_key == key)
        positions: list[dict[str, Any]] = []
        frames: list[dict[str, Any]] = []
        rx: set[int] = set()
        if idx.size:  # whole columns to Python at once (this runs per alert)
            tt = self._p_t[idx]
            order = np.argsort(np.abs(tt - t), kind="stable")[:8]
            sel = idx[order]
            sel = sel[np.argsort(self._p_t[sel], kind="stable")]
            seq, pair = self._p_seq[sel].tolist(), self._p_pair[sel].tolist()
            for ts, la, lo, alt, src, q, pq in zip(
                    self._p_t[sel].tolist(), self._p_lat[sel].tolist(),
                    self._p_lon[sel].tolist(), self._p_alt[sel].tolist(),
                    self._p_src[sel].tolist(), seq, pair, strict=True):
                positions.append({
                    "time_s": ts, "lat_deg": la, "lon_deg": lo,
                    "altitude_ft": alt if math.isfinite(alt) else None,
                    "source": SOURCES[src], "frame_seq": q, "pair_frame_seq": pq,
                })
            fs = np.array(sorted({q for q in seq + pair if q >= 0}), np.int64)
            fi = fs % self._fr
            held = self._f_seq[fi] == fs
            for q, ok, ft, r, n, raw in zip(
                    fs.tolist(), held.tolist(), self._f_t[fi].tolist(), self._f_rx[fi].tolist(),
                    self._f_len[fi].tolist(), [b.tobytes() for b in self._f_raw[fi]],
                    strict=True):
                if not ok:
                    frames.append({"seq": q})
                    continue
                rx.add(r)
                frames.append({"seq": q, "time_s": ft if math.isfinite(ft) else None,
                               "receiver": r, "raw": raw[:n].hex()})
        return {"positions": positions, "frames": frames, "receivers": sorted(rx)}

    def _fire(self, c: _Compiled, r: int, slot: int, t: float, lat: float | None,
              lon: float | None, detail: str, *, occurrence: str, airport: str | None = None,
              flight_id: str | None = None, event_id: str | None = None,
              seen_s: float | None = None) -> None:
        rule = c.rules[r]
        key = int(self._key[slot])
        icao24 = ("~" if key >> 24 else "") + f"{key & 0xFFFFFF:06x}"
        aid = "al-" + hashlib.sha256(
            f"{rule.name}\x1f{icao24}\x1f{occurrence}".encode()).hexdigest()[:24]
        if aid in self._fired:
            return
        self._fired[aid] = t
        last = self._last_fire.get((rule.name, key))
        if last is not None and 0 <= t - last < rule.cooldown_s:
            self.stats.suppressed += 1
            return
        self._last_fire[(rule.name, key)] = t
        ident = self._identity(slot)
        g = attr_getter(ident)
        ck = (key, t)
        ev = self._ev_cache.get(ck)
        if ev is None:
            ev = self._evidence(key, t, slot)
            self._ev_cache[ck] = ev
        ev = dict(ev)
        if event_id:
            ev["event_id"] = event_id
        alert = Alert(
            id=aid, rule=rule.name, kind=rule.kind, time_s=t, address=key & 0xFFFFFF,
            non_icao=bool(key >> 24), icao24=icao24, callsign=self._callsign(slot),
            registration=g("registration"), type_code=g("type_code"), operator=g("operator"),
            country_code=g("country_code"), military=bool(g("military")),
            lat_deg=lat, lon_deg=lon, airport=airport, flight_id=flight_id, detail=detail,
            notify=rule.notify, evidence=ev,
            flight_time_s=t if seen_s is None else seen_s,
        )
        self.stats.alerts += 1
        self.recent.append(alert)
        if self.sink is not None:
            try:
                self.sink(alert)
            except Exception:
                self.stats.sink_failures += 1
                log.exception("alert sink failed")


def _in_sorted(x: npt.NDArray[Any], sorted_set: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """``np.isin(x, sorted_set)`` for a sorted ``sorted_set`` (a binary search, no sort)."""
    if sorted_set.size == 0:
        return np.zeros(x.shape, bool)
    i = np.searchsorted(sorted_set, x)
    i[i == sorted_set.size] = 0
    return np.asarray(sorted_set[i] == x)


def _sorted_unique(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``np.unique(keys)``, in one pass when they are strictly increasing already."""
    if keys.size < 2 or bool((keys[1:] > keys[:-1]).all()):
        return keys
    return np.unique(keys)


_NO_BUCKET = np.iinfo(np.int64).min

_FILL: dict[str, Any] = {"_area_bucket": _NO_BUCKET, "_key": -1, "_heard": -np.inf,
                         "_had_pos": False, "_area_gen": -1,
                         "_cs": -1, "_nic": -1, "_nacp": -1, "_hist_ptr": 0}
