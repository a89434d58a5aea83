"""Straight to recordings: a scenario file's receivers' Beast files, receivers table and truth.

:func:`write_recordings` streams :func:`~overflight.sim.stream.simulate_stream` into a directory:

* ``<name>-YYYYmmddTHHMMSSZ.beast`` — the receivers' frames, as ``overflight record`` writes
  them (``0x1a 0xe3`` receiver ids, ``0x1a 0xe9`` time records), one file per UTC hour that
  has frames (named by its first window's start);
* ``receivers.csv`` — the receivers table (``serial,latitude,longitude,height,type,name``), the
  format ``--receivers`` reads;
* ``truth.json`` — the scenario's ground truth: per aircraft its identity, every leg's off-block,
  take-off, landing and on-block times (ISO 8601 UTC and epoch seconds), runways and positions,
  ADS-B-off and transponder-off windows; the receivers; what was generated;
* ``truth_legs.csv`` — the legs as a table; ``truth_track.csv`` — each scenario aircraft's true
  state every ``track_every_s`` seconds while its transponder is on (background excluded).
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from overflight.sim.emit import in_windows, state_at
from overflight.sim.result import write_receivers_csv
from overflight.sim.scenario_file import ScenarioSpec
from overflight.sim.stream import WindowStats, simulate_stream

__all__ = ["RecordingStats", "iso", "truth_document", "write_recordings", "write_truth"]


def iso(epoch_s: float) -> str:
    """ISO 8601 UTC with seconds (``2019-03-23T15:05:12Z``)."""
    return datetime.fromtimestamp(round(epoch_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class RecordingStats:
    """What :func:`write_recordings` did."""

    frames: int = 0
    bytes: int = 0
    files: int = 0
    transmissions: int = 0
    background_flights: int = 0
    elapsed_s: float = 0.0
    audible_share: float = 0.0


def _window(w: tuple[float, float], start: float) -> dict[str, Any]:
    a, b = w
    return {
        "from": iso(start + a) if math.isfinite(a) else None,
        "to": iso(start + b) if math.isfinite(b) else None,
    }


def truth_document(spec: ScenarioSpec) -> dict[str, Any]:
    """The scenario's ground truth as a JSON-ready dict (see the module docstring)."""
    sc = spec.scenario
    st = sc.start_time_s
    aircraft = []
    for ac in sc.aircraft:
        legs = []
        for lt in spec.legs.get(ac.icao24, ()):
            legs.append(
                {
                    "departure_airport": lt.origin,
                    "arrival_airport": lt.destination,
                    "off_block_time": iso(st + lt.off_block_s),
                    "takeoff_time": iso(st + lt.takeoff_s),
                    "landing_time": iso(st + lt.landing_s),
                    "on_block_time": iso(st + lt.on_block_s),
                    "off_block_s": round(st + lt.off_block_s, 3),
                    "takeoff_s": round(st + lt.takeoff_s, 3),
                    "landing_s": round(st + lt.landing_s, 3),
                    "on_block_s": round(st + lt.on_block_s, 3),
                    "departure_runway": lt.departure_runway,
                    "arrival_runway": lt.arrival_runway,
                    "takeoff_lat_deg": round(lt.takeoff_lat_deg, 6),
                    "takeoff_lon_deg": round(lt.takeoff_lon_deg, 6),
                    "landing_lat_deg": round(lt.landing_lat_deg, 6),
                    "landing_lon_deg": round(lt.landing_lon_deg, 6),
                    "cruise_ft": lt.cruise_ft,
                    "distance_km": round(lt.distance_km, 1),
                }
            )
        aircraft.append(
            {
                "icao24": ac.icao24,
                "registration": ac.registration,
                "typecode": ac.typecode,
                "callsign": ac.callsign,
                "squawk": ac.squawk,
                "equipage": "adsb" if ac.equipage.adsb else "mode-s",
                "legs": legs,
                "adsb_off": [_window(w, st) for w in ac.adsb_off],
                "transponder_off": [_window(w, st) for w in ac.transponder_off],
            }
        )
    return {
        "scenario": sc.name,
        "description": sc.description,
        "note": spec.note,
        "start": iso(st),
        "end": iso(st + sc.duration_s),
        "seed": sc.seed,
        "aircraft": aircraft,
        "receivers": [
            {
                "id": r.receiver_id,
                "name": r.label,
                "lat_deg": r.lat_deg,
                "lon_deg": r.lon_deg,
                "height_m": r.height_m,
                "clock": "gps" if r.clock.gps_synchronised else "12mhz",
            }
            for r in sc.receivers
        ],
    }


