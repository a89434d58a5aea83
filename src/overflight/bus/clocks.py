"""Clock synchronisation shared by every shard: a clock-sync worker over the reference frames
of all aircraft, and the clock models it publishes for the shard workers' MLAT.

MLAT needs every receiver's copy of a transmission (one address: one shard), but clock
synchronisation needs ADS-B positions of *many* aircraft heard by each receiver pair, and a
shard sees only its own aircraft: an aircraft with ADS-B off, in a shard where no other
aircraft is heard by its receivers, cannot be placed from that shard's references alone.

* Ingest nodes publish the frames that can be references (:func:`sync_rows`: 14-byte DF17/18,
  airborne positions with barometric altitude, a few % of traffic) on ``overflight.sync``.
* One clock-sync worker (:class:`ClockSyncRunner`, ``overflight worker --clock-sync``) runs
  the station's own MLAT feed and engine over them (the same references, the same Kalman
  filter per receiver pair, :mod:`overflight.mlat.clocks`) and, for each time slice, publishes
  a :class:`ClockDelta` on ``overflight.clocks``: the pairs whose state changed, the receivers'
  counter bases, the timing biases the slice was read with, the timescale roots.
* Shard workers (``--shared-clocks``) read every delta in order (:class:`ClockBoard`); before
  solving a slice that ends at UTC ``T``, a shard's feed (:class:`SharedClockFeed`) applies
  the deltas up to ``T``, waiting for the clock-sync worker when it lags, and solves with
  that model instead of fitting its own: what a single station would have used, give or
  take the references of the last slice.

Receiver times are seconds since a per-receiver counter base each feed picks from the first
counter value it sees, so the same reading is a different number in two processes: the
bases travel with the clocks, and a shard moves each pair's offset and reference time by the
difference of bases (exact, in counter ticks) before using it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.bus import subjects as subj
from overflight.bus.codec import unpack
from overflight.mlat.clocks import ClockSync, PairClock
from overflight.mlat.engine import Multilaterator
from overflight.mlat.receivers import ReceiverRegistry
from overflight.tracking.mlat_feed import MlatFeed

__all__ = [
    "PAIRS_SCHEMA",
    "SYNC_TYPECODES",
    "ClockBoard",
    "ClockDelta",
    "ClockSyncRunner",
    "ClockView",
    "PairRow",
    "SharedClockEngine",
    "SharedClockFeed",
    "delta_parts",
    "deltas_from_parts",
    "sync_rows",
]

log = logging.getLogger("overflight.clocks")

SYNC_TYPECODES = range(9, 19)
"""ADS-B type codes published for clock synchronisation (airborne positions with barometric
altitude); the engine's own rule picks its references among them."""

_TICK_MASK = (1 << 48) - 1
_GPS_KEY = -1
"""Counter-base key shared by all GPS receivers (they share GPS time), as the feed keys it."""


def sync_rows(data: npt.NDArray[np.uint8], length_bytes: npt.NDArray[np.integer[Any]]
              ) -> npt.NDArray[np.intp]:
    """Rows that can be clock references: 14-byte DF17/18 frames of :data:`SYNC_TYPECODES`
    (``data``: a FrameBatch's ``(n, width)`` bytes; CRC is checked by the clock-sync worker)."""
    if data.shape[0] == 0 or data.shape[1] < 5:
        return np.zeros(0, np.intp)
    df = data[:, 0] >> 3
    tc = data[:, 4] >> 3
    ok = (np.asarray(length_bytes) == 14) & ((df == 17) | (df == 18))
    ok &= (tc >= SYNC_TYPECODES.start) & (tc < SYNC_TYPECODES.stop)
    return np.flatnonzero(ok)


# ---------------------------------------------------------------------- what travels
@dataclass(frozen=True, slots=True)
class PairRow:
    """One receiver pair's clock model: ``t_b = t_a + offset_s + drift * (t_a - t_ref_s)``,
    times in seconds since each receiver's counter base (see the module text)."""

    a: int
    b: int
    meas_sigma_s: float
    offset_s: float
    drift: float
    """Relative frequency of clock b against clock a, s/s."""
    var_offset_s2: float
    cov_offset_drift_s: float
    var_drift: float
    t_ref_s: float
    updates: int
    outliers: int


