"""The tracker: decoded message batches in, one trustworthy state per aircraft out.

>>> tracker = Tracker(receiver_lat_lon=(49.0, 2.5))
>>> positions = tracker.update(decode_batch(frames))   # doctest: +SKIP
>>> tracker.live()                                      # doctest: +SKIP

Per batch the work is columnar (Arrow columns to NumPy, address-to-row by ``np.unique``) and one
compiled pass (``_kernel.track_kernel``) applies the messages in order: CPR pairing, readsb's
position validation and the per-field update rules.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from overflight.modes.fields import SIL_TYPES, airborne_nic, surface_nic
from overflight.tracking import _kernel
from overflight.tracking._columns import (
    AddressColumns,
    ColumnReader,
    Interner,
    MessageColumns,
    address_columns,
)
from overflight.tracking._factorize import factorize_keys
from overflight.tracking._frames import DecodedFrames, FrameDecoder
from overflight.tracking.airports import AirportGrid, airport_grid, empty_grid
from overflight.tracking.records import (
    EXPIRED_SCHEMA,
    POSITIONS_SCHEMA,
    AircraftState,
    Event,
    FieldStamp,
    ReceiverSignal,
)

if TYPE_CHECKING:
    from overflight.frames import FrameBatch
from overflight.tracking.state import (
    ADDR_TYPE_NAMES,
    NON_ICAO_FLAG,
    SOURCE_CODES,
    SOURCE_NAMES,
    SeenOnce,
    StateTable,
)

__all__ = [
    "CONFIRM_WITHIN_S",
    "LIVE_ANY_MESSAGE_S",
    "LIVE_POSITION_S",
    "MAX_AIRCRAFT",
    "OUTCOME_NAMES",
    "REFERENCE_NAMES",
    "REJECTION_REASONS",
    "SEEN_ONCE_SLOTS",
    "Tracker",
]

OUTCOME_NAMES = _kernel.OUTCOME_NAMES
REFERENCE_NAMES = _kernel.REFERENCE_NAMES
REJECTION_REASONS = ("speed", "bogus", "range", "surface_reference", "conflict")
"""Outcomes that reject a decoded position as bad data (the rest are accepted or pending)."""
LIVE_POSITION_S = 60.0
"""An aircraft stays live this long after its last position (readsb)."""
LIVE_ANY_MESSAGE_S = 30.0
"""... or this long after its last message of any kind (readsb)."""
MAX_PENDING_EVENTS = 10_000
"""Default bound of the events pending since the last :meth:`Tracker.drain_events`."""
MAX_AIRCRAFT = 100_000
"""Default cap of the aircraft held (:class:`Tracker` ``max_aircraft``)."""
CONFIRM_WITHIN_S = 60.0
"""An address heard once is tracked when a second message comes within this many seconds."""
SEEN_ONCE_SLOTS = 65_536
"""Default bound of the addresses waiting for their second message."""

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


_STRINGS_SLACK = 4096
"""Interned strings beyond twice those in use (plus this) are compacted by :meth:`expire`."""
_COMPACT_BELOW = 0.75
"""Below this fraction of usable rows a batch is compacted before its columns are converted."""
_SOURCE_DICTIONARY = pa.array(list(SOURCE_NAMES), pa.string())
_REFERENCE_DICTIONARY = pa.array(list(REFERENCE_NAMES), pa.string())
_NO_AIRPORTS = empty_grid()
_conflicting = _kernel.conflicting.py_func
"""The kernel's rule in plain Python for one record: a compiled function called from Python
with a record argument costs a type dispatch (~100 µs) per call, once per aircraft per snapshot."""
_NO_STRINGS = pa.array([""], pa.string())


def _ro_array(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A contiguous read-only view (the kernel is compiled for read-only inputs)."""
    y = np.ascontiguousarray(x).view()
    y.flags.writeable = False
    return y


def _ro_full(n: int, value: float, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    return _ro_array(np.full(n, value, dtype))


_NO_FLAGS = _ro_array(np.zeros(1, np.bool_))


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


_NO_SEQ = _ro_array(np.zeros(0, np.int64))
_NO_RX = _ro_array(np.zeros(0, np.float64))


def _nic_tables() -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]:
    """NIC and Rc (m) by [surface, type code, NIC-A, NIC-B or NIC-C] (-1 / NaN: not a
    position type code), from :func:`~overflight.modes.fields.airborne_nic` and
    :func:`~overflight.modes.fields.surface_nic`."""
    nic = np.full((2, 32, 2, 2), -1, np.int8)
    rc = np.full((2, 32, 2, 2), np.nan)
    for tc in range(32):
        for na in (0, 1):
            for nbc in (0, 1):
                for surf, got in enumerate((airborne_nic(tc, na, nbc), surface_nic(tc, na, nbc))):
                    if got is not None:
                        nic[surf, tc, na, nbc] = got[0]
                        rc[surf, tc, na, nbc] = math.nan if got[1] is None else got[1]
    return _ro_array(nic), _ro_array(rc)


