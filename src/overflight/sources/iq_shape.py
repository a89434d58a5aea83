"""Sample-domain geometry of Mode S bursts at one sample rate (pure, no I/O).

A Mode S reply is an 8 µs preamble (0.5 µs pulses starting at 0, 1, 3.5 and 4.5 µs) followed
by 56 or 112 bits of pulse-position modulation at 1 Mbit/s (a '1' is high in the first half
microsecond, a '0' in the second). At a sample rate ``fs`` one microsecond is ``fs / 1e6``
samples (2 at 2.0 MS/s, 1.2 samples per half-bit symbol at 2.4 MS/s). A burst starts at a
fractional sample position ``j + phase / PHASES``; every quantity the demodulator needs
(pulse levels, soft bit decisions) is then a fixed linear combination of the magnitude samples
after ``j``, weighted by how much of each sample overlaps the expected pulse (readsb's
``demod_2400`` correlation functions are these weights at 2.4 MS/s, scaled by 5).
:func:`pulse_shape` precomputes those weights once per sample rate and phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "FEATURES",
    "LONG_BITS",
    "PHASES",
    "PREAMBLE_US",
    "PulseShape",
    "box_weights",
    "pulse_shape",
]

PREAMBLE_US = 8.0
"""Length of the preamble in microseconds (data starts 8 µs after the first pulse)."""

LONG_BITS = 112
"""Bits in a long Mode S frame (1 bit per microsecond)."""

PHASES = 5
"""Fractional phase hypotheses per sample (1/5 sample: 83 ns at 2.4 MS/s, 100 ns at 2.0 MS/s)."""

_PULSES_US = (0.0, 1.0, 3.5, 4.5)
_QUIET_US = ((1.75, 3.5), (5.25, 8.0))
_GAPS_US = ((0.5, 1.0), (4.0, 4.5))
FEATURES = ("p1", "p2", "p3", "p4", "quiet1", "quiet2", "gap1", "gap2")
"""Preamble features: mean magnitude over each pulse, quiet stretch and inter-pulse gap."""


def box_weights(start: float, stop: float) -> dict[int, float]:
    """Overlap (in samples) of each sample ``k`` (covering ``[k, k+1)``) with ``[start, stop)``."""
    out: dict[int, float] = {}
    k = math.floor(start)
    while k < stop:
        w = min(k + 1.0, stop) - max(float(k), start)
        if w > 1e-9:
            out[k] = w
        k += 1
    return out


@dataclass(frozen=True, slots=True)
class PulseShape:
    """Precomputed weights for one sample rate.

    Offsets are in samples after the integer sample ``j`` in which a burst starts; the burst
    starts ``phase / PHASES`` of a sample after ``j``.

    Attributes:
        sample_rate_hz: samples per second.
        samples_per_us: samples per microsecond.
        window_len: samples summed per window in the coarse (integer offset) preamble test.
        pulse_windows: start offsets of the 4 coarse windows that contain a preamble pulse for
            any phase.
        quiet_windows: start offsets of 3 coarse windows that are quiet for any phase.
        fit_len: samples after ``j`` read to fit the preamble.
        fit_matrix: ``(fit_len, 8 * PHASES)`` float32; window @ matrix gives the 8 FEATURES
            (mean magnitude), feature-major: column ``f * PHASES + phase``.
        bit_offsets: ``(PHASES, 112, taps)`` int32 sample offsets of each bit's taps.
        bit_weights: ``(PHASES, 112, taps)`` float32: +overlap with the first half of the bit
            period, -overlap with the second half (> 0 means bit 1).
        span: samples after ``j`` that a long frame at any phase (and the next) can touch.
    """

    sample_rate_hz: float
    samples_per_us: float
    window_len: int
    pulse_windows: tuple[int, ...]
    quiet_windows: tuple[int, ...]
    fit_len: int
    fit_matrix: npt.NDArray[np.float32]
    bit_offsets: npt.NDArray[np.int32]
    bit_weights: npt.NDArray[np.float32]
    span: int


def _coarse_windows(sps: float) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    starts = [math.floor(sps * t) for t in _PULSES_US]
    length = max(
        math.ceil(sps * (t + 0.5) + 1.0) - s for t, s in zip(_PULSES_US, starts, strict=True)
    )
    quiet: list[int] = []
    for a_us, b_us in ((1.5, 3.5), (5.0, 8.0)):
        first = math.ceil(sps * a_us + 1.0)  # fully quiet for any phase in [0, 1)
        last = math.floor(sps * b_us) - 1
        k = first
        while k + length - 1 <= last and len(quiet) < 3:
            quiet.append(k)
            k += length
    if len(quiet) < 3:
        raise ValueError(f"sample rate too low for the preamble test: {sps * 1e6:.0f} S/s")
    return length, tuple(starts), tuple(quiet)


@lru_cache(maxsize=8)
def pulse_shape(sample_rate_hz: float) -> PulseShape:
    """Weights for ``sample_rate_hz`` (at least 2 MS/s; 2.0e6 and 2.4e6 are the usual rates)."""
    if not 1.9e6 <= sample_rate_hz <= 20e6:
        raise ValueError(f"unsupported sample rate {sample_rate_hz} Hz (use 2.0e6 or 2.4e6)")
    sps = sample_rate_hz / 1e6
    window_len, pulse_windows, quiet_windows = _coarse_windows(sps)

    intervals = [(t, t + 0.5) for t in _PULSES_US] + list(_QUIET_US) + list(_GAPS_US)
    fit_len = math.ceil(sps * PREAMBLE_US) + 2
    fit = np.zeros((fit_len, len(intervals), PHASES), np.float64)
    for ph in range(PHASES):
        phi = ph / PHASES
        for f, (a, b) in enumerate(intervals):
            dur = sps * (b - a)
            for k, overlap in box_weights(phi + sps * a, phi + sps * b).items():
                fit[k, f, ph] += overlap / dur

    bit_taps: list[list[dict[int, float]]] = []
    for ph in range(PHASES):
        phi = ph / PHASES
        row: list[dict[int, float]] = []
        for i in range(LONG_BITS):
            a = phi + sps * (PREAMBLE_US + i)
            mid, b = a + sps / 2, a + sps
            taps_i: dict[int, float] = {}
            for k, v in box_weights(a, mid).items():
                taps_i[k] = taps_i.get(k, 0.0) + v
            for k, v in box_weights(mid, b).items():
                taps_i[k] = taps_i.get(k, 0.0) - v
            row.append(taps_i)
        bit_taps.append(row)
    taps = max(len(t) for row in bit_taps for t in row)
    offsets = np.zeros((PHASES, LONG_BITS, taps), np.int32)
    weights = np.zeros((PHASES, LONG_BITS, taps), np.float32)
    for ph, row in enumerate(bit_taps):
        for i, taps_i in enumerate(row):
            ks = sorted(taps_i)
            offsets[ph, i, :] = ks[0]
            offsets[ph, i, : len(ks)] = ks
            weights[ph, i, : len(ks)] = [taps_i[k] for k in ks]
    span = int(offsets.max()) + 2
    return PulseShape(
        sample_rate_hz=float(sample_rate_hz),
        samples_per_us=sps,
        window_len=window_len,
        pulse_windows=pulse_windows,
        quiet_windows=quiet_windows,
        fit_len=fit_len,
        fit_matrix=np.ascontiguousarray(fit.reshape(fit_len, -1), dtype=np.float32),
        bit_offsets=offsets,
        bit_weights=weights,
        span=span,
    )
