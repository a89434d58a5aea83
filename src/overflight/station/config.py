"""The station's typed configuration: what to connect to, what to serve, how to batch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_HOST", "StationConfig"]

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class StationConfig:
    """Everything a :class:`~overflight.station.Station` needs; no I/O happens on construction.

    Attributes:
        connect: Beast receivers ``(host, port)`` to read (reconnected with back-off).
        connect_raw: raw AVR receivers ``(host, port)`` to read.
        connect_sbs: SBS (BaseStation, port 30003) feeds ``(host, port)`` to read: state
            decoded elsewhere, tracked with source ``sbs`` (below the station's own decoding).
        listen_beast: accept feeders pushing Beast on this port (0: any free port).
        bind: address every listening port binds (loopback by default).
        beast_out, raw_out, sbs_out: re-serve Beast / raw AVR / SBS on these ports.
        record_dir: record every frame as Beast (with time records) into this directory.
        receivers_csv: receivers table for multilateration
            (``serial,latitude,longitude,height,type``).
        receiver_ids: ``PEER -> serial`` for feeds without ``0xe3`` receiver ids.
        receiver_lat_lon: the receiver's position (degrees) for surface positions.
        identity_db: aircraft store for identities (None: the user's default store when it
            exists, else identities from the address alone); ``identify=False`` turns it off.
        flights: detect flights (take-off, landing, legs) live.
        batch_period_s: live frames are decoded and tracked in batches of this many seconds.
        max_batch_frames: ... or of this many frames, whichever comes first.
        queue_batches: live batches waiting for tracking before new ones are dropped (counted).
        expire_after_s: an aircraft not heard for this long leaves the station's state
            (handed to subscribers as gone); the live picture keeps readsb's 60 s / 30 s.
        snapshot_every_s: the live snapshot is rebuilt at most this often (wall seconds).
        flights_every_s: live flights are re-examined at most this often (station seconds).
        max_aircraft: cap of the tracker's state table (None: the tracker's default).
        mlat_slice_s: with MLAT, batches are tracked in slices of this many seconds (station
            time), the fixes applied between them; longer slices cost less per frame when a
            recording is replayed many times faster than real time (the demo), at the price of
            fixes reaching the tracker that much later.
        simulated: the input is simulated (the demo): said in every answer.
    """

    connect: tuple[tuple[str, int], ...] = ()
    connect_raw: tuple[tuple[str, int], ...] = ()
    connect_sbs: tuple[tuple[str, int], ...] = ()
    listen_beast: int | None = None
    bind: str = DEFAULT_HOST
    beast_out: int | None = None
    raw_out: int | None = None
    sbs_out: int | None = None
    record_dir: Path | None = None
    receivers_csv: Path | None = None
    receiver_ids: Mapping[str, int] = field(default_factory=dict)
    receiver_lat_lon: tuple[float, float] | None = None
    identity_db: Path | None = None
    identify: bool = True
    flights: bool = True
    batch_period_s: float = 0.2
    max_batch_frames: int = 65536
    queue_batches: int = 64
    expire_after_s: float = 600.0
    snapshot_every_s: float = 0.5
    flights_every_s: float = 30.0
    max_aircraft: int | None = None
    mlat_slice_s: float = 1.0
    simulated: bool = False

    @property
    def is_live(self) -> bool:
        """True when the config names a network input."""
        return bool(
            self.connect or self.connect_raw or self.connect_sbs or self.listen_beast is not None
        )
