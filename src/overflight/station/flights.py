"""Live flights inside the station: bounded memory and bounded work however long it runs.

The flight finder (:func:`overflight.flights.build.find_flights`) is a pure function of a
position table; live, it is re-run at most every ``every_s`` station seconds and only over the
aircraft that had new positions since (the others' flights cannot have changed). Each
aircraft's buffer holds the positions since its last closed flight, thinned in cruise (every
position below :data:`DENSE_BELOW_FT` or on the ground, else one per :data:`CRUISE_EVERY_S`):
take-off and landing keep every point, a ten-hour cruise costs a few thousand rows.

A flight closes (emitted once) when a later flight of the same aircraft has begun, when the
aircraft has been silent longer than any gap that could still continue it (:data:`SILENCE_S`),
or at :meth:`StationFlights.flush`. Take-off and landing events are raised when a leg's
departure or arrival becomes known (observed or inferred), once per leg.

Evidence: beside each buffer, the frame sequence number of every kept position (from the
positions' ``frame_seq``), so a take-off, a landing and a closed leg name the frames they rest
on (:class:`FlightEvidence`: the position nearest each end, the leg's first and last).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from overflight.flights.records import HOW_INFERRED, HOW_OBSERVED, Flight
from overflight.flights.table import PositionTable, concat, from_arrow

__all__ = [
    "CRUISE_EVERY_S",
    "DENSE_BELOW_FT",
    "SETTLE_S",
    "SILENCE_S",
    "FlightEnd",
    "FlightEvidence",
    "StationFlights",
    "positions_for_flights",
]

SILENCE_S = 12 * 3600.0
"""An aircraft silent this long has finished its flight (no gap continues a leg longer)."""
DENSE_BELOW_FT = 10_000.0
"""Below this altitude (and on the ground, or with no altitude) every position is kept."""
CRUISE_EVERY_S = 15.0
"""Above it, one position per this many seconds is kept for flight detection."""
SETTLE_S = 90.0
"""A take-off or landing is announced once the aircraft has been heard this long after it (or
its flight closed), so that the roll-out or climb-out has fixed the runway and the airport."""

_KNOWN = (HOW_OBSERVED, HOW_INFERRED)


@dataclass(frozen=True, slots=True)
class FlightEnd:
    """A take-off or landing that became known: ``kind`` "takeoff" or "landing";
    ``frame_seq``: the frame of the position nearest the end's time (-1 unknown)."""

    kind: str
    flight: Flight
    frame_seq: int = -1


@dataclass(frozen=True, slots=True)
class FlightEvidence:
    """The frames a closed leg rests on (station sequence numbers, -1 unknown): the positions
    nearest its departure and arrival times, and its first and last positions."""

    departure_frame_seq: int = -1
    arrival_frame_seq: int = -1
    first_frame_seq: int = -1
    last_frame_seq: int = -1


def positions_for_flights(positions: pa.Table) -> PositionTable:
    """The tracker's accepted positions (``POSITIONS_SCHEMA``) as a flights
    :class:`PositionTable` (ICAO addresses only: a non-ICAO address is not an airframe)."""
    if positions.num_rows == 0:
        return from_arrow(pa.table({"icao24": pa.array([], pa.uint32()),
                                    "time_s": pa.array([], pa.float64()),
                                    "lat_deg": pa.array([], pa.float64()),
                                    "lon_deg": pa.array([], pa.float64())}))
    icao = np.asarray(positions.column("non_icao").to_numpy(zero_copy_only=False), bool)
    if icao.any():
        positions = positions.filter(pa.array(~icao))
    keep = [
        c for c in ("address", "time_s", "lat_deg", "lon_deg", "altitude_ft", "groundspeed_kt",
                    "track_deg", "vertical_rate_fpm", "on_ground", "callsign")
        if c in positions.column_names
    ]
    sel = positions.select(keep)
    return from_arrow(sel.rename_columns(["icao24" if c == "address" else c for c in keep]))