PAIRS_SCHEMA = pa.schema([
    pa.field("a", pa.int64(), nullable=False),
    pa.field("b", pa.int64(), nullable=False),
    pa.field("meas_sigma_s", pa.float64(), nullable=False),
    pa.field("offset_s", pa.float64(), nullable=False),
    pa.field("drift", pa.float64(), nullable=False),
    pa.field("var_offset_s2", pa.float64(), nullable=False),
    pa.field("cov_offset_drift_s", pa.float64(), nullable=False),
    pa.field("var_drift", pa.float64(), nullable=False),
    pa.field("t_ref_s", pa.float64(), nullable=False),
    pa.field("updates", pa.int64(), nullable=False),
    pa.field("outliers", pa.int64(), nullable=False),
])
"""The ``pairs`` table of a clocks message (:class:`PairRow` rows)."""


@dataclass(frozen=True, slots=True)
class ClockDelta:
    """What changed in the clock-sync worker's model over one time slice ending at UTC
    ``upto_s`` (epoch seconds). ``final``: the end of an input run (no pairs; ``upto_s`` is
    the run's latest frame time, so nobody waits past it)."""

    upto_s: float
    final: bool
    pairs: tuple[PairRow, ...]
    bases: tuple[tuple[int, int, float], ...]
    """(key: receiver id or -1 for all GPS receivers, counter base ticks, tick rate Hz)."""
    biases_s: tuple[tuple[int, float], ...]
    """(receiver id, timing bias s) the slice's times were read with, where changed."""
    roots: tuple[int, ...]
    """Timescale roots so far, in order of preference (-1: GPS time)."""
    references: int
    """Reference transmissions used so far (a count)."""


def delta_parts(d: ClockDelta) -> list[tuple[str, pa.Table]]:
    """A delta as named tables (``codec.pack``): meta first, then what is non-empty."""
    out: list[tuple[str, pa.Table]] = [("meta", pa.table({
        "upto_s": pa.array([d.upto_s], pa.float64()),
        "final": pa.array([d.final], pa.bool_()),
        "references": pa.array([d.references], pa.int64()),
    }))]
    if d.pairs:
        cols = {f.name: [getattr(p, f.name) for p in d.pairs] for f in PAIRS_SCHEMA}
        out.append(("pairs", pa.table(cols, schema=PAIRS_SCHEMA)))
    if d.bases:
        out.append(("bases", pa.table({
            "key": pa.array([k for k, _, _ in d.bases], pa.int64()),
            "base_ticks": pa.array([b for _, b, _ in d.bases], pa.uint64()),
            "rate_hz": pa.array([r for _, _, r in d.bases], pa.float64()),
        })))
    if d.biases_s:
        out.append(("biases", pa.table({
            "receiver": pa.array([r for r, _ in d.biases_s], pa.int64()),
            "bias_s": pa.array([b for _, b in d.biases_s], pa.float64()),
        })))
    if d.roots:
        out.append(("roots", pa.table({"receiver": pa.array(list(d.roots), pa.int64())})))
    return out


def deltas_from_parts(parts: Sequence[tuple[str, pa.Table]]) -> list[ClockDelta]:
    """The deltas of the named tables of one clocks message (or several, concatenated), in
    order; parts of unknown kinds are ignored, malformed tables raise ValueError."""
    out: list[ClockDelta] = []
    cur: dict[str, Any] | None = None

    def close() -> None:
        if cur is not None:
            out.append(ClockDelta(**cur))

    try:
        for kind, t in parts:
            if kind == "meta":
                close()
                cur = {"upto_s": float(t.column("upto_s")[0].as_py()),
                       "final": bool(t.column("final")[0].as_py()),
                       "references": int(t.column("references")[0].as_py()),
                       "pairs": (), "bases": (), "biases_s": (), "roots": ()}
            elif cur is None:
                continue
            elif kind == "pairs":
                cols = [t.column(f.name).to_pylist() for f in PAIRS_SCHEMA]
                rows = tuple(PairRow(int(r[0]), int(r[1]), float(r[2]), float(r[3]),
                                     float(r[4]), float(r[5]), float(r[6]), float(r[7]),
                                     float(r[8]), int(r[9]), int(r[10]))
                             for r in zip(*cols, strict=True))
                cur["pairs"] = cur["pairs"] + rows
            elif kind == "bases":
                cur["bases"] = cur["bases"] + tuple(
                    (int(k), int(b) & _TICK_MASK, float(r)) for k, b, r in zip(
                        t.column("key").to_pylist(), t.column("base_ticks").to_pylist(),
                        t.column("rate_hz").to_pylist(), strict=True))
            elif kind == "biases":
                cur["biases_s"] = cur["biases_s"] + tuple(
                    (int(r), float(b)) for r, b in zip(
                        t.column("receiver").to_pylist(), t.column("bias_s").to_pylist(),
                        strict=True))
            elif kind == "roots":
                cur["roots"] = tuple(int(r) for r in t.column("receiver").to_pylist())
    except (KeyError, TypeError, IndexError, pa.ArrowException) as exc:
        raise ValueError(f"malformed clocks message: {exc}") from None
    close()
    return out


