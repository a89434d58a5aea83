"""A newcomer's mistakes and bad input: one clear line and an exit status, never a traceback.

Usage errors (a missing file, a bad option value, a port in use) exit with 2; input that breaks
while it is read (a truncated gzip) is used up to the break with a warning (exit 0), or is an
error (1) when nothing before the break could be read; junk is counted and skipped (exit 0),
and an input with nothing usable at all is an error (1). The rule is cli/app.py's. Untrusted
strings (user database files, the air) are shown literally.
"""

from __future__ import annotations

import gzip
import json
import socket
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from overflight.cli import app
from overflight.cli.app import untrusted

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
FR24 = "modes-traffic-samples/fr24/372355e5.json"
TRAJECTORY = "trajectories-traffic/featured/belevingsvlucht.json.gz"
LOCARDS = "mlat-locards-sample"
IQ = "iq-rtlsdr-modes1/modes1.bin"
PLANE_ALERT_HEADER = (
    "$ICAO,$Registration,$Operator,$Type,$ICAO Type,#CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link"
)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def flat(res: Result) -> str:
    """The output with Rich panel borders and line wrapping removed."""
    text = res.output
    for ch in "│╭╮╰╯─":
        text = text.replace(ch, " ")
    return " ".join(text.split())


def assert_usage_error(res: Result, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    for n in needles:
        assert n in flat(res), res.output


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that someone is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.fixture
def junk(tmp_path: Path) -> dict[str, Path]:
    """Files a newcomer might feed by mistake."""
    rnd = tmp_path / "random.bin"
    rnd.write_bytes(np.random.default_rng(7).bytes(100_000))  # head -c 100000 /dev/urandom
    text = tmp_path / "garbage.txt"
    text.write_text("hello world\nthis is not a frame\n[bold]x[/]\n")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    badgz = tmp_path / "bad.gz"
    rng = np.random.default_rng(8)
    badgz.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + rng.bytes(3000))
    gzjunk = tmp_path / "junk.gz"
    gzjunk.write_bytes(gzip.compress(rng.bytes(5000)))
    d = tmp_path / "adir"
    d.mkdir()
    return {"random": rnd, "text": text, "empty": empty, "badgz": badgz, "gzjunk": gzjunk,
            "dir": d, "missing": tmp_path / "missing.bin"}


@pytest.fixture
def truncated_gz(shared: Callable[[str], Path], tmp_path: Path) -> Path:
    """The first 100 kB of a real gzip capture: its stream ends without its trailer."""
    p = tmp_path / "truncated.jsonl.gz"
    p.write_bytes(shared(FULL_FLIGHT).read_bytes()[:100_000])
    return p


# ------------------------------------------------------------------------------ help


@pytest.mark.parametrize(
    "cmd", [[], ["track"], ["replay"], ["record"], ["serve"], ["sim"], ["db"], ["db", "import"],
            ["db", "lookup"], ["decode"], ["flights"], ["mlat"]],
)
def test_help_is_clean(cmd: list[str]) -> None:
    res = run(*cmd, "--help")
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output and "``" not in res.output


# ------------------------------------------------------------------------------ track


@pytest.mark.parametrize(
    ("key", "needle"), [("missing", "no such file"), ("dir", "is a directory")]
)
def test_track_unreadable_path(junk: dict[str, Path], key: str, needle: str) -> None:
    assert_usage_error(run("track", str(junk[key])), needle)


def test_track_bad_options(shared: Callable[[str], Path], junk: dict[str, Path]) -> None:
    cap = str(shared(SAMPLE))
    assert_usage_error(run("track", cap, "--receiver", "abc"), "--receiver", "lat,lon")
    assert_usage_error(run("track", cap, "--receiver", "91,0"), "latitude")
    assert_usage_error(run("track", cap, "--format", "xyz"), "--format")
    assert_usage_error(run("track", cap, "--sample-rate", "3"), "--sample-rate")
    assert_usage_error(run("track", cap, "--receivers", str(junk["missing"])), "no such file")
    assert_usage_error(run("track", cap, "--receivers", str(junk["text"])), "not a receivers CSV")
    assert_usage_error(run("track", cap, "--db", str(junk["random"])),
                       "not an Overflight aircraft store")


def test_track_random_bytes_are_read_as_beast_with_the_garbage_counted(
    junk: dict[str, Path],
) -> None:
    res = run("track", str(junk["random"]))
    assert res.exit_code == 0, res.output
    text = flat(res)
    # resynchronised, counted (bytes as on the wire: 100,000 = garbage + frames)
    assert "input: beast" in text and "99,796 garbage bytes" in text
    assert "Traceback" not in res.output


