"""Receiver registry: where each receiver is and what kind of clock stamps its frames.

A receiver's position (WGS84 latitude, longitude, ellipsoidal height) and clock type come from
configuration (or a sensors table such as OpenSky's ``sensors.csv``); its timing quality
(``toa_sigma_s``) starts from the clock type's nominal value and can be re-learned from residuals.
"""

from __future__ import annotations

import csv
import enum
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from overflight.mlat.geodesy import llh_to_ecef

__all__ = [
    "HEIGHT_RANGE_M",
    "ClockType",
    "Receiver",
    "ReceiverRegistry",
    "RejectedRow",
    "receiver_from_row",
    "receiver_problem",
]


class ClockType(enum.Enum):
    """How a receiver timestamps frames: tick rate, nominal jitter, whether on GPS time."""

    BEAST_12MHZ = "beast_12mhz"
    """Mode-S Beast / dump1090 free-running 12 MHz counter: needs clock synchronisation."""
    GPS_1GHZ = "gps_1ghz"
    """Radarcape-style GPS-disciplined nanosecond timestamps: already on a common timescale."""
    OTHER = "other"
    """Unknown free-running clock (e.g. SBS-3 20 MHz): synchronised like a Beast."""

    @property
    def tick_rate_hz(self) -> float:
        """Counter rate in Hz."""
        return {"beast_12mhz": 12e6, "gps_1ghz": 1e9, "other": 20e6}[self.value]

    @property
    def gps_synchronised(self) -> bool:
        """True when timestamps are already on GPS time (no pairwise synchronisation needed)."""
        return self is ClockType.GPS_1GHZ

    @property
    def nominal_sigma_s(self) -> float:
        """Typical 1-sigma time-of-arrival error in seconds (timestamp jitter + quantisation)."""
        return {"beast_12mhz": 80e-9, "gps_1ghz": 60e-9, "other": 150e-9}[self.value]

    @staticmethod
    def from_name(name: str) -> ClockType:
        """Clock type of a receiver type name (``Radarcape``, ``dump1090``, ``GRX1090``...)."""
        n = name.strip().lower()
        if n in {"radarcape", "grx1090", "gps", "gps_1ghz"}:
            return ClockType.GPS_1GHZ
        if n in {"dump1090", "beast", "beast_12mhz", "modes-beast", "readsb"}:
            return ClockType.BEAST_12MHZ
        return ClockType.OTHER


@dataclass(frozen=True, slots=True)
class Receiver:
    """One receiver: id, WGS84 position (degrees, ellipsoidal height in metres) and clock."""

    receiver_id: int
    lat_deg: float
    lon_deg: float
    height_m: float
    clock: ClockType = ClockType.BEAST_12MHZ
    toa_sigma_s: float = field(default=-1.0)
    """1-sigma time-of-arrival error, seconds; negative means "the clock type's nominal value"."""
    timing_bias_s: float = 0.0
    """How late this receiver stamps frames, seconds (cable delay, detector threshold, firmware):
    subtracted from its times of arrival before solving. Configured, or learned online from
    reference aircraft (GPS-synchronised receivers; free-running clocks absorb it in their
    pair offsets)."""

    @property
    def sigma_s(self) -> float:
        """Effective 1-sigma time-of-arrival error in seconds."""
        return self.toa_sigma_s if self.toa_sigma_s > 0 else self.clock.nominal_sigma_s

    @property
    def ecef_m(self) -> npt.NDArray[np.float64]:
        """Antenna position in ECEF metres, shape ``(3,)``."""
        return llh_to_ecef(self.lat_deg, self.lon_deg, self.height_m)


