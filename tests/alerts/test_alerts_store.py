"""Alerts stored in the history database: a real capture stored by a history writer with an
alert service attached to the same station; the alerts, their outbox and their evidence are
rows of that database (joined with its frames and flights), they survive a kill -9 right after
they were stored, and without a history database they go to an alerts-only file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from overflight.alerts import parse_rules
from overflight.alerts.service import AlertService
from overflight.alerts.store import AlertStore
from overflight.history import HistoryWriter
from overflight.history.store import open_history
from overflight.modes import decode
from overflight.station import Events, Station, StationConfig
from overflight.station.schema import EVENTS_SCHEMA

FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
SEQ_FIRST = 10_000  # frames of an earlier run come first: the alerts use the table's numbers


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rules(hook: str) -> str:
    return f"""
[[rule]]
name = "landed at Toulouse"
select = {{}}
when = {{ landed = {{ airport = ["LFBO"] }} }}
notify = ["log", "{hook}"]

[[rule]]
name = "took off from Roissy"
select = {{}}
when = {{ took_off = {{ airport = ["LFPG"] }} }}
notify = ["log", "{hook}"]
"""


def test_alerts_are_rows_of_the_history_database_with_their_evidence(
    shared: Callable[[str], Path], identity_db: Path, tmp_path: Path
) -> None:
    db = tmp_path / "h.duckdb"
    hook = f"webhook:http://127.0.0.1:{_dead_port()}/hook"
    station = Station(StationConfig(identity_db=identity_db))
    writer = HistoryWriter(open_history(db), kind="ingest", seq_first=SEQ_FIRST)
    station.subscribe(writer, block=True)
    svc = AlertService(parse_rules(_rules(hook)), store=tmp_path / "not-used.duckdb")
    svc.attach(station)  # finds the history writer: alerts go to its database and run
    try:
        station.run_file(shared(FLIGHT))
    finally:
        station.close()  # the writer's last flush, then it closes its connection
        svc.close()
    assert not (tmp_path / "not-used.duckdb").exists()
    h = open_history(db, read_only=True)
    try:
        con = h.con
        rows = con.execute(
            "SELECT rule, icao24, callsign, registration, flight_id, run_id, len(frame_seqs), "
            "time_s, flight_time_s FROM alerts ORDER BY seq").fetchall()
        assert [r[:4] for r in rows] == [
            ("took off from Roissy", "393322", "AFR34ZG", "F-GMZC"),
            ("landed at Toulouse", "393322", "AFR34ZG", "F-GMZC")]
        run_id = con.execute("SELECT max(run_id) FROM runs").fetchone()
        assert run_id is not None and {r[5] for r in rows} == {run_id[0]}
        assert rows[0][4] == rows[1][4] is not None  # one flight, both ends
        assert all(r[6] >= 2 for r in rows) and all(r[7] == r[8] for r in rows)
        # the flight the alerts name is the stored one, from LFPG to LFBO
        legs = con.execute("SELECT DISTINCT f.departure_airport, f.arrival_airport FROM alerts "
                           "a JOIN flights f USING (flight_id)").fetchall()
        assert legs == [("LFPG", "LFBO")]
        # the evidence's frames are rows of the frames table (its numbering), of the A321
        ev = con.execute("SELECT a.rule, f.seq, f.raw FROM alerts a, unnest(a.frame_seqs) "
                         "AS u(s) JOIN frames f ON f.seq = u.s ORDER BY f.seq").fetchall()
        assert len(ev) == sum(r[6] for r in rows)
        assert min(s for _, s, _ in ev) >= SEQ_FIRST
        assert {decode(bytes(raw)).icao24 for _, _, raw in ev} == {"393322"}
        docs = {json.loads(d)["id"]: json.loads(d) for (d,) in
                con.execute("SELECT doc FROM alerts").fetchall()}
        for d in docs.values():
            stored = {p["frame_seq"] + SEQ_FIRST for p in d["evidence"]["positions"]}
            assert stored <= {s for _, s, _ in ev}
        # the receiver was down: both wait in the outbox, in the order they fired
        out = con.execute("SELECT o.alert_id, o.target, o.done_s FROM alerts_outbox o "
                          "ORDER BY n").fetchall()
        assert [(t, d) for _, t, d in out] == [(hook, None), (hook, None)]
        first = con.execute("SELECT id FROM alerts ORDER BY seq").fetchall()
        assert [a for a, _, _ in out] == [r[0] for r in first]
    finally:
        h.close()


_KILLED = """
import sys, pyarrow as pa
from overflight.alerts import parse_rules
from overflight.alerts.service import AlertService
from overflight.history import HistoryWriter
from overflight.station import Events
from overflight.station.schema import EVENTS_SCHEMA
writer = HistoryWriter.open(sys.argv[1], kind="serve")
rules = parse_rules('[[rule]]\\nname = "seen"\\nselect = {}\\nwhen = { first_seen = true }\\n'
                    'notify = ["webhook:http://127.0.0.1:9/x"]\\n')
svc = AlertService(rules, history=writer)
rows = [{"event_id": f"e{i}", "kind": "first_seen", "time_s": 1.7e9 + i,
         "address": 0x400000 + i, "non_icao": False, "icao24": f"{0x400000 + i:06x}",
         "callsign": f"T{i}", "squawk": None, "lat_deg": 51.0, "lon_deg": 0.1,
         "airport": None, "before": None, "after": None, "flight_id": None}
        for i in range(7)]
svc.on_update(Events(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)))
print("stored", svc.store.count(), flush=True)
sys.stdin.read()
"""


def test_stored_alerts_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "h.duckdb"
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_KILLED), str(db)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.strip() == b"stored 7", p.stderr.read() if p.stderr else b""
        os.kill(p.pid, signal.SIGKILL)
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    store = AlertStore.open(db)  # the write-ahead log is replayed
    try:
        assert store.count() == 7
        assert store.outbox_counts() == {"webhook:http://127.0.0.1:9/x": {
            "delivered": 0, "pending": 7, "failed_attempts": 0, "last_error": None}}
        head = store.head("webhook:http://127.0.0.1:9/x")
        assert head is not None and json.loads(head.doc)["icao24"] == "400000"
    finally:
        store.close()


def test_without_history_alerts_go_to_an_alerts_only_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERFLIGHT_HOME", str(tmp_path / "home"))
    svc = AlertService(parse_rules(_rules("log")))
    rows = [{"event_id": "e1", "kind": "landing", "time_s": 1.7e9, "address": 0x393322,
             "non_icao": False, "icao24": "393322", "callsign": "AFR34ZG",
             "squawk": None, "lat_deg": 43.63, "lon_deg": 1.37, "airport": "LFBO",
             "before": None, "after": None, "flight_id": "393322-1"}]
    svc.on_update(Events(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA)))
    assert svc.store.path == tmp_path / "home" / "alerts.duckdb"
    svc.close()
    store = AlertStore.open(tmp_path / "home" / "alerts.duckdb")
    try:
        (doc,) = store.recent()
        d = json.loads(doc)
        assert (d["rule"], d["flight_id"], d["flight_time_s"]) == \
            ("landed at Toulouse", "393322-1", 1.7e9)
    finally:
        store.close()