@pytest.mark.parametrize(("key", "needle"), [
    ("text", "skipped lines"), ("empty", "no frames found"), ("gzjunk", "garbage bytes"),
])
def test_track_input_it_cannot_use_is_one_line_error_exit_1(
    junk: dict[str, Path], key: str, needle: str
) -> None:
    """Nothing usable: exit 1 with one ``error:`` line (cli/app.py's rule), what was skipped
    still counted; never the empty picture with exit 0."""
    res = run("track", str(junk[key]))
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    text = flat(res)
    assert "error:" in text and needle in text


def test_track_truncated_beast_keeps_what_was_read(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    p = tmp_path / "cut.bin"
    p.write_bytes(shared(SAMPLE).read_bytes()[:1500])  # cut inside a frame
    res = run("track", str(p))
    assert res.exit_code == 0, res.output
    text = flat(res)
    assert "input: beast, 83 frames" in text and "13 truncated bytes" in text
    assert "48520a" in text and "3981e4" in text


def test_track_truncated_gzip_keeps_what_was_read(truncated_gz: Path) -> None:
    """The reader counts the broken end and keeps every line before it (no bare abort)."""
    res = run("track", str(truncated_gz))
    assert res.exit_code == 0, res.output
    assert "Aborted" not in res.output and "Traceback" not in res.output
    text = flat(res)
    assert "4,367 messages" in text
    assert (f"warning: {truncated_gz}: the input ends early: truncated: the compressed stream ends"
            " early (the 4,367 frames before it were tracked)") in text
    assert "skipped lines: {'cut by the broken input': 1}" in text  # not the fault itself


def test_track_reads_a_named_pipe(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """A FIFO is not opened twice (a trial open would take the writer's data or block)."""
    import os
    import threading

    fifo = tmp_path / "feed.fifo"
    os.mkfifo(fifo)
    data = shared(SAMPLE).read_bytes()

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write(data)

    t = threading.Thread(target=write, daemon=True)
    t.start()
    res = run("track", str(fifo))
    t.join(timeout=10)
    assert res.exit_code == 0, res.output
    assert "input: beast, 239 frames" in flat(res)


def test_track_corrupt_gzip(junk: dict[str, Path]) -> None:
    res = run("track", str(junk["badgz"]), "--json")
    assert res.exit_code == 1, res.output
    assert "corrupt gzip data" in flat(res) and "Traceback" not in res.output


def test_track_raw_iq(shared: Callable[[str], Path]) -> None:
    res = run("track", str(shared(IQ)), "--format", "iq")
    assert res.exit_code == 0, res.output
    text = flat(res)
    assert "4d2023" in text and "Malta" in text  # the one aircraft of the README (9H-AEM)
    assert "input: iq" in text and "ADS-B" in text


# ------------------------------------------------------------------------------ replay


def test_replay_errors(shared: Callable[[str], Path], junk: dict[str, Path],
                       busy_port: int) -> None:
    cap = str(shared(SAMPLE))
    assert_usage_error(run("replay", str(junk["missing"])), "no such file")
    assert_usage_error(run("replay", str(junk["dir"])), "is a directory")
    for bad in ("abc", "-3", "0", "nan", "-inf"):
        assert_usage_error(run("replay", cap, "--speed", bad), "--speed")
    assert_usage_error(run("replay", cap, "--to", "abc"), "--to", "[HOST:]PORT")
    assert_usage_error(run("replay", cap, "--to", "127.0.0.1:99999"), "--to")
    assert_usage_error(run("replay", cap, "--no-wait", "--to", f"127.0.0.1:{busy_port}"),
                       "already in use")
    assert_usage_error(
        run("replay", cap, "--no-wait", "--to", "127.0.0.1:0", "--raw-to",
            f"127.0.0.1:{busy_port}"),
        "--raw-to", "already in use",
    )


def test_replay_junk_and_truncated(junk: dict[str, Path], truncated_gz: Path) -> None:
    res = run("replay", str(junk["text"]), "--no-wait", "--speed", "max", "--to", "127.0.0.1:0")
    assert res.exit_code == 1 and "no frames found" in res.output, res.output
    res = run("replay", str(truncated_gz), "--no-wait", "--speed", "max", "--to", "127.0.0.1:0")
    assert res.exit_code == 0, res.output  # the frames before the cut are all replayed
    assert "replayed 4,367 frames" in flat(res) and "Aborted" not in res.output
    assert (f"warning: {truncated_gz}: the input ends early: truncated: the compressed stream ends"
            " early (the frames before it were sent)") in flat(res)


# ------------------------------------------------------------------------------ record


def test_record_errors(junk: dict[str, Path], tmp_path: Path, busy_port: int) -> None:
    out = str(tmp_path / "rec")
    assert_usage_error(run("record", "--out", out), "--connect")
    assert_usage_error(run("record", "--out", out, "--connect", "abc"), "--connect")
    assert_usage_error(run("record", "--out", out, "--connect", ":1", "--format", "sbs"),
                       "--format")
    assert_usage_error(run("record", "--out", str(junk["text"]), "--connect", ":1"),
                       "not a directory")
    assert_usage_error(run("record", "--out", out, "--connect", ":1", "--max-mb", "-1"),
                       "--max-mb")
    assert_usage_error(run("record", "--out", out, "--connect", ":1", "--duration", "0"),
                       "--duration")
    assert_usage_error(
        run("record", "--out", out, "--listen-beast", str(busy_port), "--duration", "1"),
        "--listen-beast", "already in use",
    )


def test_record_unreachable_receiver_is_retried_not_fatal(tmp_path: Path) -> None:
    res = run("record", "--out", str(tmp_path / "rec"), "--connect", "127.0.0.1:1",
              "--duration", "0.8")
    assert res.exit_code == 1, res.output  # retried until the end; nothing recorded is an error
    assert "recorded 0 frames" in res.output and "Traceback" not in res.output
    assert "error: recorded nothing" in res.output


# ------------------------------------------------------------------------------ serve


def test_serve_errors(junk: dict[str, Path], busy_port: int) -> None:
    assert_usage_error(run("serve"), "--listen-beast")
    assert_usage_error(run("serve", "--connect", "abc"), "--connect")
    assert_usage_error(run("serve", "--listen-beast", "99999"), "--listen-beast")
    assert_usage_error(run("serve", "--listen-beast", "0", "--stats-every-s", "0"),
                       "--stats-every-s")
    assert_usage_error(run("serve", "--listen-beast", "0", "--receiver", "abc"), "--receiver")
    assert_usage_error(run("serve", "--listen-beast", "0", "--receivers", str(junk["missing"])),
                       "no such file")
    assert_usage_error(
        run("serve", "--listen-beast", "0", "--receiver-id", "127.0.0.1:1=1001"), "--receivers"
    )
    assert_usage_error(
        run("serve", "--listen-beast", "0", "--receivers", str(junk["text"])),
        "not a receivers CSV",
    )
    assert_usage_error(run("serve", "--listen-beast", "0", "--record", str(junk["text"])),
                       "not a directory")
    assert_usage_error(run("serve", "--listen-beast", str(busy_port)), "already in use")
    assert_usage_error(run("serve", "--listen-beast", "0", "--sbs-out", str(busy_port)),
                       "--sbs-out", "already in use")
    assert_usage_error(run("serve", "--listen-beast", "0", "--bind", "192.0.2.1"),
                       "not an address of this machine")


def test_serve_receiver_id_values(tmp_path: Path) -> None:
    from overflight.cli.serve import parse_receiver_ids

    assert parse_receiver_ids(
        ["127.0.0.1:30005=1001", "192.0.2.7=0x3e9", ":30004=7", "[::1]:30005=8", "::1=9"]
    ) == {
        "127.0.0.1:30005": 1001, "192.0.2.7": 1001, "127.0.0.1:30004": 7, "::1:30005": 8,
        "::1": 9,
    }
    rx = tmp_path / "rx.csv"
    rx.write_text("serial,latitude,longitude,height,type\n1001,47.0,8.0,400,dump1090\n")
    for bad in ("1001", "127.0.0.1:1=abc", "=5", "h:99999=1"):
        assert_usage_error(
            run("serve", "--listen-beast", "0", "--receivers", str(rx), "--receiver-id", bad),
            "--receiver-id",
        )


# ------------------------------------------------------------------------------ sim


def test_sim_errors(tmp_path: Path, junk: dict[str, Path], busy_port: int) -> None:
    out = str(tmp_path / "s.beast")
    assert_usage_error(run("sim", "--out", out, "--speed", "abc"), "--speed")
    for bad in ("-5", "0", "nan"):
        assert_usage_error(run("sim", "--out", out, "--duration", bad), "--duration")
    assert_usage_error(run("sim", "--out", out, "--seed", "-1"), "--seed")
    assert_usage_error(run("sim", "--out", str(junk["dir"])), "is a directory")
    assert_usage_error(run("sim", "--out", str(tmp_path / "nodir" / "x.beast")), "does not exist")
    assert_usage_error(run("sim", "--push", "abc"), "--push")
    assert_usage_error(run("sim", "--push", "127.0.0.1:1", "--duration", "2", "--speed", "max"),
                       "--push", "cannot connect")
    assert_usage_error(run("sim", "--serve", f"127.0.0.1:{busy_port}", "--duration", "2"),
                       "--serve", "already in use")


# ------------------------------------------------------------------------------ db


def test_db_errors(junk: dict[str, Path], truncated_gz: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "a.sqlite")
    assert_usage_error(run("db", "lookup", "3b7777", "--db", str(junk["random"])),
                       "not an Overflight aircraft store")
    assert_usage_error(run("db", "lookup", "3b7777", "--db", str(junk["dir"])), "is a directory")
    assert_usage_error(run("db", "import", str(junk["missing"]), "--db", db), "no such file")
    assert_usage_error(run("db", "import", str(junk["text"]), "--db", str(junk["dir"])),
                       "is a directory")
    assert_usage_error(run("db", "import", str(junk["text"]), "--db", str(junk["random"])),
                       "cannot open as an aircraft store")
    # junk rows are counted and skipped; broken files are read up to the break; exit 1
    res = run("db", "import", str(junk["random"]), str(truncated_gz), str(junk["badgz"]),
              str(junk["text"]), "--db", db)
    assert res.exit_code == 1, res.output
    text = flat(res)
    assert "Traceback" not in res.output and "Aborted" not in res.output
    assert f"error: {truncated_gz}: truncated: the compressed stream ends early" in text
    assert f"error: {junk['badgz']}: corrupt gzip data" in text
    assert "nothing before it could be imported" in text
    assert "3 rejected (too few fields: 3)" in text  # the text file: rows counted and skipped
    assert "0 rows imported, 2,579 rejected (bad address: 9, too few fields: 2570)" in text


# ------------------------------------------------------------------------------ decode


def decode_text(res: Result) -> str:
    assert "Traceback" not in res.output and "Aborted" not in res.output, res.output
    return flat(res)


@pytest.mark.parametrize(
    ("key", "needle"), [("missing", "no such file"), ("dir", "is a directory")]
)
def test_decode_unreadable_path(junk: dict[str, Path], key: str, needle: str) -> None:
    assert_usage_error(run("decode", str(junk[key])), "FILE", needle)


def test_decode_junk_is_counted_not_fatal(junk: dict[str, Path]) -> None:
    res = run("decode", str(junk["random"]))
    assert res.exit_code == 0, res.output
    text = decode_text(res)  # resynchronised on Beast escapes, every skipped byte counted
    assert "input format beast" in text and "input skipped: Beast garbage bytes 99,796" in text
    assert "frames decoded 6" in text
    for key in ("text", "empty"):  # nothing usable at all: exit 1 (the rule in cli/app.py)
        res = run("decode", str(junk[key]))
        assert res.exit_code == 1, res.output
        text = decode_text(res)
        assert "frames decoded 0" in text
        assert f"error: {junk[key]}: no frames found: is this a capture?" in text
    text = flat(run("decode", str(junk["text"])))
    assert "input skipped: header 2" in text and "input skipped: non-hex 1" in text
    res = run("decode", str(junk["gzjunk"]))  # well-formed gzip of random bytes: no frame
    assert res.exit_code == 1 and "Beast garbage bytes" in decode_text(res), res.output


def test_decode_corrupt_gzip(junk: dict[str, Path]) -> None:
    res = run("decode", str(junk["badgz"]), "--json")
    assert res.exit_code == 1, res.output
    text = decode_text(res)
    assert f"error: {junk['badgz']}: corrupt gzip data" in text
    assert "nothing before it could be read" in text


def test_decode_truncated_gzip_keeps_what_was_read(truncated_gz: Path) -> None:
    res = run("decode", str(truncated_gz), "--json")
    assert res.exit_code == 0, res.output
    text = decode_text(res)
    assert "frames decoded 4,367" in text and "DF17 1,957" in text
    assert "the input ends early: truncated or corrupt gzip (the 4,367 frames before it" in text
    assert sum(line.startswith('{"') for line in res.output.splitlines()) == 4_367


def test_decode_truncated_beast_gzip(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """A gzip Beast capture cut short: every frame before the cut is decoded (as many as in the
    bytes an independent zlib run recovers), the break is a one-line warning, as for text."""
    p = tmp_path / "cut.bin.gz"
    gz = gzip.compress(shared(SAMPLE).read_bytes())
    p.write_bytes(gz[: len(gz) * 6 // 10])
    plain = tmp_path / "prefix.bin"
    plain.write_bytes(zlib.decompressobj(wbits=31).decompress(p.read_bytes()))
    want = decode_text(run("decode", str(plain)))
    assert "frames decoded 129" in want and "Beast truncated bytes 8" in want
    res = run("decode", str(p))
    assert res.exit_code == 0, res.output
    text = decode_text(res)
    assert "frames decoded 129" in text and "input skipped: Beast truncated bytes 8" in text
    assert "input skipped: broken input: EOFError 1" in text
    assert (f"warning: {p}: the input ends early: truncated or corrupt gzip (the 129 frames "
            "before it were decoded)") in text
    res = run("track", str(p))
    assert res.exit_code == 0, res.output
    text = flat(res)
    assert "input: beast, 129 frames" in text and "skipped lines" not in text
    assert "the input ends early: truncated: the compressed stream ends early (the 129" in text
    assert "8 truncated bytes" in text and "48520a" in text


def test_decode_real_capture(shared: Callable[[str], Path]) -> None:
    res = run("decode", str(shared(SAMPLE)))
    assert res.exit_code == 0, res.output
    text = decode_text(res)
    assert "input format beast" in text and "frames decoded 239" in text
    assert "DF11 90" in text and "DF17 23" in text and "skipped" not in text
    assert "48520a" in text and "squawk=5516" in text


# ------------------------------------------------------------------------------ flights


def run_flights(*args: str, home: Path) -> Result:
    """``flights`` with a wide console and no aircraft store but the one in ``home``."""
    return run("flights", *args, env={"COLUMNS": "220", "OVERFLIGHT_HOME": str(home)})


def flights_text(res: Result) -> str:
    assert "Traceback" not in res.output and "Aborted" not in res.output, res.output
    return flat(res)


def test_flights_usage_errors(junk: dict[str, Path], shared: Callable[[str], Path],
                              tmp_path: Path) -> None:
    assert_usage_error(run_flights("--input", str(junk["missing"]), home=tmp_path),
                       "--input", "no such file")
    assert_usage_error(run_flights("--input", str(junk["dir"]), home=tmp_path),
                       "--input", "is a directory")
    assert_usage_error(run_flights("--input", str(shared(FR24)), "--format", "xyz",
                                   home=tmp_path), "--format", "'xyz' is not one of")
    assert_usage_error(run_flights("--input", str(shared(FR24)), "--db", str(junk["random"]),
                                   home=tmp_path), "--db", "not an Overflight aircraft store")


@pytest.mark.parametrize("key", ["random", "text", "empty", "gzjunk"])
def test_flights_junk_is_counted_not_fatal(junk: dict[str, Path], tmp_path: Path,
                                           key: str) -> None:
    res = run_flights("--input", str(junk[key]), home=tmp_path)
    assert res.exit_code == 1, res.output  # nothing usable at all (the rule in cli/app.py)
    text = flights_text(res)
    assert "0 legs" in text and "(0 positions)" in text
    assert f"error: {junk[key]}: no positions found" in text


def test_flights_content_errors(junk: dict[str, Path], tmp_path: Path) -> None:
    res = run_flights("--input", str(junk["badgz"]), home=tmp_path)
    assert res.exit_code == 1, res.output
    text = flights_text(res)
    assert f"error: {junk['badgz']}: corrupt gzip data" in text
    assert "nothing before it could be used" in text and "legs in" not in text
    cases = {
        "notjson.json": ("not json", "Expecting value"),
        "other.json": ('{"a": [1, 2]}', "needs an address"),
        "fr24.json": ('{"result": {"response": {}}}', "no field 'data'"),
        "positions.csv": ("time,lat\n1,2\n", "needs an address"),
        "broken.parquet": ("PAR1 not parquet", "Parquet"),
    }
    for name, (content, why) in cases.items():
        p = tmp_path / name
        p.write_text(content)
        res = run_flights("--input", str(p), home=tmp_path)
        assert res.exit_code == 1, res.output
        text = flights_text(res)
        assert f"error: {p}: not a positions file or capture (" in text and why in text, text
    p = tmp_path / "a.json"
    p.write_text("not json")
    res = run_flights("--input", str(p), "--format", "readsb", home=tmp_path)
    assert res.exit_code == 1 and "not a positions file" in flights_text(res)


def test_flights_truncated_capture_keeps_what_was_read(truncated_gz: Path,
                                                       tmp_path: Path) -> None:
    """The first 100 kB of the Paris-Toulouse capture: the departure from LFPG is found."""
    res = run_flights("--input", str(truncated_gz), home=tmp_path)
    assert res.exit_code == 0, res.output  # what was read is used (the rule in cli/app.py)
    text = flights_text(res)
    assert "1 legs in 1 journeys in truncated.jsonl.gz (1,554 positions)" in text
    assert "393322 AFR34ZG 1: leg 1/1 LFPG (observed) 2024-07-06T06:59:21Z" in text
    assert (f"warning: {truncated_gz}: the input ends early: truncated: the compressed stream "
            "ends early (the legs above are from the 1,554 positions read before it)") in text
    assert "skipped input: cut by the broken input: 1" in res.output.splitlines()
    res = run_flights("--input", str(truncated_gz), "--json", home=tmp_path)
    assert res.exit_code == 0, res.output
    legs = [json.loads(line) for line in res.output.splitlines() if line.startswith("{")]
    assert [(g["icao24"], g["departure_airport"]) for g in legs] == [("393322", "LFPG")]


def test_flights_truncated_beast_gzip(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """A gzip Beast capture cut at 60 %: the reader's skipped bytes on one line, then the break."""
    p = tmp_path / "cut.bin.gz"
    gz = gzip.compress(shared(SAMPLE).read_bytes())
    p.write_bytes(gz[: len(gz) * 6 // 10])
    res = run_flights("--input", str(p), home=tmp_path)
    assert res.exit_code == 0, res.output
    text = flights_text(res)
    assert "0 legs in 0 journeys in cut.bin.gz (3 positions)" in text
    assert "skipped input: Beast truncated bytes: 8" in res.output.splitlines()
    assert (f"warning: {p}: the input ends early: truncated: the compressed stream ends early "
            "(the legs above are from the 3 positions read before it)") in text


def test_flights_truncated_trajectory(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """A cut pandas JSON document: nothing before the cut is a whole document; one line."""
    p = tmp_path / "cut.json.gz"
    p.write_bytes(shared(TRAJECTORY).read_bytes()[:40_000])
    res = run_flights("--input", str(p), home=tmp_path)
    assert res.exit_code == 1, res.output
    assert (f"error: {p}: truncated: the compressed stream ends early (nothing before it could "
            "be used)") in flights_text(res)


def test_flights_real_file(shared: Callable[[str], Path], tmp_path: Path) -> None:
    res = run_flights("--input", str(shared(FR24)), home=tmp_path)
    assert res.exit_code == 0, res.output
    text = flights_text(res)
    assert "1 legs in 1 journeys in 372355e5.json (634 positions)" in text
    assert "4baac6 THY9BP 1: leg 1/1 LTFM (observed)" in text and "ENGM (observed)" in text
    assert "registration" not in text  # no aircraft store: no identity columns


def test_flights_strings_print_literally(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """A callsign (from the file) and a registration and type (from a user database) with
    emoji codes, markup and HTML: printed as written, never interpreted."""
    doc = json.loads(shared(FR24).read_text())
    doc["result"]["response"]["data"]["flight"]["identification"]["callsign"] = (
        ":fire:[bold red]X[/]<script>"
    )
    src = tmp_path / "[bold]evil.json"
    src.write_text(json.dumps(doc))
    user = tmp_path / "mine.csv"
    user.write_text(
        PLANE_ALERT_HEADER + "\n"
        "4BAAC6,[bold]TC-X[/] :fire:,<b>Air</b>,Boeing,[i]B38M,Civ,,,,Test,https://example.org\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    env = {"OVERFLIGHT_HOME": str(home)}
    assert run("db", "import", str(user), "--source", "mine", env=env).exit_code == 0
    res = run_flights("--input", str(src), home=home)
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "4baac6" in line)
    for literal in (":fire:[bold red]X[/]<script>", "[bold]TC-X[/] :fire:", "[I]B38M", "LTFM"):
        assert literal in row, row
    assert "1 legs in 1 journeys in [bold]evil.json" in res.output
    assert "\U0001f525" not in res.output
    res = run("flights", "--input", str(src), "--json", env=env)
    leg = json.loads(res.stdout.splitlines()[0])
    assert leg["callsigns"] == [":fire:[bold red]X[/]<script>"]
    assert leg["registration"] == "[bold]TC-X[/] :fire:"


# ------------------------------------------------------------------------------ mlat


@pytest.fixture
def locards(shared: Callable[[str], Path], tmp_path: Path) -> Path:
    """A LocaRDS folder: the real receivers and the real set_8 (linked, not copied)."""
    d = tmp_path / "locards"
    d.mkdir()
    (d / "sensors.csv").symlink_to(shared(f"{LOCARDS}/sensors.csv"))
    (d / "set_8.csv").symlink_to(shared(f"{LOCARDS}/set_8.csv"))
    return d


def test_mlat_usage_errors(junk: dict[str, Path], tmp_path: Path,
                           shared: Callable[[str], Path]) -> None:
    assert_usage_error(run("mlat", "eval", str(junk["missing"])), "FOLDER", "no such folder")
    assert_usage_error(run("mlat", "eval", str(junk["random"])), "FOLDER", "not a folder")
    assert_usage_error(run("mlat", "eval", str(junk["dir"])), "FOLDER", "no sensors.csv")
    only_sensors = tmp_path / "only_sensors"
    only_sensors.mkdir()
    (only_sensors / "sensors.csv").symlink_to(shared(f"{LOCARDS}/sensors.csv"))
    (only_sensors / "set_1.csv").mkdir()  # a folder named like a set is not a set
    assert_usage_error(run("mlat", "eval", str(only_sensors)), "no set_*.csv")
    assert_usage_error(run("mlat", "solve", str(only_sensors)), "ACTION", "only action is 'eval'")


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "not a receivers table (not UTF-8 text)"), (b"", "no receiver rows"),
     (b"serial,latitude,longitude,height,type\nx,y,z,w,v\n", "no receiver rows")],
)
def test_mlat_bad_sensors(junk: dict[str, Path], shared: Callable[[str], Path], tmp_path: Path,
                          content: bytes | None, needle: str) -> None:
    d = tmp_path / "bad_sensors"
    d.mkdir()
    sensors = d / "sensors.csv"
    sensors.write_bytes(junk["random"].read_bytes() if content is None else content)
    (d / "set_8.csv").symlink_to(shared(f"{LOCARDS}/set_8.csv"))
    res = run("mlat", "eval", str(d))
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and f"error: {sensors}: {needle}" in flat(res)


def test_mlat_bad_sets_are_left_out(locards: Path, junk: dict[str, Path]) -> None:
    """Unreadable sets are reported and left out; set_8 is evaluated; malformed rows of a set
    are counted and skipped; the exit status says something was left out."""
    (locards / "set_1.csv").write_bytes(junk["random"].read_bytes())
    (locards / "set_2.csv").write_text(
        "id,timeAtServer,aircraft,latitude,longitude,baroAltitude,geoAltitude,"
        "numMeasurements,measurements\n")
    (locards / "set_3.csv").write_text("id,x\n1,2\n3,4\n")
    res = run("mlat", "eval", str(locards), "--detail", env={"COLUMNS": "160"})
    assert res.exit_code == 1, res.output
    text = flat(res)
    assert "Traceback" not in res.output
    assert f"error: {locards}/set_1.csv: not UTF-8 text (left out)" in text
    assert f"error: {locards}/set_2.csv: no rows (left out)" in text
    assert f"error: {locards}/set_3.csv: no valid row (2 malformed) (left out)" in text
    assert "input: 716 receivers, 1 sets, 63 transmissions; rows skipped: none" in text
    assert "set_8 none raw -" in text and "overall geo" in text
    for bad in ("set_1", "set_2", "set_3"):
        assert f"{bad} none" not in text
    for f in ("set_1.csv", "set_2.csv", "set_3.csv"):
        (locards / f).unlink()
    (locards / "set_9.csv").write_text(
        "id,timeAtServer,aircraft,latitude,longitude,baroAltitude,geoAltitude,"
        "numMeasurements,measurements\n1,x,2,3,4,5,6,1,[[1,2,3]]\n")
    res = run("mlat", "eval", str(locards))
    assert res.exit_code == 1
    assert "set_9.csv: no valid row (1 malformed)" in flat(res)
    (locards / "set_9.csv").unlink()
    res = run("mlat", "eval", str(locards))
    assert res.exit_code == 0, res.output
    text = flat(res)
    assert "/63" in text and "input: 716 receivers, 1 sets" in text


def test_mlat_no_readable_set(locards: Path, junk: dict[str, Path]) -> None:
    (locards / "set_8.csv").unlink()
    (locards / "set_1.csv").write_bytes(junk["random"].read_bytes())
    res = run("mlat", "eval", str(locards))
    assert res.exit_code == 1, res.output
    assert f"error: {locards}: no set could be read" in flat(res)


def test_db_import_truncated_real_registry(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """A truncated copy of the real tar1090-db: the rows before the cut are imported, one
    summary line per file and one warning line; what was read is used: exit status 0 (the
    rule in cli/app.py)."""
    cut = tmp_path / "aircraft.csv.gz"
    cut.write_bytes(shared("aircraft-db-tar1090/aircraft.csv.gz").read_bytes()[:300_000])
    res = run("db", "import", str(cut), "--db", str(tmp_path / "a.sqlite"))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    summary = next(line for line in lines if line.startswith("tar1090-db"))
    assert "35,980 rows imported, 1 rejected (cut by the broken input: 1)" in summary
    assert summary.endswith("the source's previous rows kept")
    assert (f"warning: {cut}: the input ends early: truncated: the compressed stream ends early "
            "(the 35,980 good rows before it were imported)") in lines
    assert "resolved index: 35,980 addresses" in res.output


# ------------------------------------------------------------------------------ untrusted


def test_untrusted_strings_are_shown_literally() -> None:
    t = untrusted("[bold red]X[/] :fire: \x1b[31mRED\x07 \u202eevil")
    assert t.plain == "[bold red]X[/] :fire: \\x1b[31mRED\\x07 \\u202eevil"
    assert untrusted(None).plain == ""


def test_user_db_strings_print_literally(shared: Callable[[str], Path], tmp_path: Path) -> None:
    """A user file (plane-alert-db layout) with markup, HTML, emoji codes and a terminal escape
    in its fields: ``db lookup`` and ``track`` print them as written, styles never applied."""
    user = tmp_path / "mine.csv"
    user.write_text(
        PLANE_ALERT_HEADER + "\n"
        "48520A,[bold red]X[/],<script>alert(1)</script> :fire:,Boeing [i]737[/i],B738,Civ,"
        "[red]tag[/red],,,Test \x1b[31mcat,https://example.org\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    env = {"OVERFLIGHT_HOME": str(home)}
    res = run("db", "import", str(user), "--source", "mine", env=env)
    assert res.exit_code == 0, res.output
    assert "1 rows imported" in flat(res)

    res = run("db", "lookup", "48520A", "--opinions", env=env)
    assert res.exit_code == 0, res.output
    for literal in ("[bold red]X[/]", "<script>alert(1)</script> :fire:", "Boeing [i]737[/i]",
                    "[red]tag[/red]", "[31mcat"):
        assert literal in res.output, literal
    assert "\x1b" not in res.output and "\U0001f525" not in res.output

    res = run("db", "lookup", "[bold red]X[/]", env=env)  # registration to address
    assert res.exit_code == 0 and "48520A" in res.output, res.output

    res = run("track", str(shared(SAMPLE)), env=env)
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "48520a" in line)
    assert "[bold red]X[/]" in row and "TRA89M" in row and "B738" in row
    res = run("track", str(shared(SAMPLE)), "--db", str(home / "aircraft.sqlite"))
    assert "[bold red]X[/]" in res.output, res.output


def test_track_names_each_receiver_row_it_left_out(
    shared: Callable[[str], Path], tmp_path: Path
) -> None:
    """A receivers table with one good row and one of non-finite values: the good receiver is
    used, the bad row is named on stderr (line and serial), exit 0, no traceback."""
    rx = tmp_path / "rx.csv"
    rx.write_text("serial,latitude,longitude,height,type\n1001,47.0,8.0,500,gps\n"
                  "2,nan,inf,1e999,x\n", encoding="utf-8")
    res = run("track", str(shared(SAMPLE)), "--receivers", str(rx))
    assert res.exit_code == 0, res.output
    assert "receiver left out: line 3 (serial '2'): latitude nan is not finite" in flat(res)
    assert "Traceback" not in res.output
