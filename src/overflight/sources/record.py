"""Record a live feed to Beast files: a black box with receiver ids and absolute times.

File layout: plain Beast (readable by readsb, dump1090 and pyModeS' parser, which skip unknown
records) with two extensions so nothing is lost:

* ``0x1a 0xe3`` + 8 bytes — receiver id (readsb's record), before the first frame of each run of
  frames from one receiver;
* ``0x1a 0xe9`` + 8 bytes — Overflight time record: signed microseconds since the Unix epoch
  (big-endian, escaped like all Beast bytes) of the next frame, written before the first frame
  of each receiver in each written batch. Later frames get their time from the 12 MHz counter
  relative to it (:class:`~overflight.sources.clock.TickClock`), so the receiver's own counter
  is kept untouched for MLAT.

Files are named ``<prefix>-YYYYmmddTHHMMSSZ.beast`` (UTC of the first batch) and rotated when
they reach ``max_bytes`` or, with ``rotate_hourly``, when the UTC hour changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from overflight.frames import FrameBatch
from overflight.sources.beast import encode_beast

__all__ = ["BeastRecorder"]

log = logging.getLogger(__name__)


class BeastRecorder:
    """A hub sink writing batches to rotating Beast files in ``directory``."""

    def __init__(
        self,
        directory: str | Path,
        *,
        prefix: str = "overflight",
        max_bytes: int = 256 << 20,
        rotate_hourly: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.rotate_hourly = rotate_hourly
        self._now = clock
        self._file: BinaryIO | None = None
        self._path: Path | None = None
        self._hour = -1
        self._size = 0
        self.files: list[Path] = []
        self.frames = 0

    def _open(self, now_s: float) -> None:
        self.close()
        stamp = datetime.fromtimestamp(now_s, UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / f"{self.prefix}-{stamp}.beast"
        k = 1
        while path.exists():
            path = self.directory / f"{self.prefix}-{stamp}-{k}.beast"
            k += 1
        self._file = open(path, "ab")  # noqa: SIM115 - kept open across batches
        self._path = path
        self._size = 0
        self._hour = int(now_s // 3600)
        self.files.append(path)
        log.info("recording to %s", path)

    def __call__(self, batch: FrameBatch) -> None:
        """Write ``batch`` (frames in arrival order) with receiver ids and time records."""
        n = len(batch)
        if n == 0:
            return
        now_s = float(self._now())
        hour = int(now_s // 3600)
        if (
            self._file is None
            or self._size >= self.max_bytes
            or (self.rotate_hourly and hour != self._hour)
        ):
            self._open(now_s)
        assert self._file is not None
        first_of_receiver = np.zeros(n, bool)
        _, idx = np.unique(batch.receiver, return_index=True)
        first_of_receiver[idx] = True
        data = encode_beast(batch, receiver_ids=True, time_records=first_of_receiver)
        self._file.write(data)
        self._file.flush()
        self._size += len(data)
        self.frames += n

    @property
    def path(self) -> Path | None:
        """The file being written."""
        return self._path

    def close(self) -> None:
        """Close the current file."""
        if self._file is not None:
            self._file.close()
            self._file = None
