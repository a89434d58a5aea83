"""Multilateration: positions of aircraft heard by several receivers (sync, TDOA, tracking)."""

from __future__ import annotations

from overflight.mlat.bias import OnlineBiases
from overflight.mlat.clocks import ClockSync, PairClock
from overflight.mlat.engine import MlatPosition, MlatStats, Multilaterator, Reception
from overflight.mlat.filter import FilterState, SmoothedTrack, TrackFilter, smooth_track
from overflight.mlat.receivers import ClockType, Receiver, ReceiverRegistry
from overflight.mlat.solve import SolveResult, plausible, solve_batch, solve_scipy

__all__ = [
    "ClockSync",
    "ClockType",
    "FilterState",
    "MlatPosition",
    "MlatStats",
    "Multilaterator",
    "OnlineBiases",
    "PairClock",
    "Receiver",
    "ReceiverRegistry",
    "Reception",
    "SmoothedTrack",
    "SolveResult",
    "TrackFilter",
    "plausible",
    "smooth_track",
    "solve_batch",
    "solve_scipy",
]
