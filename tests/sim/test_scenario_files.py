"""Scenario files: validation errors name the file, the key or line and the problem; built-in
files load; gate-to-gate profiles follow real runways; the CLI writes recordings and truth."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from overflight.cli import app
from overflight.cli.sim import BUILTIN_NAMES
from overflight.frames import FrameBatch
from overflight.sim import BUILTIN_SCENARIOS
from overflight.sim.airports import airport
from overflight.sim.library import SCENARIO_FILES
from overflight.sim.scenario_file import ScenarioError, load_scenario, parse_scenario
from overflight.sim.stream import simulate_stream
from overflight.sources.files import read_batches

GOOD = SCENARIO_FILES["larnaca-beirut"]


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as ei:
        parse_scenario(text, source="test.toml")
    return ei.value


@pytest.mark.parametrize(
    ("old", "new", "where", "what"),
    [
        ('from = "LCLK"', 'from = "XQXQ"', "aircraft[1].leg[1].from", "unknown airport 'XQXQ'"),
        ('from = "OLBA"', 'from = "LCLK"', "aircraft[1].leg[2]", "same airport"),
        ('type = "A320"', 'type = "A999"', "aircraft[1].type", "unknown type 'A999'"),
        ('icao24 = "4CA2B1"', 'icao24 = "4CA2"', "aircraft[1].icao24", "6 hex digits"),
        ('squawk = "4621"', 'squawk = "4691"', "aircraft[1].squawk", "octal"),
        ('id = 4002', 'id = 4001', "receiver[2].id", "used twice"),
        ('lat = 34.8900', 'lat = 134.89', "receiver[1].lat", "out of range"),
        ('clock = "gps"', 'clock = "atomic"', "receiver[4].clock", "'12mhz' or 'gps'"),
        ('name = "larnaca"', 'nmae = "larnaca"', "receiver[1].nmae", "unknown key"),
        ("off_block = 2024-06-01T10:20:00Z", 'off_block = "10:20"', "aircraft[1].leg[2].off_block",
         "ISO 8601"),
        ("off_block = 2024-06-01T10:20:00Z", "off_block = 2024-06-01T08:40:00Z",
         "aircraft[1].leg", "leaves before leg 1 is on blocks"),
        ('duration = "4h"', 'duration = "4 parsecs"', "scenario.duration", "duration like"),
        ('to = "OLBA"\n', 'to = "OLBA"\narrival_runway = "99"\n',
         "aircraft[1].leg[1].arrival_runway", "OLBA has no runway '99'"),
    ],
)  # fmt: skip
def test_mistakes_are_named_by_key(old: str, new: str, where: str, what: str) -> None:
    assert old in GOOD
    e = _error(GOOD.replace(old, new, 1))
    assert e.where == where and what in e.what, str(e)
    assert str(e).startswith(f"test.toml: {where}: ")


def test_syntax_errors_give_the_line_and_a_file_names_itself(tmp_path: Path) -> None:
    bad = GOOD.replace('name = "larnaca"', 'name = larnaca', 1)
    line = bad.splitlines().index("name = larnaca") + 1
    e = _error(bad)
    assert e.where.startswith(f"line {line},") and "TOML syntax" in e.what
    p = tmp_path / "my scenario.toml"
    p.write_text(GOOD.replace("[scenario]\n", "[scenario]\nstart_at = 1\n"))
    with pytest.raises(ScenarioError, match=r"my scenario\.toml: scenario\.start_at: unknown key"):
        load_scenario(p)
    with pytest.raises(ScenarioError, match=r"scenario\.name: missing"):
        parse_scenario('[scenario]\nstart = 2024-01-01T00:00:00Z\nduration = 60\n')
    with pytest.raises(ScenarioError, match="a time needs its zone"):
        parse_scenario('[scenario]\nname = "x"\nstart = 2024-01-01T00:00:00\nduration = 60\n')


def test_every_builtin_is_listed_and_loads() -> None:
    assert set(BUILTIN_NAMES) == set(SCENARIO_FILES) | set(BUILTIN_SCENARIOS)
    res = CliRunner().invoke(app, ["sim", "--help"], env={"COLUMNS": "200"})
    for name in BUILTIN_NAMES:
        assert name in res.output
    for name, text in SCENARIO_FILES.items():
        spec = parse_scenario(text, source=name)
        assert spec.scenario.name == name and spec.legs


def test_caracas_2019_content() -> None:
    spec = parse_scenario(SCENARIO_FILES["caracas-2019"])
    sc = spec.scenario
    ac = {a.icao24: a for a in sc.aircraft}
    assert {a.registration for a in sc.aircraft} == {"RA-86496", "RA-82035"}
    assert ac["1551e0"].typecode == "IL62" and ac["154073"].typecode == "A124"
    assert [(lg.origin, lg.destination) for lg in spec.legs["1551e0"]] == [
        ("UUMU", "OSLK"), ("OSLK", "SVMI")]  # fmt: skip
    assert [(lg.origin, lg.destination) for lg in spec.legs["154073"]] == [
        ("UUMU", "OSLK"), ("OSLK", "SVMI"), ("SVMI", "OSLK")]  # fmt: skip

    def day(s: float) -> int:  # day of March 2019 (1553212800: 22 March 00:00 UTC)
        return int((sc.start_time_s + s - 1553212800) // 86400) + 22

    assert day(spec.legs["1551e0"][0].takeoff_s) == 22
    assert day(spec.legs["1551e0"][1].landing_s) == 23
    assert day(spec.legs["154073"][2].takeoff_s) == 24
    assert "approximate" in spec.note
    # the ADS-B-off window covers the Il-62's last half hour before touchdown at SVMI
    landing = spec.legs["1551e0"][1].landing_s
    (a, b), = ac["1551e0"].adsb_off
    assert landing - 45 * 60 < a < landing - 15 * 60 and b > landing
    # at least 4 receivers within 160 km of SVMI around it, none over the Atlantic
    svmi = airport("SVMI")
    near = []
    for r in sc.receivers:
        d = np.hypot(r.lat_deg - svmi.lat_deg, (r.lon_deg - svmi.lon_deg) * np.cos(0.185)) * 111
        near += [(r.lon_deg - svmi.lon_deg, r.lat_deg - svmi.lat_deg)] if d < 160 else []
        assert not (-55 < r.lon_deg < 25 and r.lat_deg < 33), r.label  # Atlantic / N Africa
    assert len(near) >= 4
    angles = sorted(np.degrees(np.arctan2(y, x)) % 360 for x, y in near)
    gaps = np.diff([*angles, angles[0] + 360])
    assert gaps.max() < 180  # they surround the airport


def test_a_journey_uses_real_runways_and_stays_parked() -> None:
    spec = parse_scenario(GOOD)
    (ac,) = spec.scenario.aircraft
    out, back = spec.legs["4ca2b1"]
    lclk, olba = airport("LCLK"), airport("OLBA")
    assert out.departure_runway in {r.ident for r in lclk.runways}
    assert out.arrival_runway in {r.ident for r in olba.runways}
    # take-off and touchdown on the runway (within 50 m of its centre line)
    for lat, lon, ap, ident in (
        (out.takeoff_lat_deg, out.takeoff_lon_deg, lclk, out.departure_runway),
        (out.landing_lat_deg, out.landing_lon_deg, olba, out.arrival_runway),
    ):
        rw = ap.runway(ident)
        t = np.linspace(0, 1, 2001)
        la = rw.threshold_lat_deg + t * (rw.end_lat_deg - rw.threshold_lat_deg)
        lo = rw.threshold_lon_deg + t * (rw.end_lon_deg - rw.threshold_lon_deg)
        d = np.hypot(la - lat, (lo - lon) * np.cos(np.radians(lat))) * 111_195
        assert d.min() < 50
    path = ac.path
    assert not hasattr(path, "points")
    tt = np.array([out.takeoff_s - 5, out.takeoff_s + 5, out.landing_s - 5, out.landing_s + 5,
                   (out.on_block_s + back.off_block_s) / 2])  # fmt: skip
    ground = path.ground_at(tt)  # type: ignore[union-attr]
    assert ground.tolist() == [True, False, False, True, True]
    alt, _ = path.altitude_at(tt)  # type: ignore[union-attr]
    assert 30_000 > alt[1] > alt[0] and alt[2] < 500
    h = path.at(tt)
    assert h.groundspeed_kt[-1] == 0.0 and h.groundspeed_kt[1] > 140


def test_nothing_is_emitted_mid_ocean() -> None:
    spec = parse_scenario(SCENARIO_FILES["caracas-2019"])
    sc = spec.scenario
    # 23 March 05:00-11:00Z: both aircraft over the Mediterranean's west end and the Atlantic
    res = list(simulate_stream(sc, from_s=11 * 3600, to_s=17 * 3600))
    assert res == []


def test_cli_writes_recordings_receivers_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    r = CliRunner().invoke(
        app,
        ["sim", "larnaca-beirut", "--out", str(out), "--from", "2024-06-01T08:20Z",
         "--to", "50min"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    beast = sorted(out.glob("larnaca-beirut-*.beast"))
    assert [p.name for p in beast] == ["larnaca-beirut-20240601T082000Z.beast"]
    fb = FrameBatch.concat(list(read_batches(beast[0])))
    assert set(np.unique(fb.receiver).tolist()) <= {4001, 4002, 4003, 4004}
    assert fb.time_s.min() > 1717230000 and fb.time_s.max() < 1717231800 + 1
    rx = (out / "receivers.csv").read_text().splitlines()
    assert rx[0] == "serial,latitude,longitude,height,type,name" and len(rx) == 5
    truth = json.loads((out / "truth.json").read_text())
    (ac,) = truth["aircraft"]
    assert ac["registration"] == "EI-DVM" and ac["legs"][0]["departure_airport"] == "LCLK"
    assert ac["legs"][0]["takeoff_time"].startswith("2024-06-01T08:3")
    legs = (out / "truth_legs.csv").read_text().splitlines()
    assert legs[1].startswith("4ca2b1,EI-DVM,LCLK,OLBA,2024-06-01T08:30:00Z")
    track = (out / "truth_track.csv").read_text().splitlines()
    assert track[0].startswith("icao24,time,time_s,lat_deg") and len(track) > 150


def test_cli_show_and_bad_files(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["sim", "caracas-2019", "--show"])
    assert r.exit_code == 0 and parse_scenario(r.output).scenario.name == "caracas-2019"
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('type = "A320"', 'type = "Z999"'))
    r = CliRunner().invoke(app, ["sim", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "bad.toml: aircraft[1].type: unknown type 'Z999'" in r.output
    r = CliRunner().invoke(app, ["sim", str(tmp_path / "none.toml"), "--out", str(tmp_path)])
    assert r.exit_code != 0 and "caracas-2019" in r.output
    r = CliRunner().invoke(
        app, ["sim", "larnaca-beirut", "--out", str(tmp_path / "o"), "--from", "5h"]
    )
    assert r.exit_code != 0 and "empty" in r.output
    r = CliRunner().invoke(app, ["sim", "mlat-demo", "--out", str(tmp_path / "x"), "--from", "1h"])
    assert r.exit_code != 0


def test_push_streams_one_feeder_per_receiver_over_real_sockets() -> None:
    """``--push`` on a scenario file: one TCP connection per receiver, its id first, frames
    and time records moved to the wall clock (the window's start = when play starts)."""
    import asyncio

    from overflight.sim.serve import push_stream
    from overflight.sources.beast import parse_beast

    spec = parse_scenario(GOOD)
    sc = spec.scenario
    got: dict[int, bytearray] = {}

    async def main() -> int:
        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            buf = got.setdefault(len(got), bytearray())
            while chunk := await r.read(65536):
                buf.extend(chunk)
            w.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        a = 40 * 60.0  # 08:40Z: taxiing and climbing out of Larnaca
        results = simulate_stream(sc, from_s=a, to_s=a + 120.0)
        ids = [r.receiver_id for r in sc.receivers]
        sent = await push_stream(
            results, ids, "127.0.0.1", port, from_s=a, speed=math.inf,
            scenario_start_s=sc.start_time_s,
        )  # fmt: skip
        await asyncio.sleep(0.3)
        server.close()
        await server.wait_closed()
        return sent

    import math

    before = time.time()
    sent = asyncio.run(main())
    assert len(got) == len(sc.receivers) and sent > 1000
    frames = 0
    for data in got.values():
        chunk = parse_beast(bytes(data), final=True)
        assert chunk.stats.errors == 0
        frames += len(chunk.frames)
        if len(chunk.frames):
            assert len(np.unique(chunk.frames.receiver)) == 1
            t = chunk.record_time_s[np.isfinite(chunk.record_time_s)]
            assert before - 1 < t.min() and t.max() < before + 130
    assert frames == sent
