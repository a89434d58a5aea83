"""Alerts: rules over the station's live updates (first seen, take-off, landing, areas,
emergencies, silence, callsign / squawk changes, GNSS integrity), stored with their evidence
and delivered by log, webhook, e-mail, Apprise, an Atom feed and a JSON list.

* :mod:`~overflight.alerts.rules`: the TOML rules file, validated with line and field.
* :mod:`~overflight.alerts.engine`: :class:`AlertEngine`, the station subscriber.
* :mod:`~overflight.alerts.store`: alerts and the delivery outbox, tables of the history
  database.
* :mod:`~overflight.alerts.notify`: log, webhook (HMAC-SHA256), e-mail, Apprise; retries.
* :mod:`~overflight.alerts.service`: :class:`AlertService`: all of it, reloading the rules.
* :mod:`~overflight.alerts.routes`: ``/alerts.atom`` and ``/api/alerts`` (Starlette).
"""

from __future__ import annotations

from overflight.alerts.rules import (
    DEFAULT_RULES,
    Area,
    Rule,
    RulesError,
    RuleSet,
    load_rules,
    parse_rules,
)

__all__ = [
    "DEFAULT_RULES",
    "Alert",
    "AlertEngine",
    "AlertService",
    "Area",
    "Rule",
    "RuleSet",
    "RulesError",
    "load_rules",
    "parse_rules",
]


def __getattr__(name: str) -> object:
    if name in ("Alert", "AlertEngine"):
        from overflight.alerts import engine

        return getattr(engine, name)
    if name == "AlertService":
        from overflight.alerts.service import AlertService

        return AlertService
    raise AttributeError(name)
