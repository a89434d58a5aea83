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


def test_list_prints_the_alerts_stored_in_history(tmp_path: Path) -> None:
    import json

    import pyarrow as pa

    from overflight.alerts.service import AlertService
    from overflight.history import HistoryWriter
    from overflight.station import Events
    from overflight.station.schema import EVENTS_SCHEMA

    db = tmp_path / "h.duckdb"
    writer = HistoryWriter.open(db, kind="serve")
    svc = AlertService(parse_rules(RULES), history=writer)

    def ev(kind: str, t: float, cs: str, **kw: object) -> dict[str, object]:
        return {"event_id": f"{kind}{t}", "kind": kind, "time_s": t, "address": 0x393322,
                "non_icao": False, "icao24": "393322", "callsign": cs, "squawk": None,
                "lat_deg": 49.0, "lon_deg": 2.5, "airport": None, "before": None,
                "after": None, "flight_id": None, **kw}

    svc.on_update(Events(pa.Table.from_pylist([
        ev("first_seen", 1720245000.0, "AFL\x1b[2J"),
        ev("takeoff", 1720245600.0, "AFR34ZG", airport="LFPG", flight_id="f-1"),
        ev("landing", 1720252900.0, "AFR34ZG", airport="LFBO", flight_id="f-1"),
    ], schema=EVENTS_SCHEMA)))
    svc.close()
    writer.close()
    r = CliRunner().invoke(app, ["alerts", "list", "--db", str(db)])
    assert r.exit_code == 0, r.output
    lines = [x.split("\t") for x in r.stdout.splitlines() if x]
    assert lines[0] == ["time", "rule", "address", "callsign", "registration", "flight",
                        "what"]
    assert [x[1:4] + x[5:6] for x in lines[1:]] == [
        ["aeroflot seen", "393322", "AFL\\x1b[2J", ""],
        ["took off at LFPG", "393322", "AFR34ZG", "f-1"],
        ["landed at LFBO", "393322", "AFR34ZG", "f-1"]]
    r = CliRunner().invoke(app, ["alerts", "list", "--db", str(db), "--from",
                                 "2024-07-06T05:55", "--to", "2024-07-07", "--json"])
    assert r.exit_code == 0, r.output
    docs = [json.loads(x) for x in r.stdout.splitlines() if x]
    assert [(d["rule"], d["flight_id"]) for d in docs] == [
        ("took off at LFPG", "f-1"), ("landed at LFBO", "f-1")]
    r = CliRunner().invoke(app, ["alerts", "list", "--db", str(db), "--limit", "1", "--json"])
    assert [json.loads(x)["rule"] for x in r.stdout.splitlines() if x] == ["landed at LFBO"]
    r = CliRunner().invoke(app, ["alerts", "list", "--db", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2 and "no history database" in r.output
