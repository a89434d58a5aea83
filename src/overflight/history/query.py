"""Questions to history: one aircraft's track and flights, an airport's day, an area in a time
window, who was seen. The CLI and the HTTP server call the same functions.

Every query reads the database and its archived Parquet days as one table. Every string from a
user (a callsign, a registration, an airport code) is bound as a parameter, never pasted into SQL.
Times are UTC epoch seconds; a window is half open, ``start_s <= t < end_s`` (None: unbounded).

>>> h = History.open("history.duckdb")                               # doctest: +SKIP
>>> tr = h.track("393322", start_s=1720248000, end_s=1720260000)     # doctest: +SKIP
>>> tr.positions.num_rows, h.support(tr.positions)                   # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overflight.history.store import POSITION_COLUMNS, HistoryStore, first_row, open_history

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "AircraftRef",
    "AirportDay",
    "Area",
    "History",
    "QueryError",
    "Support",
    "Track",
    "parse_area",
    "parse_day",
    "parse_time",
    "window_sql",
]

POSITION_FIELDS = tuple(n for n, _ in POSITION_COLUMNS)


class QueryError(ValueError):
    """A question that cannot be asked (unknown aircraft, inverted window, malformed area)."""


# ---------------------------------------------------------------------------- parsing

def parse_time(text: str) -> float:
    """UTC epoch seconds from ISO 8601 (``2024-07-06T06:43:09Z``, ``2024-07-06 06:43``,
    ``2024-07-06``; without a zone: UTC) or a number of epoch seconds. QueryError otherwise."""
    s = text.strip()
    try:
        v = float(s)
    except ValueError:
        pass
    else:
        if not math.isfinite(v):
            raise QueryError(f"{text!r}: not a time")
        return v
    try:
        d = datetime.fromisoformat(s.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            f"{text!r}: not a time (want ISO 8601 such as 2024-07-06T06:43:09Z, a date, "
            "or epoch seconds)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.timestamp()


def parse_day(text: str) -> date:
    """A day ``YYYY-MM-DD``; QueryError otherwise."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"{text!r}: not a date (want YYYY-MM-DD)") from None


def check_window(start_s: float | None, end_s: float | None) -> None:
    """QueryError when ``end_s`` is not after ``start_s``."""
    if start_s is not None and end_s is not None and not end_s > start_s:
        raise QueryError("the time range is inverted or empty: --to must be after --from")


@dataclass(frozen=True, slots=True)
class Area:
    """A bounding box (degrees; ``west > east`` crosses the antimeridian) or a circle
    (centre in degrees, radius in km; ``radius_km`` is None for a box)."""

    south: float
    west: float
    north: float
    east: float
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None


def parse_area(bbox: str | None = None, circle: str | None = None) -> Area:
    """``--bbox S,W,N,E`` or ``--circle LAT,LON,KM`` as an :class:`Area`; QueryError when
    malformed, out of range, or both / neither given."""
    if (bbox is None) == (circle is None):
        raise QueryError("give one area: --bbox S,W,N,E or --circle LAT,LON,KM")
    text = bbox if bbox is not None else circle
    assert text is not None
    try:
        vals = [float(x) for x in text.split(",")]
    except ValueError:
        vals = []
    if any(not math.isfinite(v) for v in vals):
        vals = []
    if bbox is not None:
        if len(vals) != 4:
            raise QueryError(f"{bbox!r}: want --bbox S,W,N,E in degrees, e.g. 43,1,44,2")
        s, w, n, e = vals
        if not (-90 <= s < n <= 90 and -180 <= w <= 180 and -180 <= e <= 180 and w != e):
            raise QueryError(f"{bbox!r}: want south < north within -90..90 and west, east "
                             "within -180..180 degrees")
        return Area(s, w, n, e)
    if len(vals) != 3:
        raise QueryError(f"{circle!r}: want --circle LAT,LON,KM, e.g. 43.63,1.37,25")
    lat, lon, km = vals
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < km <= 5000):
        raise QueryError(f"{circle!r}: want latitude -90..90, longitude -180..180 and "
                         "0 < KM <= 5000")
    dlat = math.degrees(km / 6371.0088)
    s, n = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    coslat = math.cos(math.radians(max(abs(s), abs(n))))
    if n >= 90 or s <= -90 or coslat < 1e-6 or dlat / coslat >= 180:
        w, e = -180.0, 180.0
    else:
        dlon = dlat / coslat
        w, e = lon - dlon, lon + dlon
        w = w + 360 if w < -180 else w
        e = e - 360 if e > 180 else e
    return Area(s, w, n, e, lat, lon, km)


