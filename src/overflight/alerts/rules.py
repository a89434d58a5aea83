"""Alert rules: a TOML file, validated on load with errors that name the line and the field.

A rule selects aircraft (``select``), names one event (``when``) and where to say it
(``notify``)::

    [[rule]]
    name = "military landed abroad"
    select = { military = true }
    when = { landed = { outside_country_of_registration = true } }
    notify = ["log", "webhook:http://127.0.0.1:9000/hook"]
    cooldown_min = 30

``select`` (every key must hold; a list means any of its values; ``{}`` selects every
aircraft): ``military`` (bool), ``watchlist`` (bool: on a watchlist such as plane-alert-db),
``watch_class`` (Mil, Gov, Pol, Civ), ``category``, ``tag`` (watchlist categories and tags),
``country`` (ISO 3166 alpha-2 of the country of registration), ``type`` (ICAO type
designators), ``operator`` (glob, case-insensitive), ``address`` (hex), ``registration``
and ``callsign`` (globs, case-insensitive: ``AFL*``).

``when`` (exactly one): ``first_seen`` (first time today, UTC), ``took_off`` / ``landed``
(optionally ``airport``, ``country``, and for ``landed`` ``outside_country_of_registration``),
``entered`` / ``left`` an area, ``emergency`` (7500/7600/7700 or an ADS-B emergency state;
optionally ``squawk``), ``silent`` (``minutes`` without a message after a last position
``near`` an area), ``callsign_changed``, ``squawk_changed`` (optionally ``to``),
``integrity`` (``nic_below`` and/or ``nacp_below``: the GNSS integrity of the aircraft's
position drops below the value). An area is ``{ circle = { lat, lon, radius_km } }``,
``{ polygon = [[lat, lon], ...] }`` or ``{ country = "RU" }`` (Natural Earth borders).

``notify``: ``log``, ``webhook:URL``, ``email:ADDRESS``, ``apprise:URL`` (any service Apprise
knows; needs the ``overflight[alerts]`` extra).

Optional tables: ``[settings]`` (``cooldown_min``, the default cool-down per rule and
aircraft), ``[webhook]`` (``secret`` or ``secret_env``: the HMAC-SHA256 key; ``timeout_s``),
``[email]`` (``host``, ``port``, ``sender``, ``starttls``, ``username``, ``password_env``).
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_RULES",
    "EVENT_KINDS",
    "Area",
    "EmailSettings",
    "Problem",
    "Rule",
    "RuleSet",
    "RulesError",
    "Selector",
    "WebhookSettings",
    "load_rules",
    "parse_rules",
]

EVENT_KINDS = (
    "first_seen", "took_off", "landed", "entered", "left", "emergency", "silent",
    "callsign_changed", "squawk_changed", "integrity",
)
"""The events a rule can name in ``when``."""

EMERGENCY_SQUAWKS = ("7500", "7600", "7700")
EMERGENCY_STATES = ("general", "lifeguard", "minfuel", "nordo", "unlawful", "downed")

DEFAULT_RULES = """\
# Overflight alert rules (shipped defaults; copy and edit). See docs/alerts.md.

[settings]
cooldown_min = 30          # at most one alert per rule and aircraft in this time

[[rule]]
name = "military landed abroad"
select = { military = true }
when = { landed = { outside_country_of_registration = true } }
notify = ["log"]

[[rule]]
name = "emergency"
select = {}
when = { emergency = true }
notify = ["log"]
cooldown_min = 10

[[rule]]
name = "watchlist took off"
select = { watchlist = true }
when = { took_off = true }
notify = ["log"]

