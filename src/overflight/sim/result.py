"""What a simulation produces, and how it is written out.

:class:`SimResult` holds the frames as every receiver heard them (a :class:`FrameBatch` in arrival
order: receiver id, 12 MHz ticks, signal, UTC time of arrival), the link from each frame to its
transmission, and the truth table. Writers:

* :meth:`SimResult.beast_bytes` / :meth:`write_beast` — Beast as a feed aggregator records it:
  all receivers interleaved in arrival order, ``0x1a 0xe3`` receiver-id records where the
  receiver changes and ``0x1a 0xe9`` absolute-time records (per receiver, at most every
  ``time_record_interval_s``; before every frame of receivers whose counter is not 12 MHz).
* :meth:`truth_table` / :meth:`write_truth_csv` — one row per transmission.
* :meth:`write_receivers_csv` — OpenSky ``sensors.csv`` layout (``serial,latitude,longitude,
  height,type,name``), reported positions (what a misconfigured receiver claims), readable by
  ``overflight.mlat.receivers.ReceiverRegistry.from_csv``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from overflight.frames import FrameBatch
from overflight.sim.emit import KIND_NAMES, Transmissions
from overflight.sim.propagate import PropagationStats, Receptions
from overflight.sim.scenario import Scenario
from overflight.sources.beast import TICKS_PER_S, encode_beast

__all__ = ["SimResult", "time_record_mask", "write_receivers_csv"]


def time_record_mask(
    receiver: npt.NDArray[np.uint64],
    time_s: npt.NDArray[np.float64],
    interval_s: float,
    every_frame: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.bool_]:
    """Frames to precede with a time record: each receiver's first frame, then its first frame
    in every new ``interval_s`` bucket of ``time_s``; all frames where ``every_frame``."""
    n = receiver.size
    out = np.zeros(n, bool)
    if n == 0:
        return out
    bucket = np.floor(time_s / interval_s) if interval_s > 0 else np.arange(n, dtype=np.float64)
    order = np.lexsort((np.arange(n), receiver))
    r, b = receiver[order], bucket[order]
    first = np.ones(n, bool)
    first[1:] = (r[1:] != r[:-1]) | (b[1:] != b[:-1])
    out[order] = first
    if every_frame is not None:
        out |= every_frame
    return out


@dataclass(frozen=True, slots=True)
class SimResult:
    """A simulated capture.

    Attributes:
        scenario: what was simulated.
        frames: every reception in arrival order: frame bytes, ``time_s`` (true UTC arrival,
            epoch seconds), ``receiver`` (id), ``signal_dbfs``, ``ticks`` (receiver clock).
        receptions: per-frame details (transmission index, true arrival offset, distance).
        truth: the truth table, one row per transmission (:class:`Transmissions`).
        stats: why (transmission, receiver) pairs were not heard.
    """

    scenario: Scenario
    frames: FrameBatch
    receptions: Receptions
    truth: Transmissions
    stats: PropagationStats

    @property
    def transmission(self) -> npt.NDArray[np.int64]:
        """Per frame: row of :attr:`truth` it came from."""
        return self.receptions.transmission

    def receivers_of(self, transmission: int) -> npt.NDArray[np.uint64]:
        """Ids of the receivers that heard ``transmission``."""
        out: npt.NDArray[np.uint64] = self.frames.receiver[
            self.receptions.transmission == transmission
        ]
        return out

    def _every_frame_receivers(self) -> npt.NDArray[np.bool_]:
        odd = [r.receiver_id for r in self.scenario.receivers if r.clock.tick_hz != TICKS_PER_S]
        return np.isin(self.frames.receiver, np.asarray(odd, np.uint64))

    def time_records(self, interval_s: float = 1.0) -> npt.NDArray[np.bool_]:
        """The frames :meth:`beast_bytes` precedes with a time record."""
        return time_record_mask(
            self.frames.receiver,
            self.receptions.arrival_s,
            interval_s,
            self._every_frame_receivers(),
        )

    def beast_bytes(self, time_record_interval_s: float = 1.0) -> bytes:
        """All receivers' frames as one aggregated Beast stream (see module docstring)."""
        return encode_beast(
            self.frames, receiver_ids=True, time_records=self.time_records(time_record_interval_s)
        )

    def write_beast(self, path: str | Path, time_record_interval_s: float = 1.0) -> int:
        """Write :meth:`beast_bytes` to ``path``; returns the number of bytes."""
        data = self.beast_bytes(time_record_interval_s)
        Path(path).write_bytes(data)
        return len(data)

    def heard_count(self) -> npt.NDArray[np.int64]:
        """Per transmission: how many receivers heard it."""
        out: npt.NDArray[np.int64] = np.bincount(
            self.receptions.transmission, minlength=len(self.truth)
        ).astype(np.int64)
        return out

    def truth_table(self) -> pa.Table:
        """One row per transmission: address, times, kind, frame, true state, receivers."""
        t = self.truth
        hexes = [bytes(t.data[i, : int(t.length_bytes[i])]).hex() for i in range(len(t))]
        return pa.table(
            {
                "icao24": [f"{int(a):06x}" for a in t.address],
                "transmit_time_s": self.scenario.start_time_s + t.t_s,
                "transmit_time_ns": t.transmit_time_ns,
                "df": t.df,
                "kind": [KIND_NAMES[int(k)] for k in t.kind],
                "frame": hexes,
                "lat_deg": t.lat_deg,
                "lon_deg": t.lon_deg,
                "altitude_ft": t.altitude_ft,
                "height_m": t.height_m,
                "groundspeed_kt": t.groundspeed_kt,
                "track_deg": t.track_deg,
                "vertical_rate_fpm": t.vertical_rate_fpm,
                "receivers": self.heard_count(),
            }
        )

    def receptions_table(self) -> pa.Table:
        """One row per frame heard: transmission row, receiver, true arrival, ticks, level."""
        r = self.receptions
        arrival_ns = self.scenario.start_ns + np.rint(r.arrival_s * 1e9).astype(np.int64)
        return pa.table(
            {
                "transmission": r.transmission,
                "receiver": r.receiver_id,
                "arrival_time_ns": arrival_ns,
                "ticks": r.ticks,
                "signal_dbfs": r.signal_dbfs,
                "distance_m": r.distance_m,
            }
        )

    def write_truth_csv(self, path: str | Path) -> None:
        """Write :meth:`truth_table` as CSV."""
        pacsv.write_csv(self.truth_table(), str(path))

    def write_receivers_csv(self, path: str | Path) -> None:
        """Write the receivers' reported positions in OpenSky ``sensors.csv`` layout."""
        write_receivers_csv(self.scenario, path)


def write_receivers_csv(scenario: Scenario, path: str | Path) -> None:
    """Write ``scenario``'s receivers' reported positions in OpenSky ``sensors.csv`` layout
    (``serial,latitude,longitude,height,type,name``), the table ``--receivers`` reads."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["serial", "latitude", "longitude", "height", "type", "name"])
        for r in scenario.receivers:
            lat, lon, h = r.reported_llh()
            w.writerow(
                [r.receiver_id, f"{lat:.7f}", f"{lon:.7f}", f"{h:.3f}", r.clock.type_name, r.label]
            )
