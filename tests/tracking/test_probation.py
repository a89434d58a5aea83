"""Bounded state: addresses heard once wait on probation, and the table has a cap (issue 17)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.encode import encode_df11, encode_identification
from overflight.tracking import SEEN_ONCE_SLOTS, Tracker


def _table(frames: list[bytes], times: list[float] | np.ndarray) -> pa.Table:
    return decode_batch(FrameBatch.from_bytes(frames, time_s=np.asarray(times, np.float64)))


def _fleet(first: int, count: int, t0: float, messages: int = 2) -> pa.Table:
    """``count`` aircraft from address ``first`` on, ``messages`` DF11 replies each, 0.1 s apart."""
    frames = [encode_df11(first + k) for j in range(messages) for k in range(count)]
    times = [t0 + 0.1 * j + 1e-5 * k for j in range(messages) for k in range(count)]
    return _table(frames, times)


def test_200k_addresses_heard_once_leave_the_state_table_empty_and_are_counted() -> None:
    rng = np.random.default_rng(11)
    addresses = rng.choice(1 << 24, 200_000, replace=False)
    tr = Tracker()
    per_batch = 20_000
    for b in range(0, addresses.size, per_batch):
        part = addresses[b : b + per_batch].tolist()
        t0 = 1000.0 + b / 2000.0  # 10 s per batch, 2,000 new addresses a second
        tr.update(_table([encode_df11(a) for a in part], t0 + np.arange(len(part)) * 5e-4))
    assert len(tr) == 0 and tr.state_nbytes() == 0
    assert tr.dropped["unconfirmed"] == 200_000
    assert tr.seen_once is not None
    assert len(tr.seen_once) <= SEEN_ONCE_SLOTS
    assert tr.seen_once.nbytes() <= SEEN_ONCE_SLOTS * 12
    assert tr.seen_once.overflowed > 0  # the newest were kept, the overflow counted


def test_a_second_message_within_the_window_confirms_an_address() -> None:
    tr = Tracker()
    tr.update(_table([encode_df11(0x4CA1F3)], [100.0]))
    assert tr.get(0x4CA1F3) is None and tr.dropped["unconfirmed"] == 1
    tr.update(_table([encode_identification(0x4CA1F3, "EIN123")], [130.0]))
    a = tr.get(0x4CA1F3)
    assert a is not None and a.callsign == "EIN123" and a.messages == 1
    assert a.first_seen_s == 130.0
    # a second message too late confirms nothing; it waits again
    tr.update(_table([encode_df11(0x3C4B26)], [200.0]))
    tr.update(_table([encode_df11(0x3C4B26)], [300.0]))
    assert tr.get(0x3C4B26) is None and tr.dropped["unconfirmed"] == 3
    tr.update(_table([encode_df11(0x3C4B26)], [310.0]))
    assert tr.get(0x3C4B26) is not None


def test_two_messages_of_one_batch_are_both_applied() -> None:
    tr = Tracker()
    tr.update(_fleet(0x400000, 50, 10.0))
    assert len(tr) == 50 and tr.dropped["unconfirmed"] == 0
    assert {a.messages for a in tr.all_aircraft()} == {2}
    assert tr.seen_once is not None and len(tr.seen_once) == 0


def test_a_full_table_evicts_the_longest_silent_or_refuses_and_counts() -> None:
    tr = Tracker(max_aircraft=100)
    tr.update(_fleet(0x100000, 100, 0.0))
    tr.update(_fleet(0x100000, 40, 5.0))  # the first 40 heard again: the rest silent longer
    assert len(tr) == 100
    # all 100 heard in the last 30 s: new aircraft are refused, not tracked
    tr.update(_fleet(0x200000, 30, 10.0))
    assert len(tr) == 100 and tr.refused == 30 and tr.dropped["table_full"] == 60
    assert tr.evicted == 0 and tr.get(0x200000) is None
    # 100 s later the 60 silent longest go first
    tr.update(_fleet(0x300000, 30, 100.0))
    assert len(tr) == 100 and tr.evicted == 30
    assert all(tr.get(0x300000 + k) is not None for k in range(30))
    assert all(tr.get(0x100000 + k) is not None for k in range(40))  # heard at 5 s: kept
    assert sum(tr.get(0x100000 + k) is not None for k in range(40, 100)) == 30


def test_messages_far_apart_confirm_nothing_until_two_come_within_the_window() -> None:
    tr = Tracker()
    frames = [encode_df11(0x4B1801), encode_df11(0x4B1801), encode_identification(0x4B1801, "SWR1")]
    tr.update(_table(frames, [0.0, 100.0, 110.0]))
    a = tr.get(0x4B1801)
    assert a is not None and a.messages == 2 and a.first_seen_s == 100.0 and a.callsign == "SWR1"
    assert tr.dropped["unconfirmed"] == 1


def _oracle(batches: list[list[tuple[float, int]]], window_s: float) -> dict[int, int]:
    """Messages applied per address under the seen-twice rule, walked message by message: an
    address is tracked from the first message that comes at most ``window_s`` after its
    previous one; that previous one is applied too when it is in the same batch."""
    applied: dict[int, int] = {}
    pending: dict[int, tuple[float, bool]] = {}  # address: (time, in this batch)
    for batch in batches:
        pending = {a: (t, False) for a, (t, _) in pending.items()}
        for t, a in batch:
            if a in applied:
                applied[a] += 1
            elif a in pending and t - pending[a][0] <= window_s:
                applied[a] = 2 if pending.pop(a)[1] else 1
            else:
                pending[a] = (t, True)
    return applied


def test_admission_matches_an_oracle_walking_message_by_message() -> None:
    rng = np.random.default_rng(3)
    pool = rng.choice(1 << 24, 300, replace=False)
    times = np.sort(rng.uniform(0.0, 2000.0, 3000))
    addresses = rng.choice(pool, times.size)
    batches = [
        list(zip(times[k : k + 250].tolist(), addresses[k : k + 250].tolist(), strict=True))
        for k in range(0, times.size, 250)
    ]
    tr = Tracker()
    for b in batches:
        tr.update(_table([encode_df11(a) for _, a in b], [t for t, _ in b]))
    want = _oracle(batches, 60.0)
    got = {a.address: a.messages for a in tr.all_aircraft()}
    assert got == want
    assert 0 < len(want) < len(pool)  # some addresses confirmed, some never
    assert tr.dropped["unconfirmed"] == times.size - sum(want.values())
