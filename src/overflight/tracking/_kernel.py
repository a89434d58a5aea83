# mypy: disable-error-code="no-untyped-def,unused-ignore"
"""The compiled per-message loop: CPR pairing, position validation and field updates.

It walks a batch of messages in input order and updates the aircraft records of
:data:`overflight.tracking.state.STATE_DTYPE` in place, following readsb's rules:

* a field is accepted unless it is older than the stored one, or comes from a worse source
  while the stored value is fresh (15 s; 30 s for MLAT replacing better data);
* global CPR from an even/odd pair of the same source and type (airborne 10 s apart at most,
  surface 25 s, or 50 s when slower than 25 kt), else local CPR relative to the aircraft's last
  position (100 NM) or, airborne, to the receiver;
* every decoded position passes readsb's speed gate; a failure restores the frame store, counts a
  rejection and lowers both reliability counters (at zero the position is dropped and pairing
  starts over), so one bad decode cannot move an aircraft.

Beyond readsb, against a second transmitter using the aircraft's address (issue 17):

* frames are never paired across sources that disagree. While the aircraft has a trusted
  position (the speed gate applies), a CPR pair that fails (impossible, zone, range, speed) is
  judged by its new frame alone: decoded locally against the trusted position, does it pass the
  speed gate? If so the stored partner was the odd one out and is forgotten (the new frame is
  decoded locally); if not the new frame is rejected as a **conflict**. A local decode that
  fails the gate is a conflict too. Without a trusted position, a pair whose even and odd
  frames decode (globally) farther apart than the aircraft could fly between them is a
  conflict (the partner is forgotten, the new frame waits for its own).
* a conflict never moves the aircraft and, while its position was confirmed in the last
  :data:`TRUST_HOLD_S` seconds with fewer than :data:`CONFLICT_HOLD_COUNT` conflicts since,
  costs no reliability (readsb's counters would let a spoofer sending as often as the aircraft
  drop the real track). A wrong trusted position that nothing confirms any more still gives way
  as in readsb (after the hold, or after that many conflicts when times are compressed, as in
  a capture of snipped bursts). A conflict is counted on the aircraft
  (``conflicts``, and ``conflict_n`` in a :data:`CONFLICT_WINDOW_S` window: "conflicting sources"
  from :data:`CONFLICT_FLAG_COUNT` on) with the sequence number of the last conflicting frame.
* a rejected frame changes nothing else (its on-ground bit and altitude are not applied).
* an emergency (squawk 7500/7600/7700, or an ADS-B emergency state) raises an event only when
  confirmed: the same value in two messages at most :data:`CONFIRM_S` apart, from an address
  with no conflict in the last :data:`CONFLICT_WINDOW_S` (a real emergency goes on being sent,
  so it is raised once the address is quiet); once per value until another value is confirmed.
"""

from __future__ import annotations

import math

import numpy as np

from overflight._numba_cache import numba  # numba, its cache folder configured
from overflight.geo import M_PER_NM
from overflight.tracking._cpr import (
    airborne_global,
    bearing_deg,
    greatcircle_m,
    local_position,
    surface_candidates,
    surface_global,
)
from overflight.tracking.airports import AIRPORT_RADIUS_M, nearest_airport
from overflight.tracking.state import SOURCE_CODES

__all__ = [
    "CONFIRM_S",
    "CONFLICT_FLAG_COUNT",
    "CONFLICT_HOLD_COUNT",
    "CONFLICT_WINDOW_S",
    "OUTCOME_NAMES",
    "REFERENCE_NAMES",
    "TRUST_HOLD_S",
    "conflicting",
    "empty_outputs",
    "track_kernel",
]

_LN10_OVER_10 = math.log(10.0) / 10.0
"""ln(10) / 10: ``10 ** (dbfs / 10)`` is ``exp(dbfs * _LN10_OVER_10)`` (exp is several times cheaper
than pow, once per message)."""

# outcome codes per message (index into OUTCOME_NAMES)
NONE = 0
GLOBAL = 1
LOCAL = 2
DIRECT = 3
REJ_SPEED = 4
REJ_BOGUS = 5
REJ_RANGE = 6
REJ_SURFACE_REF = 7
SKIP_NO_REFERENCE = 8
SKIP_ZONE = 9
SKIP_LOCAL = 10
SKIP_OLDER = 11
SKIP_AIRPORT_AMBIGUOUS = 12
REJ_CONFLICT = 13

OUTCOME_NAMES = (
    "none",
    "global",
    "local",
    "direct",
    "speed",
    "bogus",
    "range",
    "surface_reference",
    "no_reference",
    "zone_boundary",
    "local_ambiguous",
    "older_or_worse_source",
    "airport_ambiguous",
    "conflict",
)
"""Per-message position outcome: accepted (global, local, direct = MLAT), rejected (speed, bogus,
range, surface_reference, conflict: a CPR frame that disagrees with the aircraft's trusted
position or with the other frame of its pair, see the module docstring) or not decodable yet
(no_reference, zone_boundary, local_ambiguous, older_or_worse_source, airport_ambiguous: a
surface pair without reference near more than one airport)."""