[[rule]]
name = "watchlist landed"
select = { watchlist = true }
when = { landed = true }
notify = ["log"]
"""
"""Shipped defaults: military aircraft landing outside their country of registration,
emergencies, every watchlist aircraft taking off or landing."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault of a rules file: line (1-based, 0 when unknown), field path, message."""

    line: int
    field: str
    message: str

    def text(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class RulesError(ValueError):
    """A rules file that cannot be used; ``problems`` lists every fault found."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(p.text(path) for p in problems))


@dataclass(frozen=True, slots=True)
class Area:
    """A place: ``circle`` (lat, lon, radius_km), ``polygon`` ((lat, lon), ...) or ``country``
    (ISO alpha-2). ``key`` identifies equal areas across rules."""

    kind: str
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    radius_km: float = 0.0
    points: tuple[tuple[float, float], ...] = ()
    country: str = ""

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.kind, self.lat_deg, self.lon_deg, self.radius_km, self.points, self.country)

    def describe(self) -> str:
        if self.kind == "circle":
            return f"{self.radius_km:g} km around {self.lat_deg:.4f}, {self.lon_deg:.4f}"
        if self.kind == "country":
            return f"the borders of {self.country}"
        return f"a polygon of {len(self.points)} points"


@dataclass(frozen=True, slots=True)
class Selector:
    """Which aircraft a rule is about (see the module text). Values are normalised: upper case
    codes, lower case categories/tags/globs; None: not constrained."""

    military: bool | None = None
    watchlist: bool | None = None
    watch_class: frozenset[str] | None = None
    category: frozenset[str] | None = None
    tag: frozenset[str] | None = None
    country: frozenset[str] | None = None
    type: frozenset[str] | None = None
    operator: tuple[str, ...] | None = None
    address: frozenset[int] | None = None
    registration: tuple[str, ...] | None = None
    callsign: tuple[str, ...] | None = None

    def matches_callsign(self, callsign: str | None) -> bool:
        """Whether ``callsign`` satisfies the callsign globs (True when unconstrained)."""
        if self.callsign is None:
            return True
        if not callsign:
            return False
        c = callsign.strip().upper()
        return any(fnmatch.fnmatchcase(c, p) for p in self.callsign)

    def matches_identity(self, address: int, ident: Any) -> bool:
        """Every non-callsign condition on ``ident`` (an AircraftIdentity or None)."""
        if self.address is not None and address not in self.address:
            return False
        g = attr_getter(ident)
        if self.military is not None and bool(g("military")) != self.military:
            return False
        cats = {str(c).lower() for c in (g("categories") or ())}
        tags = {str(c).lower() for c in (g("tags") or ())}
        wc = g("watch_class")
        on_list = bool(cats or wc)
        if self.watchlist is not None and on_list != self.watchlist:
            return False
        if self.watch_class is not None and (wc or "").lower() not in self.watch_class:
            return False
        if self.category is not None and not (cats & self.category):
            return False
        if self.tag is not None and not (tags & self.tag):
            return False
        if self.country is not None and (g("country_code") or "").upper() not in self.country:
            return False
        if self.type is not None and (g("type_code") or "").upper() not in self.type:
            return False
        if self.operator is not None:
            op = (g("operator") or "").lower()
            if not op or not any(fnmatch.fnmatchcase(op, p) for p in self.operator):
                return False
        if self.registration is not None:
            reg = (g("registration") or "").upper()
            if not reg or not any(fnmatch.fnmatchcase(reg, p) for p in self.registration):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: ``kind`` is the event of ``when``; ``params`` its options (normalised)."""

    name: str
    select: Selector
    kind: str
    params: dict[str, Any]
    notify: tuple[str, ...]
    cooldown_s: float
    line: int = 0

    @property
    def area(self) -> Area | None:
        """The area of ``entered`` / ``left`` / ``silent`` rules."""
        a = self.params.get("area")
        return a if isinstance(a, Area) else None


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    secret: str | None = None
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class EmailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "overflight@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A validated rules file."""

    rules: tuple[Rule, ...]
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    source: str = "<rules>"

    @property
    def targets(self) -> tuple[str, ...]:
        """Every notify target named by a rule, each once, in order."""
        seen: dict[str, None] = {}
        for r in self.rules:
            for t in r.notify:
                seen.setdefault(t, None)
        return tuple(seen)


def attr_getter(obj: Any) -> Callable[[str], Any]:
    """``name -> getattr(obj, name, None)`` (None for every name when ``obj`` is None)."""

    def get(name: str) -> Any:
        return getattr(obj, name, None) if obj is not None else None

    return get


# ------------------------------------------------------------------ locating fields
class _Locator:
    """Line numbers of ``[[rule]]`` blocks and of keys inside them (tomllib gives none)."""

    _HEADER = re.compile(r"^\s*\[")
    _RULE = re.compile(r"^\s*\[\[\s*rule\s*\]\]")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.rule_starts = [i for i, s in enumerate(self.lines) if self._RULE.match(s)]
        self.headers = [i for i, s in enumerate(self.lines) if self._HEADER.match(s)]

    def _block(self, rule: int) -> tuple[int, int]:
        if rule >= len(self.rule_starts):
            return 0, len(self.lines)
        a = self.rule_starts[rule]
        b = next((h for h in self.headers if h > a), len(self.lines))
        return a, b

    def line(self, rule: int | None, path: str, table: str | None = None) -> int:
        if rule is None:
            a, b = 0, len(self.lines)
            if table is not None:
                pat = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
                a = next((i for i, s in enumerate(self.lines) if pat.match(s)), 0)
                b = next((h for h in self.headers if h > a), len(self.lines))
        else:
            a, b = self._block(rule)
        for part in reversed([p for p in path.split(".") if p]):
            pat = re.compile(rf"(^|[{{,\s]){re.escape(part)}\s*=")
            for i in range(a, b):
                if pat.search(self.lines[i]):
                    return i + 1
        return a + 1 if (rule is not None or table is not None) else 0


class _Ctx:
    def __init__(self, loc: _Locator) -> None:
        self.loc = loc
        self.problems: list[Problem] = []

    def bad(self, rule: int | None, label: str, path: str, msg: str,
            table: str | None = None) -> None:
        line = self.loc.line(rule, path, table)
        self.problems.append(Problem(line, f"{label}{path}", msg))


def _show(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _str_list(v: Any) -> list[str] | None:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        return list(v)
    return None


_ISO2 = re.compile(r"^[A-Z]{2}$")
_ICAO_AP = re.compile(r"^[A-Z0-9]{3,4}$")


def _area(ctx: _Ctx, ri: int, label: str, path: str, v: Any) -> Area | None:
    if not isinstance(v, dict) or len(v) != 1:
        ctx.bad(ri, label, path, "expected one of { circle = {lat, lon, radius_km} }, "
                "{ polygon = [[lat, lon], ...] }, { country = \"XX\" }, got " + _show(v))
        return None
    (k, x), = v.items()
    if k == "circle":
        if not isinstance(x, dict) or set(x) != {"lat", "lon", "radius_km"}:
            ctx.bad(ri, label, f"{path}.circle",
                    "expected { lat = DEG, lon = DEG, radius_km = KM }, got " + _show(x))
            return None
        try:
            lat, lon, r = (float(x["lat"]), float(x["lon"]), float(x["radius_km"]))
        except (TypeError, ValueError):
            ctx.bad(ri, label, f"{path}.circle", "lat, lon and radius_km must be numbers")
            return None
        if isinstance(x["lat"], bool) or not -90 <= lat <= 90:
            ctx.bad(ri, label, f"{path}.circle.lat", f"latitude out of range: {_show(x['lat'])}")
            return None
        if isinstance(x["lon"], bool) or not -180 <= lon <= 180:
            ctx.bad(ri, label, f"{path}.circle.lon", f"longitude out of range: {_show(x['lon'])}")
            return None
        if not 0 < r <= 20_000:
            ctx.bad(ri, label, f"{path}.circle.radius_km",
                    f"must be a distance in km above 0, got {_show(x['radius_km'])}")
            return None
        return Area("circle", lat_deg=lat, lon_deg=lon, radius_km=r)
    if k == "polygon":
        pts: list[tuple[float, float]] = []
        ok = isinstance(x, list) and len(x) >= 3
        for p in x if isinstance(x, list) else []:
            if (isinstance(p, list) and len(p) == 2
                    and all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
                    and -90 <= p[0] <= 90 and -180 <= p[1] <= 180):
                pts.append((float(p[0]), float(p[1])))
            else:
                ok = False
        if not ok:
            ctx.bad(ri, label, f"{path}.polygon",
                    "expected at least 3 [lat, lon] pairs in degrees, got " + _show(x))
            return None
        return Area("polygon", points=tuple(pts))
    if k == "country":
        if not isinstance(x, str) or not _ISO2.match(x.upper()):
            ctx.bad(ri, label, f"{path}.country",
                    "expected an ISO 3166 alpha-2 code such as \"RU\", got " + _show(x))
            return None
        return Area("country", country=x.upper())
    ctx.bad(ri, label, f"{path}.{k}", "unknown area (circle, polygon or country)")
    return None


_SELECT_KEYS = ("military", "watchlist", "watch_class", "category", "tag", "country", "type",
                "operator", "address", "registration", "callsign")


def _selector(ctx: _Ctx, ri: int, label: str, v: Any) -> Selector | None:
    if not isinstance(v, dict):
        ctx.bad(ri, label, "select", "expected a table such as { military = true }, got "
                + _show(v))
        return None
    out: dict[str, Any] = {}
    n0 = len(ctx.problems)
    for k, x in v.items():
        p = f"select.{k}"
        if k not in _SELECT_KEYS:
            ctx.bad(ri, label, p, "unknown selector (one of " + ", ".join(_SELECT_KEYS) + ")")
            continue
        if k in ("military", "watchlist"):
            if not isinstance(x, bool):
                ctx.bad(ri, label, p, f"expected true or false, got {_show(x)}")
            else:
                out[k] = x
            continue
        vals = _str_list(x)
        if vals is None:
            ctx.bad(ri, label, p, f"expected a string or a list of strings, got {_show(x)}")
            continue
        if k in ("watch_class", "category", "tag"):
            out[k] = frozenset(s.strip().lower() for s in vals)
        elif k == "country":
            bad = [s for s in vals if not _ISO2.match(s.strip().upper())]
            if bad:
                ctx.bad(ri, label, p, f"not an ISO 3166 alpha-2 code: {_show(bad[0])}")
            else:
                out[k] = frozenset(s.strip().upper() for s in vals)
        elif k == "type":
            out[k] = frozenset(s.strip().upper() for s in vals)
        elif k == "address":
            addrs = []
            for s in vals:
                t = s.strip().lower().lstrip("~")
                if not re.fullmatch(r"[0-9a-f]{6}", t):
                    ctx.bad(ri, label, p, f"not a 24-bit hex address: {_show(s)}")
                    break
                addrs.append(int(t, 16))
            else:
                out[k] = frozenset(addrs)
        elif k == "operator":
            out[k] = tuple(s.strip().lower() for s in vals)
        else:  # registration, callsign
            out[k] = tuple(s.strip().upper() for s in vals)
    if len(ctx.problems) > n0:
        return None
    return Selector(**out)


def _codes(ctx: _Ctx, ri: int, label: str, path: str, x: Any, pat: re.Pattern[str],
           what: str) -> frozenset[str] | None:
    vals = _str_list(x)
    if vals is None or any(not pat.match(s.strip().upper()) for s in vals):
        ctx.bad(ri, label, path, f"expected {what}, got {_show(x)}")
        return None
    return frozenset(s.strip().upper() for s in vals)


def _when(ctx: _Ctx, ri: int, label: str, v: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(v, dict) or len(v) != 1:
        ctx.bad(ri, label, "when", "expected exactly one event, e.g. { landed = true } (one of "
                + ", ".join(EVENT_KINDS) + "), got " + _show(v))
        return None
    (kind, x), = v.items()
    p = f"when.{kind}"
    if kind not in EVENT_KINDS:
        ctx.bad(ri, label, p, "unknown event (one of " + ", ".join(EVENT_KINDS) + ")")
        return None
    n0 = len(ctx.problems)
    params: dict[str, Any] = {}
    simple = ("first_seen", "callsign_changed")
    if kind in simple:
        if x is not True:
            ctx.bad(ri, label, p, f"expected true, got {_show(x)}")
    elif kind in ("took_off", "landed", "emergency", "squawk_changed"):
        allowed = {"took_off": ("airport", "country"),
                   "landed": ("airport", "country", "outside_country_of_registration"),
                   "emergency": ("squawk",), "squawk_changed": ("to",)}[kind]
        if x is True:
            pass
        elif isinstance(x, dict) and x:
            for k, y in x.items():
                q = f"{p}.{k}"
                if k not in allowed:
                    ctx.bad(ri, label, q, "unknown option (" + ", ".join(allowed) + ")")
                elif k == "airport":
                    params[k] = _codes(ctx, ri, label, q, y, _ICAO_AP, "ICAO airport codes")
                elif k == "country":
                    params[k] = _codes(ctx, ri, label, q, y, _ISO2, "ISO alpha-2 codes")
                elif k == "outside_country_of_registration":
                    if not isinstance(y, bool):
                        ctx.bad(ri, label, q, f"expected true or false, got {_show(y)}")
                    params[k] = y
                elif k == "squawk":
                    vals = _str_list(y)
                    ok = vals is not None and all(
                        s in EMERGENCY_SQUAWKS or s.lower() in EMERGENCY_STATES for s in vals)
                    if not ok or vals is None:
                        ctx.bad(ri, label, q, "expected 7500, 7600, 7700 or an ADS-B state ("
                                + ", ".join(EMERGENCY_STATES) + f"), got {_show(y)}")
                    else:
                        params[k] = frozenset(s.lower() for s in vals)
                elif k == "to":
                    vals = _str_list(y)
                    if vals is None or any(not re.fullmatch(r"[0-7]{4}", s) for s in vals):
                        ctx.bad(ri, label, q, f"expected 4-digit octal squawks, got {_show(y)}")
                    else:
                        params[k] = frozenset(vals)
        else:
            ctx.bad(ri, label, p, f"expected true or a table of options, got {_show(x)}")
    elif kind in ("entered", "left"):
        a = _area(ctx, ri, label, p, x)
        params["area"] = a
    elif kind == "silent":
        if not isinstance(x, dict) or set(x) != {"minutes", "near"}:
            ctx.bad(ri, label, p, "expected { minutes = N, near = { circle = ... } }, got "
                    + _show(x))
        else:
            m = x["minutes"]
            if isinstance(m, bool) or not isinstance(m, int | float) or not 0 < m <= 24 * 60:
                ctx.bad(ri, label, f"{p}.minutes", f"expected minutes in (0, 1440], got {_show(m)}")
            else:
                params["minutes"] = float(m)
            params["area"] = _area(ctx, ri, label, f"{p}.near", x["near"])
    elif kind == "integrity":
        if not isinstance(x, dict) or not x or not set(x) <= {"nic_below", "nacp_below"}:
            ctx.bad(ri, label, p, "expected { nic_below = N } and/or { nacp_below = N }, got "
                    + _show(x))
        else:
            for k, y in x.items():
                if isinstance(y, bool) or not isinstance(y, int) or not 1 <= y <= 11:
                    ctx.bad(ri, label, f"{p}.{k}", f"expected an integer 1..11, got {_show(y)}")
                else:
                    params[k] = int(y)
    if len(ctx.problems) > n0:
        return None
    return kind, params


_TARGET = re.compile(r"^(log|webhook:https?://\S+|email:[^@\s]+@[^@\s]+|apprise:\S+)$")


def _notify(ctx: _Ctx, ri: int, label: str, v: Any) -> tuple[str, ...] | None:
    vals = _str_list(v) if not isinstance(v, str) else None
    if vals is None:
        ctx.bad(ri, label, "notify", "expected a list such as [\"log\", "
                "\"webhook:http://127.0.0.1:9000/hook\"], got " + _show(v))
        return None
    for s in vals:
        if not _TARGET.match(s):
            ctx.bad(ri, label, "notify", "not a target (log, webhook:http(s)://..., "
                    f"email:ADDRESS, apprise:URL): {_show(s)}")
            return None
        if s.startswith("apprise:"):
            try:
                import apprise  # noqa: F401
            except ImportError:
                ctx.bad(ri, label, "notify", "apprise targets need the Apprise library: "
                        "pip install 'overflight[alerts]'")
                return None
    return tuple(dict.fromkeys(vals))


_RULE_KEYS = ("name", "select", "when", "notify", "cooldown_min", "enabled")


def _cooldown(ctx: _Ctx, ri: int | None, label: str, v: Any, table: str | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 7 * 24 * 60:
        ctx.bad(ri, label, "cooldown_min", f"expected minutes (0 to 10080), got {_show(v)}",
                table)
        return 0.0
    return float(v) * 60.0


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Validate rules text; :class:`RulesError` lists every fault with its line and field."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else 0
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise RulesError(source, [Problem(line, "", f"not valid TOML: {msg}")]) from None
    ctx = _Ctx(_Locator(text))
    for k in doc:
        if k not in ("rule", "settings", "webhook", "email"):
            ctx.bad(None, "", k, "unknown table (rule, settings, webhook, email)")
    settings = doc.get("settings", {})
    default_cd = 30 * 60.0
    if not isinstance(settings, dict):
        ctx.bad(None, "", "settings", "expected a table")
    else:
        for k, v in settings.items():
            if k == "cooldown_min":
                default_cd = _cooldown(ctx, None, "settings.", v, "settings")
            else:
                ctx.bad(None, "settings.", k, "unknown setting (cooldown_min)", "settings")
    webhook = WebhookSettings()
    wh = doc.get("webhook", {})
    if isinstance(wh, dict):
        secret = wh.get("secret")
        env = wh.get("secret_env")
        for k in wh:
            if k not in ("secret", "secret_env", "timeout_s"):
                ctx.bad(None, "webhook.", k, "unknown option (secret, secret_env, timeout_s)",
                        "webhook")
        if env is not None:
            if not isinstance(env, str):
                ctx.bad(None, "webhook.", "secret_env", "expected a variable name", "webhook")
            else:
                secret = os.environ.get(env) or secret
        if secret is not None and not isinstance(secret, str):
            ctx.bad(None, "webhook.", "secret", "expected a string", "webhook")
            secret = None
        to = wh.get("timeout_s", 5.0)
        if isinstance(to, bool) or not isinstance(to, int | float) or not 0 < to <= 120:
            ctx.bad(None, "webhook.", "timeout_s", f"expected seconds in (0, 120], got {_show(to)}",
                    "webhook")
            to = 5.0
        webhook = WebhookSettings(secret or None, float(to))
    email = EmailSettings()
    em = doc.get("email", {})
    if isinstance(em, dict) and em:
        kw: dict[str, Any] = {}
        for k, v in em.items():
            text_ok = k in ("host", "sender", "username") and isinstance(v, str)
            port_ok = k == "port" and isinstance(v, int) and not isinstance(v, bool) \
                and 0 < v < 65536
            if text_ok or port_ok or (k == "starttls" and isinstance(v, bool)):
                kw[k] = v
            elif k == "password_env" and isinstance(v, str):
                kw["password"] = os.environ.get(v)
            else:
                ctx.bad(None, "email.", k, f"unknown option or bad value {_show(v)} (host, "
                        "port, sender, starttls, username, password_env)", "email")
        email = EmailSettings(**kw)
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        ctx.bad(None, "", "rule", "rules are written as [[rule]] tables")
        raw_rules = []
    rules: list[Rule] = []
    names: dict[str, int] = {}
    for i, r in enumerate(raw_rules):
        name = r.get("name") if isinstance(r, dict) else None
        label = f"rule {i + 1}" + (f" ({name!r})" if isinstance(name, str) else "") + ": "
        if not isinstance(r, dict):
            ctx.bad(i, label, "", "expected a table")
            continue
        for k in r:
            if k not in _RULE_KEYS:
                ctx.bad(i, label, k, "unknown key (" + ", ".join(_RULE_KEYS) + ")")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            ctx.bad(i, label, "name", "every rule needs a name (a string up to 200 characters)")
            continue
        if name in names:
            ctx.bad(i, label, "name", f"the same name as rule {names[name] + 1}")
        names[name] = i
        for k in ("select", "when", "notify"):
            if k not in r:
                ctx.bad(i, label, k, "missing")
        if any(k not in r for k in ("select", "when", "notify")):
            continue
        sel = _selector(ctx, i, label, r["select"])
        when = _when(ctx, i, label, r["when"])
        notify = _notify(ctx, i, label, r["notify"])
        cd = _cooldown(ctx, i, label, r["cooldown_min"]) if "cooldown_min" in r else default_cd
        enabled = r.get("enabled", True)
        if not isinstance(enabled, bool):
            ctx.bad(i, label, "enabled", f"expected true or false, got {_show(enabled)}")
        if sel is None or when is None or notify is None or not enabled:
            continue
        line = ctx.loc.rule_starts[i] + 1 if i < len(ctx.loc.rule_starts) else 0
        rules.append(Rule(name, sel, when[0], when[1], notify, cd, line))
    if ctx.problems:
        raise RulesError(source, ctx.problems)
    return RuleSet(tuple(rules), webhook, email, source)


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rules file (:class:`RulesError` on any fault, OSError when it
    cannot be read; a file that is not UTF-8 text is a RulesError)."""
    p = Path(path)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RulesError(str(p), [Problem(line, "", "not UTF-8 text")]) from None
    return parse_rules(text, str(p))
