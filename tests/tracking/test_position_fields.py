"""Each position carries the aircraft's squawk, callsign, GNSS altitude, NIC and NACp as of the
frame that made it (issue 12), checked against pyModeS 3 decoding the same real frames."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from overflight.frames import FrameBatch
from overflight.modes import decode_batch
from overflight.modes.encode import encode_airborne_position, encode_operational_status
from overflight.sources.files import read_batches
from overflight.tracking import OUTCOME_NAMES, REJECTION_REASONS, Tracker
from overflight.tracking.records import POSITIONS_SCHEMA, positions_table

from ._frames import batch_from_hex, cut_hex, load_jsonl

FULL = "modes-traffic-samples/full_flight_short.jsonl.gz"
BEAST = "modes-traffic-samples/sample_dump1090.bin"
LFPG = (49.0097, 2.5479)
VALID_S = 60.0
"""A GNSS altitude older than this is not given with a position (as the barometric one)."""
STALE_S = 15.0
"""A velocity message's GNSS-baro difference applies to a barometric altitude this fresh."""


def _oracle(frames: list[str]) -> list[dict[str, Any]]:
    import pyModeS

    return [dict(pyModeS.decode(f)) for f in frames]


def _nic(tc: int, nic_a: int, nic_bc: int) -> int:
    """NIC of a position type code by pyModeS's DO-260B table (index: NIC-A, NIC-B/C bits)."""
    from pyModeS._uncertainty import TC_NICv2_lookup

    v = TC_NICv2_lookup[tc]
    return v if isinstance(v, int) else v.get(2 * nic_a + nic_bc, v[0])


def _expected(
    decoded: list[dict[str, Any]], times: np.ndarray, rejected: np.ndarray
) -> dict[str, list[Any]]:
    """Per frame, what the oracle's decoding of the frames up to it says the aircraft's squawk,
    GNSS altitude (ft, or None when older than 60 s), NACp and frame NIC are (one aircraft).
    A frame whose position the tracker rejected as bad data (``rejected``) sets nothing."""
    squawk = nac_p = None
    nic_a = nic_c = 0
    baro: tuple[float, float, bool] | None = None  # time, ft, from ADS-B
    gnss: tuple[float, float] | None = None
    out: dict[str, list[Any]] = {"squawk": [], "gnss": [], "nac_p": [], "nic": []}
    for d, t, bad in zip(decoded, times.tolist(), rejected.tolist(), strict=True):
        if bad:
            d = {"df": d.get("df"), "typecode": d.get("typecode")}
        df, tc = d.get("df"), d.get("typecode") or 0
        adsb = df in (17, 18)
        if d.get("squawk") is not None:
            squawk = d["squawk"]
        if adsb and tc == 31:
            nic_a = d.get("nic_supplement_a") or 0
            if d.get("subtype") == 1:
                nic_c = d.get("nic_supplement_c") or 0
        if d.get("nac_p") is not None and adsb and tc in (29, 31):
            nac_p = d["nac_p"]
        alt = d.get("altitude")
        # a Mode S reply's altitude never overrides ADS-B's while that is fresh
        if (
            alt is not None
            and ((adsb and 9 <= tc <= 18) or df in (0, 4, 16, 20))
            and (adsb or baro is None or not baro[2] or t >= baro[0] + STALE_S)
        ):
            baro = (t, float(alt), adsb)
        if alt is not None and adsb and 20 <= tc <= 22:
            gnss = (t, float(alt))
        diff = d.get("geo_minus_baro")
        if adsb and tc == 19 and diff is not None and baro is not None and t - baro[0] < STALE_S:
            gnss = (t, baro[1] + diff)
        out["squawk"].append(squawk)
        out["nac_p"].append(nac_p)
        out["gnss"].append(gnss[1] if gnss is not None and t - gnss[0] <= VALID_S else None)
        nic = None
        if adsb and 5 <= tc <= 8:
            nic = _nic(tc, nic_a, nic_c)
        elif adsb and (9 <= tc <= 18 or 20 <= tc <= 22):
            nic = _nic(tc, nic_a, d.get("nic_b") or 0)
        out["nic"].append(nic)
    return out


