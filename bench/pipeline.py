"""The whole path (read Beast -> decode -> track -> aircraft.json) in CPU seconds, beside
dump1090-mutability (Debian package, C) fed the same bytes, measured in the same run.

The file: the real A321 flight of ``full_flight_short`` tiled 20 times with shifted addresses
(``bench/track.py``'s ``tile``: 1,155,860 frames), written as Beast with 12 MHz counters.

* ``overflight track FILE --json`` as a subprocess: CPU seconds of the process (user + system,
  from ``wait4``), whole, and net of start-up (the same command on a 100-frame file), as
  installed (pandas, a test dependency, absent) and as in this test environment;
* the station in-process: ``Station(StationConfig(identify=False, flights=False)).run_file``;
* dump1090-mutability ``--net-only`` with a Beast input port on loopback, fed the file over a
  socket; CPU of its process from ``/proc/PID/stat`` before and after, less its idle polling
  measured over the same wall time with no input (skipped, saying so, where not installed:
  ``apt-get install dump1090-mutability``);
* start-up time and peak memory of ``overflight --help`` and ``overflight decode --help``.

Kernels are compiled (first run) before anything is timed, into a numba cache of this run
(``NUMBA_CACHE_DIR``, unless set) that every measured process uses: the first-run compile is a
one-off, said on stderr, and is not what this measures. Best of ``--repeat`` runs; CPU times
of a busy machine are still noisy, so compare the ratios of one run, never figures across runs.

Run: ``python bench/pipeline.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Kernels compiled once into a cache of this run (before anything is timed), used by every
# process it starts: an edit to the source tree while it runs cannot trigger a compile mid-way.
_NUMBA = tempfile.mkdtemp(prefix="overflight-bench-numba-")
atexit.register(shutil.rmtree, _NUMBA, True)
os.environ.setdefault("NUMBA_CACHE_DIR", _NUMBA)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import Row, print_table  # noqa: E402
from overflight.frames import FrameBatch  # noqa: E402
from overflight.sources.beast import encode_beast  # noqa: E402
from track import load_flight, tile  # noqa: E402

COPIES = 20
TICKS_PER_S = 12_000_000


def write_file(folder: Path) -> tuple[Path, Path, int]:
    """The tiled flight as Beast with 12 MHz counters, and a 100-frame file of its start."""
    frames, times = load_flight()
    flight = FrameBatch.from_bytes([bytes.fromhex(f) for f in frames], time_s=times)
    many = tile(flight, COPIES, 0.0137)
    t = many.time_s
    ticks = np.rint((t - t[0]) * TICKS_PER_S).astype(np.uint64) + np.uint64(1000 * TICKS_PER_S)
    fb = FrameBatch(many.data, many.length_bytes, t, many.receiver,
                    np.full(len(many), -20.0, np.float32), ticks)
    path = folder / "tiled.beast"
    with path.open("wb") as fh:
        for s in range(0, len(fb), 65536):
            fh.write(encode_beast(fb.take(np.arange(s, min(s + 65536, len(fb))))))
    tiny = folder / "tiny.beast"
    tiny.write_bytes(encode_beast(fb.take(np.arange(100))))
    return path, tiny, len(fb)


def _overflight() -> list[str]:
    exe = shutil.which("overflight", path=str(Path(sys.executable).parent)) or shutil.which(
        "overflight")
    return [exe] if exe else [sys.executable, "-m", "overflight.cli"]


def run_cpu(cmd: list[str], out: Path | None = None,
            env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """(CPU seconds user+system, wall seconds, peak RSS MB, stderr) of a child process (the
    RSS of a child of this large process includes its pages before exec: see help_cost)."""
    t0 = time.perf_counter()
    with open(out or os.devnull, "wb") as fo:
        p = subprocess.Popen(cmd, stdout=fo, stderr=subprocess.PIPE,
                             env=None if env is None else {**os.environ, **env})
        assert p.stderr is not None
        err = p.stderr.read().decode(errors="replace")
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({p.returncode}): {err}")
    return ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss / 1024, err


def warm(cmd: list[str]) -> None:
    """Run until no kernel is compiled (the first run after an edit compiles them)."""
    for _ in range(4):
        if "compiling kernels" not in run_cpu(cmd)[3]:
            return


def best_pair(whole: list[str], start: list[str], repeat: int,
              env: dict[str, str] | None = None) -> tuple[float, float]:
    """Best CPU seconds of two commands run alternately (a machine whose speed drifts over a
    minute would otherwise favour whichever ran in its fast spell)."""
    a, b = [], []
    for _ in range(repeat):
        a.append(run_cpu(whole, env=env)[0])
        b.append(run_cpu(start, env=env)[0])
    return min(a), min(b)


def without_pandas(folder: Path) -> dict[str, str]:
    """The environment of an installed overflight: pandas is a test dependency only, absent
    from ``pip install overflight``; here a package first on the path that fails to import
    stands for its absence (pyarrow probes for pandas at its first conversion: ~0.2 s)."""
    fake = folder / "no-pandas" / "pandas"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text("raise ImportError('pandas is not installed')\n")
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join([str(fake.parent), *([path] if path else [])])}


def station_cpu(path: Path, repeat: int) -> tuple[float, int]:
    from overflight.station import Station, StationConfig

    best = float("inf")
    n = 0
    for _ in range(repeat):
        t0 = time.process_time()
        st = Station(StationConfig(identify=False, flights=False))
        st.run_file(path)
        st.close()
        best = min(best, time.process_time() - t0)
        n = len(st.tracker)
    return best, n


# ---------------------------------------------------------------- where the time goes
_STARTUP = """
import json, sys, time
clock = time.process_time
marks = [("interpreter", clock())]
def mark(name):
    marks.append((name, clock()))
