"""Issue 17, "the first hour": what a newcomer meets in the first commands they run.

Every test runs the real command (typer's CliRunner, or a subprocess where a terminal or the
process's own start matters) on real data from ../shared/data.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner, Result

from overflight.cli import app

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
IQ = "iq-rtlsdr-modes1/modes1.bin"
AP_WHY = "address/parity, address not confirmed"


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, input=input)


def summary_rows(stderr: str) -> dict[str, int]:
    return {
        m.group(1).strip(): int(m.group(2).replace(",", ""))
        for m in re.finditer(r"│ (.+?)\s+│\s+([\d,]+) │", stderr)
    }


# ------------------------------------------------------------------------------ 3 --version


def test_version() -> None:
    res = run("--version")
    assert res.exit_code == 0, res.output
    assert res.stdout == "overflight 0.1.0\n"


# ------------------------------------------------------------------------------ 6 decode


def test_decode_rows_agree_with_the_summary(shared: Callable[[str], Path]) -> None:
    """The dump1090 capture: the summary's 7 frames that are not valid are the 7 rows marked
    so, in JSON (valid false, the rule in invalid_reason) and in text ([rule]); every JSON row
    carries its frame as received."""
    cap = shared(SAMPLE)
    res = run("decode", "--json", str(cap))
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    summary = summary_rows(res.stderr)
    assert len(rows) == summary["frames decoded"] == 239
    bad = [r for r in rows if not r["valid"]]
    assert len(bad) == 239 - summary["valid (as readsb accepts them)"] == 7
    assert {r["invalid_reason"] for r in bad} == {AP_WHY}
    assert all(r["invalid_reason"] is None for r in rows if r["valid"])
    assert rows[0]["frame_hex"] == "20000ca8f70aa7" and not rows[0]["valid"]  # DF4 before any DF11
    assert all(len(r["frame_hex"]) == (28 if r["df"] >= 16 else 14) for r in rows)
    res = run("decode", str(cap), "--no-summary")
    marked = [line for line in res.stdout.splitlines() if f"[{AP_WHY}]" in line]
    assert len(marked) == 7


def test_decode_undefined_formats_are_rows_marked_not_valid(tmp_path: Path) -> None:
    """DF19 (military extended squitter) and DF22 stay visible, marked as readsb drops them;
    the summary counts them the same way."""
    cap = tmp_path / "mil.txt"
    frames = ["9a" + "00" * 13, "b0" + "11" * 13, "8d4840d6202cc371c32ce0576098"]
    cap.write_text("\n".join(frames) + "\n")
    res = run("decode", "--json", str(cap))
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["df"] for r in rows] == [19, 22, 17]
    assert [r["valid"] for r in rows] == [False, False, True]
    assert all("readsb drops them" in r["invalid_reason"] for r in rows[:2])
    assert [r["frame_hex"] for r in rows] == frames
    s = summary_rows(res.stderr)
    assert s["valid (as readsb accepts them)"] == 1
    assert s["not valid: DF 1-3, 6-10, 12-15, 19, 22, 23 (readsb drops them)"] == 2


def test_decode_iq_rows_show_their_time(shared: Callable[[str], Path]) -> None:
    """Raw I/Q has no wall-clock time: rows show seconds since the first sample (+s)."""
    res = run("decode", "--format", "iq", str(shared(IQ)), "--no-summary")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines and all(re.match(r"\s*\+\d+\.\d{6} DF", line) for line in lines), lines[:3]
    times = [float(line.split()[0]) for line in lines]
    assert times == sorted(times) and times[-1] > 0


# ------------------------------------------------------------------------------ 1 tables


def test_flights_piped_prints_whole_values_as_tsv(shared: Callable[[str], Path],
                                                  tmp_path: Path) -> None:
    """Not a terminal: a header line and one tab-separated line per leg, nothing cut."""
    res = run("flights", "--input", str(shared(FULL_FLIGHT)),
              env={"OVERFLIGHT_HOME": str(tmp_path), "COLUMNS": "60"})
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split("\t") == ["icao24", "callsign", "journey", "from", "departure (UTC)",
                                    "to", "arrival (UTC)", "bound for", "sources", "gaps", "km",
                                    "max ft", "seen"]
    assert lines[1].split("\t")[:10] == [
        "393322", "AFR34ZG", "1: leg 1/1", "LFPG (observed)", "2024-07-06T06:59:21Z (observed)",
        "LFBO (observed)", "2024-07-06T07:58:42Z (observed)", "", "adsb", ""]
    assert len(lines) == 2 and "…" not in res.output
    assert "1 legs in 1 journeys in full_flight_short.jsonl.gz (8,259 positions)" in res.stderr


def test_flights_on_a_narrow_terminal_drops_columns_not_characters(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """A 100-column terminal: the table fits, no value is cut, the columns left out are
    named; the legs' ends stay."""
    res = run("flights", "--input", str(shared(FULL_FLIGHT)), "--quiet",
              env={"OVERFLIGHT_HOME": str(tmp_path), "COLUMNS": "100", "TTY_COMPATIBLE": "1",
})
    assert res.exit_code == 0, res.output
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", res.stdout)  # the header's bold
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 100
    for whole in ("393322", "LFPG (observed)", "2024-07-06T06:59:21Z (observed)", "LFBO"):
        assert whole in out, out
    caption = " ".join(out.split())
    assert ("not shown (terminal too narrow): callsign, arrival (UTC), bound for, sources, gaps, "
            "km, max ft, seen") in caption
    wide = run("flights", "--input", str(shared(FULL_FLIGHT)), "--quiet",
               env={"OVERFLIGHT_HOME": str(tmp_path), "COLUMNS": "200", "TTY_COMPATIBLE": "1"})
    assert "not shown" not in wide.stdout and "AFR34ZG" in wide.stdout


