"""The evidence keys reach the database (frame numbers of events, flights and MLAT fixes point at
stored frames of the same aircraft), and a database of the previous schema is upgraded."""

from __future__ import annotations

from pathlib import Path

import duckdb

from overflight.history.ingest import ingest_file
from overflight.history.store import SCHEMA_VERSION, TABLES, open_history
from overflight.modes import decode
from overflight.sim import mlat_demo, simulate

from .conftest import BEAST, Ingested, need


def _raw(con: duckdb.DuckDBPyConnection, seq: int) -> bytes:
    row = con.execute("SELECT raw FROM frames WHERE seq = ?", [seq]).fetchone()
    assert row is not None, seq
    return bytes(row[0])


def test_events_and_flights_point_at_stored_frames(ingested: Ingested) -> None:
    con = duckdb.connect(str(ingested.db), read_only=True)
    try:
        events = con.execute(
            "SELECT kind, frame_seq, printf('%06x', address) FROM events").fetchall()
        assert {"first_seen", "takeoff", "landing"} <= {e[0] for e in events}
        for _, seq, icao in events:
            assert decode(_raw(con, seq)).icao24 == icao
        rows = con.execute(
            "SELECT printf('%06x', address), departure_frame_seq, arrival_frame_seq, "
            "first_frame_seq, last_frame_seq FROM flights WHERE departure_airport = 'LFPG'"
        ).fetchall()
        assert rows
        for icao, *seqs in rows:
            for s in seqs:
                assert decode(_raw(con, s)).icao24 == icao
    finally:
        con.close()


def test_mlat_fixes_name_their_stored_receptions(tmp_path: Path) -> None:
    """Two runs in one database: the second run's frame numbers are shifted past the first's,
    and its fixes' ``frame_seqs`` are shifted with them."""
    sim = simulate(mlat_demo(seed=3, duration_s=40.0))
    sim.write_beast(tmp_path / "demo.beast")
    sim.write_receivers_csv(tmp_path / "demo.receivers.csv")
    db = tmp_path / "h.duckdb"
    r0 = ingest_file(need(BEAST), db)
    assert r0.failed is None and r0.stored["frames"] > 100
    r1 = ingest_file(tmp_path / "demo.beast", db, receivers_csv=tmp_path / "demo.receivers.csv")
    assert r1.failed is None and r1.stored["fixes"] > 10
    con = duckdb.connect(str(db), read_only=True)
    try:
        fixes = con.execute(
            "SELECT printf('%06x', address), receivers, frame_seqs, gdop FROM fixes").fetchall()
        for icao, rx, seqs, gdop in fixes:
            assert len(rx) == len(seqs) >= 3 and gdop > 0
            got = con.execute(
                "SELECT receiver, raw FROM frames WHERE list_contains(?, seq) ORDER BY seq",
                [seqs]).fetchall()
            assert sorted(int(g[0]) for g in got) == sorted(rx)
            assert len({bytes(g[1]) for g in got}) == 1
            assert decode(bytes(got[0][1])).icao24 == icao
            assert min(seqs) >= r0.stored["frames"]  # numbered after the first run's frames
    finally:
        con.close()


def test_a_database_of_the_previous_schema_is_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    open_history(db).close()
    con = duckdb.connect(str(db))  # make it a version-1 file: drop what version 2 added
    for table, column in (("fixes", "frame_seqs"), ("fixes", "gdop"), ("events", "frame_seq"),
                          ("flights", "departure_frame_seq"), ("flights", "last_frame_seq")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    store = open_history(db)
    store.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),)
        for table in ("fixes", "events", "flights"):
            cols = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [table]).fetchall()}
            want = {c.split(" ")[0] for c in TABLES[table].split(", ")
                    if c.split(" ")[0].isidentifier()}
            assert want <= cols, want - cols
    finally:
        con.close()
