"""`overflight decode`'s summary counts frames as readsb accepts them (readsb ``mode_s.c``):
undefined downlink formats and unconfirmed address/parity frames are not valid."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from overflight.cli import app

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
UNDEFINED = {1, 2, 3, 6, 7, 8, 9, 10, 12, 13, 14, 15, 19, 22, 23}


def _summary(*args: str) -> dict[str, int]:
    res = CliRunner().invoke(app, ["decode", *args])
    assert res.exit_code == 0, res.output
    rows = {}
    for m in re.finditer(r"│ (.+?)\s+│\s+([\d,]+) │", res.stderr):
        rows[m.group(1).strip()] = int(m.group(2).replace(",", ""))
    return rows


def test_random_bytes_give_no_valid_frame(tmp_path: Path) -> None:
    """20,000 random frames of 7 or 14 bytes: none is valid by readsb's rules (the old summary
    called the undefined formats, DF10 and DF12 among them, valid), with or without
    --no-filter; every undefined format is counted as such."""
    rng = random.Random(7)
    lines, undefined = [], 0
    for _ in range(20_000):
        b = rng.randbytes(7 if rng.random() < 0.5 else 14)
        lines.append(b.hex())
        df = b[0] >> 3
        # a short reply written as 14 bytes is cut to 7 (as captures write them), a long one
        # needs its 14
        undefined += df in UNDEFINED and (df < 16 or len(b) == 14)
    path = tmp_path / "random.txt"
    path.write_text("\n".join(lines) + "\n")
    for extra in ((), ("--no-filter",)):
        s = _summary(str(path), *extra)
        assert s["frames decoded"] == 20_000
        assert s["valid (as readsb accepts them)"] == 0
        assert s["not valid: DF 1-3, 6-10, 12-15, 19, 22, 23 (readsb drops them)"] == undefined
        rest = sum(v for k, v in s.items() if k.startswith(("not valid", "invalid")))
        assert rest == 20_000


def test_real_captures(shared: Callable[[str], Path]) -> None:
    """The dump1090 capture: 7 address/parity frames come before any clean DF17 or DF11 of
    their aircraft (or from none), the other 232 are valid. The CDG-Toulouse flight starts
    with a DF17 of its only aircraft: all 57,793 valid."""
    s = _summary(str(shared(SAMPLE)))
    assert s["frames decoded"] == 239
    assert s["valid (as readsb accepts them)"] == 232
    assert s["not valid: address/parity, address not confirmed"] == 7
    assert s["not valid: DF 1-3, 6-10, 12-15, 19, 22, 23 (readsb drops them)"] == 0
    s = _summary(str(shared(FULL_FLIGHT)), "--no-filter")
    assert s["frames decoded"] == s["valid (as readsb accepts them)"] == 57_793
