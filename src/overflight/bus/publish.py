"""The ingest side: a station subscriber that publishes every frame batch to JetStream, split
by the shard of each frame's aircraft address, and :func:`attach_bus` which wires it.

Each station batch (frames ``seq_first .. seq_first+n-1``) becomes, per shard with frames in
it, one message or a few chunks (at most :data:`CHUNK_FRAMES` frames each) on
``overflight.frames.<shard>`` with headers: ingest run id, the batch's ``seq_first``, chunk
``i/n``, shard count. A worker processes a batch's chunks of its shard together, so its
tracker sees the same batches, restricted to its aircraft, as a single process would.
``Nats-Msg-Id`` = ``<run>:<seq_first>:<shard>:<chunk>``: a retried publish is stored once.

With ``sync`` (the default) the frames that can be clock references (every shard's ADS-B
airborne positions, :func:`overflight.bus.clocks.sync_rows`) also go, with the same headers,
to ``overflight.sync`` for the clock-sync worker (``<run>:<seq_first>:sync:<chunk>``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overflight.bus import subjects as subj
from overflight.bus.codec import DEFAULT_SHARDS, shard_of, table_to_ipc

__all__ = ["CHUNK_FRAMES", "BusHandle", "FramePublisher", "attach_bus", "frames_by_shard"]

log = logging.getLogger("overflight.bus")

CHUNK_FRAMES = 4096
"""Most frames in one message (about 250 kB: under NATS's default 1 MB payload)."""


def frames_by_shard(update: Any, shards: int) -> list[tuple[int, Any]]:
    """``(shard, FRAMES_SCHEMA table)`` for each shard with frames in a ``Frames`` update,
    rows in arrival order."""
    from overflight.modes import decode_batch

    table = update.table
    address = decode_batch(update.batch, columns=("address",)).column("address")
    k = shard_of(address.to_numpy(zero_copy_only=False), shards)
    out = []
    for s in np.unique(k).tolist():
        idx = np.flatnonzero(k == s)
        out.append((int(s), table.take(idx)))
    return out


@dataclass(slots=True)
class PublishStats:
    batches: int = 0
    frames: int = 0
    messages: int = 0
    failures: int = 0
    sync_frames: int = 0
    per_shard: dict[int, int] = field(default_factory=dict)


class FramePublisher:
    """A station subscriber (``kinds={"frames"}``) publishing frames to JetStream from the
    station's subscriber thread through the event loop that owns the NATS connection."""

    name = "bus"

    def __init__(self, js: Any, loop: asyncio.AbstractEventLoop, *,
                 shards: int = DEFAULT_SHARDS, run_id: str | None = None,
                 timeout_s: float = 30.0, sync: bool = True) -> None:
        self.js = js
        self.sync = sync
        self.newest_s = -math.inf
        """Latest frame time published (UTC s): the end of the run for the shards' clocks."""
        self.loop = loop
        self.shards = int(shards)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.timeout_s = timeout_s
        self.stats = PublishStats()

    def messages(self, update: Any) -> list[tuple[str, bytes, dict[str, str]]]:
        """(subject, body, headers) of every message of a ``Frames`` update."""
        out = []
        for shard, t in frames_by_shard(update, self.shards):
            n = max(1, -(-t.num_rows // CHUNK_FRAMES))
            for i in range(n):
                part = t.slice(i * CHUNK_FRAMES, CHUNK_FRAMES)
                out.append((subj.frames_subject(shard), table_to_ipc(part), {
                    "Nats-Msg-Id": f"{self.run_id}:{update.seq_first}:{shard}:{i}",
                    subj.H_RUN: self.run_id, subj.H_BATCH: str(update.seq_first),
                    subj.H_CHUNK: f"{i}/{n}", subj.H_SHARD: str(shard),
                    subj.H_SHARDS: str(self.shards),
                }))
            self.stats.per_shard[shard] = self.stats.per_shard.get(shard, 0) + t.num_rows
        t_s = update.batch.time_s
        if t_s.size and np.isfinite(t_s).any():
            self.newest_s = max(self.newest_s, float(np.nanmax(t_s)))
        if self.sync:
            from overflight.bus.clocks import sync_rows

            rows = sync_rows(update.batch.data, update.batch.length_bytes)
            t = update.table.take(rows)
            n = -(-t.num_rows // CHUNK_FRAMES)
            for i in range(n):
                out.append((subj.SYNC_SUBJECT, table_to_ipc(t.slice(i * CHUNK_FRAMES,
                                                                     CHUNK_FRAMES)), {
                    "Nats-Msg-Id": f"{self.run_id}:{update.seq_first}:sync:{i}",
                    subj.H_RUN: self.run_id, subj.H_BATCH: str(update.seq_first),
                    subj.H_CHUNK: f"{i}/{n}", subj.H_SHARDS: str(self.shards),
                }))
            self.stats.sync_frames += t.num_rows
        return out

    async def _send(self, msgs: list[tuple[str, bytes, dict[str, str]]]) -> None:
        for subject, body, headers in msgs:
            await self.js.publish(subject, body, headers=headers, timeout=self.timeout_s)

    def on_update(self, update: Any) -> None:
        if update.name != "frames" or len(update.batch) == 0:
            return
        msgs = self.messages(update)
        fut = asyncio.run_coroutine_threadsafe(self._send(msgs), self.loop)
        try:
            fut.result(self.timeout_s * max(1, len(msgs)))
        except Exception:
            self.stats.failures += 1
            raise
        self.stats.batches += 1
        self.stats.frames += len(update.batch)
        self.stats.messages += len(msgs)


@dataclass(slots=True)
class BusHandle:
    """What :func:`attach_bus` returns: the NATS connection, the publisher and its
    subscription; ``await handle.close()`` after ``station.close()``."""

    nc: Any
    publisher: FramePublisher
    subscription: Any

    async def end(self) -> None:
        """Tell every shard the input ended (after ``station.close()``, which delivers the
        last frames): workers close their flights as a station does at its end."""
        from overflight.bus.worker import publish_end

        pub = self.publisher
        await publish_end(self.nc.jetstream(), pub.run_id, pub.shards, newest_s=pub.newest_s,
                          sync=pub.sync)

    async def close(self) -> None:
        try:
            await self.nc.flush(timeout=10)
        except Exception:
            log.warning("bus: flush on close failed")
        await self.nc.close()


async def connect(url: str, *, name: str = "overflight") -> Any:
    """A NATS connection with retries (the bus may start after us)."""
    import nats

    return await nats.connect(
        url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=1.0,
        connect_timeout=5.0,
    )


async def attach_bus(station: Any, url: str, *, shards: int = DEFAULT_SHARDS,
                     block: bool = False, queue_size: int = 4096,
                     run_id: str | None = None, sync: bool = True) -> BusHandle:
    """Connect to NATS at ``url``, create the streams when missing, and subscribe a
    :class:`FramePublisher` to ``station``'s frames: from now on every batch the station
    numbers is published, sharded by address. Call from the event loop that will stay
    running (``overflight serve``'s); the publisher runs on its own subscriber thread.

    ``block``: the station waits for the bus instead of dropping a batch when
    ``queue_size`` batches are waiting (file replays; a live feed keeps ``False`` and counts
    drops in the subscription's stats). ``sync``: also publish the reference frames on
    ``overflight.sync`` for a clock-sync worker."""
    nc = await connect(url, name="overflight-ingest")
    js = nc.jetstream()
    await subj.ensure_streams(js)
    pub = FramePublisher(js, asyncio.get_running_loop(), shards=shards, run_id=run_id,
                         sync=sync)
    sub = station.subscribe(pub, name="bus", kinds=("frames",), queue_size=queue_size,
                            block=block)
    log.info("publishing frames to %s in %d shards (run %s)", url, shards, pub.run_id)
    return BusHandle(nc, pub, sub)
