"""Alert rules over the live update stream: 1,000 rules and 5,000 aircraft.

The stream: 5,000 aircraft flying at once over Europe (``overflight.sim.soak``: an even and an
odd airborne position per aircraft per second, an identification every 10 s), run through a
:class:`~overflight.station.Station` in batches of about 21,000 frames (0.2 s of a 100 k msg/s
feed, the station's live batch), flights on. Every update the station publishes is recorded,
then replayed into an :class:`~overflight.alerts.engine.AlertEngine` with 0,
100 and 1,000 rules. The rules are a seeded mix of every kind (circles, polygons, countries
entered and left, silence near places, first seen, take-off / landing with airports and
countries, emergencies, callsign / squawk changes, GNSS integrity) with selectors on
military, country, type and callsign.

Reported: station seconds for the stream, engine seconds, their ratio
(target: under 10 %), and rule evaluations per second (rules x positions / engine seconds).
Seconds are CPU seconds of this process (``time.process_time``; both run on one thread), the
share is theirs: on a shared machine wall seconds count the waits for a core too (printed
beside them for reference). The reference is the station measured in the same run.
The simulated stream is almost all positions (about 95 % of frames; a real feed has about a
quarter), so the share measured here is an upper bound for real traffic at the same rate.

Run: ``python bench/alerts.py [--aircraft 5000 --seconds 60 --rules 1000]``
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from overflight.alerts import parse_rules
from overflight.alerts.engine import AlertEngine
from overflight.station import Station, StationConfig

COUNTRIES = ["FR", "DE", "ES", "IT", "GB", "PL", "NL", "BE", "CH", "AT", "CZ", "PT", "DK",
             "SE", "NO", "IE", "HU", "RO", "SK", "SI", "HR", "BA", "RS", "GR", "BG", "UA", "BY",
             "LT", "LV", "EE"]
AIRPORTS = ["LFPG", "EDDF", "EGLL", "LEMD", "LIRF", "EHAM", "EBBR", "LSZH", "LOWW", "EPWA"]
AIRLINES = ["AFR", "DLH", "BAW", "RYR", "EZY", "AFL", "UAE", "KLM", "SWR", "IBE", "FAF", "RRR"]
TYPES = ["A320", "B738", "A321", "B77W", "IL76", "C17", "K35R", "E190"]


def make_rules(n: int, seed: int = 7) -> str:
    """``n`` rules of every kind (seeded), as a rules file."""
    rnd = random.Random(seed)
    out = []

    def circle() -> str:
        return (f"{{ circle = {{ lat = {rnd.uniform(36, 59):.3f}, lon = {rnd.uniform(-9, 29):.3f}"
                f", radius_km = {rnd.uniform(10, 80):.1f} }} }}")

    def polygon() -> str:
        la, lo = rnd.uniform(36, 58), rnd.uniform(-9, 28)
        d = rnd.uniform(0.3, 1.5)
        return (f"{{ polygon = [[{la:.3f}, {lo:.3f}], [{la + d:.3f}, {lo:.3f}], "
                f"[{la + d:.3f}, {lo + d:.3f}], [{la:.3f}, {lo + d:.3f}]] }}")

    def select(everyone: float) -> str:
        x = rnd.random()
        if x < everyone:
            return "{}"
        if x < 0.55:
            return "{ military = true }"
        if x < 0.7:
            return f'{{ country = ["{rnd.choice(COUNTRIES)}", "{rnd.choice(COUNTRIES)}"] }}'
        if x < 0.85:
            return f'{{ type = ["{rnd.choice(TYPES)}"] }}'
        return f'{{ callsign = "{rnd.choice(AIRLINES)}*" }}'

    for i in range(n):
        x = rnd.random()
        if x < 0.30:
            when = f"{{ entered = {circle()} }}"
        elif x < 0.40:
            when = f"{{ left = {circle()} }}"
        elif x < 0.50:
            when = f"{{ entered = {polygon()} }}"
        elif x < 0.53:
            k = rnd.choice(["entered", "left"])
            when = f'{{ {k} = {{ country = "{rnd.choice(COUNTRIES)}" }} }}'
        elif x < 0.63:
            when = f"{{ silent = {{ minutes = {rnd.randint(5, 30)}, near = {circle()} }} }}"
        elif x < 0.73:
            when = "{ first_seen = true }"
        elif x < 0.83:
            k = rnd.choice(["took_off", "landed"])
            opt = rnd.choice([f'{{ airport = ["{rnd.choice(AIRPORTS)}"] }}',
                              f'{{ country = ["{rnd.choice(COUNTRIES)}"] }}', "true"])
            when = f"{{ {k} = {opt} }}"
        elif x < 0.93:
            when = "{ emergency = true }"
        else:
            when = rnd.choice(["{ callsign_changed = true }", "{ squawk_changed = true }",
                               "{ integrity = { nic_below = 6, nacp_below = 8 } }"])
        # areas: 40 % of the rules watch every aircraft; events: none (a rule that alerts on
        # every aircraft seen is not a rule anyone keeps; emergencies: half)
        area = any(a in when for a in ("circle", "polygon", "country ="))
        sel = select(0.4 if area else 0.5 if "emergency" in when else 0.0)
        out.append(f'[[rule]]\nname = "r{i}"\nselect = {sel}\nwhen = {when}\n'
                   f'notify = ["log"]\n')
    return "\n".join(out)


def record(aircraft: int, seconds: float, repeat: int = 2
           ) -> tuple[list[Any], tuple[float, float], int, int]:
    """Run the stream through a station (best of ``repeat``); (updates, (station CPU s,
    station wall s), frames, positions)."""
    from overflight.sim.soak import SoakScenario, soak_batches

    sc = SoakScenario(aircraft=aircraft, duration_s=seconds, lifetime_s=seconds,
                      position_every_s=1.0, ident_every_s=10.0)
    t0 = time.perf_counter()
    frames_per_s = aircraft * 2.1
    batches = list(soak_batches(sc, batch_s=21_000 / frames_per_s))
    print(f"stream: {aircraft:,} aircraft, {seconds:g} s, {sum(len(b) for b in batches):,} "
          f"frames in {len(batches)} batches (encoded in {time.perf_counter() - t0:.1f} s)")
    warm = Station(StationConfig(identify=False))  # compile the kernels before timing
    warm.process(batches[0])
    best: tuple[tuple[float, float], list[Any], int] = ((float("inf"), 0.0), [], 0)
    for _ in range(repeat):
        run = _run_station(batches)
        if run[0][0] < best[0][0]:
            best = run
    times, got, frames = best
    positions = sum(u.table.num_rows for u in got if u.name == "positions")
    return got, times, frames, positions


def _run_station(batches: list[Any]) -> tuple[tuple[float, float], list[Any], int]:
    st = Station(StationConfig(identify=False))
    got: list[Any] = []
    st.subscribe(got.append, inline=True, kinds=AlertEngine.KINDS)
    t0, w0 = time.process_time(), time.perf_counter()
    for b in batches:
        st.process(b)
    st.finish()
    return (time.process_time() - t0, time.perf_counter() - w0), got, st.stats.frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--aircraft", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    updates, (station_s, station_wall_s), frames, positions = record(
        args.aircraft, args.seconds, args.repeat)
    print(f"station: {station_s:.2f} CPU s ({station_wall_s:.2f} wall s) for {frames:,} "
          f"frames ({frames / station_s:,.0f} frames per CPU s), {positions:,} positions")
    print(f"{'rules':>6} {'engine s':>9} {'share':>7} {'wall s':>7} {'rule evals/s':>14} "
          f"{'alerts':>7}")
    for n in sorted({0, min(100, args.rules), args.rules}):
        rules = parse_rules(make_rules(n)) if n else parse_rules("")
        best = best_wall = float("inf")
        alerts = 0
        for _ in range(args.repeat):
            eng = AlertEngine(rules, recent=1)
            # areas and country borders are loaded before timing (done once at rule load)
            t0, w0 = time.process_time(), time.perf_counter()
            for u in updates:
                eng.on_update(u)
            best = min(best, time.process_time() - t0)
            best_wall = min(best_wall, time.perf_counter() - w0)
            alerts = eng.stats.alerts
        evals = n * positions / best if n else 0.0
        print(f"{n:6d} {best:9.3f} {best / station_s:7.1%} {best_wall:7.3f} {evals:14,.0f} "
              f"{alerts:7d}")
    print("target: rule evaluation under 10% of the station's time at 100 k msg/s")


if __name__ == "__main__":
    main()
