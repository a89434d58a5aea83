"""The tracker's state table: one NumPy record per aircraft, found by address.

Every tracked value carries its update time (``*_t``, epoch seconds, NaN when never set) and
the source it came from (``*_src``, a :data:`SOURCE_NAMES` code; 0 when never set). Records live
in one growable structured array so the compiled kernel can update them in place; a sorted
address index finds them. :meth:`StateTable.remove` drops records (the table is compacted, order
kept, the index renumbered), so a long-running tracker that expires silent aircraft stays the
same size.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from overflight.tracking._factorize import factorize_keys

__all__ = [
    "ADDR_TYPE_NAMES",
    "NON_ICAO_FLAG",
    "RECEIVER_SLOTS",
    "SIGNAL_RING",
    "SOURCE_CODES",
    "SOURCE_NAMES",
    "STATE_DTYPE",
    "SeenOnce",
    "StateTable",
]

SOURCE_NAMES: Final[tuple[str, ...]] = ("", "json", "sbs", "mlat", "modes", "tisb", "adsr", "adsb")
"""Source codes, ordered worst to best as readsb ranks them (0: no data). ``json`` and ``sbs``:
state decoded by another decoder (a readsb ``aircraft.json``, BaseStation lines): below MLAT, as
readsb ranks SBS input, so they never override the station's own decoding while it is fresh."""
SOURCE_CODES: Final[dict[str, int]] = {n: i for i, n in enumerate(SOURCE_NAMES) if n}

ADDR_TYPE_NAMES: Final[tuple[str, ...]] = (
    "adsb_icao",
    "adsb_icao_nt",
    "adsr_icao",
    "tisb_icao",
    "mlat",
    "mode_s",
    "adsb_other",
    "adsr_other",
    "tisb_other",
    "unknown",
)
"""readsb's ``type`` values, best first (lower code wins, as in readsb's addrtype)."""

NON_ICAO_FLAG: Final[int] = 1 << 24
"""Added to a non-ICAO (TIS-B/ADS-R/anonymous) address to form its key, as readsb does."""

SIGNAL_RING: Final[int] = 8
"""Signal levels kept per aircraft for the RSSI average (readsb keeps 8)."""
RECEIVER_SLOTS: Final[int] = 4
"""Receivers remembered per aircraft (the first ones heard)."""


def _field(name: str, value: str) -> list[tuple[str, str]]:
    """A value with its update time and source code."""
    return [(name, value), (name + "_t", "f8"), (name + "_src", "u1")]


