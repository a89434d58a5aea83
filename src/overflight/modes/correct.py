"""Addresses recently confirmed by a clean DF11/17/18: the guard for address/parity recovery.

DF0/4/5/16/20/21 carry the address XOR'ed into the parity, so any noise "decodes" to some
address. Accepting only addresses recently heard in a frame with a real CRC check (dump1090's
"recently seen ICAO" list) keeps noise from inventing aircraft. The caller owns the filter; the
decoder only reads it, and adds addresses from clean (uncorrected) DF11/17/18 frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

__all__ = ["AddressFilter"]


class AddressFilter:
    """Addresses confirmed by a clean DF11/17/18 within the last ``ttl_s`` seconds.

    Times are reception times in seconds (any epoch); frames without a time confirm an address
    with no expiry.
    """

    __slots__ = ("_seen", "latest_s", "ttl_s")

    def __init__(self, ttl_s: float = 60.0, addresses: Iterable[int] = ()) -> None:
        self.ttl_s = ttl_s
        self._seen: dict[int, float] = {int(a): math.inf for a in addresses}
        self.latest_s = -math.inf

    def __len__(self) -> int:
        return len(self._seen)

    def __iter__(self) -> Iterator[int]:
        return iter(self.addresses().tolist())

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, int | np.integer):
            return False
        t = self._seen.get(int(address))
        return t is not None and (t == math.inf or self.latest_s - t <= self.ttl_s)

    def confirm(self, address: int, time_s: float | None = None) -> None:
        """Record ``address`` as heard in a clean frame at ``time_s``."""
        t = math.inf if time_s is None or math.isnan(time_s) else float(time_s)
        if t != math.inf and t > self.latest_s:
            self.latest_s = t
        old = self._seen.get(address)
        if old is None or (old != math.inf and t > old):
            self._seen[address] = t

    def confirm_batch(self, addresses: npt.ArrayLike, times_s: npt.ArrayLike | None = None) -> None:
        """Record many addresses at once (``times_s`` NaN/None: no expiry)."""
        a = np.asarray(addresses, dtype=np.int64)
        if a.size == 0:
            return
        t = np.full(a.shape, np.nan) if times_s is None else np.asarray(times_s, dtype=np.float64)
        t = np.where(np.isnan(t), np.inf, t)
        order = np.lexsort((t, a))
        a, t = a[order], t[order]
        last = np.r_[a[1:] != a[:-1], True]  # latest time per address
        finite = t[np.isfinite(t)]
        if finite.size:
            self.latest_s = max(self.latest_s, float(finite.max()))
        for addr, tt in zip(a[last].tolist(), t[last].tolist(), strict=True):
            self.confirm(addr, None if tt == math.inf else tt)

    def expire(self, now_s: float | None = None) -> None:
        """Forget addresses not confirmed within ``ttl_s`` of ``now_s`` (default: latest time)."""
        now = self.latest_s if now_s is None else now_s
        self._seen = {a: t for a, t in self._seen.items() if t == math.inf or now - t <= self.ttl_s}

    def addresses(self) -> npt.NDArray[np.int64]:
        """The currently confirmed addresses (sorted)."""
        live = [a for a in self._seen if a in self]
        return np.array(sorted(live), dtype=np.int64)