def _thin(tab: PositionTable, last_bucket: dict[int, int]) -> PositionTable:
    """Every dense position, one per cruise bucket otherwise (``last_bucket`` carries each
    aircraft's last kept cruise bucket across calls)."""
    n = len(tab)
    if n == 0:
        return tab
    with np.errstate(invalid="ignore"):
        dense = (tab.on_ground == 1) | ~(tab.altitude_ft >= DENSE_BELOW_FT)
    bucket = np.floor(tab.time_s / CRUISE_EVERY_S).astype(np.int64)
    new_run = np.ones(n, bool)
    new_run[1:] = (tab.icao24[1:] != tab.icao24[:-1]) | (bucket[1:] != bucket[:-1])
    cruise = ~dense & new_run
    if cruise.any() and last_bucket:
        idx = np.flatnonzero(cruise)
        for i in idx.tolist():
            if last_bucket.get(int(tab.icao24[i])) == int(bucket[i]):
                cruise[i] = False
    keep = dense | cruise
    kept = np.flatnonzero(keep)
    if kept.size:
        # each aircraft's newest kept bucket (rows are sorted by address, then time)
        a = tab.icao24[kept]
        last = np.flatnonzero(np.append(a[1:] != a[:-1], True))
        for i in kept[last].tolist():
            last_bucket[int(tab.icao24[i])] = int(bucket[i])
    return tab if kept.size == n else tab.take(kept)


