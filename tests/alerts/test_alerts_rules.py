"""Rules files: the documented examples and the shipped defaults load; faults are named by
line and field; a bad edit while running keeps the last good rules."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from overflight.alerts import DEFAULT_RULES, RulesError, parse_rules
from overflight.alerts.service import AlertService

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def _doc_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_documented_examples_and_defaults_load() -> None:
    blocks = _doc_blocks()
    assert blocks, "docs/alerts.md has TOML examples"
    for b in blocks:
        parse_rules(b, "docs/alerts.md")
    issue = parse_rules(blocks[0])
    assert [r.name for r in issue.rules] == ["military landed abroad", "aeroflot seen",
                                             "near the base"]
    assert [r.kind for r in issue.rules] == ["landed", "first_seen", "entered"]
    assert issue.rules[0].params == {"outside_country_of_registration": True}
    assert issue.rules[1].select.callsign == ("AFL*",)
    area = issue.rules[2].area
    assert area is not None and (area.lat_deg, area.lon_deg, area.radius_km) == (55.88, 38.06, 50)
    d = parse_rules(DEFAULT_RULES)
    assert {r.kind for r in d.rules} == {"landed", "emergency", "took_off"}


BAD = """\
[[rule]]
name = "ok"
select = {}
when = { first_seen = true }
notify = ["log"]

[[rule]]
name = "bad circle"
select = { military = "yes" }
when = { entered = { circle = { lat = 55.0, lon = 38.0, radius_km = -5 } } }
notify = ["log"]

[[rule]]
name = "bad event"
select = {}
when = { landedd = true }
notify = ["pager:123"]
"""


def test_every_fault_is_named_with_its_line_and_field() -> None:
    with pytest.raises(RulesError) as ei:
        parse_rules(BAD, "rules.toml")
    text = str(ei.value).splitlines()
    assert "rules.toml:9: rule 2 ('bad circle'): select.military: expected true or false, " \
           "got 'yes'" in text
    assert any(t.startswith("rules.toml:10: rule 2 ('bad circle'): when.entered.circle.radius_km")
               for t in text)
    assert any(t.startswith("rules.toml:16: rule 3 ('bad event'): when.landedd: unknown event")
               for t in text)
    assert any(t.startswith("rules.toml:17: rule 3 ('bad event'): notify: not a target")
               for t in text)


@pytest.mark.parametrize(("text", "expect"), [
    ("[[rule]]\nname = 'x'\nselect = {}\nwhen = { first_seen = true \n", ":4: not valid TOML"),
    ("[[rule]]\nselect = {}\nwhen = { first_seen = true }\nnotify = ['log']\n",
     ":1: rule 1: name: every rule needs a name"),
    ("[[rule]]\nname = 'a'\nselect = { country = 'Russia' }\nwhen = { first_seen = true }\n"
     "notify = ['log']\n", ":3: rule 1 ('a'): select.country: not an ISO 3166 alpha-2"),
    ("[[rule]]\nname = 'a'\nselect = {}\nwhen = { first_seen = true, landed = true }\n"
     "notify = ['log']\n", ":4: rule 1 ('a'): when: expected exactly one event"),
    ("[[rule]]\nname = 'a'\nselect = {}\nwhen = { silent = { minutes = 0, near = { country = "
     "'RU' } } }\nnotify = ['log']\n", ":4: rule 1 ('a'): when.silent.minutes"),
    ("[settings]\ncooldown_min = -1\n", ":2: settings.cooldown_min"),
    ("[[rule]]\nname = 'a'\nselect = {}\nwhen = { first_seen = true }\n", ": rule 1 ('a'): notify:"
     " missing"),
])
def test_malformed_rules_say_where(text: str, expect: str) -> None:
    with pytest.raises(RulesError) as ei:
        parse_rules(text, "f.toml")
    assert expect in str(ei.value)


def test_a_bad_file_at_start_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "rules.toml"
    p.write_text(BAD, encoding="utf-8")
    with pytest.raises(RulesError):
        AlertService.from_file(p, store=tmp_path / "alerts.duckdb")
    p.write_bytes(b"\xff\xfe[[rule]]")
    with pytest.raises(RulesError, match="not UTF-8"):
        AlertService.from_file(p, store=tmp_path / "alerts.duckdb")


def test_a_bad_edit_while_running_keeps_the_last_good_rules(tmp_path: Path) -> None:
    p = tmp_path / "rules.toml"
    p.write_text(DEFAULT_RULES, encoding="utf-8")
    svc = AlertService.from_file(p, store=tmp_path / "alerts.duckdb", watch_every_s=0.05)
    svc.start()
    try:
        good = svc.rules
        assert len(good.rules) == 4
        p.write_text(BAD, encoding="utf-8")
        deadline = time.monotonic() + 10
        while svc.reload_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc.rules is good
        assert svc.reload_error is not None and "when.landedd" in svc.reload_error
        st = svc.status()
        assert st["rules"] == 4 and "rules.toml:16" in st["reload_error"]
        p.write_text(DEFAULT_RULES + "\n[[rule]]\nname = 'n'\nselect = {}\n"
                     "when = { first_seen = true }\nnotify = ['log']\n", encoding="utf-8")
        deadline = time.monotonic() + 10
        while svc.reload_error is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc.reload_error is None and len(svc.rules.rules) == 5
    finally:
        svc.close()
