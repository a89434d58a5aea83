"""Comm-B MB decoding speed on the 10,000 real DF20/21 messages of modes-pymodes-samples.

Prints messages per second for decode_commb (scalar) and commb_columns (columnar) beside
pyModeS 3 ``decode`` and rs1090's batch ``decode`` on the same messages, as a table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import best_rate, print_table
from overflight.datapaths import shared_file
from overflight.modes.commb import commb_columns, decode_commb


def main() -> None:
    msgs: list[str] = []
    for name in ("sample_data_commb_df20.csv", "sample_data_commb_df21.csv"):
        path = shared_file(f"modes-pymodes-samples/{name}")
        if path is None:
            sys.exit(f"shared data {name} not found")
        msgs += [ln.split(",")[2] for ln in path.read_text(encoding="utf-8-sig").split()]
    mbs = [int(m[8:22], 16) for m in msgs]
    tiled = np.array(mbs * 20, dtype=np.uint64)
    rows = [
        best_rate("commb_columns (x20 tiled)", len(tiled), lambda: commb_columns(tiled)),
        best_rate("decode_commb", len(mbs), lambda: [decode_commb(mb) for mb in mbs]),
    ]
    try:
        import rs1090

        rows.append(best_rate("rs1090.decode (batch, full frame)", len(msgs),
                              lambda: rs1090.decode(msgs)))  # fmt: skip
    except ImportError:
        pass
    try:
        import pyModeS

        rows.append(best_rate("pyModeS 3 decode (full frame)", len(msgs),
                              lambda: [pyModeS.decode(m) for m in msgs], repeat=1))  # fmt: skip
    except ImportError:
        pass
    print_table("Comm-B MB decoding, 10,000 real DF20/21 messages", rows)


if __name__ == "__main__":
    main()
