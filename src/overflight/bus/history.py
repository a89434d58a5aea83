"""A history writer on the bus (``overflight worker --history DB``): the workers' updates
(``overflight.updates.*``: positions, fixes, rejected, events, flights) stored in a history
database, as a station's :class:`~overflight.history.HistoryWriter` stores its own.

Idempotent by sequence number: each updates message is stored in one transaction together
with its ``(shard, stream seq of the frames message, part)`` in the table ``bus_progress``,
and a message at or below a shard's stored progress is skipped. The durable consumer
``overflight-history`` (explicit acks, one message in flight) delivers again what was not
acknowledged; a writer killed after committing and before acking gets the message again and
skips it: nothing lost, nothing doubled. Frames are not on ``overflight.updates``: an ingest
node's ``--db`` stores them. Stored ``seq`` values are the ingest run's frame numbers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from overflight.bus import subjects as subj
from overflight.bus.codec import unpack
from overflight.history.writer import STORED_KINDS, HistoryWriter

__all__ = ["HISTORY_CONSUMER", "BusHistoryWriter", "run_history_writer"]

log = logging.getLogger("overflight.bus")

HISTORY_CONSUMER = "overflight-history"

_PROGRESS_DDL = ("CREATE TABLE IF NOT EXISTS bus_progress (shard INTEGER PRIMARY KEY, "
                 "in_seq BIGINT NOT NULL, part INTEGER NOT NULL)")


@dataclass(frozen=True, slots=True)
class _Part:
    """One table of an updates message, as the writer takes a station update."""

    name: str
    table: pa.Table


class BusHistoryWriter(HistoryWriter):
    """A :class:`HistoryWriter` fed updates messages (:meth:`apply`), one transaction each,
    progress stored with the rows (see the module text)."""

    def __init__(self, store: Any, **kw: Any) -> None:
        kw.setdefault("kind", "serve")
        kw.setdefault("source", "bus")
        kw["seq_first"] = 0
        kw["flush_every_s"] = 1e9  # one commit per message, by apply()
        kw["max_rows"] = 1 << 62
        super().__init__(store, **kw)
        con = self.store.con
        con.execute(_PROGRESS_DDL)
        self.progress: dict[int, tuple[int, int]] = {
            int(s): (int(i), int(p))
            for s, i, p in con.execute("SELECT shard, in_seq, part FROM bus_progress").fetchall()}
        self.skipped = 0
        self._marker: tuple[int, int, int] | None = None

    def apply(self, shard: int, in_seq: int, part: int, body: bytes) -> bool:
        """Store one updates message; False when it was stored already (skipped)."""
        last = self.progress.get(shard)
        if last is not None and (in_seq, part) <= last:
            self.skipped += 1
            return False
        parts = [(k, t) for k, t in unpack(body) if k in STORED_KINDS and k != "frames"]
        with self._lock:
            self._marker = (shard, in_seq, part)
            try:
                for k, t in parts:
                    self.on_update(_Part(k, t))
                self._flush_locked()
                if self.stats.failed is not None:
                    raise RuntimeError(f"history: {self.stats.failed}")
                if self._marker is not None:  # nothing to store: the progress alone
                    with self.store.transaction() as con:
                        self._progress(con)
            finally:
                self._marker = None
        self.progress[shard] = (in_seq, part)
        return True

    def _progress(self, con: Any) -> None:
        assert self._marker is not None
        s, i, p = self._marker
        con.execute("INSERT OR REPLACE INTO bus_progress VALUES ($s, $i, $p)",
                    {"s": s, "i": i, "p": p})
        self._marker = None

    def _insert(self, con: Any, name: str, t: pa.Table) -> None:
        super()._insert(con, name, t)
        if self._marker is not None:  # in the same transaction as the message's rows
            self._progress(con)


async def run_history_writer(url: str, db: Any, *, stop: asyncio.Event | None = None,
                             ack_wait_s: float = 30.0, ready: Any = None) -> BusHistoryWriter:
    """Store ``overflight.updates.*`` in the history database ``db`` until ``stop`` is set;
    the writer (closed) with its counts."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
    from nats.js.errors import NotFoundError

    from overflight.bus.publish import connect
    from overflight.history import open_history

    stop = stop or asyncio.Event()
    writer = BusHistoryWriter(open_history(db))
    nc = await connect(url, name="overflight-history")
    try:
        js = nc.jetstream()
        await subj.ensure_streams(js)
        try:
            await js.consumer_info(subj.UPDATES_STREAM, HISTORY_CONSUMER)
        except NotFoundError:
            await js.add_consumer(subj.UPDATES_STREAM, ConsumerConfig(
                durable_name=HISTORY_CONSUMER, filter_subject="overflight.updates.*",
                ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=1, ack_wait=ack_wait_s))
        psub = await js.pull_subscribe("overflight.updates.*", durable=HISTORY_CONSUMER,
                                       stream=subj.UPDATES_STREAM)
        if ready is not None:
            ready()
        try:
            async for msg in subj.pulled(psub, stop):
                h = msg.headers
                try:
                    key = (subj.header_int(h, subj.H_SHARD, -1),
                           subj.header_int(h, subj.H_IN, 0), subj.part_of(h)[0])
                    await asyncio.to_thread(writer.apply, *key, msg.data)
                except (ValueError, OSError, pa.ArrowException) as exc:
                    log.warning("history: dropped a malformed updates message: %s", exc)
                await msg.ack_sync()
        finally:
            await psub.unsubscribe()
    finally:
        await nc.close()
        await asyncio.to_thread(writer.close)
    return writer
