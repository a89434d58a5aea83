# mypy: disable-error-code="no-untyped-def,unused-ignore"
"""Frames straight to the tracking kernel's inputs: one compiled pass, no table in between.

``decode_batch`` builds an Arrow table of every field (about forty columnar passes, each with
its temporaries) and the tracker reads a third of it back (:mod:`._columns`). Where nothing
else reads that table (``overflight track``, a station without SBS output or MLAT), this
module decodes each frame once, in one loop, into exactly the arrays
``_columns.address_columns`` and ``ColumnReader.read`` would have made of it: same values,
same fill values for "absent", same interned string ids. ``tests/tracking/test_frames.py``
pins that on both real captures and on random frames of every type code.

One definition of each field: the ADS-B sub-fields are :mod:`overflight.modes.adsb`'s
functions and the tables :mod:`overflight.modes.fields`' and ``modes.batch``'s, compiled in
(``register_jitable``); CRC is ``modes.crc``'s position tables and single-bit syndromes. Comm-B
(DF20/21) keeps its columnar inference (``modes.batch.commb_parts``) on those rows only: its
candidate registers are resolved across fields, which a per-frame pass would have to repeat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba.extending import register_jitable

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.frames import FrameBatch
from overflight.modes import adsb, commb
from overflight.modes.batch import (
    _AIR_NIC,
    _AIR_RC,
    _AP_DF,
    _CB_CHOSEN,
    _CF_ADSB,
    _CF_NON_ICAO,
    _CF_SOURCE_IDX,
    _DF_NON_ICAO,
    _SOURCES,
    _SURF_NIC,
    _SURF_RC,
    commb_parts,
)
from overflight.modes.crc import _POS_TABLE, _SYN56_BITS, _SYN56_KEYS, _SYN112_BITS, _SYN112_KEYS
from overflight.modes.fields import (
    AC13_FT_NP,
    CATEGORY_VALUES,
    EMERGENCY_STATES,
    ID13_SQUAWK_INDEX_NP,
    INT_NA,
    MOVEMENT_KT_NP,
    SQUAWK_VALUES,
    ac12_to_ac13,
    decode_callsign,
)
from overflight.tracking._columns import (
    _DF_TRACKED,
    AddressColumns,
    Interner,
    MessageColumns,
    _squawk_value,
)
from overflight.tracking.state import ADDR_TYPE_NAMES, NON_ICAO_FLAG, SOURCE_CODES

__all__ = ["COMMB_TRACKED", "DecodedFrames", "FrameDecoder", "commb_structure"]

for _f in (
    *(getattr(adsb, name) for name in adsb.__all__ if name != "gnss_altitude_ft"),
    ac12_to_ac13,
    *commb._BAD_S,
    commb._structure_code,
):
    register_jitable(_f)

COMMB_TRACKED = ("callsign", "selected_altitude_ft", "groundspeed_kt", "tas_kt", "ias_kt")
"""The Comm-B register fields the tracker reads (filled on DF20/21 rows after the pass)."""
_COMMB_NUMBERS = frozenset(COMMB_TRACKED) - {"callsign"}
_BDS20 = commb.BDS_CODES.index("2,0")

_SQUAWK_INT = np.array([_squawk_value(SQUAWK_VALUES[i]) for i in ID13_SQUAWK_INDEX_NP],
                       np.int16)
"""Squawk as the tracker keeps it (the four octal digits read as a decimal int) per ID13."""
_SRC_OF_IDX = np.array([SOURCE_CODES.get(s, SOURCE_CODES["modes"]) for s in _SOURCES], np.uint8)
_AT = np.array([ADDR_TYPE_NAMES.index(s) for s in (
    "adsb_icao", "adsb_icao_nt", "adsb_other", "adsr_icao", "adsr_other", "tisb_icao",
    "tisb_other", "mode_s")], np.uint8)
_S_ADSB, _S_TISB, _S_ADSR = SOURCE_CODES["adsb"], SOURCE_CODES["tisb"], SOURCE_CODES["adsr"]
_FLAG = np.uint32(NON_ICAO_FLAG)
_ALT = AC13_FT_NP.astype(np.int64)


@numba.njit(cache=True, nogil=True)
def _syndrome(d, first, nbytes, pos):  # type: ignore[no-untyped-def]
    """modes.crc.syndrome_batch for one row: data bytes ``d[0:nbytes]`` at table positions
    ``first...``, XOR the 24-bit parity after them."""
    c = np.uint32(0)
    for j in range(nbytes):
        c ^= pos[first + j, d[j]]
    par = (np.uint32(d[nbytes]) << 16) | (np.uint32(d[nbytes + 1]) << 8) | np.uint32(d[nbytes + 2])
    return np.int64(c ^ par)


@numba.njit(cache=True, nogil=True)
def _error_bit(syn, keys, bits):  # type: ignore[no-untyped-def]
    """modes.crc.error_bit_batch for one syndrome (-1: no single-bit error explains it)."""
    k = np.searchsorted(keys, np.uint32(syn))
    k = min(k, keys.shape[0] - 1)
    return bits[k] if keys[k] == np.uint32(syn) else -1


@numba.njit(cache=True, nogil=True)
def _decode(  # type: ignore[no-untyped-def]
    data, length, time_s,
    pos, k112, b112, k56, b56, df_tracked, ap_df, df_non_icao, cf_non_icao, cf_source,
    cf_adsb, src_of_idx, at_codes, s_adsb, s_tisb, s_adsr, flag, alt13, squawk13,
    air_nic, air_rc, surf_nic, surf_rc, movement_kt,
    # outputs: AddressColumns
    keys, usable, from_parity, trusts, non_icao_out, df_out,
    # MessageColumns (ids mapped afterwards: category / emergency codes, callsign bits)
    src, addr_type, alt_baro, alt_geom, geo_diff, on_ground, squawk, callsign_bits,
    category_code, emergency_code, has_cpr, cpr_odd, cpr_lat, cpr_lon, surface, nic, rc,
    typecode, nic_b, nic_a, nic_c, gs, track, vrate, vrate_gnss, tas, ias, nac_p, sil,
    sil_type, version, nav_alt, nav_hdg, head_out, me_out,
    vel_x, vel_y, alert, spi,
):
    d = np.zeros(14, np.uint8)
    for i in range(data.shape[0]):
        # (every output starts "absent", as the table reader fills a null: see decode)
        # ---- framing (modes.batch.decode_batch): short replies sent as 14 bytes are cut
        first = np.int64(data[i, 0])
        long_df = first >= 0x80
        ln = np.int64(length[i])
        if ln == 14 and not long_df:
            ln = np.int64(7)
        if not ((ln == 7 and not long_df) or (ln == 14 and long_df)):
            continue
        for j in range(14):
            d[j] = data[i, j] if j < ln else 0
        df = min(first >> 3, 24)
        df_out[i] = df
        syn = _syndrome(d, 0, 11, pos) if long_df else _syndrome(d, 7, 4, pos)
        is11, is17, is18 = df == 11, df == 17, df == 18
        checked = is11 or is17 or is18
        if checked and syn != 0 and not (is11 and syn < 0x80):
            bit = _error_bit(syn, k112, b112) if long_df else _error_bit(syn, k56, b56)
            if bit >= 0:
                d[bit // 8] ^= np.uint8(0x80 >> (bit % 8))
                syn = 0
        head = ((np.int64(d[0]) << 24) | (np.int64(d[1]) << 16) | (np.int64(d[2]) << 8)
                | np.int64(d[3]))
        me = np.int64(0)
        if long_df:
            for j in range(3, 11):
                me = (me << 8) | np.int64(d[j])
            me &= (np.int64(1) << 56) - 1
        head_out[i] = head
        me_out[i] = me
        address = syn if not checked else head & 0xFFFFFF
        crc_ok = (syn < 0x80) if is11 else (syn == 0)
        ca = (head >> 24) & 7
        # ---- who: the row filter of _columns.address_columns
        t_ok = not math.isnan(time_s[i])
        ok = t_ok and df_tracked[df] and (crc_ok or not checked)
        code = df_non_icao[df]
        if is18:
            code = cf_non_icao[ca]
        non = code == 1
        non_icao_out[i] = non
        key = np.uint32(address & 0xFFFFFF)
        if non:
            key |= flag
        keys[i] = key
        usable[i] = ok
        fp = ap_df[df]
        from_parity[i] = fp
        trusts[i] = ok and not fp and checked
        # ---- source and address type (ColumnReader.read)
        si = 3
        if is17:
            si = 0
        elif is18:
            si = cf_source[ca]
        s = src_of_idx[si]
        src[i] = s
        at = at_codes[7]
        if s == s_adsb:
            at = at_codes[2] if non else (at_codes[0] if is17 else at_codes[1])
        elif s == s_adsr:
            at = at_codes[4] if non else at_codes[3]
        elif s == s_tisb:
            at = at_codes[6] if non else at_codes[5]
        addr_type[i] = at
        # ---- Mode S replies
        if df == 0 or df == 16:
            on_ground[i] = (head >> 26) & 1
            a = alt13[head & 0x1FFF]
            if a != INT_NA:
                alt_baro[i] = a
        elif df == 4 or df == 5 or df == 20 or df == 21:
            alert[i] = 1 if (ca >= 2 and ca <= 4) else 0
            spi[i] = 1 if (ca == 4 or ca == 5) else 0
            if ca <= 3:
                on_ground[i] = 1 if (ca == 1 or ca == 3) else 0
            if df == 4 or df == 20:
                a = alt13[head & 0x1FFF]
                if a != INT_NA:
                    alt_baro[i] = a
            else:
                squawk[i] = squawk13[head & 0x1FFF]
        elif is11 or is17:
            if ca == 4:
                on_ground[i] = 1
            elif ca == 5:
                on_ground[i] = 0
        if not (is17 or (is18 and cf_adsb[ca])):
            continue
        # ---- ADS-B ME field (modes.batch._adsb_columns)
        tc = adsb.typecode(me)
        typecode[i] = tc
        if (tc >= 9 and tc <= 18) or (tc >= 20 and tc <= 22):
            c12 = adsb.airborne_altitude_code(me)
            if tc <= 18:
                a = alt13[ac12_to_ac13(c12)]
                if a != INT_NA:
                    alt_baro[i] = a
            elif c12 != 0:
                alt_geom[i] = np.int64(c12 * 3.28084)  # adsb.gnss_altitude_ft
            on_ground[i] = 0
            surface[i] = False
            ss = adsb.airborne_surveillance_status(me)
            alert[i] = 1 if (ss == 1 or ss == 2) else 0
            spi[i] = 1 if ss == 3 else 0
            nb = adsb.airborne_nic_b(me)
            nic_b[i] = nb
            has_cpr[i] = True
            cpr_odd[i] = adsb.cpr_format_odd(me) == 1
            cpr_lat[i] = adsb.cpr_lat(me)
            cpr_lon[i] = adsb.cpr_lon(me)
            nic[i] = air_nic[tc, nb]
            rc[i] = air_rc[tc, nb]
        elif tc == 19:
            st = adsb.velocity_subtype(me)
            on_ground[i] = 0
            if st == 1 or st == 2:
                ew, ns = adsb.velocity_ew(me), adsb.velocity_ns(me)
                if ew != 0 and ns != 0:
                    k = 4 if st == 2 else 1
                    vx = np.float64((ew - 1) * k * (1 - 2 * adsb.velocity_ew_sign(me)))
                    vy = np.float64((ns - 1) * k * (1 - 2 * adsb.velocity_ns_sign(me)))
                    gs[i] = np.sqrt(vx * vx + vy * vy)
                    vel_x[i] = vx  # track: NumPy's arctan2 afterwards (libm's differs in ulps)
                    vel_y[i] = vy
            elif st == 3 or st == 4:
                raw = adsb.airspeed_raw(me)
                if raw != 0:
                    v = np.float64(adsb.airspeed_kt(raw, st))
                    if adsb.airspeed_type_tas(me) == 1:
                        tas[i] = v
                    else:
                        ias[i] = v
            if st >= 1 and st <= 4:
                vrate_gnss[i] = adsb.vertical_rate_source_baro(me) == 0
                vr = adsb.vertical_rate_raw(me)
                if vr != 0:
                    vrate[i] = adsb.vertical_rate_fpm(adsb.vertical_rate_sign(me), vr)
                dd = adsb.gnss_baro_diff_raw(me)
                if dd != 0 and dd != 127:
                    geo_diff[i] = adsb.gnss_baro_diff_ft(adsb.gnss_baro_diff_sign(me), dd)
        elif tc >= 1 and tc <= 4:
            category_code[i] = (tc - 1) * 8 + adsb.emitter_ca(me)
            callsign_bits[i] = adsb.callsign_bits(me)
        elif tc >= 5 and tc <= 8:
            on_ground[i] = 1
            surface[i] = True
            gs[i] = movement_kt[adsb.surface_movement(me)]
            if adsb.surface_track_status(me) == 1:
                track[i] = adsb.surface_track_deg(adsb.surface_track_raw(me))
            has_cpr[i] = True
            cpr_odd[i] = adsb.cpr_format_odd(me) == 1
            cpr_lat[i] = adsb.cpr_lat(me)
            cpr_lon[i] = adsb.cpr_lon(me)
            nic[i] = surf_nic[tc, 0]
            rc[i] = surf_rc[tc, 0]
        elif tc == 28:
            if adsb.emergency_subtype(me) == 1:
                emergency_code[i] = adsb.emergency_code(me)
                squawk[i] = squawk13[adsb.squawk_id13(me)]
        elif tc == 29:
            st = adsb.target_state_subtype(me)
            if st == 1:
                raw = adsb.ts2_selected_altitude_raw(me)
                if raw != 0:
                    nav_alt[i] = adsb.ts2_selected_altitude_ft(raw)
                if adsb.ts2_heading_status(me) == 1:
                    nav_hdg[i] = adsb.ts2_heading_deg(adsb.ts2_heading_raw(me))
                nac_p[i] = adsb.ts2_nac_p(me)
                sil[i] = adsb.ts2_sil(me)
                sil_type[i] = adsb.ts2_sil_supplement(me)
                version[i] = 2
            elif st == 0:
                if adsb.ts1_vertical_source(me) != 0:
                    nav_alt[i] = adsb.ts1_target_altitude_raw(me) * 100 - 1000
                if adsb.ts1_horizontal_source(me) != 0:
                    nav_hdg[i] = np.float64(adsb.ts1_heading_raw(me))
                nac_p[i] = adsb.ts1_nac_p(me)
                sil[i] = adsb.ts1_sil(me)
                version[i] = 1
        elif tc == 31:
            st = adsb.opstatus_subtype(me)
            ver = adsb.opstatus_version(me)
            version[i] = ver
            if st <= 1 and ver >= 1:
                nic_a[i] = adsb.opstatus_nic_a(me)
                nac_p[i] = adsb.opstatus_nac_p(me)
                sil[i] = adsb.opstatus_sil(me)
                if ver == 2:
                    sil_type[i] = adsb.opstatus_sil_supplement(me)
                    if st == 1:
                        nic_c[i] = adsb.opstatus_nic_c(me)
            if st == 1:
                on_ground[i] = 1


@dataclass(frozen=True, slots=True)
class DecodedFrames:
    """One batch decoded for tracking: who (``head``), the kernel inputs (``cols``), and the
    ``alert`` / ``spi`` flags (int8: 1 set, 0 clear, -1 absent; as ``decode_batch``'s)."""

    head: AddressColumns
    cols: MessageColumns
    alert: npt.NDArray[np.int8]
    spi: npt.NDArray[np.int8]


@numba.njit(cache=True, nogil=True)
def _structure(mb, out):  # type: ignore[no-untyped-def]
    for i in range(mb.shape[0]):
        out[i] = commb._structure_code(mb[i]) if mb[i] != 0 else 0


def commb_structure(mb: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``commb.structure_columns`` by the scalar rules compiled (the same generated checks,
    short-circuiting per word: ~2.5x faster)."""
    out = np.empty(mb.shape[0], np.int64)
    if mb.shape[0]:
        _structure(np.ascontiguousarray(mb, np.int64), out)
    return out


def _ro(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.flags.writeable = False
    return a


class FrameDecoder:
    """Decodes frame batches into the tracker's kernel inputs, interning strings in ``strings``
    (the tracker's :class:`Interner`) exactly as ``ColumnReader`` would. Call :meth:`forget`
    when the interner is compacted (ids renumbered)."""

    __slots__ = ("_callsigns", "_cat", "_emerg", "strings")

    def __init__(self, strings: Interner) -> None:
        self.strings = strings
        self._callsigns: dict[int, int] = {}
        self._cat: npt.NDArray[np.int32] | None = None
        self._emerg: npt.NDArray[np.int32] | None = None

    def forget(self) -> None:
        """Drop the cached string ids (after the interner was compacted)."""
        self._callsigns.clear()
        self._cat = self._emerg = None

    def _id(self, s: str) -> int:
        s = s.strip()
        return self.strings.intern(s) if s else -1

    def _callsign_ids(self, bits: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        out = np.full(bits.size, -1, np.int32)
        has = np.flatnonzero(bits >= 0)
        if has.size == 0:
            return out
        uniq, inv = np.unique(bits[has], return_inverse=True)
        cache = self._callsigns
        ids = np.empty(uniq.size, np.int32)
        for k, b in enumerate(uniq.tolist()):
            got = cache.get(b)
            if got is None:
                got = cache[b] = self._id(decode_callsign(b))
            ids[k] = got
        out[has] = ids[inv]
        return out

    def _lut(self, codes: npt.NDArray[np.int8], words: tuple[str, ...],
             strip: bool) -> npt.NDArray[np.int32]:
        lut = np.array([(self._id(w) if strip else self.strings.intern(w)) for w in words],
                       np.int32)
        return np.where(codes >= 0, lut[np.maximum(codes, 0)], -1).astype(np.int32)

    def decode(self, batch: FrameBatch) -> DecodedFrames:
        """The row filter's columns and the kernel inputs of every row of ``batch`` (the same
        as ``address_columns`` and ``ColumnReader.read`` of its ``decode_batch`` table), with
        the alert and SPI flags the SBS output writes."""
        n = len(batch)
        z, nan = np.zeros, math.nan

        def f(value: float, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[Any]:
            return np.full(n, value, dtype)

        keys, usable, fp, trusts = f(0xFFFFFF, np.uint32), z(n, np.bool_), z(n, np.bool_), z(
            n, np.bool_)
        non_icao, df = z(n, np.bool_), z(n, np.uint8)
        src, at = f(_SRC_OF_IDX[3], np.uint8), f(_AT[7], np.uint8)
        alt_baro, alt_geom, geo_diff = f(nan), f(nan), f(nan)
        on_ground, squawk, cs_bits = f(-1, np.int8), f(-1, np.int16), f(-1, np.int64)
        cat, emerg = f(-1, np.int8), f(-1, np.int8)
        has_cpr, cpr_odd, cpr_lat, cpr_lon = z(n, np.bool_), z(n, np.bool_), z(n, np.int32), z(
            n, np.int32)
        surface, nic, rc, typecode = z(n, np.bool_), f(-1, np.int8), f(nan), z(n, np.uint8)
        nic_b, nic_a, nic_c = f(-1, np.int8), f(-1, np.int8), f(-1, np.int8)
        gs, track, vrate, vrate_gnss, tas, ias = f(nan), f(nan), f(nan), z(n, np.bool_), f(
            nan), f(nan)
        nac_p, sil, sil_type, version = (f(-1, np.int8), f(-1, np.int8), f(-1, np.int8),
                                         f(-1, np.int8))
        nav_alt, nav_hdg = f(nan), f(nan)
        signal = np.asarray(batch.signal_dbfs, np.float64).copy()
        receiver = np.array(batch.receiver, np.uint64)
        head, me = z(n, np.int64), z(n, np.int64)
        vel_x, vel_y = f(nan), f(nan)
        alert, spi = f(-1, np.int8), f(-1, np.int8)
        t = np.ascontiguousarray(batch.time_s, np.float64)
        if n:
            _decode(
                np.ascontiguousarray(batch.data), np.ascontiguousarray(batch.length_bytes), t,
                _POS_TABLE, _SYN112_KEYS, _SYN112_BITS, _SYN56_KEYS, _SYN56_BITS, _DF_TRACKED,
                _AP_DF, _DF_NON_ICAO, _CF_NON_ICAO, _CF_SOURCE_IDX, _CF_ADSB, _SRC_OF_IDX, _AT,
                _S_ADSB, _S_TISB, _S_ADSR, _FLAG, _ALT, _SQUAWK_INT, _AIR_NIC, _AIR_RC,
                _SURF_NIC, _SURF_RC, MOVEMENT_KT_NP,
                keys, usable, fp, trusts, non_icao, df,
                src, at, alt_baro, alt_geom, geo_diff, on_ground, squawk, cs_bits, cat, emerg,
                has_cpr, cpr_odd, cpr_lat, cpr_lon, surface, nic, rc, typecode, nic_b, nic_a,
                nic_c, gs, track, vrate, vrate_gnss, tas, ias, nac_p, sil, sil_type, version,
                nav_alt, nav_hdg, head, me, vel_x, vel_y, alert, spi,
            )
        v = np.flatnonzero(~np.isnan(vel_x))
        if v.size:  # modes.batch._adsb_columns' track, by the same NumPy calls
            trk = np.degrees(np.arctan2(vel_x[v], vel_y[v]))
            track[v] = np.where(trk < 0, trk + 360.0, trk)
        callsign = self._callsign_ids(cs_bits)
        cb = np.flatnonzero(usable & ((df == 20) | (df == 21)))
        if cb.size:
            self._commb(cb, me[cb], df[cb].astype(np.int64), head[cb], callsign, gs, tas, ias,
                        nav_alt)
        if self._cat is None:
            self._cat = np.array([self._id(w) for w in CATEGORY_VALUES], np.int32)
            self._emerg = np.array([self.strings.intern(w) for w in EMERGENCY_STATES], np.int32)
        assert self._emerg is not None
        category = np.where(cat >= 0, self._cat[np.maximum(cat, 0)], -1).astype(np.int32)
        emergency = np.where(emerg >= 0, self._emerg[np.maximum(emerg, 0)], -1).astype(np.int32)
        head_cols = AddressColumns(_ro(keys), _ro(usable), _ro(fp), _ro(trusts), _ro(non_icao),
                                   _ro(df), _ro(t.view()))
        cols = MessageColumns(
            t=head_cols.t, src=_ro(src), addr_type=_ro(at), df=head_cols.df,
            alt_baro=_ro(alt_baro), alt_geom=_ro(alt_geom), geo_diff=_ro(geo_diff),
            on_ground=_ro(on_ground), squawk=_ro(squawk), callsign=_ro(callsign),
            category=_ro(category), emergency=_ro(emergency), has_cpr=_ro(has_cpr),
            cpr_odd=_ro(cpr_odd), cpr_lat=_ro(cpr_lat), cpr_lon=_ro(cpr_lon),
            surface=_ro(surface), nic=_ro(nic), rc=_ro(rc), typecode=_ro(typecode),
            nic_b=_ro(nic_b), nic_a=_ro(nic_a), nic_c=_ro(nic_c), gs=_ro(gs), track=_ro(track),
            vrate=_ro(vrate), vrate_gnss=_ro(vrate_gnss), tas=_ro(tas), ias=_ro(ias),
            nac_p=_ro(nac_p), sil=_ro(sil), sil_type=_ro(sil_type), version=_ro(version),
            nav_alt=_ro(nav_alt), nav_hdg=_ro(nav_hdg), signal_dbfs=_ro(signal),
            receiver=_ro(receiver),
        )
        return DecodedFrames(head_cols, cols, _ro(alert), _ro(spi))

    def _commb(self, rows: npt.NDArray[np.intp], mb: npt.NDArray[np.int64],
               df: npt.NDArray[np.int64], head: npt.NDArray[np.int64],
               callsign: npt.NDArray[np.int32], gs: npt.NDArray[np.float64],
               tas: npt.NDArray[np.float64], ias: npt.NDArray[np.float64],
               nav_alt: npt.NDArray[np.float64]) -> None:
        """Comm-B fields on DF20/21 rows, from ``decode_batch``'s own inference. The BDS 2,0
        callsign is the register's 48 character bits (what ``register_columns`` decodes to
        text), interned through the same cache as ADS-B identifications."""
        code, parts = commb_parts(rows.astype(np.int64), mb, df, head, _COMMB_NUMBERS,
                                  commb_structure)
        for name, (r, v) in parts.items():
            {"groundspeed_kt": gs, "tas_kt": tas, "ias_kt": ias,
             "selected_altitude_ft": nav_alt}[name][r] = np.asarray(v, np.float64)
        ident = np.flatnonzero(_CB_CHOSEN[code] == _BDS20)
        if ident.size:
            callsign[rows[ident]] = self._callsign_ids(mb[ident] & 0xFFFFFFFFFFFF)

