"""A second transmitter using a real aircraft's address cannot take its track over (issue 17).

Streams come from the project's encoder (``_spoof``): a straight flight with known truth, and a
spoofer interleaved with it from 10 s on, sending four frames a second (the aircraft sends two)
and claiming an "unlawful interference" emergency with squawk 4555 every second. On the old
tracker each of these moved the aircraft thousands of km and raised the emergency.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from overflight.modes import decode_batch
from overflight.modes.encode import encode_airborne_position, encode_aircraft_status
from overflight.tracking import OUTCOME_NAMES, Tracker
from overflight.tracking._cpr import greatcircle_m

from ._frames import batch_from_hex, cut_hex, load_jsonl
from ._spoof import (
    AMSTERDAM,
    PARIS,
    Flight,
    error_m,
    far_frames,
    random_frames,
    real_frames,
    stream,
)

FAR_AWAY = [(-81.9, 24.0), (-87.9, 168.0), (35.0, 139.0), (-33.9, 151.2)]
NEW_YORK = [(40.64, -73.78)]


def _track(tab: pa.Table, batch_rows: int | None = None) -> tuple[Tracker, pa.Table]:
    tr = Tracker()
    if batch_rows is None:
        return tr, tr.update(tab)
    parts = [tr.update(tab.slice(k, batch_rows)) for k in range(0, tab.num_rows, batch_rows)]
    return tr, pa.concat_tables(parts)


def _assert_real_track_kept(f: Flight, tr: Tracker, pos: pa.Table, real_positions: int) -> None:
    err = error_m(f, pos)
    assert err.size and err.max() < 100.0  # never a jump: every position on the real flight
    assert err.size >= real_positions - 2  # and the real frames keep being accepted
    a = tr.get(f.address)
    assert a is not None and a.lat_deg is not None and a.lon_deg is not None
    assert greatcircle_m(*f.at(a.last_seen_s), a.lat_deg, a.lon_deg) < 1000.0
    assert a.conflicting and a.conflicts >= 100
    assert tr.rejections["conflict"] >= 100
    assert tr.drain_events() == []  # no emergency from the spoofer's claims


@pytest.mark.parametrize("batch_rows", [None, 37])
def test_far_away_frames_under_the_same_address_never_move_the_aircraft(
    batch_rows: int | None,
) -> None:
    real = real_frames(AMSTERDAM, 120.0, "KLM1234")
    tab, _ = stream(real, far_frames(AMSTERDAM, 10.0, 100.0, FAR_AWAY))
    tr, pos = _track(tab, batch_rows)
    _assert_real_track_kept(AMSTERDAM, tr, pos, 240)
    a = tr.get(AMSTERDAM.address)
    assert a is not None and a.callsign == "KLM1234"


def test_random_payloads_with_valid_crc_never_move_the_aircraft() -> None:
    real = real_frames(AMSTERDAM, 120.0, "KLM1234")
    for seed in (1, 2, 3):
        tab, _ = stream(real, random_frames(AMSTERDAM, 10.0, 100.0, 8.0, seed))
        tr, pos = _track(tab)
        _assert_real_track_kept(AMSTERDAM, tr, pos, 200)


def test_paris_new_york_alternation_keeps_the_paris_track() -> None:
    real = real_frames(PARIS, 120.0, "AFR1234")
    tab, _ = stream(real, far_frames(PARIS, 10.0, 100.0, NEW_YORK))
    tr, pos = _track(tab)
    _assert_real_track_kept(PARIS, tr, pos, 240)
    codes = tr.last_outcomes
    assert int((codes == OUTCOME_NAMES.index("speed")).sum()) == 0


def test_two_sources_from_the_first_frame_are_never_paired_with_each_other() -> None:
    """No trusted position yet: an even and an odd frame that cannot be one aircraft's are
    not paired (a conflict); positions come only from pairs of one source."""
    real = real_frames(PARIS, 60.0, "AFR1234")
    tab, _ = stream(real, far_frames(PARIS, 0.0, 60.0, NEW_YORK))
    tr, pos = _track(tab)
    lat = pos.column("lat_deg").to_numpy()
    lon = pos.column("lon_deg").to_numpy()
    t = pos.column("time_s").to_numpy()
    for ti, la, lo in zip(t, lat, lon, strict=True):
        to_paris = greatcircle_m(*PARIS.at(ti), la, lo)
        to_new_york = greatcircle_m(*NEW_YORK[0], la, lo)
        assert min(to_paris, to_new_york) < 100.0
    a = tr.get(PARIS.address)
    assert a is not None and a.conflicting
    assert tr.drain_events() == []


def test_an_even_and_an_odd_frame_from_two_places_are_not_paired() -> None:
    """A Paris even frame and an odd frame sent for (-18, -170) decode together (as the old
    tracker did) to (36.9, -105.2), in Colorado: neither place. No trusted position yet, so
    the pair is judged alone: its two frames cannot be one aircraft's (a conflict)."""
    t0 = PARIS.t0_s
    frames = [
        (t0, encode_airborne_position(PARIS.address, *PARIS.at(t0), 36000, False)),
        (t0 + 0.5, encode_airborne_position(PARIS.address, -18.0, -170.0, 36000, True)),
        (t0 + 1.0, encode_airborne_position(PARIS.address, *PARIS.at(t0 + 1.0), 36000, True)),
        (t0 + 1.5, encode_airborne_position(PARIS.address, *PARIS.at(t0 + 1.5), 36000, False)),
    ]
    tab, _ = stream(frames)
    tr, pos = _track(tab)
    assert [OUTCOME_NAMES[c] for c in tr.last_outcomes] == [
        "no_reference",
        "conflict",
        "no_reference",
        "global",
    ]
    assert pos.num_rows == 1 and error_m(PARIS, pos).max() < 100.0
    a = tr.get(PARIS.address)
    assert a is not None and a.conflicts == 1


