"""RTL-SDR I/Q demodulation speed: samples per second and multiple of real time, one core.

Data: the real capture modes1.bin (2 MS/s), resampled to 2.4 MS/s (``resample_poly`` 6/5 on
the complex signal) and tiled to a few seconds; the file is "snipped" (bursts back to back),
so this is a dense, worst-case stream. Rows: this project's vectorised demodulator at 2.4 and
2.0 MS/s (whole buffer, and streamed in 256 KiB chunks as from ``rtl_sdr -``), beside a
per-sample pure-Python port of antirez dump1090's 2 MS/s detector (the algorithm most Python
Mode S demodulators use; pyModeS 3 has no I/Q demodulator) on the whole modes1.bin.
BLAS is limited to one thread so every row runs on one core.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import Row, best_rate, print_table  # noqa: E402
from overflight.datapaths import shared_file  # noqa: E402
from overflight.modes.crc import crc24  # noqa: E402
from overflight.sources.iq import IQDemodulator, demodulate  # noqa: E402

SECONDS = 3.0
CHUNK_BYTES = 256 * 1024


def resample_24(raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """2.0 -> 2.4 MS/s on the complex signal, back to unsigned 8-bit I/Q."""
    c = (raw[0::2].astype(np.float64) - 127.5) + 1j * (raw[1::2].astype(np.float64) - 127.5)
    r = resample_poly(c, 6, 5)
    out = np.empty(2 * r.size, np.uint8)
    out[0::2] = np.clip(np.round(r.real + 127.5), 0, 255)
    out[1::2] = np.clip(np.round(r.imag + 127.5), 0, 255)
    return out


def tile(raw: npt.NDArray[np.uint8], rate: float) -> npt.NDArray[np.uint8]:
    copies = math.ceil(SECONDS * rate * 2 / raw.size)
    return np.tile(raw, copies)[: int(SECONDS * rate) * 2]


def antirez_python(raw: bytes) -> list[str]:
    """antirez dump1090 (2013) detectModeS, per sample in pure Python; CRC-valid DF11/17 hex."""
    lut = [[round(math.hypot(i - 127.5, q - 127.5) * 360) for q in range(256)] for i in range(256)]
    m = [lut[raw[k]][raw[k + 1]] for k in range(0, len(raw) - 1, 2)]
    found: list[str] = []
    j = 0
    end = len(m) - (8 + 112) * 2
    while j < end:
        if not (m[j] > m[j + 1] and m[j + 1] < m[j + 2] and m[j + 2] > m[j + 3]
                and m[j + 3] < m[j] and m[j + 4] < m[j] and m[j + 5] < m[j] and m[j + 6] < m[j]
                and m[j + 7] > m[j + 8] and m[j + 8] < m[j + 9] and m[j + 9] > m[j + 6]):
            j += 1
            continue
        high = (m[j] + m[j + 2] + m[j + 7] + m[j + 9]) / 6
        if (m[j + 4] >= high or m[j + 5] >= high or m[j + 11] >= high or m[j + 12] >= high
                or m[j + 13] >= high or m[j + 14] >= high):
            j += 1
            continue
        bits = []
        for i in range(0, 224, 2):
            low, hi = m[j + i + 16], m[j + i + 17]
            if i > 0 and abs(low - hi) < 256:
                bits.append(bits[-1])
            else:
                bits.append(1 if low > hi else 0)
        frame = int("".join(map(str, bits)), 2).to_bytes(14, "big")
        df = frame[0] >> 3
        if df not in (11, 17):
            j += 1
            continue
        frame = frame if df == 17 else frame[:7]
        syn = crc24(frame[:-3]) ^ int.from_bytes(frame[-3:], "big")
        if syn == 0 or (df == 11 and syn < 0x80):
            found.append(frame.hex().upper())
            j += (8 + len(frame) * 8) * 2
        else:
            j += 1
    return found


def streamed(raw: npt.NDArray[np.uint8], rate: float) -> int:
    demod = IQDemodulator(sample_rate_hz=rate)
    data = raw.tobytes()
    n = sum(len(demod.feed(data[i : i + CHUNK_BYTES])) for i in range(0, len(data), CHUNK_BYTES))
    return n + len(demod.flush())


def cpu_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Least process CPU time of ``repeat`` runs (robust to a machine shared with others)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    path = shared_file("iq-rtlsdr-modes1/modes1.bin")
    if path is None:
        sys.exit("shared data iq-rtlsdr-modes1/modes1.bin not found")
    raw20 = np.fromfile(path, np.uint8)
    raw24 = resample_24(raw20)
    big24, big20 = tile(raw24, 2.4e6), tile(raw20, 2.0e6)
    n24, n20 = big24.size // 2, big20.size // 2

    f24 = len(demodulate(big24, sample_rate_hz=2.4e6)[0])
    f20 = len(demodulate(big20, sample_rate_hz=2.0e6)[0])
    f20_file = len(demodulate(raw20)[0])
    peer_frames = antirez_python(raw20.tobytes())  # also warms nothing: pure Python

    def row(
        name: str, rate: float, count: int, frames: int, fn: Callable[[], object], n: int
    ) -> Row:
        r = best_rate(name, count, fn, repeat=n)
        cpu = cpu_seconds(fn, n)
        note = (
            f"{frames:,} frames; {count / r.seconds / rate:.1f}x real time at {rate / 1e6:.1f} MS/s"
            f" (CPU time: {count / cpu / rate:.1f}x)"
        )
        return Row(r.name, r.count, r.seconds, note)

    rows = [
        row("overflight demodulate 2.4 MS/s", 2.4e6, n24, f24,
            lambda: demodulate(big24, sample_rate_hz=2.4e6), 5),
        row("overflight IQDemodulator.feed 2.4 MS/s, 256 KiB chunks", 2.4e6, n24, f24,
            lambda: streamed(big24, 2.4e6), 3),
        row("overflight demodulate 2.0 MS/s", 2.0e6, n20, f20,
            lambda: demodulate(big20, sample_rate_hz=2.0e6), 5),
        row("antirez dump1090 detector, pure Python (2.0 MS/s)", 2.0e6, raw20.size // 2,
            len(peer_frames), lambda: antirez_python(raw20.tobytes()), 1),
    ]
    print_table(
        f"I/Q demodulation, one core: modes1.bin tiled to {SECONDS:.0f} s "
        f"(modes1.bin alone: {f20_file} frames ours, {len(peer_frames)} antirez-Python)",
        rows, unit="samples/s",
    )


if __name__ == "__main__":
    main()