_NIC_TABLE, _RC_TABLE = _nic_tables()


def _squawk_text(codes: npt.NDArray[np.int16]) -> pa.Array:
    """Squawks (4 octal digits read as a decimal number, -1 none) as 4-digit text, null for -1;
    each distinct value formatted once."""
    values, inverse = np.unique(codes, return_inverse=True)
    words = pa.array([f"{v:04d}" if v >= 0 else "" for v in values.tolist()], pa.string())
    idx = pa.array(inverse.astype(np.int32).reshape(-1), pa.int32(), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(idx, words).dictionary_decode()


def _confirmed_runs(
    codes: npt.NDArray[np.intp],
    t: npt.NDArray[np.float64],
    held: npt.NDArray[np.float64],
    window_s: float,
) -> npt.NDArray[np.bool_]:
    """Per row (addresses ``codes`` in time order, times ``t``): is the address confirmed at
    or before it? Confirmed by a message at most ``window_s`` after the one before it (or
    after ``held[code]``, an earlier sighting, NaN: none); that earlier row counts too."""
    order = np.argsort(codes, kind="stable")
    ks, ts = codes[order], t[order]
    start = np.r_[True, ks[1:] != ks[:-1]]
    prev = np.empty_like(ts)
    prev[1:] = ts[:-1]
    prev[start] = held[ks[start]]
    with np.errstate(invalid="ignore"):
        ok = np.abs(ts - prev) <= window_s
    run = np.cumsum(start) - 1
    cum = np.cumsum(ok)
    in_run: npt.NDArray[np.int64] = cum - (cum - ok)[start][run]  # confirmations so far
    good = in_run > 0
    first = np.flatnonzero(ok & (in_run == 1) & ~start)
    good[first - 1] = True  # the row the first confirmation pairs with
    out = np.empty(codes.size, np.bool_)
    out[order] = good
    return out


def _seq_column(seq: npt.ArrayLike | None, n: int) -> npt.NDArray[np.int64]:
    """Per-row frame sequence numbers as int64 (empty when None: all unknown)."""
    if seq is None:
        return _NO_SEQ
    out = np.asarray(seq, np.int64)
    if out.shape != (n,):
        raise ValueError(f"seq has shape {out.shape}, the table {n} rows")
    return out


class Tracker:
    """State of every aircraft heard, updated batch by batch.

    Args:
        receiver_lat_lon: receiver position (degrees), the reference for surface positions and
            receiver-relative local CPR; None when unknown.
        max_range_m: positions farther than this from the receiver are rejected ("range");
            None disables the check and receiver-relative local CPR.
        persistence: cap of readsb's CPR reliability counters (its ``--filter-persistence``).
        receivers: receiver id -> (lat, lon) degrees: each message's reference for surface
            and receiver-relative positions (and ``max_range_m``) is the receiver that heard
            it (the ``receiver`` column), else ``receiver_lat_lon``. Entries that are not a
            position on Earth are left out.
        airports: resolve surface positions that have no other reference (no earlier position,
            no receiver position) by the one candidate near a known airport
            (:mod:`overflight.tracking.airports`); the airport list loads on first need. An
            :class:`~overflight.tracking.airports.AirportGrid` gives the airports to use.
        max_events: events kept pending between :meth:`drain_events` calls; beyond it the
            oldest are dropped and counted (:attr:`events_dropped`).
        max_aircraft: most aircraft held. A new aircraft beyond it takes the record of the one
            silent longest, if that one was silent for over ``LIVE_ANY_MESSAGE_S`` (counted in
            :attr:`evicted`); else it is refused (:attr:`refused`, its messages in
            ``dropped["table_full"]``).
        confirm_within_s: an address heard once gets no record until a second message (any
            usable one: DF11/17/18 with a clean CRC, or a reply whose parity address is
            vouched for) comes within this many seconds, as readsb does; meanwhile it waits in
            a bounded set (:attr:`seen_once`, ``seen_once_slots`` addresses) and its message is
            counted in ``dropped["unconfirmed"]``. Two messages of one batch confirm each other
            (both are applied). None tracks every address from its first message.

    State is kept until :meth:`expire` removes it: a long-running process calls it now and
    then (the station does) so that it stays the same size.
    """

    def __init__(
        self,
        receiver_lat_lon: tuple[float, float] | None = None,
        *,
        max_range_m: float | None = None,
        persistence: int = 4,
        json_reliable: int = 1,
        airports: bool | AirportGrid = True,
        max_events: int = MAX_PENDING_EVENTS,
        max_aircraft: int = MAX_AIRCRAFT,
        confirm_within_s: float | None = CONFIRM_WITHIN_S,
        seen_once_slots: int = SEEN_ONCE_SLOTS,
        receivers: Mapping[int, tuple[float, float]] | None = None,
    ) -> None:
        self.receiver_lat_lon = receiver_lat_lon
        rx = sorted(
            (int(k), float(v[0]), float(v[1]))
            for k, v in (receivers or {}).items()
            if 0 <= int(k) < 2**64
            and math.isfinite(float(v[0])) and math.isfinite(float(v[1]))
            and abs(float(v[0])) <= 90.0 and abs(float(v[1])) <= 180.0
        )
        self._rx_ids = np.array([r[0] for r in rx], np.uint64)
        self._rx_lat = np.array([r[1] for r in rx], np.float64)
        self._rx_lon = np.array([r[2] for r in rx], np.float64)
        self.airports = airports
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
        self.references: Counter[str] = Counter()
        """Accepted positions so far by what resolved them (see ``REFERENCE_NAMES``)."""
        self.events: deque[Event] = deque(maxlen=max(max_events, 1))
        """Events raised since the last :meth:`drain_events`, oldest first (bounded)."""
        self.events_dropped = 0
        """Events dropped unread because :attr:`events` was full."""
        self.expired = 0
        """Aircraft whose state :meth:`expire` removed."""
        self.max_aircraft = max(max_aircraft, 1)
        self.evicted = 0
        """Aircraft whose state was removed to make room for a new one (``max_aircraft``)."""
        self.refused = 0
        """New aircraft not tracked because the table was full of live ones."""
        self.seen_once: SeenOnce | None = (
            None if confirm_within_s is None else SeenOnce(seen_once_slots, confirm_within_s)
        )
        """Addresses heard once, waiting for a second message (None: no probation)."""
        self.last_outcomes: npt.NDArray[np.int8] = np.zeros(0, np.int8)
        """Position outcome code of each row of the last batch (index into ``OUTCOME_NAMES``)."""
        self.last_rows: npt.NDArray[np.int32] = np.zeros(0, np.int32)
        """State row each row of the last batch was applied to (-1: dropped)."""
        self.last_head: AddressColumns | None = None
        """Who each row of the last batch was about (address key, time, DF...)."""
        self.last_decoded: DecodedFrames | None = None
        """The last batch given to :meth:`update_frames`, decoded (None after a table)."""
        self.now_s = math.nan
        """Latest message time seen (epoch seconds)."""
        self._reader = ColumnReader(self.strings)
        self._frames = FrameDecoder(self.strings)
        self._hex: pa.Array = pa.array([], pa.string())
        self._strings_arr: pa.Array = pa.array([], pa.string())
        self._emerg: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)

    # ------------------------------------------------------------------ input
    @property
    def rejections(self) -> dict[str, int]:
        """Positions rejected as bad data so far, by reason."""
        return {r: self.outcomes.get(r, 0) for r in REJECTION_REASONS}

    def update(self, table: pa.Table, seq: npt.NDArray[np.int64] | None = None) -> pa.Table:
        """Apply a ``decode_batch`` table (rows in time order); return the accepted positions.

        ``seq``: the caller's sequence number of each row's frame (int64, one per row), kept as
        the positions' evidence keys ``frame_seq`` / ``pair_frame_seq`` (-1 when None).
        """
        return self._apply(table, None, None, _seq_column(seq, table.num_rows))

    def update_mlat(
        self,
        icao24: Sequence[str] | npt.ArrayLike,
        time_s: npt.ArrayLike,
        lat_deg: npt.ArrayLike,
        lon_deg: npt.ArrayLike,
        altitude_ft: npt.ArrayLike | None = None,
        error_m: npt.ArrayLike | None = None,
        frame_seq: npt.ArrayLike | None = None,
    ) -> pa.Table:
        """Apply multilaterated positions (source "mlat"); return those accepted.

        They pass the same speed gate, with readsb's MLAT margins, and never override fresh
        ADS-B data. ``altitude_ft`` (feet), ``error_m`` (metres), ``frame_seq`` (the sequence
        number of a frame each fix was solved from, kept as the position's ``frame_seq``).
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
        return self._apply(
            mlat_table,
            np.broadcast_to(np.asarray(lat_deg, np.float64), (n,)).copy(),
            np.broadcast_to(np.asarray(lon_deg, np.float64), (n,)).copy(),
            _seq_column(frame_seq, n),
        )

    def update_decoded(self, table: pa.Table, source: str = "sbs") -> pa.Table:
        """Apply state decoded by another decoder: rows of SBS lines or of a readsb
        ``aircraft.json`` (see :mod:`overflight.tracking.decoded`), in time order.

        Columns as ``decode_batch`` names them (``time_s``, ``address``, ``non_icao``,
        ``altitude_ft``, ``on_ground``, ``callsign``, ``squawk``, ``groundspeed_kt``,
        ``track_deg``, ``vertical_rate_fpm``, ``category``, ``emergency_state``; any may be
        missing) plus ``lat_deg`` / ``lon_deg`` (NaN: no position). ``source`` is ``"sbs"`` or
        ``"json"``: every field set is marked with it, below MLAT in priority, so this never
        overrides fresher data the station decoded itself. Positions pass the speed gate with
        MLAT margins; the accepted ones are returned (reference ``"decoded"``)."""
        if source not in ("sbs", "json"):
            raise ValueError(f"decoded-state source is 'sbs' or 'json', not {source!r}")
        n = table.num_rows
        names = set(table.column_names)

        def col(name: str) -> npt.NDArray[np.float64]:
            if name not in names:
                return np.full(n, math.nan)
            return np.asarray(
                table.column(name).to_numpy(zero_copy_only=False), np.float64
            ).copy()

        lat, lon = col("lat_deg"), col("lon_deg")
        full = table.drop_columns([c for c in ("lat_deg", "lon_deg", "source") if c in names])
        extra = {
            "valid": pa.array(np.ones(n, bool)),
            "crc_ok": pa.array(np.ones(n, bool)),
            "address_from_parity": pa.array(np.zeros(n, bool)),
            "df": pa.array(np.full(n, 18, np.uint8)),
            "source": pa.array([source] * n, pa.string()),
        }
        for name, arr in extra.items():
            if name not in full.column_names:
                full = full.append_column(name, arr)
        if "non_icao" not in full.column_names:
            full = full.append_column("non_icao", pa.array(np.zeros(n, bool)))
        pos = self._apply(full, lat, lon, np.zeros(0, np.int64), direct_source=source)
        if pos.num_rows:  # counted under what resolved them: nothing here, they came decoded
            self.references["mlat"] -= pos.num_rows
            self.references["decoded"] += pos.num_rows
            idx = pos.schema.get_field_index("reference")
            pos = pos.set_column(idx, pos.schema.field(idx),
                                 pa.array(["decoded"] * pos.num_rows, pos.schema.field(idx).type)
                                 if not pa.types.is_dictionary(pos.schema.field(idx).type)
                                 else pa.array(["decoded"] * pos.num_rows).dictionary_encode())
        return pos

    def update_frames(
        self, batch: FrameBatch, seq: npt.NDArray[np.int64] | None = None
    ) -> pa.Table:
        """:meth:`update` straight from frames (rows in time order): decoded into the kernel's
        inputs in one compiled pass (:mod:`._frames`), with no table in between. The same
        tracking as ``update(decode_batch(batch, columns=TRACKER_COLUMNS), seq)``."""
        n = len(batch)
        seq_col = _seq_column(seq, n)
        decoded = self._frames.decode(batch)
        head, cols = decoded.head, decoded.cols
        idx, codes, uniq, lut = self._select(head, n, False)
        zeros = _ro_full(n, math.nan, np.float64)
        positions = self._run(n, head, cols, idx, codes, uniq, lut, idx, False, zeros, zeros,
                              seq_col)
        self.last_decoded = decoded
        return positions

    def _select(
        self, head: AddressColumns, n: int, mlat: bool
    ) -> tuple[
        npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.uint32], npt.NDArray[np.int32]
    ]:
        """The rows that reach a record (see :meth:`_admit`), counting those dropped."""
        keep = head.usable
        self.dropped["invalid"] += int(n - np.count_nonzero(keep))
        if not mlat:
            # parity-derived addresses count only once heard in clear (here or earlier)
            keep = keep & self._trusted_mask(head.keys, head.from_parity, head.trusts & keep)
            self.dropped["untrusted_address"] += int(
                np.count_nonzero(head.usable) - np.count_nonzero(keep)
            )
        return self._admit(head.keys, head.t, np.flatnonzero(keep), not mlat)

    def _apply(
        self,
        table: pa.Table,
        direct_lat: npt.NDArray[np.float64] | None,
        direct_lon: npt.NDArray[np.float64] | None,
        seq: npt.NDArray[np.int64],
        direct_source: str = "mlat",
    ) -> pa.Table:
        """Filter rows, convert the needed columns, run the kernel; ``direct_*``: positions
        given outright (MLAT fixes, or decoded state with ``direct_source`` "sbs"/"json");
        ``seq``: each row's frame sequence number (-1 unknown)."""
        n = table.num_rows
        mlat = direct_lat is not None
        head = address_columns(table)
        idx, codes, uniq, lut = self._select(head, n, mlat)
        m = idx.size
        # few rows left: convert only those; else convert all and let the kernel skip the rest
        compact = m < _COMPACT_BELOW * n
        if compact:
            sub = table.select(self._reader.needed(table)).take(pa.array(idx))
            kept = head.take(idx)
            at = np.arange(m)
        else:
            sub, kept, at = table, head, idx
        k = sub.num_rows
        cols = self._reader.read(sub, kept)
        if mlat:
            assert direct_lat is not None and direct_lon is not None
            if direct_source == "mlat":
                cols = dataclasses.replace(
                    cols,
                    src=_ro_full(k, SOURCE_CODES["mlat"], np.uint8),
                    addr_type=_ro_full(k, ADDR_TYPE_NAMES.index("mlat"), np.uint8),
                )
            dlat = _ro_array(direct_lat[idx] if compact else direct_lat)
            dlon = _ro_array(direct_lon[idx] if compact else direct_lon)
        else:
            dlat = dlon = _ro_full(k, math.nan, np.float64)
        kseq = _ro_array(seq[idx] if compact and seq.size else seq)
        return self._run(n, head, cols, idx, codes, uniq, lut, at, compact, dlat, dlon, kseq)

    def _run(
        self,
        n: int,
        head: AddressColumns,
        cols: MessageColumns,
        idx: npt.NDArray[np.intp],
        codes: npt.NDArray[np.intp],
        uniq: npt.NDArray[np.uint32],
        lut: npt.NDArray[np.int32],
        at: npt.NDArray[np.intp],
        compact: bool,
        dlat: npt.NDArray[np.float64],
        dlon: npt.NDArray[np.float64],
        kseq: npt.NDArray[np.int64],
    ) -> pa.Table:
        """Run the kernel on ``cols`` (``n`` rows of the batch; ``compact``: only the admitted
        rows ``idx``, which sit at ``at`` in ``cols``) and return the accepted positions."""
        k = cols.t.shape[0]
        m = idx.size
        self.last_head = head
        self.last_decoded = None
        rows = np.full(k, -1, np.int32)
        if m:
            rows[at] = self.table.rows_for_codes(codes, uniq, lut, head.t[idx])
            self.table.rows["trusted"][rows[at][head.trusts[idx]]] = 1
        self.messages += m
        outs = _kernel.empty_outputs(k)
        rx_lat, rx_lon = self.receiver_lat_lon if self.receiver_lat_lon else (math.nan, math.nan)
        row_lat, row_lon = self._receiver_positions(cols.receiver)
        # airports matter only where nothing else can resolve a surface pair
        grid = _NO_AIRPORTS
        if (self.receiver_lat_lon is None and self.airports is not False
                and bool(np.any(cols.surface))):  # (loaded at the first surface position)
            grid = self.airports if isinstance(self.airports, AirportGrid) else airport_grid()
        n_ev = _kernel.track_kernel(
            self.table.rows,
            _ro_array(rows),
            cols.t,
            cols.src,
            cols.addr_type,
            cols.df,
            cols.alt_baro,
            cols.alt_geom,
            cols.geo_diff,
            cols.on_ground,
            cols.squawk,
            cols.callsign,
            cols.category,
            cols.emergency,
            self._emergency_flags(),
            cols.has_cpr,
            cols.cpr_odd,
            cols.cpr_lat,
            cols.cpr_lon,
            cols.surface,
            cols.nic,
            cols.rc,
            cols.typecode,
            cols.nic_b,
            cols.nic_a,
            cols.nic_c,
            _NIC_TABLE,
            _RC_TABLE,
            cols.gs,
            cols.track,
            cols.vrate,
            cols.vrate_gnss,
            cols.tas,
            cols.ias,
            cols.nac_p,
            cols.sil,
            cols.sil_type,
            cols.version,
            cols.nav_alt,
            cols.nav_hdg,
            cols.signal_dbfs,
            cols.receiver,
            kseq,
            dlat,
            dlon,
            rx_lat,
            rx_lon,
            row_lat,
            row_lon,
            grid.lat_deg,
            grid.lon_deg,
            grid.start,
            float(self.max_range_m or 0.0),
            self.persistence,
            self.json_reliable,
            *outs,
        )
        code, lat, lon, alt, gs, trk, vr, gnd, cs, ref, pair, sq, galt, nic, nacp = outs[:15]
        ev_idx, ev_kind = outs[15:]
        if compact:
            self.last_outcomes = np.zeros(n, np.int8)
            self.last_outcomes[idx] = code
            self.last_rows = np.full(n, -1, np.int32)
            self.last_rows[idx] = rows
        else:
            self.last_outcomes, self.last_rows = code, rows
        for k, v in enumerate(np.bincount(ref, minlength=len(REFERENCE_NAMES)).tolist()):
            if k and v:
                self.references[REFERENCE_NAMES[k]] += v
        counts = np.bincount(code, minlength=len(OUTCOME_NAMES))
        for k in range(1, len(OUTCOME_NAMES)):
            if counts[k]:
                self.outcomes[OUTCOME_NAMES[k]] += int(counts[k])
        if m:
            tmax = float(np.max(head.t[idx]))
            if math.isnan(self.now_s) or tmax > self.now_s:
                self.now_s = tmax
        if n_ev:
            self._record_events(ev_idx[:n_ev], ev_kind[:n_ev], rows, cols.t)
        accepted = np.flatnonzero(
            (code == _kernel.GLOBAL) | (code == _kernel.LOCAL) | (code == _kernel.DIRECT)
        )
        return self._positions(
            accepted, rows, cols, lat, lon, alt, galt, gs, trk, vr, gnd, cs, sq, nic, nacp, ref,
            kseq, pair,
        )

    def _receiver_positions(
        self, receiver: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per row, the position (degrees) of the receiver that heard it, NaN where it is not
        in the receivers table (empty arrays without a table)."""
        ids = self._rx_ids
        if ids.size == 0:
            return _NO_RX, _NO_RX
        at = np.minimum(np.searchsorted(ids, receiver), ids.size - 1)
        known = ids[at] == receiver
        lat = np.where(known, self._rx_lat[at], math.nan)
        lon = np.where(known, self._rx_lon[at], math.nan)
        return _ro_array(lat), _ro_array(lon)

    def _admit(
        self,
        keys: npt.NDArray[np.uint32],
        t: npt.NDArray[np.float64],
        idx: npt.NDArray[np.intp],
        probation: bool,
    ) -> tuple[
        npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.uint32], npt.NDArray[np.int32]
    ]:
        """Which usable rows ``idx`` reach a record: known addresses, and new ones confirmed by
        a second message (``probation``) for which there is room (``max_aircraft``).

        Returns the rows kept, their address codes into the distinct addresses, those
        addresses and their records (-1: to create, -2: not tracked; for
        :meth:`StateTable.rows_for_codes`).
        """
        k = keys[idx]
        codes, uniq = factorize_keys(k)
        lut = self.table.lookup(uniq)
        new = lut < 0
        if not new.any():
            return idx, codes, uniq, lut
        tk = t[idx]
        admit = np.ones(idx.size, np.bool_)
        if probation and self.seen_once is not None:
            admit = self._probation(codes, uniq, tk, new)
            waiting = np.ones(len(uniq), np.bool_)
            waiting[codes[admit]] = False
            waiting &= new
            lut[waiting] = -2
            new &= ~waiting
        n_new = int(np.count_nonzero(new))
        room = self.max_aircraft - len(self.table)
        if n_new > room:
            silent = self.table.oldest_silent(
                n_new - room, float(np.max(tk)) - LIVE_ANY_MESSAGE_S, lut[lut >= 0]
            )
            if silent.size:
                self._remove_rows(silent)
                self.evicted += int(silent.size)
                room += int(silent.size)
                relook = self.table.lookup(uniq)
                lut = np.where(lut < 0, lut, relook).astype(np.int32)
            if n_new > room:
                # the addresses that appeared last in the batch wait for room
                full = np.flatnonzero(new)[max(room, 0) :]
                lut[full] = -2
                gone = np.zeros(len(uniq), np.bool_)
                gone[full] = True
                refused = admit & gone[codes]
                self.refused += int(full.size)
                self.dropped["table_full"] += int(np.count_nonzero(refused))
                admit &= ~refused
        if admit.all():
            return idx, codes, uniq, lut
        return idx[admit], codes[admit], uniq, lut

    def _probation(
        self,
        codes: npt.NDArray[np.intp],
        uniq: npt.NDArray[np.uint32],
        t: npt.NDArray[np.float64],
        new: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """Rows admitted by readsb's seen-twice rule; updates :attr:`seen_once`.

        A new address's rows count from the first that another of its messages (the one
        before it in this batch, or the one held in :attr:`seen_once`) precedes by at most the
        window, that earlier message of the batch included. Addresses still unconfirmed wait
        with the time of their last message. Most new addresses are confirmed by their first
        two messages (found without sorting); only the others are walked in order.
        """
        seen = self.seen_once
        assert seen is not None
        window = seen.window_s
        admit = np.ones(codes.size, np.bool_)
        sel = np.flatnonzero(new[codes])
        c, tt = codes[sel], t[sel]
        pos = np.arange(sel.size)
        first = np.zeros(len(uniq), np.intp)
        first[c[::-1]] = pos[::-1]
        later = pos[pos != first[c]]
        second = np.full(len(uniq), -1, np.intp)
        second[c[later][::-1]] = later[::-1]
        held = seen.times(uniq)
        t1 = tt[first] if sel.size else np.full(len(uniq), np.nan)
        with np.errstate(invalid="ignore"):
            quick = (second >= 0) & (np.abs(tt[np.maximum(second, 0)] - t1) <= window)
            quick |= np.abs(t1 - held) <= window
        quick &= new
        good = np.ones(sel.size, np.bool_)
        slow = np.flatnonzero(~quick[c])
        if slow.size:
            good[slow] = _confirmed_runs(c[slow], tt[slow], held, window)
        admit[sel] = good
        confirmed = np.zeros(len(uniq), np.bool_)
        confirmed[c[good]] = True
        last_t = np.full(len(uniq), np.nan)
        last_t[c] = tt  # rows in order: each address's last time stays
        waiting = np.flatnonzero(new & ~confirmed)
        seen.update(uniq[confirmed], uniq[waiting], last_t[waiting], float(np.max(t)))
        self.dropped["unconfirmed"] += int(sel.size - np.count_nonzero(good))
        return admit

    def _emergency_flags(self) -> npt.NDArray[np.bool_]:
        """Per interned string: does it name an emergency (extended as strings are added)."""
        values = self.strings.values
        if not values:
            return _NO_FLAGS  # the kernel wants one element; kept apart from the cache
        have = len(self._emerg)
        if have < len(values):
            extra = [v.strip().lower() not in _NON_EMERGENCY for v in values[have:]]
            self._emerg = _ro_array(np.concatenate([self._emerg, np.array(extra, np.bool_)]))
        return self._emerg

    def _trusted_mask(
        self,
        keys: npt.NDArray[np.uint32],
        from_parity: npt.NDArray[np.bool_],
        trusts: npt.NDArray[np.bool_],
    ) -> npt.NDArray[np.bool_]:
        """Parity-derived addresses count only once heard in clear (here or in this batch)."""
        if not from_parity.any():
            return np.ones(len(keys), np.bool_)
        codes, cand = factorize_keys(keys)
        in_batch = np.bincount(codes[trusts], minlength=len(cand)) > 0
        known = self.table.lookup(np.asarray(cand, np.uint32))
        trusted = self.table.rows["trusted"]
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
        galt: npt.NDArray[np.float32],
        gs: npt.NDArray[np.float32],
        trk: npt.NDArray[np.float32],
        vr: npt.NDArray[np.float32],
        gnd: npt.NDArray[np.int8],
        cs: npt.NDArray[np.int32],
        sq: npt.NDArray[np.int16],
        nic: npt.NDArray[np.int8],
        nacp: npt.NDArray[np.int8],
        ref: npt.NDArray[np.int8],
        seq: npt.NDArray[np.int64],
        pair: npt.NDArray[np.int64],
    ) -> pa.Table:
        if accepted.size == 0:
            return POSITIONS_SCHEMA.empty_table()
        r = rows[accepted]
        keys = self.table.rows["key"][r]
        icao24 = pa.DictionaryArray.from_arrays(
            pa.array(r, pa.int32()), self._hex_dictionary()
        ).dictionary_decode()
        csr = cs[accepted]
        callsign = pa.DictionaryArray.from_arrays(
            pa.array(csr, pa.int32(), mask=csr < 0), self.string_array()
        ).dictionary_decode()
        source = pa.DictionaryArray.from_arrays(
            pa.array(c.src[accepted].astype(np.int32), pa.int32()), _SOURCE_DICTIONARY
        ).dictionary_decode()
        g = gnd[accepted]
        nic_a = nic[accepted]
        nacp_a = nacp[accepted]

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
                f(galt),
                f(gs),
                f(trk),
                f(vr),
                pa.array(g == 1, pa.bool_(), mask=g < 0),
                callsign,
                _squawk_text(sq[accepted]),
                pa.array(nic_a, pa.int8(), mask=nic_a < 0),
                pa.array(nacp_a, pa.int8(), mask=nacp_a < 0),
                source,
                pa.DictionaryArray.from_arrays(
                    pa.array(ref[accepted].astype(np.int32), pa.int32()), _REFERENCE_DICTIONARY
                ).dictionary_decode(),
                pa.array(seq[accepted] if seq.size else np.full(accepted.size, -1), pa.int64()),
                pa.array(pair[accepted], pa.int64()),
            ],
            schema=POSITIONS_SCHEMA,
        )

    def _hex_dictionary(self) -> pa.Array:
        """Hex address of every record (an Arrow array, extended as records are added)."""
        have = len(self._hex)
        if have < len(self.table):
            keys = self.table.rows["key"][have : len(self.table)] & 0xFFFFFF
            extra = pa.array([f"{k:06x}" for k in keys.tolist()], pa.string())
            self._hex = pa.concat_arrays([self._hex, extra]) if have else extra
        return self._hex

    def string_array(self) -> pa.Array:
        """The interned strings as an Arrow array, indexed by id (extended as strings are added)."""
        have = len(self._strings_arr)
        values = self.strings.values
        if not values:
            return _NO_STRINGS
        if have < len(values):
            extra = pa.array(values[have:], pa.string())
            self._strings_arr = pa.concat_arrays([self._strings_arr, extra]) if have else extra
        return self._strings_arr

    def _record_events(
        self,
        ev_idx: npt.NDArray[np.int32],
        ev_kind: npt.NDArray[np.int8],
        rows: npt.NDArray[np.int32],
        t: npt.NDArray[np.float64],
    ) -> None:
        st = self.table.rows
        events = self.events
        for i, kind in zip(ev_idx.tolist(), ev_kind.tolist(), strict=True):
            if len(events) == events.maxlen:
                self.events_dropped += 1
            rec = st[rows[i]]
            key = int(rec["key"])
            sq = int(rec["squawk"])
            em = int(rec["emergency"])
            cs = int(rec["callsign"])
            has_pos = int(rec["pos_src"]) > 0
            events.append(
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
        out = list(self.events)
        self.events.clear()
        return out

    # ------------------------------------------------------------------ expiry
    def expire(self, now_s: float, after_s: float) -> pa.Table:
        """Remove the state of aircraft not heard (no message at all) for more than ``after_s``
        seconds before ``now_s`` (epoch seconds); return them (:data:`EXPIRED_SCHEMA`).

        An expired aircraft heard again starts a new state (first seen again, address trust and
        CPR frames forgotten). Row numbers change: :attr:`last_rows` is renumbered (-1 for the
        removed ones).
        """
        st = self.table.used
        with np.errstate(invalid="ignore"):
            gone = np.flatnonzero(~(now_s - st["seen_t"] <= after_s))
        if gone.size == 0:
            return EXPIRED_SCHEMA.empty_table()
        rec = st[gone]
        keys = rec["key"]
        out = pa.Table.from_arrays(
            [
                pa.array(keys & 0xFFFFFF, pa.uint32()),
                pa.array((keys & NON_ICAO_FLAG) != 0, pa.bool_()),
                pa.array([f"{k & 0xFFFFFF:06x}" for k in keys.tolist()], pa.string()),
                pa.array(rec["first_seen_t"], pa.float64()),
                pa.array(rec["seen_t"], pa.float64()),
                pa.array(rec["messages"].astype(np.int64), pa.int64()),
            ],
            schema=EXPIRED_SCHEMA,
        )
        self._remove_rows(gone)
        self.expired += int(gone.size)
        if self.seen_once is not None:
            self.seen_once.prune(now_s)
        self._compact_strings()
        return out

    def _compact_strings(self) -> None:
        """Forget interned strings (callsigns, categories, emergency states) no aircraft held
        refers to any more, once they outnumber those in use (random payloads bring a new
        callsign each): the records' ids are renumbered."""
        st = self.table.used
        fields = ("callsign", "emergency", "category", "emergency_alert")
        used = np.unique(np.concatenate([st[f].astype(np.int64) for f in fields]))
        used = used[used >= 0]
        if len(self.strings.values) <= _STRINGS_SLACK + 2 * used.size:
            return
        remap = self.strings.compact(used)
        for f in fields:
            col = st[f]
            col[:] = np.where(col >= 0, remap[np.maximum(col, 0)], -1)
        self._reader.forget()
        self._frames.forget()
        self._emerg = np.zeros(0, np.bool_)
        self._strings_arr = pa.array([], pa.string())

    def _remove_rows(self, rows: npt.NDArray[np.intp]) -> None:
        """Drop state rows, keeping the row-indexed caches (hex names, last rows) right."""
        have = len(self._hex)
        new_of_old = self.table.remove(rows)
        if have:
            kept = np.flatnonzero(new_of_old[:have] >= 0)
            self._hex = self._hex.take(pa.array(kept)) if kept.size else pa.array([], pa.string())
        lr = self.last_rows
        if lr.size:
            self.last_rows = np.where(lr >= 0, new_of_old[np.maximum(lr, 0)], -1).astype(np.int32)

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
        """Every aircraft held: all heard since the start, less those :meth:`expire` removed."""
        return [self.state_of_row(r) for r in range(len(self.table))]

    def get(self, address: int | str, *, non_icao: bool = False) -> AircraftState | None:
        """State of one aircraft by address (int or hex, "~" prefix for non-ICAO)."""
        if isinstance(address, str):
            non_icao = non_icao or address.startswith("~")
            address = int(address.lstrip("~"), 16)
        key = (address & 0xFFFFFF) | (NON_ICAO_FLAG if non_icao else 0)
        r = self.table.row_of(key)
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
            position_reference=(
                None if not has_pos
                else "decoded" if SOURCE_NAMES[pos_src] in ("sbs", "json")
                else (_kernel.REFERENCE_NAMES[int(a["pos_ref"])] or None)
            ),
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
            sil_type=(
                SIL_TYPES[int(a["sil_type"])]
                if int(a["sil_type"]) >= 0 and int(a["sil_src"])
                else None
            ),
            adsb_version=ival("version"),
            selected_altitude_ft=val("nav_alt"),
            selected_heading_deg=val("nav_heading"),
            rssi_dbfs=rssi,
            receivers=receivers,
            stamps=stamps,
            conflicts=int(a["conflicts"]),
            conflicting=bool(_conflicting(self.table.rows.view(np.recarray)[r], self.now_s)),
        )
