"""Columnar batches of raw frames: what sources produce and the decoder consumes.

A :class:`FrameBatch` holds ``n`` frames as a fixed-width ``(n, 14)`` uint8 array (frame bytes
left-aligned, zero padded) with per-frame length, reception time, receiver id, signal level and
the receiver's raw MLAT counter. Sources build batches; nothing here decodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FRAME_WIDTH_BYTES", "FrameBatch", "frame_length_from_df"]

FRAME_WIDTH_BYTES = 14
"""Width of one row: the longest Mode S frame (112 bits)."""


def frame_length_from_df(first_byte: int) -> int:
    """Frame length in bytes implied by the downlink format in ``first_byte`` (7 or 14)."""
    return 14 if (first_byte >> 3) >= 16 else 7


@dataclass(frozen=True, slots=True)
class FrameBatch:
    """A batch of received frames, one row per frame (all columns have length ``n``).

    Attributes:
        data: ``(n, 14)`` uint8, frame bytes left-aligned, zero padded.
        length_bytes: ``(n,)`` uint8: 2 (Mode A/C), 7 (Mode S short) or 14 (Mode S long).
        time_s: ``(n,)`` float64 reception time, UTC epoch seconds (NaN when unknown).
        receiver: ``(n,)`` uint64 receiver id (0 when unknown).
        signal_dbfs: ``(n,)`` float32 signal level in dBFS (NaN when unknown).
        ticks: ``(n,)`` uint64 receiver MLAT counter (12 MHz for Beast; 0 when absent).
    """

    data: npt.NDArray[np.uint8]
    length_bytes: npt.NDArray[np.uint8]
    time_s: npt.NDArray[np.float64]
    receiver: npt.NDArray[np.uint64]
    signal_dbfs: npt.NDArray[np.float32]
    ticks: npt.NDArray[np.uint64]

    def __len__(self) -> int:
        return int(self.data.shape[0])

    @staticmethod
    def empty() -> FrameBatch:
        """A batch with no rows."""
        return FrameBatch.from_columns(
            np.zeros((0, FRAME_WIDTH_BYTES), np.uint8), np.zeros(0, np.uint8)
        )

    @staticmethod
    def from_columns(
        data: npt.NDArray[np.uint8],
        length_bytes: npt.NDArray[np.uint8] | None = None,
        time_s: npt.ArrayLike | None = None,
        receiver: npt.ArrayLike | None = None,
        signal_dbfs: npt.ArrayLike | None = None,
        ticks: npt.ArrayLike | None = None,
    ) -> FrameBatch:
        """Build a batch; missing columns get their "unknown" value, lengths follow the DF."""
        data = np.ascontiguousarray(data, dtype=np.uint8).reshape(-1, FRAME_WIDTH_BYTES)
        n = data.shape[0]
        if length_bytes is None:
            length_bytes = np.where((data[:, 0] >> 3) >= 16, 14, 7).astype(np.uint8)

        def col(v: npt.ArrayLike | None, dtype: type, fill: float) -> npt.NDArray[np.generic]:
            if v is None:
                return np.full(n, fill, dtype=dtype)
            return np.broadcast_to(np.asarray(v, dtype=dtype), (n,)).copy()

        return FrameBatch(
            data=data,
            length_bytes=np.asarray(length_bytes, dtype=np.uint8),
            time_s=col(time_s, np.float64, np.nan),  # type: ignore[arg-type]
            receiver=col(receiver, np.uint64, 0),  # type: ignore[arg-type]
            signal_dbfs=col(signal_dbfs, np.float32, np.nan),  # type: ignore[arg-type]
            ticks=col(ticks, np.uint64, 0),  # type: ignore[arg-type]
        )

    @staticmethod
    def from_bytes(frames: Sequence[bytes], **columns: npt.ArrayLike | None) -> FrameBatch:
        """Build a batch from frame byte strings (2, 7 or 14 bytes each)."""
        n = len(frames)
        data = np.zeros((n, FRAME_WIDTH_BYTES), np.uint8)
        lengths = np.zeros(n, np.uint8)
        for i, f in enumerate(frames):
            m = min(len(f), FRAME_WIDTH_BYTES)
            data[i, :m] = np.frombuffer(f[:m], np.uint8)
            lengths[i] = m
        return FrameBatch.from_columns(data, lengths, **columns)

    def frame_bytes(self, i: int) -> bytes:
        """The bytes of frame ``i`` (exactly ``length_bytes[i]`` long)."""
        return bytes(self.data[i, : int(self.length_bytes[i])])

    def frame_hex(self, i: int) -> str:
        """Frame ``i`` as upper-case hex, as receivers print it."""
        return self.frame_bytes(i).hex().upper()

    def take(self, index: npt.ArrayLike) -> FrameBatch:
        """Rows selected by an integer index or boolean mask."""
        idx = np.asarray(index)
        return FrameBatch(
            self.data[idx], self.length_bytes[idx], self.time_s[idx], self.receiver[idx],
            self.signal_dbfs[idx], self.ticks[idx],
        )

    @staticmethod
    def concat(batches: Iterable[FrameBatch]) -> FrameBatch:
        """Concatenate batches in order."""
        bs = list(batches)
        if not bs:
            return FrameBatch.empty()
        return FrameBatch(
            np.concatenate([b.data for b in bs]),
            np.concatenate([b.length_bytes for b in bs]),
            np.concatenate([b.time_s for b in bs]),
            np.concatenate([b.receiver for b in bs]),
            np.concatenate([b.signal_dbfs for b in bs]),
            np.concatenate([b.ticks for b in bs]),
        )
