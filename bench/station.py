"""The station end to end: frames per second through the whole runtime from a Beast file with 0,
1 and 3 subscribers attached, beside the pre-station path (decode the tracker's columns, then
``Tracker.update``: what ``pipeline.track_file`` did) measured in the same run; and resident
memory per live aircraft in a long soak.

The file is the real A321 flight of ``full_flight_short`` tiled 20 times with shifted addresses
(as ``bench/track.py`` builds it, 1.16 M frames), written as Beast with a time record per frame,
read back by ``sources.files.read_batches`` as ``overflight track`` does. Subscribers: a counter
(inline), a history-like subscriber that builds the frames table of every batch and sums the
positions (on its own thread), and an events/flights reader (own thread).

Run: ``python bench/station.py [--soak-aircraft 2000 --soak-hours 6]``
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, print_table
from overflight.frames import FrameBatch
from overflight.pipeline import decode_frames
from overflight.sources.beast import encode_beast
from overflight.sources.files import read_batches
from overflight.station import Station, StationConfig, Update
from overflight.tracking import Tracker
from track import chunks, load_flight, tile


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def write_file(folder: Path) -> tuple[Path, int]:
    frames, times = load_flight()
    flight = FrameBatch.from_bytes([bytes.fromhex(f) for f in frames], time_s=times)
    many = tile(flight, 20, 0.0137)
    path = folder / "tiled.beast"
    with path.open("wb") as fh:
        for part in chunks(many):
            fh.write(encode_beast(part, time_records=True))
    return path, len(many)


def plain(path: Path) -> None:
    """The pre-station path: decode the tracker's columns and update the tracker."""
    tr = Tracker()
    for b in read_batches(path):
        tr.update(decode_frames(b))


def station(path: Path, subscribers: int, flights: bool = False) -> Station:
    st = Station(StationConfig(identify=False, flights=flights))
    seen = [0]
    if subscribers >= 1:
        st.subscribe(lambda u: seen.__setitem__(0, seen[0] + 1), name="count", inline=True)
    if subscribers >= 2:
        def history_like(u: Update) -> None:
            if u.name == "frames":
                _ = u.table.num_rows  # builds the Arrow frames table (raw bytes, seq)

        st.subscribe(history_like, name="history-like", block=True)
    if subscribers >= 3:
        kinds = ("events", "flights", "gone")
        st.subscribe(lambda u: None, name="alerts-like", kinds=kinds, block=True)
    st.run_file(path)
    st.close()
    return st


def best(fn: object, repeat: int) -> float:
    out = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out = min(out, time.perf_counter() - t0)
    return out


def soak(aircraft: int, hours: float) -> None:
    from overflight.sim.soak import SoakScenario, soak_batches

    sc = SoakScenario(aircraft=aircraft, duration_s=hours * 3600.0)
    st = Station(StationConfig(identify=False, expire_after_s=300.0))
    rss1 = None
    held = 0.0
    t0 = time.perf_counter()
    hour = 0
    print(f"\nsoak: {aircraft:,} aircraft over {hours:g} h of scenario time, "
          f"{sc.frames():,} frames, flights on")
    print("hour  live  state  flight rows  RSS MB  wall s")
    for b in soak_batches(sc):
        st.process(b)
        h = int((st.tracker.now_s - sc.start_s) // 3600)
        if h > hour:
            hour = h
            live = len(st.snapshot().aircraft)
            gc.collect()
            assert st.flights is not None
            rss1 = _rss_mb() if rss1 is None else rss1
            held = max(held, st.tracker.state_nbytes() / max(len(st.tracker), 1))
            print(f"{h:4d}  {live:4d}  {len(st.tracker):5d}  {st.flights.buffered_rows:11,d}  "
                  f"{_rss_mb():6.0f}  {time.perf_counter() - t0:6.1f}")
    st.finish()
    end = _rss_mb()
    print(f"frames {st.stats.frames:,} (scenario {sc.frames():,}), dropped batches "
          f"{st.stats.batches_dropped}, flights closed {st.stats.flights_closed:,}; "
          f"RSS {rss1:.0f} MB after the first hour, {end:.0f} MB at the end "
          f"({(end / (rss1 or end) - 1) * 100:+.1f}%); tracker state at most {held:,.0f} B per "
          f"aircraft held; flight buffers keep positions up to 12 h after an aircraft's last "
          f"message (a leg may go on across an ocean), about 88 B per kept position")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--soak-aircraft", type=int, default=2000)
    ap.add_argument("--soak-hours", type=float, default=6.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, n = write_file(Path(tmp))
        plain(path)  # warm up: kernels compiled, file in the page cache
        station(path, 0)
        rows = [
            Row("station, 0 subscribers", n, best(lambda: station(path, 0), args.repeat)),
            Row("station, 1 subscriber (inline counter)", n,
                best(lambda: station(path, 1), args.repeat)),
            Row("station, 3 subscribers (2 on threads)", n,
                best(lambda: station(path, 3), args.repeat)),
            Row("station, 3 subscribers + live flights", n,
                best(lambda: station(path, 3, flights=True), args.repeat)),
            Row("pre-station path: read + decode + Tracker.update", n,
                best(lambda: plain(path), args.repeat)),
        ]
        st = station(path, 0)
        print_table(
            f"station from a Beast file ({n:,} frames, {len(st.tracker)} aircraft)",
            rows, baseline="pre-station path: read + decode + Tracker.update",
        )
    soak(args.soak_aircraft, args.soak_hours)



if __name__ == "__main__":
    main()
