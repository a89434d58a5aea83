"""``overflight sim``: writes the Beast file, truth and receivers; rejects bad arguments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from overflight.cli import app
from overflight.frames import FrameBatch
from overflight.sources.files import read_batches


def test_sim_writes_beast_truth_and_receivers(tmp_path: Path) -> None:
    out = tmp_path / "demo.beast"
    res = CliRunner().invoke(app, ["sim", "mlat-demo", "--out", str(out), "--duration", "15"])
    assert res.exit_code == 0, res.output
    fb = FrameBatch.concat(list(read_batches(out)))
    truth = (tmp_path / "demo.truth.csv").read_text().splitlines()
    rx = (tmp_path / "demo.receivers.csv").read_text().splitlines()
    assert rx[0] == "serial,latitude,longitude,height,type,name" and len(rx) == 7
    assert set(np.unique(fb.receiver).tolist()) == {1001, 1002, 1003, 1004, 1005, 1006}
    heard = sum(int(line.rsplit(",", 1)[1]) for line in truth[1:])
    assert heard == len(fb) > 1000
    assert any('"3b7777"' in line and '"df4"' in line for line in truth)


def test_sim_rejects_unknown_scenarios_and_missing_outputs(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["sim", "nope", "--out", str(tmp_path / "x.beast")])
    assert r.exit_code != 0 and "mlat-demo" in r.output
    r = CliRunner().invoke(app, ["sim", "mlat-demo"])
    assert r.exit_code != 0