def _rejected(tr: Tracker) -> np.ndarray:
    """Per row of the tracker's last batch: was its position rejected as bad data?"""
    return np.isin(tr.last_outcomes, [OUTCOME_NAMES.index(r) for r in REJECTION_REASONS])


def _check(pos: pa.Table, want: dict[str, list[Any]], frames: list[str], decoded: Any) -> None:
    """Every position's fields equal the oracle's as of the frame (``frame_seq``) that made it;
    NIC: the lower of the pair's two frames."""
    seq = pos.column("frame_seq").to_numpy()
    pair = pos.column("pair_frame_seq").to_numpy()
    assert (seq >= 0).all()
    for name, col in (("squawk", "squawk"), ("gnss", "altitude_gnss_ft"), ("nac_p", "nac_p")):
        got = pos.column(col).to_pylist()
        exp = [want[name][i] for i in seq.tolist()]
        assert got == exp, name
    nic = [
        want["nic"][i] if j < 0 else min(want["nic"][i], want["nic"][j])
        for i, j in zip(seq.tolist(), pair.tolist(), strict=True)
    ]
    assert pos.column("nic").to_pylist() == nic
    callsigns = {d.get("callsign") for d in decoded if d.get("callsign")}
    assert set(pos.column("callsign").to_pylist()) - {None} == callsigns


@pytest.fixture(scope="module")
def full_flight(shared: Callable[[str], Path]) -> dict[str, Any]:
    recs = load_jsonl(shared(FULL))
    frames = [cut_hex(r["frame"]) for r in recs]
    times = np.array([r["timestamp"] for r in recs])
    table = decode_batch(batch_from_hex(frames, times))
    tr = Tracker(receiver_lat_lon=LFPG)
    pos = tr.update(table, np.arange(len(frames), dtype=np.int64))
    return {"frames": frames, "times": times, "positions": pos, "rejected": _rejected(tr)}


def test_full_flight_positions_carry_squawk_gnss_altitude_and_nic(
    full_flight: dict[str, Any],
) -> None:
    pytest.importorskip("pyModeS")
    frames, times, pos = full_flight["frames"], full_flight["times"], full_flight["positions"]
    decoded = _oracle(frames)
    assert 0 < full_flight["rejected"].sum() < 100
    want = _expected(decoded, times, full_flight["rejected"])
    assert pos.schema == POSITIONS_SCHEMA and pos.num_rows > 8200
    _check(pos, want, frames, decoded)
    # the real values behind the equalities: DF5/21 identity 1000, NIC 8 (TC 7, 11), 7 (TC 12),
    # 0 (TC 8 without NIC-A/C); GNSS from the velocity messages' difference; no TC 29/31: no NACp
    assert set(pos.column("squawk").to_pylist()) == {"1000"}
    assert set(pos.column("nic").to_pylist()) == {0, 7, 8}
    gnss = pos.column("altitude_gnss_ft")
    assert gnss.null_count < pos.num_rows // 4
    assert pos.column("nac_p").null_count == pos.num_rows
    top = np.nanmax(gnss.to_numpy(zero_copy_only=False).astype(float))
    assert 34_000 < top < 37_000


def test_beast_capture_positions_carry_nac_p_from_operational_status(
    shared: Callable[[str], Path],
) -> None:
    pytest.importorskip("pyModeS")
    (batch,) = list(read_batches(shared(BEAST)))
    frames = [batch.frame_hex(i) for i in range(len(batch))]
    tr = Tracker()
    pos = tr.update(decode_batch(batch), np.arange(len(batch), dtype=np.int64))
    assert pos.num_rows >= 1
    decoded = _oracle(frames)
    mine = [k for k, d in enumerate(decoded) if d.get("icao") == "48520A"]
    want = _expected(
        [decoded[k] for k in mine], np.asarray(batch.time_s)[mine], _rejected(tr)[mine]
    )
    # index the oracle's per-frame values by frame number
    full: dict[str, list[Any]] = {k: [None] * len(frames) for k in want}
    for name, values in want.items():
        for k, v in zip(mine, values, strict=True):
            full[name][k] = v
    assert set(pos.column("icao24").to_pylist()) == {"48520a"}
    _check(pos, full, frames, [decoded[k] for k in mine])
    assert pos.column("nac_p").to_pylist() == [9] * pos.num_rows  # TC 29/31: NACp 9
    assert set(pos.column("squawk").to_pylist()) == {"5516"}
    assert pos.column("nic").to_pylist() == [8] * pos.num_rows  # TC 11, NIC-A 0


