"""The compiled aircraft.json writer (``records_json``) against the per-aircraft one it replaces
(``aircraft_record`` over ``Tracker.state_of_row``, serialized by ``jsonout.dumps``), which stays
as the oracle: the same bytes over every real capture and over 10,000 synthetic aircraft with
awkward numbers (rounding ties, -0.0, values below 1e-4, NaN, infinities, huge values) and
hostile strings."""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from overflight.datapaths import shared_data_dir
from overflight.jsonout import dumps
from overflight.pipeline import track_file
from overflight.tracking import Tracker
from overflight.tracking.state import NON_ICAO_FLAG, SIGNAL_RING, SOURCE_CODES

aj = importlib.import_module("overflight.tracking.aircraft_json")  # the package re-exports a
# function of the same name

CAPTURES = "modes-traffic-samples"
SAMPLE = f"{CAPTURES}/sample_dump1090.bin"


def _captures() -> list[Path]:
    root = shared_data_dir()
    if root is None or not (root / CAPTURES).is_dir():
        return []
    return sorted(p for p in (root / CAPTURES).rglob("*") if p.is_file() and p.suffix != ".md")


@dataclasses.dataclass(frozen=True)
class Ident:
    """An identity as the registry gives one (only what aircraft.json reads)."""

    registration: str | None
    type_code: str | None
    description: str | None
    operator: str | None
    db_flags: int
    year: int | None = None


def _oracle(tr: Tracker, now_s: float, keep_old: bool,
            idents: list[Any] | None = None) -> bytes:
    """What the per-aircraft writer gives for every record of ``tr``, in row order."""
    recs = []
    for r in range(len(tr.table)):
        a = tr.state_of_row(r)
        ident = idents[r] if idents is not None and not a.non_icao else None
        recs.append(aj.aircraft_record(a, now_s, keep_old=keep_old, identity=ident))
    return dumps(recs).encode()


def _columnar(tr: Tracker, now_s: float, keep_old: bool,
              idents: list[Any] | None = None) -> bytes:
    ids = None
    if idents is not None:
        pool = aj.JsonPool()
        pool.extend([aj.identity_json(i) for i in idents])
        ids = (np.arange(len(idents), dtype=np.int32), pool.arrays())

    def record(i: int) -> bytes:
        ident = idents[i] if idents is not None else None
        a = tr.state_of_row(i)
        return dumps(aj.aircraft_record(a, now_s, keep_old=keep_old,
                                        identity=None if a.non_icao else ident)).encode()

    strings = aj.InternedJson().sync(tr.strings.values)
    out: bytes = aj.records_json(tr.table.used, now_s, strings,
                                 json_reliable=tr.json_reliable, identities=ids,
                                 keep_old=keep_old, record=record)
    return out


def _first_difference(a: bytes, b: bytes) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
             min(len(a), len(b)))
    return f"at byte {i}: {a[max(i - 150, 0):i + 60]!r} != {b[max(i - 150, 0):i + 60]!r}"


@pytest.mark.skipif(not _captures(), reason=f"shared data {CAPTURES} absent")
@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_same_bytes_as_the_per_aircraft_writer_on_every_real_capture(path: Path) -> None:
    tr = track_file(path)  # (some hold no frames the tracker takes: "[]" both)
    for keep_old in (True, False):
        for now in (tr.now_s, tr.now_s + 45.0):  # + 45 s: stale fields and lastPosition
            want = _oracle(tr, now, keep_old)
            got = _columnar(tr, now, keep_old)
            assert got == want, _first_difference(got, want)
            assert len(json.loads(got)) == len(tr.table)


