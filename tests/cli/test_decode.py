"""`overflight decode FILE` on a real capture."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from overflight.cli import app

FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"


def test_json_output_has_one_object_per_frame(shared: Callable[[str], Path]) -> None:
    result = CliRunner().invoke(app, ["decode", str(shared(FULL_FLIGHT)), "--json", "--no-summary"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 57793
    rows = [json.loads(line) for line in lines]
    for r in rows[:50]:
        for key in ("df", "icao24", "typecode", "callsign", "altitude_ft", "squawk"):
            assert key in r
    assert {r["icao24"] for r in rows if r["valid"]} == {"393322"}
    assert "AFR34ZG" in {r["callsign"] for r in rows}
    assert max(r["altitude_ft"] or 0 for r in rows if r["df"] == 17) == 35050
    assert rows[1]["df"] == 4 and rows[1]["altitude_ft"] == 575 and rows[1]["typecode"] is None


def test_text_output_and_stdin(shared: Callable[[str], Path]) -> None:
    text = shared("modes-pymodes-samples/sample_data_adsb.csv").read_text().splitlines()[:20]
    result = CliRunner().invoke(app, ["decode", "-"], input="\n".join(text) + "\nnot-a-frame\n")
    assert result.exit_code == 0, result.output
    assert "406b90" in result.stdout and "altitude_ft=" in result.stdout


def test_json_lines_carry_the_scalar_decode(shared: Callable[[str], Path]) -> None:
    import gzip

    from overflight.cli.decode import json_lines
    from overflight.modes import decode, decode_batch

    with gzip.open(shared(FULL_FLIGHT), "rt") as f:
        frames = [json.loads(line)["frame"] for _, line in zip(range(3000), f, strict=False)]
    rows = [json.loads(line) for line in json_lines(decode_batch(frames))]
    for frame, row in zip(frames, rows, strict=True):
        expect = decode(frame).to_dict()
        for key, value in expect.items():
            if key == "bds_candidates" and value == []:  # null in rows that are not Comm-B
                assert row[key] in (None, [])
            else:  # other Comm-B register fields appear where some row of the batch has them
                assert row.get(key) == value, (frame, key)


def test_raw_rtlsdr_iq_capture(shared: Callable[[str], Path]) -> None:
    """``--format iq``: the dump1090 test capture (2 MS/s) decodes to aircraft 4D2023 only
    (214 CRC-valid DF11/17 frames per an independent demodulator: a floor)."""
    iq = str(shared("iq-rtlsdr-modes1/modes1.bin"))
    result = CliRunner().invoke(app, ["decode", "--format", "iq", iq, "--json", "--no-summary"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) >= 214
    assert sum(r["df"] in (11, 17) and r["valid"] for r in rows) >= 214
    assert {r["icao24"] for r in rows if r["valid"]} == {"4d2023"}
    bad = CliRunner().invoke(app, ["decode", "--format", "iq", "--sample-rate", "1e6", iq])
    assert bad.exit_code == 2
    assert CliRunner().invoke(app, ["decode", "--format", "nope", iq]).exit_code == 2
