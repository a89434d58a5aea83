"""Independent ground truth for leg airports, from raw points and airportsdata reference points.

Not the detector's method: no runways, no hysteresis, no gap rules. Segments are runs separated
by > 20 min of silence; an end's airport is the nearest airportsdata airport (reference point)
to the median position of its on-ground points when there are any, else (mid-day stop) to the
midpoint of the last point before and the first point after the silence when the two are within
60 km of each other and below 10,000 ft, else unknown (None).
"""

from __future__ import annotations

import airportsdata
import numpy as np

from overflight.flights.geo import haversine_km
from overflight.flights.table import PositionTable

_AP = airportsdata.load("ICAO")
_CODES = np.array(list(_AP))
_LAT = np.array([_AP[c]["lat"] for c in _CODES])
_LON = np.array([_AP[c]["lon"] for c in _CODES])


def nearest_airport(lat: float, lon: float, max_km: float = 25.0) -> str | None:
    d = haversine_km(lat, lon, _LAT, _LON)
    i = int(np.argmin(d))
    return str(_CODES[i]) if d[i] <= max_km else None


def segment_truth(
    tab: PositionTable, gap_s: float = 1200.0
) -> list[tuple[float, float, str | None, str | None]]:
    """(start_s, end_s, departure, arrival) per segment with airborne points."""
    out: list[tuple[float, float, str | None, str | None]] = []
    starts, ends = tab.aircraft_bounds()
    for s0, e0 in zip(starts, ends, strict=True):
        t = tab.time_s[s0:e0]
        cut = np.flatnonzero(np.diff(t) > gap_s) + 1
        bounds = list(zip(np.r_[0, cut], np.r_[cut, len(t)], strict=True))
        segs = []
        for a, b in bounds:
            sl = slice(s0 + a, s0 + b)
            gs = tab.groundspeed_kt[sl]
            if not (np.nan_to_num(gs) > 80).any():
                continue  # never flew
            segs.append((s0 + a, s0 + b - 1))
        for k, (a, b) in enumerate(segs):
            ends_ap: list[str | None] = []
            for side, r in (("dep", a), ("arr", b)):
                lo, hi = (a, min(a + 300, b)) if side == "dep" else (max(b - 300, a), b)
                g = tab.on_ground[lo : hi + 1] == 1
                if g.any():
                    ends_ap.append(
                        nearest_airport(
                            float(np.median(tab.lat_deg[lo : hi + 1][g])),
                            float(np.median(tab.lon_deg[lo : hi + 1][g])),
                        )
                    )
                    continue
                other = (
                    (segs[k - 1][1] if k > 0 else None)
                    if side == "dep"
                    else (segs[k + 1][0] if k + 1 < len(segs) else None)
                )
                if other is None:
                    ends_ap.append(None)
                    continue
                d = haversine_km(
                    tab.lat_deg[r], tab.lon_deg[r], tab.lat_deg[other], tab.lon_deg[other]
                )
                low = np.nan_to_num(tab.altitude_ft[[r, other]], nan=0.0).max() < 10_000
                if d <= 60 and low:
                    ends_ap.append(
                        nearest_airport(
                            (tab.lat_deg[r] + tab.lat_deg[other]) / 2,
                            (tab.lon_deg[r] + tab.lon_deg[other]) / 2,
                            40.0,
                        )
                    )
                else:
                    ends_ap.append(None)
            out.append((float(tab.time_s[a]), float(tab.time_s[b]), ends_ap[0], ends_ap[1]))
    return out


def agreement(
    tab: PositionTable, flights: tuple, gap_s: float = 1200.0
) -> tuple[int, int, int, int]:  # type: ignore[type-arg]
    """(segments, segments found, segments with both airports equal to the truth, truth airports
    named) -- a truth end of None must be None (unknown) or an inferred estimate to count."""
    truth = segment_truth(tab, gap_s)
    found = correct = 0
    for s, e, d, a in truth:
        ac = int(tab.icao24[np.searchsorted(tab.time_s, s)]) if False else None
        del ac
        m = [
            f for f in flights if f.first_seen_s <= e and f.last_seen_s >= s and _same_ac(tab, f, s)
        ]
        if not m:
            continue
        found += 1
        dep, arr = m[0].departure, m[-1].arrival
        ok_d = dep.code == d or (d is None and dep.how != "observed")
        ok_a = arr.code == a or (a is None and arr.how != "observed")
        correct += ok_d and ok_a
    named = sum((d is not None) + (a is not None) for _, _, d, a in truth)
    return len(truth), found, correct, named


def _same_ac(tab: PositionTable, f: object, s: float) -> bool:
    rows = np.flatnonzero(tab.time_s == s)
    return any(f"{int(tab.icao24[r]):06x}" == getattr(f, "icao24", None) for r in rows)