# ---------------------------------------------------------------------- clock-sync worker
class _SyncFeed(MlatFeed):
    """The station's MLAT feed, recording after each slice what changed in its clock sync."""

    def __init__(self, registry: ReceiverRegistry, **kw: Any) -> None:
        super().__init__(registry, **kw)
        self.deltas: list[ClockDelta] = []
        self._sent_pairs: dict[tuple[int, int], tuple[int, float, int]] = {}
        self._sent_bases: set[int] = set()
        self._sent_biases: dict[int, float] = {}
        self._gps_rate = next((r.clock.tick_rate_hz for r in registry
                               if r.clock.gps_synchronised), 1e9)

    def _solve(self, *args: Any, **kw: Any) -> Any:
        """``MlatFeed._solve`` (tracker, data, length, receiver ids, times, UTC, ...), then
        the slice's delta."""
        rid: npt.NDArray[np.int64] = args[3]
        utc: npt.NDArray[np.float64] = args[5]
        if rid.size == 0:
            return super()._solve(*args, **kw)
        reg = self.registry
        biases = {r.receiver_id: float(r.timing_bias_s) for r in reg}
        out = super()._solve(*args, **kw)
        sync = self.engine.sync
        if sync._dirty:  # the tree of this slice, as a station would build it to solve
            sync._rebuild()
        pairs = []
        for key, pc in sync.pairs.items():
            sig = (pc.updates, pc.t_ref_s, pc.outliers)
            if self._sent_pairs.get(key) == sig:
                continue
            self._sent_pairs[key] = sig
            pairs.append(PairRow(pc.a, pc.b, pc.meas_sigma_s, float(pc.x[0]), float(pc.x[1]),
                                 float(pc.P[0, 0]), float(pc.P[0, 1]), float(pc.P[1, 1]),
                                 float(pc.t_ref_s), int(pc.updates), int(pc.outliers)))
        bases = []
        for k, b in self._base.items():
            if k not in self._sent_bases:
                self._sent_bases.add(k)
                rate = self._gps_rate if k == _GPS_KEY else reg[k].clock.tick_rate_hz
                bases.append((int(k), int(b), float(rate)))
        changed = tuple((r, b) for r, b in biases.items() if self._sent_biases.get(r, 0.0) != b)
        self._sent_biases.update(changed)
        self.deltas.append(ClockDelta(
            upto_s=float(np.max(utc)), final=False, pairs=tuple(pairs), bases=tuple(bases),
            biases_s=changed, roots=tuple(sync._roots), references=sync.references))
        return out


