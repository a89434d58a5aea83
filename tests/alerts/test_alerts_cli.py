"""``overflight alerts``: check names faults by line and field, defaults load, test prints one
line per alert over a real capture and over the history database of the same capture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from _alerts_data import FLIGHT
from typer.testing import CliRunner

from overflight.alerts import parse_rules
from overflight.cli import app

RULES = """
[[rule]]
name = "took off at LFPG"
select = {}
when = { took_off = { airport = "LFPG" } }
notify = ["log"]

[[rule]]
name = "landed at LFBO"
select = {}
when = { landed = { airport = "LFBO" } }
notify = ["log"]

[[rule]]
name = "aeroflot seen"
select = { callsign = "AFL*" }
when = { first_seen = true }
notify = ["log"]
"""


def test_check_names_each_fault_and_exits_1(tmp_path: Path) -> None:
    p = tmp_path / "r.toml"
    p.write_text("[[rule]]\nname = 'x'\nselect = { type = 5 }\nwhen = { landed = true }\n"
                 "notify = ['log']\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["alerts", "check", str(p)])
    assert r.exit_code == 1
    assert f"error: {p}:3: rule 1 ('x'): select.type: expected a string" in r.output
    p.write_text(RULES, encoding="utf-8")
    r = CliRunner().invoke(app, ["alerts", "check", str(p)])
    assert r.exit_code == 0 and "3 rules" in r.output


def test_defaults_print_rules_that_load() -> None:
    r = CliRunner().invoke(app, ["alerts", "defaults"])
    assert r.exit_code == 0
    assert len(parse_rules(r.output).rules) == 4


def test_test_over_a_capture_and_over_history(shared: Callable[[str], Path], tmp_path: Path,
                                              identity_db: Path) -> None:
    p = tmp_path / "r.toml"
    p.write_text(RULES, encoding="utf-8")
    r = CliRunner().invoke(app, ["alerts", "test", str(p), "--input", str(shared(FLIGHT)),
                                 "--aircraft-db", str(identity_db)])
    assert r.exit_code == 0, r.output
    lines = [x for x in r.stdout.splitlines() if x]
    assert lines[0].split("\t") == ["time", "rule", "address", "callsign", "registration",
                                    "what"]
    assert [x.split("\t")[1:5] for x in lines[1:]] == [
        ["took off at LFPG", "393322", "AFR34ZG", "F-GMZC"],
        ["landed at LFBO", "393322", "AFR34ZG", "F-GMZC"]]
    assert lines[1].startswith("2024-07-06T06:59")

    from overflight.history.ingest import ingest_file

    db = tmp_path / "h.duckdb"
    ingest_file(shared(FLIGHT), db)
    r = CliRunner().invoke(app, ["alerts", "test", str(p), "--db", str(db), "--from",
                                 "2024-07-06T00:00", "--to", "2024-07-07", "--aircraft-db",
                                 str(identity_db)])
    assert r.exit_code == 0, r.output
    assert [x.split("\t")[1:5] for x in r.stdout.splitlines()[1:] if x] == [
        ["took off at LFPG", "393322", "AFR34ZG", "F-GMZC"],
        ["landed at LFBO", "393322", "AFR34ZG", "F-GMZC"]]
    r = CliRunner().invoke(app, ["alerts", "test", str(p), "--db", str(db), "--from",
                                 "2024-07-06T07:30", "--to", "2024-07-07", "--aircraft-db",
                                 str(identity_db)])
    assert [x.split("\t")[1] for x in r.stdout.splitlines()[1:] if x] == ["landed at LFBO"]
    r = CliRunner().invoke(app, ["alerts", "test", str(p)])
    assert r.exit_code == 2


def test_alerts_help_imports_no_heavy_module() -> None:
    import subprocess
    import sys

    code = ("import sys\nsys.argv = ['overflight', 'alerts', 'test', '--help']\n"
            "from overflight.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code\n"
            "print('HEAVY', *sorted(m for m in ('numpy', 'pyarrow', 'pandas', 'scipy', 'numba',"
            " 'shapely', 'duckdb') if m in sys.modules), file=sys.stderr)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert "HEAVY\n" in res.stderr, res.stderr
