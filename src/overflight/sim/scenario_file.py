"""Scenario files (TOML): receivers, aircraft flying gate-to-gate journeys, background traffic.

The format is documented in ``docs/scenarios.md``; :func:`load_scenario` reads a file,
:func:`parse_scenario` text. Every mistake is a :class:`ScenarioError` naming the file, the key
(``aircraft[1].leg[2].from``) or the line (TOML syntax), and what is wrong.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from overflight.sim.background import Background
from overflight.sim.clocks import FreeRunningClock, GpsClock
from overflight.sim.profile import AIRCRAFT_TYPES, Leg, LegTruth, Trajectory, plan_journey
from overflight.sim.receivers import SimReceiver
from overflight.sim.scenario import ADSB, MODE_S_ONLY, Aircraft, Scenario

__all__ = ["ScenarioError", "ScenarioSpec", "load_scenario", "parse_scenario"]


class ScenarioError(ValueError):
    """A scenario file that cannot be used: ``where`` (file and key or line) and ``what``."""

    def __init__(self, source: str, where: str, what: str) -> None:
        self.source, self.where, self.what = source, where, what
        super().__init__(f"{source}: {where}: {what}" if where else f"{source}: {what}")


@dataclass(frozen=True)
class ScenarioSpec:
    """A loaded scenario: the :class:`Scenario` (aircraft with their trajectories), each
    journey's truth by address, the background traffic settings, and notes."""

    scenario: Scenario
    legs: dict[str, tuple[LegTruth, ...]]
    background_aircraft: int = 0
    background_radius_km: float = 350.0
    background_block: tuple[int, int] = (0x4CA000, 0x4CAFFF)
    note: str = ""
    text: str = field(default="", repr=False)

    def background(
        self, aircraft: int | None = None, from_s: float = 0.0, to_s: float | None = None
    ) -> Background | None:
        """The background traffic over [from_s, to_s) (None when there is none)."""
        n = self.background_aircraft if aircraft is None else aircraft
        if n <= 0:
            return None
        return Background(
            self.scenario.receivers, from_s,
            self.scenario.duration_s if to_s is None else to_s, n, self.scenario.seed,
            self.background_radius_km, self.background_block,
        )  # fmt: skip


_TOP = {"scenario", "background", "receiver", "aircraft"}
_SCEN = {"name", "description", "note", "start", "end", "duration", "seed", "fading_db"}
_BG = {"aircraft", "radius_km", "address_block"}
_RX = {
    "id", "name", "lat", "lon", "height_m", "ground_m", "clock", "drift_ppm", "offset_s",
    "jitter_ns", "range_km", "loss", "range_loss", "sensitivity_dbfs", "gain_db",
}  # fmt: skip
_AC = {
    "icao24", "registration", "type", "callsign", "squawk", "equipage", "eirp_dbm",
    "transponder_on_before_min", "transponder_off_after_min", "leg", "adsb_off",
}  # fmt: skip
_LEG = {"from", "to", "off_block", "departure_runway", "arrival_runway", "cruise_ft",
        "parked_transponder", "callsign"}  # fmt: skip
_WIN = {"from", "to"}
_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d)\s*$")


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, what: str) -> ScenarioError:
        return ScenarioError(self.source, where, what)

    def keys(self, d: Any, allowed: set[str], where: str) -> dict[str, Any]:
        if not isinstance(d, dict):
            raise self.fail(where, f"expected a table, got {type(d).__name__}")
        for k in d:
            if k not in allowed:
                raise self.fail(
                    f"{where}.{k}" if where else k,
                    f"unknown key (expected one of: {', '.join(sorted(allowed))})",
                )
        return d

    def need(self, d: dict[str, Any], key: str, where: str) -> Any:
        if key not in d:
            raise self.fail(f"{where}.{key}" if where else key, "missing")
        return d[key]

    def number(
        self, v: Any, where: str, lo: float = -math.inf, hi: float = math.inf
    ) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.fail(where, f"expected a number, got {v!r}")
        if not lo <= v <= hi:
            raise self.fail(where, f"{v!r} is out of range ({lo:g} to {hi:g})")
        return float(v)

    def text(self, v: Any, where: str) -> str:
        if not isinstance(v, str):
            raise self.fail(where, f"expected a string, got {v!r}")
        return v

    def time(self, v: Any, where: str) -> float:
        """UTC epoch seconds of a TOML datetime or an ISO 8601 string (with Z or an offset)."""
        if isinstance(v, str):
            try:
                v = datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                raise self.fail(
                    where, f"not an ISO 8601 time: {v!r} (e.g. 2019-03-22T20:30:00Z)"
                ) from None
        if not isinstance(v, datetime):
            raise self.fail(where, f"expected a UTC time like 2019-03-22T20:30:00Z, got {v!r}")
        if v.tzinfo is None:
            raise self.fail(where, "a time needs its zone (Z for UTC)")
        return v.astimezone(UTC).timestamp()

    def duration(self, v: Any, where: str) -> float:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return self.number(v, where, 1e-3)
        if isinstance(v, str) and (m := _DUR.match(v)):
            mult = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
            return float(m.group(1)) * mult
        raise self.fail(where, f"expected seconds or a duration like '72h', '30min': {v!r}")