def _pair(icao: str, t0: float, nic_b: int) -> list[tuple[bytes, float]]:
    return [
        (encode_airborne_position(icao, 52.0, 4.0, 30000, False, typecode=11, nic_b=nic_b), t0),
        (encode_airborne_position(icao, 52.0, 4.0, 30000, True, typecode=11, nic_b=nic_b),
         t0 + 1),
    ]  # fmt: skip


def test_nic_supplement_a_from_operational_status_raises_a_tc11_position_to_nic_9() -> None:
    """readsb's rule (DO-260B table 2-14): TC 11 is NIC 9 with NIC-A and NIC-B both set, else
    8; NIC-A comes from the aircraft's last operational status."""
    icao = "4ca2b1"
    msgs = [
        *_pair(icao, 0.0, nic_b=1),  # NIC-A unknown: 8
        (encode_operational_status(icao, nic_supplement_a=1, nac_p=10), 2.0),
        *_pair(icao, 3.0, nic_b=1),  # both: 9
        *_pair(icao, 5.0, nic_b=0),  # NIC-B clear: 8
    ]
    batch = FrameBatch.from_bytes([m for m, _ in msgs], time_s=np.array([t for _, t in msgs]))
    tr = Tracker(confirm_within_s=None)
    table = decode_batch(batch)
    first = tr.update(table.slice(0, 5))
    # the aircraft's NIC field follows the frames too (the decoder alone, without NIC-A, says 8)
    assert int(tr.table.rows["nic"][tr.table.row_of(0x4CA2B1)]) == 9
    pos = pa.concat_tables([first, tr.update(table.slice(5))])
    # a pair's NIC is the lower of its two frames': the first NIC-9 frame pairs with an 8
    assert pos.column("frame_seq").num_chunks >= 1 and pos.num_rows == 5
    assert pos.column("nic").to_pylist() == [8, 8, 9, 8, 8]
    assert pos.column("nac_p").to_pylist() == [None, 10, 10, 10, 10]
    a = tr.get(icao)
    assert a is not None and a.nic == 8 and a.rc_m == pytest.approx(185.2)


def test_mlat_positions_have_no_nic_or_nac_p_but_keep_squawk(
    full_flight: dict[str, Any],
) -> None:
    tr = Tracker(receiver_lat_lon=LFPG)
    tr.update(decode_batch(batch_from_hex(full_flight["frames"][:3000],
                                          full_flight["times"][:3000])))  # fmt: skip
    t = float(full_flight["times"][2999]) + 40.0  # MLAT never overrides fresh ADS-B
    a = tr.get("393322")
    assert a is not None and a.lat_deg is not None and a.lon_deg is not None
    pos = tr.update_mlat(["393322"], t, a.lat_deg, a.lon_deg + 0.001, 2000.0)
    (row,) = pos.to_pylist()
    assert row["source"] == "mlat" and row["nic"] is None and row["nac_p"] is None
    assert row["squawk"] == "1000" and row["callsign"] == "AFR34ZG"


def test_positions_table_fills_left_out_columns_with_nulls() -> None:
    t = positions_table({
        "icao24": ["abcdef"], "address": [0xABCDEF], "non_icao": [False], "time_s": [1.0],
        "lat_deg": [10.0], "lon_deg": [20.0], "source": ["adsb"], "reference": ["pair"],
        "frame_seq": [-1], "pair_frame_seq": [-1],
    })  # fmt: skip
    assert t.schema == POSITIONS_SCHEMA
    assert t.to_pylist()[0]["squawk"] is None and t.to_pylist()[0]["lat_deg"] == 10.0
    with pytest.raises(KeyError, match="address"):
        positions_table({"icao24": ["abcdef"]})
