"""What travels on the bus: shard hashing, packed Arrow tables, aircraft states (no server)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from overflight.bus.codec import (
    pack,
    shard_of,
    split_parts,
    state_from_json,
    state_to_json,
    unpack,
)
from overflight.bus.subjects import parse_shards


def test_shards_are_stable_and_spread_a_country_block() -> None:
    # fixed forever: a stream's shards depend on it
    assert shard_of([0x393322, 0x48520A, 0x3981E4, 0x000000], 8).tolist() == \
        shard_of(np.array([0x393322, 0x48520A, 0x3981E4, 0]), 8).tolist()
    block = np.arange(0x380000, 0x3C0000)  # France's allocation, contiguous
    counts = np.bincount(shard_of(block, 8), minlength=8)
    assert counts.min() > 0.9 * counts.mean()


def test_pack_unpack_and_split() -> None:
    t = pa.table({"a": pa.array(np.arange(100_000), pa.int64()), "b": ["x"] * 100_000})
    e = pa.table({"k": ["first_seen"]})
    assert [(k, x.equals(y)) for (k, x), (_, y) in zip(unpack(pack([("pos", t), ("ev", e)])),
                                                         [("pos", t), ("ev", e)], strict=True)] \
        == [("pos", True), ("ev", True)]
    groups = split_parts([("pos", t), ("ev", e)], 200_000)
    assert len(groups) > 1
    back = pa.concat_tables([p for g in groups for k, p in g if k == "pos"])
    assert back.equals(t)


def test_parse_shards() -> None:
    assert parse_shards("0-3,6") == (0, 1, 2, 3, 6)
    assert parse_shards("5") == (5,)
    with pytest.raises(ValueError):
        parse_shards("3-1")


def test_state_round_trip_on_a_real_flight(shared) -> None:  # type: ignore[no-untyped-def]
    from overflight.station import Station, StationConfig

    st = Station(StationConfig(identify=False))
    st.run_file(shared("modes-traffic-samples/sample_dump1090.bin"), start_time_s=1.7e9)
    states = st.tracker.all_aircraft()
    assert {s.icao24 for s in states} >= {"48520a", "3981e4"}
    for s in states:
        back = state_from_json(state_to_json(s))
        for f in type(s).__dataclass_fields__:
            a, b = getattr(s, f), getattr(back, f)
            assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), f
