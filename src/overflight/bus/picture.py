"""An API node's view: the live picture of every shard, merged from ``overflight.updates.*``.

:class:`BusPicture` reads the updates stream from its first message (an ordered consumer: an
API node started late, or restarted, builds the same picture) and keeps the last state of
each aircraft, the latest clock and message count of each shard, the flights and the events.
:meth:`BusPicture.snapshot` gives the same immutable :class:`~overflight.station.Snapshot` a
single station gives (readsb's live rule applied at the network's clock: the latest message
time of all shards), so the HTTP server serves it unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any

import pyarrow as pa

from overflight.bus import subjects as subj
from overflight.bus.codec import state_from_json, unpack

__all__ = ["BusPicture"]

log = logging.getLogger("overflight.bus")


class BusPicture:
    """The merged live picture (see the module text). ``identifier``: identities for the
    snapshot (an :class:`overflight.identity.Identifier`, or None)."""

    def __init__(self, identifier: Any = None, *, simulated: bool = False,
                 keep_flights: int = 100_000, keep_events: int = 100_000) -> None:
        self.identifier = identifier
        self.simulated = simulated
        self.aircraft: dict[tuple[int, bool], Any] = {}
        self.clock: dict[int, tuple[float, int]] = {}
        self.flights: list[pa.Table] = []
        self.events: list[pa.Table] = []
        self.fixes: list[pa.Table] = []
        self.ended: dict[str, set[int]] = {}
        self.applied = 0
        self.skipped = 0
        self._last: dict[int, tuple[int, int]] = {}
        self._keep_flights = keep_flights
        self._keep_events = keep_events
        self._task: asyncio.Task[None] | None = None
        self._nc: Any = None
        self.changed = asyncio.Event()

    # ------------------------------------------------------------------ applying
    def apply(self, shard: int, in_seq: int, part: int, body: bytes) -> bool:
        """Apply one updates message; False when it was seen already (skipped)."""
        key = (in_seq, part)
        last = self._last.get(shard)
        if last is not None and key <= last:
            self.skipped += 1
            return False
        self._last[shard] = key
        self.applied += 1
        for kind, t in unpack(body):
            if kind == "aircraft":
                for text in t.column("state").to_pylist():
                    s = state_from_json(text)
                    self.aircraft[(int(s.address), bool(s.non_icao))] = s
            elif kind == "gone":
                for a, n in zip(t.column("address").to_pylist(),
                                t.column("non_icao").to_pylist(), strict=True):
                    self.aircraft.pop((int(a), bool(n)), None)
            elif kind == "clock":
                self.clock[shard] = (float(t.column("time_s")[0].as_py()),
                                     int(t.column("messages")[0].as_py()))
            elif kind == "flights" and t.num_rows:
                self.flights.append(t)
                _bound(self.flights, self._keep_flights)
            elif kind == "events" and t.num_rows:
                self.events.append(t)
                _bound(self.events, self._keep_events)
            elif kind == "fixes" and t.num_rows:
                self.fixes.append(t)
                _bound(self.fixes, self._keep_events)
            elif kind == "end":
                self.ended.setdefault(str(t.column("run")[0].as_py()), set()).add(shard)
        return True

    # ------------------------------------------------------------------ reading
    @property
    def time_s(self) -> float:
        """The network's clock: the latest message time of all shards (NaN before any)."""
        ts = [t for t, _ in self.clock.values() if not math.isnan(t)]
        return max(ts) if ts else math.nan

    @property
    def messages(self) -> int:
        return sum(m for _, m in self.clock.values())

    def live(self) -> list[Any]:
        """Aircraft live at the network's clock (readsb: a position in the last 60 s or a
        message in the last 30 s), most recently seen first."""
        from overflight.tracking import LIVE_ANY_MESSAGE_S, LIVE_POSITION_S

        now = self.time_s
        if math.isnan(now):
            return []
        out = []
        for a in self.aircraft.values():
            pos = a.position_source is not None and a.position_time_s is not None and \
                now - a.position_time_s < LIVE_POSITION_S
            if pos or now - a.last_seen_s < LIVE_ANY_MESSAGE_S:
                out.append(a)
        out.sort(key=lambda a: (-a.last_seen_s, a.address, a.non_icao))
        return out

    def snapshot(self) -> Any:
        """The live picture as a :class:`~overflight.station.Snapshot`."""
        from overflight.station.updates import Snapshot

        live = self.live()
        ids: dict[int, Any] = {}
        if self.identifier is not None:
            for a in live:
                if not a.non_icao:
                    try:
                        i = self.identifier.identify(int(a.address))
                    except Exception:
                        i = None
                    if i is not None:
                        ids[a.address] = i
        return Snapshot(time_s=self.time_s, wall_s=time.time(), messages=self.messages,
                        aircraft=tuple(live), identities=ids, simulated=self.simulated)

    def flights_table(self) -> pa.Table:
        """Every flight received (``FLIGHTS_SCHEMA``), in order of arrival."""
        from overflight.station.schema import FLIGHTS_SCHEMA

        return pa.concat_tables(self.flights) if self.flights else FLIGHTS_SCHEMA.empty_table()

    def fixes_table(self) -> pa.Table:
        """The latest MLAT fixes received (``FIXES_SCHEMA``; as many as events are kept)."""
        from overflight.station.schema import FIXES_SCHEMA

        return pa.concat_tables(self.fixes) if self.fixes else FIXES_SCHEMA.empty_table()

    def events_table(self) -> pa.Table:
        from overflight.station.schema import EVENTS_SCHEMA

        return pa.concat_tables(self.events) if self.events else EVENTS_SCHEMA.empty_table()

    # ------------------------------------------------------------------ running
    async def start(self, url: str) -> None:
        """Connect and follow the updates stream (from its first message) in a task."""
        from overflight.bus.publish import connect

        self._nc = await connect(url, name="overflight-api")
        js = self._nc.jetstream()
        await subj.ensure_streams(js)
        from nats.js.api import DeliverPolicy

        sub = await js.subscribe("overflight.updates.*", stream=subj.UPDATES_STREAM,
                                 ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        self._task = asyncio.create_task(self._follow(sub))

    async def _follow(self, sub: Any) -> None:
        await subj.follow(sub, self._on_message)

    def _on_message(self, msg: Any) -> None:
        try:
            self.apply(subj.header_int(msg.headers, subj.H_SHARD, -1),
                       subj.header_int(msg.headers, subj.H_IN, 0),
                       subj.part_of(msg.headers)[0], msg.data)
        except Exception:
            log.exception("bad updates message on %s", msg.subject)
        self.changed.set()

    async def wait_ended(self, run_id: str, shards: int, timeout_s: float = 120.0) -> None:
        """Wait until every shard's worker said the input of ``run_id`` ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self.ended.get(run_id, ())) < shards:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"shards ended: {sorted(self.ended.get(run_id, ()))}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._nc is not None:
            await self._nc.close()


def _bound(tables: list[pa.Table], keep: int) -> None:
    while len(tables) > 1 and sum(t.num_rows for t in tables) - tables[0].num_rows >= keep:
        tables.pop(0)