# ---------------------------------------------------------------------------- results

@dataclass(frozen=True, slots=True)
class Support:
    """What an answer rests on: stored frames behind it and the receivers that heard them
    (``frames_referenced``: frame numbers named by the rows, some maybe pruned since)."""

    frames: int
    receivers: int
    frames_referenced: int

    def text(self) -> str:
        """One line for people."""
        pruned = self.frames_referenced - self.frames
        return (f"supported by {self.frames:,} frames from {self.receivers:,} receiver(s)"
                + (f" ({pruned:,} referenced frames no longer stored)" if pruned else ""))


@dataclass(frozen=True, slots=True)
class AircraftRef:
    """Who a text names: addresses (with the non-ICAO flag), how it matched (``address``,
    ``registration`` or ``callsign``) and, for a callsign, the window it was heard in."""

    text: str
    matched: str
    addresses: tuple[tuple[int, bool], ...]
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True, slots=True)
class Track:
    """One aircraft's positions (columns of the ``positions`` table, in time order; several
    aircraft when a callsign or registration named several) and what they were asked with."""

    ref: AircraftRef
    positions: pa.Table
    start_s: float | None
    end_s: float | None


@dataclass(frozen=True, slots=True)
class AirportDay:
    """An airport's departures and arrivals of one UTC day (rows of ``flights``)."""

    airport: str
    day: date
    departures: pa.Table
    arrivals: pa.Table


_HEX = re.compile(r"~?[0-9A-Fa-f]{6}")
_AIRPORT = re.compile(r"[A-Z0-9]{3,4}")


def _day_range(day: date) -> tuple[float, float]:
    t0 = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return t0, (datetime(day.year, day.month, day.day, tzinfo=UTC)
                + timedelta(days=1)).timestamp()


def window_sql(col: str, start_s: float | None, end_s: float | None,
               params: dict[str, Any]) -> str:
    """``col`` within ``[start_s, end_s)`` (either end open when None) as SQL, the bounds
    put in ``params`` as ``$t0`` / ``$t1``."""
    parts = []
    if start_s is not None:
        params["t0"] = float(start_s)
        parts.append(f"{col} >= $t0")
    if end_s is not None:
        params["t1"] = float(end_s)
        parts.append(f"{col} < $t1")
    return " AND ".join(parts) if parts else "TRUE"


