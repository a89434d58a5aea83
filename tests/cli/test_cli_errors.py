"""A newcomer's mistakes and bad input: one clear line and an exit status, never a traceback.

Usage errors (a missing file, a bad option value, a port in use) exit with 2; input that breaks
while it is read (a truncated gzip) prints what was read and exits with 1; junk is counted and
skipped (exit 0). Untrusted strings (user database files, the air) are shown literally.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from overflight.cli import app
from overflight.cli.app import untrusted

SAMPLE = "modes-traffic-samples/sample_dump1090.bin"
FULL_FLIGHT = "modes-traffic-samples/full_flight_short.jsonl.gz"
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


@pytest.mark.parametrize("key", ["random", "text", "empty", "gzjunk"])
def test_track_junk_is_counted_not_fatal(junk: dict[str, Path], key: str) -> None:
    res = run("track", str(junk[key]))
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert "input: " in res.output


def test_track_random_bytes_are_counted(junk: dict[str, Path]) -> None:
    text = flat(run("track", str(junk["random"])))
    assert "input: beast" in text and "99,794 garbage bytes" in text  # resynchronised, counted
    text = flat(run("track", str(junk["text"])))
    assert "no frames found" in text and "skipped lines" in text


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
    assert "4,367 messages" in flat(res)


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
    assert res.exit_code == 0 and "no frames in" in res.output, res.output
    res = run("replay", str(truncated_gz), "--no-wait", "--speed", "max", "--to", "127.0.0.1:0")
    assert res.exit_code == 0, res.output  # the frames before the cut are all replayed
    assert "replayed 4,367 frames" in flat(res) and "Aborted" not in res.output


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
    assert res.exit_code == 0, res.output
    assert "recorded 0 frames" in res.output and "Traceback" not in res.output


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
    # unreadable files are reported and left out; the others are imported; exit 1
    res = run("db", "import", str(junk["random"]), str(truncated_gz), str(junk["badgz"]),
              str(junk["text"]), "--db", db)
    assert res.exit_code == 1, res.output
    text = flat(res)
    assert "Traceback" not in res.output and "Aborted" not in res.output
    assert text.count("not imported") >= 2 and "truncated" in text and "corrupt gzip" in text
    assert "3 rejected (too few fields: 3)" in text  # the text file: rows counted and skipped


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
