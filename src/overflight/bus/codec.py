"""What travels on the bus, as bytes: Arrow IPC streams of the station's tables, several
tables packed in one message, aircraft states, and the shard of an address.

Every message body is self-describing (Arrow IPC carries its schema), so a consumer written in
another language reads it with any Arrow library. A packed message is::

    u32 big-endian header length | header (JSON: [[kind, bytes], ...]) | IPC stream | IPC ...
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "DEFAULT_SHARDS",
    "pack",
    "shard_of",
    "state_from_json",
    "state_to_json",
    "table_from_ipc",
    "table_to_ipc",
    "unpack",
]

DEFAULT_SHARDS = 8
"""Shards of a network when nobody says otherwise (``overflight.frames.0`` .. ``.7``)."""

_HEAD = struct.Struct(">I")


def shard_of(address: npt.ArrayLike, shards: int) -> npt.NDArray[np.int64]:
    """The shard of each 24-bit address: a multiplicative hash (Fibonacci hashing) of the
    address modulo ``shards``. ICAO blocks are allocated by country in contiguous ranges, so
    the hash spreads a country's aircraft over every shard. Stable forever: a shard's frames
    and its workers' state depend on it."""
    a = np.asarray(address, dtype=np.uint64) & np.uint64(0xFFFFFF)
    h = (a * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    return ((h >> np.uint64(8)) % np.uint64(max(1, int(shards)))).astype(np.int64)


def table_to_ipc(table: pa.Table) -> bytes:
    """One table as an Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return bytes(sink.getvalue())


def table_from_ipc(data: bytes | memoryview) -> pa.Table:
    """The table of an Arrow IPC stream."""
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def pack(parts: Iterable[tuple[str, pa.Table]]) -> bytes:
    """Several named tables in one message body (see the module text)."""
    blobs = [(k, table_to_ipc(t)) for k, t in parts]
    head = json.dumps([[k, len(b)] for k, b in blobs]).encode()
    return b"".join([_HEAD.pack(len(head)), head, *(b for _, b in blobs)])


def unpack(data: bytes | memoryview) -> list[tuple[str, pa.Table]]:
    """The named tables of a :func:`pack` ed body, in order."""
    view = memoryview(data)
    (n,) = _HEAD.unpack_from(view, 0)
    head = json.loads(bytes(view[4:4 + n]))
    out: list[tuple[str, pa.Table]] = []
    at = 4 + n
    for kind, size in head:
        out.append((str(kind), table_from_ipc(view[at:at + int(size)])))
        at += int(size)
    return out


def split_parts(parts: Sequence[tuple[str, pa.Table]], limit: int
                ) -> list[list[tuple[str, pa.Table]]]:
    """Group tables into bodies of at most about ``limit`` bytes (a NATS server's
    ``max_payload``), slicing a table by rows where one alone is too big."""
    groups: list[list[tuple[str, pa.Table]]] = [[]]
    size = 0
    budget = max(4096, int(limit * 0.8))
    for kind, t in parts:
        est = max(t.nbytes, 1) + 1024
        pieces = [t]
        if est > budget and t.num_rows > 1:
            per = max(1, int(t.num_rows * budget / est))
            pieces = [t.slice(i, per) for i in range(0, t.num_rows, per)]
        for p in pieces:
            e = p.nbytes + 1024
            if groups[-1] and size + e > budget:
                groups.append([])
                size = 0
            groups[-1].append((kind, p))
            size += e
    return [g for g in groups if g] or [[]]


# ---------------------------------------------------------------------- aircraft states
def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return {"f": repr(v)}
    return v


def _unplain(v: Any) -> Any:
    if isinstance(v, dict) and set(v) == {"f"}:
        return float(v["f"])
    return v


def state_to_json(state: Any) -> str:
    """An :class:`~overflight.tracking.records.AircraftState` as JSON text (lossless: floats
    round-trip exactly, NaN and infinities kept)."""
    out: dict[str, Any] = {}
    for f in fields(state):
        v = getattr(state, f.name)
        if f.name == "receivers":
            v = [[r.receiver, r.messages, _plain(r.signal_dbfs), _plain(r.last_time_s)] for r in v]
        elif f.name == "stamps":
            v = {k: [_plain(s.time_s), s.source] for k, s in v.items()}
        else:
            v = _plain(v)
        out[f.name] = v
    return json.dumps(out, separators=(",", ":"))


def state_from_json(text: str) -> Any:
    """The :class:`~overflight.tracking.records.AircraftState` of :func:`state_to_json`."""
    from overflight.tracking.records import AircraftState, FieldStamp, ReceiverSignal

    d = json.loads(text)
    kw: dict[str, Any] = {}
    for f in fields(AircraftState):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.name == "receivers":
            v = tuple(ReceiverSignal(int(r), int(m), _unplain(s), _unplain(t)) for r, m, s, t in v)
        elif f.name == "stamps":
            v = {k: FieldStamp(_unplain(t), src) for k, (t, src) in v.items()}
        else:
            v = _unplain(v)
        kw[f.name] = v
    return AircraftState(**kw)


STATES_SCHEMA = pa.schema(
    [
        pa.field("address", pa.uint32(), nullable=False),
        pa.field("non_icao", pa.bool_(), nullable=False),
        pa.field("state", pa.string(), nullable=False),
    ]
)
"""The ``aircraft`` table a worker publishes: the full state of each aircraft a batch changed."""


def states_table(states: Sequence[Any]) -> pa.Table:
    """Aircraft states as :data:`STATES_SCHEMA` rows."""
    return pa.table(
        {
            "address": pa.array([s.address for s in states], pa.uint32()),
            "non_icao": pa.array([bool(s.non_icao) for s in states], pa.bool_()),
            "state": pa.array([state_to_json(s) for s in states], pa.string()),
        },
        schema=STATES_SCHEMA,
    )