# reference of an accepted position (index into REFERENCE_NAMES)
REF_PAIR = 1
REF_AIRCRAFT = 2
REF_RECEIVER = 3
REF_AIRPORT = 4
REF_MLAT = 5
REFERENCE_NAMES = ("", "pair", "aircraft", "receiver", "airport", "mlat")
"""What resolved an accepted position: an airborne even/odd pair alone, the aircraft's last
position, the receiver's position, a nearby airport (surface pair without other reference), or an
MLAT fix."""

MLAT = SOURCE_CODES["mlat"]
"""Sources at or below this code (json, sbs: state decoded elsewhere; mlat) get readsb's MLAT
margins: longer holds, looser speed gate, never marked reliable by CPR counters."""
_STALE_S = 15.0
_VALID_S = 60.0
_KT_TO_MS = M_PER_NM / 3600.0

EV_SQUAWK = 1
EV_EMERGENCY = 2

TRUST_HOLD_S = 10.0
"""A position confirmed this recently (seconds) loses no reliability to conflicting frames..."""
CONFLICT_HOLD_COUNT = 16
"""... unless this many conflicts came since it was last confirmed."""
CONFLICT_WINDOW_S = 60.0
"""Conflicts closer together than this (seconds) add up on the aircraft's ``conflict_n``."""
CONFLICT_FLAG_COUNT = 3
"""From this many conflicts within the window an address is "conflicting sources"."""
PAIR_SPEED_M_S = 600.0
PAIR_MARGIN_M = 2_000.0
"""An even and an odd frame of one aircraft decode at most ``PAIR_MARGIN_M`` plus
``PAIR_SPEED_M_S`` (1,170 kt) per second between them apart."""
CONFIRM_S = 30.0
"""An emergency value is confirmed by a second message within this many seconds."""


@numba.njit(cache=True, nogil=True)
def _accept(field_t: float, field_src: int, t: float, src: int) -> bool:
    """readsb's accept_data: not older, and not a worse source while the stored one is fresh."""
    if field_src > 0:
        if t < field_t:
            return False
        if src < field_src:
            hold = 30.0 if src <= MLAT else _STALE_S
            if t < field_t + hold:
                return False
    return True


@numba.njit(cache=True, nogil=True)
def _gate_active(a, t: float, src: int) -> bool:  # type: ignore[no-untyped-def]
    """Does the speed gate apply: a trusted position recent enough (readsb's exemptions)?"""
    if a.pos_src == 0 or math.isnan(a.pos_t):
        return False
    if a.rel_odd < 1 and a.rel_even < 1:
        return False
    elapsed = max(t - a.pos_t, 0.0)
    if elapsed > 120.0 or src > a.pos_src:
        return False
    return not (src <= MLAT and elapsed > 25.0)


@numba.njit(cache=True, nogil=True)
def _conflict(a, t: float, seq: int) -> None:  # type: ignore[no-untyped-def]
    """Count a conflicting frame (sequence number ``seq``) on the aircraft."""
    a.conflicts += 1
    if math.isnan(a.conflict_t) or t - a.conflict_t > CONFLICT_WINDOW_S:
        a.conflict_n = 0
    if a.conflict_n < 65535:
        a.conflict_n += 1
    a.conflict_t = t
    a.conflict_seq = seq
    if a.conflict_pos_t != a.pos_t:  # the position was confirmed since (or NaN)
        a.conflict_run = 0
        a.conflict_pos_t = a.pos_t
    if a.conflict_run < 65535:
        a.conflict_run += 1


@numba.njit(cache=True, nogil=True)
def _trust_holds(a, t: float) -> bool:  # type: ignore[no-untyped-def]
    """Does the trusted position hold against a conflict (no reliability lost)?"""
    return bool(t - a.pos_t <= TRUST_HOLD_S and a.conflict_run < CONFLICT_HOLD_COUNT)


@numba.njit(cache=True, nogil=True)
def conflicting(a, t: float) -> bool:  # type: ignore[no-untyped-def]
    """Is the address "conflicting sources" at time ``t``?"""
    return bool(a.conflict_n >= CONFLICT_FLAG_COUNT and t - a.conflict_t <= CONFLICT_WINDOW_S)


@numba.njit(cache=True, nogil=True)
def _recent_conflict(a, t: float) -> bool:  # type: ignore[no-untyped-def]
    """Did the address send a conflicting frame in the last ``CONFLICT_WINDOW_S``?"""
    return bool(a.conflict_n > 0 and t - a.conflict_t <= CONFLICT_WINDOW_S)


@numba.njit(cache=True, nogil=True)
def _fits_track(a, clat, clon, odd, surf, t, src, json_reliable):  # type: ignore[no-untyped-def]
    """Does one CPR frame, decoded locally against the trusted position, pass the speed gate?"""
    lat, lon, status = local_position(clat, clon, odd, surf, a.lat, a.lon)
    if status != 0 or _bogus(lat, lon):
        return False
    ok, _ = _speed_check(a, lat, lon, t, src, surf, json_reliable)
    return ok


