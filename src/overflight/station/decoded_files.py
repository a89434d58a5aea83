"""Files of state decoded elsewhere, run through the station like captures: BaseStation (SBS)
lines as a receiver's port 30003 writes them, and readsb ``aircraft.json`` snapshots (one
document, or one per line). Detected from the content; anything else is a capture of frames."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["DecodedReader", "decoded_kind", "read_decoded"]

_HEAD = 1 << 16
_CHUNK_ROWS = 20_000


def decoded_kind(head: bytes) -> str | None:
    """``"sbs"`` for BaseStation lines, ``"json"`` for a readsb ``aircraft.json``, else None
    (from the first bytes of a file)."""
    text = head.lstrip()
    if text[:1] == b"{" and b'"aircraft"' in head:
        return "json"
    for line in text.splitlines()[:20]:
        line = line.strip()
        if not line:
            continue
        return "sbs" if line.startswith((b"MSG,", b"MLAT,")) else None
    return None


@dataclass(slots=True)
class DecodedStats:
    """What was read: rows applied, lines skipped by reason (as a frame reader's stats)."""

    format: str
    frames: int = 0
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    beast: Any = None
    absolute_time: bool = True


@dataclass(slots=True)
class DecodedReader:
    """The reader ``Station.run_file`` returns for decoded files (``stats``, ``fault``)."""

    stats: DecodedStats
    fault: BaseException | None = None


def read_decoded(fh: BinaryIO, kind: str, reader: DecodedReader) -> Iterator[Any]:
    """Decoded-state tables (:mod:`overflight.tracking.decoded`) of an open file, counting
    into ``reader.stats``; a broken gzip ends the file with ``reader.fault`` set."""
    from overflight.sources.readsb_json import parse_aircraft_json
    from overflight.sources.sbs import parse_sbs_line
    from overflight.sources.text import LineSplitter
    from overflight.tracking.decoded import readsb_table, sbs_table

    st = reader.stats
    split = LineSplitter(1 << 24 if kind == "json" else 4096)

    def skip(why: str) -> None:
        st.skipped[why] = st.skipped.get(why, 0) + 1

    def lines() -> Iterator[bytes]:
        while True:
            data = fh.read(1 << 20)
            if not data:
                break
            yield from split.feed(data)
        last = split.close()
        if last:
            yield last
        fault = getattr(fh, "fault", None)
        if fault is not None:
            reader.fault = fault

    if kind == "json":
        whole = b"\n".join(lines())
        docs = [whole] if whole.lstrip()[:1] == b"{" and whole.count(b"\n{") == 0 \
            else [d for d in whole.splitlines() if d.strip()]
        for doc in docs:
            snap = parse_aircraft_json(doc)
            if isinstance(snap, str):
                skip(snap)
                continue
            for why, n in snap.reasons.items():
                st.skipped[why] = st.skipped.get(why, 0) + n
            t = readsb_table(snap)
            st.rows += t.num_rows
            yield t
        return
    records = []
    for line in lines():
        r = parse_sbs_line(line)
        if isinstance(r, str):
            if r != "empty":
                skip(r)
            continue
        records.append(r)
        if len(records) >= _CHUNK_ROWS:
            t = sbs_table(records)
            st.rows += t.num_rows
            records = []
            yield t
    if split.too_long:
        st.skipped["line too long"] = split.too_long
    if records:
        t = sbs_table(records)
        st.rows += t.num_rows
        yield t


def open_decoded(path: str | Path) -> tuple[BinaryIO, str | None]:
    """The file opened (un-gzipped) and its decoded kind (None: a capture of frames)."""
    from overflight.sources.files import open_binary

    fh = open_binary(path)
    peek = getattr(fh, "peek", None)
    head = peek(_HEAD)[:_HEAD] if peek is not None else b""
    return fh, decoded_kind(head)
