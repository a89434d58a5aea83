"""Beast parse and serialise throughput: Overflight (vectorised NumPy) vs pyModeS 3's parser.

Input: the real capture modes-traffic-samples/sample_dump1090.bin (239 frames, with escapes)
repeated to ~4 MB. pyModeS 3.6 ships a pure-Python Beast parser for ``modes live``
(``pyModeS.cli._source._parse_beast_buffer``); rs1090 0.7 exposes none in Python. Both parsers
are given the whole buffer and also 64 KiB network-sized chunks.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import best_rate, print_table
from overflight.datapaths import shared_file
from overflight.sources.beast import BeastParser, encode_beast, parse_beast


def main() -> None:
    path = shared_file("modes-traffic-samples/sample_dump1090.bin")
    if path is None:
        print("shared data not found (set OVERFLIGHT_SHARED_DATA)")
        return
    raw = path.read_bytes()
    reps = 1000
    buf = raw * reps
    n = 239 * reps
    assert len(parse_beast(buf, final=True).frames) == n

    def ours_chunks() -> None:
        p = BeastParser()
        for i in range(0, len(buf), 65536):
            p.feed(buf[i : i + 65536])
        p.close()

    rows = [
        best_rate("overflight parse_beast (one buffer)", n, lambda: parse_beast(buf, final=True)),
        best_rate("overflight BeastParser (64 KiB chunks)", n, ours_chunks),
    ]
    batch = parse_beast(buf, final=True).frames
    rows.append(best_rate("overflight encode_beast", n, lambda: encode_beast(batch)))
    try:
        from pyModeS.cli._source import _parse_beast_buffer
    except ImportError:
        print("pyModeS not installed: no peer row")
    else:
        frames, _ = _parse_beast_buffer(buf)
        assert len(frames) == n, len(frames)

        def peer_chunks() -> None:
            rem = b""
            for i in range(0, len(buf), 65536):
                _, rem = _parse_beast_buffer(rem + buf[i : i + 65536])

        rows.append(best_rate("pyModeS 3.6 _parse_beast_buffer (64 KiB chunks)", n, peer_chunks))
        rows.append(
            best_rate("pyModeS 3.6 _parse_beast_buffer (one buffer)", n,
                      lambda: _parse_beast_buffer(buf))
        )
    peer = "pyModeS 3.6 _parse_beast_buffer (64 KiB chunks)"
    print_table(
        f"Beast parsing, {len(buf) / 1e6:.1f} MB, {n:,} frames", rows, unit="frames/s",
        baseline=peer if any(r.name == peer for r in rows) else None,
    )


if __name__ == "__main__":
    main()