@numba.njit(cache=True, nogil=True)
def _pair_consistent(a, surf, ref_lat, ref_lon, dt):  # type: ignore[no-untyped-def]
    """Do the stored even and odd frames decode (each globally) near enough to each other?"""
    if surf:
        la0, lo0, s0 = surface_global(
            a.cpr_even_lat, a.cpr_even_lon, a.cpr_odd_lat, a.cpr_odd_lon, False, ref_lat, ref_lon
        )
        la1, lo1, s1 = surface_global(
            a.cpr_even_lat, a.cpr_even_lon, a.cpr_odd_lat, a.cpr_odd_lon, True, ref_lat, ref_lon
        )
    else:
        la0, lo0, s0 = airborne_global(
            a.cpr_even_lat, a.cpr_even_lon, a.cpr_odd_lat, a.cpr_odd_lon, False
        )
        la1, lo1, s1 = airborne_global(
            a.cpr_even_lat, a.cpr_even_lon, a.cpr_odd_lat, a.cpr_odd_lon, True
        )
    if s0 != 0 or s1 != 0:
        return True  # the pair's own decode reports it
    return greatcircle_m(la0, lo0, la1, lo1) <= PAIR_MARGIN_M + abs(dt) * PAIR_SPEED_M_S


@numba.njit(cache=True, nogil=True)
def _speed_check(
    a,
    lat: float,
    lon: float,
    t: float,
    src: int,
    surface: bool,  # type: ignore[no-untyped-def]
    json_reliable: int,
) -> tuple[bool, bool]:
    """readsb's speed_check. Returns (in range, ignore: a failure that costs no reliability)."""
    if not _gate_active(a, t, src):
        return True, False
    elapsed = max(t - a.pos_t, 0.0)
    surf = surface and a.pos_surface == 1
    speed = 150.0 if surf else 900.0
    gs_age = t - a.gs_t
    if a.gs_src > 0 and gs_age <= _VALID_S:
        speed = a.gs
        if not math.isnan(a.gs_last_pos) and a.gs_last_pos > speed:
            speed = a.gs_last_pos
        speed += 3.0 * max(gs_age, 0.0)
    elif a.tas_src > 0 and t - a.tas_t <= _VALID_S:
        speed = a.tas * 4.0 / 3.0
    elif a.ias_src > 0 and t - a.ias_t <= _VALID_S:
        speed = a.ias * 2.0
    if src <= MLAT:
        speed = min(speed * 2.0, 2400.0)
    speed *= 1.3
    speed = min(max(speed, 20.0), 150.0) if surf else max(speed, 200.0)
    distance = greatcircle_m(a.lat, a.lon, lat, lon)
    ignore = False
    track_age = t - a.track_t
    if (
        not surf
        and distance > 1.0
        and src > MLAT
        and a.track_src > 0
        and track_age < 7.0
        and elapsed < 7.0
        and a.rel_odd >= json_reliable
        and a.rel_even >= json_reliable
    ):
        calc = bearing_deg(a.lat, a.lon, lat, lon)
        diff = a.track - calc
        diff -= 360.0 * math.floor((diff + 180.0) / 360.0)
        diff = abs(diff)
        bonus = speed * (90.0 - diff) / 90.0
        speed += bonus * (1.1 - track_age / 5.0)
        if diff > 160.0:
            ignore = True
    rng = (100.0 if surf else 0.0) + (elapsed + 1.0) * speed * _KT_TO_MS
    return distance <= rng, ignore


@numba.njit(cache=True, nogil=True)
def _bogus(lat: float, lon: float) -> bool:
    return (
        math.isnan(lat)
        or lat < -90.0
        or lat > 90.0
        or lon < -180.0
        or lon > 180.0
        or (lat == 0.0 and lon == 0.0)
    )


@numba.njit(cache=True, nogil=True)
def _position_bad(a, src: int) -> None:  # type: ignore[no-untyped-def]
    """readsb's position_bad: lower both counters; at zero drop the position and the frames."""
    if src < a.pos_src:
        return
    a.rel_odd -= 1
    a.rel_even -= 1
    if a.rel_odd <= 0 or a.rel_even <= 0:
        a.pos_src = 0
        a.rel_odd = 0
        a.rel_even = 0
        a.cpr_odd_src = 0
        a.cpr_even_src = 0


@numba.njit(cache=True, nogil=True)
def _cpr_frame(a, odd: bool):  # type: ignore[no-untyped-def]
    """The aircraft's stored CPR frame of one parity: (lat, lon, t, src, surface, nic, seq)."""
    if odd:
        lat, lon, t = a.cpr_odd_lat, a.cpr_odd_lon, a.cpr_odd_t
        src, surf, nic, sq = a.cpr_odd_src, a.cpr_odd_surface, a.cpr_odd_nic, a.cpr_odd_seq
    else:
        lat, lon, t = a.cpr_even_lat, a.cpr_even_lon, a.cpr_even_t
        src, surf, nic, sq = a.cpr_even_src, a.cpr_even_surface, a.cpr_even_nic, a.cpr_even_seq
    return lat, lon, t, src, surf, nic, sq