class ReceiverRegistry:
    """Receivers by id, with their ECEF positions and sigmas as arrays for the batched solver."""

    def __init__(self, receivers: Iterable[Receiver] = ()) -> None:
        self._by_id: dict[int, Receiver] = {}
        self._cache: (
            tuple[
                npt.NDArray[np.int64],
                npt.NDArray[np.float64],
                npt.NDArray[np.float64],
                npt.NDArray[np.float64],
            ]
            | None
        ) = None
        self.rejected: list[RejectedRow] = []
        """Rows of the table read by :meth:`from_csv` that were left out, with reasons."""
        for r in receivers:
            self.add(r)

    def add(self, receiver: Receiver) -> None:
        """Add or replace a receiver."""
        self._by_id[receiver.receiver_id] = receiver
        self._cache = None

    def set_sigma(self, receiver_id: int, sigma_s: float) -> None:
        """Record a learned timing quality (1-sigma TOA error, seconds) for a receiver."""
        self._by_id[receiver_id] = replace(self._by_id[receiver_id], toa_sigma_s=float(sigma_s))
        self._cache = None

    def set_biases(self, biases_s: dict[int, float]) -> None:
        """Record learned timing biases (seconds) for several receivers at once."""
        cache = self._cache
        for rid, b in biases_s.items():
            r = self._by_id.get(rid)
            if r is None or r.timing_bias_s == b:
                continue
            self._by_id[rid] = replace(r, timing_bias_s=float(b))
            if cache is not None:  # patch the arrays in place: no rebuild per batch
                cache[3][int(np.searchsorted(cache[0], rid))] = float(b)

    def _arrays(
        self,
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
    ]:
        """Sorted ids, ECEF positions (m), sigmas (s) and biases (s), computed once per change."""
        if self._cache is None:
            ids = np.array(sorted(self._by_id), dtype=np.int64)
            recs = [self._by_id[int(i)] for i in ids]
            ecef = (
                llh_to_ecef(
                    [r.lat_deg for r in recs], [r.lon_deg for r in recs], [r.height_m for r in recs]
                )
                if recs
                else np.zeros((0, 3))
            )
            sig = np.array([r.sigma_s for r in recs], dtype=np.float64)
            bias = np.array([r.timing_bias_s for r in recs], dtype=np.float64)
            self._cache = (ids, ecef.reshape(-1, 3), sig, bias)
        return self._cache

    def _index(self, ids: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
        a = np.asarray(ids, dtype=np.int64)
        known = self._arrays()[0]
        pos = np.searchsorted(known, a)
        if (
            known.size == 0
            or np.any(pos >= known.size)
            or np.any(known[np.minimum(pos, known.size - 1)] != a)
        ):
            missing = sorted(set(a.ravel().tolist()) - set(known.tolist()))
            raise KeyError(missing[0] if missing else a)
        return a, pos

    def __contains__(self, receiver_id: object) -> bool:
        return receiver_id in self._by_id

    def __getitem__(self, receiver_id: int) -> Receiver:
        return self._by_id[receiver_id]

    def __iter__(self) -> Iterator[Receiver]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[int]:
        """All receiver ids."""
        return list(self._by_id)

    def ecef_m(self, ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """ECEF positions (metres) of receivers ``ids`` (any shape), shape ``ids.shape + (3,)``."""
        _, pos = self._index(ids)
        return np.asarray(self._arrays()[1][pos], dtype=np.float64)

    def sigma_s(self, ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """1-sigma TOA errors (seconds) of receivers ``ids`` (any shape)."""
        _, pos = self._index(ids)
        return np.asarray(self._arrays()[2][pos], dtype=np.float64)

    def bias_s(self, ids: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Timing biases (seconds) of receivers ``ids`` (any shape)."""
        _, pos = self._index(ids)
        return np.asarray(self._arrays()[3][pos], dtype=np.float64)

    def gps(self, ids: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether receivers ``ids`` (any shape) are GPS-synchronised."""
        return np.array(
            [self._by_id[int(i)].clock.gps_synchronised for i in np.ravel(ids)], dtype=bool
        ).reshape(np.shape(ids))

    @staticmethod
    def from_csv(path: str | Path, *, geoid_offset_m: float = 0.0) -> ReceiverRegistry:
        """Read an OpenSky-style ``serial,latitude,longitude,height,type[,good]`` table.

        ``geoid_offset_m`` is added to every height (heights given above mean sea level need the
        local geoid undulation, about +48 m in central Europe, to become ellipsoidal).

        A row that cannot be a receiver (missing or non-numeric field, a value that is not
        finite, latitude outside [-90, 90]°, longitude outside [-180, 180]°, height outside
        :data:`HEIGHT_RANGE_M`, a serial outside int64 or already used) is left out and listed in
        :attr:`rejected` with its line number, serial and reason: one bad row never stops the
        others. The caller decides whether an empty registry is an error. OSError when the file
        cannot be opened; UnicodeError when no row is usable and the file is not text.
        """
        reg = ReceiverRegistry()
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:  # e.g. a field over the csv module's size limit
                    # raised before the line is counted: the row starts on the next line
                    reg.rejected.append(RejectedRow(reader.line_num + 1, "", f"not CSV: {exc}"))
                    continue
                r = receiver_from_row(row, geoid_offset_m=geoid_offset_m)
                if isinstance(r, Receiver) and r.receiver_id in reg:
                    r = f"serial {r.receiver_id} already used by an earlier row"
                if isinstance(r, str):
                    serial = row.get("serial")
                    reg.rejected.append(
                        RejectedRow(reader.line_num, serial if isinstance(serial, str) else "", r)
                    )
                    continue
                reg.add(r)
        if len(reg) == 0 and _not_text(path):
            raise UnicodeError(f"{path}: not UTF-8 text")
        return reg


def _not_text(path: str | Path) -> bool:
    """Whether the start of the file is binary (NUL bytes, or not UTF-8): said as such when no
    row of it could be a receiver, rather than "no receiver rows"."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a character cut by the 64 KiB read is not binary
    return False


HEIGHT_RANGE_M = (-1_000.0, 20_000.0)
"""Receiver heights accepted from a table, metres above the ellipsoid: the lowest ground is
about -430 m (Dead Sea; geoid about -100 m elsewhere), the highest 8,849 m; a fixed receiver
outside this range is a typing error (feet, millimetres) and would corrupt every fix it joins."""
_INT64_MAX = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row of a receivers table that was left out: 1-based line number, serial text, why."""

    line: int
    serial: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} (serial {self.serial[:40]!r}): {self.reason}"


def receiver_problem(lat_deg: float, lon_deg: float, height_m: float) -> str | None:
    """Why a position (degrees, metres above the ellipsoid) cannot be a receiver's, or None."""
    for name, v in (("latitude", lat_deg), ("longitude", lon_deg), ("height", height_m)):
        if not math.isfinite(v):
            return f"{name} {v} is not finite"
    if not -90.0 <= lat_deg <= 90.0:
        return f"latitude {lat_deg} is outside [-90, 90] degrees"
    if not -180.0 <= lon_deg <= 180.0:
        return f"longitude {lon_deg} is outside [-180, 180] degrees"
    lo, hi = HEIGHT_RANGE_M
    if not lo <= height_m <= hi:
        return f"height {height_m} m is outside [{lo:g}, {hi:g}] m"
    return None


def receiver_from_row(row: dict[str, str | None], *, geoid_offset_m: float = 0.0) -> Receiver | str:
    """A :class:`Receiver` from a ``serial,latitude,longitude,height,type`` row, or why not."""
    values: list[float] = []
    for key in ("latitude", "longitude", "height"):
        text = row.get(key)
        if text is None or not text.strip():
            return f"no {key}"
        try:
            values.append(float(text))
        except ValueError:
            return f"{key} {text[:40]!r} is not a number"
    lat, lon, h = values[0], values[1], values[2] + geoid_offset_m
    why = receiver_problem(lat, lon, h)
    if why is not None:
        return why
    serial = row.get("serial")
    try:
        rid = int(serial or "")
    except ValueError:
        return f"serial {(serial or '')[:40]!r} is not an integer"
    if not -_INT64_MAX - 1 <= rid <= _INT64_MAX:
        return "serial outside the 64-bit range"
    kind = row.get("type")
    clock = ClockType.from_name(kind if isinstance(kind, str) else "")
    return Receiver(rid, lat, lon, h, clock=clock)
