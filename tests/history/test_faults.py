"""A full disk: storing stops with a loud error and a count of what was not stored, what was
committed before stays readable, and the process (the live picture) keeps running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from overflight.history import open_history

SCRIPT = Path(__file__).with_name("_full_disk.py")


def test_a_full_disk_stops_storing_loudly_and_keeps_what_was_committed(tmp_path: Path) -> None:
    db = tmp_path / "full.duckdb"
    # the file-size limit (RLIMIT_FSIZE) makes every write past 4 MB fail as on a full disk
    res = subprocess.run([sys.executable, str(SCRIPT), str(db)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    stats = json.loads(out[0])
    assert out[1] == "alive"  # the process went on after the failure
    assert stats["failed"] is not None and "too large" in stats["failed"].lower()
    assert stats["stored"] >= 20_000
    assert stats["not_stored"] > 0
    assert stats["stored"] + stats["not_stored"] == 60 * 20_000
    assert "error: history: storing stopped" in res.stderr
    assert f"not stored since the failure: {stats['not_stored']:,} positions" in res.stderr
    store = open_history(db, read_only=True)
    try:
        assert store.counts()["positions"] == stats["stored"]
        times = store.con.execute("SELECT min(time_s), max(time_s) FROM positions").fetchall()
        assert times[0][0] == 1.7e9
    finally:
        store.close()
