"""State decoded by another decoder reaches tracking: SBS (BaseStation) lines and readsb
``aircraft.json``, from files (``overflight track``) and live (``serve --connect-sbs``), marked
with their source and never overriding the station's own decoding."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from typer.testing import CliRunner

from overflight.cli import app
from overflight.geo import haversine_m_scalar as greatcircle_m
from overflight.pipeline import sbs_hook
from overflight.sources.sbs import format_sbs
from overflight.station import Positions, Station, StationConfig
from overflight.station.live import run_live

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
SAMPLE = "modes-traffic-samples/sample_dump1090.bin"


def _sbs_lines(path: Path) -> list[str]:
    """The SBS lines a station writes for a real capture (its --sbs-out)."""
    st = Station(StationConfig(identify=False, flights=False))
    out: list[str] = []
    st.on_tracked(sbs_hook(st, lambda recs: out.extend(format_sbs(r) for r in recs)))
    st.run_file(path)
    return out


def test_an_sbs_file_is_tracked_with_source_sbs(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """The A321's SBS lines (as our --sbs-out writes them) tracked again: one aircraft, the
    same callsign and the same last position within a metre (SBS has 5 decimals), every
    position marked sbs / decoded; ``overflight track`` exits 0 and says what it read."""
    path = shared(FLIGHT)
    lines = _sbs_lines(path)
    sbs = tmp_path / "flight.sbs"
    sbs.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    ref = Station(StationConfig(identify=False, flights=False))
    ref.run_file(path)
    want = ref.tracker.get("393322")
    st = Station(StationConfig(identify=False, flights=False))
    got: list[pa.Table] = []
    st.subscribe(lambda u: got.append(u.table) if isinstance(u, Positions) else None,
                 inline=True)
    reader = st.run_file(sbs)
    assert reader.stats.format == "sbs" and reader.stats.rows == len(lines)
    a = st.tracker.get("393322")
    assert a is not None and want is not None
    assert a.callsign == want.callsign == "AFR34ZG"
    assert a.position_source == "sbs" and a.position_reference == "decoded"
    assert a.lat_deg is not None and want.lat_deg is not None
    assert greatcircle_m(a.lat_deg, a.lon_deg, want.lat_deg, want.lon_deg) < 1.0
    pos = pa.concat_tables(got)
    assert set(pos.column("source").to_pylist()) == {"sbs"}
    assert pos.num_rows > 0.9 * sum(1 for ln in lines if ln.startswith("MSG,3"))
    res = CliRunner().invoke(app, ["track", str(sbs)])
    assert res.exit_code == 0, res.output
    assert "AFR34ZG" in res.output and "SBS" in res.output
    assert "input: sbs (decoded elsewhere)" in res.output


def test_an_aircraft_json_file_is_tracked_with_source_json(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """``overflight track --json`` of a real capture, read back: the aircraft with positions,
    at the same places, marked json."""
    res = CliRunner().invoke(app, ["track", "--json", str(shared(SAMPLE))])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    doc["now"] = 1_700_000_000.0  # the capture's clock is relative: give it a date
    f = tmp_path / "aircraft.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    st = Station(StationConfig(identify=False, flights=False))
    reader = st.run_file(f)
    assert reader.stats.format == "json"
    with_pos = {a["hex"]: a for a in doc["aircraft"] if "lat" in a}
    assert with_pos
    for hexa, a in with_pos.items():
        s = st.tracker.get(hexa)
        assert s is not None and s.position_source == "json"
        assert s.lat_deg is not None and s.lon_deg is not None
        assert greatcircle_m(s.lat_deg, s.lon_deg, a["lat"], a["lon"]) < 1.0
    assert {a["hex"] for a in doc["aircraft"]} == {s.icao24 for s in st.tracker.all_aircraft()}


def test_decoded_state_never_overrides_the_stations_own_decoding(
    shared: Callable[[str], Path],
) -> None:
    """SBS lines claiming another place for a tracked aircraft, a second later: the ADS-B
    position stays (sbs ranks below adsb while the ADS-B data is fresh)."""
    from overflight.sources.sbs import SbsRecord

    st = Station(StationConfig(identify=False, flights=False))
    st.run_file(shared(FLIGHT))
    a = st.tracker.get("393322")
    assert a is not None and a.position_source == "adsb" and a.lat_deg is not None
    t = a.last_seen_s + 1.0
    st.process_sbs([SbsRecord(3, "393322", t, altitude_ft=0, latitude_deg=48.0,
                              longitude_deg=2.0, on_ground=True)])
    b = st.tracker.get("393322")
    assert b is not None and b.position_source == "adsb"
    assert (b.lat_deg, b.lon_deg) == (a.lat_deg, a.lon_deg)


def test_a_live_sbs_feed_reaches_tracking(shared: Callable[[str], Path]) -> None:
    """Station A takes the Beast sample from a feeder and serves SBS; station B reads A's SBS
    port (serve --connect-sbs): B's aircraft with positions are A's, at A's positions."""
    data = shared(SAMPLE).read_bytes()
    a_st = Station(StationConfig(listen_beast=0, sbs_out=0, identify=False, flights=False,
                                 expire_after_s=1e9))

    async def main() -> Station:
        ready: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        ta = asyncio.create_task(run_live(a_st, ready=ready.set_result, stats_every_s=3600))
        ports = await ready
        b_st = Station(StationConfig(connect_sbs=(("127.0.0.1", ports["sbs"]),),
                                     identify=False, flights=False, expire_after_s=1e9))
        tb = asyncio.create_task(run_live(b_st, stats_every_s=3600))
        deadline = time.monotonic() + 60
        while not b_st.subscriptions and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if b_st.stats.frames == 0 and a_st.stats.frames == 0:
                break
        await asyncio.sleep(1.0)  # B connected to A's SBS port
        _, w = await asyncio.open_connection("127.0.0.1", ports["ingest"])
        w.write(data)
        await w.drain()
        while b_st.stats.decoded < 50 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        w.close()
        for t in (tb, ta):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        return b_st

    b_st = asyncio.run(main())
    assert b_st.stats.decoded >= 50
    mine = {s.icao24: s for s in a_st.tracker.all_aircraft() if s.lat_deg is not None}
    theirs = {s.icao24: s for s in b_st.tracker.all_aircraft() if s.lat_deg is not None}
    assert mine and set(theirs) == set(mine)
    for hexa, s in theirs.items():
        m = mine[hexa]
        assert s.position_source == "sbs"
        assert greatcircle_m(s.lat_deg, s.lon_deg, m.lat_deg, m.lon_deg) < 2.0  # type: ignore[arg-type]
    assert not math.isnan(b_st.tracker.now_s)