def test_flights_formats_in_help_are_the_readers() -> None:
    from overflight.cli.flights import FORMATS
    from overflight.flights.readers import FORMATS as READERS

    assert FORMATS == READERS


# ------------------------------------------------------------------------------ 2 progress


def test_progress_on_a_terminal_only(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """flights shows a transient progress display on a terminal's stderr; --quiet and a
    non-terminal show none."""
    args = ("flights", "--input", str(shared(FULL_FLIGHT)))
    env = {"OVERFLIGHT_HOME": str(tmp_path), "TTY_COMPATIBLE": "1", "COLUMNS": "200"}
    shown = run(*args, env=env)
    assert shown.exit_code == 0 and "reading full_flight_short.jsonl.gz" in shown.stderr
    quiet = run(*args, "--quiet", env=env)
    assert quiet.exit_code == 0 and "reading" not in quiet.stderr
    piped = run(*args, env={"OVERFLIGHT_HOME": str(tmp_path)})
    assert piped.exit_code == 0 and "reading" not in piped.stderr and "\x1b" not in piped.output


# ------------------------------------------------------------------------------ 5 db lookup

USER_CSV_HEADER = (
    "$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link"
)


def test_lookup_before_any_import_says_military_is_unknown(tmp_path: Path) -> None:
    """No registry: 1551E0 (an Il-62 of the Russian Air Force) is not "military: no"; an
    address in one of readsb's military blocks is military, with the block."""
    env = {"OVERFLIGHT_HOME": str(tmp_path / "home")}
    res = run("db", "lookup", "1551E0", env=env)
    assert res.exit_code == 0, res.output
    rows = dict(line.split("\t") for line in res.stdout.splitlines())
    assert rows["military"] == "unknown (no registry imported; run `overflight db import`)"
    assert rows["registration"] == "RA-86496 (derived from the address)"
    res = run("db", "lookup", "3AA123", env=env)
    rows = dict(line.split("\t") for line in res.stdout.splitlines())
    assert rows["military"].startswith(
        "yes (address block 3AA000-3AFFFF, France military (readsb's military ranges)"), rows


def test_lookup_opinions_is_a_table_of_sources(shared: Callable[[str], Path],
                                               tmp_path: Path) -> None:
    env = {"OVERFLIGHT_HOME": str(tmp_path / "home")}
    mine = tmp_path / "mine.csv"
    mine.write_text(USER_CSV_HEADER + "\n1551E0,RA-86496,Mine,Il-62,IL62,Mil,,,,Test,\n")
    for f, extra in ((shared("aircraft-plane-alert-db/plane-alert-db.csv"), ()),
                     (mine, ("--source", "mine"))):
        assert run("db", "import", str(f), *extra, env=env).exit_code == 0
    res = run("db", "lookup", "1551E0", "--opinions", env=env)
    assert res.exit_code == 0, res.output
    assert "RegistryRecord" not in res.output
    lines = res.stdout.splitlines()
    at = lines.index("field\tmine (user)\tplane-alert-db (watchlist)")
    table = {line.split("\t")[0]: line.split("\t")[1:] for line in lines[at + 1:]}
    assert table["operator"] == ["Mine", "Russian Air Force"]
    assert table["registration"] == ["RA-86496", "RA-86496"]
    assert table["military"] == ["yes", "yes"]
    assert "1551E0: every source's record" in res.stderr


# ------------------------------------------------------------------------------ 10 db path


def test_store_and_cache_are_announced_listed_and_removable(shared: Callable[[str], Path],
                                                            tmp_path: Path) -> None:
    home, cache_home = tmp_path / "home", tmp_path / "cache"
    kernels = cache_home / "overflight" / "numba" / "0123456789abcdef"
    kernels.mkdir(parents=True)
    (kernels / "k.nbi").write_bytes(b"x" * 1000)
    env = {"OVERFLIGHT_HOME": str(home), "XDG_CACHE_HOME": str(cache_home)}
    alerts = str(shared("aircraft-plane-alert-db/plane-alert-db.csv"))
    res = run("db", "import", alerts, env=env)
    assert res.exit_code == 0, res.output
    assert f"creating the aircraft store at {home / 'aircraft.sqlite'}" in res.stderr
    res = run("db", "import", alerts, env=env)
    assert "creating" not in res.output  # said on first use only
    res = run("db", "path", env=env)
    assert res.exit_code == 0, res.output
    store_line, cache_line = res.stdout.splitlines()
    assert re.fullmatch(rf"store: {re.escape(str(home / 'aircraft.sqlite'))} \([\d.,]+ MB\)",
                        store_line), store_line
    assert cache_line == f"cache: {cache_home / 'overflight'} (0.0 MB)"
    res = run("db", "path", "--remove", env=env, input="n\n")
    assert res.exit_code == 1 and (home / "aircraft.sqlite").exists()
    res = run("db", "path", "--remove", "--yes", env=env)
    assert res.exit_code == 0, res.output
    assert not (home / "aircraft.sqlite").exists() and not (home / "aircraft.index.arrow").exists()
    assert not (cache_home / "overflight").exists()
    res = run("db", "path", env=env)
    assert res.stdout.splitlines() == [
        f"store: {home / 'aircraft.sqlite'} (not created yet)",
        f"cache: {cache_home / 'overflight'} (empty)",
    ]


# ------------------------------------------------------------------------------ 4 mlat eval


def test_mlat_eval_headline_first_sets_with_detail(shared: Callable[[str], Path],
                                                   tmp_path: Path) -> None:
    """The real set_8 (63 transmissions): the first line is the headline; the per-set rows
    and the KF/RTS filters only with --detail."""
    d = tmp_path / "locards"
    d.mkdir()
    for name in ("sensors.csv", "set_8.csv"):
        (d / name).symlink_to(shared(f"mlat-locards-sample/{name}"))
    res = run("mlat", "eval", str(d))
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert re.fullmatch(
        r"headline \(all sets; held-out receiver biases; barometric altitude; each fix alone\): "
        r"median [\d.]+ m, p90 [\d.]+ m horizontal error; \d+ of 63 fixes solved \([\d.]+%\)",
        lines[0]), lines[0]
    table = [line.split("\t") for line in lines[1:]]
    assert table[0][:4] == ["set", "altitude", "timing", "filter"]
    assert len(table) == 1 + 8 and {r[0] for r in table[1:]} == {"overall"}
    assert {r[3] for r in table[1:]} == {"-"}
    detail = run("mlat", "eval", str(d), "--detail")
    rows = [line.split("\t") for line in detail.stdout.splitlines()[2:]]
    assert {r[0] for r in rows} == {"set_8", "overall"}
    assert {r[3] for r in rows} == {"-", "KF", "RTS"}
    assert len(rows) == 2 * 24


# ------------------------------------------------------------------------------ 7 replay, record


@contextmanager
def replaying(*args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``overflight replay ARGS --to 127.0.0.1:0`` as a process, and the port it serves on."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "overflight", "replay", *args, "--to", "127.0.0.1:0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"serving Beast on 127\.0\.0\.1:(\d+)", line)
        assert m, line
        yield proc, int(m.group(1))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _receive(port: int, at_least: int | None = None) -> int:
    """Bytes read from the server until it closes, or until ``at_least`` have come."""
    got = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        while at_least is None or got < at_least:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
    return got


def test_replay_once_then_with_loop_for_client_after_client(shared: Callable[[str], Path]) -> None:
    """Without --loop: one pass for the first client, then the command ends (exit 0). With
    --loop: pass after pass, and a second client after the first one left is served too."""
    cap = str(shared(SAMPLE))
    with replaying(cap, "--speed", "max") as (proc, port):
        one_pass = _receive(port)
        assert proc.wait(timeout=60) == 0
    assert one_pass > 1000
    with replaying(cap, "--speed", "max", "--loop") as (proc, port):
        assert _receive(port, at_least=3 * one_pass) >= 3 * one_pass  # three passes and more
        time.sleep(0.3)
        assert proc.poll() is None  # the first client went; still serving
        assert _receive(port, at_least=one_pass) >= one_pass


def test_record_that_recorded_nothing_fails_clearly(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run("record", "--out", str(tmp_path / "rec"), "--connect", f"127.0.0.1:{port}",
              "--duration", "0.5")
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert re.search(rf"error: recorded nothing in [\d.]+ s: no frame came from 127\.0\.0\.1:"
                     rf"{port} \(is the receiver running, and sending beast\?\)", res.stderr)


# ------------------------------------------------------------------------------ 8 file names

EVIL_NAMES = ("[link=file:evil]x.bin", "a\x1b[2Jb.bin", "c\x1b]0;pwn\x07d.bin")


def _inert(res: Result, name: str) -> None:
    """Nothing of ``name`` acts on a terminal: no escape character, no hyperlink; the name is
    shown with its control characters as \\xNN."""
    out = res.output
    assert "\x1b]" not in out and "\x07" not in out and "\x1b[2J" not in out, repr(out)
    shown_name = name.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    assert shown_name in " ".join(out.replace("│", " ").split()) or shown_name in out, out


def test_file_names_are_inert_on_the_terminal(shared: Callable[[str], Path],
                                              tmp_path: Path) -> None:
    """Hostile file names in tables (a Rich terminal), messages and usage errors of decode,
    flights, db lookup --db, mlat eval and record --out."""
    env = {"TTY_COMPATIBLE": "1", "COLUMNS": "250", "OVERFLIGHT_HOME": str(tmp_path / "h")}
    for name in EVIL_NAMES:
        cap = tmp_path / name
        cap.write_bytes(shared(SAMPLE).read_bytes()[:2000])
        res = run("flights", "--input", str(cap), "--quiet", env=env)
        assert res.exit_code == 0, res.output
        assert "\x1b]8;" not in res.output  # no OSC-8 hyperlink in the table title
        _inert(res, name)
        res = run("decode", str(cap), "--quiet", env=env)
        assert res.exit_code == 0, res.output
        missing = tmp_path / "nope" / name
        for args in (("decode", str(missing)), ("flights", "--input", str(missing)),
                     ("db", "lookup", "1551E0", "--db", str(cap)),
                     ("mlat", "eval", str(missing)), ("mlat", "eval", str(cap)),
                     ("record", "--out", str(cap), "--connect", ":1")):
            res = run(*args, env=env)
            assert res.exit_code == 2, (args, res.output)
            _inert(res, name)
        res = run("db", "lookup", "1551E0", "--db", str(missing), env=env)  # a note, not an error
        _inert(res, name)


# ------------------------------------------------------------------------------ 9 exit status


def test_an_input_that_ends_early_is_used_and_exits_0(shared: Callable[[str], Path],
                                                      tmp_path: Path) -> None:
    """One rule for decode, flights, replay and db import: what was read before the cut is
    used, one warning line says the input ends early, exit status 0; a file cut before anything
    could be read is an error (1)."""
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(shared(FULL_FLIGHT).read_bytes()[:100_000])
    reg = tmp_path / "aircraft.csv.gz"
    reg.write_bytes(shared("aircraft-db-tar1090/aircraft.csv.gz").read_bytes()[:300_000])
    env = {"OVERFLIGHT_HOME": str(tmp_path / "home")}
    for args, path in ((("decode", str(cut)), cut), (("flights", "--input", str(cut)), cut),
                       (("replay", str(cut), "--no-wait", "--speed", "max", "--to",
                         "127.0.0.1:0"), cut),
                       (("db", "import", str(reg)), reg)):
        res = run(*args, env=env)
        assert res.exit_code == 0, (args, res.output)
        warnings = [line for line in res.stderr.splitlines() if "ends early" in line]
        assert len(warnings) == 1 and warnings[0].startswith(
            f"warning: {path}: the input ends early: "), (args, warnings)
    head = tmp_path / "head.jsonl.gz"
    head.write_bytes(shared(FULL_FLIGHT).read_bytes()[:12])  # the gzip header only
    for args in (("decode", str(head)), ("flights", "--input", str(head)),
                 ("replay", str(head), "--no-wait", "--speed", "max", "--to", "127.0.0.1:0")):
        res = run(*args, env=env)
        assert res.exit_code == 1, (args, res.output)
        assert f"error: {head}: " in res.stderr, res.stderr


def test_progress_for_db_import_and_mlat_eval(shared: Callable[[str], Path],
                                              tmp_path: Path) -> None:
    """db import and mlat eval show their progress on a terminal only, not with --quiet."""
    d = tmp_path / "locards"
    d.mkdir()
    for name in ("sensors.csv", "set_8.csv"):
        (d / name).symlink_to(shared(f"mlat-locards-sample/{name}"))
    alerts = str(shared("aircraft-plane-alert-db/plane-alert-db.csv"))
    tty = {"OVERFLIGHT_HOME": str(tmp_path / "h"), "TTY_COMPATIBLE": "1", "COLUMNS": "200"}
    for args, words in ((("db", "import", alerts), "importing plane-alert-db.csv"),
                        (("mlat", "eval", str(d)), "solving set_8 (63 transmissions)")):
        res = run(*args, env=tty)
        assert res.exit_code == 0 and words in res.stderr, (args, res.stderr)
        res = run(*args, "--quiet", env=tty)
        assert res.exit_code == 0 and words not in res.stderr, (args, res.stderr)
        res = run(*args, env={"OVERFLIGHT_HOME": str(tmp_path / "h")})
        assert res.exit_code == 0 and words not in res.stderr, (args, res.stderr)
