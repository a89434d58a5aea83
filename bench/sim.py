"""Simulator benchmark: receptions generated per second, vectorised vs a per-transmission loop.

Ours: :func:`overflight.sim.simulate` on ``mlat-demo`` (6 receivers, 10 aircraft, 240 s: schedule,
encode every frame, propagate transmissions x receivers in NumPy, clock models, sort) and on a
busier sky (60 aircraft). Peer: the per-transmission Python loop of the MLAT module's in-test
generator (``overflight.mlat.sim.simulate``: DF17 positions / DF4 only, same receivers and
aircraft count), timed in the same run. Also the Beast serialisation of the result.
Streamed scenario files: ``caracas-2019`` straight to recordings (schedule, encode, propagate,
Beast, files) over a 6-hour window with the scenario's background traffic (2 aircraft airborne
around each of the three receiver regions) and over the whole 60 hours without it (``--full``:
the whole 60 hours with background, a few minutes). Peak memory is the process's maximum RSS.
Run: ``python bench/sim.py [--full]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _table import Row, best_rate, print_table
from overflight.sim import (
    Aircraft,
    AltitudeProfile,
    ConstantHeading,
    SimResult,
    mlat_demo,
    simulate,
)


def busy(n_aircraft: int, duration_s: float) -> SimResult:
    """``mlat-demo``'s receivers with ``n_aircraft`` ADS-B aircraft on random rhumb lines."""
    sc = mlat_demo(duration_s=duration_s)
    rng = np.random.default_rng(5)
    ac = tuple(
        Aircraft(
            f"{0x3C0000 + 97 * k:06x}",
            ConstantHeading(
                float(rng.uniform(46.8, 48.4)),
                float(rng.uniform(7.0, 10.2)),
                float(rng.uniform(0, 360)),
                float(rng.uniform(250, 480)),
            ),
            AltitudeProfile.level(float(rng.integers(50, 400)) * 100),
            f"TST{k:03d}",
        )
        for k in range(n_aircraft)
    )
    return simulate(sc.with_(aircraft=ac))


def main() -> None:
    sc = mlat_demo()
    res = simulate(sc)
    n = len(res.frames)
    rows: list[Row] = [
        best_rate(
            "overflight.sim mlat-demo",
            n,
            lambda: simulate(sc),
            note=f"{len(res.truth):,} transmissions, {sc.duration_s:.0f} s simulated",
        ),
    ]
    big = busy(60, 120.0)
    rows.append(
        best_rate(
            "overflight.sim 60 aircraft",
            len(big.frames),
            lambda: busy(60, 120.0),
            repeat=2,
            note=f"{len(big.truth):,} transmissions, 120 s simulated",
        )
    )
    rows.append(
        best_rate("beast_bytes (mlat-demo)", n, res.beast_bytes, note="receiver ids + time records")
    )
    try:
        from overflight.mlat.sim import simulate as loop_simulate
    except ImportError:  # the MLAT module's generator is not there: no peer row
        loop_simulate = None
    if loop_simulate is not None:
        rx = [(r.receiver_id, r.lat_deg, r.lon_deg, r.height_m) for r in sc.receivers]
        acs = [(47.5 + 0.1 * k, 8.0 + 0.15 * k, 9_000.0) for k in range(10)]
        peer = loop_simulate(rx, acs, n_adsb=8, duration_s=sc.duration_s, hear_probability=1.0)
        rows.append(
            best_rate(
                "per-transmission loop (mlat.sim)",
                len(peer.receptions),
                lambda: loop_simulate(
                    rx, acs, n_adsb=8, duration_s=sc.duration_s, hear_probability=1.0
                ),
                repeat=1,
                note="DF17 position / DF4 only",
            )
        )
    print_table("Simulator: receptions generated per second (one core)", rows, unit="frames/s")
    best = rows[0]
    print(f"mlat-demo: {sc.duration_s / best.seconds:.0f}x real time, {best.seconds:.2f} s")
    streamed()


def streamed() -> None:
    """caracas-2019 straight to recordings: frames per second, real-time factor, memory."""
    import resource
    import tempfile

    from overflight.sim.library import SCENARIO_FILES
    from overflight.sim.recordings import write_recordings
    from overflight.sim.scenario_file import parse_scenario

    spec = parse_scenario(SCENARIO_FILES["caracas-2019"])
    cases = [
        ("caracas-2019 6 h + background", 16 * 3600.0, 22 * 3600.0, None),
        ("caracas-2019 60 h, no background", 0.0, spec.scenario.duration_s, 0),
    ]
    if "--full" in sys.argv:
        cases.append(("caracas-2019 60 h + background", 0.0, spec.scenario.duration_s, None))
    rows: list[Row] = []
    for name, a, b, bg in cases:
        with tempfile.TemporaryDirectory() as d:
            rs = write_recordings(spec, d, from_s=a, to_s=b, background=bg)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(
            Row(
                name, rs.frames, rs.elapsed_s,
                f"{rs.transmissions:,} transmissions, {rs.background_flights} background "
                f"flights, {(b - a) / rs.elapsed_s:.0f}x real time, {rs.bytes / 1e6:.0f} MB, "
                f"peak RSS {rss_mb:.0f} MB",
            )
        )  # fmt: skip
    print_table("Streamed scenario to recordings (one core)", rows, unit="frames/s")


if __name__ == "__main__":
    main()