class ClockSyncRunner:
    """The clock-sync worker's state: the ``overflight.sync`` frames in stream order through
    a station's MLAT feed (references only: nothing is solved), and the deltas to publish.
    ``handle`` has :class:`~overflight.bus.worker.ShardRunner`'s contract (see
    :func:`~overflight.bus.worker.run_shard`)."""

    in_stream = subj.SYNC_STREAM
    in_subject = subj.SYNC_SUBJECT
    durable = subj.CLOCK_SYNC_CONSUMER
    out_subject = subj.CLOCKS_SUBJECT
    shard = -1
    label = "clock-sync"

    def __init__(self, registry: ReceiverRegistry, stats: Any, *,
                 slice_s: float | None = None) -> None:
        from overflight.bus.worker import BatchGatherer
        from overflight.station.config import StationConfig
        from overflight.tracking import Tracker

        self.registry = registry
        self.stats = stats
        self.slice_s = StationConfig().mlat_slice_s if slice_s is None else slice_s
        self.feed = _SyncFeed(registry, slice_s=max(1.0, self.slice_s))
        self.tracker = Tracker()
        """Never updated: the feed asks it about parity addresses only, and DF17/18 are in
        clear."""
        self.gather = BatchGatherer(self.stats)
        self.newest_s = -math.inf

    @property
    def last_in(self) -> int:
        return self.gather.last_in

    @last_in.setter
    def last_in(self, value: int) -> None:
        self.gather.last_in = value

    def handle(self, data: bytes, headers: dict[str, str], stream_seq: int
               ) -> list[tuple[str, pa.Table]] | None:
        """One ``overflight.sync`` message; the deltas to publish as named tables, or None."""
        got = self.gather.add(data, headers, stream_seq)
        if got is None:
            return None
        kind, value = got
        if kind == "end":
            self.feed.flush(self.tracker, final=True)
            end_s = _float(headers.get(subj.H_NOW), self.newest_s)
            self.feed.deltas.append(ClockDelta(
                upto_s=max(end_s, self.newest_s) if math.isfinite(self.newest_s) else end_s,
                final=True, pairs=(), bases=(), biases_s=(), roots=(),
                references=self.feed.engine.sync.references))
            return [*self._drain(), ("end", pa.table({"run": [str(value)]}))]
        assert isinstance(value, pa.Table)
        self._process(value)
        return self._drain()

    def _process(self, table: pa.Table) -> None:
        from overflight.history.rebuild import frame_batch
        from overflight.pipeline import MLAT_SLICE_S, decode_frames, time_slices

        batch = frame_batch(table)
        if len(batch) == 0:
            return
        t = batch.time_s[np.isfinite(batch.time_s)]
        if t.size:
            self.newest_s = max(self.newest_s, float(t.max()))
        decoded = decode_frames(batch)
        n = len(batch)
        for a, b in time_slices(batch.time_s, max(self.slice_s, MLAT_SLICE_S)):
            whole = (a, b) == (0, n)
            part = decoded if whole else decoded.slice(a, b - a)
            rows = batch if whole else batch.take(np.arange(a, b))
            self.feed.add(rows, part, self.tracker)
            self.feed.flush(self.tracker)
        self.stats.batches += 1
        self.stats.frames += n

    def _drain(self) -> list[tuple[str, pa.Table]]:
        deltas, self.feed.deltas = self.feed.deltas, []
        return [p for d in deltas for p in delta_parts(d)]


def _sum(deltas: Sequence[ClockDelta]) -> ClockDelta:
    """One delta with the effect of ``deltas`` applied in order."""
    pairs: dict[tuple[int, int], PairRow] = {}
    bases: dict[int, tuple[int, int, float]] = {}
    biases: dict[int, float] = {}
    roots: tuple[int, ...] = ()
    for d in deltas:
        pairs.update(((p.a, p.b), p) for p in d.pairs)
        bases.update((k, (k, b, r)) for k, b, r in d.bases)
        biases.update(d.biases_s)
        roots = d.roots or roots
    last = deltas[-1]
    return ClockDelta(upto_s=last.upto_s, final=last.final, pairs=tuple(pairs.values()),
                      bases=tuple(bases.values()), biases_s=tuple(biases.items()),
                      roots=roots, references=last.references)


def _float(text: str | None, default: float) -> float:
    try:
        v = float(text) if text is not None else default
    except ValueError:
        return default
    return v if math.isfinite(v) else default


