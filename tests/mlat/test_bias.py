"""Online timing-bias learning of GPS-synchronised receivers, on the real LocaRDS sample.

Each set is streamed through the engine in time order as the DF17 positions the receivers
heard; a row is solved (barometric altitude only, as for a Mode S-only aircraft) before it
serves as a reference, so every figure is held out in time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from overflight.mlat.bias import OnlineBiases
from overflight.mlat.engine import Multilaterator
from overflight.mlat.evaluate import evaluate_online, locards_receptions
from overflight.mlat.geodesy import llh_to_ecef
from overflight.mlat.locards import LocardsSet, read_locards_set
from overflight.mlat.receivers import ReceiverRegistry

DATA = "mlat-locards-sample"


@pytest.fixture(scope="module")
def sets(shared: Callable[[str], Path]) -> tuple[ReceiverRegistry, list[LocardsSet]]:
    reg = ReceiverRegistry.from_csv(shared(f"{DATA}/sensors.csv"))
    return reg, [read_locards_set(shared(f"{DATA}/set_{k}.csv")) for k in range(1, 9)]


def test_learner_finds_the_known_bias_from_references(
    sets: tuple[ReceiverRegistry, list[LocardsSet]],
) -> None:
    reg, ss = sets
    s = ss[0]
    ob = OnlineBiases(reg)
    truth = llh_to_ecef(s.lat_deg, s.lon_deg, s.geo_altitude_m)
    for k in np.argsort(s.time_s).tolist():
        ob.add_reference(truth[k], s.sensor[k], s.toa_s[k])
    b = ob.biases_s()
    assert ob.references > 340
    # Sensor 257 runs ~190 ns later than 141 in this hour (as the batch fit finds).
    assert 120e-9 < b[257] - b[141] < 260e-9
    assert abs(float(np.median(list(b.values())))) < 1e-12  # gauge: median 0
    # Too few GPS receivers, or one receiver twice: not a reference.
    assert not ob.add_reference(truth[0], s.sensor[0][:2], s.toa_s[0][:2])
    assert not ob.add_reference(truth[0], [141, 141, 141], [0.0, 0.0, 0.0])


def test_engine_learns_and_applies_biases(sets: tuple[ReceiverRegistry, list[LocardsSet]]) -> None:
    reg, ss = sets
    registry = ReceiverRegistry(reg)
    ml = Multilaterator(registry, solve_adsb=True, smooth=False)
    batches, _, _ = locards_receptions(ss[0])
    for b in batches:
        ml.process(b)
    assert ml.biases.references > 300
    assert 120e-9 < registry[257].timing_bias_s - registry[141].timing_bias_s < 260e-9
    assert ml.bad_receivers == set()  # a biased receiver is calibrated, not excluded


def test_online_learned_accuracy_streamed_in_time_order(
    sets: tuple[ReceiverRegistry, list[LocardsSet]],
) -> None:
    reg, ss = sets
    online = np.concatenate([evaluate_online(s, reg)[1][:, 0] for s in ss])
    raw = np.concatenate([evaluate_online(s, reg, learn_biases=False)[1][:, 0] for s in ss])
    assert online.size >= 1320
    assert np.median(online) <= 46.0
    assert np.percentile(online, 90) <= 212.0
    assert np.median(online) < np.median(raw) - 5.0
    assert online.size > raw.size
