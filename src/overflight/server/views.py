"""Everything the server derives from one :class:`~overflight.station.Snapshot`, built once.

A request never touches the tracker and never rebuilds anything: it asks the
:class:`ViewCache` for the current :class:`SnapshotView` (a dict lookup while the station's
snapshot is unchanged) and reads the serialized ``aircraft.json`` or an index from it.

The view is built off the event loop (``asyncio.to_thread``): taking a snapshot may wait for the
tracking lock, and building ``aircraft.json`` for thousands of aircraft costs tens of ms of
Python. While a newer view is being built, requests are answered from the previous one (at most
``refresh_s`` plus the build time old), never blocked by the build.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from overflight.geo import bearing_deg, haversine_m
from overflight.jsonout import dumps
from overflight.station.updates import Snapshot

__all__ = ["NM_M", "SnapshotSource", "SnapshotView", "ViewCache"]

NM_M = 1852.0
"""Metres per nautical mile."""


class SnapshotSource(Protocol):
    """What the server reads: a :class:`~overflight.station.Station` or anything alike."""

    @property
    def config(self) -> Any: ...

    def snapshot(self) -> Snapshot: ...


def _key(text: object) -> str | None:
    """Upper-case search key of an untrusted string (None for non-strings and blanks)."""
    if not isinstance(text, str):
        return None
    k = text.strip().upper()
    return k or None


class SnapshotView:
    """Derived, immutable data of one snapshot: the readsb document and its JSON bytes, and
    indexes (hex, callsign, registration, type, squawk, military, positions) for the v2 API.

    Args:
        snapshot: the snapshot it is built from (kept: the cache compares by identity).
    """

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        doc = snapshot.aircraft_json()
        self.doc: dict[str, Any] = doc
        self.records: list[dict[str, Any]] = doc["aircraft"]
        t = snapshot.time_s
        self.now_s: float = t if math.isfinite(t) else snapshot.wall_s
        """The data's time (station clock, epoch s; the wall clock before any message)."""
        self.now_ms: int = round(self.now_s * 1000.0)
        self.built_ms: int = round(time.time() * 1000.0)
        """Wall-clock time the view was built (the v2 API's ``ctime``)."""
        self.aircraft_json_bytes: bytes = snapshot.aircraft_json_bytes()  # built once
        by_hex: dict[str, int] = {}
        by_callsign: dict[str, list[int]] = {}
        by_reg: dict[str, list[int]] = {}
        by_type: dict[str, list[int]] = {}
        by_squawk: dict[str, list[int]] = {}
        mil: list[int] = []
        n = len(self.records)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        for i, r in enumerate(self.records):
            by_hex[r["hex"]] = i
            for index, value in (
                (by_callsign, r.get("flight")),
                (by_reg, r.get("r")),
                (by_type, r.get("t")),
                (by_squawk, r.get("squawk")),
            ):
                k = _key(value)
                if k is not None:
                    index.setdefault(k, []).append(i)
            if int(r.get("dbFlags", 0)) & 1:
                mil.append(i)
            if "lat" in r:
                lat[i] = r["lat"]
                lon[i] = r["lon"]
        self.by_hex = by_hex
        self.by_callsign = by_callsign
        self.by_reg = by_reg
        self.by_type = by_type
        self.by_squawk = by_squawk
        self.military: tuple[int, ...] = tuple(mil)
        with_pos = np.flatnonzero(~np.isnan(lat))
        by_lat = with_pos[np.argsort(lat[with_pos], kind="stable")]
        self._with_pos = by_lat  # records with a position, by latitude
        self._lat = lat[by_lat]
        self._lon = lon[by_lat]
        self._fragments: dict[int, bytes] = {}

    def fragment(self, i: int) -> bytes:
        """Record ``i`` as strict JSON bytes (serialized once per view)."""
        f = self._fragments.get(i)
        if f is None:
            f = dumps(self.records[i]).encode()
            self._fragments[i] = f
        return f

    def within(
        self, lat_deg: float, lon_deg: float, radius_nm: float
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Records with a position within ``radius_nm`` of a point, nearest first: their indexes,
        distances (nautical miles) and directions from the point (degrees true)."""
        # Only the latitude band can be within the radius: a great-circle distance is at least
        # the meridian distance, and one minute of latitude is more than a nautical mile here.
        band_deg = radius_nm / 60.0 * 1.001 + 1e-9
        lo = int(np.searchsorted(self._lat, lat_deg - band_deg, side="left"))
        hi = int(np.searchsorted(self._lat, lat_deg + band_deg, side="right"))
        lats, lons = self._lat[lo:hi], self._lon[lo:hi]
        if lats.size == 0:
            empty = np.zeros(0)
            return np.zeros(0, np.intp), empty, empty
        d_nm = haversine_m(lat_deg, lon_deg, lats, lons) / NM_M
        sel = np.flatnonzero(d_nm <= radius_nm)
        sel = sel[np.argsort(d_nm[sel], kind="stable")]
        dirs = bearing_deg(lat_deg, lon_deg, lats[sel], lons[sel])
        return self._with_pos[lo:hi][sel], d_nm[sel], np.asarray(dirs, np.float64)

    def v2_body(
        self,
        indexes: Sequence[int] | npt.NDArray[np.intp],
        t0: float,
        *,
        dst_nm: npt.NDArray[np.float64] | None = None,
        dir_deg: npt.NDArray[np.float64] | None = None,
    ) -> bytes:
        """An ADS-B Exchange v2 answer ``{ac, msg, now, total, ctime, ptime}`` for records
        ``indexes`` (``now``/``ctime`` epoch ms, ``ptime`` ms spent since ``t0``, a
        ``time.perf_counter()``); point queries add each record's ``dst`` (nm) and ``dir`` (deg).
        """
        parts: list[bytes] = []
        for j, i in enumerate(indexes):
            frag = self.fragment(int(i))
            if dst_nm is not None and dir_deg is not None:
                frag = b"%s,\"dst\":%.3f,\"dir\":%.1f}" % (
                    frag[:-1], float(dst_nm[j]), float(dir_deg[j]) % 360.0,
                )
            parts.append(frag)
        ptime = round((time.perf_counter() - t0) * 1000.0, 3)
        tail = dumps({
            "msg": "No error", "now": self.now_ms, "total": len(parts), "ctime": self.built_ms,
            "ptime": ptime, **({"simulated": True} if self.snapshot.simulated else {}),
        })
        return b"{\"ac\":[" + b",".join(parts) + b"]," + tail[1:].encode()


class ViewCache:
    """The current :class:`SnapshotView`, rebuilt (in a worker thread) only when the source's
    snapshot is a new object. Safe to call from many requests at once on one event loop."""

    def __init__(self, source: SnapshotSource, *, refresh_s: float = 1.0) -> None:
        self.source = source
        self._view: SnapshotView | None = None
        self._checked_s = -math.inf
        self._task: asyncio.Task[SnapshotView] | None = None
        self.refresh_s = refresh_s
        """The source is asked for a new snapshot at most this often (readsb writes
        aircraft.json once a second; a view of 10,000 aircraft costs about 0.2 s of CPU)."""
        self.builds = 0
        """Views built since the start."""

    def _build(self) -> SnapshotView:
        snap = self.source.snapshot()
        view = self._view
        if view is not None and view.snapshot is snap:
            return view
        self.builds += 1
        return SnapshotView(snap)

    def _done(self, task: asyncio.Task[SnapshotView]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._view = task.result()

    async def get(self) -> SnapshotView:
        """The latest view; a refresh is started when the last check is older than
        ``refresh_s``, and waited for only when there is no view yet."""
        now = time.monotonic()
        if self._task is None and (self._view is None or now - self._checked_s >= self.refresh_s):
            self._checked_s = now
            task = asyncio.ensure_future(asyncio.to_thread(self._build))
            task.add_done_callback(self._done)
            task.add_done_callback(self._clear)
            self._task = task
        if self._view is None:
            assert self._task is not None
            return await asyncio.shield(self._task)
        return self._view

    def _clear(self, task: asyncio.Task[SnapshotView]) -> None:
        if self._task is task:
            self._task = None

    def peek(self) -> SnapshotView | None:
        """The view last built (None before the first), without refreshing."""
        return self._view