STATE_DTYPE: Final[np.dtype[np.void]] = np.dtype(
    [
        ("key", "u4"),  # address | NON_ICAO_FLAG for non-ICAO addresses
        ("first_seen_t", "f8"),
        ("seen_t", "f8"),
        ("messages", "u4"),
        ("positions", "u4"),
        ("addr_type", "u1"),
        ("addr_type_t", "f8"),
        ("trusted", "u1"),  # address heard in clear (DF11/17/18): parity replies accepted
        # position
        ("lat", "f8"),
        ("lon", "f8"),
        ("pos_t", "f8"),
        ("pos_src", "u1"),
        ("pos_surface", "u1"),
        ("pos_ref", "u1"),  # what resolved it: _kernel.REFERENCE_NAMES
        ("pos_nic", "i1"),
        ("pos_rc_m", "f4"),
        ("pos_global_t", "f8"),
        ("lat_rel", "f8"),
        ("lon_rel", "f8"),
        ("rel_t", "f8"),  # last reliable position
        ("rel_odd", "i1"),
        ("rel_even", "i1"),  # readsb pos_reliable counters
        ("gs_last_pos", "f4"),
        # CPR frames waiting for their partner (src 0: none)
        ("cpr_even_lat", "i4"),
        ("cpr_even_lon", "i4"),
        ("cpr_even_t", "f8"),
        ("cpr_even_src", "u1"),
        ("cpr_even_surface", "u1"),
        ("cpr_even_nic", "i1"),
        ("cpr_even_seq", "i8"),  # caller's sequence number of the frame, -1 unknown
        ("cpr_odd_lat", "i4"),
        ("cpr_odd_lon", "i4"),
        ("cpr_odd_t", "f8"),
        ("cpr_odd_src", "u1"),
        ("cpr_odd_surface", "u1"),
        ("cpr_odd_nic", "i1"),
        ("cpr_odd_seq", "i8"),
        # values with time and source
        *_field("alt_baro", "f4"),
        *_field("alt_geom", "f4"),
        *_field("gs", "f4"),
        *_field("track", "f4"),
        *_field("baro_rate", "f4"),
        *_field("geom_rate", "f4"),
        *_field("tas", "f4"),
        *_field("ias", "f4"),
        *_field("callsign", "i4"),  # interned string id, -1 none
        *_field("squawk", "i2"),  # 4 octal digits read as a decimal number (7700), -1 none
        ("squawk_alert", "i2"),  # emergency squawk an event was raised for, -1 none
        *_field("emergency", "i2"),  # interned string id
        ("emergency_alert", "i2"),  # emergency state an event was raised for, -1 none
        *_field("category", "i2"),  # interned string id
        *_field("on_ground", "i1"),  # 1 ground, 0 airborne, -1 unknown
        *_field("nic", "i1"),
        ("nic_a", "i1"),  # NIC supplement A of the last operational status, -1 unknown
        ("nic_c", "i1"),  # NIC supplement C (surface operational status), -1 unknown
        *_field("nac_p", "i1"),
        *_field("sil", "i1"),
        ("sil_type", "i1"),  # SIL supplement (modes.fields.SIL_TYPES index), -1 unknown; with sil
        *_field("version", "i1"),
        *_field("nav_alt", "f4"),  # selected altitude, ft
        *_field("nav_heading", "f4"),  # selected heading, deg
        # signal
        ("signal", "f4", (SIGNAL_RING,)),  # linear power, 0 empty
        ("signal_next", "u1"),
        ("rx_id", "u8", (RECEIVER_SLOTS,)),
        ("rx_dbfs", "f4", (RECEIVER_SLOTS,)),
        ("rx_messages", "u4", (RECEIVER_SLOTS,)),
        ("rx_t", "f8", (RECEIVER_SLOTS,)),
        # frames disagreeing with the trusted position or their pair (_kernel's "conflict"),
        # last: the per-message path never touches them
        ("conflicts", "u4"),  # all so far
        ("conflict_n", "u2"),  # in the current window (_kernel.CONFLICT_WINDOW_S)
        ("conflict_run", "u2"),  # since the position at conflict_pos_t
        ("conflict_t", "f8"),  # the last one
        ("conflict_pos_t", "f8"),  # pos_t of the position conflict_run counts against
        ("conflict_seq", "i8"),  # its frame's sequence number (-1 unknown)
    ],
    align=False,
)
"""One aircraft's state (see module docstring for the ``_t``/``_src`` convention)."""


def _blank(n: int) -> npt.NDArray[np.void]:
    """``n`` empty records: times NaN, ids -1, sources 0."""
    st = np.zeros(n, STATE_DTYPE)
    names = STATE_DTYPE.names or ()
    for name in names:
        if name.endswith("_t") or name in ("lat", "lon", "lat_rel", "lon_rel"):
            st[name] = np.nan
    for name in (
        "callsign",
        "squawk",
        "emergency",
        "category",
        "on_ground",
        "nic",
        "nic_a",
        "nic_c",
        "nac_p",
        "sil",
        "sil_type",
        "version",
        "pos_nic",
        "cpr_even_nic",
        "cpr_odd_nic",
        "cpr_even_seq",
        "cpr_odd_seq",
        "conflict_seq",
        "squawk_alert",
        "emergency_alert",
    ):
        st[name] = -1
    for name in (
        "alt_baro",
        "alt_geom",
        "gs",
        "track",
        "baro_rate",
        "geom_rate",
        "tas",
        "ias",
        "nav_alt",
        "nav_heading",
        "pos_rc_m",
        "gs_last_pos",
    ):
        st[name] = np.nan
    st["addr_type"] = len(ADDR_TYPE_NAMES) - 1
    return st


