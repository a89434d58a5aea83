"""Rules over recorded data, for writing rules without waiting: a capture run through a
station, or the frames stored in the history database replayed run by run (as
:mod:`overflight.history.rebuild` does). Nothing is delivered; the alerts are returned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from overflight.alerts.engine import Alert, AlertEngine
from overflight.alerts.rules import RuleSet

__all__ = ["alerts_over_capture", "alerts_over_history"]


def _station(receivers_csv: Path | None, identity_db: Path | None, identify: bool) -> Any:
    from overflight.station import Station, StationConfig

    return Station(StationConfig(receivers_csv=receivers_csv, identity_db=identity_db,
                                 identify=identify))


def alerts_over_capture(rules: RuleSet, path: str | Path, *,
                        receivers_csv: str | Path | None = None,
                        identity_db: str | Path | None = None, identify: bool = True,
                        failure: list[BaseException] | None = None) -> list[Alert]:
    """Run the capture at ``path`` (any format the station reads) through a station with an
    engine on ``rules``; every alert that would fire, in order."""
    st = _station(Path(receivers_csv) if receivers_csv else None,
                  Path(identity_db) if identity_db else None, identify)
    engine = AlertEngine(rules, recent=10_000_000)
    engine.attach(st, block=True)
    try:
        st.run_file(path, failure=failure)
    finally:
        st.close()
    return list(engine.recent)


def alerts_over_history(rules: RuleSet, db: str | Path, start_s: float | None,
                        end_s: float | None, *, identity_db: str | Path | None = None,
                        identify: bool = True) -> list[Alert]:
    """Replay the stored frames of every run with frames in [start_s, end_s) through a
    station with an engine on ``rules`` (each run from its first batch, as it was
    processed); the alerts whose time is in the window, in order."""
    import numpy as np

    from overflight.history.rebuild import frame_batch, runs_in_window
    from overflight.history.store import first_row, open_history

    store = open_history(db, read_only=True, create=False)
    out: list[Alert] = []
    try:
        for run_id in runs_in_window(store, start_s, end_s):
            con = store.con
            run = first_row(con.execute("SELECT receivers_csv FROM runs WHERE run_id = $r",
                                        {"r": run_id}))
            rx = run[0] if run else None
            rx_path = Path(str(rx)) if rx and Path(str(rx)).is_file() else None
            batches = con.execute("SELECT seq_first, n FROM batches WHERE run_id = $r ORDER "
                                  "BY seq_first", {"r": run_id}).fetchall()
            if not batches:
                continue
            lo = int(batches[0][0])
            hi = int(batches[-1][0]) + int(batches[-1][1])
            params: dict[str, Any] = {"lo": lo, "hi": hi}
            frames = store.cursor().sql(
                "SELECT seq, time_s, receiver, signal_dbfs, ticks, raw FROM "
                f"{store.source('frames', params)} WHERE seq >= $lo AND seq < $hi ORDER BY seq",
                params=params).to_arrow_table()
            st = _station(rx_path, Path(identity_db) if identity_db else None, identify)
            engine = AlertEngine(rules, recent=10_000_000)
            engine.attach(st, block=True)
            seq0 = frames.column("seq").to_numpy()
            for s, n in batches:
                a = int(np.searchsorted(seq0, int(s)))
                b = int(np.searchsorted(seq0, int(s) + int(n)))
                if b > a:
                    st.process(frame_batch(frames.slice(a, b - a)))
            st.finish()
            st.close()
            out += [al for al in engine.recent
                    if (start_s is None or al.time_s >= start_s)
                    and (end_s is None or al.time_s < end_s)]
    finally:
        store.close()
    return out