def _synthetic(base: Tracker, n: int, seed: int = 5) -> Tracker:
    """``n`` records copied from a real tracker's, under new addresses, with awkward values."""
    rng = np.random.default_rng(seed)
    src = base.table.used
    rows = src[rng.integers(0, len(src), n)].copy()
    keys = (0x100000 + np.arange(n)).astype(np.uint32)
    keys[rng.random(n) < 0.05] |= NON_ICAO_FLAG
    rows["key"] = keys
    now = float(base.now_s)

    def pick(*choices: Any) -> npt.NDArray[Any]:
        return np.asarray(choices)[rng.integers(0, len(choices), n)]

    # rounding: float32 quarters and eighths are exact ties at 1 and 2 digits
    rows["gs"] = np.where(rng.random(n) < 0.5, rng.integers(0, 4000, n) / 4.0,
                          rng.uniform(0, 600, n)).astype(np.float32)
    rows["track"] = np.where(rng.random(n) < 0.5, rng.integers(0, 2880, n) / 8.0,
                             rng.uniform(0, 360, n)).astype(np.float32)
    rows["alt_baro"] = np.where(rng.random(n) < 0.3, rng.integers(-80, 1800, n) * 25 + 12.5,
                                rng.uniform(-1000, 45000, n)).astype(np.float32)
    rows["baro_rate"] = np.where(rng.random(n) < 0.3, rng.integers(-100, 100, n) + 0.5,
                                 rng.uniform(-6000, 6000, n)).astype(np.float32)
    rows["nav_heading"] = pick(0.125, 359.995, -0.0, 0.005, 1.0, np.nan).astype(np.float32)
    lat = rng.uniform(-90, 90, n)
    lon = rng.uniform(-180, 180, n)
    odd = rng.random(n)
    lat[odd < 0.05] = pick(5e-05, -5e-05, 1.2e-05, 7e-06, -0.0, 0.0, 4.9999995e-07,
                           -4e-07, 9.9995e-05)[odd < 0.05]
    lon[(odd > 0.05) & (odd < 0.1)] = 0.0000005 * rng.integers(-300, 300, n)[
        (odd > 0.05) & (odd < 0.1)]
    rows["lat"], rows["lon"] = lat, lon
    rows["pos_src"] = np.where(rows["pos_src"] == 0, SOURCE_CODES["adsb"], rows["pos_src"])
    rows["pos_src"][rng.random(n) < 0.1] = SOURCE_CODES["mlat"]
    rows["pos_src"][rng.random(n) < 0.05] = SOURCE_CODES["tisb"]
    rows["rel_odd"] = rng.integers(0, 3, n)
    rows["rel_even"] = rng.integers(0, 3, n)
    rows["pos_rc_m"] = pick(np.nan, 185.2, 7.5, 0.05, 1852.0, 25.25).astype(np.float32)
    rows["pos_nic"] = rng.integers(-1, 12, n)
    rows["pos_t"] = now - pick(0.0, 0.05, 0.25, 12.35, 59.95, 60.0, 61.0, 3600.0, 20 * 86400.0)
    rows["seen_t"] = now - pick(0.0, 0.05, 0.15, 1.25, 29.95, 30.0, 45.0, -2.0)
    for f in ("alt_baro", "gs", "track", "callsign", "squawk", "emergency", "category",
              "nac_p", "sil", "nav_heading", "on_ground"):
        rows[f + "_src"] = pick(0, *SOURCE_CODES.values())
        rows[f + "_t"] = now - pick(0.0, 5.0, 60.0, 60.5, np.nan)
    rows["on_ground"] = rng.integers(-1, 2, n)
    rows["squawk"] = pick(-1, 0, 7, 70, 700, 7700, 1234, 12345)
    rows["sil_type"] = rng.integers(-1, 2, n)
    rows["version"] = rng.integers(-1, 3, n)
    rows["version_src"] = pick(0, 7)
    sig = rng.uniform(1e-6, 1.0, (n, SIGNAL_RING)).astype(np.float32)
    sig[rng.random((n, SIGNAL_RING)) < 0.3] = 0.0
    sig[rng.random(n) < 0.05] = 0.0
    sig[rng.random(n) < 0.01, 0] = np.inf
    rows["signal"] = sig
    # not finite or beyond 2**52: left out, or written by aircraft_record for that row
    bad = rng.random(n) < 0.02
    rows["alt_geom"][bad] = pick(np.nan, np.inf, -np.inf, 1e30, -3e38)[bad]
    rows["alt_geom_src"][bad] = SOURCE_CODES["adsb"]
    rows["alt_geom_t"][bad] = now
    rows["gs"][rng.random(n) < 0.005] = 3e37
    # hostile strings from the air or a file
    hostile = ['"><script>alert(1)</script>', "back\\slash", "tab\there", "nul\x00",
               "é ü ✈", "\U0001f6e9 plane", "", " ", "A" * 40, "\u2028\u2029", "\x7f\x1f"]
    ids = [base.strings.intern(s) for s in hostile]
    rows["callsign"] = pick(-1, *ids)
    rows["category"] = pick(-1, *ids[:4])
    rows["emergency"] = pick(-1, *ids[4:])
    tr = Tracker()
    tr.strings = base.strings
    tr.now_s = now
    tr.table.rows = rows
    tr.table._n = n  # a table filled by hand
    return tr


