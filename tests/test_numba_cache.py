"""A numba cache per version of the source: an edit to a called module never runs stale code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from overflight._numba_cache import cache_dir, configure, source_fingerprint

_A = """
import numba
from pkgx.b import f

fj = numba.njit(cache=True)(f)


@numba.njit(cache=True)
def kernel():
    return fj() * 10
"""


def _run(root: Path, cache: Path) -> int:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", "from pkgx.a import kernel; print(kernel())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(out.stdout.strip())


def _write_b(pkg: Path, value: int, mtime_ns: int) -> None:
    b = pkg / "b.py"
    b.write_text(f"def f():\n    return {value}\n")
    os.utime(b, ns=(mtime_ns, mtime_ns))


def test_an_edit_to_a_called_module_gets_a_fresh_cache(tmp_path: Path) -> None:
    """numba keys a cached kernel by its own file only: editing the module it calls leaves the
    old machine code in a fixed cache folder (the hazard); the fingerprinted folder changes."""
    pkg = tmp_path / "pkgx"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(textwrap.dedent(_A))
    _write_b(pkg, 1, 1_700_000_000_000_000_000)
    fixed = tmp_path / "fixed-cache"
    first = cache_dir(pkg)
    assert _run(tmp_path, fixed) == 10
    assert _run(tmp_path, first) == 10
    _write_b(pkg, 2, 1_700_000_100_000_000_000)
    second = cache_dir(pkg)
    assert second != first
    assert _run(tmp_path, fixed) == 10  # stale: what a plain on-disk cache does
    assert _run(tmp_path, second) == 20


def test_fingerprint_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    a = source_fingerprint(tmp_path)
    assert a == source_fingerprint(tmp_path) and len(a) == 16
    (tmp_path / "n.py").write_text("")
    assert source_fingerprint(tmp_path) != a


def test_a_users_own_cache_dir_is_respected(tmp_path: Path) -> None:
    mine = str(tmp_path / "mine")
    before = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = mine
    try:
        assert configure() is None
        assert os.environ["NUMBA_CACHE_DIR"] == mine
    finally:
        if before is None:
            del os.environ["NUMBA_CACHE_DIR"]
        else:
            os.environ["NUMBA_CACHE_DIR"] = before


def _overflight_imports(path: Path, package: Path) -> set[Path]:
    """Files of the package that ``path`` imports (anywhere in it, with their parent
    packages' ``__init__``)."""
    import ast

    def file_of(name: str) -> Path | None:
        p = package.joinpath(*name.split(".")[1:])
        if (p / "__init__.py").is_file():
            return p / "__init__.py"
        return p.with_suffix(".py") if p.with_suffix(".py").is_file() else None

    rel = path.relative_to(package.parent).with_suffix("").parts
    here = list(rel[:-1])  # the module's package
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            mod = ".".join(x for x in (base, node.module or "") if x)
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)
    out: set[Path] = set()
    for name in names:
        parts = name.split(".")
        if parts[0] != "overflight":
            continue
        for i in range(1, len(parts) + 1):
            f = file_of(".".join(parts[:i]))
            if f is not None:
                out.add(f)
    return out


def test_kernel_sources_cover_everything_kernels_can_reach() -> None:
    """The fingerprint covers every module with a cached kernel and all it imports: an edit
    to any of them gets a fresh cache; an edit to the server or history does not."""
    from overflight import _numba_cache as nc

    package = Path(nc.__file__).resolve().parent
    seeds = [
        p
        for p in package.rglob("*.py")
        if "_numba_cache import numba" in p.read_text() and p.name != "_numba_cache.py"
    ]
    assert len(seeds) >= 10
    seen: set[Path] = set()
    stack = list(seeds)
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.add(p)
            stack.extend(_overflight_imports(p, package))
    uncovered = sorted(
        rel
        for p in seen
        if not nc._covered(rel := p.relative_to(package).as_posix(), nc.KERNEL_SOURCES)
    )
    assert uncovered == [], f"add to KERNEL_SOURCES: {uncovered}"
    assert not nc._covered("station/station.py", nc.KERNEL_SOURCES)
    assert not nc._covered("server/app.py", nc.KERNEL_SOURCES)


_TRACK_THEN_BLAS = """
import sys
import numpy as np
from overflight.cli import main
sys.argv = ["overflight", "track", sys.argv[1], "--json"]
try:
    main()
except SystemExit:
    pass
print("scipy.linalg" in sys.modules, file=sys.stderr)
import numba  # BLAS still there for a kernel that wants it (np.dot compiles, imports scipy)
d = numba.njit(lambda a, b: np.dot(a, b))(np.ones(3), np.arange(3.0))
print(d, "scipy.linalg" in sys.modules, file=sys.stderr)
"""


def test_track_loads_kernels_without_importing_scipy_linalg(shared: Any, tmp_path: Path) -> None:
    """numba's BLAS probe (scipy.linalg, ~0.2 s of every start) is skipped; BLAS is not lost."""
    capture = shared("modes-traffic-samples/sample_dump1090.bin")
    out = subprocess.run([sys.executable, "-c", _TRACK_THEN_BLAS, str(capture)],
                         capture_output=True, text=True, check=True, timeout=300)
    lines = [x for x in out.stderr.splitlines() if not x.startswith(("overflight:", "input:"))]
    assert lines == ["False", "3.0 True"], out.stderr
    assert '"aircraft":' in out.stdout
