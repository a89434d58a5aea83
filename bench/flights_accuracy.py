"""Accuracy of flights on real ground truth: legs found, take-offs/landings, airports right.

Truth: FR24 published origin/destination; full_flight_short / readsb / belevingsvlucht known ends;
the trajectory collections against tests/flights/_truth.py (independent of the detector: see its
docstring). Thresholds in segment.Params and build.py were set by hand from aviation practice
while looking at savan, tour_de_france, the carrier and noisy_ground ("tuned"); held out (never
looked at while setting them): the four FR24 records, switzerland, zurich_airport, calfire,
the calibration and refuelling samples ("held out").

Usage: python bench/flights_accuracy.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from overflight.datapaths import shared_file
from overflight.flights import find_flights, read_positions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "flights"))
from _truth import agreement

KNOWN = {
    "modes-traffic-samples/fr24/2ce4f83f.json": [("WMSA", "RCSS")],
    "modes-traffic-samples/fr24/3376ab31.json": [("RJCC", "RJTT")],
    "modes-traffic-samples/fr24/34a8254b.json": [("LSZH", "MMUN")],
    "modes-traffic-samples/fr24/372355e5.json": [("LTFM", "ENGM")],
    "modes-traffic-samples/full_flight_short.jsonl.gz": [("LFPG", "LFBO")],
    "trajectories-traffic/featured/belevingsvlucht.json.gz": [("EHAM", "EHAM")],
}


TRUTH_FILES = (
    ("trajectories-traffic/collections/savan.json.gz", "tuned"),
    ("trajectories-traffic/tv_relay/tour_de_france.json.gz", "tuned"),
    ("trajectories-traffic/onground/zurich_airport.json.gz", "held out"),
    ("trajectories-traffic/calibration/toulouse.json.gz", "held out"),
    ("trajectories-traffic/calibration/munich.json.gz", "held out"),
    ("trajectories-traffic/military/inflight_refuelling.json.gz", "held out"),
    ("trajectories-traffic/firefighting/calfire.json.gz", "held out"),
    ("trajectories-traffic/collections/switzerland.json.gz", "held out"),
)


def _pr(counts: tuple[int, int, int]) -> str:
    """Precision/recall text from (true, detected, matched)."""
    true_n, det_n, matched = counts
    p = f"{matched / det_n:.2f}" if det_n else "-"
    r = f"{matched / true_n:.2f}" if true_n else "-"
    return f"{p}/{r} ({matched}/{det_n}/{true_n})"


def main() -> None:
    t = Table(title="flights accuracy on real ground truth")
    for c in ("data", "truth legs", "legs found", "extra legs", "airports right", "note"):
        t.add_column(c)
    tot_ends = tot_right = 0
    for rel, truth in KNOWN.items():
        p = shared_file(rel)
        if p is None:
            continue
        fl = find_flights(read_positions(p)).flights
        right = sum(f.departure.code == d for f, (d, _) in zip(fl, truth, strict=False)) + sum(
            f.arrival.code == a for f, (_, a) in zip(fl, truth, strict=False)
        )
        tot_ends += 2 * len(truth)
        tot_right += right
        t.add_row(
            rel.split("/")[-1],
            str(len(truth)),
            str(min(len(fl), len(truth))),
            str(max(0, len(fl) - len(truth))),
            f"{right}/{2 * len(truth)}",
            "published / known",
        )
    p = shared_file("modes-traffic-samples/trace_full_ac671b.json")
    if p is not None:
        fl = find_flights(read_positions(p)).flights
        ok = fl[-1].arrival.code == "KDEN"
        t.add_row("trace_full_ac671b", "-", str(len(fl)), "-", f"{int(ok)}/1", "last arrival KDEN")
    for rel, use in TRUTH_FILES:
        p = shared_file(rel)
        if p is None:
            continue
        tab = read_positions(p)
        fl = find_flights(tab).flights
        sc = agreement(tab, fl)
        t.add_row(
            rel.split("/")[-1],
            str(sc.legs),
            f"{sc.found} ({sc.found / max(sc.legs, 1):.0%})",
            str(sc.extra),
            f"{sc.ends_right}/{sc.ends_named} ends ({sc.airport_share:.0%}); "
            f"{sc.legs_right}/{sc.legs} legs",
            f"{use}; take-off P/R {_pr(sc.takeoffs)}, landing P/R {_pr(sc.landings)}",
        )
    p = shared_file("trajectories-traffic/military/aircraft_carrier.json.gz")
    if p is not None:
        fl = find_flights(read_positions(p)).flights
        invented = sum(
            1
            for f in fl
            for e in (f.departure, f.arrival)
            if e.code is not None and e.lon_deg < -117.5
        )
        t.add_row(
            "aircraft_carrier",
            "-",
            str(len(fl)),
            "-",
            f"{invented} invented",
            "ends at sea must have no airport",
        )
    for name in (
        "noisy_ground",
        "noisy_takeoff",
        "noisy_landing",
        "noisy_spoofing",
        "noisy_time_issue",
    ):
        p = shared_file(f"trajectories-traffic/noisy/{name}.json.gz")
        if p is not None:
            fl = find_flights(read_positions(p)).flights
            t.add_row(
                name,
                "1",
                str(min(1, len(fl))),
                str(max(0, len(fl) - 1)),
                "-",
                "noise must not add legs",
            )
    Console(width=200).print(t)
    if tot_ends:
        Console(width=200).print(
            f"published/known airports right: {tot_right}/{tot_ends} ({tot_right / tot_ends:.0%})"
        )


if __name__ == "__main__":
    main()