def test_same_bytes_over_10000_synthetic_aircraft(shared: Callable[[str], Path]) -> None:
    base = track_file(shared(SAMPLE))
    tr = _synthetic(base, 10_000)
    rng = np.random.default_rng(9)
    ugly = Ident('PH-"X"\\', "B738\u2028", "</script><b>x</b>", "Ops\x00\x1b[31m", 9, 1987)
    plain = Ident("PH-HXB", "B738", "BOEING 737-800", None, 0)
    idents: list[Any] = [
        (None, ugly, plain, Ident(None, None, None, None, 0))[k]
        for k in rng.integers(0, 4, len(tr.table))
    ]
    for keep_old in (False, True):
        want = _oracle(tr, tr.now_s, keep_old, idents)
        got = _columnar(tr, tr.now_s, keep_old, idents)
        assert got == want, _first_difference(got, want)
    doc = json.loads(got)
    assert len(doc) == 10_000
    assert any("lastPosition" in r for r in json.loads(_columnar(tr, tr.now_s, False)))
    assert any(r.get("year") == "1987" and r["r"] == 'PH-"X"\\' for r in doc)
    assert any(r.get("flight") == '"><scrip' for r in doc)  # 8 characters, as text


def test_rounding_is_pythons_over_many_values() -> None:
    """Every float written with 1, 2 or 6 digits reads back as ``round(x, digits)``, and as
    the same text Python writes (ties, -0.0, tiny values, float32 values)."""
    rng = np.random.default_rng(3)
    xs = np.concatenate([
        rng.uniform(-1000, 1000, 20_000),
        rng.integers(-100_000, 100_000, 20_000) / 8.0,
        rng.uniform(-1, 1, 5_000).astype(np.float32).astype(np.float64),
        rng.uniform(-2e-4, 2e-4, 5_000),
        np.array([0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 2.675, 1.005, -2.5e-7, 5e-7, 1.5e-6,
                  9.99995e-05, 123456789.05, 1e15 + 0.5]),
    ])
    out = np.empty(64, np.uint8)
    for digits in (1, 2, 6):
        for x in xs.tolist():
            end = aj._dec_put(out, 0, x, digits)
            if end < 0:  # left to aircraft_record
                assert abs(x) * 10**digits >= 2**52, (x, digits)
                continue
            assert out[:end].tobytes().decode() == json.dumps(round(x, digits)), (x, digits)
    for x in [0.5, 1.5, 2.5, -0.5, -1.5, -0.4, 1e15 + 0.5, 4503599627370495.5, 12.4999]:
        end = aj._int_put(out, 0, x)
        assert out[:end].tobytes().decode() == json.dumps(round(x)), x
    assert aj._int_put(out, 0, 1e30) == -1  # left to aircraft_record