class StationFlights:
    """Incremental flights over the station's accepted positions.

    Args:
        every_s: re-examine the aircraft with new positions at most this often (station s).
        index, identifier: as for ``find_flights`` (the airport index loads on first need).
    """

    def __init__(self, every_s: float = 30.0, index: object = None,
                 identifier: object = None) -> None:
        self.every_s = every_s
        self._index = index
        self._identifier = identifier
        self._pending: list[PositionTable] = []
        self._buffers: dict[int, PositionTable] = {}
        """Per aircraft, the positions since its last closed flight (thinned)."""
        self._dirty: set[int] = set()
        self._last_settle_s = -np.inf
        self._last_bucket: dict[int, int] = {}
        self._last_seen: dict[int, float] = {}
        self._sources: dict[int, set[str]] = {}
        self._ended: dict[int, set[tuple[str, str]]] = {}
        """Per aircraft, the (kind, flight id) already handed on (kind: takeoff, landing,
        closed); pruned to the flights still found in its buffer."""
        self._open: dict[int, tuple[Flight, ...]] = {}
        self._due: dict[int, float] = {}
        """Per aircraft, the time (station s) of a known take-off or landing not announced
        yet: it is re-examined once ``SETTLE_S`` has passed, heard again or not (an aircraft
        that landed with its ADS-B off sends nothing more, yet its landing must be told)."""
        self.closed = 0
        """Flights closed so far (a count: closed flights are handed on, not kept)."""
        self.closed_sources: dict[str, tuple[str, ...]] = {}
        """Position sources of the flights closed by the last :meth:`settle` (by flight id)."""
        self.closed_evidence: dict[str, FlightEvidence] = {}
        """Frames behind the flights closed by the last :meth:`settle` (by flight id)."""
        self._seqs: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        """Per aircraft, chunks of (time_s, frame_seq) of its kept positions (pending
        included), joined when read (:meth:`_seq_arrays`)."""

    # ------------------------------------------------------------------ input
    def add(self, positions: pa.Table) -> None:
        """Take one batch of accepted positions (``POSITIONS_SCHEMA``)."""
        if positions.num_rows == 0:
            return
        tab = _thin(positions_for_flights(positions), self._last_bucket)
        if len(tab) == 0:
            return
        self._pending.append(tab)
        self._keep_seqs(positions, tab)
        starts, ends = tab.aircraft_bounds()
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            a = int(tab.icao24[s])
            self._dirty.add(a)
            self._last_seen[a] = float(tab.time_s[e - 1])
        src = positions.column("source").to_pylist()
        addr = positions.column("address").to_pylist()
        for a, s in set(zip(addr, src, strict=True)):
            self._sources.setdefault(int(a), set()).add(str(s))

    def _keep_seqs(self, positions: pa.Table, tab: PositionTable) -> None:
        """Record the frame number of each kept position (matched by address and time)."""
        if "frame_seq" not in positions.column_names:
            return
        non = np.asarray(positions.column("non_icao").to_numpy(zero_copy_only=False), bool)
        if non.any():  # flights are of ICAO addresses: ~abc123 is not abc123
            positions = positions.filter(pa.array(~non))
        addr = np.asarray(positions.column("address").to_numpy(zero_copy_only=False), np.int64)
        t = np.asarray(positions.column("time_s").to_numpy(zero_copy_only=False), np.float64)
        seq = np.asarray(positions.column("frame_seq").to_numpy(zero_copy_only=False), np.int64)
        o = np.lexsort((t, addr))
        addr, t, seq = addr[o], t[o], seq[o]
        starts, ends = tab.aircraft_bounds()
        for a0, b0 in zip(starts.tolist(), ends.tolist(), strict=True):
            a = int(tab.icao24[a0])
            lo = int(np.searchsorted(addr, a, side="left"))
            hi = int(np.searchsorted(addr, a, side="right"))
            tt = tab.time_s[a0:b0]
            k = np.clip(np.searchsorted(t[lo:hi], tt), 0, max(hi - lo - 1, 0))
            got = seq[lo:hi][k] if hi > lo else np.full(tt.size, -1, np.int64)
            self._seqs.setdefault(a, []).append((tt.copy(), got))

    def _seq_arrays(self, address: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(time_s, frame_seq) of the aircraft's kept positions in time order, joined once."""
        chunks = self._seqs.get(address)
        if not chunks:
            return None
        if len(chunks) > 1:
            t = np.concatenate([c[0] for c in chunks])
            q = np.concatenate([c[1] for c in chunks])
            if t.size > 1 and (np.diff(t) < 0).any():
                j = np.argsort(t, kind="stable")
                t, q = t[j], q[j]
            chunks[:] = [(t, q)]
        return chunks[0]

    def _seq_near(self, address: int, t: float | None) -> int:
        """The frame of the aircraft's kept position nearest ``t`` (-1 unknown)."""
        got = self._seq_arrays(address)
        if got is None or t is None or got[0].size == 0 or not np.isfinite(t):
            return -1
        times, seqs = got
        i = int(np.searchsorted(times, t))
        if i == times.size or (i > 0 and t - times[i - 1] <= times[i] - t):
            i -= 1
        return int(seqs[i])

    def _evidence(self, f: Flight) -> FlightEvidence:
        a = int(f.icao24, 16)
        return FlightEvidence(
            self._seq_near(a, f.departure_time_s), self._seq_near(a, f.arrival_time_s),
            self._seq_near(a, f.first_seen_s), self._seq_near(a, f.last_seen_s))

    def _trim_seqs(self, kept: PositionTable, seen: Iterable[int]) -> None:
        """Drop the frame numbers of positions no longer buffered."""
        starts, _ = kept.aircraft_bounds()
        first = {int(kept.icao24[i]): float(kept.time_s[i]) for i in starts.tolist()}
        for a in seen:
            if a not in first:
                self._seqs.pop(a, None)
                continue
            got = self._seq_arrays(a)
            if got is None:
                continue
            j = int(np.searchsorted(got[0], first[a]))
            if j:
                self._seqs[a] = [(got[0][j:].copy(), got[1][j:].copy())]

    @property
    def buffered_rows(self) -> int:
        """Positions held (buffer and pending), for the memory bound."""
        return sum(len(b) for b in self._buffers.values()) + sum(len(p) for p in self._pending)

    def open_flights(self, address: int) -> tuple[Flight, ...]:
        """The aircraft's open (provisional) flights as of the last examination."""
        return self._open.get(address, ())

    def sources_of(self, address: int) -> tuple[str, ...]:
        """Position sources seen for the aircraft since its last closed flight."""
        return tuple(sorted(self._sources.get(address, ())))

    # ------------------------------------------------------------------ work
    def settle(self, now_s: float, *, final: bool = False) -> tuple[list[Flight], list[FlightEnd]]:
        """Re-examine what changed (at most every ``every_s`` unless ``final``); return the
        flights closed and the take-offs / landings that became known."""
        if not final and now_s - self._last_settle_s < self.every_s:
            return [], []
        self.closed_sources = {}
        self.closed_evidence = {}
        self._last_settle_s = now_s
        silent = {a for a, t in self._last_seen.items() if now_s - t > SILENCE_S}
        due = {a for a, t in self._due.items() if now_s - t >= SETTLE_S}
        work = set(self._last_seen) if final else self._dirty | silent | due
        self._dirty = set()
        parts = [self._buffers.pop(a) for a in work if a in self._buffers]
        if self._pending:  # every pending row belongs to a dirty aircraft
            parts += self._pending
            self._pending = []
        if not parts:
            return [], []
        buf = concat(parts)
        if len(buf) == 0:
            return [], []
        closed, ends, kept = self._examine(buf, now_s, final)
        starts, stops = kept.aircraft_bounds()
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            # a copy (fancy indexing): a view would keep the whole concatenation alive
            self._buffers[int(kept.icao24[a])] = kept.take(np.arange(a, b))
        self.closed += len(closed)
        return closed, ends

    def flush(self) -> tuple[list[Flight], list[FlightEnd]]:
        """Close every remaining flight (end of the input)."""
        return self.settle(np.inf, final=True)

    def _find(self, tab: PositionTable) -> tuple[list[Flight], Any]:
        from overflight.flights.build import find_flights

        res = find_flights(tab, self._index, self._identifier)  # type: ignore[arg-type]
        return list(res.flights), res.legs

    def _examine(
        self, buf: PositionTable, now_s: float, final: bool
    ) -> tuple[list[Flight], list[FlightEnd], PositionTable]:
        from overflight.flights.segment import ARR_GAP_GROUND, ARR_LANDING

        flights, legs = self._find(buf)
        keep = np.ones(len(buf), dtype=bool)
        closed: list[Flight] = []
        ends: list[FlightEnd] = []
        opened: dict[int, list[Flight]] = {}
        found: dict[int, set[str]] = {}
        due_at: dict[int, float] = {}
        for i, f in enumerate(flights):
            a = int(f.icao24, 16)
            found.setdefault(a, set()).add(f.id)
            later = i + 1 < len(flights) and flights[i + 1].icao24 == f.icao24
            silent = now_s - self._last_seen.get(a, now_s) > SILENCE_S
            seen = self._ended.setdefault(a, set())
            done = final or later or silent
            heard_until = max(self._last_seen.get(a, now_s), now_s if np.isfinite(now_s)
                              else -np.inf)
            for kind, how, t in (("takeoff", f.departure_how, f.departure_time_s),
                                 ("landing", f.arrival_how, f.arrival_time_s)):
                if how in _KNOWN and t is not None and (kind, f.id) not in seen:
                    if done or heard_until - t >= SETTLE_S:
                        seen.add((kind, f.id))
                        ends.append(FlightEnd(kind, f, self._seq_near(a, t)))
                    else:
                        due_at[a] = min(due_at.get(a, t), t)
            if done:
                lo = int(np.searchsorted(buf.icao24, buf.icao24[f.row_start], side="left"))
                hi = int(np.searchsorted(buf.icao24, buf.icao24[f.row_start], side="right"))
                if silent or final:
                    keep[lo:hi] = False
                elif legs.arr_kind[i] in (ARR_LANDING, ARR_GAP_GROUND):
                    keep[lo : int(legs.rows[legs.arr_ground[i]])] = False
                if ("closed", f.id) not in seen:
                    seen.add(("closed", f.id))
                    closed.append(f)
                    self.closed_sources[f.id] = self.sources_of(a)
                    self.closed_evidence[f.id] = self._evidence(f)
            else:
                opened.setdefault(a, []).append(f)
        for a in {int(x) for x in np.unique(buf.icao24).tolist()}:
            if a in due_at:
                self._due[a] = due_at[a]
            else:
                self._due.pop(a, None)
            ids = found.get(a, set())
            self._ended[a] = {k for k in self._ended.get(a, set()) if k[1] in ids}
            if a in opened:
                self._open[a] = tuple(opened[a])
            else:
                self._open.pop(a, None)
        kept = buf.take(np.flatnonzero(keep))
        self._trim_seqs(kept, {int(x) for x in np.unique(buf.icao24).tolist()})
        gone = set(np.unique(buf.icao24).tolist()) - set(np.unique(kept.icao24).tolist())
        for a in gone:
            self._forget(int(a))
        return closed, ends, kept

    def _forget(self, a: int) -> None:
        self._last_seen.pop(a, None)
        self._due.pop(a, None)
        self._seqs.pop(a, None)
        self._last_bucket.pop(a, None)
        self._sources.pop(a, None)
        self._open.pop(a, None)
        self._ended.pop(a, None)

    def addresses(self) -> Iterable[int]:
        """Aircraft with positions held."""
        return self._last_seen.keys()