def write_truth(
    spec: ScenarioSpec, out: Path, from_s: float, to_s: float, track_every_s: float = 10.0
) -> None:
    """``truth.json``, ``truth_legs.csv`` and ``truth_track.csv`` into ``out``."""
    doc = truth_document(spec)
    (out / "truth.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    with open(out / "truth_legs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        cols = ["icao24", "registration", "departure_airport", "arrival_airport",
                "off_block_time", "takeoff_time", "landing_time", "on_block_time",
                "departure_runway", "arrival_runway"]  # fmt: skip
        w.writerow(cols)
        for ac in doc["aircraft"]:
            for lg in ac["legs"]:
                w.writerow([ac["icao24"], ac["registration"]] + [lg[c] for c in cols[2:]])
    sc = spec.scenario
    with open(out / "truth_track.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([
            "icao24", "time", "time_s", "lat_deg", "lon_deg", "altitude_ft", "groundspeed_kt",
            "track_deg", "vertical_rate_fpm", "on_ground", "adsb",
        ])  # fmt: skip
        t = np.arange(math.ceil(from_s / track_every_s) * track_every_s, to_s, track_every_s)
        for ac in sc.aircraft:
            on = ~in_windows(t, ac.transponder_off)
            tt = t[on]
            if tt.size == 0:
                continue
            lat, lon, alt, gs, trk, vr, ground = state_at(ac, tt)
            adsb = ~in_windows(tt, ac.adsb_off) & ac.equipage.adsb
            for i in range(tt.size):
                w.writerow([
                    ac.icao24, iso(sc.start_time_s + tt[i]), f"{sc.start_time_s + tt[i]:.0f}",
                    f"{lat[i]:.6f}", f"{lon[i]:.6f}", f"{alt[i]:.0f}", f"{gs[i]:.1f}",
                    f"{trk[i]:.1f}", f"{vr[i]:.0f}", int(ground[i]), int(adsb[i]),
                ])  # fmt: skip


def write_recordings(
    spec: ScenarioSpec,
    out: str | Path,
    *,
    from_s: float = 0.0,
    to_s: float | None = None,
    background: int | None = None,
    window_s: float = 600.0,
    progress: Callable[[float, RecordingStats], None] | None = None,
) -> RecordingStats:
    """Simulate ``spec`` over [from_s, to_s) (seconds since its start) into directory ``out``
    (created); ``background``: mean background aircraft airborne per region (None: the
    scenario's). ``progress(done_fraction, stats)`` after every window."""
    t_start = time.perf_counter()
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    sc = spec.scenario
    end = sc.duration_s if to_s is None else min(to_s, sc.duration_s)
    write_receivers_csv(sc, d / "receivers.csv")
    write_truth(spec, d, from_s, end)
    bg = spec.background(background, from_s, end)
    rs = RecordingStats(background_flights=len(bg.flights) if bg is not None else 0)
    ws = WindowStats()
    fh: BinaryIO | None = None
    hour = None
    try:
        for res in simulate_stream(
            sc, from_s=from_s, to_s=end, window_s=window_s, background=bg, stats=ws
        ):
            first = float(res.frames.time_s[0])
            h = math.floor(first / 3600.0)
            if fh is None or h != hour:
                if fh is not None:
                    fh.close()
                stamp = datetime.fromtimestamp(first, UTC).strftime("%Y%m%dT%H%M%SZ")
                fh = open(d / f"{sc.name}-{stamp}.beast", "wb")  # noqa: SIM115
                hour = h
                rs.files += 1
            data = res.beast_bytes()
            fh.write(data)
            rs.bytes += len(data)
            rs.frames += len(res.frames)
            if progress is not None:
                done = (float(res.receptions.arrival_s[-1]) - from_s) / max(end - from_s, 1e-9)
                progress(min(done, 1.0), rs)
    finally:
        if fh is not None:
            fh.close()
    rs.transmissions = ws.transmissions
    rs.audible_share = ws.audible_s / ws.active_s if ws.active_s else 0.0
    rs.elapsed_s = time.perf_counter() - t_start
    return rs
