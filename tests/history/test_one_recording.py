"""Hourly recordings of one network stored as one recording: the Il-62's approach to Caracas
crosses the 15:00 file cut and stays one leg (stored file by file it is cut in two)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from overflight.history import open_history
from overflight.history.ingest import ingest_file, ingest_recording
from overflight.history.query import History


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    from overflight.sim.library import SCENARIO_FILES
    from overflight.sim.recordings import write_recordings
    from overflight.sim.scenario_file import parse_scenario

    spec = parse_scenario(SCENARIO_FILES["caracas-2019"], source="caracas-2019")
    t0 = datetime(2019, 3, 23, 14, 40, tzinfo=UTC).timestamp() - spec.scenario.start_time_s
    out = tmp_path_factory.mktemp("caracas")
    write_recordings(spec, out, from_s=t0, to_s=t0 + 40 * 60.0, background=0)
    files = sorted(out.glob("*.beast"))
    assert len(files) == 2  # 14:40-15:00 and 15:00-15:20
    return files, out / "receivers.csv"


def _legs(db: Path) -> list[dict[str, object]]:
    h = History(open_history(db, read_only=True))
    try:
        rows = h.flights([0x1551E0]).to_pylist()
    finally:
        h.close()
    return rows


def test_pieces_of_one_recording_make_one_leg(
    recordings: tuple[list[Path], Path], tmp_path: Path
) -> None:
    files, rx = recordings
    one = tmp_path / "one.duckdb"
    r = ingest_recording(list(files), one, receivers_csv=rx)
    assert r.failed is None and r.stored["frames"] > 0
    legs = _legs(one)
    assert len(legs) == 1
    leg = legs[0]
    assert leg["arrival_airport"] == "SVMI"
    # the leg began before the cut (first heard at 14:40) and landed after it
    assert float(leg["first_seen_s"]) < datetime(2019, 3, 23, 15, tzinfo=UTC).timestamp()  # type: ignore[arg-type]
    # ADS-B is off from 14:35 (the scenario): the approach is located by MLAT alone
    assert leg["position_sources"] == ["mlat"]

    apart = tmp_path / "apart.duckdb"
    for f in files:
        ingest_file(f, apart, receivers_csv=rx)
    assert len(_legs(apart)) == 2  # what one run per file gives: the leg cut at 15:00
