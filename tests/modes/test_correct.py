"""AddressFilter: addresses confirmed by clean DF11/17/18 frames, with expiry."""

from __future__ import annotations

import numpy as np

from overflight.modes import AddressFilter


def test_an_address_is_known_for_ttl_seconds_after_it_was_last_heard() -> None:
    f = AddressFilter(ttl_s=30.0)
    f.confirm(0xABCDEF, 100.0)
    assert 0xABCDEF in f and 0x123456 not in f
    f.confirm(0x123456, 125.0)
    assert 0xABCDEF in f
    f.confirm(0x123456, 131.0)
    assert 0xABCDEF not in f and 0x123456 in f
    f.expire()
    assert len(f) == 1 and f.addresses().tolist() == [0x123456]


def test_batch_confirmation_keeps_the_latest_time_per_address() -> None:
    f = AddressFilter(ttl_s=10.0)
    f.confirm_batch(np.array([1, 2, 1, 3]), np.array([5.0, 6.0, 20.0, np.nan]))
    assert 1 in f and 3 in f and 2 not in f  # 2 last heard at 6 s, latest time 20 s
    g = AddressFilter(addresses=[7, 8])
    assert 7 in g and 9 not in g and "x" not in g
