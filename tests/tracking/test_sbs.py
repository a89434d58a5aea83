"""SBS BaseStation lines from the tracker, replayed over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from overflight.pipeline import TrackingSink, mlat_sbs_lines, mlat_sbs_records
from overflight.sources.net import FanoutServer
from overflight.sources.replay import replay_file
from overflight.sources.sbs import SbsRecord, format_sbs, parse_sbs_line
from overflight.tracking import Tracker
from overflight.tracking.sbs import sbs_lines, sbs_records

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"


async def _replay_to_client(
    path: Path, *, columns: bool = False
) -> tuple[list[str], list[pa.Table], Tracker]:
    """SBS lines a client reads while ``path`` is replayed and tracked: formatted per record
    (``on_sbs``) or as columns (``on_sbs_lines``)."""
    server = FanoutServer("sbs")
    await server.start("127.0.0.1", 0)
    positions: list[pa.Table] = []
    sink = TrackingSink(
        Tracker(),
        on_sbs=None if columns else server.send_sbs,
        on_sbs_lines=server.send_sbs if columns else None,
        wants_sbs=lambda: bool(server.clients),
        on_positions=positions.append,
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    for _ in range(200):
        if server.clients:
            break
        await asyncio.sleep(0.01)
    await replay_file(path, [server], speed=None, on_batch=sink)
    data = b""
    while True:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), 0.5)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    writer.close()
    await server.close()
    return data.decode("ascii").splitlines(), positions, sink.tracker


def test_replay_of_sample_dump1090_gives_tracked_sbs_lines(
    shared: Callable[[str], Path],
) -> None:
    lines, positions, tracker = asyncio.run(_replay_to_client(shared(SAMPLE)))
    records = [parse_sbs_line(x) for x in lines]
    assert lines and all(isinstance(r, SbsRecord) for r in records), lines[:3]
    recs = [r for r in records if isinstance(r, SbsRecord)]
    # 440062 sends one DF11 in the capture: an address heard once is not tracked (probation)
    assert {r.icao24 for r in recs} == {"48520a", "3981e4", "44ce69"}
    idents = {(r.icao24, r.callsign) for r in recs if r.transmission_type == 1}
    assert ("48520a", "TRA89M") in idents
    # every position the tracker accepted is on an MSG,3 line (5 decimals), in order
    pos = pa.concat_tables(positions)
    assert pos.num_rows > 0
    expect = [
        (h, round(la, 5), round(lo, 5))
        for h, la, lo in zip(
            pos.column("icao24").to_pylist(),
            pos.column("lat_deg").to_pylist(),
            pos.column("lon_deg").to_pylist(),
            strict=True,
        )
    ]
    got = [
        (r.icao24, r.latitude_deg, r.longitude_deg)
        for r in recs
        if r.transmission_type in (2, 3) and r.latitude_deg is not None
    ]
    assert got == expect
    types = {r.transmission_type for r in recs}
    assert {1, 3, 4, 5}.issubset(types)
    a = tracker.get("48520a")
    assert a is not None and a.callsign == "TRA89M"
    msg5 = [r for r in recs if r.transmission_type == 5 and r.icao24 == "3981e4"]
    assert msg5 and all(r.altitude_ft is not None for r in msg5)


def test_lines_as_columns_reach_the_client_identical(shared: Callable[[str], Path]) -> None:
    by_record, _, _ = asyncio.run(_replay_to_client(shared(SAMPLE)))
    by_column, _, tracker = asyncio.run(_replay_to_client(shared(SAMPLE), columns=True))
    assert len(by_column) > 100 and by_column == by_record
    assert by_column[0].startswith("MSG,") and len(tracker) == 3


@pytest.mark.parametrize(("capture", "least"), [
    (SAMPLE, 200), ("modes-traffic-samples/full_flight_short.jsonl.gz", 50_000)])
def test_sbs_lines_equal_format_sbs_of_every_record_on_real_captures(
    shared: Callable[[str], Path], capture: str, least: int
) -> None:
    """Batch by batch through a tracker: the columnar lines are byte for byte
    ``format_sbs`` of ``sbs_records`` (the per-record reference)."""
    from overflight.pipeline import decode_frames
    from overflight.sources.files import read_batches

    tr = Tracker()
    lines = 0
    kinds: set[bytes] = set()
    for batch in read_batches(shared(capture)):
        table = decode_frames(batch)
        pos = tr.update(table)
        want = "".join(format_sbs(r) + "\r\n" for r in sbs_records(tr, table, pos))
        got = sbs_lines(tr, table, pos, logged_time_s=1_700_000_000.25)
        assert sbs_lines(tr, table, pos) == want.encode("ascii")
        assert got == "".join(
            format_sbs(r) + "\r\n"
            for r in sbs_records(tr, table, pos, logged_time_s=1_700_000_000.25)
        ).encode("ascii")
        lines += got.count(b"\r\n")
        kinds |= {line[:6] for line in got.split(b"\r\n") if line}
    assert lines > least
    assert {b"MSG,1,", b"MSG,3,", b"MSG,4,"} <= kinds


def test_mlat_lines_equal_format_sbs_of_the_records() -> None:
    fixes = pa.table({
        "icao24": ["0d0ac8", "~00ff0a", "0d0ac8"],
        "time_s": [1_562_000_000.123, 1_562_000_000.5, 1_562_000_001.0],
        "lat_deg": [10.60102, None, -0.000001],
        "lon_deg": [-66.99001, None, 0.5],
        "altitude_ft": [12_500.5, None, 3_000.0],
        "on_ground": [False, None, True],
    })
    got = mlat_sbs_lines(fixes)
    assert got == "".join(format_sbs(r) + "\r\n" for r in mlat_sbs_records(fixes)).encode()
    assert got.split(b"\r\n")[0] == (
        b"MLAT,3,1,1,0D0AC8,1,2019/07/01,16:53:20.123,2019/07/01,16:53:20.123,,12500,,,"
        b"10.60102,-66.99001,,,,,,0"
    )
    assert mlat_sbs_lines(fixes.slice(0, 0)) == b""


def test_sbs_records_refuse_a_table_the_tracker_did_not_just_apply(
    shared: Callable[[str], Path],
) -> None:
    from overflight.pipeline import decode_frames
    from overflight.sources.files import read_batches

    batch = next(iter(read_batches(shared(SAMPLE))))
    table = decode_frames(batch)
    tr = Tracker()
    pos = tr.update(table)
    assert sbs_records(tr, table, pos)
    with pytest.raises(ValueError):
        sbs_records(tr, table.slice(0, 3), pos)
    with pytest.raises(ValueError):
        sbs_lines(tr, table.slice(0, 3), pos)
    with pytest.raises(ValueError):
        sbs_lines(tr, table, pos.slice(0, 1))


@pytest.mark.parametrize("capture", [SAMPLE, "modes-traffic-samples/full_flight_short.jsonl.gz"])
def test_sbs_lines_of_frames_decoded_straight_equal_those_of_the_table(
    shared: Callable[[str], Path], capture: str
) -> None:
    """A tracker fed frames (``update_frames``, no table) gives the same SBS bytes, batch
    by batch, as one fed the batch's ``decode_batch`` table."""
    import numpy as np

    from overflight.pipeline import decode_frames
    from overflight.sources.files import read_batches

    by_table, by_frames = Tracker(), Tracker()
    total = 0
    kinds: set[bytes] = set()
    for batch in read_batches(shared(capture)):
        table = decode_frames(batch)
        want = sbs_lines(by_table, table, by_table.update(table))
        pos = by_frames.update_frames(batch, np.arange(len(batch), dtype=np.int64))
        got = sbs_lines(by_frames, None, pos)
        assert got == want
        total += got.count(b"\r\n")
        kinds |= {line[:6] for line in got.split(b"\r\n") if line}
    assert total > 100
    assert {b"MSG,1,", b"MSG,3,", b"MSG,4,"} <= kinds
    with pytest.raises(ValueError, match="not frames"):
        sbs_lines(by_table, None, pos)
