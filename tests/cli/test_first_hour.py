"""Issue 17, "the first hour": what a newcomer meets in the first commands they run.

Every test runs the real command (typer's CliRunner, or a subprocess where a terminal or the
process's own start matters) on real data from ../shared/data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from overflight.cli import app

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
IQ = "iq-rtlsdr-modes1/modes1.bin"
AP_WHY = "address/parity, address not confirmed"


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, input=input)


def summary_rows(stderr: str) -> dict[str, int]:
    return {
        m.group(1).strip(): int(m.group(2).replace(",", ""))
        for m in re.finditer(r"│ (.+?)\s+│\s+([\d,]+) │", stderr)
    }


# ------------------------------------------------------------------------------ 3 --version


def test_version() -> None:
    res = run("--version")
    assert res.exit_code == 0, res.output
    assert res.stdout == "overflight 0.1.0\n"


# ------------------------------------------------------------------------------ 6 decode


def test_decode_rows_agree_with_the_summary(shared: Callable[[str], Path]) -> None:
    """The dump1090 capture: the summary's 7 frames that are not valid are the 7 rows marked
    so, in JSON (valid false, the rule in invalid_reason) and in text ([rule]); every JSON row
    carries its frame as received."""
    cap = shared(SAMPLE)
    res = run("decode", "--json", str(cap))
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    summary = summary_rows(res.stderr)
    assert len(rows) == summary["frames decoded"] == 239
    bad = [r for r in rows if not r["valid"]]
    assert len(bad) == 239 - summary["valid (as readsb accepts them)"] == 7
    assert {r["invalid_reason"] for r in bad} == {AP_WHY}
    assert all(r["invalid_reason"] is None for r in rows if r["valid"])
    assert rows[0]["frame_hex"] == "20000ca8f70aa7" and not rows[0]["valid"]  # DF4 before any DF11
    assert all(len(r["frame_hex"]) == (28 if r["df"] >= 16 else 14) for r in rows)
    res = run("decode", str(cap), "--no-summary")
    marked = [line for line in res.stdout.splitlines() if f"[{AP_WHY}]" in line]
    assert len(marked) == 7


def test_decode_undefined_formats_are_rows_marked_not_valid(tmp_path: Path) -> None:
    """DF19 (military extended squitter) and DF22 stay visible, marked as readsb drops them;
    the summary counts them the same way."""
    cap = tmp_path / "mil.txt"
    frames = ["9a" + "00" * 13, "b0" + "11" * 13, "8d4840d6202cc371c32ce0576098"]
    cap.write_text("\n".join(frames) + "\n")
    res = run("decode", "--json", str(cap))
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["df"] for r in rows] == [19, 22, 17]
    assert [r["valid"] for r in rows] == [False, False, True]
    assert all("readsb drops them" in r["invalid_reason"] for r in rows[:2])
    assert [r["frame_hex"] for r in rows] == frames
    s = summary_rows(res.stderr)
    assert s["valid (as readsb accepts them)"] == 1
    assert s["not valid: DF 1-3, 6-10, 12-15, 19, 22, 23 (readsb drops them)"] == 2


def test_decode_iq_rows_show_their_time(shared: Callable[[str], Path]) -> None:
    """Raw I/Q has no wall-clock time: rows show seconds since the first sample (+s)."""
    res = run("decode", "--format", "iq", str(shared(IQ)), "--no-summary")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines and all(re.match(r"\s*\+\d+\.\d{6} DF", line) for line in lines), lines[:3]
    times = [float(line.split()[0]) for line in lines]
    assert times == sorted(times) and times[-1] > 0
