"""Ingest real captures, ask them back: positions as the tracker gave them, the flight with
its airports, an airport's day, an area, who was seen, and what supports each answer."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from overflight.geo import haversine_m
from overflight.history import open_history
from overflight.history.query import History, QueryError, parse_area, parse_day, parse_time

from .conftest import Ingested

ADDRESS = 0x393322
DAY = date(2024, 7, 6)


@pytest.fixture()
def h(ingested: Ingested) -> History:
    hist = History(open_history(ingested.db, read_only=True))
    yield hist
    hist.close()


def test_every_frame_is_stored_once_with_numbers_that_continue_across_runs(
        ingested: Ingested, h: History) -> None:
    flight, beast = ingested.results
    assert flight.stored["frames"] == 57_793
    assert beast.stored["frames"] == 239
    con = h.store.con
    n, lo, hi, distinct = con.execute(
        "SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM frames").fetchall()[0]
    assert (n, lo, hi, distinct) == (58_032, 0, 58_031, 58_032)
    runs = con.execute("SELECT run_id, seq_first, kind FROM runs ORDER BY run_id").fetchall()
    assert runs == [(1, 0, "ingest"), (2, 57_793, "ingest")]


def test_the_beast_frames_are_stored_byte_for_byte(ingested: Ingested, h: History) -> None:
    from overflight.frames import FrameBatch
    from overflight.sources.files import read_batches

    batch = FrameBatch.concat(read_batches(ingested.beast))
    rows = h.store.con.execute(
        "SELECT raw, receiver, ticks FROM frames WHERE seq >= 57793 ORDER BY seq").fetchall()
    assert len(rows) == len(batch) == 239
    assert [r[0] for r in rows] == [batch.frame_bytes(i) for i in range(len(batch))]
    assert [int(r[2]) for r in rows] == batch.ticks.tolist()


def test_the_flight_comes_back_as_the_tracker_gave_it(ingested: Ingested, h: History) -> None:
    tr = h.track("393322")
    got = tr.positions
    want = ingested.station_positions
    assert got.num_rows == want.num_rows == ingested.results[0].stored["positions"]
    assert got.num_rows > 8_000
    t_got = got.column("time_s").to_numpy()
    order = np.argsort(want.column("time_s").to_numpy(), kind="stable")
    t_want = want.column("time_s").to_numpy()[order]
    assert np.array_equal(t_got, t_want)
    d = haversine_m(got.column("lat_deg").to_numpy(), got.column("lon_deg").to_numpy(),
                    want.column("lat_deg").to_numpy()[order],
                    want.column("lon_deg").to_numpy()[order])
    assert float(np.max(d)) < 1.0  # metres
    # the ground truth of the flight: from the gate at LFPG to Toulouse, at most FL350
    lat = got.column("lat_deg").to_numpy()
    assert abs(lat[0] - 49.0058) < 0.01 and abs(lat[-1] - 43.63) < 0.05
    assert np.nanmax(got.column("altitude_ft").to_numpy(zero_copy_only=False)) == 35_050.0


def test_a_window_cuts_the_track_half_open(h: History) -> None:
    t0, t1 = parse_time("2024-07-06T07:00:00Z"), parse_time("2024-07-06T07:10")
    p = h.track("393322", t0, t1).positions
    t = p.column("time_s").to_numpy()
    assert p.num_rows > 100 and t.min() >= t0 and t.max() < t1


def test_a_callsign_finds_its_aircraft(h: History) -> None:
    tr = h.track("AFR34ZG")
    assert tr.ref.matched == "callsign"
    assert tr.ref.addresses == ((ADDRESS, False),)
    assert tr.positions.num_rows > 8_000


def test_unknown_aircraft_inverted_range_and_bad_area_are_refused(h: History) -> None:
    with pytest.raises(QueryError, match="unknown"):
        h.track("NOSUCH1")
    with pytest.raises(QueryError, match="inverted"):
        h.track("393322", 1720250000.0, 1720240000.0)
    for bad in ("1,2,3", "44,1,43,2", "a,b,c,d", "95,0,96,1", "nan,1,2,3"):
        with pytest.raises(QueryError):
            parse_area(bbox=bad)
    with pytest.raises(QueryError):
        parse_area(circle="43,1,-5")
    with pytest.raises(QueryError):
        parse_day("2024-13-01")
    with pytest.raises(QueryError):
        h.airport_day("L'FBO", DAY)


def test_the_flight_with_its_airports_and_times(h: History) -> None:
    _ref, fl = h.flights_of("393322")
    rows = fl.to_pylist()
    assert len(rows) == 1
    f = rows[0]
    assert (f["departure_airport"], f["arrival_airport"]) == ("LFPG", "LFBO")
    assert f["departure_how"] == f["arrival_how"] == "observed"
    # took off about 06:59Z, landed about 07:58Z on 6 July 2024
    assert abs(f["departure_time_s"] - parse_time("2024-07-06T06:59:22Z")) < 120
    assert abs(f["arrival_time_s"] - parse_time("2024-07-06T07:58:43Z")) < 120


def test_an_airports_day(h: History) -> None:
    lfbo = h.airport_day("lfbo", DAY)
    assert lfbo.departures.num_rows == 0
    assert lfbo.arrivals.column("address").to_pylist() == [ADDRESS]
    lfpg = h.airport_day("LFPG", DAY)
    assert lfpg.departures.column("address").to_pylist() == [ADDRESS]
    assert h.airport_day("LFPG", date(2024, 7, 7)).departures.num_rows == 0


def test_an_area_and_window(h: History) -> None:
    t0, t1 = parse_time("2024-07-06"), parse_time("2024-07-07")
    near_toulouse = h.area(parse_area(circle="43.6292,1.3740,20"), t0, t1).to_pylist()
    assert [r["address"] for r in near_toulouse] == [ADDRESS]
    r = near_toulouse[0]
    assert r["callsigns"] == ["AFR34ZG"]
    assert r["first_s"] > parse_time("2024-07-06T07:40Z")  # it reached Toulouse at the end
    # the same area from a box, and nothing an hour before the flight
    box = h.area(parse_area(bbox="43.4,1.1,43.8,1.6"), t0, t1).to_pylist()
    assert [x["address"] for x in box] == [ADDRESS]
    assert h.area(parse_area(circle="43.6292,1.3740,20"), t0,
                  parse_time("2024-07-06T06:00Z")).num_rows == 0
    # a box across the antimeridian finds nothing here, and does not fail
    assert h.area(parse_area(bbox="-10,170,10,-170"), t0, t1).num_rows == 0


def test_who_was_seen_by_country(h: History) -> None:
    fr = h.aircraft(None, None, country="fr").to_pylist()
    assert [r["address"] for r in fr] == [ADDRESS]
    assert fr[0]["country"] == "France"
    assert h.aircraft(None, None, country="Germany").num_rows == 0


def test_each_answer_says_what_supports_it(h: History) -> None:
    p = h.track("393322").positions
    s = h.support(p)
    # every position names the frame that completed it (and an even/odd partner)
    assert s.frames == s.frames_referenced
    assert p.num_rows <= s.frames <= 2 * p.num_rows
    assert s.receivers == 1
    assert "receiver" in s.text()
    seqs = set(p.column("frame_seq").to_pylist())
    assert min(seqs) >= 0 and max(seqs) < 57_793


def test_a_registration_derived_from_a_heard_address_finds_it(ingested: Ingested) -> None:
    from overflight.identity import Identifier

    h = History(open_history(ingested.db, read_only=True), Identifier(None))  # no registry
    try:
        for text in ("F-GMZC", "fgmzc"):
            ref = h.resolve(text)
            assert (ref.matched, ref.addresses) == ("registration", ((ADDRESS, False),))
        assert h.track("F-GMZC").positions.num_rows > 8000
        with pytest.raises(QueryError, match="unknown"):
            h.resolve("F-HBXX")  # a French registration never heard here
    finally:
        h.close()


def test_who_was_seen_by_military_type_and_watchlist(ingested: Ingested, tmp_path) -> None:
    from overflight.identity import Identifier
    from overflight.identity.store import import_file, open_store

    csv_path = tmp_path / "watch.csv"
    csv_path.write_text(
        "$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,"
        "Category,$#Link\n"
        "393322,F-GMZC,Air France,Airbus A321,A321,Mil,Ferry,,,Watched,https://example.org\n",
        encoding="utf-8")
    store_path = tmp_path / "aircraft.sqlite"
    con = open_store(store_path)
    import_file(con, csv_path, source="mine")
    con.close()
    h = History(open_history(ingested.db, read_only=True), Identifier(store_path))
    try:
        t0, t1 = parse_time("2024-07-06"), parse_time("2024-07-07")
        assert h.aircraft(t0, t1, military=True).column("address").to_pylist() == [ADDRESS]
        assert h.aircraft(t0, t1, type_code="a321").column("type_code").to_pylist() == ["A321"]
        assert h.aircraft(t0, t1, type_code="B738").num_rows == 0
        wl = h.aircraft(t0, t1, watchlist="watched")
        assert wl.column("registration").to_pylist() == ["F-GMZC"]
        assert h.aircraft(t0, t1, watchlist="nothing").num_rows == 0
        assert h.aircraft(t0, t1, military=True, country="France").num_rows == 1
        assert h.aircraft(parse_time("2024-07-07"), parse_time("2024-07-08"),
                          military=True).num_rows == 0
    finally:
        h.close()
