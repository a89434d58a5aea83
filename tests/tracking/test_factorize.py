"""The compiled factorize of state keys: pandas.factorize's numbering (first appearance)."""

from __future__ import annotations

import numpy as np

from overflight.tracking._factorize import factorize_keys


def _reference(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # distinct keys by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inv.reshape(-1)], uniq[order]


def test_numbers_keys_in_order_of_first_appearance() -> None:
    rng = np.random.default_rng(7)
    for n, k in ((0, 1), (1, 1), (7, 3), (1000, 50), (100_000, 3000), (50_000, 50_000)):
        pool = rng.integers(0, 2**32, k, dtype=np.uint64).astype(np.uint32)
        pool[: min(k, 3)] = [0, 0xFFFFFFFF, 1 << 24][: min(k, 3)]  # edges: 0, all ones, flag bit
        keys = pool[rng.integers(0, k, n)] if n else np.zeros(0, np.uint32)
        codes, uniq = factorize_keys(keys)
        want_codes, want_uniq = _reference(keys)
        assert np.array_equal(uniq, want_uniq) and uniq.dtype == np.uint32
        assert np.array_equal(codes, want_codes)
        assert np.array_equal(uniq[codes], keys)
