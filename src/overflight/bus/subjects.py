"""The JetStream layout of an Overflight network: streams, subjects, consumers, headers.

=========================  ==========================================================
``overflight.frames.<k>``  frame batches of shard ``k`` (Arrow IPC, ``FRAMES_SCHEMA``),
                           stream ``OVERFLIGHT_FRAMES``; published by ingest nodes
``overflight.updates.<k>`` what a worker made of them (packed tables: positions,
                           rejected, fixes, changed, gone, events, flights, aircraft),
                           stream ``OVERFLIGHT_UPDATES``; read by API nodes and history
``overflight.sync``        the frames clock synchronisation uses (ADS-B airborne
                           positions, every shard's), stream ``OVERFLIGHT_SYNC``;
                           published by ingest nodes, read by the clock-sync worker
``overflight.clocks``      receiver-pair clock models (Kalman state of each pair that
                           changed, per time slice), stream ``OVERFLIGHT_CLOCKS``;
                           published by the clock-sync worker, read by shard workers
=========================  ==========================================================

Durable consumer ``overflight-shard-<k>`` (explicit acks, one message in flight) feeds shard
``k`` to whichever worker owns it now; ``overflight-clock-sync`` feeds the clock-sync worker.
All streams deduplicate by ``Nats-Msg-Id`` over
:data:`DUPLICATE_WINDOW_S`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CLOCKS_STREAM",
    "CLOCKS_SUBJECT",
    "CLOCK_SYNC_CONSUMER",
    "DUPLICATE_WINDOW_S",
    "FRAMES_STREAM",
    "SYNC_STREAM",
    "SYNC_SUBJECT",
    "UPDATES_STREAM",
    "consumer_name",
    "ensure_streams",
    "follow",
    "frames_subject",
    "header_int",
    "parse_shards",
    "part_of",
    "updates_subject",
]

FRAMES_STREAM = "OVERFLIGHT_FRAMES"
UPDATES_STREAM = "OVERFLIGHT_UPDATES"
SYNC_STREAM = "OVERFLIGHT_SYNC"
SYNC_SUBJECT = "overflight.sync"
CLOCKS_STREAM = "OVERFLIGHT_CLOCKS"
CLOCKS_SUBJECT = "overflight.clocks"
CLOCK_SYNC_CONSUMER = "overflight-clock-sync"
DUPLICATE_WINDOW_S = 3600.0
"""A message published again with the same id within this window is stored once (a worker
replaced after publishing a batch's updates but before acking its frames)."""

H_RUN = "Overflight-Run"
H_SEQ = "Overflight-Seq"
H_BATCH = "Overflight-Batch"
H_CHUNK = "Overflight-Chunk"
H_SHARD = "Overflight-Shard"
H_SHARDS = "Overflight-Shards"
H_IN = "Overflight-In"
H_PART = "Overflight-Part"
H_MESSAGES = "Overflight-Messages"
H_NOW = "Overflight-Now"


def part_of(headers: Any, name: str = H_PART) -> tuple[int, int]:
    """(part, parts) of a message sent in parts (header ``name`` reads ``i/n``; a message
    without it is whole: (0, 1)). ValueError when the header is not two numbers."""
    i_s, _, n_s = (headers or {}).get(name, "0/1").partition("/")
    return int(i_s), int(n_s or 1)


def header_int(headers: Any, name: str, default: int) -> int:
    """An integer header (``default`` when absent; ValueError when not a number)."""
    return int((headers or {}).get(name, str(default)))


async def follow(sub: Any, on_message: Any, timeout_s: float = 1.0) -> None:
    """Hand every message of a push subscription (an ordered consumer) to
    ``on_message(msg)``, for ever (cancel the task to stop); a quiet stream is waited on."""
    from nats.errors import TimeoutError as NatsTimeout

    while True:
        try:
            msg = await sub.next_msg(timeout=timeout_s)
        except NatsTimeout:
            continue
        on_message(msg)


async def pulled(psub: Any, stop: Any, timeout_s: float = 1.0) -> Any:
    """Every message of a pull subscription, one at a time (the caller acks each), until
    ``stop`` (an ``asyncio.Event``) is set; a quiet stream is waited on."""
    from nats.errors import TimeoutError as NatsTimeout

    while not stop.is_set():
        try:
            msgs = await psub.fetch(1, timeout=timeout_s)
        except NatsTimeout:
            continue
        for msg in msgs:
            yield msg


def frames_subject(shard: int) -> str:
    return f"overflight.frames.{int(shard)}"


def updates_subject(shard: int) -> str:
    return f"overflight.updates.{int(shard)}"


def consumer_name(shard: int) -> str:
    return f"overflight-shard-{int(shard)}"


def parse_shards(text: str) -> tuple[int, ...]:
    """``"0-7"``, ``"3"``, ``"0-3,6"`` -> shard numbers (ValueError when malformed)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        a = int(lo)
        b = int(hi) if sep else a
        if a < 0 or b < a:
            raise ValueError(f"bad shard range {part!r}")
        out.extend(range(a, b + 1))
    if not out:
        raise ValueError("no shards")
    return tuple(sorted(set(out)))


async def ensure_streams(js: Any, *, replicas: int = 1, max_age_s: float | None = None) -> None:
    """Create the streams when missing (an existing stream is left as it is; one created by
    another node at the same moment too: the loser of that race is told the subjects
    overlap, and finds the stream there)."""
    from nats.js.api import StreamConfig
    from nats.js.errors import BadRequestError, NotFoundError

    for name, subjects in ((FRAMES_STREAM, ["overflight.frames.*"]),
                           (UPDATES_STREAM, ["overflight.updates.*"]),
                           (SYNC_STREAM, [SYNC_SUBJECT]), (CLOCKS_STREAM, [CLOCKS_SUBJECT])):
        try:
            await js.stream_info(name)
            continue
        except NotFoundError:
            pass
        try:
            await js.add_stream(StreamConfig(
                name=name, subjects=subjects, duplicate_window=DUPLICATE_WINDOW_S,
                num_replicas=replicas, max_age=max_age_s,
            ))
        except BadRequestError as exc:
            try:
                await js.stream_info(name)  # made meanwhile by another node
            except NotFoundError:
                raise exc from None