# ---------------------------------------------------------------------- shard side
class ClockBoard:
    """Every :class:`ClockDelta` a clock-sync worker published, in order, for the shard
    feeds of one worker process (each follows it with its own :class:`ClockView`). Deltas
    arrive on the event loop (:meth:`start`) and are read on worker threads."""

    def __init__(self, *, wait_s: float = 10.0, max_held: int = 4096) -> None:
        self.wait_s = wait_s
        """Longest a shard waits for the clock-sync worker to reach a slice, seconds."""
        self.max_held = max_held
        """Most deltas held for views that have not applied them (about one a second)."""
        self._cond = threading.Condition()
        self._deltas: list[ClockDelta] = []
        self._first = 0
        """Absolute index of ``_deltas[0]`` (deltas every view has passed are dropped)."""
        self._passed_state: list[ClockDelta] = []
        """The dropped deltas (summed now and then into one)."""
        self._views: list[ClockView] = []
        self._partial: dict[int, list[tuple[str, pa.Table]]] = {}
        self._broken = -1
        """Input number whose clocks message had a malformed part (its parts are dropped)."""
        self._last: tuple[int, int] = (0, -1)
        self.received = 0
        self.malformed = 0
        self.timeouts = 0
        self.silent = False
        """True after a wait timed out, until the next delta comes: shards then solve with
        the model they have without waiting again (one wait per silence, not per slice)."""
        self._task: Any = None

    def view(self, registry: ReceiverRegistry) -> ClockView:
        """A new follower: from the first delta, or, for one made after the others passed
        some, from their sum (then it solves its first slices with later clocks: make the
        views before :meth:`start`)."""
        with self._cond:
            v = ClockView(self, registry, self._first)
            if self._first:
                v._apply_all(self._passed_state)
            self._views.append(v)
            return v

    def add(self, deltas: Sequence[ClockDelta]) -> None:
        with self._cond:
            self._deltas.extend(deltas)
            self.received += len(deltas)
            if deltas:
                self.silent = False
            if len(self._deltas) > self.max_held:  # a shard without traffic holds them all
                drop = len(self._deltas) // 2
                self._passed_state[:] = [_sum([*self._passed_state, *self._deltas[:drop]])]
                del self._deltas[:drop]
                self._first += drop
            self._cond.notify_all()

    def catch_up(self, view: ClockView) -> None:
        """Bring a view that fell behind the deltas held to the sum of those dropped."""
        with self._cond:
            if view.next < self._first:
                view._apply_all(self._passed_state)
                view.next = self._first

    def apply_message(self, in_seq: int, part: int, parts: int, body: bytes) -> None:
        """One ``overflight.clocks`` message (a part of the deltas of input ``in_seq``);
        a repeated one is skipped, a malformed one counted and dropped."""
        if (in_seq, part) <= self._last:
            return
        self._last = (in_seq, part)
        try:
            got = unpack(body)
        except Exception:
            self.malformed += 1
            self._partial.pop(in_seq, None)
            self._broken = in_seq  # its other parts would make an incomplete delta
            return
        if in_seq == self._broken:
            return
        for old in [k for k in self._partial if k < in_seq]:  # never completed
            del self._partial[old]
        self._partial.setdefault(in_seq, []).extend(got)
        if part + 1 < parts:
            return
        try:
            deltas = deltas_from_parts(self._partial.pop(in_seq))
        except ValueError:
            self.malformed += 1
            return
        self.add(deltas)

    def get(self, index: int, timeout_s: float) -> ClockDelta | None:
        """Delta number ``index`` (absolute), waiting up to ``timeout_s`` for it."""
        with self._cond:
            if index - self._first >= len(self._deltas) and timeout_s > 0:
                self._cond.wait_for(lambda: index - self._first < len(self._deltas),
                                    timeout_s)
            k = index - self._first
            return self._deltas[k] if 0 <= k < len(self._deltas) else None

    def _passed(self) -> None:
        """Drop the deltas every view has applied (kept summed for views made later)."""
        with self._cond:
            low = min((v.next for v in self._views), default=self._first)
            drop = low - self._first
            if drop > 0:
                self._passed_state.extend(self._deltas[:drop])
                if len(self._passed_state) > 64:
                    self._passed_state[:] = [_sum(self._passed_state)]
                del self._deltas[:drop]
                self._first = low

    async def start(self, js: Any) -> None:
        """Follow ``overflight.clocks`` from its first message (an ordered consumer)."""
        import asyncio

        from nats.js.api import DeliverPolicy

        sub = await js.subscribe(subj.CLOCKS_SUBJECT, stream=subj.CLOCKS_STREAM,
                                 ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        self._task = asyncio.create_task(self._follow(sub))

    async def _follow(self, sub: Any) -> None:
        await subj.follow(sub, self._on_message)

    def _on_message(self, msg: Any) -> None:
        try:
            part, parts = subj.part_of(msg.headers)
            self.apply_message(subj.header_int(msg.headers, subj.H_IN, 0), part, parts,
                               msg.data)
        except ValueError:
            self.malformed += 1

    async def close(self) -> None:
        import asyncio

        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class ClockView:
    """One shard's copy of the published model, advanced to the slice it solves."""

    def __init__(self, board: ClockBoard, registry: ReceiverRegistry, start: int) -> None:
        self.board = board
        self.registry = registry
        self.next = start
        self.pairs: dict[tuple[int, int], PairRow] = {}
        self.bases: dict[int, tuple[int, float]] = {}
        self.biases_s: dict[int, float] = {}
        self.roots: tuple[int, ...] = ()
        self.upto_s = -math.inf
        self.waited = 0
        self._final = False
        self._version = 0
        self._cache: tuple[tuple[int, int], ClockSync] | None = None

    def advance(self, utc_s: float) -> None:
        """Apply every delta of slices ending at or before ``utc_s``; when none after them
        has arrived yet (and the run did not end after ``utc_s``), wait for one (the
        clock-sync worker lags) up to the board's ``wait_s``."""
        moved = False
        self.board.catch_up(self)
        while True:
            d = self.board.get(self.next, 0.0)
            if d is None:
                if self._final and utc_s <= self.upto_s:
                    break  # the run ended there: nothing more will come for it
                if self.board.silent:
                    break  # already waited once for this silence: go on with what we have
                self.waited += 1
                d = self.board.get(self.next, self.board.wait_s)
                if d is None:
                    self.board.timeouts += 1
                    self.board.silent = True
                    log.warning("shared clocks: nothing after %.1f from the clock-sync worker "
                                "in %.0f s; solving with the model so far (without waiting "
                                "again until it speaks)", self.upto_s, self.board.wait_s)
                    break
            if d.upto_s > utc_s:
                break
            self._apply(d)
            self.next += 1
            moved = True
        if moved:
            self.board._passed()

    def _apply_all(self, deltas: Sequence[ClockDelta]) -> None:
        for d in deltas:
            self._apply(d)

    def _apply(self, d: ClockDelta) -> None:
        for p in d.pairs:
            self.pairs[(p.a, p.b)] = p
        for k, b, r in d.bases:
            self.bases[k] = (b, r)
        self.biases_s.update(d.biases_s)
        if d.roots:
            self.roots = d.roots
        self.upto_s = d.upto_s
        self._final = d.final
        self._version += 1

    def _shift_s(self, receiver: int, shard_bases: dict[int, int]) -> float:
        """Seconds to add to a clock-sync time of ``receiver`` to get the shard's time."""
        key = _GPS_KEY if receiver in self.registry and \
            self.registry[receiver].clock.gps_synchronised else receiver
        theirs = self.bases.get(key)
        ours = shard_bases.get(key)
        if theirs is None or ours is None:
            return 0.0
        d = (theirs[0] - ours) & _TICK_MASK
        if d >= 1 << 47:
            d -= 1 << 48
        return d / theirs[1]

    def sync_for(self, utc_s: float, shard_bases: dict[int, int]) -> ClockSync:
        """The clock model to solve the slice ending at ``utc_s`` with, on the shard's
        counter bases (``MlatFeed``'s base per key)."""
        self.advance(utc_s)
        key = (self._version, len(shard_bases))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        cs = ClockSync(self.registry)
        shift = {r: self._shift_s(r, shard_bases) for pr in self.pairs for r in pr}
        for (a, b), p in self.pairs.items():
            if a not in self.registry or b not in self.registry:
                continue
            pc = PairClock(a, b, p.meas_sigma_s)
            pc.x = np.array([p.offset_s + shift[b] - shift[a], p.drift])
            pc.P = np.array([[p.var_offset_s2, p.cov_offset_drift_s],
                             [p.cov_offset_drift_s, p.var_drift]])
            pc.t_ref_s = p.t_ref_s + shift[a]
            pc.updates = p.updates
            pc.outliers = p.outliers
            cs.pairs[(a, b)] = pc
        cs._roots = list(self.roots)
        cs._dirty = True
        self._cache = (key, cs)
        return cs


class SharedClockEngine(Multilaterator):
    """A :class:`Multilaterator` that solves with clocks it is given (:attr:`sync` set by
    :class:`SharedClockFeed` before each slice) instead of fitting its own from the
    references it sees; timing biases come with the clocks (not learned here)."""

    def __init__(self, registry: ReceiverRegistry, **kw: Any) -> None:
        kw["learn_biases"] = False
        super().__init__(registry, **kw)

    def _references(self, frames: Any, info: Any, gid: Any, rid: Any, toa: Any) -> list[Any]:
        return []


class SharedClockFeed(MlatFeed):
    """A shard's MLAT feed that solves each slice with the clock model a clock-sync worker
    published up to the slice's end (:class:`ClockView`)."""

    def __init__(self, registry: ReceiverRegistry, view: ClockView, **kw: Any) -> None:
        kw.setdefault("engine", SharedClockEngine(registry))
        super().__init__(registry, **kw)
        self.view = view

    def _solve(self, *args: Any, **kw: Any) -> Any:
        """``MlatFeed._solve`` (tracker, data, length, receiver ids, times, UTC, ...) with
        the published model up to the slice's end."""
        rid: npt.NDArray[np.int64] = args[3]
        utc: npt.NDArray[np.float64] = args[5]
        if rid.size:
            self.engine.sync = self.view.sync_for(float(np.max(utc)), self._base)
            if self.view.biases_s:
                self.registry.set_biases(self.view.biases_s)
        return super()._solve(*args, **kw)
