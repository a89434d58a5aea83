"""The alert service: rules file (reloaded when it changes), engine, store and delivery.

>>> svc = AlertService.from_file("rules.toml")       # doctest: +SKIP  (RulesError if bad)
>>> svc.attach(station)                               # doctest: +SKIP
>>> svc.start()                                       # doctest: +SKIP  (delivery + watcher)
>>> routes = alert_routes(svc)                        # doctest: +SKIP  (overflight.alerts.routes)

Alerts are stored in the history database (:mod:`overflight.alerts.store`): attached to a
station that stores history (a :class:`~overflight.history.HistoryWriter` subscribed, as
``serve --db`` does), in that database and run; else in the file ``store`` names (default
``alerts.duckdb`` beside the default history database), opened when first needed.

A bad rules file at start raises :class:`~overflight.alerts.rules.RulesError`; a bad edit
while running is logged (every fault with its line and field), the last good rules stay in
force, and :meth:`AlertService.status` says so until a good version is saved.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overflight.alerts.engine import Alert, AlertEngine
from overflight.alerts.notify import Dispatcher, alert_line, clean
from overflight.alerts.rules import RulesError, RuleSet, load_rules
from overflight.alerts.store import AlertStore

__all__ = ["AlertService"]

log = logging.getLogger("overflight.alerts")


class AlertService:
    """Everything alerts need around a station.

    Args:
        rules: the rules in force.
        rules_path: the file they came from (watched by :meth:`start`, re-read by
            :meth:`reload`).
        store: an :class:`AlertStore`, or the path of an alerts-only file used when no
            history database is found at :meth:`attach` (default
            :func:`~overflight.alerts.store.default_alerts_path`).
        history: a :class:`~overflight.history.HistoryWriter` (its run and frame numbering
            kept) or :class:`~overflight.history.store.HistoryStore` to store alerts in.
        identify: ``address -> identity`` (default: the station's, when attached).
        base_backoff_s, max_backoff_s: retry schedule of failed deliveries.
        watch_every_s: how often :meth:`start`'s watcher looks at the rules file.
        senders: delivery overrides by scheme (tests).
    """

    def __init__(self, rules: RuleSet, *, rules_path: str | Path | None = None,
                 store: AlertStore | str | Path | None = None,
                 history: Any = None,
                 identify: Callable[[int], Any] | None = None,
                 base_backoff_s: float = 1.0, max_backoff_s: float = 300.0,
                 watch_every_s: float = 2.0,
                 senders: dict[str, Callable[..., None]] | None = None) -> None:
        self.rules_path = Path(rules_path) if rules_path is not None else None
        self._store: AlertStore | None = store if isinstance(store, AlertStore) else None
        self._store_path = None if isinstance(store, AlertStore) else store
        self._store_lock = threading.Lock()
        if history is not None:
            self.use_history(history)
        self.engine = AlertEngine(rules, identify=identify, sink=self._sink)
        self.dispatcher = Dispatcher(lambda: self.store, lambda: self.engine.rules,
                                     base_backoff_s=base_backoff_s,
                                     max_backoff_s=max_backoff_s, senders=senders)
        self.reload_error: str | None = None
        self.watch_every_s = watch_every_s
        self._mtime = self._stat()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> AlertService:
        """Load ``path`` (RulesError / OSError when it cannot be used) and build the service."""
        return cls(load_rules(path), rules_path=path, **kwargs)

    # ------------------------------------------------------------------ wiring
    @property
    def rules(self) -> RuleSet:
        return self.engine.rules

    @property
    def store(self) -> AlertStore:
        """Where alerts are stored (the alerts-only file is opened on first use; raises
        :class:`~overflight.history.HistoryError` when it cannot be)."""
        with self._store_lock:
            if self._store is None:
                self._store = AlertStore.open(self._store_path)
            return self._store

    def use_history(self, history: Any) -> None:
        """Store alerts in ``history`` (a HistoryWriter or HistoryStore open for writing);
        before the first alert is stored or read (RuntimeError after)."""
        with self._store_lock:
            if self._store is not None:
                raise RuntimeError("alerts are already stored in " + str(self._store.path))
            self._store = AlertStore.of_writer(history) if hasattr(history, "run_id") \
                else AlertStore.in_history(history)

    def attach(self, station: Any, **kwargs: Any) -> Any:
        """Subscribe the engine to ``station`` (see :meth:`AlertEngine.attach`); when the
        station stores history and no store was chosen yet, alerts go to its database."""
        if self._store is None:
            writer = _history_writer(station)
            if writer is not None:
                self.use_history(writer)
        return self.engine.attach(station, **kwargs)

    def on_update(self, update: Any) -> None:
        self.engine.on_update(update)

    def start(self) -> None:
        """Open the store (:class:`~overflight.history.HistoryError` when it cannot be: a
        locked or foreign file), then start delivery and, with a rules file, the watcher that
        reloads it."""
        _ = self.store
        self.dispatcher.start()
        if self.rules_path is not None and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="overflight-alerts-rules",
                                             daemon=True)
            self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
        self.dispatcher.close()
        with self._store_lock:
            if self._store is not None:
                self._store.close()

    # ------------------------------------------------------------------ rules
    def _stat(self) -> tuple[float, int] | None:
        if self.rules_path is None:
            return None
        try:
            st = self.rules_path.stat()
        except OSError:
            return None
        return (st.st_mtime, st.st_size)

    def _watch(self) -> None:
        # A change is taken once the file has stayed the same for one period: an editor or a
        # shell truncates then writes, and a file caught empty in between is not the new rules
        # (it would have turned every alert off).
        seen: tuple[float, int] | None = None
        while not self._stop.wait(self.watch_every_s):
            m = self._stat()
            if m is None or m == self._mtime:
                seen = None
                continue
            if m != seen:
                seen = m  # changed since the last look: wait for it to settle
                continue
            self._mtime = m
            seen = None
            self.reload()

    def reload(self) -> bool:
        """Re-read the rules file: True when the new rules are in force; False when it is
        bad (logged; the last good rules stay and :attr:`reload_error` says why)."""
        if self.rules_path is None:
            return False
        try:
            rules = load_rules(self.rules_path)
        except (RulesError, OSError) as exc:
            self.reload_error = clean(str(exc)) if not isinstance(exc, RulesError) else \
                "\n".join(clean(p.text(str(self.rules_path))) for p in exc.problems)
            log.error("alert rules not reloaded, the last good rules (%d) stay in force:\n%s",
                      len(self.engine.rules.rules), self.reload_error)
            return False
        self.engine.set_rules(rules)
        self.reload_error = None
        log.info("alert rules reloaded: %d rules", len(rules.rules))
        return True

    # ------------------------------------------------------------------ alerts
    def _sink(self, alert: Alert) -> None:
        targets = tuple(t for t in alert.notify if t != "log")
        if not self.store.add(alert, targets):
            return
        if "log" in alert.notify:
            log.warning("alert %s", alert_line(alert.to_json()))
        if targets:
            self.dispatcher.wake()

    def recent(self, limit: int = 100, since_s: float | None = None) -> list[dict[str, Any]]:
        """The newest stored alerts as JSON documents (newest first)."""
        return [json.loads(d) for d in self.store.recent(limit, since_s)]

    def status(self) -> dict[str, Any]:
        """Rules in force, the last reload error, engine counts and delivery per target."""
        s = self.engine.stats
        return {
            "rules": len(self.engine.rules.rules),
            "rules_path": str(self.rules_path) if self.rules_path else None,
            "reload_error": self.reload_error,
            "alerts_stored": self.store.count(),
            "engine": {"alerts": s.alerts, "suppressed": s.suppressed,
                       "positions": s.positions, "events": s.events,
                       "eval_s": round(s.eval_s, 3), "reloads": s.reloads},
            "delivery": self.store.outbox_counts(),
            "delivery_failures": self.dispatcher.failures,
        }


def _history_writer(station: Any) -> Any:
    """The :class:`~overflight.history.HistoryWriter` subscribed to ``station``, if any."""
    from overflight.history.writer import HistoryWriter

    for sub in getattr(station, "subscriptions", ()):
        owner = getattr(sub.fn, "__self__", None)
        if isinstance(owner, HistoryWriter) and owner.stats.failed is None:
            return owner
    return None