@numba.njit(cache=True, nogil=True)
def _set_cpr_frame(a, odd: bool, frame) -> None:  # type: ignore[no-untyped-def]
    """Store ``frame`` (lat, lon, t, src, surface, nic, seq) as the aircraft's frame of one
    parity."""
    lat, lon, t, src, surf, nic, sq = frame
    if odd:
        a.cpr_odd_lat, a.cpr_odd_lon, a.cpr_odd_t = lat, lon, t
        a.cpr_odd_src, a.cpr_odd_surface, a.cpr_odd_nic, a.cpr_odd_seq = src, surf, nic, sq
    else:
        a.cpr_even_lat, a.cpr_even_lon, a.cpr_even_t = lat, lon, t
        a.cpr_even_src, a.cpr_even_surface, a.cpr_even_nic, a.cpr_even_seq = src, surf, nic, sq


@numba.njit(cache=True, nogil=True)
def _drop_cpr_frame(a, odd: bool) -> None:  # type: ignore[no-untyped-def]
    """Forget the stored frame of one parity (it will not be paired)."""
    if odd:
        a.cpr_odd_src = 0
    else:
        a.cpr_even_src = 0


@numba.njit(cache=True, nogil=True)
def _set_position(
    a,
    lat: float,
    lon: float,
    t: float,
    src: int,
    surface: bool,  # type: ignore[no-untyped-def]
    nic: int,
    rc: float,
    addr_type: int,
    json_reliable: int,
    ref: int,
) -> None:
    if a.gs_src > 0:
        a.gs_last_pos = a.gs
    a.lat = lat
    a.lon = lon
    a.pos_t = t
    a.pos_src = src
    a.pos_nic = nic
    a.pos_rc_m = rc
    a.pos_surface = 1 if surface else 0
    a.pos_ref = ref
    a.positions += 1
    a.addr_type = addr_type
    a.addr_type_t = t
    if src <= MLAT or (a.rel_odd >= json_reliable and a.rel_even >= json_reliable):
        a.lat_rel = lat
        a.lon_rel = lon
        a.rel_t = t