def load_scenario(path: str | Path) -> ScenarioSpec:
    """Read and validate a scenario file (:class:`ScenarioError` on any mistake)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(p), "", f"cannot read: {exc}") from None
    return parse_scenario(text, source=str(p))


def parse_scenario(text: str, *, source: str = "<scenario>") -> ScenarioSpec:
    """Validate scenario TOML ``text`` and build the scenario (``source`` names it in errors)."""
    cx = _Ctx(source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f"line {m.group(1)}, column {m.group(2)}" if m else ""
        raise cx.fail(where, "TOML syntax: " + re.sub(r"\s*\(at line.*\)", "", msg)) from None
    cx.keys(doc, _TOP, "")
    sc = cx.keys(cx.need(doc, "scenario", ""), _SCEN, "scenario")
    name = cx.text(cx.need(sc, "name", "scenario"), "scenario.name")
    start = cx.time(cx.need(sc, "start", "scenario"), "scenario.start")
    if "end" in sc and "duration" in sc:
        raise cx.fail("scenario", "give end or duration, not both")
    if "end" in sc:
        duration = cx.time(sc["end"], "scenario.end") - start
        if duration <= 0:
            raise cx.fail("scenario.end", "must be after scenario.start")
    else:
        duration = cx.duration(cx.need(sc, "duration", "scenario"), "scenario.duration")
    seed = int(cx.number(sc.get("seed", 1), "scenario.seed", 0, 2**63 - 1))
    fading = cx.number(sc.get("fading_db", 2.0), "scenario.fading_db", 0.0, 20.0)

    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC10C]))
    receivers = []
    rx_list = doc.get("receiver", [])
    if not isinstance(rx_list, list):
        raise cx.fail("receiver", "expected [[receiver]] tables")
    ids: set[int] = set()
    for i, r in enumerate(rx_list):
        w = f"receiver[{i + 1}]"
        cx.keys(r, _RX, w)
        rid = int(cx.number(cx.need(r, "id", w), f"{w}.id", 1, 2**64 - 1))
        if rid in ids:
            raise cx.fail(f"{w}.id", f"receiver id {rid} is used twice")
        ids.add(rid)
        lat = cx.number(cx.need(r, "lat", w), f"{w}.lat", -90, 90)
        lon = cx.number(cx.need(r, "lon", w), f"{w}.lon", -180, 180)
        h = cx.number(cx.need(r, "height_m", w), f"{w}.height_m", -500, 9000)
        ground = cx.number(r.get("ground_m", h - 10.0), f"{w}.ground_m", -500, 9000)
        if ground > h:
            raise cx.fail(f"{w}.ground_m", "the ground is above the antenna (height_m)")
        kind = cx.text(r.get("clock", "12mhz"), f"{w}.clock")
        jitter = cx.number(r.get("jitter_ns", float(rng.uniform(60, 90))), f"{w}.jitter_ns", 0, 1e6)
        clock: FreeRunningClock | GpsClock
        if kind == "12mhz":
            clock = FreeRunningClock(
                offset_s=cx.number(
                    r.get("offset_s", float(rng.uniform(600.0, 5 * 86_400.0))), f"{w}.offset_s",
                    0, 1e7,
                ),
                drift_ppm=cx.number(
                    r.get("drift_ppm", float(rng.uniform(2, 30) * rng.choice([-1, 1]))),
                    f"{w}.drift_ppm", -200, 200,
                ),
                jitter_ns=jitter,
                wander_ppm=float(rng.uniform(0.02, 0.08)),
                wander_period_s=float(rng.uniform(300.0, 1200.0)),
            )  # fmt: skip
        elif kind == "gps":
            clock = GpsClock(jitter_ns=min(jitter, 50.0))
        else:
            raise cx.fail(f"{w}.clock", f"expected '12mhz' or 'gps', got {kind!r}")
        receivers.append(
            SimReceiver(
                rid, lat, lon, h, clock,
                name=cx.text(r.get("name", f"rx{rid}"), f"{w}.name"),
                range_km=cx.number(r.get("range_km", 400.0), f"{w}.range_km", 1, 1000),
                ground_height_m=ground,
                gain_db=cx.number(r.get("gain_db", 0.0), f"{w}.gain_db", -30, 30),
                sensitivity_dbfs=cx.number(
                    r.get("sensitivity_dbfs", -33.0), f"{w}.sensitivity_dbfs", -60, 0
                ),
                loss_probability=cx.number(r.get("loss", 0.05), f"{w}.loss", 0, 1),
                range_loss=cx.number(r.get("range_loss", 0.5), f"{w}.range_loss", 0, 1),
            )
        )  # fmt: skip

    aircraft: list[Aircraft] = []
    legs_truth: dict[str, tuple[LegTruth, ...]] = {}
    ac_list = doc.get("aircraft", [])
    if not isinstance(ac_list, list):
        raise cx.fail("aircraft", "expected [[aircraft]] tables")
    for i, a in enumerate(ac_list):
        w = f"aircraft[{i + 1}]"
        cx.keys(a, _AC, w)
        icao = cx.text(cx.need(a, "icao24", w), f"{w}.icao24")
        if not re.fullmatch(r"[0-9A-Fa-f]{6}", icao) or int(icao, 16) == 0:
            raise cx.fail(f"{w}.icao24", f"expected 6 hex digits, got {icao!r}")
        if icao.lower() in legs_truth:
            raise cx.fail(f"{w}.icao24", f"address {icao} is used twice")
        tname = cx.text(cx.need(a, "type", w), f"{w}.type").upper()
        ty = AIRCRAFT_TYPES.get(tname)
        if ty is None:
            raise cx.fail(
                f"{w}.type", f"unknown type {tname!r} (known: {', '.join(AIRCRAFT_TYPES)})"
            )
        callsign = cx.text(a.get("callsign", ""), f"{w}.callsign").upper()
        if len(callsign) > 8 or not re.fullmatch(r"[A-Z0-9 ]*", callsign):
            raise cx.fail(f"{w}.callsign", f"up to 8 letters and digits: {callsign!r}")
        squawk = cx.text(a.get("squawk", "1000"), f"{w}.squawk")
        if not re.fullmatch(r"[0-7]{4}", squawk):
            raise cx.fail(f"{w}.squawk", f"4 octal digits: {squawk!r}")
        eq_name = cx.text(a.get("equipage", "adsb"), f"{w}.equipage")
        if eq_name not in ("adsb", "mode-s"):
            raise cx.fail(f"{w}.equipage", f"expected 'adsb' or 'mode-s', got {eq_name!r}")
        on_before = 60 * cx.number(
            a.get("transponder_on_before_min", 20), f"{w}.transponder_on_before_min", 0, 1e4
        )
        off_after = 60 * cx.number(
            a.get("transponder_off_after_min", 20), f"{w}.transponder_off_after_min", 0, 1e5
        )
        raw_legs = cx.need(a, "leg", w)
        if not isinstance(raw_legs, list) or not raw_legs:
            raise cx.fail(f"{w}.leg", "expected one or more [[aircraft.leg]] tables")
        legs: list[Leg] = []
        parked_on: list[bool] = []
        for j, lg in enumerate(raw_legs):
            lw = f"{w}.leg[{j + 1}]"
            cx.keys(lg, _LEG, lw)
            ends = []
            for key in ("from", "to"):
                code = cx.text(cx.need(lg, key, lw), f"{lw}.{key}").upper()
                try:
                    from overflight.sim.airports import airport

                    ap = airport(code)
                except KeyError:
                    raise cx.fail(f"{lw}.{key}", f"unknown airport {code!r} (ICAO code)") from None
                if not ap.runways:
                    raise cx.fail(f"{lw}.{key}", f"{code}: no runway with coordinates")
                ends.append(ap)
            if ends[0].code == ends[1].code:
                raise cx.fail(lw, "from and to are the same airport")
            if legs and legs[-1].destination.code != ends[0].code:
                raise cx.fail(
                    f"{lw}.from",
                    f"{ends[0].code} but the previous leg ended at {legs[-1].destination.code}",
                )
            off = cx.time(cx.need(lg, "off_block", lw), f"{lw}.off_block") - start
            rws = []
            for key, ap in (("departure_runway", ends[0]), ("arrival_runway", ends[1])):
                v = lg.get(key)
                if v is not None:
                    v = cx.text(v, f"{lw}.{key}")
                    try:
                        ap.runway(v)
                    except ValueError as exc:
                        raise cx.fail(f"{lw}.{key}", str(exc)) from None
                rws.append(v)
            cruise = lg.get("cruise_ft")
            if cruise is not None:
                cruise = cx.number(cruise, f"{lw}.cruise_ft", 2_000, 45_000)
            pt = cx.text(lg.get("parked_transponder", "off"), f"{lw}.parked_transponder")
            if pt not in ("on", "off"):
                raise cx.fail(f"{lw}.parked_transponder", f"expected 'on' or 'off', got {pt!r}")
            parked_on.append(pt == "on")
            legs.append(Leg(ends[0], ends[1], off, rws[0], rws[1], cruise))
        try:
            traj, truth = plan_journey(legs, ty, seed=seed + i)
        except ValueError as exc:
            raise cx.fail(f"{w}.leg", str(exc)) from None
        windows = []
        for j, win in enumerate(a.get("adsb_off", [])):
            ww = f"{w}.adsb_off[{j + 1}]"
            cx.keys(win, _WIN, ww)
            f0 = cx.time(cx.need(win, "from", ww), f"{ww}.from") - start
            f1 = cx.time(win["to"], f"{ww}.to") - start if "to" in win else duration + 1.0
            if f1 <= f0:
                raise cx.fail(f"{ww}.to", "must be after from")
            windows.append((f0, f1))
        off_windows = [(-math.inf, truth[0].off_block_s - on_before)]
        for k, lt in enumerate(truth):
            nxt = truth[k + 1].off_block_s - on_before if k + 1 < len(truth) else math.inf
            if not parked_on[k] and lt.on_block_s + off_after < nxt:
                off_windows.append((lt.on_block_s + off_after, nxt))
        # hold the trajectory before the first and after the last leg (transponder off there)
        traj = _hold_ends(traj, -duration, 2 * duration)
        aircraft.append(
            Aircraft(
                icao.lower(), traj, None, callsign, squawk,
                ADSB if eq_name == "adsb" else MODE_S_ONLY,
                category=ty.category,
                eirp_dbm=cx.number(a.get("eirp_dbm", 54.0), f"{w}.eirp_dbm", 30, 70),
                adsb_off=tuple(windows), transponder_off=tuple(off_windows),
                registration=cx.text(a.get("registration", ""), f"{w}.registration"),
                typecode=tname,
            )
        )  # fmt: skip
        legs_truth[icao.lower()] = truth

    bg = cx.keys(doc.get("background", {}), _BG, "background")
    block = (0x4CA000, 0x4CAFFF)
    if "address_block" in bg:
        s = cx.text(bg["address_block"], "background.address_block")
        m = re.fullmatch(r"([0-9A-Fa-f]{6})-([0-9A-Fa-f]{6})", s)
        if not m or int(m.group(1), 16) >= int(m.group(2), 16):
            raise cx.fail("background.address_block", f"expected FIRST-LAST hex, got {s!r}")
        block = (int(m.group(1), 16), int(m.group(2), 16))
    try:
        scenario = Scenario(
            name, tuple(receivers), tuple(aircraft), duration, start_time_s=start, seed=seed,
            fading_db=fading,
            description=cx.text(sc.get("description", ""), "scenario.description"),
        )  # fmt: skip
    except ValueError as exc:
        raise cx.fail("", str(exc)) from None
    return ScenarioSpec(
        scenario, legs_truth,
        int(cx.number(bg.get("aircraft", 0), "background.aircraft", 0, 1000)),
        cx.number(bg.get("radius_km", 350.0), "background.radius_km", 10, 2000),
        block, cx.text(sc.get("note", ""), "scenario.note"), text,
    )  # fmt: skip


def _hold_ends(tr: Trajectory, before_s: float, after_s: float) -> Trajectory:
    """``tr`` held still at its first point from ``before_s`` and at its last until
    ``after_s``."""
    head = Trajectory(
        np.array([before_s, tr.start_s - 1.0]), np.repeat(tr.lat_deg[:1], 2),
        np.repeat(tr.lon_deg[:1], 2), np.repeat(tr.altitude_ft[:1], 2), np.zeros(2),
        np.repeat(tr.track_deg[:1], 2), np.zeros(2), np.ones(2, bool),
    )  # fmt: skip
    tail = Trajectory(
        np.array([max(after_s, tr.end_s + 1.0)]), tr.lat_deg[-1:], tr.lon_deg[-1:],
        tr.altitude_ft[-1:], np.zeros(1), tr.track_deg[-1:], np.zeros(1), np.ones(1, bool),
    )  # fmt: skip
    if before_s >= tr.start_s:
        return Trajectory.concat([tr, tail])
    return Trajectory.concat([head, tr, tail])
