"""``overflight db import`` and ``overflight db lookup`` on real files, in a tmp_path store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

import overflight.cli.db  # noqa: F401  (registers the db commands; other commands not needed)
from overflight.cli.app import app


def test_import_and_lookup(shared: Callable[[str], Path], tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "aircraft.sqlite"
    files = [shared("aircraft-plane-alert-db/plane-alert-db.csv"),
             shared("aircraft-db-tar1090/icao_aircraft_types2.json"),
             shared("aircraft-db-tar1090/operators.json")]
    res = runner.invoke(app, ["db", "import", *map(str, files), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "17,196 rows imported, 2 rejected (bad address: 2)" in " ".join(res.output.split())
    assert "resolved index: 17,196 addresses" in res.output
    assert (tmp_path / "aircraft.index.arrow").is_file()
    res = runner.invoke(app, ["db", "lookup", "1551E0", "--db", str(db), "--opinions"])
    assert res.exit_code == 0, res.output
    for text in ("RA-86496", "IL62", "Russian Air Force", "Russia (RU)", "yes (watchlist)"):
        assert text in res.output
    res = runner.invoke(app, ["db", "lookup", "RA86496", "--db", str(db)])
    assert res.exit_code == 0 and "1551E0" in res.output
    res = runner.invoke(app, ["db", "lookup", "N1A", "--db", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 0 and "A00002" in res.output and "derived" in res.output
    res = runner.invoke(app, ["db", "lookup", "XX-NOPE", "--db", str(db)])
    assert res.exit_code == 1
