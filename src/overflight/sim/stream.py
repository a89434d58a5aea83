"""Long scenarios in time windows: bounded memory, and no work where nobody listens.

:func:`simulate_stream` cuts ``[from_s, to_s)`` into windows of ``window_s`` seconds and yields
one :class:`~overflight.sim.result.SimResult` per window (frames in arrival order within it).
In each window every aircraft's position is first evaluated on a coarse grid
(:data:`AUDIBLE_STEP_S`); transmissions are scheduled, encoded and propagated only in the grid
cells where some receiver could hear it (radio horizon of both heights and range, with a margin
for the distance flown in a cell), so three days with a transoceanic crossing cost what the
minutes near receivers cost. Background flights (:mod:`overflight.sim.background`) are planned
up front as cheap descriptions and turned into trajectories only while they fly.

Every window draws from its own random stream (``SeedSequence([seed, window])``), so a window
is reproducible on its own (``--from``/``--to`` give the same frames as the whole run there,
up to the periodic phases at the window edges).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from overflight.frames import FrameBatch
from overflight.sim.emit import active_interval, state_at, transmissions
from overflight.sim.geo import llh_to_ecef
from overflight.sim.propagate import receptions
from overflight.sim.receivers import radio_horizon_m
from overflight.sim.result import SimResult
from overflight.sim.scenario import Aircraft, Scenario

if TYPE_CHECKING:
    from overflight.sim.background import Background

__all__ = ["AUDIBLE_STEP_S", "WindowStats", "audible_intervals", "simulate_stream"]

AUDIBLE_STEP_S = 20.0
_MARGIN_M = 15_000.0
F64 = npt.NDArray[np.float64]


def audible_intervals(
    scenario: Scenario, ac: Aircraft, t0: float, t1: float, step_s: float = AUDIBLE_STEP_S
) -> list[tuple[float, float]]:
    """Parts of [t0, t1) in which some receiver may hear ``ac`` (whole active interval when
    the scenario has no receivers)."""
    a, b = active_interval(ac, t0, t1)
    if b <= a:
        return []
    if not scenario.receivers:
        return [(a, b)]
    grid = np.arange(a, b, step_s) + step_s / 2.0
    if grid.size == 0:
        grid = np.array([(a + b) / 2.0])
    lat, lon, alt, gs, _trk, _vr, _g = state_at(ac, grid)
    h = (alt + ac.gnss_baro_diff_ft) * 0.3048
    p = llh_to_ecef(lat, lon, h).reshape(-1, 3)
    rx = np.stack([r.ecef_m for r in scenario.receivers])
    ground = np.array([r.height_m - r.antenna_agl_m for r in scenario.receivers])
    agl = np.array([r.antenna_agl_m for r in scenario.receivers])
    limit = np.minimum(
        np.array([r.range_km * 1e3 for r in scenario.receivers])[None],
        radio_horizon_m(agl[None], h[:, None] - ground[None]),
    )
    d = np.linalg.norm(p[:, None, :] - rx[None], axis=-1)
    margin = _MARGIN_M + np.maximum(gs, 300.0)[:, None] * 0.5144 * step_s
    ok = (d <= limit + margin).any(axis=1)
    out: list[tuple[float, float]] = []
    for i in np.flatnonzero(ok):
        lo = max(float(grid[i]) - step_s / 2.0, a)
        hi = min(float(grid[i]) + step_s / 2.0, b)
        if out and lo <= out[-1][1] + 1e-9:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


@dataclass(slots=True)
class WindowStats:
    """Running totals of a streamed simulation."""

    windows: int = 0
    transmissions: int = 0
    frames: int = 0
    audible_s: float = 0.0
    active_s: float = 0.0


def simulate_stream(
    scenario: Scenario,
    *,
    from_s: float = 0.0,
    to_s: float | None = None,
    window_s: float = 600.0,
    background: Background | None = None,
    stats: WindowStats | None = None,
) -> Iterator[SimResult]:
    """One :class:`SimResult` per window of ``[from_s, to_s)`` (seconds since the scenario
    start; ``to_s`` None: its duration). Windows without a heard frame are skipped.

    ``background``: a :class:`~overflight.sim.background.Background` whose flights join the
    scenario's aircraft while they fly (each window's result lists them in its scenario)."""
    end = scenario.duration_s if to_s is None else min(to_s, scenario.duration_s)
    st = stats if stats is not None else WindowStats()
    bg = background
    k0 = int(np.floor(max(from_s, 0.0) / window_s))
    t = max(from_s, 0.0)
    k = k0
    while t < end:
        t1 = min((k + 1) * window_s, end)
        extra = bg.aircraft_between(t, t1) if bg is not None else ()
        sc = scenario if not extra else scenario.with_(aircraft=scenario.aircraft + extra)
        spans: dict[int, list[tuple[float, float]]] = {}
        for i, ac in enumerate(sc.aircraft):
            spans[i] = audible_intervals(sc, ac, t, t1)
            a, b = active_interval(ac, t, t1)
            st.active_s += max(b - a, 0.0)
            st.audible_s += sum(y - x for x, y in spans[i])
        seeds = np.random.SeedSequence([scenario.seed, k]).spawn(2)
        tx = transmissions(sc, np.random.default_rng(seeds[0]), t0_s=t, t1_s=t1, intervals=spans)
        rx, pstats = receptions(sc, tx, np.random.default_rng(seeds[1]))
        st.windows += 1
        st.transmissions += len(tx)
        st.frames += len(rx)
        if len(rx):
            ti = rx.transmission
            frames = FrameBatch(
                data=tx.data[ti],
                length_bytes=tx.length_bytes[ti],
                time_s=scenario.start_time_s + rx.arrival_s,
                receiver=rx.receiver_id,
                signal_dbfs=rx.signal_dbfs,
                ticks=rx.ticks,
            )
            yield SimResult(scenario=sc, frames=frames, receptions=rx, truth=tx, stats=pstats)
        t = t1
        k += 1