def test_a_confirmed_emergency_of_an_aircraft_without_conflicts_is_raised() -> None:
    real = real_frames(PARIS, 30.0, "AFR1234")
    claims = [
        (PARIS.t0_s + 20.3 + k, encode_aircraft_status(PARIS.address, "7700", "general"))
        for k in range(2)
    ]
    tab, _ = stream(real, claims)
    tr, _ = _track(tab)
    events = tr.drain_events()
    assert [(e.kind, e.squawk) for e in events] == [("squawk", "7700"), ("emergency", "7700")]
    assert events[0].time_s == pytest.approx(PARIS.t0_s + 21.3)


FULL = "modes-traffic-samples/full_flight_short.jsonl.gz"


def test_real_capture_with_a_spoofer_keeps_the_real_positions(
    shared: Callable[[str], Path],
) -> None:
    """The real A321 (393322) in cruise, 1,500 s of its frames, with a spoofer under its address
    sending frames of far-away places in between: the accepted positions are exactly those of
    the capture alone."""
    recs = load_jsonl(shared(FULL))[28000:40000]
    frames = [cut_hex(r["frame"]) for r in recs]
    times = [float(r["timestamp"]) for r in recs]
    alone = Tracker()
    pos0 = alone.update(decode_batch(batch_from_hex(frames, times)))
    t0 = times[200]
    rng = np.random.default_rng(5)
    spoof: list[tuple[float, str]] = []
    for k in range(int((times[-1] - t0) * 2)):
        lat, lon = FAR_AWAY[k % len(FAR_AWAY)]
        t = t0 + 0.5 * k + rng.random() * 0.1
        spoof.append((t, encode_airborne_position("393322", lat, lon, 36000, k % 2 == 1).hex()))
        if k % 2 == 0:
            spoof.append((t + 0.01, encode_aircraft_status("393322", "4555", "unlawful").hex()))
    rows = sorted([*zip(times, frames, strict=True), *spoof], key=lambda r: r[0])
    tr = Tracker()
    pos = tr.update(decode_batch(batch_from_hex([r[1] for r in rows], [r[0] for r in rows])))
    assert pos.num_rows == pos0.num_rows > 1200
    assert np.array_equal(pos.column("lat_deg").to_numpy(), pos0.column("lat_deg").to_numpy())
    assert np.array_equal(pos.column("lon_deg").to_numpy(), pos0.column("lon_deg").to_numpy())
    a = tr.get("393322")
    assert a is not None and a.conflicting and a.conflicts >= len(spoof) // 2 - 5
    assert tr.drain_events() == []
