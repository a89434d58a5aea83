"""A long-running tracker stays the same size: expiry, bounded events, bounded MLAT statistics."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.encode import (
    encode_airborne_position,
    encode_aircraft_status,
    encode_identification,
)
from overflight.tracking import EXPIRED_SCHEMA, Tracker
from overflight.tracking.mlat_feed import VERIFY_SAMPLE, MlatFeedStats


def _wave(first_address: int, count: int, t0: float) -> pa.Table:
    """``count`` aircraft from ``first_address`` on, each sending 10 messages over 4.5 s."""
    frames: list[bytes] = []
    times: list[float] = []
    for k in range(count):
        addr = first_address + k
        lat, lon = 48.0 + 0.01 * k, 2.0 + 0.01 * k
        for j in range(10):
            if j == 0:
                frames.append(encode_identification(addr, f"T{addr:06X}"))
            else:
                odd = j % 2 == 1
                frames.append(encode_airborne_position(addr, lat, lon + 1e-3 * j, 35000, odd))
            times.append(t0 + 0.5 * j + 1e-4 * k)
    order = np.argsort(times, kind="stable")
    return decode_batch(
        FrameBatch.from_bytes([frames[i] for i in order], time_s=np.asarray(times)[order])
    )


def test_aircraft_that_come_and_go_are_expired_and_the_table_stays_bounded() -> None:
    tr = Tracker()
    sizes: list[int] = []
    allocated: list[int] = []
    gone_total = 0
    strings: list[int] = []
    for wave in range(30):
        t0 = 1_000.0 + 100.0 * wave
        pos = tr.update(_wave(0x400000 + 1000 * wave, 300, t0))
        # every position names its aircraft's callsign, also after the strings were compacted
        want = [f"T{a:06X}" for a in pos.column("address").to_pylist()]
        assert pos.column("callsign").to_pylist() == want
        gone = tr.expire(t0 + 10.0, 60.0)
        assert gone.schema == EXPIRED_SCHEMA
        if wave:  # the previous wave, silent for 95 s, is gone; this one stays
            assert gone.num_rows == 300
            assert set(gone.column("address").to_pylist()) == set(
                range(0x400000 + 1000 * (wave - 1), 0x400000 + 1000 * (wave - 1) + 300)
            )
            assert gone.column("messages").to_pylist() == [10] * 300
        gone_total += gone.num_rows
        sizes.append(len(tr))
        strings.append(len(tr.strings.values))
        allocated.append(tr.table.allocated_nbytes())
        assert len(tr.all_aircraft()) == 300
        assert len(tr.live(t0 + 10.0)) == 300
    assert max(sizes) == 300 and tr.expired == gone_total == 29 * 300
    # 9,000 callsigns seen, those of expired aircraft forgotten (each aircraft has its own)
    assert max(strings) < 4096 + 2 * 300 + 600 and min(strings[16:]) < 1000
    assert allocated[-1] == allocated[2]  # no growth once the table has its working size
    assert tr.state_nbytes() < 300 * 700
    # the address index still finds every aircraft held, and only those
    assert tr.get(0x400000 + 29 * 1000 + 7) is not None
    assert tr.get(0x400000 + 28 * 1000 + 7) is None
    a = tr.get(0x400000 + 29 * 1000 + 299)
    assert a is not None and a.callsign == f"T{0x400000 + 29 * 1000 + 299:06X}"


def test_an_expired_aircraft_heard_again_starts_a_new_state() -> None:
    tr = Tracker()
    tr.update(_wave(0x3C6444, 3, 100.0))
    before = tr.get(0x3C6445)
    assert before is not None and before.messages == 10 and before.lat_deg is not None
    gone = tr.expire(200.0, 60.0)
    assert gone.num_rows == 3 and len(tr) == 0 and tr.all_aircraft() == []
    assert gone.column("icao24").to_pylist() == ["3c6444", "3c6445", "3c6446"]
    assert gone.column("first_seen_s").to_pylist()[0] == 100.0
    tr.update(_wave(0x3C6445, 1, 300.0))
    after = tr.get(0x3C6445)
    assert after is not None
    assert after.first_seen_s == 300.0 and after.messages == 10
    assert tr.expire(300.0, 60.0).num_rows == 0


def test_expire_keeps_the_last_rows_of_the_batch_right() -> None:
    tr = Tracker()
    tr.update(_wave(0x100000, 2, 0.0))
    tab = _wave(0x200000, 2, 500.0)
    tr.update(tab)
    tr.expire(505.0, 60.0)  # removes the two aircraft of the first wave (rows 0 and 1)
    keys = tr.table.rows["key"][tr.last_rows[tr.last_rows >= 0]]
    assert set(keys.tolist()) == {0x200000, 0x200001}


def test_pending_events_are_bounded_and_drops_counted() -> None:
    frames: list[bytes] = []
    times: list[float] = []
    for k in range(5):
        for j in range(2):
            frames.append(encode_aircraft_status(0x500000 + k, "7700", "general"))
            times.append(10.0 * k + j)
    tr = Tracker(max_events=3)
    tr.update(decode_batch(FrameBatch.from_bytes(frames, time_s=np.asarray(times))))
    assert len(tr.events) == 3 and tr.events_dropped == 7
    events = tr.drain_events()
    # each aircraft raised a squawk and an emergency event: the newest three are kept
    assert [(e.icao24, e.kind) for e in events] == [
        ("500003", "emergency"),
        ("500004", "squawk"),
        ("500004", "emergency"),
    ]
    assert tr.drain_events() == [] and len(tr.events) == 0


def test_mlat_verification_sample_is_bounded_and_keeps_the_median() -> None:
    st = MlatFeedStats()
    rng = np.random.default_rng(7)
    values = rng.exponential(100.0, 60_000)  # median 100 ln 2 = 69.3 m
    for v in values.tolist():
        st.add_verify(v)
    assert st.verify_count == 60_000
    assert len(st.verify_m) == VERIFY_SAMPLE
    assert abs(st.median_verify_m - float(np.median(values))) < 3.0
    assert np.isnan(MlatFeedStats().median_verify_m)
