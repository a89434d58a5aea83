"""Soak: 2,000 aircraft coming and going over six hours of scenario time, played as fast as it
goes through the station with flights on. The process stays the same size, the live picture
follows the scenario, and every frame is counted."""

from __future__ import annotations

import gc

import pytest

from overflight.sim.soak import SoakScenario, soak_batches
from overflight.station import Station, StationConfig


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


@pytest.mark.slow
def test_six_hours_of_two_thousand_aircraft_stay_the_same_size() -> None:
    sc = SoakScenario(aircraft=2000, duration_s=6 * 3600.0)
    st = Station(StationConfig(identify=False, expire_after_s=300.0))
    gone = 0

    def count_gone(u: object) -> None:
        nonlocal gone
        gone += u.table.num_rows  # type: ignore[attr-defined]

    st.subscribe(count_gone, kinds=("gone",), inline=True)
    hour = 0
    rss_after_first_hour = None
    peak_rss = 0.0
    peak_state = 0
    for batch in soak_batches(sc):
        st.process(batch)
        peak_state = max(peak_state, len(st.tracker))
        h = int((st.tracker.now_s - sc.start_s) // 3600)
        if h > hour:
            hour = h
            live = st._take_snapshot().aircraft
            assert len(live) == sc.live_at(st.tracker.now_s), f"hour {h}"
            gc.collect()
            rss = _rss_mb()
            if rss_after_first_hour is None:
                rss_after_first_hour = rss
            peak_rss = max(peak_rss, rss)
    st.finish()
    assert rss_after_first_hour is not None and hour == 6
    assert peak_rss <= 1.10 * rss_after_first_hour, (rss_after_first_hour, peak_rss)
    # the state holds the aircraft of one expiry window, not all 2,000 ever heard
    assert peak_state < 0.25 * sc.aircraft
    assert st.stats.frames == sc.frames()
    assert st.stats.batches_dropped == 0 and st.stats.failures == 0
    assert st.stats.events["first_seen"] == sc.aircraft
    assert gone + len(st.tracker) == sc.aircraft
    assert st.stats.flights_closed == sc.aircraft
    # every frame applied, or counted: an aircraft's first message waits for a second one
    # within 60 s in the same batch or is dropped as unconfirmed (readsb's rule)
    assert st.tracker.messages + st.tracker.dropped["unconfirmed"] == sc.frames()
    assert st.tracker.dropped["unconfirmed"] < sc.aircraft