@numba.njit(cache=True, nogil=True)
def track_kernel(
    st,
    rows,
    t,
    src,
    addr_type,
    df,  # type: ignore[no-untyped-def]
    alt_baro,
    alt_geom,
    geo_diff,
    on_ground,
    squawk,
    callsign,
    category,
    emergency,
    emerg_flag,
    has_cpr,
    cpr_odd,
    cpr_lat,
    cpr_lon,
    surface,
    nic,
    rc,
    typecode,
    nic_b,
    nic_a_msg,
    nic_c_msg,
    nic_table,
    rc_table,
    gs,
    track,
    vrate,
    vrate_gnss,
    tas,
    ias,
    nac_p,
    sil,
    sil_type,
    version,
    nav_alt,
    nav_hdg,
    signal_dbfs,
    receiver,
    seq,
    direct_lat,
    direct_lon,
    rx_lat,
    rx_lon,
    row_rx_lat,
    row_rx_lon,
    ap_lat,
    ap_lon,
    ap_start,
    max_range_m,
    persistence,
    json_reliable,
    out_code,
    out_lat,
    out_lon,
    out_alt,
    out_gs,
    out_trk,
    out_vr,
    out_gnd,
    out_cs,
    out_ref,
    out_pair,
    out_sq,
    out_galt,
    out_nic,
    out_nacp,
    ev_idx,
    ev_kind,
):
    """Apply messages ``0..n-1`` to the records ``st[rows[i]]``. Returns the number of events.

    ``out_code``/``out_lat``/``out_lon`` receive the position outcome of each message;
    ``out_ref`` the reference (``REF_*``) of each accepted position; ``out_pair`` (set for
    accepted positions only) the ``seq`` of the other frame of an even/odd pair, else -1
    (``seq``: the caller's sequence number of each message, -1 unknown; empty: all unknown);
    ``ev_idx``/``ev_kind`` receive (message index, EV_* kind) of each event raised.
    ``ap_lat``/``ap_lon``/``ap_start``: the airport grid (``airports.AirportGrid``; empty to
    disable airport references).

    ``rx_lat``/``rx_lon``: the receiver position (degrees, NaN unknown); ``row_rx_lat`` /
    ``row_rx_lon``: per message, the position of the receiver that heard it (NaN: use
    ``rx_lat``/``rx_lon``; empty: none known), the reference for surface and receiver-relative
    positions and the range check.

    NIC and Rc of a CPR frame are readsb's: ``nic_table``/``rc_table`` indexed by [surface,
    type code, NIC-A, NIC-B (airborne, from the frame) or NIC-C (surface)], the supplements A
    and C from the aircraft's last operational status (``nic_a_msg``/``nic_c_msg``, -1 absent;
    0 while unknown); a frame without a type code keeps ``nic``/``rc`` as given.

    ``out_sq``/``out_galt``/``out_nic``/``out_nacp`` (accepted positions): the aircraft's squawk,
    GNSS altitude (ft, NaN when older than 60 s), the position's NIC and the aircraft's NACp
    (-1 unknown; NIC and NACp only for CPR positions: an MLAT fix has neither).
    """
    n = rows.shape[0]
    n_ev = 0
    per_row_rx = row_rx_lat.shape[0] > 0
    cand_lat = np.empty(8)
    cand_lon = np.empty(8)
    for i in range(n):
        r = rows[i]
        out_code[i] = NONE
        if r < 0:
            continue
        a = st[r]
        ti = t[i]
        s = src[i]
        if math.isnan(a.seen_t) or ti > a.seen_t:
            a.seen_t = ti
        a.messages += 1
        at = addr_type[i]
        if (
            math.isnan(a.addr_type_t)
            or (at <= a.addr_type and ti > a.addr_type_t + 30.0)
            or (at > a.addr_type and ti > a.addr_type_t + 90.0)
        ):
            a.addr_type = at
            a.addr_type_t = ti

        # signal, per receiver
        sig = signal_dbfs[i]
        if not math.isnan(sig):
            a.signal[a.signal_next] = math.exp(sig * _LN10_OVER_10)  # 10 ** (sig / 10)
            a.signal_next = (a.signal_next + 1) & 7
        rid = receiver[i]
        for k in range(a.rx_id.shape[0]):
            if a.rx_messages[k] == 0 or a.rx_id[k] == rid:
                a.rx_id[k] = rid
                a.rx_messages[k] += 1
                a.rx_t[k] = ti
                if not math.isnan(sig):
                    a.rx_dbfs[k] = sig
                break

        # the reference receiver: the one that heard this message, else the station's
        r_lat = rx_lat
        r_lon = rx_lon
        if per_row_rx and not math.isnan(row_rx_lat[i]):
            r_lat = row_rx_lat[i]
            r_lon = row_rx_lon[i]
        have_rx = not math.isnan(r_lat)

        # NIC supplements of the operational status, before the position they qualify
        if nic_a_msg[i] >= 0:
            a.nic_a = nic_a_msg[i]
        if nic_c_msg[i] >= 0:
            a.nic_c = nic_c_msg[i]

        # NIC and Rc of a CPR frame: its type code and NIC-B, the aircraft's NIC-A/C (readsb)
        mnic = nic[i]
        mrc = rc[i]
        tc = typecode[i]
        if has_cpr[i] and tc > 0 and tc < 32:
            k_s = 1 if surface[i] else 0
            k_bc = min(max(a.nic_c, 0) if surface[i] else max(nic_b[i], 0), 1)  # 1-bit fields
            k_a = min(max(a.nic_a, 0), 1)
            if nic_table[k_s, tc, k_a, k_bc] >= 0:
                mnic = nic_table[k_s, tc, k_a, k_bc]
                mrc = rc_table[k_s, tc, k_a, k_bc]

        # on-ground first: surface positions and the speed gate depend on it
        og = on_ground[i]
        if has_cpr[i] and surface[i]:
            og = 1
        elif has_cpr[i] and not surface[i] and s > MLAT:
            og = 0

        # ---------------- position ----------------
        code = NONE
        if not math.isnan(direct_lat[i]):
            lat = direct_lat[i]
            lon = direct_lon[i]
            if _bogus(lat, lon):
                code = REJ_BOGUS
            else:
                ok, ignore = _speed_check(a, lat, lon, ti, s, False, json_reliable)
                if not ok:
                    code = REJ_SPEED
                    if not ignore:
                        _position_bad(a, s)
                elif _accept(a.pos_t, a.pos_src, ti, s):
                    _set_position(
                        a, lat, lon, ti, s, og == 1, -1, rc[i], at, json_reliable, REF_MLAT
                    )
                    code = DIRECT
                    out_ref[i] = REF_MLAT
                    out_pair[i] = -1
                else:
                    code = SKIP_OLDER
            out_code[i] = code
            out_lat[i] = lat
            out_lon[i] = lon
            if code >= REJ_SPEED and code <= REJ_SURFACE_REF:
                continue
        elif has_cpr[i]:
            odd = cpr_odd[i] != 0
            surf = surface[i] != 0
            clat = cpr_lat[i]
            clon = cpr_lon[i]
            fseq = seq[i] if seq.shape[0] > 0 else -1
            gate = _gate_active(a, ti, s)  # a trusted position the frames must agree with
            # store the frame, keeping the one it replaces to restore it on bad data
            saved = _cpr_frame(a, odd)
            _set_cpr_frame(a, odd, (clat, clon, ti, s, 1 if surf else 0, mnic, fseq))
            other = _cpr_frame(a, not odd)
            o_t, o_src, o_surf = other[2], other[3], other[4]
            if surf:
                g = gs[i]
                max_elapsed = 50.0 if (not math.isnan(g) and g <= 25.0) else 25.0
            else:
                max_elapsed = 10.0
            lat = math.nan
            lon = math.nan
            ref_kind = 0
            result = -1  # -1: nothing decoded yet, -2: bad, -5: pair disagrees, >=0 accepted
            ignore = False
            suspect = False  # the pair failed with a trusted position: judge the new frame
            pair_lat = pair_lon = 0.0  # a surface pair's reference
            if clat == 0 and clon == 0:
                code = REJ_BOGUS
                result = -3
            elif (
                o_src > 0 and o_src == s and (o_surf == 1) == surf and abs(ti - o_t) <= max_elapsed
            ):
                status = 0
                ref_kind = REF_PAIR
                if surf:
                    if not math.isnan(a.rel_t):
                        ref_lat, ref_lon = a.lat_rel, a.lon_rel
                        ref_kind = REF_AIRCRAFT
                    elif have_rx:
                        ref_lat, ref_lon = r_lat, r_lon
                        ref_kind = REF_RECEIVER
                    else:
                        status = -9
                        ref_lat = ref_lon = math.nan
                        if ap_lat.shape[0] > 0:
                            # the one candidate at an airport, if exactly one is
                            nc = surface_candidates(
                                a.cpr_even_lat,
                                a.cpr_even_lon,
                                a.cpr_odd_lat,
                                a.cpr_odd_lon,
                                odd,
                                cand_lat,
                                cand_lon,
                            )
                            if nc < 0:
                                status = -1
                            else:
                                found = 0
                                for q in range(nc):
                                    if (
                                        nearest_airport(
                                            cand_lat[q],
                                            cand_lon[q],
                                            ap_lat,
                                            ap_lon,
                                            ap_start,
                                            AIRPORT_RADIUS_M,
                                        )
                                        >= 0
                                    ):
                                        found += 1
                                        ref_lat, ref_lon = cand_lat[q], cand_lon[q]
                                if found == 1:
                                    status = 0
                                    ref_kind = REF_AIRPORT
                                elif found > 1:
                                    status = -8
                    if status == 0:
                        pair_lat, pair_lon = ref_lat, ref_lon
                        lat, lon, status = surface_global(
                            a.cpr_even_lat,
                            a.cpr_even_lon,
                            a.cpr_odd_lat,
                            a.cpr_odd_lon,
                            odd,
                            ref_lat,
                            ref_lon,
                        )
                        if status == 0 and greatcircle_m(ref_lat, ref_lon, lat, lon) > 450e3:
                            status = -2
                            code = REJ_SURFACE_REF
                else:
                    lat, lon, status = airborne_global(
                        a.cpr_even_lat, a.cpr_even_lon, a.cpr_odd_lat, a.cpr_odd_lon, odd
                    )
                if status == -9:
                    code = SKIP_NO_REFERENCE
                elif status == -8:
                    code = SKIP_AIRPORT_AMBIGUOUS
                elif status == -1:
                    code = SKIP_ZONE
                    suspect = gate
                elif status == -2:
                    if code == NONE:
                        code = REJ_BOGUS
                    result = -2
                    suspect = gate
                elif _bogus(lat, lon):
                    code = REJ_BOGUS
                    result = -2
                    ignore = True
                    suspect = gate
                elif not gate and not _pair_consistent(a, surf, pair_lat, pair_lon, ti - o_t):
                    code = REJ_CONFLICT
                    result = -5
                elif (
                    have_rx
                    and max_range_m > 0.0
                    and greatcircle_m(r_lat, r_lon, lat, lon) > max_range_m
                ):
                    code = REJ_RANGE
                    result = -2
                    suspect = gate
                else:
                    ok, ignore = _speed_check(a, lat, lon, ti, s, surf, json_reliable)
                    if not ok:
                        code = REJ_SPEED
                        result = -2
                        suspect = True
                    elif _accept(a.pos_t, a.pos_src, ti, s):
                        result = GLOBAL
                        code = GLOBAL
                    else:
                        code = SKIP_OLDER
                        result = -4
                if suspect:
                    if _fits_track(a, clat, clon, odd, surf, ti, s, json_reliable):
                        if result == -2:
                            # the stored partner is the odd one out: forget it, decode alone
                            _drop_cpr_frame(a, not odd)
                            _conflict(a, ti, other[6])
                            code = NONE
                            result = -1
                            ignore = False
                    else:
                        code = REJ_CONFLICT
                        result = -2
                        _conflict(a, ti, fseq)
                        ignore = _trust_holds(a, ti)
            if result == -1:
                # local decode relative to the aircraft, or (airborne) to the receiver
                limit = 0.0
                have_ref = False
                if (
                    a.pos_src > 0
                    and a.rel_odd >= json_reliable
                    and a.rel_even >= json_reliable
                    and ti < a.pos_global_t + 600.0
                ):
                    ref_lat, ref_lon = a.lat, a.lon
                    limit = 100.0 * M_PER_NM
                    have_ref = True
                    ref_kind = REF_AIRCRAFT
                elif not surf and have_rx and max_range_m > 0.0 and max_range_m < 360.0 * M_PER_NM:
                    ref_lat, ref_lon = r_lat, r_lon
                    limit = (
                        max_range_m
                        if max_range_m <= 180.0 * M_PER_NM
                        else 360.0 * M_PER_NM - max_range_m
                    )
                    have_ref = True
                    ref_kind = REF_RECEIVER
                if have_ref:
                    lat, lon, status = local_position(clat, clon, odd, surf, ref_lat, ref_lon)
                    if status < 0 or greatcircle_m(ref_lat, ref_lon, lat, lon) > limit:
                        code = SKIP_LOCAL
                    elif _bogus(lat, lon):
                        code = REJ_BOGUS
                        result = -2
                        ignore = True
                    else:
                        ok, ignore = _speed_check(a, lat, lon, ti, s, surf, json_reliable)
                        if not ok:
                            # the gate applied: the frame disagrees with the trusted position
                            code = REJ_CONFLICT
                            result = -2
                            _conflict(a, ti, fseq)
                            ignore = ignore or _trust_holds(a, ti)
                        elif _accept(a.pos_t, a.pos_src, ti, s):
                            result = LOCAL
                            code = LOCAL
                        else:
                            code = SKIP_OLDER
                elif code == NONE:
                    code = SKIP_NO_REFERENCE
            out_code[i] = code
            out_lat[i] = lat
            out_lon[i] = lon
            if result == -5:
                # frames that cannot be one aircraft's, nothing trusted to tell which is right:
                # the new frame waits for a partner of its own
                _drop_cpr_frame(a, not odd)
                _conflict(a, ti, other[6])
                continue
            if result == -2 or result == -3:
                # bad data: restore the frame store, the rest of this message is not trusted
                _set_cpr_frame(a, odd, saved)
                if result == -2 and not ignore:
                    _position_bad(a, s)
                continue
            if result == GLOBAL:
                if a.rel_odd <= 0 or a.rel_even <= 0:
                    a.rel_odd = 1
                    a.rel_even = 1
                elif odd:
                    a.rel_odd = min(a.rel_odd + 1, persistence)
                else:
                    a.rel_even = min(a.rel_even + 1, persistence)
                a.pos_global_t = ti
                pnic = min(a.cpr_odd_nic, a.cpr_even_nic)
                _set_position(a, lat, lon, ti, s, surf, pnic, mrc, at, json_reliable, ref_kind)
                out_ref[i] = ref_kind
                out_pair[i] = other[6]
            elif result == LOCAL:
                _set_position(a, lat, lon, ti, s, surf, mnic, mrc, at, json_reliable, ref_kind)
                out_ref[i] = ref_kind
                out_pair[i] = -1

        # ---------------- other fields ----------------
        if og >= 0 and _accept(a.on_ground_t, a.on_ground_src, ti, s):
            a.on_ground = og
            a.on_ground_t = ti
            a.on_ground_src = s
        v = alt_baro[i]
        if not math.isnan(v) and _accept(a.alt_baro_t, a.alt_baro_src, ti, s):
            a.alt_baro = v
            a.alt_baro_t = ti
            a.alt_baro_src = s
        v = alt_geom[i]
        if (
            math.isnan(v)
            and not math.isnan(geo_diff[i])
            and a.alt_baro_src > 0
            and ti - a.alt_baro_t < _STALE_S
        ):
            v = a.alt_baro + geo_diff[i]
        if not math.isnan(v) and _accept(a.alt_geom_t, a.alt_geom_src, ti, s):
            a.alt_geom = v
            a.alt_geom_t = ti
            a.alt_geom_src = s
        v = gs[i]
        if not math.isnan(v) and _accept(a.gs_t, a.gs_src, ti, s):
            a.gs = v
            a.gs_t = ti
            a.gs_src = s
        v = track[i]
        if not math.isnan(v) and _accept(a.track_t, a.track_src, ti, s):
            a.track = v
            a.track_t = ti
            a.track_src = s
        v = vrate[i]
        if not math.isnan(v):
            if vrate_gnss[i]:
                if _accept(a.geom_rate_t, a.geom_rate_src, ti, s):
                    a.geom_rate = v
                    a.geom_rate_t = ti
                    a.geom_rate_src = s
            elif _accept(a.baro_rate_t, a.baro_rate_src, ti, s):
                a.baro_rate = v
                a.baro_rate_t = ti
                a.baro_rate_src = s
        v = tas[i]
        if not math.isnan(v) and _accept(a.tas_t, a.tas_src, ti, s):
            a.tas = v
            a.tas_t = ti
            a.tas_src = s
        v = ias[i]
        if not math.isnan(v) and _accept(a.ias_t, a.ias_src, ti, s):
            a.ias = v
            a.ias_t = ti
            a.ias_src = s
        iv = callsign[i]
        if iv >= 0 and _accept(a.callsign_t, a.callsign_src, ti, s):
            a.callsign = iv
            a.callsign_t = ti
            a.callsign_src = s
        iv = squawk[i]
        if iv >= 0 and _accept(a.squawk_t, a.squawk_src, ti, s):
            confirmed = a.squawk == iv and ti - a.squawk_t <= CONFIRM_S
            if iv == 7500 or iv == 7600 or iv == 7700:
                if confirmed and a.squawk_alert != iv and not _recent_conflict(a, ti):
                    ev_idx[n_ev] = i
                    ev_kind[n_ev] = EV_SQUAWK
                    n_ev += 1
                    a.squawk_alert = iv
            elif confirmed and a.squawk_alert >= 0:
                a.squawk_alert = -1
            a.squawk = iv
            a.squawk_t = ti
            a.squawk_src = s
        iv = emergency[i]
        if iv >= 0 and _accept(a.emergency_t, a.emergency_src, ti, s):
            confirmed = a.emergency == iv and ti - a.emergency_t <= CONFIRM_S
            if emerg_flag[iv]:
                if confirmed and a.emergency_alert != iv and not _recent_conflict(a, ti):
                    ev_idx[n_ev] = i
                    ev_kind[n_ev] = EV_EMERGENCY
                    n_ev += 1
                    a.emergency_alert = iv
            elif confirmed and a.emergency_alert >= 0:
                a.emergency_alert = -1
            a.emergency = iv
            a.emergency_t = ti
            a.emergency_src = s
        iv = category[i]
        if iv >= 0:
            a.category = iv
            a.category_t = ti
            a.category_src = s
        if has_cpr[i] and mnic >= 0 and _accept(a.nic_t, a.nic_src, ti, s):
            a.nic = mnic
            a.nic_t = ti
            a.nic_src = s
        iv = nac_p[i]
        if iv >= 0 and _accept(a.nac_p_t, a.nac_p_src, ti, s):
            a.nac_p = iv
            a.nac_p_t = ti
            a.nac_p_src = s
        iv = sil[i]
        if iv >= 0 and _accept(a.sil_t, a.sil_src, ti, s):
            a.sil = iv
            a.sil_t = ti
            a.sil_src = s
            if sil_type[i] >= 0:  # readsb: a known supplement replaces, "unknown" keeps
                a.sil_type = sil_type[i]
        iv = version[i]
        if iv >= 0:
            a.version = iv
            a.version_t = ti
            a.version_src = s
        v = nav_alt[i]
        if not math.isnan(v) and _accept(a.nav_alt_t, a.nav_alt_src, ti, s):
            a.nav_alt = v
            a.nav_alt_t = ti
            a.nav_alt_src = s
        v = nav_hdg[i]
        if not math.isnan(v) and _accept(a.nav_heading_t, a.nav_heading_src, ti, s):
            a.nav_heading = v
            a.nav_heading_t = ti
            a.nav_heading_src = s
        if code in (GLOBAL, LOCAL, DIRECT):
            out_alt[i] = a.alt_baro if ti - a.alt_baro_t <= _VALID_S else math.nan
            out_gs[i] = a.gs if ti - a.gs_t <= _VALID_S else math.nan
            out_trk[i] = a.track if ti - a.track_t <= _VALID_S else math.nan
            if ti - a.baro_rate_t <= _VALID_S:
                out_vr[i] = a.baro_rate
            elif ti - a.geom_rate_t <= _VALID_S:
                out_vr[i] = a.geom_rate
            else:
                out_vr[i] = math.nan
            out_gnd[i] = a.on_ground if ti - a.on_ground_t <= _VALID_S else -1
            out_cs[i] = a.callsign
            out_sq[i] = a.squawk if a.squawk_src > 0 else -1
            out_galt[i] = a.alt_geom if ti - a.alt_geom_t <= _VALID_S else math.nan
            if code != DIRECT:
                out_nic[i] = a.pos_nic
                out_nacp[i] = a.nac_p if a.nac_p_src > 0 else -1
    return n_ev


def empty_outputs(n: int) -> list[np.ndarray]:  # type: ignore[type-arg]
    """Output buffers for :func:`track_kernel` for ``n`` messages, in argument order."""
    return [
        np.zeros(n, np.int8),
        np.full(n, np.nan),
        np.full(n, np.nan),
        np.full(n, np.nan, np.float32),
        np.full(n, np.nan, np.float32),
        np.full(n, np.nan, np.float32),
        np.full(n, np.nan, np.float32),
        np.full(n, -1, np.int8),
        np.full(n, -1, np.int32),
        np.zeros(n, np.int8),
        np.empty(n, np.int64),
        np.full(n, -1, np.int16),
        np.full(n, np.nan, np.float32),
        np.full(n, -1, np.int8),
        np.full(n, -1, np.int8),
        np.zeros(n, np.int32),
        np.zeros(n, np.int8),
    ]
