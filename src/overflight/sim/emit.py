"""Transmissions: when each aircraft transmits what, and the frame bytes it sends.

:func:`transmissions` schedules every message of every aircraft over the scenario, evaluates the
aircraft's true state at each transmit time and encodes the frame with
:mod:`overflight.modes.encode` (CRC / address parity correct). The result is the truth table
(:class:`Transmissions`), one row per transmission, in transmit-time order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.modes import encode as enc
from overflight.modes.fields import CALLSIGN_CHARSET
from overflight.sim.geo import llh_to_ecef
from overflight.sim.scenario import Aircraft, Scenario

__all__ = [
    "KIND_NAMES",
    "Kind",
    "Transmissions",
    "bds20_mb",
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
)
"""Name of each :class:`Kind` value."""

_CONSTANT_KINDS = frozenset(
    {Kind.IDENTIFICATION, Kind.STATUS, Kind.ACQUISITION, Kind.DF5, Kind.DF21}
)
_KIND_DF = np.array([17, 17, 17, 17, 11, 4, 5, 20, 21], np.uint8)

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


def _schedule(
    ac: Aircraft, duration_s: float, rng: np.random.Generator
) -> tuple[F64, U8, npt.NDArray[np.bool_]]:
    """(times, kinds, odd flags) of one aircraft's transmissions, unsorted."""
    t0 = max(ac.start_s, 0.0)
    t1 = duration_s if ac.end_s is None else min(ac.end_s, duration_s)
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
    add(_periodic(rng, eq.acquisition_period_s, t0, t1), Kind.ACQUISITION)
    if eq.reply_rate_hz > 0 and t1 > t0:
        n = int(rng.poisson(eq.reply_rate_hz * (t1 - t0)))
        t = np.sort(rng.uniform(t0, t1, n))
        w = np.asarray(eq.reply_mix, np.float64)
        k = rng.choice(4, size=n, p=w / w.sum()) + Kind.DF4
        for kind in (Kind.DF4, Kind.DF5, Kind.DF20, Kind.DF21):
            add(t[k == kind], kind)
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
) -> bytes:
    icao = ac.address
    if kind == Kind.POSITION:
        return enc.encode_airborne_position(
            icao, lat, lon, alt_ft, odd, typecode=ac.equipage.position_typecode
        )
    if kind == Kind.VELOCITY:
        return enc.encode_velocity(icao, gs_kt, trk, vr_fpm)
    if kind == Kind.IDENTIFICATION:
        return enc.encode_identification(icao, ac.callsign, ac.category)
    if kind == Kind.STATUS:
        return enc.encode_operational_status(icao, version=2, nac_p=9, sil=3, nic_baro=1)
    if kind == Kind.ACQUISITION:
        return enc.encode_df11(icao, 5)
    if kind == Kind.DF4:
        return enc.encode_df4(icao, alt_ft)
    if kind == Kind.DF5:
        return enc.encode_df5(icao, ac.squawk)
    if kind == Kind.DF20:
        return enc.encode_df20(icao, alt_ft, mb20)
    return enc.encode_df21(icao, ac.squawk, mb20)


def transmissions(scenario: Scenario, rng: np.random.Generator) -> Transmissions:
    """Schedule, evaluate and encode every transmission of ``scenario`` (transmit-time order)."""
    cols: dict[str, list[npt.NDArray[np.generic]]] = {}
    frames: list[bytes] = []

    def put(name: str, v: npt.NDArray[np.generic]) -> None:
        cols.setdefault(name, []).append(v)

    for i, ac in enumerate(scenario.aircraft):
        t, kind, odd = _schedule(ac, scenario.duration_s, rng)
        order = np.argsort(t, kind="stable")
        t, kind, odd = t[order], kind[order], odd[order]
        h = ac.path.at(t)
        alt, vr = ac.altitude.at(t)
        mb20 = bds20_mb(ac.callsign)
        # Frames that do not depend on the aircraft's state are encoded once.
        constant: dict[int, bytes] = {}
        rows = zip(
            kind.tolist(), h.lat_deg.tolist(), h.lon_deg.tolist(), alt.tolist(),
            h.groundspeed_kt.tolist(), h.track_deg.tolist(), vr.tolist(), odd.tolist(),
            strict=True,
        )  # fmt: skip
        for k, la, lo, al, gs, trk, v, od in rows:
            if k in _CONSTANT_KINDS:
                f = constant.get(k)
                if f is None:
                    f = constant[k] = _encode_one(ac, k, la, lo, al, gs, trk, v, od, mb20)
                frames.append(f)
            else:
                frames.append(_encode_one(ac, k, la, lo, al, gs, trk, v, od, mb20))
        put("aircraft", np.full(t.size, i, np.int32))
        put("address", np.full(t.size, ac.address, np.uint32))
        put("t_s", t)
        put("kind", kind)
        put("odd", odd)
        put("lat_deg", h.lat_deg)
        put("lon_deg", h.lon_deg)
        put("altitude_ft", alt)
        put("height_m", (alt + ac.gnss_baro_diff_ft) * FT_TO_M)
        put("groundspeed_kt", h.groundspeed_kt)
        put("track_deg", h.track_deg)
        put("vertical_rate_fpm", vr)

    names = (
        "aircraft",
        "address",
        "t_s",
        "kind",
        "odd",
        "lat_deg",
        "lon_deg",
        "altitude_ft",
        "height_m",
        "groundspeed_kt",
        "track_deg",
        "vertical_rate_fpm",
    )
    dtypes = (np.int32, np.uint32, np.float64, np.uint8, bool) + (np.float64,) * 7
    c = {
        k: (np.concatenate(cols[k]) if k in cols else np.zeros(0, dt)).astype(dt)
        for k, dt in zip(names, dtypes, strict=True)
    }
    n = c["t_s"].size
    data = np.zeros((n, 14), np.uint8)
    lengths = np.zeros(n, np.uint8)
    for j, f in enumerate(frames):
        data[j, : len(f)] = np.frombuffer(f, np.uint8)
        lengths[j] = len(f)
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
    )
