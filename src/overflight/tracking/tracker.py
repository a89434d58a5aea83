"""The tracker: decoded message batches in, one trustworthy state per aircraft out.

>>> tracker = Tracker(receiver_lat_lon=(49.0, 2.5))
>>> positions = tracker.update(decode_batch(frames))   # doctest: +SKIP
>>> tracker.live()                                      # doctest: +SKIP

Per batch the work is columnar (Arrow columns to NumPy, address-to-row by ``np.unique``) and one
compiled pass (``_kernel.track_kernel``) applies the messages in order: CPR pairing, readsb's
position validation and the per-field update rules.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pyarrow as pa

from overflight.tracking import _kernel
from overflight.tracking._columns import Interner, MessageColumns, message_columns
from overflight.tracking.records import (
    POSITIONS_SCHEMA,
    AircraftState,
    Event,
    FieldStamp,
    ReceiverSignal,
)
from overflight.tracking.state import (
    ADDR_TYPE_NAMES,
    NON_ICAO_FLAG,
    SOURCE_CODES,
    SOURCE_NAMES,
    StateTable,
)

__all__ = ["LIVE_ANY_MESSAGE_S", "LIVE_POSITION_S", "OUTCOME_NAMES", "REJECTION_REASONS", "Tracker"]

OUTCOME_NAMES = _kernel.OUTCOME_NAMES
REJECTION_REASONS = ("speed", "bogus", "range", "surface_reference")
"""Outcomes that reject a decoded position as bad data (the rest are accepted or pending)."""
LIVE_POSITION_S = 60.0
"""An aircraft stays live this long after its last position (readsb)."""
LIVE_ANY_MESSAGE_S = 30.0
"""... or this long after its last message of any kind (readsb)."""

_NON_EMERGENCY = {"none", "no emergency", "no_emergency", ""}
_STAMPED = (
    ("alt_baro", "altitude_baro_ft"),
    ("alt_geom", "altitude_gnss_ft"),
    ("gs", "groundspeed_kt"),
    ("track", "track_deg"),
    ("baro_rate", "baro_rate_fpm"),
    ("geom_rate", "geom_rate_fpm"),
    ("tas", "tas_kt"),
    ("ias", "ias_kt"),
    ("callsign", "callsign"),
    ("squawk", "squawk"),
    ("emergency", "emergency"),
    ("category", "category"),
    ("on_ground", "on_ground"),
    ("nic", "nic"),
    ("nac_p", "nac_p"),
    ("sil", "sil"),
    ("version", "adsb_version"),
    ("nav_alt", "selected_altitude_ft"),
    ("nav_heading", "selected_heading_deg"),
)


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


class Tracker:
    """State of every aircraft heard, updated batch by batch.

    Args:
        receiver_lat_lon: receiver position (degrees), the reference for surface positions and
            receiver-relative local CPR; None when unknown.
        max_range_m: positions farther than this from the receiver are rejected ("range");
            None disables the check and receiver-relative local CPR.
        persistence: cap of readsb's CPR reliability counters (its ``--filter-persistence``).
    """

    def __init__(
        self,
        receiver_lat_lon: tuple[float, float] | None = None,
        *,
        max_range_m: float | None = None,
        persistence: int = 4,
        json_reliable: int = 1,
    ) -> None:
        self.receiver_lat_lon = receiver_lat_lon
        self.max_range_m = max_range_m
        self.persistence = persistence
        self.json_reliable = json_reliable
        self.table = StateTable()
        self.strings = Interner()
        self.messages = 0
        """Messages applied to some aircraft (valid, trusted address)."""
        self.dropped: Counter[str] = Counter()
        """Messages not applied, by reason ("invalid", "untrusted_address")."""
        self.outcomes: Counter[str] = Counter()
        """Position outcomes of all CPR/MLAT messages so far (see ``OUTCOME_NAMES``)."""
        self.events: list[Event] = []
        """Events raised so far (also see :meth:`drain_events`)."""
        self.last_outcomes: npt.NDArray[np.int8] = np.zeros(0, np.int8)
        """Position outcome code of each row of the last batch (index into ``OUTCOME_NAMES``)."""
        self.now_s = math.nan
        """Latest message time seen (epoch seconds)."""
        self._hex_cache: list[str] = []

    # ------------------------------------------------------------------ input
    @property
    def rejections(self) -> dict[str, int]:
        """Positions rejected as bad data so far, by reason."""
        return {r: self.outcomes.get(r, 0) for r in REJECTION_REASONS}

    def update(self, table: pa.Table) -> pa.Table:
        """Apply a ``decode_batch`` table (rows in time order); return the accepted positions."""
        cols = message_columns(table, self.strings)
        return self._apply(cols, np.full(table.num_rows, np.nan), np.full(table.num_rows, np.nan))

    def update_mlat(
        self,
        icao24: Sequence[str] | npt.ArrayLike,
        time_s: npt.ArrayLike,
        lat_deg: npt.ArrayLike,
        lon_deg: npt.ArrayLike,
        altitude_ft: npt.ArrayLike | None = None,
        error_m: npt.ArrayLike | None = None,
    ) -> pa.Table:
        """Apply multilaterated positions (source "mlat"); return those accepted.

        They pass the same speed gate, with readsb's MLAT margins, and never override fresh
        ADS-B data.
        """
        hexes = [
            str(h).lower().lstrip("~") for h in np.atleast_1d(np.asarray(icao24, dtype=object))
        ]
        n = len(hexes)
        address = np.array([int(h, 16) for h in hexes], np.int64)
        mlat_table = pa.table(
            {
                "time_s": np.broadcast_to(np.asarray(time_s, np.float64), (n,)),
                "address": address,
                "df": np.full(n, 17, np.uint8),
                "source": pa.array(["mlat"] * n),
                "altitude_ft": (
                    np.full(n, np.nan)
                    if altitude_ft is None
                    else np.broadcast_to(np.asarray(altitude_ft, np.float64), (n,))
                ),
                "containment_radius_m": (
                    np.full(n, np.nan)
                    if error_m is None
                    else np.broadcast_to(np.asarray(error_m, np.float64), (n,))
                ),
            }
        )
        cols = message_columns(mlat_table, self.strings)
        mlat = SOURCE_CODES["mlat"]
        cols.src[:] = mlat
        cols.addr_type[:] = ADDR_TYPE_NAMES.index("mlat")
        return self._apply(
            cols,
            np.broadcast_to(np.asarray(lat_deg, np.float64), (n,)).copy(),
            np.broadcast_to(np.asarray(lon_deg, np.float64), (n,)).copy(),
            trusted_only=False,
        )

    def _apply(
        self,
        c: MessageColumns,
        direct_lat: npt.NDArray[np.float64],
        direct_lon: npt.NDArray[np.float64],
        trusted_only: bool = True,
    ) -> pa.Table:
        n = len(c.t)
        usable = c.usable
        self.dropped["invalid"] += int(n - np.count_nonzero(usable))
        rows = np.full(n, -1, np.int32)
        idx = np.flatnonzero(usable)
        if idx.size:
            keys = c.keys[idx]
            if trusted_only:
                keep = self._trusted_mask(keys, c.from_parity[idx], c.trusts[idx])
                self.dropped["untrusted_address"] += int(idx.size - np.count_nonzero(keep))
                idx = idx[keep]
                keys = c.keys[idx]
            if idx.size:
                rows[idx] = self.table.rows_for(keys, c.t[idx])
                trusted_rows = rows[idx][c.trusts[idx]]
                self.table.rows["trusted"][trusted_rows] = 1
        self.messages += int(idx.size)
        outs = _kernel.empty_outputs(n)
        emerg_flag = np.array(
            [v.strip().lower() not in _NON_EMERGENCY for v in self.strings.values] or [False],
            np.bool_,
        )
        rx_lat, rx_lon = self.receiver_lat_lon if self.receiver_lat_lon else (math.nan, math.nan)
        n_ev = _kernel.track_kernel(
            self.table.rows,
            rows,
            c.t,
            c.src,
            c.addr_type,
            c.df,
            c.alt_baro,
            c.alt_geom,
            c.geo_diff,
            c.on_ground,
            c.squawk,
            c.callsign,
            c.category,
            c.emergency,
            emerg_flag,
            c.has_cpr,
            c.cpr_odd,
            c.cpr_lat,
            c.cpr_lon,
            c.surface,
            c.nic,
            c.rc,
            c.gs,
            c.track,
            c.vrate,
            c.vrate_gnss,
            c.tas,
            c.ias,
            c.nac_p,
            c.sil,
            c.version,
            c.nav_alt,
            c.nav_hdg,
            c.signal_dbfs,
            c.receiver,
            direct_lat,
            direct_lon,
            rx_lat,
            rx_lon,
            float(self.max_range_m or 0.0),
            self.persistence,
            self.json_reliable,
            *outs,
        )
        code, lat, lon, alt, gs, trk, vr, gnd, cs, ev_idx, ev_kind = outs
        self.last_outcomes = code
        counts = np.bincount(code, minlength=len(OUTCOME_NAMES))
        for k in range(1, len(OUTCOME_NAMES)):
            if counts[k]:
                self.outcomes[OUTCOME_NAMES[k]] += int(counts[k])
        if idx.size:
            tmax = float(np.nanmax(c.t[idx]))
            if math.isnan(self.now_s) or tmax > self.now_s:
                self.now_s = tmax
        if n_ev:
            self._record_events(ev_idx[:n_ev], ev_kind[:n_ev], rows, c.t)
        accepted = np.flatnonzero(
            (code == _kernel.GLOBAL) | (code == _kernel.LOCAL) | (code == _kernel.DIRECT)
        )
        return self._positions(accepted, rows, c, lat, lon, alt, gs, trk, vr, gnd, cs)

    def _trusted_mask(
        self,
        keys: npt.NDArray[np.uint32],
        from_parity: npt.NDArray[np.bool_],
        trusts: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """Parity-derived addresses count only once heard in clear (here or in this batch)."""
        if not from_parity.any():
            return np.ones(len(keys), np.bool_)
        codes, cand = pd.factorize(keys, sort=False)
        in_batch = np.bincount(codes[trusts], minlength=len(cand)) > 0
        index = self.table.index
        trusted = self.table.rows["trusted"]
        known = np.array([index.get(k, -1) for k in cand.tolist()], np.int64)
        good = in_batch | ((known >= 0) & (trusted[np.maximum(known, 0)] == 1))
        return np.asarray(~from_parity | good[codes])

    def _positions(
        self,
        accepted: npt.NDArray[np.intp],
        rows: npt.NDArray[np.int32],
        c: MessageColumns,
        lat: npt.NDArray[np.float64],
        lon: npt.NDArray[np.float64],
        alt: npt.NDArray[np.float32],
        gs: npt.NDArray[np.float32],
        trk: npt.NDArray[np.float32],
        vr: npt.NDArray[np.float32],
        gnd: npt.NDArray[np.int8],
        cs: npt.NDArray[np.int32],
    ) -> pa.Table:
        r = rows[accepted]
        keys = self.table.rows["key"][r]
        hexes = self._hex_dictionary()
        icao24 = pa.DictionaryArray.from_arrays(pa.array(r, pa.int32()), hexes).dictionary_decode()
        strings = pa.array(self.strings.values or [""], pa.string())
        csr = cs[accepted]
        callsign = pa.DictionaryArray.from_arrays(
            pa.array(csr, pa.int32(), mask=csr < 0), strings
        ).dictionary_decode()
        source = pa.DictionaryArray.from_arrays(
            pa.array(c.src[accepted].astype(np.int32), pa.int32()),
            pa.array(list(SOURCE_NAMES), pa.string()),
        ).dictionary_decode()
        g = gnd[accepted]

        def f(x: npt.NDArray[np.floating]) -> pa.Array:
            v = x[accepted].astype(np.float64)
            return pa.array(v, pa.float64(), mask=np.isnan(v))

        return pa.Table.from_arrays(
            [
                icao24,
                pa.array(keys & 0xFFFFFF, pa.uint32()),
                pa.array((keys & NON_ICAO_FLAG) != 0, pa.bool_()),
                pa.array(c.t[accepted], pa.float64()),
                pa.array(lat[accepted], pa.float64()),
                pa.array(lon[accepted], pa.float64()),
                f(alt),
                f(gs),
                f(trk),
                f(vr),
                pa.array(g == 1, pa.bool_(), mask=g < 0),
                callsign,
                source,
            ],
            schema=POSITIONS_SCHEMA,
        )

    def _hex_dictionary(self) -> pa.Array:
        keys = self.table.rows["key"]
        for k in keys[len(self._hex_cache) : len(self.table)].tolist():
            self._hex_cache.append(f"{k & 0xFFFFFF:06x}")
        return pa.array(self._hex_cache or [""], pa.string())

    def _record_events(
        self,
        ev_idx: npt.NDArray[np.int32],
        ev_kind: npt.NDArray[np.int8],
        rows: npt.NDArray[np.int32],
        t: npt.NDArray[np.float64],
    ) -> None:
        st = self.table.rows
        for i, kind in zip(ev_idx.tolist(), ev_kind.tolist(), strict=True):
            rec = st[rows[i]]
            key = int(rec["key"])
            sq = int(rec["squawk"])
            em = int(rec["emergency"])
            cs = int(rec["callsign"])
            has_pos = int(rec["pos_src"]) > 0
            self.events.append(
                Event(
                    kind="squawk" if kind == _kernel.EV_SQUAWK else "emergency",
                    time_s=float(t[i]),
                    icao24=f"{key & 0xFFFFFF:06x}",
                    address=key & 0xFFFFFF,
                    non_icao=bool(key & NON_ICAO_FLAG),
                    squawk=f"{sq:04d}" if sq >= 0 else None,
                    emergency=self.strings.values[em] if em >= 0 else None,
                    callsign=self.strings.values[cs] if cs >= 0 else None,
                    lat_deg=float(rec["lat"]) if has_pos else None,
                    lon_deg=float(rec["lon"]) if has_pos else None,
                )
            )

    def drain_events(self) -> list[Event]:
        """Events raised since the last drain, oldest first (the queue is emptied)."""
        out, self.events = self.events, []
        return out

    # ------------------------------------------------------------------ output
    def __len__(self) -> int:
        return len(self.table)

    def state_nbytes(self) -> int:
        """Memory held for the tracked aircraft (records and index), bytes."""
        return self.table.nbytes()

    def _live_mask(self, now_s: float) -> npt.NDArray[np.bool_]:
        st = self.table.used
        with np.errstate(invalid="ignore"):
            pos_live = (st["pos_src"] > 0) & (now_s - st["pos_t"] < LIVE_POSITION_S)
            any_live = now_s - st["seen_t"] < LIVE_ANY_MESSAGE_S
        return np.asarray(pos_live | any_live)

    def rows(self, now_s: float | None = None, *, live_only: bool = True) -> npt.NDArray[np.intp]:
        """Row numbers of the live aircraft at ``now_s`` (default: latest message time), or all."""
        if not live_only:
            return np.arange(len(self.table))
        now = self.now_s if now_s is None else now_s
        return np.flatnonzero(self._live_mask(now))

    def live(self, now_s: float | None = None) -> list[AircraftState]:
        """Aircraft live at ``now_s``: a position in the last 60 s or a message in the last 30 s."""
        return [self.state_of_row(int(r)) for r in self.rows(now_s)]

    def all_aircraft(self) -> list[AircraftState]:
        """Every aircraft ever heard (history is never dropped)."""
        return [self.state_of_row(r) for r in range(len(self.table))]

    def get(self, address: int | str, *, non_icao: bool = False) -> AircraftState | None:
        """State of one aircraft by address (int or hex, "~" prefix for non-ICAO)."""
        if isinstance(address, str):
            non_icao = non_icao or address.startswith("~")
            address = int(address.lstrip("~"), 16)
        key = (address & 0xFFFFFF) | (NON_ICAO_FLAG if non_icao else 0)
        r = self.table.index.get(key)
        return None if r is None else self.state_of_row(r)

    def string(self, sid: int) -> str | None:
        """The interned string ``sid`` (None for -1)."""
        return self.strings.values[sid] if sid >= 0 else None

    def state_of_row(self, r: int) -> AircraftState:
        """A frozen snapshot of record ``r``."""
        a = self.table.rows[r]
        key = int(a["key"])
        stamps: dict[str, FieldStamp] = {}
        for fname, public in _STAMPED:
            s = int(a[fname + "_src"])
            if s:
                stamps[public] = FieldStamp(float(a[fname + "_t"]), SOURCE_NAMES[s])
        pos_src = int(a["pos_src"])
        has_pos = not math.isnan(float(a["lat"]))
        if has_pos and int(a["pos_src"]):
            stamps["position"] = FieldStamp(float(a["pos_t"]), SOURCE_NAMES[pos_src])

        def val(name: str) -> float | None:
            return _opt(float(a[name])) if int(a[name + "_src"]) else None

        def ival(name: str) -> int | None:
            v = int(a[name])
            return v if v >= 0 and int(a[name + "_src"]) else None

        sig = a["signal"]
        sig = sig[sig > 0]
        rssi = 10.0 * math.log10(float(sig.mean())) if sig.size else None
        receivers = tuple(
            ReceiverSignal(
                int(a["rx_id"][k]),
                int(a["rx_messages"][k]),
                _opt(float(a["rx_dbfs"][k])) if a["rx_dbfs"][k] != 0 else None,
                float(a["rx_t"][k]),
            )
            for k in range(len(a["rx_id"]))
            if a["rx_messages"][k] > 0
        )
        sq = ival("squawk")
        og = ival("on_ground")
        return AircraftState(
            icao24=f"{key & 0xFFFFFF:06x}",
            address=key & 0xFFFFFF,
            non_icao=bool(key & NON_ICAO_FLAG),
            addr_type=ADDR_TYPE_NAMES[int(a["addr_type"])],
            first_seen_s=float(a["first_seen_t"]),
            last_seen_s=float(a["seen_t"]),
            messages=int(a["messages"]),
            positions=int(a["positions"]),
            lat_deg=float(a["lat"]) if has_pos else None,
            lon_deg=float(a["lon"]) if has_pos else None,
            position_time_s=_opt(float(a["pos_t"])) if has_pos else None,
            position_source=SOURCE_NAMES[pos_src] if pos_src else None,
            reliable=bool(
                pos_src
                and (
                    pos_src == SOURCE_CODES["mlat"]
                    or (
                        int(a["rel_odd"]) >= self.json_reliable
                        and int(a["rel_even"]) >= self.json_reliable
                    )
                )
            ),
            on_ground=None if og is None else og == 1,
            altitude_baro_ft=val("alt_baro"),
            altitude_gnss_ft=val("alt_geom"),
            groundspeed_kt=val("gs"),
            track_deg=val("track"),
            baro_rate_fpm=val("baro_rate"),
            geom_rate_fpm=val("geom_rate"),
            tas_kt=val("tas"),
            ias_kt=val("ias"),
            callsign=self.string(int(a["callsign"])),
            squawk=f"{sq:04d}" if sq is not None else None,
            emergency=self.string(int(a["emergency"])),
            category=self.string(int(a["category"])),
            nic=ival("nic") if int(a["pos_nic"]) < 0 else int(a["pos_nic"]),
            rc_m=_opt(float(a["pos_rc_m"])),
            nac_p=ival("nac_p"),
            sil=ival("sil"),
            adsb_version=ival("version"),
            selected_altitude_ft=val("nav_alt"),
            selected_heading_deg=val("nav_heading"),
            rssi_dbfs=rssi,
            receivers=receivers,
            stamps=stamps,
        )