import numpy
mark("numpy")
import pyarrow
mark("pyarrow")
from overflight._numba_cache import numba
mark("numba (import, cache folder)")
import overflight.cli
mark("command line (typer, rich, command modules)")
import typer._adapters
mark("pydantic (typer >= 0.29 validates parameters with it)")
import overflight.station
mark("station, tracking, decoding modules")
from overflight.tracking._factorize import factorize_keys
factorize_keys(numpy.zeros(1, numpy.uint32))  # the types of the run's calls: a cached kernel
mark("first compiled kernel loaded (numba/LLVM set-up)")
sys.argv = ["overflight", "track", sys.argv[1], "--json"]
try:
    overflight.cli.main()
except SystemExit:
    pass
mark("the run: typer's validators, other kernels, identities, 100 frames, output")
print(json.dumps(marks), file=sys.stderr)
"""

_STAGES = (
    ("Beast framing, clock, signal (sources/)", ("overflight/sources/",)),
    ("decode pass (tracking/_frames.py)", ("overflight/tracking/_frames.py",)),
    ("Comm-B register inference (modes/commb.py, modes/batch.py)",
     ("overflight/modes/commb.py", "overflight/modes/batch.py", "<string>")),
    ("tracking kernel (tracking/_kernel.py)", ("overflight/tracking/_kernel.py",)),
    ("tracker glue: admission, positions table (tracking/)", ("overflight/tracking/",)),
    ("station: events, rejections, publishing (station/)", ("overflight/station/",)),
)


def profile_startup(tiny: Path, env: dict[str, str]) -> list[tuple[str, float]]:
    """CPU seconds of each phase of a start (``track`` on the 100-frame file), in a child."""
    proc = subprocess.run([sys.executable, "-c", _STARTUP, str(tiny)], capture_output=True,
                          text=True, check=True, env={**os.environ, **env})
    import json

    line = [x for x in proc.stderr.splitlines() if x.startswith("[[")][-1]
    marks = json.loads(line)
    out = [(marks[0][0], marks[0][1])]
    out += [(name, t - marks[k][1]) for k, (name, t) in enumerate(marks[1:])]
    return out


def profile_frames(path: Path) -> list[tuple[str, float]]:
    """Seconds of the station's run (profiled, warm) by stage, from cProfile's own times."""
    import cProfile
    import pstats

    from overflight.station import Station, StationConfig

    def run() -> None:
        st = Station(StationConfig(identify=False, flights=False))
        st.run_file(path)
        st.close()

    run()
    prof = cProfile.Profile()
    prof.runcall(run)
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    totals = dict.fromkeys([name for name, _ in _STAGES] + ["Python, NumPy, Arrow calls"], 0.0)
    for (filename, _, _), (_, _, own, _, _) in stats.items():
        for name, parts in _STAGES:
            if any(part in filename for part in parts):
                totals[name] += own
                break
        else:
            totals["Python, NumPy, Arrow calls"] += own
    return list(totals.items())


def print_profile(tiny: Path, path: Path, env: dict[str, str], dump1090_s: float | None) -> None:
    start = profile_startup(tiny, env)
    total = sum(t for _, t in start)
    print(f"\nstart-up of `overflight track` on the 100-frame file, as installed: {total:.2f} "
          "CPU s (one run; phases in order)")
    for name, t in start:
        print(f"  {t:6.3f} s  {100 * t / total:4.0f}%  {name}")
    floor = sum(t for name, t in start[:4]) + start[7][1]
    print(f"  floor of any process that loads one numba kernel beside NumPy and pyarrow: "
          f"{floor:.2f} s" + (f" = {floor / dump1090_s:.1f}x dump1090's whole run on the file"
                              if dump1090_s else ""))
    frames = profile_frames(path)
    total = sum(t for _, t in frames)
    print(f"\nthe station on {path.name} (in-process, warm, under cProfile: {total:.2f} s; "
          "shares hold, cProfile inflates Python calls)")
    for name, t in frames:
        print(f"  {t:6.3f} s  {100 * t / total:4.0f}%  {name}")


# ---------------------------------------------------------------- dump1090-mutability
def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dump1090_cpu(exe: str, data: bytes, json_dir: Path) -> tuple[float, float, float]:
    """(busy CPU s, idle CPU s over the same wall time, wall s) of dump1090 ingesting ``data``
    over loopback; it writes aircraft.json every second into ``json_dir``."""
    port = _free_port()
    json_dir.mkdir(exist_ok=True)
    cmd = [exe, "--net-only", "--quiet", "--net-bind-address", "127.0.0.1",
           "--net-bi-port", str(port), "--net-ri-port", "0", "--net-ro-port", "0",
           "--net-sbs-port", "0", "--net-bo-port", "0",
           "--write-json", str(json_dir), "--write-json-every", "1"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "1", *cmd]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sock = None
        for _ in range(200):
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        if sock is None:
            raise RuntimeError("dump1090-mutability did not open its Beast input port")
        time.sleep(0.5)
        c0, w0 = _proc_cpu(p.pid), time.perf_counter()
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        # done when its CPU time stops moving for a second
        last, still = _proc_cpu(p.pid), 0
        while still < 10:
            time.sleep(0.1)
            c = _proc_cpu(p.pid)
            still = still + 1 if c == last else 0
            last = c
        wall = time.perf_counter() - w0
        i0 = _proc_cpu(p.pid)
        time.sleep(wall)
        idle = _proc_cpu(p.pid) - i0
        sock.close()
        return last - c0, idle, wall
    finally:
        p.terminate()
        p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true",
                    help="also print where the time goes: start-up phases, stages per frame")
    args = ap.parse_args()
    of = _overflight()
    # byte-compiled as pip compiles an installed package (an editable install under
    # PYTHONDONTWRITEBYTECODE would otherwise compile every module from source at each start)
    import compileall

    import overflight

    compileall.compile_dir(str(Path(overflight.__file__).parent), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, tiny, n = write_file(folder)
        full_cmd = [*of, "track", str(path), "--json"]
        tiny_cmd = [*of, "track", str(tiny), "--json"]
        warm(tiny_cmd)
        warm(full_cmd)
        installed = without_pandas(folder)
        whole, start = best_pair(full_cmd, tiny_cmd, args.repeat, installed)
        net = max(whole - start, 1e-9)
        dev_whole, dev_start = best_pair(full_cmd, tiny_cmd, args.repeat)
        st_cpu, aircraft = station_cpu(path, args.repeat)
        rows = [
            Row("overflight track FILE --json, whole process", n, whole,
                f"CPU s; {aircraft} aircraft; as installed (no pandas)"),
            Row("overflight track FILE --json, net of start-up", n, net,
                f"start-up (100-frame file) {start:.2f} CPU s"),
            Row("the same with pandas installed (test env.), whole", n, dev_whole,
                f"start-up {dev_start:.2f} CPU s (pyarrow imports pandas)"),
            Row("Station.run_file in-process (identify, flights off)", n, st_cpu, "CPU s"),
        ]
        exe = shutil.which("dump1090-mutability")
        baseline = None
        if exe is None:
            print("dump1090-mutability not installed: skipped (Debian/Ubuntu: "
                  "apt-get install dump1090-mutability)")
        else:
            data = path.read_bytes()
            runs = [dump1090_cpu(exe, data, folder / "d1090") for _ in range(args.repeat)]
            busy, idle, wall = min(runs, key=lambda r: r[0] - r[1])
            baseline = "dump1090-mutability --net-only, Beast in over loopback"
            rows.append(Row(baseline, n, max(busy - idle, 1e-9),
                            f"CPU s, idle polling {idle:.2f} s subtracted ({wall:.1f} s wall); "
                            "/proc ticks are 10 ms"))
        print_table(f"read Beast -> decode -> track -> aircraft.json, {n:,} frames "
                    "(full_flight_short x20), messages per CPU second", rows,
                    baseline=baseline or rows[0].name)
        if baseline is not None:
            ref = rows[-1].rate_per_s
            print(f"targets: net of start-up >= 1.0x dump1090 (now "
                  f"{rows[1].rate_per_s / ref:.2f}x), whole process >= 0.5x (now "
                  f"{rows[0].rate_per_s / ref:.2f}x)")
        if args.profile:
            print_profile(tiny, path, installed,
                          rows[-1].seconds if baseline is not None else None)
    for sub in ([], ["decode"]):
        cpu, wall, rss = min((help_cost([*of, *sub]) for _ in range(args.repeat)),
                             key=lambda r: r[1])
        print(f"overflight {' '.join([*sub, '--help'])}: {wall:.2f} s wall, {cpu:.2f} CPU s, "
              f"peak RSS {rss:.0f} MB (targets: < 0.3 s, < 80 MB)")


_LAUNCH = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
    "wall = time.perf_counter() - t\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(r.ru_utime + r.ru_stime, wall, r.ru_maxrss / 1024)\n"
)


def help_cost(of: list[str]) -> tuple[float, float, float]:
    """(CPU s, wall s, peak RSS MB) of ``overflight [sub-command] --help`` (``of``: the
    command line before ``--help``), started from a small launcher:
    a child forked from this (large) process would count its pages before exec in its RSS."""
    out = subprocess.run([sys.executable, "-S", "-c", _LAUNCH, *of, "--help"],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


if __name__ == "__main__":
    main()