class History:
    """Queries over one history database (and its archive).

    Args:
        store: an open store (read-only is enough).
        identifier: an :class:`overflight.identity.Identifier` for registrations, types,
            countries, military and watchlists (default: the user's store, when present).
    """

    def __init__(self, store: HistoryStore, identifier: Any = None) -> None:
        self.store = store
        self._identifier = identifier

    @classmethod
    def open(cls, path: Path | str | None = None, *, identity_db: Path | str | None = None,
             read_only: bool = True) -> History:
        """Open the database at ``path`` (default: the user's) for queries."""
        ident = None
        if identity_db is not None:
            from overflight.identity import Identifier

            ident = Identifier(identity_db)
        return cls(open_history(path, read_only=read_only), ident)

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    @property
    def identifier(self) -> Any:
        """The identity resolver (loaded at first use)."""
        if self._identifier is None:
            from overflight.identity import Identifier

            self._identifier = Identifier.default()
        return self._identifier

    def _q(self, sql: str, params: dict[str, Any]) -> pa.Table:
        return self.store.cursor().sql(sql, params=params).to_arrow_table()

    def _src(self, table: str, params: dict[str, Any], start_s: float | None = None,
             end_s: float | None = None) -> str:
        return self.store.source(table, params, start_s=start_s, end_s=end_s)

    # ------------------------------------------------------------------ who
    def resolve(self, text: str, start_s: float | None = None,
                end_s: float | None = None) -> AircraftRef:
        """``HEX`` (six hex digits, ``~`` for a non-ICAO address), a registration (from the
        aircraft store, else the registration derived from an address heard in the window:
        N-numbers, French blocks...) or a callsign heard in the window.
        QueryError when it names nothing known."""
        s = text.strip()
        if not s or len(s) > 16 or any(ord(c) < 32 or ord(c) == 127 for c in s):
            raise QueryError(f"{text!r}: not an address, registration or callsign")
        if _HEX.fullmatch(s):
            non_icao = s.startswith("~")
            return AircraftRef(s, "address", ((int(s.lstrip("~"), 16), non_icao),))
        try:
            regs = self.identifier.addresses_for_registration(s)
        except Exception:
            regs = ()
        if regs:
            return AircraftRef(s, "registration", tuple((int(a), False) for a in regs))
        derived = self._derived_registration(s, start_s, end_s)
        if derived:
            return AircraftRef(s, "registration", tuple((a, False) for a in derived))
        params: dict[str, Any] = {"cs": s.upper()}
        where = window_sql("time_s", start_s, end_s, params)
        rows = self.store.cursor().execute(
            f"SELECT address, non_icao, min(time_s), max(time_s) FROM "
            f"{self._src('positions', params, start_s, end_s)} WHERE callsign = $cs AND {where} "
            "GROUP BY address, non_icao ORDER BY 3", params).fetchall()
        if rows:
            return AircraftRef(s, "callsign", tuple((int(a), bool(n)) for a, n, _, _ in rows),
                               min(float(r[2]) for r in rows), max(float(r[3]) for r in rows))
        raise QueryError(f"{text!r}: unknown: not a hex address, no registration in the "
                         "aircraft store, no callsign heard in that window")

    def _derived_registration(self, text: str, start_s: float | None,
                              end_s: float | None) -> list[int]:
        """Addresses heard in the window whose registration (registry or derived from the
        address, e.g. French and US blocks) is ``text``."""
        import numpy as np

        from overflight.identity.registry import registration_key

        key = registration_key(text)
        if not key:
            return []
        params: dict[str, Any] = {}
        where = window_sql("time_s", start_s, end_s, params)
        rows = self.store.cursor().execute(
            f"SELECT DISTINCT address FROM {self._src('positions', params, start_s, end_s)} "
            f"WHERE NOT non_icao AND {where}", params).fetchall()
        if not rows:
            return []
        addrs = np.array([int(r[0]) for r in rows], np.int64)
        try:
            regs = self.identifier.identify_many(addrs).registration
        except Exception:
            return []
        return sorted(int(a) for a, r in zip(addrs.tolist(), regs.tolist(), strict=True)
                      if r and registration_key(str(r)) == key)

    # ------------------------------------------------------------------ track
    def positions(self, address: int, non_icao: bool = False, start_s: float | None = None,
                  end_s: float | None = None) -> pa.Table:
        """One address's positions in the window, in time order (``positions`` columns)."""
        check_window(start_s, end_s)
        params: dict[str, Any] = {"a": int(address), "n": bool(non_icao)}
        where = window_sql("time_s", start_s, end_s, params)
        src = self._src("positions", params, start_s, end_s)
        return self._q(
            f"SELECT {', '.join(POSITION_FIELDS)} FROM {src} "
            f"WHERE address = $a AND non_icao = $n AND {where} ORDER BY time_s", params)

    def track(self, text: str, start_s: float | None = None,
              end_s: float | None = None) -> Track:
        """The positions of the aircraft ``text`` names (see :meth:`resolve`) in the window;
        for a callsign, within the time it was heard."""
        import pyarrow as pa

        check_window(start_s, end_s)
        ref = self.resolve(text, start_s, end_s)
        t0, t1 = start_s, end_s
        if ref.matched == "callsign":
            t0 = ref.start_s if t0 is None else max(t0, ref.start_s or t0)
            t1 = (ref.end_s or 0) + 1e-6 if t1 is None else min(t1, (ref.end_s or t1) + 1e-6)
        parts = [self.positions(a, n, t0, t1) for a, n in ref.addresses]
        table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        return Track(ref, table, t0, t1)

    # ------------------------------------------------------------------ support
    def support(self, positions: pa.Table) -> Support:
        """Frames and receivers behind ``positions`` (rows with ``frame_seq`` /
        ``pair_frame_seq``)."""
        if positions.num_rows == 0:
            return Support(0, 0, 0)
        cur = self.store.cursor()
        cur.register("_p", positions.select(["frame_seq", "pair_frame_seq"]))
        params: dict[str, Any] = {}
        t = positions.column("time_s")
        lo, hi = pc_min_max(t)
        frames = self._src("frames", params, lo - 86400.0, hi + 86400.0)
        row = first_row(cur.execute(
            "WITH s AS (SELECT frame_seq AS seq FROM _p WHERE frame_seq >= 0 UNION "
            "SELECT pair_frame_seq FROM _p WHERE pair_frame_seq >= 0), "
            f"f AS (SELECT seq, receiver FROM {frames} WHERE seq BETWEEN "
            "(SELECT min(seq) FROM s) AND (SELECT max(seq) FROM s)) "
            "SELECT (SELECT count(*) FROM s), count(f.seq), count(DISTINCT f.receiver) "
            "FROM s JOIN f USING (seq)", params))
        cur.unregister("_p")
        assert row is not None
        return Support(int(row[1]), int(row[2]), int(row[0]))

    # ------------------------------------------------------------------ flights
    def flights(self, addresses: tuple[tuple[int, bool], ...] | list[int],
                start_s: float | None = None, end_s: float | None = None) -> pa.Table:
        """Flights (``flights`` columns) of these addresses overlapping the window, in time
        order; a flight stored twice (a file ingested again) once."""
        import pyarrow as pa

        check_window(start_s, end_s)
        addrs = [int(a[0]) if isinstance(a, tuple) else int(a) for a in addresses]
        params: dict[str, Any] = {"addrs": pa.array(addrs, pa.uint32()).to_pylist()}
        w = []
        if start_s is not None:
            params["t0"] = float(start_s)
            w.append("last_seen_s >= $t0")
        if end_s is not None:
            params["t1"] = float(end_s)
            w.append("first_seen_s < $t1")
        where = " AND ".join(w) if w else "TRUE"
        return self._q(
            f"SELECT * EXCLUDE (run_id) FROM {self._src('flights', params, start_s, end_s)} "
            f"WHERE list_contains($addrs::UINTEGER[], address) AND {where} "
            "QUALIFY row_number() OVER (PARTITION BY flight_id ORDER BY run_id DESC) = 1 "
            "ORDER BY first_seen_s", params)

    def flights_of(self, text: str, start_s: float | None = None,
                   end_s: float | None = None) -> tuple[AircraftRef, pa.Table]:
        """The flights of the aircraft ``text`` names (hex, registration or callsign)."""
        ref = self.resolve(text, start_s, end_s)
        return ref, self.flights(ref.addresses, start_s, end_s)

    def airport_day(self, airport: str, day: date) -> AirportDay:
        """Departures and arrivals of ``airport`` (ICAO code) on UTC ``day``, in time order.
        QueryError for a malformed or unknown code."""
        code = airport.strip().upper()
        if not _AIRPORT.fullmatch(code):
            raise QueryError(f"{airport!r}: not an airport code (want ICAO, e.g. LFBO)")
        t0, t1 = _day_range(day)
        out = {}
        for end in ("departure", "arrival"):
            params: dict[str, Any] = {"c": code, "t0": t0, "t1": t1}
            out[end] = self._q(
                f"SELECT * EXCLUDE (run_id) FROM {self._src('flights', params, t0, t1)} "
                f"WHERE {end}_airport = $c AND {end}_time_s >= $t0 AND {end}_time_s < $t1 "
                "QUALIFY row_number() OVER (PARTITION BY flight_id ORDER BY run_id DESC) = 1 "
                f"ORDER BY {end}_time_s", params)
        if out["departure"].num_rows == 0 and out["arrival"].num_rows == 0 \
                and not _known_airport(code):
            raise QueryError(f"{airport!r}: unknown airport code")
        return AirportDay(code, day, out["departure"], out["arrival"])

    # ------------------------------------------------------------------ area
    def area(self, area: Area, start_s: float | None, end_s: float | None) -> pa.Table:
        """Every aircraft with a position in ``area`` during the window: ``address, non_icao,
        callsigns, first_s, last_s, positions, min_altitude_ft, max_altitude_ft, sources``,
        the earliest first."""
        check_window(start_s, end_s)
        params: dict[str, Any] = {"s": area.south, "n": area.north, "w": area.west,
                                  "e": area.east}
        where = window_sql("time_s", start_s, end_s, params)
        lon = ("lon_deg BETWEEN $w AND $e" if area.west <= area.east
               else "(lon_deg >= $w OR lon_deg <= $e)")
        circle = "TRUE"
        if area.radius_km is not None:
            params.update(clat=area.lat, clon=area.lon, km=area.radius_km)
            circle = ("2 * 6371.0088 * asin(sqrt(pow(sin(radians(lat_deg - $clat) / 2), 2) + "
                      "cos(radians($clat)) * cos(radians(lat_deg)) * "
                      "pow(sin(radians(lon_deg - $clon) / 2), 2))) <= $km")
        return self._q(
            "SELECT address, non_icao, list_sort(list_distinct(list(callsign))) AS callsigns, "
            "min(time_s) AS first_s, max(time_s) AS last_s, count(*) AS positions, "
            "min(altitude_ft) AS min_altitude_ft, max(altitude_ft) AS max_altitude_ft, "
            "list_sort(list_distinct(list(source))) AS sources "
            f"FROM {self._src('positions', params, start_s, end_s)} WHERE {where} "
            f"AND lat_deg BETWEEN $s AND $n AND {lon} AND {circle} "
            "GROUP BY address, non_icao ORDER BY first_s, address", params)

    def area_positions(self, area: Area, start_s: float | None,
                       end_s: float | None) -> pa.Table:
        """The positions themselves inside ``area`` during the window (time order)."""
        check_window(start_s, end_s)
        params: dict[str, Any] = {"s": area.south, "n": area.north, "w": area.west,
                                  "e": area.east}
        where = window_sql("time_s", start_s, end_s, params)
        lon = ("lon_deg BETWEEN $w AND $e" if area.west <= area.east
               else "(lon_deg >= $w OR lon_deg <= $e)")
        src = self._src("positions", params, start_s, end_s)
        return self._q(
            f"SELECT {', '.join(POSITION_FIELDS)} FROM {src} "
            f"WHERE {where} AND lat_deg BETWEEN $s AND $n AND {lon} ORDER BY time_s", params)

    # ------------------------------------------------------------------ who was seen
    def seen(self, start_s: float | None, end_s: float | None) -> pa.Table:
        """Every aircraft with a position in the window: ``address, non_icao, callsigns,
        first_s, last_s, positions``."""
        check_window(start_s, end_s)
        params: dict[str, Any] = {}
        where = window_sql("time_s", start_s, end_s, params)
        return self._q(
            "SELECT address, non_icao, list_sort(list_distinct(list(callsign))) AS callsigns, "
            "min(time_s) AS first_s, max(time_s) AS last_s, count(*) AS positions "
            f"FROM {self._src('positions', params, start_s, end_s)} WHERE {where} "
            "GROUP BY address, non_icao ORDER BY first_s, address", params)

    def aircraft(self, start_s: float | None, end_s: float | None, *, military: bool = False,
                 country: str | None = None, type_code: str | None = None,
                 watchlist: str | None = None) -> pa.Table:
        """Aircraft seen in the window that match every filter given: military (registry,
        watchlist or address block), ``country`` (name or ISO code, either case), ICAO
        ``type_code``, or a watchlist ``watchlist`` tag / category. The :meth:`seen` columns
        plus ``registration, type_code, country, military``."""
        import numpy as np
        import pyarrow as pa

        seen = self.seen(start_s, end_s)
        icao = ~seen.column("non_icao").to_numpy(zero_copy_only=False)
        seen = seen.filter(pa.array(icao))
        addrs = seen.column("address").to_numpy(zero_copy_only=False).astype(np.int64)
        ident = self.identifier
        cols = ident.identify_many(addrs)
        keep = np.ones(len(addrs), bool)
        if military:
            keep &= np.asarray(cols.military, bool)
        if country is not None:
            c = country.strip().lower()
            names = np.array([(x or "").lower() for x in cols.country], dtype=object)
            codes = np.array([(x or "").lower() for x in cols.country_code], dtype=object)
            keep &= (names == c) | (codes == c)
        if type_code is not None:
            t = type_code.strip().upper()
            keep &= np.array([(x or "").upper() == t for x in cols.type_code], bool)
        if watchlist is not None:
            w = watchlist.strip().lower()
            hit = np.zeros(len(addrs), bool)
            for i in np.flatnonzero(keep):
                idn = ident.identify(int(addrs[i]))
                labels = [*(getattr(idn, "tags", ()) or ()),
                          *(getattr(idn, "categories", ()) or ())]
                hit[i] = any(str(x).lower() == w for x in labels)
            keep &= hit
        idx = np.flatnonzero(keep)
        out = seen.take(pa.array(idx))
        return (out.append_column("registration", pa.array(cols.registration[idx].tolist(),
                                                           pa.string()))
                .append_column("type_code", pa.array(cols.type_code[idx].tolist(), pa.string()))
                .append_column("country", pa.array(cols.country[idx].tolist(), pa.string()))
                .append_column("military", pa.array(np.asarray(cols.military, bool)[idx])))


def pc_min_max(column: Any) -> tuple[float, float]:
    """Smallest and largest value of a numeric Arrow column."""
    import pyarrow.compute as pc

    mm = pc.min_max(column)
    return float(mm["min"].as_py()), float(mm["max"].as_py())


def _known_airport(code: str) -> bool:
    try:
        from overflight.flights.airports import default_index

        return default_index().index_of(code) is not None
    except Exception:
        return True
