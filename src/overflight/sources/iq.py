"""Demodulate RTL-SDR I/Q samples into CRC-checked Mode S frames, vectorised with NumPy.

Input is interleaved unsigned 8-bit I/Q (``rtl_sdr`` output: I, Q, I, Q, ... centred on 127.5)
at 2.0 or 2.4 MS/s. The pipeline works on whole buffers at once:

1. magnitude of every sample through a 65,536-entry lookup table (one gather);
2. a coarse preamble test at every sample (window sums under the 4 pulses against 3 quiet
   windows; a handful of whole-array operations);
3. a fine fit of the preamble at 5 fractional phases per surviving sample (one small matrix
   product), shape and signal-to-noise checks, and one candidate kept per burst;
4. soft bit decisions for all candidates at once, correlating each bit with the expected
   pulse shape at the candidate's fractional phase and its two neighbours (phase correction,
   as readsb's ``demod_2400`` does);
5. CRC for all candidates at once, 1-bit repair for DF11/17/18, address/parity frames
   (DF0/4/5/16/20/21/24) accepted only for an address already confirmed by a DF11/17/18 in the
   same stream; a burst found at adjacent offsets is reported once.

:func:`demodulate` handles a whole capture; :class:`IQDemodulator` streams chunks (standard
input from ``rtl_sdr -``), keeping the tail between chunks so no frame on a boundary is lost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from overflight.frames import FRAME_WIDTH_BYTES, FrameBatch
from overflight.modes.crc import syndrome, syndrome_batch
from overflight.sources.iq_shape import LONG_BITS, PHASES, PulseShape, pulse_shape

__all__ = [
    "MAGNITUDE_SCALE",
    "SUPPORTED_SAMPLE_RATES_HZ",
    "DemodStats",
    "IQDemodulator",
    "demodulate",
    "magnitude",
]

SUPPORTED_SAMPLE_RATES_HZ = (2.0e6, 2.4e6)
"""The RTL-SDR rates the demodulator is tested at (any rate from 2 MS/s up works)."""

_MAG_MAX = 2047
MAGNITUDE_SCALE = _MAG_MAX / (math.sqrt(2.0) * 127.5)
"""Magnitude units per unit of I/Q amplitude (full scale 127.5 -> about 1448)."""

_TICKS_HZ = 12e6
_BLOCK_SAMPLES = 1 << 18
_MIN_FEED_SAMPLES = 1 << 18  # about 0.1 s at 2.4 MS/s: amortises per-call work
_SNR_MIN = 2.0  # mean pulse level over mean quiet level (6 dB)
_RETRY_STEPS = (-1, 1, -2, 2)  # phase steps tried when the fitted phase gives no frame
_MATMUL_ROWS = 256  # small products stay single-threaded in BLAS (no thread start-up)
_AP_DFS = (0, 4, 5, 16, 20, 21, 24)
_IS_AP_DF = np.isin(np.minimum(np.arange(32), 24), _AP_DFS)  # indexed by DF (0..31)
_COARSE_FLOOR_PER_SAMPLE = round(1.5 * MAGNITUDE_SCALE)  # pulses above 1.5 units of 127.5

# candidate status, best first
_CLEAN, _FIXED, _AP_OK, _BAD_CRC, _BAD_DF, _AP_UNKNOWN = range(6)


def _magnitude_lut() -> npt.NDArray[np.uint16]:
    k = np.arange(1 << 16)
    i = (k & 0xFF) - 127.5
    q = (k >> 8) - 127.5
    lut: npt.NDArray[np.uint16] = np.round(np.hypot(i, q) * MAGNITUDE_SCALE).astype(np.uint16)
    return lut


_MAG_LUT = _magnitude_lut()


Samples = bytes | bytearray | memoryview | npt.NDArray[np.uint8]


def _as_bytes_array(samples: Samples) -> npt.NDArray[np.uint8]:
    if isinstance(samples, np.ndarray):
        if samples.dtype != np.uint8:
            raise TypeError(f"I/Q samples must be uint8, not {samples.dtype}")
        return np.ascontiguousarray(samples.reshape(-1))
    return np.frombuffer(samples, dtype=np.uint8)


def magnitude(samples: Samples) -> npt.NDArray[np.uint16]:
    """Magnitude of each I/Q pair, in units of :data:`MAGNITUDE_SCALE` per unit amplitude."""
    raw = _as_bytes_array(samples)
    n = raw.size // 2
    mag: npt.NDArray[np.uint16] = _MAG_LUT[raw[: 2 * n].view("<u2")]
    return mag


def _syndrome_table(bits: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int16]]:
    """Sorted syndromes of single-bit errors in a ``bits``-bit frame and the bit they flip.

    Bits of the DF field (the first 5) are left out: repairing them would change the format.
    """
    nbytes = bits // 8
    syn, pos = [], []
    for b in range(5, bits):
        frame = bytearray(nbytes)
        frame[b // 8] = 0x80 >> (b % 8)
        syn.append(syndrome(bytes(frame)))
        pos.append(b)
    order = np.argsort(syn)
    return np.asarray(syn, np.uint32)[order], np.asarray(pos, np.int16)[order]


_FIX_LONG = _syndrome_table(112)
_FIX_SHORT = _syndrome_table(56)


@dataclass(frozen=True, slots=True)
class DemodStats:
    """Counts from demodulating a stream.

    Attributes:
        samples: complex samples consumed.
        coarse_candidates: sample positions passing the coarse preamble test.
        candidates: bursts whose preamble passed the fine fit (each sliced into bits).
        crc_ok: frames returned, per downlink format.
        corrected: frames returned after a 1-bit repair (DF11/17/18).
        address_confirmed: address/parity frames returned because their address was seen in
            a DF11/17/18 of the same stream.
        rejected: reasons a coarse candidate yielded no frame: "preamble" (fine fit failed),
            "merged" (another phase of the same burst was kept), "crc", "df" (format without
            a usable check), "unconfirmed_address", "duplicate" (burst already reported).
        truncated_bytes: trailing bytes that did not form a complete I/Q pair at the end.
    """

    samples: int = 0
    coarse_candidates: int = 0
    candidates: int = 0
    crc_ok: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    corrected: int = 0
    address_confirmed: int = 0
    rejected: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    truncated_bytes: int = 0

    @property
    def frames(self) -> int:
        """Frames returned (all formats)."""
        return sum(self.crc_ok.values())

    def __add__(self, other: DemodStats) -> DemodStats:
        def merge(a: Mapping[object, int], b: Mapping[object, int]) -> dict[object, int]:
            out = dict(a)
            for k, v in b.items():
                out[k] = out.get(k, 0) + v
            return out

        return DemodStats(
            samples=self.samples + other.samples,
            coarse_candidates=self.coarse_candidates + other.coarse_candidates,
            candidates=self.candidates + other.candidates,
            crc_ok=MappingProxyType(dict(sorted(merge(self.crc_ok, other.crc_ok).items()))),  # type: ignore[arg-type]
            corrected=self.corrected + other.corrected,
            address_confirmed=self.address_confirmed + other.address_confirmed,
            rejected=MappingProxyType(merge(self.rejected, other.rejected)),  # type: ignore[arg-type]
            truncated_bytes=self.truncated_bytes + other.truncated_bytes,
        )


@dataclass(frozen=True, slots=True)
class _Block:
    """Candidates of one block that passed the fine preamble fit, best trial each."""

    start: npt.NDArray[np.int64]  # burst start in 1/PHASES samples, block-relative
    data: npt.NDArray[np.uint8]
    length: npt.NDArray[np.uint8]
    status: npt.NDArray[np.int8]
    level: npt.NDArray[np.float32]  # mean preamble pulse magnitude (LUT units)
    quality: npt.NDArray[np.float32]
    fixed: npt.NDArray[np.bool_]


def _coarse(mag: npt.NDArray[np.uint16], n_j: int, shape: PulseShape) -> npt.NDArray[np.intp]:
    """Sample positions where a preamble may start (phase-independent window test).

    Each of the 4 windows that contain a preamble pulse must beat each of 3 quiet windows,
    their sum must exceed 1.5x the quiet level, and the pulses must clear a small floor.
    """
    L = shape.window_len
    nb = n_j + max(shape.quiet_windows + shape.pulse_windows)
    win = mag[:nb].copy()
    for t in range(1, L):
        win += mag[t : nb + t]
    p = [win[o : o + n_j] for o in shape.pulse_windows]
    q = [win[o : o + n_j] for o in shape.quiet_windows]
    qmax = np.maximum(q[0], q[1])
    np.maximum(qmax, q[2], out=qmax)
    ok = p[0] > qmax
    for k in (1, 2, 3):
        ok &= p[k] > qmax
    s = p[0] + p[1]
    s += p[2]
    s += p[3]
    quiet = q[0] + q[1]
    quiet += q[2]
    quiet <<= 1
    quiet += _COARSE_FLOOR_PER_SAMPLE * 4 * L
    ok &= s > quiet
    return np.flatnonzero(ok)


def _fine(
    mag: npt.NDArray[np.uint16], cand: npt.NDArray[np.intp], shape: PulseShape
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], int, int]:
    """Fit the preamble at each phase; keep one start (in 1/PHASES samples) per burst.

    Returns starts, mean pulse levels and the counts rejected by the fit and merged.
    """
    K = PHASES
    n = cand.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32), 0, 0
    win = sliding_window_view(mag, shape.fit_len)[cand].astype(np.float32)
    # features as rows (8 * PHASES, n): contiguous rows keep the element-wise tests fast
    f = np.empty((8 * K, n), np.float32)
    mt = shape.fit_matrix.T
    for i in range(0, n, _MATMUL_ROWS):
        f[:, i : i + _MATMUL_ROWS] = mt @ win[i : i + _MATMUL_ROWS].T
    p1, p2, p3, p4, q1, q2, g1, g2 = (f[i * K : (i + 1) * K] for i in range(8))
    m12 = np.minimum(p1, p2)
    m34 = np.minimum(p3, p4)
    ok = g1 < m12
    ok &= g2 < m34
    ok &= np.minimum(m12, m34) > np.maximum(q1, q2)
    hi = p1 + p2
    hi += p3
    hi += p4  # 4x the mean pulse level
    lo = q1 * (4 * _SNR_MIN * 1.75 / 4.5)
    lo += q2 * (4 * _SNR_MIN * 2.75 / 4.5)
    lo += 4 * _COARSE_FLOOR_PER_SAMPLE
    ok &= hi > lo
    score = hi - 2 * (g1 + g2)
    score[~ok] = -np.inf
    best = score.argmax(axis=0)
    rows = np.arange(n)
    best_score = score[best, rows]
    keep = np.flatnonzero(np.isfinite(best_score))
    n_bad = int(n - keep.size)
    start = cand[keep].astype(np.int64) * K + best[keep]
    sc = best_score[keep]
    lvl = (hi[best[keep], keep] * 0.25).astype(np.float32)
    if start.size == 0:
        return start, lvl, n_bad, 0
    # one burst per run of starts closer than half a microsecond (cand is sorted, so is start
    # up to the phase; sort to be exact)
    order = np.argsort(start, kind="stable")
    start, sc, lvl = start[order], sc[order], lvl[order]
    group = np.cumsum(np.r_[True, np.diff(start) > K * shape.samples_per_us * 0.5])
    pick = np.lexsort((-sc, group))
    first = pick[np.r_[True, group[pick][1:] != group[pick][:-1]]]
    first.sort()
    return start[first], lvl[first], n_bad, int(start.size - first.size)


def _slice(
    mag: npt.NDArray[np.uint16], start: npt.NDArray[np.int64], shape: PulseShape
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
    """Frame bytes ``(n, 14)`` and |soft decision| per bit for bursts at ``start``.

    Bursts are grouped by phase so each group reads the same tap offsets and weights.
    """
    j = start // PHASES
    ph = start % PHASES
    rows = sliding_window_view(mag, shape.span)
    soft = np.empty((start.size, LONG_BITS), np.float32)
    for k in range(PHASES):
        sel = np.flatnonzero(ph == k)
        if sel.size == 0:
            continue
        vals = rows[j[sel]][:, shape.bit_offsets[k]]  # (n_k, 112, taps)
        w = shape.bit_weights[k]
        acc = vals[..., 0] * w[:, 0]
        for t in range(1, w.shape[1]):
            acc += vals[..., t] * w[:, t]
        soft[sel] = acc
    data = np.packbits(soft > 0, axis=1)
    return data, np.abs(soft)


_Checked = tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.int8], npt.NDArray[np.uint32],
    npt.NDArray[np.float32], npt.NDArray[np.bool_],
]


def _classify(
    data: npt.NDArray[np.uint8], soft_abs: npt.NDArray[np.float32], fix: bool
) -> _Checked:
    """Check CRC of every row, repairing 1-bit errors in place when ``fix``.

    Returns lengths, status (address/parity rows marked ``_AP_UNKNOWN``), syndromes,
    quality (mean |soft| over the frame's bits) and which rows were repaired.
    """
    df = data[:, 0] >> 3
    long = df >= 16
    length = np.where(long, 14, 7).astype(np.uint8)
    # short frames: zero the unused bytes so syndromes and output rows are clean
    data[~long, 7:] = 0
    syn = syndrome_batch(data, length)
    quality = np.where(long, soft_abs.mean(axis=1), soft_abs[:, : LONG_BITS // 2].mean(axis=1))
    status = np.full(len(df), _BAD_DF, np.int8)
    es = (df == 17) | (df == 18)
    df11 = df == 11
    status[es | df11] = _BAD_CRC
    status[(es & (syn == 0)) | (df11 & (syn < 0x80))] = _CLEAN
    status[_IS_AP_DF[df]] = _AP_UNKNOWN
    fixed = np.zeros(len(df), np.bool_)
    if fix:
        for rows_mask, (table_syn, table_pos) in ((es & (status == _BAD_CRC), _FIX_LONG),
                                                  (df11 & (status == _BAD_CRC), _FIX_SHORT)):
            rows = np.flatnonzero(rows_mask)
            if rows.size == 0:
                continue
            k = np.minimum(np.searchsorted(table_syn, syn[rows]), table_syn.size - 1)
            hit = table_syn[k] == syn[rows]
            rows, bit = rows[hit], table_pos[k[hit]].astype(np.intp)
            data[rows, bit // 8] ^= (0x80 >> (bit % 8)).astype(np.uint8)
            status[rows] = _FIXED
            fixed[rows] = True
            syn[rows] = 0
    return length, status, syn, quality.astype(np.float32), fixed


class IQDemodulator:
    """Streaming Mode S demodulator for unsigned 8-bit I/Q.

    Feed chunks of any size with :meth:`feed`; each call returns the frames completed so far.
    The last few hundred samples of each chunk are kept and examined again with the next one
    (a frame straddling chunks is found once). Call :meth:`flush` at the end of the stream.
    Addresses confirmed by DF11/17/18 persist across chunks for address/parity frames.

    Args:
        sample_rate_hz: 2.0e6 or 2.4e6 (any rate from 2 MS/s up).
        fix: repair single-bit errors in DF11/17/18.
        start_time_s: UTC epoch seconds of the first sample; ``time_s`` is NaN when None.
        receiver: receiver id written into every frame.
    """

    def __init__(
        self,
        *,
        sample_rate_hz: float = 2.0e6,
        fix: bool = True,
        start_time_s: float | None = None,
        receiver: int = 0,
    ) -> None:
        self._shape = pulse_shape(float(sample_rate_hz))
        self._fix = fix
        self._start_time_s = start_time_s
        self._receiver = receiver
        self._need = max(self._shape.span, self._shape.fit_len) + 1
        self._pending: list[npt.NDArray[np.uint8]] = []
        self._pending_bytes = 0
        self._base = 0  # absolute sample index of the first pending sample
        self._last_end = -1  # absolute end of the last reported burst, 1/PHASES samples
        self._confirmed: set[int] = set()
        self._stats = DemodStats()

    @property
    def sample_rate_hz(self) -> float:
        """Samples per second."""
        return self._shape.sample_rate_hz

    @property
    def stats(self) -> DemodStats:
        """Counts so far."""
        return self._stats

    @property
    def confirmed_addresses(self) -> frozenset[int]:
        """ICAO addresses (24-bit ints) confirmed by a DF11/17/18 so far."""
        return frozenset(self._confirmed)

    def feed(self, chunk: Samples) -> FrameBatch:
        """Add I/Q bytes; return the frames that are now complete (possibly none)."""
        raw = _as_bytes_array(chunk)
        if raw.size:
            self._pending.append(raw)
            self._pending_bytes += raw.size
        if self._pending_bytes // 2 < self._need + _MIN_FEED_SAMPLES:
            return FrameBatch.empty()
        return self._run(final=False)

    def flush(self) -> FrameBatch:
        """Demodulate everything still pending (end of stream)."""
        if self._pending_bytes == 0:
            return FrameBatch.empty()
        return self._run(final=True)

    def _run(self, *, final: bool) -> FrameBatch:
        buf = self._pending[0] if len(self._pending) == 1 else np.concatenate(self._pending)
        n = buf.size // 2
        mag = _MAG_LUT[buf[: 2 * n].view("<u2")]
        if final:
            mag = np.concatenate([mag, np.zeros(self._need, np.uint16)])
            n_j = n
        else:
            n_j = n - self._need
        batches = []
        for b0 in range(0, n_j, _BLOCK_SAMPLES):
            b1 = min(b0 + _BLOCK_SAMPLES, n_j)
            batches.append(self._block(mag[b0 : b1 + self._need], b1 - b0, self._base + b0))
        consumed = max(n_j, 0)
        self._stats = self._stats + DemodStats(samples=consumed)
        self._base += consumed
        rest = buf[2 * consumed :]
        if final:
            if rest.size:
                self._stats = self._stats + DemodStats(truncated_bytes=int(rest.size))
            self._pending, self._pending_bytes = [], 0
        else:
            self._pending, self._pending_bytes = [rest.copy()], int(rest.size)
        return FrameBatch.concat(batches)

    def _decode(
        self, mag: npt.NDArray[np.uint16], start: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.uint8], *_Checked]:
        """Slice and check bursts at ``start``; remember addresses that pass a CRC."""
        data, soft_abs = _slice(mag, start, self._shape)
        length, status, syn, quality, fixed = _classify(data, soft_abs, self._fix)
        ok_rows = np.flatnonzero(status <= _FIXED)
        if ok_rows.size:
            d = data[ok_rows]
            addr = (d[:, 1].astype(np.int64) << 16) | (d[:, 2].astype(np.int64) << 8) | d[:, 3]
            self._confirmed.update(np.unique(addr).tolist())
        return data, length, status, syn, quality, fixed

    def _resolve_ap(self, status: npt.NDArray[np.int8], syn: npt.NDArray[np.uint32]) -> None:
        """Mark address/parity rows whose address is confirmed (in place)."""
        ap = np.flatnonzero(status == _AP_UNKNOWN)
        if ap.size and self._confirmed:
            known = np.fromiter(self._confirmed, np.uint32, len(self._confirmed))
            status[ap[np.isin(syn[ap], known)]] = _AP_OK

    def _block(self, mag: npt.NDArray[np.uint16], n_j: int, base: int) -> FrameBatch:
        shape = self._shape
        cand = _coarse(mag, n_j, shape)
        start, level, n_bad, n_merged = _fine(mag, cand, shape)
        rejected: dict[str, int] = {"preamble": n_bad, "merged": n_merged}
        m = start.size
        if m == 0:
            self._stats = self._stats + DemodStats(
                coarse_candidates=int(cand.size), rejected=MappingProxyType(rejected)
            )
            return FrameBatch.empty()
        # the fitted phase first; bursts that give no frame are retried at nearby phases
        burst = np.arange(m)
        data, length, status, syn, quality, fixed = self._decode(mag, start)
        self._resolve_ap(status, syn)
        retry = np.flatnonzero(status > _AP_OK)
        if retry.size:
            steps = np.asarray(_RETRY_STEPS, np.int64)
            r_start = np.maximum((start[retry, None] + steps).reshape(-1), 0)
            r = self._decode(mag, r_start)
            burst = np.concatenate([burst, np.repeat(retry, steps.size)])
            start = np.concatenate([start, r_start])
            data = np.concatenate([data, r[0]])
            length = np.concatenate([length, r[1]])
            status = np.concatenate([status, r[2]])
            syn = np.concatenate([syn, r[3]])
            quality = np.concatenate([quality, r[4]])
            fixed = np.concatenate([fixed, r[5]])
            status[status == _AP_OK] = _AP_UNKNOWN  # re-check with the addresses now known
            self._resolve_ap(status, syn)
        # best row per burst: lowest status, then highest quality
        order = np.lexsort((-quality, status, burst))
        pick = order[np.r_[True, burst[order][1:] != burst[order][:-1]]]
        status_p = status[pick]
        reasons = ((_BAD_CRC, "crc"), (_BAD_DF, "df"), (_AP_UNKNOWN, "unconfirmed_address"))
        for code, reason in reasons:
            rejected[reason] = int((status_p == code).sum())
        good = pick[status_p <= _AP_OK]
        found = _Block(
            start=start[good], data=data[good], length=length[good], status=status[good],
            level=level[burst[good]], quality=quality[good], fixed=fixed[good],
        )
        keep = self._dedupe(found, base)
        rejected["duplicate"] = int(good.size - keep.size)
        df = found.data[keep, 0] >> 3
        dfs, counts = np.unique(np.minimum(df, 24), return_counts=True)
        self._stats = self._stats + DemodStats(
            coarse_candidates=int(cand.size),
            candidates=m,
            crc_ok=MappingProxyType({int(a): int(c) for a, c in zip(dfs, counts, strict=True)}),
            corrected=int(found.fixed[keep].sum()),
            address_confirmed=int((found.status[keep] == _AP_OK).sum()),
            rejected=MappingProxyType(rejected),
        )
        return self._batch(found, keep, base)

    def _dedupe(self, found: _Block, base: int) -> npt.NDArray[np.intp]:
        """Indices of bursts to report: one per burst, the better where two overlap."""
        sps = self._shape.samples_per_us
        abs_start = found.start + base * PHASES
        dur = np.round(np.where(found.length == 14, 120.0, 64.0) * sps * PHASES).astype(np.int64)
        order = np.argsort(abs_start, kind="stable")
        rank = list(zip(found.status.tolist(), (-found.quality).tolist(), strict=True))
        keep: list[int] = []
        last_end = self._last_end
        for i in order.tolist():
            s = int(abs_start[i])
            if s < last_end:
                if keep and rank[i] < rank[keep[-1]]:
                    keep[-1] = i
                    last_end = s + int(dur[i])
                continue
            keep.append(i)
            last_end = s + int(dur[i])
        self._last_end = last_end
        return np.asarray(sorted(keep), np.intp)

    def _batch(self, found: _Block, keep: npt.NDArray[np.intp], base: int) -> FrameBatch:
        fs = self._shape.sample_rate_hz
        start_samples = found.start[keep].astype(np.float64) / PHASES + base
        ticks = np.round(start_samples * (_TICKS_HZ / fs)).astype(np.uint64)
        t0 = self._start_time_s
        time_s = None if t0 is None else t0 + start_samples / fs
        amp = found.level[keep].astype(np.float64) / (MAGNITUDE_SCALE * 127.5)
        dbfs = 20.0 * np.log10(np.maximum(amp, 1e-6))
        data = np.zeros((keep.size, FRAME_WIDTH_BYTES), np.uint8)
        data[:] = found.data[keep]
        return FrameBatch.from_columns(
            data, found.length[keep], time_s=time_s, receiver=self._receiver,
            signal_dbfs=dbfs, ticks=ticks,
        )


def demodulate(
    samples: Samples,
    *,
    sample_rate_hz: float = 2.0e6,
    fix: bool = True,
    start_time_s: float | None = None,
) -> tuple[FrameBatch, DemodStats]:
    """Demodulate a whole unsigned 8-bit I/Q capture into CRC-checked Mode S frames.

    ``ticks`` is the burst start (first preamble pulse) in 12 MHz counts from the first
    sample; ``time_s`` is ``start_time_s`` plus the same offset (NaN when not given);
    ``signal_dbfs`` is the mean preamble pulse amplitude in dB relative to full scale.
    """
    demod = IQDemodulator(sample_rate_hz=sample_rate_hz, fix=fix, start_time_s=start_time_s)
    batch = FrameBatch.concat([demod.feed(samples), demod.flush()])
    return batch, demod.stats

