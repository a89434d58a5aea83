"""Delivery of updates to subscribers: each on its own thread behind a bounded queue, so a slow
or failing subscriber never slows or stops ingest.

A subscriber that raises is logged and removed; a full queue drops the update (counted) or, for
file runs where nothing may be lost, makes the station wait (``block=True``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from overflight.station.updates import Subscriber, SubscriberLike, Update

__all__ = ["Subscription", "SubscriptionStats"]

log = logging.getLogger("overflight.station")

_STOP = object()


@dataclass(slots=True)
class SubscriptionStats:
    """Counts of one subscription: updates delivered, dropped on a full queue, and the error
    that removed it (None while it runs)."""

    delivered: int = 0
    dropped: int = 0
    failed: str | None = None
    dropped_by_kind: dict[str, int] = field(default_factory=dict)


def _callable(sub: SubscriberLike) -> Callable[[Update], None]:
    if isinstance(sub, Subscriber):
        return sub.on_update
    if callable(sub):
        return sub
    raise TypeError(f"not a subscriber (a callable or an object with on_update): {sub!r}")


class Subscription:
    """One subscriber with its queue and thread (or inline: called on the station's thread).

    Args:
        sub: a callable or an object with ``on_update(update)``.
        name: for logs and statistics.
        kinds: update names to deliver (``Frames.name``...; None: all).
        inline: call on the station's own thread (no queue; for cheap subscribers and tests).
        queue_size: updates waiting before the next is dropped (or waited for).
        block: wait for room instead of dropping (file runs: nothing may be lost).
    """

    def __init__(
        self,
        sub: SubscriberLike,
        *,
        name: str | None = None,
        kinds: frozenset[str] | None = None,
        inline: bool = False,
        queue_size: int = 1024,
        block: bool = False,
    ) -> None:
        self.fn = _callable(sub)
        self.name = name or getattr(sub, "name", None) or type(sub).__name__
        self.kinds = kinds
        self.inline = inline
        self.block = block
        self.stats = SubscriptionStats()
        self._q: queue.Queue[object] = queue.Queue(maxsize=max(1, queue_size))
        self._thread: threading.Thread | None = None
        self._closing = getattr(sub, "close", None)
        if not inline:
            self._thread = threading.Thread(
                target=self._run, name=f"overflight-sub-{self.name}", daemon=True
            )
            self._thread.start()

    @property
    def alive(self) -> bool:
        """False once the subscriber failed (it gets nothing more)."""
        return self.stats.failed is None

    def wants(self, update: Update) -> bool:
        """Whether this subscription takes updates of ``update``'s kind."""
        return self.alive and (self.kinds is None or update.name in self.kinds)

    def deliver(self, update: Update) -> None:
        """Hand ``update`` on (never raises; never blocks unless ``block``)."""
        if not self.wants(update):
            return
        if self.inline:
            self._call(update)
            return
        try:
            if self.block:
                self._q.put(update)
            else:
                self._q.put_nowait(update)
        except queue.Full:
            self.stats.dropped += 1
            k = update.name
            self.stats.dropped_by_kind[k] = self.stats.dropped_by_kind.get(k, 0) + 1

    def _call(self, update: Update) -> None:
        try:
            self.fn(update)
            self.stats.delivered += 1
        except Exception as exc:
            self.stats.failed = f"{type(exc).__name__}: {exc}"
            log.exception("subscriber %s failed and was removed", self.name)

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            if self.alive:
                self._call(item)  # type: ignore[arg-type]

    def close(self, timeout_s: float = 30.0) -> None:
        """Deliver what is queued, stop the thread, and call the subscriber's ``close()``."""
        if self._thread is not None:
            self._q.put(_STOP)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("subscriber %s did not finish within %.0f s", self.name, timeout_s)
        if self._closing is not None and callable(self._closing):
            try:
                self._closing()
            except Exception:
                log.exception("subscriber %s failed to close", self.name)
