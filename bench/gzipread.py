"""Gzip reading throughput: Overflight's fault-tolerant streaming reader vs the standard library.

:class:`overflight.sources.gzipread.GzipPrefixFile` reads a gzip up to a fault (truncation,
corruption) instead of raising, with bounded memory; the peer is ``gzip.GzipFile``, which
every reader used before. Input: the real capture modes-traffic-samples/full_flight_short.jsonl.gz
decompressed in memory; both read 1 MiB blocks, then iterate lines. Rates are decompressed
bytes per second, one core. Run: ``python bench/gzipread.py``.
"""

from __future__ import annotations

import gzip
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import best_rate, print_table
from overflight.datapaths import shared_file
from overflight.sources.gzipread import GzipPrefixFile


def main() -> None:
    path = shared_file("modes-traffic-samples/full_flight_short.jsonl.gz")
    if path is None:
        print("shared data not found (set OVERFLIGHT_SHARED_DATA)")
        return
    data = path.read_bytes()
    n = len(gzip.decompress(data))

    def drain(f: io.BufferedIOBase | GzipPrefixFile) -> None:
        while f.read(1 << 20):
            pass

    def lines(f: gzip.GzipFile | GzipPrefixFile) -> None:
        for _ in f:
            pass

    for title, run in (("1 MiB reads", drain), ("line iteration", lines)):
        rows = [
            best_rate(
                "gzip.GzipFile (standard library)",
                n,
                lambda run=run: run(gzip.GzipFile(fileobj=io.BytesIO(data))),  # type: ignore[misc]
            ),
            best_rate(
                "overflight GzipPrefixFile (reads to the fault)",
                n,
                lambda run=run: run(GzipPrefixFile(io.BytesIO(data))),  # type: ignore[misc]
            ),
        ]
        print_table(
            f"Gzip {title}: decompressed bytes per second",
            rows,
            unit="bytes/s",
            baseline="gzip.GzipFile (standard library)",
        )


if __name__ == "__main__":
    main()
