"""Transmissions: when each aircraft transmits what, and the frame bytes it sends.

:func:`transmissions` schedules every message of every aircraft over the scenario, evaluates the
aircraft's true state at each transmit time and encodes the frame with
:mod:`overflight.modes.encode` (CRC / address parity correct). The result is the truth table
(:class:`Transmissions`), one row per transmission, in transmit-time order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from overflight.modes import encode as enc
from overflight.modes.fields import CALLSIGN_CHARSET
from overflight.sim.geo import llh_to_ecef
from overflight.sim.profile import Trajectory
from overflight.sim.scenario import Aircraft, Scenario

__all__ = [
    "KIND_NAMES",
    "STATIONARY_KT",
    "Kind",
    "Transmissions",
    "active_interval",
    "bds20_mb",
    "in_windows",
    "state_at",
    "transmissions",
]

FT_TO_M = 0.3048


class Kind:
    """Message kinds (values of :attr:`Transmissions.kind`)."""

    IDENTIFICATION = 0
    POSITION = 1
    VELOCITY = 2
    STATUS = 3
    ACQUISITION = 4
    DF4 = 5
    DF5 = 6
    DF20 = 7
    DF21 = 8
    SURFACE_POSITION = 9


KIND_NAMES: tuple[str, ...] = (
    "identification",
    "position",
    "velocity",
    "status",
    "acquisition",
    "df4",
    "df5",
    "df20",
    "df21",
    "surface_position",
)
"""Name of each :class:`Kind` value."""

_CONSTANT_KINDS = frozenset(
    {Kind.IDENTIFICATION, Kind.STATUS, Kind.ACQUISITION, Kind.DF5, Kind.DF21}
)
_KIND_DF = np.array([17, 17, 17, 17, 11, 4, 5, 20, 21, 17], np.uint8)
_ADSB_KINDS = np.array([True, True, True, True, False, False, False, False, False, True])
STATIONARY_KT = 1.0
"""On the ground below this ground speed a transponder is stationary (low surface rates)."""

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Transmissions:
    """The truth table: one row per transmission (all arrays of length ``n``).

    Attributes:
        aircraft: index into ``scenario.aircraft``.
        address: 24-bit address.
        t_s: transmit time, seconds since the scenario start.
        transmit_time_ns: transmit time, UTC epoch nanoseconds (exact).
        kind: :class:`Kind` value; ``df`` the downlink format.
        data: ``(n, 14)`` frame bytes, left-aligned; ``length_bytes`` 7 or 14.
        lat_deg, lon_deg: true position; ``altitude_ft`` barometric; ``height_m`` geometric
            (WGS84 ellipsoidal) height used for propagation.
        groundspeed_kt, track_deg, vertical_rate_fpm: true velocity.
        odd: CPR format of position messages (False elsewhere).
        ecef_m: ``(n, 3)`` true antenna position at transmit time, metres.
        on_ground: the aircraft was on the ground (surface messages, CA 4, FS 1).
    """

    aircraft: npt.NDArray[np.int32]
    address: npt.NDArray[np.uint32]
    t_s: F64
    transmit_time_ns: I64
    kind: U8
    df: U8
    data: U8
    length_bytes: U8
    lat_deg: F64
    lon_deg: F64
    altitude_ft: F64
    height_m: F64
    groundspeed_kt: F64
    track_deg: F64
    vertical_rate_fpm: F64
    odd: npt.NDArray[np.bool_]
    ecef_m: F64
    on_ground: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def frame_bytes(self, i: int) -> bytes:
        """Frame bytes of transmission ``i``."""
        return bytes(self.data[i, : int(self.length_bytes[i])])

    def icao24(self, i: int) -> str:
        """Address of transmission ``i`` as 6 lowercase hex digits."""
        return f"{int(self.address[i]):06x}"


def bds20_mb(callsign: str) -> int:
    """56-bit Comm-B MB of BDS 2,0 (aircraft identification) for ``callsign`` (0 when empty)."""
    if not callsign:
        return 0
    chars = 0
    for ch in callsign.upper().ljust(8):
        idx = CALLSIGN_CHARSET.find(ch)
        if idx <= 0 or ch == "#":
            raise ValueError(f"character {ch!r} not in the callsign alphabet")
        chars = (chars << 6) | idx
    return (0x20 << 48) | chars


def _periodic(rng: np.random.Generator, period_s: float, t0: float, t1: float) -> F64:
    """Times in [t0, t1) spaced by U(0.8, 1.2) x period, with a random first phase."""
    if period_s <= 0 or t1 <= t0:
        return np.zeros(0)
    n = math.ceil((t1 - t0) / (0.8 * period_s)) + 2
    gaps = rng.uniform(0.8 * period_s, 1.2 * period_s, n)
    t = t0 + rng.uniform(0.0, period_s) + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    out: F64 = t[t < t1]
    return out


def in_windows(t: F64, windows: tuple[tuple[float, float], ...]) -> npt.NDArray[np.bool_]:
    """True where ``t`` lies in one of the [start, end) windows."""
    out = np.zeros(t.shape, bool)
    for a, b in windows:
        out |= (t >= a) & (t < b)
    return out


def _schedule(
    ac: Aircraft, t0: float, t1: float, rng: np.random.Generator, surface: bool = False
) -> tuple[F64, U8, npt.NDArray[np.bool_]]:
    """(times, kinds, odd flags) of one aircraft's transmissions in [t0, t1), unsorted.

    With ``surface`` (an aircraft that can be on the ground) the stationary-surface streams
    (position every 5 s, identification every 10 s, status every 5 s) are scheduled too; the
    caller keeps each stream only where the aircraft's state calls for it.
    """
    eq = ac.equipage
    times: list[F64] = []
    kinds: list[U8] = []
    odds: list[npt.NDArray[np.bool_]] = []

    def add(t: F64, kind: int, odd: npt.NDArray[np.bool_] | None = None) -> None:
        times.append(t)
        kinds.append(np.full(t.size, kind, np.uint8))
        odds.append(np.zeros(t.size, bool) if odd is None else odd)

    if eq.adsb:
        pos = _periodic(rng, eq.position_period_s, t0, t1)
        first_odd = int(rng.integers(0, 2))
        add(pos, Kind.POSITION, ((np.arange(pos.size) + first_odd) & 1).astype(bool))
        add(_periodic(rng, eq.velocity_period_s, t0, t1), Kind.VELOCITY)
        if ac.callsign:
            add(_periodic(rng, eq.identification_period_s, t0, t1), Kind.IDENTIFICATION)
        add(_periodic(rng, eq.status_period_s, t0, t1), Kind.STATUS)
        if surface:  # low-rate streams of a stationary aircraft (DO-260B 2.2.3.3.1.4)
            add(_periodic(rng, 5.0, t0, t1), Kind.SURFACE_POSITION | 0x80)
            if ac.callsign:
                add(_periodic(rng, 10.0, t0, t1), Kind.IDENTIFICATION | 0x80)
            add(_periodic(rng, 5.0, t0, t1), Kind.STATUS | 0x80)
    add(_periodic(rng, eq.acquisition_period_s, t0, t1), Kind.ACQUISITION)
    if eq.reply_rate_hz > 0 and t1 > t0:
        n = int(rng.poisson(eq.reply_rate_hz * (t1 - t0)))
        t = np.sort(rng.uniform(t0, t1, n))
        w = np.asarray(eq.reply_mix, np.float64)
        k = rng.choice(4, size=n, p=w / w.sum()) + Kind.DF4
        for kind in (Kind.DF4, Kind.DF5, Kind.DF20, Kind.DF21):
            add(t[k == kind], kind)
    if not times:
        return np.zeros(0), np.zeros(0, np.uint8), np.zeros(0, bool)
    return np.concatenate(times), np.concatenate(kinds), np.concatenate(odds)


def _encode_one(
    ac: Aircraft,
    kind: int,
    lat: float,
    lon: float,
    alt_ft: float,
    gs_kt: float,
    trk: float,
    vr_fpm: float,
    odd: bool,
    mb20: int,
    ground: bool = False,
) -> bytes:
    icao = ac.address
    ca = 4 if ground else 5
    fs = 1 if ground else 0
    if kind == Kind.POSITION:
        return enc.encode_airborne_position(
            icao, lat, lon, alt_ft, odd, typecode=ac.equipage.position_typecode
        )
    if kind == Kind.SURFACE_POSITION:
        return enc.encode_surface_position(icao, lat, lon, gs_kt, trk, odd, capability=ca)
    if kind == Kind.VELOCITY:
        return enc.encode_velocity(icao, gs_kt, trk, vr_fpm)
    if kind == Kind.IDENTIFICATION:
        return enc.encode_identification(icao, ac.callsign, ac.category, capability=ca)
    if kind == Kind.STATUS:
        return enc.encode_operational_status(
            icao, version=2, nac_p=9, sil=3, nic_baro=1, surface=ground, capability=ca
        )
    if kind == Kind.ACQUISITION:
        return enc.encode_df11(icao, ca)
    if kind == Kind.DF4:
        return enc.encode_df4(icao, alt_ft, flight_status=fs)
    if kind == Kind.DF5:
        return enc.encode_df5(icao, ac.squawk, flight_status=fs)
    if kind == Kind.DF20:
        return enc.encode_df20(icao, alt_ft, mb20, flight_status=fs)
    return enc.encode_df21(icao, ac.squawk, mb20, flight_status=fs)


def state_at(
    ac: Aircraft, t: F64
) -> tuple[F64, F64, F64, F64, F64, F64, npt.NDArray[np.bool_]]:
    """True state of ``ac`` at times ``t`` (seconds since the scenario start): (lat deg, lon deg,
    barometric altitude ft, ground speed kt, track deg, vertical rate ft/min, on the ground)."""
    h = ac.path.at(t)
    if isinstance(ac.path, Trajectory):
        alt, vr = ac.path.altitude_at(t)
        ground = ac.path.ground_at(t)
    else:
        assert ac.altitude is not None
        alt, vr = ac.altitude.at(t)
        ground = np.zeros(t.shape, bool)
    return h.lat_deg, h.lon_deg, alt, h.groundspeed_kt, h.track_deg, vr, ground


def _aircraft_rows(
    ac: Aircraft, intervals: list[tuple[float, float]], rng: np.random.Generator
) -> tuple[F64, U8, npt.NDArray[np.bool_], tuple[F64, ...], npt.NDArray[np.bool_]]:
    """Scheduled transmissions of one aircraft over ``intervals``, in time order, with the
    state at each: (t, kind, odd, (lat, lon, alt, gs, trk, vr), ground)."""
    surface = isinstance(ac.path, Trajectory)
    parts = [_schedule(ac, a, b, rng, surface) for a, b in intervals if b > a]
    if parts:
        t = np.concatenate([p[0] for p in parts])
        kind = np.concatenate([p[1] for p in parts])
        odd = np.concatenate([p[2] for p in parts])
    else:
        t, kind, odd = np.zeros(0), np.zeros(0, np.uint8), np.zeros(0, bool)
    order = np.argsort(t, kind="stable")
    t, kind, odd = t[order], kind[order], odd[order]
    lat, lon, alt, gs, trk, vr, ground = state_at(ac, t)
    if surface:
        low = (kind & 0x80) != 0
        base = kind & 0x7F
        stationary = ground & (gs < STATIONARY_KT)
        keep = np.where(low, stationary, ~stationary)
        keep &= ~(ground & (base == Kind.VELOCITY))  # no airborne velocity on the ground
        pos = (base == Kind.POSITION) | (base == Kind.SURFACE_POSITION)
        base = np.where(pos, np.where(ground, Kind.SURFACE_POSITION, Kind.POSITION), base)
        kind = base.astype(np.uint8)
        sel = np.flatnonzero(keep)
        t, kind, ground = t[sel], kind[sel], ground[sel]
        lat, lon, alt, gs, trk, vr = lat[sel], lon[sel], alt[sel], gs[sel], trk[sel], vr[sel]
        posn = np.flatnonzero((kind == Kind.POSITION) | (kind == Kind.SURFACE_POSITION))
        odd = np.zeros(t.size, bool)
        odd[posn] = ((np.arange(posn.size) + int(rng.integers(0, 2))) & 1).astype(bool)
    if ac.adsb_off:
        keep = ~(_ADSB_KINDS[kind] & in_windows(t, ac.adsb_off))
        sel = np.flatnonzero(keep)
        t, kind, odd, ground = t[sel], kind[sel], odd[sel], ground[sel]
        lat, lon, alt, gs, trk, vr = lat[sel], lon[sel], alt[sel], gs[sel], trk[sel], vr[sel]
    return t, kind, odd, (lat, lon, alt, gs, trk, vr), ground


def active_interval(ac: Aircraft, t0: float, t1: float) -> tuple[float, float]:
    """The part of [t0, t1) in which ``ac`` has its transponder on (before off windows)."""
    a = max(ac.start_s, t0)
    b = t1 if ac.end_s is None else min(ac.end_s, t1)
    if isinstance(ac.path, Trajectory):
        a, b = max(a, ac.path.start_s), min(b, ac.path.end_s)
    return a, b


def _subtract(
    intervals: list[tuple[float, float]], windows: tuple[tuple[float, float], ...]
) -> list[tuple[float, float]]:
    out = intervals
    for wa, wb in windows:
        nxt: list[tuple[float, float]] = []
        for a, b in out:
            if wb <= a or wa >= b:
                nxt.append((a, b))
                continue
            if wa > a:
                nxt.append((a, wa))
            if wb < b:
                nxt.append((wb, b))
        out = nxt
    return out


def transmissions(
    scenario: Scenario,
    rng: np.random.Generator,
    *,
    t0_s: float = 0.0,
    t1_s: float | None = None,
    intervals: dict[int, list[tuple[float, float]]] | None = None,
) -> Transmissions:
    """Schedule, evaluate and encode every transmission of ``scenario`` in [t0_s, t1_s)
    (default: the whole scenario), in transmit-time order.

    ``intervals``: per aircraft index, the only intervals to transmit in (the streaming
    simulator passes the ones some receiver can hear); aircraft absent from it transmit over
    their whole active interval. Transponder-off windows are always removed.
    """
    t1 = scenario.duration_s if t1_s is None else t1_s
    cols: dict[str, list[npt.NDArray[np.generic]]] = {}
    frames: list[bytes] = []

    def put(name: str, v: npt.NDArray[np.generic]) -> None:
        cols.setdefault(name, []).append(v)

    for i, ac in enumerate(scenario.aircraft):
        if intervals is not None and i in intervals:
            spans = intervals[i]
        else:
            spans = [active_interval(ac, t0_s, t1)]
        spans = _subtract(spans, ac.transponder_off)
        spans = [(a, b) for a, b in spans if b > a]
        if not spans:
            continue
        t, kind, odd, state, ground = _aircraft_rows(ac, spans, rng)
        lat, lon, alt, gs, trk, vr = state
        mb20 = bds20_mb(ac.callsign)
        # Frames that do not depend on the aircraft's state are encoded once; velocities
        # and altitude replies are cached on their quantised values (cruise repeats them).
        constant: dict[tuple[int, bool], bytes] = {}
        cache: dict[tuple[int, bool, int, int, int], bytes] = {}
        rows = zip(
            kind.tolist(), lat.tolist(), lon.tolist(), alt.tolist(), gs.tolist(), trk.tolist(),
            vr.tolist(), odd.tolist(), ground.tolist(), strict=True,
        )  # fmt: skip
        for k, la, lo, al, g, tr, v, od, gr in rows:
            if k in _CONSTANT_KINDS:
                f = constant.get((k, gr))
                if f is None:
                    f = constant[(k, gr)] = _encode_one(ac, k, la, lo, al, g, tr, v, od, mb20, gr)
            elif k in (Kind.DF4, Kind.DF20, Kind.VELOCITY):
                vel = round(tr * 20.0) + 7200 * round(v / 32.0)
                key = (k, gr, round(al / 25.0), round(g * 4.0), vel)
                f = cache.get(key)
                if f is None:
                    if len(cache) > 4096:
                        cache.clear()
                    f = cache[key] = _encode_one(ac, k, la, lo, al, g, tr, v, od, mb20, gr)
            else:
                f = _encode_one(ac, k, la, lo, al, g, tr, v, od, mb20, gr)
            frames.append(f)
        put("aircraft", np.full(t.size, i, np.int32))
        put("address", np.full(t.size, ac.address, np.uint32))
        put("t_s", t)
        put("kind", kind)
        put("odd", odd)
        put("on_ground", ground)
        put("lat_deg", lat)
        put("lon_deg", lon)
        put("altitude_ft", alt)
        put("height_m", (alt + ac.gnss_baro_diff_ft) * FT_TO_M)
        put("groundspeed_kt", gs)
        put("track_deg", trk)
        put("vertical_rate_fpm", vr)

    names = (
        "aircraft",
        "address",
        "t_s",
        "kind",
        "odd",
        "on_ground",
        "lat_deg",
        "lon_deg",
        "altitude_ft",
        "height_m",
        "groundspeed_kt",
        "track_deg",
        "vertical_rate_fpm",
    )
    dtypes = (np.int32, np.uint32, np.float64, np.uint8, bool, bool) + (np.float64,) * 7
    c = {
        k: (np.concatenate(cols[k]) if k in cols else np.zeros(0, dt)).astype(dt)
        for k, dt in zip(names, dtypes, strict=True)
    }
    n = c["t_s"].size
    data = np.zeros((n, 14), np.uint8)
    lengths = np.zeros(n, np.uint8)
    if frames:
        lengths[:] = [len(f) for f in frames]
        long_ = lengths == 14
        buf = np.frombuffer(b"".join(frames), np.uint8)
        starts = np.concatenate([[0], np.cumsum(lengths[:-1].astype(np.int64))])
        idx = starts[:, None] + np.arange(14)[None, :]
        mask = np.arange(14)[None, :] < lengths[:, None]
        data[mask] = buf[idx[mask]]
        del long_
    order = np.argsort(c["t_s"], kind="stable")
    c = {k: v[order] for k, v in c.items()}
    data, lengths = data[order], lengths[order]
    t_ns = np.int64(scenario.start_ns) + np.rint(c["t_s"] * 1e9).astype(np.int64)
    return Transmissions(
        aircraft=c["aircraft"],
        address=c["address"],
        t_s=c["t_s"],
        transmit_time_ns=t_ns,
        kind=c["kind"],
        df=_KIND_DF[c["kind"]],
        data=data,
        length_bytes=lengths,
        lat_deg=c["lat_deg"],
        lon_deg=c["lon_deg"],
        altitude_ft=c["altitude_ft"],
        height_m=c["height_m"],
        groundspeed_kt=c["groundspeed_kt"],
        track_deg=c["track_deg"],
        vertical_rate_fpm=c["vertical_rate_fpm"],
        odd=c["odd"],
        ecef_m=llh_to_ecef(c["lat_deg"], c["lon_deg"], c["height_m"]).reshape(n, 3),
        on_ground=c["on_ground"],
    )
