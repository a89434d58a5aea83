"""Propagation: which receiver hears which transmission, when, how loud, with what timestamp.

Vectorised over transmissions x receivers. For each pair: slant range on the WGS84 ellipsoid (ECEF),
the excess delay of an exponential troposphere along the straight path, the radio horizon and
range limit, free-space path loss plus fading against the receiver's sensitivity, random loss,
and garbling (a frame starting while the receiver is still busy with another is lost). Times of
arrival go through each receiver's clock model to become counter ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.sim.emit import Transmissions
from overflight.sim.geo import SPEED_OF_LIGHT_M_S
from overflight.sim.receivers import SimReceiver, radio_horizon_m, signal_dbfs
from overflight.sim.scenario import Scenario

__all__ = [
    "REFRACTIVITY_SCALE_HEIGHT_M",
    "Receptions",
    "frame_duration_s",
    "path_excess_factor",
    "receptions",
]

REFRACTIVITY_SCALE_HEIGHT_M = 7_000.0
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_GL_S = (_GL_X + 1.0) / 2.0
_GL_W = _GL_W / 2.0
_CHUNK = 20_000

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Receptions:
    """Frames as heard, in arrival order (all arrays of length ``n``).

    Attributes:
        transmission: row of the truth table (:class:`~overflight.sim.emit.Transmissions`).
        receiver_index: index into ``scenario.receivers``; ``receiver_id`` its id.
        arrival_s: true time of arrival, seconds since the scenario start.
        distance_m: slant range at transmit time, metres.
        signal_dbfs: received level, dBFS.
        ticks: the receiver's timestamp (48-bit counter).
    """

    transmission: I64
    receiver_index: npt.NDArray[np.int32]
    receiver_id: npt.NDArray[np.uint64]
    arrival_s: F64
    distance_m: F64
    signal_dbfs: npt.NDArray[np.float32]
    ticks: npt.NDArray[np.uint64]

    def __len__(self) -> int:
        return int(self.arrival_s.shape[0])


@dataclass(slots=True)
class PropagationStats:
    """Pairs (transmission, receiver) dropped, by reason."""

    pairs: int = 0
    out_of_range: int = 0
    below_horizon: int = 0
    too_weak: int = 0
    lost: int = 0
    garbled: int = 0


def frame_duration_s(length_bytes: npt.ArrayLike) -> F64:
    """On-air duration of Mode S frames: 8 us preamble + 1 us per bit."""
    out: F64 = (8.0 + 8.0 * np.asarray(length_bytes, np.float64)) * 1e-6
    return out


def path_excess_factor(tx_m: F64, rx_m: F64, tx_height_m: F64, rx_height_m: F64, n0: float) -> F64:
    """Mean ``n - 1`` along straight paths ``rx -> tx`` (broadcast shapes ``(..., 3)``).

    ``N(h) = n0·exp(-h / 7 km)``; heights along the chord are the distance from the Earth's
    centre minus a surface radius interpolated between the two ends (so the chord's dip below
    the end heights is included). 8-point Gauss-Legendre over the path.
    """
    if n0 <= 0:
        return np.zeros(np.broadcast_shapes(tx_m.shape[:-1], rx_m.shape[:-1]))
    r_tx = np.linalg.norm(tx_m, axis=-1)
    r_rx = np.linalg.norm(rx_m, axis=-1)
    surf_tx = r_tx - tx_height_m
    surf_rx = r_rx - rx_height_m
    acc = np.zeros(np.broadcast_shapes(tx_m.shape[:-1], rx_m.shape[:-1]))
    for s, w in zip(_GL_S, _GL_W, strict=True):
        p = rx_m + (tx_m - rx_m) * s
        h = np.linalg.norm(p, axis=-1) - (surf_rx * (1.0 - s) + surf_tx * s)
        acc = acc + w * np.exp(-np.maximum(h, -500.0) / REFRACTIVITY_SCALE_HEIGHT_M)
    out: F64 = n0 * 1e-6 * acc
    return out


def _garbled(
    rx: npt.NDArray[np.int32], arrival_s: F64, length_bytes: npt.NDArray[np.uint8]
) -> npt.NDArray[np.bool_]:
    """True for frames starting while the same receiver still receives the previous frame."""
    order = np.lexsort((arrival_s, rx))
    r, t = rx[order], arrival_s[order]
    end = t + frame_duration_s(length_bytes[order])
    busy = np.zeros(r.size, bool)
    busy[1:] = (r[1:] == r[:-1]) & (t[1:] < end[:-1])
    out = np.zeros(r.size, bool)
    out[order] = busy
    return out


def receptions(
    scenario: Scenario, tx: Transmissions, rng: np.random.Generator
) -> tuple[Receptions, PropagationStats]:
    """Every (transmission, receiver) pair that is heard, sorted by true arrival time."""
    stats = PropagationStats()
    recs: tuple[SimReceiver, ...] = scenario.receivers
    m = len(recs)
    n = len(tx)
    if m == 0 or n == 0:
        return _empty(), stats
    rx_m = np.stack([r.ecef_m for r in recs])  # (m, 3)
    rx_h = np.array([r.height_m for r in recs])
    rx_agl = np.array([r.antenna_agl_m for r in recs])
    rx_ground = rx_h - rx_agl
    rng_lim = np.array([r.range_km * 1e3 for r in recs])
    gain = np.array([r.gain_db for r in recs])
    sens = np.array([r.sensitivity_dbfs for r in recs])
    loss_p = np.array([r.loss_probability for r in recs])
    range_loss = np.array([r.range_loss for r in recs])
    eirp = np.array([a.eirp_dbm for a in scenario.aircraft])[tx.aircraft]
    keep_t: list[I64] = []
    keep_r: list[npt.NDArray[np.int32]] = []
    arr: list[F64] = []
    dist: list[F64] = []
    sig: list[F64] = []
    for c0 in range(0, n, _CHUNK):
        sl = slice(c0, min(c0 + _CHUNK, n))
        p = tx.ecef_m[sl, None, :]  # (k, 1, 3)
        d = np.linalg.norm(p - rx_m[None], axis=-1)  # (k, m)
        excess = path_excess_factor(
            p, rx_m[None], tx.height_m[sl, None], rx_h[None], scenario.troposphere_n0
        )
        toa = tx.t_s[sl, None] + d * (1.0 + excess) / SPEED_OF_LIGHT_M_S
        in_range = d <= rng_lim[None]
        horizon = radio_horizon_m(rx_agl[None], tx.height_m[sl, None] - rx_ground[None])
        visible = d <= horizon
        level = signal_dbfs(d, eirp[sl, None], 0.0) + gain[None]
        if scenario.fading_db > 0:
            level = level + rng.normal(0.0, scenario.fading_db, level.shape)
        level = np.minimum(level, 0.0)
        strong = level >= sens[None]
        p_loss = loss_p[None]
        if range_loss.any():
            p_loss = p_loss + (1.0 - p_loss) * range_loss[None] * np.minimum(
                d / rng_lim[None], 1.0
            ) ** 2
        lost = rng.random(level.shape) < p_loss
        ok = in_range & visible & strong & ~lost
        stats.pairs += d.size
        stats.out_of_range += int((~in_range).sum())
        stats.below_horizon += int((in_range & ~visible).sum())
        stats.too_weak += int((in_range & visible & ~strong).sum())
        stats.lost += int((in_range & visible & strong & lost).sum())
        ti, ri = np.nonzero(ok)
        keep_t.append(ti.astype(np.int64) + c0)
        keep_r.append(ri.astype(np.int32))
        arr.append(toa[ti, ri])
        dist.append(d[ti, ri])
        sig.append(level[ti, ri])
    t_idx = np.concatenate(keep_t)
    r_idx = np.concatenate(keep_r)
    arrival = np.concatenate(arr)
    distance = np.concatenate(dist)
    level_all = np.concatenate(sig)
    if scenario.garble and t_idx.size:
        g = _garbled(r_idx, arrival, tx.length_bytes[t_idx])
        stats.garbled = int(g.sum())
        sel = ~g
        t_idx, r_idx, arrival = t_idx[sel], r_idx[sel], arrival[sel]
        distance, level_all = distance[sel], level_all[sel]
    order = np.lexsort((r_idx, arrival))
    t_idx, r_idx, arrival = t_idx[order], r_idx[order], arrival[order]
    distance, level_all = distance[order], level_all[order]
    ticks = np.zeros(t_idx.size, np.uint64)
    start_ns = scenario.start_ns
    for j, r in enumerate(recs):
        rows = np.flatnonzero(r_idx == j)
        ticks[rows] = r.clock.ticks(arrival[rows], start_ns, rng)
    ids = np.array([r.receiver_id for r in recs], np.uint64)
    return Receptions(
        transmission=t_idx,
        receiver_index=r_idx,
        receiver_id=ids[r_idx],
        arrival_s=arrival,
        distance_m=distance,
        signal_dbfs=level_all.astype(np.float32),
        ticks=ticks,
    ), stats


def _empty() -> Receptions:
    return Receptions(
        np.zeros(0, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.uint64),
        np.zeros(0),
        np.zeros(0),
        np.zeros(0, np.float32),
        np.zeros(0, np.uint64),
    )