class StateTable:
    """A growable structured array of aircraft records, found by key through a sorted index.

    The index is two parallel arrays (keys sorted, their rows), so a batch's addresses are looked
    up with one ``searchsorted`` and cost 8 bytes per aircraft instead of a dict entry.
    """

    __slots__ = ("_keys", "_min_capacity", "_n", "_rows_of_keys", "rows")

    def __init__(self, capacity: int = 1024) -> None:
        self._min_capacity = max(capacity, 16)
        self.rows: npt.NDArray[np.void] = _blank(self._min_capacity)
        self._keys: npt.NDArray[np.uint32] = np.empty(0, np.uint32)
        self._rows_of_keys: npt.NDArray[np.int32] = np.empty(0, np.int32)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def used(self) -> npt.NDArray[np.void]:
        """The records in use (a view)."""
        return self.rows[: self._n]

    def lookup(self, keys: npt.NDArray[np.uint32]) -> npt.NDArray[np.int32]:
        """Row of each key, -1 for keys never seen."""
        keys = np.asarray(keys, np.uint32)
        if self._keys.size == 0:
            return np.full(keys.shape, -1, np.int32)
        pos = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
        return np.where(self._keys[pos] == keys, self._rows_of_keys[pos], -1).astype(np.int32)

    def row_of(self, key: int) -> int | None:
        """Row of one key, or None."""
        r = int(self.lookup(np.array([key], np.uint32))[0])
        return None if r < 0 else r

    def rows_for(
        self, keys: npt.NDArray[np.uint32], times_s: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int32]:
        """Row of each key, creating records for new keys (first seen at their first time)."""
        codes, uniq = factorize_keys(keys)
        return self.rows_for_codes(codes, uniq, self.lookup(uniq), times_s)

    def rows_for_codes(
        self,
        codes: npt.NDArray[np.intp],
        uniq: npt.NDArray[np.uint32],
        lut: npt.NDArray[np.int32],
        times_s: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.int32]:
        """:meth:`rows_for` of keys already factorized (``factorize_keys``: ``uniq[codes]`` are
        the keys, in order of first appearance) and looked up (``lut``: -1 for new keys, to be
        created; -2 for keys not to create, which ``codes`` must not name)."""
        lut = lut.copy()
        new = np.flatnonzero(lut == -1)
        if new.size:
            # factorize numbers keys in order of first appearance: first index per code
            first = np.empty(len(uniq), np.int64)
            first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
            need = self._n + new.size
            if need > len(self.rows):
                grown = _blank(max(need, 2 * len(self.rows)))
                grown[: self._n] = self.rows[: self._n]
                self.rows = grown
            rr = np.arange(self._n, need, dtype=np.int32)
            lut[new] = rr
            self.rows["key"][rr] = uniq[new]
            self.rows["first_seen_t"][rr] = times_s[first[new]]
            self._n = need
            allk = np.concatenate([self._keys, uniq[new]])
            allr = np.concatenate([self._rows_of_keys, rr])
            order = np.argsort(allk, kind="stable")
            self._keys, self._rows_of_keys = allk[order], allr[order]
        return np.asarray(lut[codes], np.int32)

    def remove(self, rows: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
        """Drop the records ``rows``; the others keep their order and move down.

        Returns the new row of every old row (-1 for the removed ones). The allocation shrinks
        to twice the rows in use (at least the initial capacity) once under a quarter is used.
        """
        n = self._n
        keep = np.ones(n, np.bool_)
        keep[np.asarray(rows, np.intp)] = False
        kept = np.flatnonzero(keep)
        new_of_old = np.full(n, -1, np.int32)
        m = kept.size
        new_of_old[kept] = np.arange(m, dtype=np.int32)
        if m == n:
            return new_of_old
        capacity = len(self.rows)
        if capacity > self._min_capacity and m < capacity // 4:
            smaller = _blank(max(2 * m, self._min_capacity))
            smaller[:m] = self.rows[kept]
            self.rows = smaller
        else:
            self.rows[:m] = self.rows[kept]
            self.rows[m:n] = _blank(n - m)
        self._n = m
        alive = new_of_old[self._rows_of_keys] >= 0
        self._keys = self._keys[alive]
        self._rows_of_keys = new_of_old[self._rows_of_keys[alive]]
        return new_of_old

    def nbytes(self) -> int:
        """Bytes held by the records in use plus their index entries."""
        return int(self._n * (STATE_DTYPE.itemsize + 8))

    def oldest_silent(
        self, count: int, before_s: float, exclude: npt.NDArray[np.integer]
    ) -> npt.NDArray[np.intp]:
        """Up to ``count`` rows silent the longest, all last heard before ``before_s``
        (epoch seconds), none of the rows ``exclude``."""
        seen = self.rows["seen_t"][: self._n].copy()
        seen[np.asarray(exclude, np.intp)] = np.inf
        cand = np.flatnonzero(seen < before_s)
        if cand.size > count:
            cand = cand[np.argpartition(seen[cand], count - 1)[:count]]
        return cand

    def allocated_nbytes(self) -> int:
        """Bytes allocated: the whole record array (spare capacity included) plus the index."""
        return int(self.rows.nbytes + self._keys.nbytes + self._rows_of_keys.nbytes)


class SeenOnce:
    """Addresses heard once, each with the time it was heard: a bounded probation set.

    An address is tracked (given a record) only when a second message confirms it within
    ``window_s`` seconds (readsb's rule against addresses made up by bit errors or a flood of
    fake ones). Held sorted by key (``searchsorted`` lookups); at most ``capacity`` entries, the
    oldest dropped first (:attr:`overflowed` counts them).
    """

    __slots__ = ("_keys", "_t", "capacity", "overflowed", "window_s")

    def __init__(self, capacity: int, window_s: float) -> None:
        self.capacity = max(capacity, 1)
        self.window_s = window_s
        self.overflowed = 0
        """Entries dropped because the set was full."""
        self._keys: npt.NDArray[np.uint32] = np.empty(0, np.uint32)
        self._t: npt.NDArray[np.float64] = np.empty(0, np.float64)

    def __len__(self) -> int:
        return int(self._keys.size)

    def nbytes(self) -> int:
        """Bytes held by the entries."""
        return int(self._keys.nbytes + self._t.nbytes)

    def times(self, keys: npt.NDArray[np.uint32]) -> npt.NDArray[np.float64]:
        """When each key was heard (epoch seconds), NaN for keys not held."""
        if self._keys.size == 0:
            return np.full(keys.shape, np.nan)
        pos = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
        return np.where(self._keys[pos] == keys, self._t[pos], np.nan)

    def prune(self, now_s: float) -> None:
        """Forget entries older than the window before ``now_s`` (epoch seconds)."""
        keep = self._t >= now_s - self.window_s
        self._keys, self._t = self._keys[keep], self._t[keep]

    def update(
        self,
        remove: npt.NDArray[np.uint32],
        add: npt.NDArray[np.uint32],
        add_t: npt.NDArray[np.float64],
        now_s: float,
    ) -> None:
        """Forget ``remove`` (confirmed) and entries older than the window before ``now_s``;
        hold ``add`` (distinct keys) heard at ``add_t`` (replacing their earlier time)."""
        keep = ~np.isin(self._keys, remove) & ~np.isin(self._keys, add)
        keep &= self._t >= now_s - self.window_s
        keys = np.concatenate([self._keys[keep], add])
        t = np.concatenate([self._t[keep], add_t])
        if keys.size > self.capacity:
            newest = np.argpartition(t, keys.size - self.capacity)[keys.size - self.capacity :]
            self.overflowed += int(keys.size - self.capacity)
            keys, t = keys[newest], t[newest]
        order = np.argsort(keys, kind="stable")
        self._keys, self._t = keys[order], t[order]
