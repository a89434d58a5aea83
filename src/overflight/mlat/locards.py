"""Reader for OpenSky LocaRDS-style multilateration sets (``set_N.csv`` + ``sensors.csv``).

Each row is one transmission: the aircraft's own ADS-B position (the ground truth), its
barometric and geometric altitude (metres) and a JSON list of ``[sensor, toa_ns, rssi]``.
Rows that do not parse are counted in :attr:`LocardsSet.skipped` and left out.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["LocardsSet", "read_locards_set"]

_Meas = tuple[int, int, float]
"""(sensor serial, time of arrival ns, rssi)."""


@dataclass(frozen=True, slots=True)
class LocardsSet:
    """One set, columnar; ``m`` is the largest number of measurements in a row (padding: -1 / NaN).

    Attributes:
        name: the set's name (file stem).
        row_id: ``(n,)`` the row ids.
        time_s: ``(n,)`` server time, seconds.
        aircraft: ``(n,)`` aircraft id (anonymised integer).
        lat_deg, lon_deg: ``(n,)`` ADS-B reported position (truth).
        baro_altitude_m, geo_altitude_m: ``(n,)`` barometric and GNSS altitude, metres.
        sensor: ``(n, m)`` sensor serials, -1 where absent.
        toa_s: ``(n, m)`` time of arrival, seconds (from integer ns), NaN where absent.
        rssi: ``(n, m)`` the receivers' signal strength figure (unitless, as given), NaN where
            absent.
        skipped: number of rows that did not parse.
    """

    name: str
    row_id: npt.NDArray[np.int64]
    time_s: npt.NDArray[np.float64]
    aircraft: npt.NDArray[np.int64]
    lat_deg: npt.NDArray[np.float64]
    lon_deg: npt.NDArray[np.float64]
    baro_altitude_m: npt.NDArray[np.float64]
    geo_altitude_m: npt.NDArray[np.float64]
    sensor: npt.NDArray[np.int64]
    toa_s: npt.NDArray[np.float64]
    rssi: npt.NDArray[np.float64]
    skipped: int

    def __len__(self) -> int:
        return int(self.row_id.shape[0])


def _num(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return float("nan")


def read_locards_set(path: str | Path) -> LocardsSet:
    """Read one ``set_N.csv``; malformed rows are skipped and counted."""
    rows: list[
        tuple[int, float, int, float, float, float, float, list[tuple[int, int, float]]]
    ] = []
    skipped = 0
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                meas = [
                    (int(m[0]), int(m[1]), float(m[2]) if len(m) > 2 else math.nan)
                    for m in json.loads(row["measurements"])
                ]
                rows.append(
                    (
                        int(row["id"]),
                        float(row["timeAtServer"]),
                        int(row["aircraft"]),
                        float(row["latitude"]),
                        float(row["longitude"]),
                        _num(row["baroAltitude"]),
                        _num(row["geoAltitude"]),
                        meas,
                    )
                )
            except (KeyError, ValueError, TypeError, IndexError, json.JSONDecodeError):
                skipped += 1
    n = len(rows)
    m = max((len(r[7]) for r in rows), default=0)
    sensor = np.full((n, m), -1, np.int64)
    toa = np.full((n, m), np.nan)
    rssi = np.full((n, m), np.nan)
    for k, r in enumerate(rows):
        for j, (s, t, q) in enumerate(r[7]):
            sensor[k, j] = s
            toa[k, j] = t * 1e-9
            rssi[k, j] = q
    col = list(zip(*[r[:7] for r in rows], strict=True)) if rows else [()] * 7
    return LocardsSet(
        name=Path(path).stem,
        row_id=np.array(col[0], np.int64),
        time_s=np.array(col[1], np.float64),
        aircraft=np.array(col[2], np.int64),
        lat_deg=np.array(col[3], np.float64),
        lon_deg=np.array(col[4], np.float64),
        baro_altitude_m=np.array(col[5], np.float64),
        geo_altitude_m=np.array(col[6], np.float64),
        sensor=sensor,
        toa_s=toa,
        rssi=rssi,
        skipped=skipped,
    )
