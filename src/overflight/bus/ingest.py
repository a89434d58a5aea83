"""An ingest-only station (``overflight serve --bus URL --ingest-only``): it numbers the frames
of every receiver and feeder and publishes them (the bus publisher, a recording, a history
writer's frames table), and tracks nothing: the shard workers do. The address decode the
publisher needs to shard the frames is then all the decoding an ingest node does."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.station.station import Station
from overflight.station.updates import Frames

__all__ = ["IngestStation"]

log = logging.getLogger("overflight.bus")


class IngestStation(Station):
    """A :class:`Station` that numbers and publishes frames only (no decoding, tracking,
    MLAT, flights: its snapshot stays empty). Decoded input (SBS lines) cannot travel on the
    bus, which carries frames: it is counted (``stats.decoded_dropped``) and dropped."""

    def __init__(self, config: Any = None, **kw: Any) -> None:
        from dataclasses import replace

        from overflight.station.config import StationConfig

        cfg = config or StationConfig()
        # no MLAT feed, no flights: nothing here would feed them
        super().__init__(replace(cfg, receivers_csv=None, flights=False), **kw)
        self.decoded_dropped = 0

    def process(self, batch: Any, seq: npt.NDArray[np.int64] | None = None) -> None:
        """Number and publish one batch of frames (rows in arrival order)."""
        n = len(batch)
        if n == 0:
            return
        with self._lock:
            if seq is None:
                self.publish(Frames(batch, self._seq))
                self._seq += n
            else:
                self._seq = int(seq[-1]) + 1
            self.stats.frames += n
            self.stats.batches += 1

    def process_decoded(self, table: pa.Table, source: str = "sbs") -> None:
        if table.num_rows and self.decoded_dropped == 0:
            log.warning("ingest-only: decoded input (%s) cannot go on the bus; dropped",
                        source)
        self.decoded_dropped += table.num_rows

    def finish(self) -> None:
        """End of input: nothing is held here (the workers close their flights at the
        run's end marker, :meth:`overflight.bus.publish.BusHandle.end`)."""
