"""Receivers tables: a bad row is rejected with its line and serial, never stops the others."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.mlat.receivers import ReceiverRegistry, receiver_problem

SENSORS = "mlat-locards-sample/sensors.csv"

BAD_ROWS = {
    "2001,nan,inf,1e999,SBS-3,FALSE": "latitude nan is not finite",
    "2002,45.0,inf,100,SBS-3,FALSE": "longitude inf is not finite",
    "2003,45.0,7.0,1e999,SBS-3,FALSE": "height inf is not finite",
    "2004,91.0,7.0,100,SBS-3,FALSE": "latitude 91.0 is outside [-90, 90] degrees",
    "2005,45.0,-180.5,100,SBS-3,FALSE": "longitude -180.5 is outside [-180, 180] degrees",
    "2006,45.0,7.0,1500000,SBS-3,FALSE": "height 1500000.0 m is outside [-1000, 20000] m",
    "2007,45.0": "no longitude",
    "2008,north,7.0,100,SBS-3,FALSE": "latitude 'north' is not a number",
    "x9,45.0,7.0,100,SBS-3,FALSE": "serial 'x9' is not an integer",
    "99999999999999999999,45.0,7.0,100,SBS-3,FALSE": "serial outside the 64-bit range",
    "1,45.0,7.0,100,SBS-3,FALSE": "serial 1 already used by an earlier row",
}


def _table(shared: Callable[[str], Path], tmp_path: Path) -> tuple[Path, int]:
    """The real LocaRDS sensors table with the bad rows appended; its number of data rows."""
    text = shared(SENSORS).read_text()
    n = text.count("\n") - 1
    path = tmp_path / "sensors.csv"
    path.write_text(text + "\n".join(BAD_ROWS) + "\n")
    return path, n


def test_bad_rows_are_rejected_with_line_serial_and_reason(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    path, n = _table(shared, tmp_path)
    reg = ReceiverRegistry.from_csv(path)
    assert len(reg) == n == 716  # every real receiver loads
    got = {(r.line, r.serial): r.reason for r in reg.rejected}
    want = {(n + 2 + i, row.split(",")[0]): why for i, (row, why) in enumerate(BAD_ROWS.items())}
    assert got == want
    assert str(reg.rejected[0]) == "line 718 (serial '2001'): latitude nan is not finite"
    assert reg[1].lat_deg == pytest.approx(46.68106661)  # the first row with serial 1 is kept
    # every loaded receiver is usable by the solver
    ids = reg.ids()
    assert np.isfinite(reg.ecef_m(ids)).all() and len(ids) == n


def test_no_usable_row_gives_an_empty_registry_with_every_reason(tmp_path: Path) -> None:
    path = tmp_path / "rx.csv"
    path.write_text("serial,latitude,longitude,height,type\n2,nan,inf,1e999,dump1090\n")
    reg = ReceiverRegistry.from_csv(path)
    assert len(reg) == 0
    assert [str(r) for r in reg.rejected] == [
        "line 2 (serial '2'): latitude nan is not finite"
    ]


def test_an_oversized_field_is_rejected_and_the_next_row_loads(tmp_path: Path) -> None:
    path = tmp_path / "rx.csv"
    path.write_text(
        "serial,latitude,longitude,height,type\n"
        '1,"' + "4" * 200_000 + '",7,100,dump1090\n'
        "2,45.0,7.0,100,dump1090\n"
    )
    reg = ReceiverRegistry.from_csv(path)
    assert reg.ids() == [2]
    assert len(reg.rejected) == 1 and reg.rejected[0].line == 2


def test_receiver_problem_accepts_the_edges() -> None:
    assert receiver_problem(90.0, 180.0, -400.0) is None
    assert receiver_problem(-90.0, -180.0, 8849.0) is None
    assert receiver_problem(0.0, 0.0, 0.0) is None
    assert receiver_problem(math.nan, 0.0, 0.0) == "latitude nan is not finite"


def test_tracking_with_one_corrupt_receiver_row_uses_the_others(tmp_path: Path) -> None:
    """`track --receivers` with a row ``<serial>,nan,inf,1e999`` stopped with a traceback in
    the CPR decode against that receiver's position; now that receiver is rejected (its frames
    counted as from an unknown receiver) and the others still multilaterate."""
    from overflight.pipeline import mlat_feed, track_file
    from overflight.sim import mlat_demo, simulate

    sim = simulate(mlat_demo(seed=2, duration_s=30.0))
    beast = tmp_path / "demo.beast"
    sim.write_beast(beast)
    rx = tmp_path / "demo.receivers.csv"
    sim.write_receivers_csv(rx)
    lines = rx.read_text().splitlines()
    serial = lines[1].split(",")[0]
    lines[1] = f"{serial},nan,inf,1e999,dump1090"
    rx.write_text("\n".join(lines) + "\n")
    feed = mlat_feed(rx)
    assert [(r.line, r.serial) for r in feed.registry.rejected] == [(2, serial)]
    assert len(feed.registry) == len(lines) - 2
    positions: list[object] = []
    track_file(beast, mlat=feed, on_positions=positions.append)
    assert feed.stats.skipped["unknown_receiver"] > 0
    assert feed.stats.fixes > 0
