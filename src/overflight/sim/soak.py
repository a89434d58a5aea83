"""Many aircraft coming and going: a plain, reproducible traffic stream for soaks and benchmarks.

Unlike the receiver simulation (:mod:`overflight.sim.simulate`), no radio is modelled: each
aircraft flies a straight great-circle-free line (small steps in latitude and longitude) at a
fixed altitude for ``lifetime_s`` and transmits an even and an odd airborne position every
``position_every_s`` seconds and its identification every ``ident_every_s`` seconds, encoded by
:mod:`overflight.modes.encode`. Frames come out in time order as :class:`FrameBatch` es of
``batch_s`` seconds, which is what a live feed looks like after the station's batching.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from overflight.frames import FRAME_WIDTH_BYTES, FrameBatch
from overflight.modes.encode import encode_airborne_position, encode_identification

__all__ = ["SoakScenario", "soak_batches"]


@dataclass(frozen=True, slots=True)
class SoakScenario:
    """``aircraft`` aircraft, the i-th appearing at ``start_s + i * spacing_s`` for
    ``lifetime_s`` seconds (so about ``lifetime_s / spacing_s`` are airborne at once).

    Attributes are in seconds; ``first_address`` is the first 24-bit address (the others follow).
    """

    aircraft: int = 2000
    duration_s: float = 6 * 3600.0
    lifetime_s: float = 2700.0
    position_every_s: float = 30.0
    ident_every_s: float = 300.0
    start_s: float = 1_700_000_000.0
    first_address: int = 0x3C0000
    seed: int = 1

    @property
    def spacing_s(self) -> float:
        """Seconds between two aircraft's first transmissions."""
        return max(self.duration_s - self.lifetime_s, 1.0) / max(self.aircraft - 1, 1)

    def appears_s(self) -> npt.NDArray[np.float64]:
        """First transmission time of each aircraft (epoch s)."""
        return np.asarray(self.start_s + np.arange(self.aircraft) * self.spacing_s, np.float64)

    def live_at(self, t_s: float, window_s: float = 60.0) -> int:
        """Aircraft that sent a position in the ``window_s`` seconds up to ``t_s``."""
        a = self.appears_s()
        last = a + np.floor(self.lifetime_s / self.position_every_s) * self.position_every_s
        return int(np.count_nonzero((a <= t_s) & (np.minimum(last, t_s) > t_s - window_s)))

    def frames(self) -> int:
        """Frames the scenario sends in all."""
        per_pos = int(np.floor(self.lifetime_s / self.position_every_s)) + 1
        per_id = int(np.floor(self.lifetime_s / self.ident_every_s)) + 1
        return self.aircraft * (2 * per_pos + per_id)


def _rows(
    sc: SoakScenario,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every transmission in time order: (time, aircraft, kind); kinds: 0 even, 1 odd, 2 ident."""
    appears = sc.appears_s()
    n_pos = int(np.floor(sc.lifetime_s / sc.position_every_s)) + 1
    n_id = int(np.floor(sc.lifetime_s / sc.ident_every_s)) + 1
    ac = np.arange(sc.aircraft)
    kp = np.arange(n_pos)
    ki = np.arange(n_id)
    t_even = appears[:, None] + kp[None, :] * sc.position_every_s
    t_odd = t_even + 0.5
    t_id = appears[:, None] + ki[None, :] * sc.ident_every_s + 0.25
    times = np.concatenate([t_even.ravel(), t_odd.ravel(), t_id.ravel()])
    who = np.concatenate([np.repeat(ac, n_pos), np.repeat(ac, n_pos), np.repeat(ac, n_id)])
    kind = np.concatenate([
        np.zeros(ac.size * n_pos, np.int64), np.ones(ac.size * n_pos, np.int64),
        np.full(ac.size * n_id, 2, np.int64),
    ])
    order = np.argsort(times, kind="stable")
    return times[order], who[order], kind[order]


def soak_batches(sc: SoakScenario, batch_s: float = 10.0) -> Iterator[FrameBatch]:
    """The scenario's frames in time order, ``batch_s`` seconds a batch."""
    rng = np.random.default_rng(sc.seed)
    appears = sc.appears_s()
    lat0 = rng.uniform(35.0, 60.0, sc.aircraft)
    lon0 = rng.uniform(-10.0, 30.0, sc.aircraft)
    heading = rng.uniform(0.0, 2 * np.pi, sc.aircraft)
    alt = np.round(rng.uniform(100.0, 400.0, sc.aircraft)) * 100.0
    speed_deg_s = 230.0 / 111_320.0  # about 450 kt
    dlat = speed_deg_s * np.cos(heading)
    dlon = speed_deg_s * np.sin(heading) / np.cos(np.radians(lat0))
    times, who, kinds = _rows(sc)
    edges = np.floor((times - times[0]) / batch_s).astype(np.int64)
    cuts = np.flatnonzero(np.diff(edges)) + 1
    bounds = [0, *cuts.tolist(), times.size]
    for a, b in itertools.pairwise(bounds):
        data = np.zeros((b - a, FRAME_WIDTH_BYTES), np.uint8)
        for j, i, kind in zip(range(a, b), who[a:b].tolist(), kinds[a:b].tolist(), strict=True):
            addr = sc.first_address + i
            if kind == 2:
                frame = encode_identification(addr, f"SOAK{i:04d}", "A3")
            else:
                dt = times[j] - appears[i]
                frame = encode_airborne_position(
                    addr, float(lat0[i] + dlat[i] * dt), float(lon0[i] + dlon[i] * dt),
                    float(alt[i]), bool(kind),
                )
            data[j - a, :] = np.frombuffer(frame, np.uint8)
        yield FrameBatch.from_columns(data, time_s=times[a:b], receiver=1)
