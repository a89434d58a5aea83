"""Issue 11: the command starts in a blink and importing the package changes nothing.

Each check runs a fresh interpreter: what a module imports at its top shows in ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

HEAVY = ("numpy", "pyarrow", "pandas", "scipy", "numba")


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, env={**base, **(env or {})}, check=False)


def test_import_overflight_has_no_side_effects(tmp_path: Path) -> None:
    """No NUMBA_CACHE_DIR set, no cache folder made, no numpy imported."""
    res = _python(
        """
        import os, sys
        import overflight
        assert overflight.__version__ == "0.1.0", overflight.__version__
        print("NUMBA_CACHE_DIR" in os.environ, [m for m in sys.modules if m == "numpy"])
        """,
        env={"XDG_CACHE_HOME": str(tmp_path)},
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "[]"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["decode", "--help"], ["db", "--help"], ["db", "lookup", "--help"],
     ["flights", "--help"], ["mlat", "--help"], ["replay", "--help"], ["record", "--help"],
     ["sim", "--help"], ["track", "--help"], ["serve", "--help"]],
)
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    """The whole command line (every command module is imported to list the commands) and the
    help of a command import none of numpy, pyarrow, pandas, scipy, numba."""
    res = _python(
        f"""
        import sys
        sys.argv = ["overflight", *{argv!r}]
        from overflight.cli import main
        try:
            main()
        except SystemExit as e:
            assert not e.code, e.code
        print("HEAVY", *sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)
        """
    )
    assert res.returncode == 0, res.stderr
    heavy = next(line for line in res.stderr.splitlines() if line.startswith("HEAVY"))
    assert heavy == "HEAVY", heavy


_KERNEL = """
from overflight._numba_cache import numba


@numba.njit(cache=True)
def twice(x):
    return 2 * x
"""


def test_first_compile_is_announced_once(tmp_path: Path) -> None:
    """A kernel module that imports numba through _numba_cache: numba's cache is this source
    version's folder under the user's cache directory (the environment untouched); the first
    run says it compiles, and where, and how long it took; the next run loads the cache and
    says nothing."""
    (tmp_path / "kmod.py").write_text(_KERNEL)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": str(tmp_path)}
    code = """
        import os, sys
        import kmod
        from overflight._numba_cache import cache_dir
        assert kmod.twice(21) == 42
        assert "NUMBA_CACHE_DIR" not in os.environ
        assert kmod.numba.config.CACHE_DIR == str(cache_dir()), kmod.numba.config.CACHE_DIR
        print(cache_dir())
        """
    first = _python(code, env)
    assert first.returncode == 0, first.stderr
    folder = first.stdout.strip()
    assert folder.startswith(str(tmp_path / "cache" / "overflight" / "numba"))
    lines = first.stderr.splitlines()
    assert lines[0] == f"overflight: compiling kernels (first run only, cached in {folder}) ..."
    assert lines[-1].startswith("overflight: kernels compiled in ") and lines[-1].endswith(" s")
    assert sum("compiling" in line for line in lines) == 1
    second = _python(code, env)
    assert second.returncode == 0, second.stderr
    assert "compil" not in second.stderr


def test_every_cached_kernel_module_configures_the_cache() -> None:
    """A module that defines a ``cache=True`` kernel takes numba from _numba_cache (which sets
    the per-source-version folder first); with a plain ``import numba`` its kernels would be
    cached beside the source, where an edit to a module they call leaves them stale."""
    src = Path(__file__).resolve().parents[2] / "src" / "overflight"
    missing = [
        str(p.relative_to(src))
        for p in sorted(src.rglob("*.py"))
        if "cache=True" in (text := p.read_text(encoding="utf-8"))
        and "from overflight._numba_cache import numba" not in text
    ]
    assert missing == []


def test_tracking_path_imports_only_what_the_first_batch_needs() -> None:
    """The library's tracking path with SBS output (what ``overflight track`` and ``serve``
    run before their first batch) imports no flights, airports (scipy.spatial), MLAT,
    history (DuckDB) or server modules: those cost 0.1-0.4 s each and are loaded where asked."""
    later = ("scipy.spatial", "duckdb", "starlette", "uvicorn", "overflight.flights",
             "overflight.mlat", "overflight.history", "overflight.server", "overflight.station")
    res = _python(
        f"""
        import sys
        import overflight.pipeline, overflight.tracking.sbs, overflight.sources.sbs
        print("LOADED", *sorted(m for m in {later!r} if m in sys.modules))
        """
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["LOADED"]


@pytest.mark.parametrize("capture", ["modes-traffic-samples/sample_dump1090.bin",
                                     "modes-traffic-samples/full_flight_short.jsonl.gz"])
def test_track_runs_without_pandas(shared: Any, tmp_path: Path, capture: str) -> None:
    """pandas is a test dependency only: with it absent (a package that fails to import,
    first on the path) ``track --json`` gives the same picture, and never tries to import it
    beyond pyarrow's own probe (which takes the failure as "no pandas")."""
    path = shared(capture)
    fake = tmp_path / "site" / "pandas"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('pandas is not installed here')\n")
    code = f"""
        import sys
        sys.argv = ["overflight", "track", {str(path)!r}, "--json"]
        from overflight.cli import main
        try:
            main()
        except SystemExit as e:
            assert not e.code, e.code
        print("PANDAS", "pandas" in sys.modules and sys.modules["pandas"] is not None,
              file=sys.stderr)
        """
    without = _python(code, env={"PYTHONPATH": os.pathsep.join(
        [str(fake.parent), os.environ.get("PYTHONPATH", "")])})
    assert without.returncode == 0, without.stderr
    assert "PANDAS False" in without.stderr
    normal = _python(code)
    assert normal.returncode == 0, normal.stderr
    assert without.stdout == normal.stdout and '"aircraft":' in normal.stdout
