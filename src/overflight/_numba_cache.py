"""Where numba keeps compiled kernels: one folder per version of this package's source.

numba's on-disk cache (``cache=True``) is keyed by the stamp of the file that *defines* a
function, not of the files it calls: after an edit to ``modes/cpr.py`` the tracker kernel that
inlines it would load stale machine code from ``tracking/__pycache__`` and decode old
positions. Pointing ``NUMBA_CACHE_DIR`` at a folder named by a fingerprint of every source file
that kernels can reach (relative path, size, modification time: :data:`KERNEL_SOURCES`, the
modules with kernels and everything they import, pinned by a test that walks the imports) makes
any such edit a fresh cache; an edit elsewhere (the server, history, the command line) keeps
the kernels, and an installed, unchanged package reuses them across runs.

Folders of other fingerprints untouched for :data:`KEEP_DAYS` are removed. A user's own
``NUMBA_CACHE_DIR`` is respected as it is.

Nothing happens when ``overflight`` is imported: the cache is configured where kernels are
defined. Every module with a ``cache=True`` kernel imports numba as

    from overflight._numba_cache import numba  # numba, its cache folder configured

(the module attribute ``numba`` is resolved by :func:`__getattr__`, which calls
:func:`configure` once per process, before the module's decorators run). Only numba's own
config is set, never ``os.environ``: subprocesses of the same source compute the same folder.
The first kernel that is compiled rather than loaded from the cache says so on stderr, once,
with the folder; how long compiling took is said when the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for the type checker, the module attribute resolved by __getattr__
    import numba as numba

__all__ = ["KEEP_DAYS", "KERNEL_SOURCES", "cache_dir", "configure", "source_fingerprint"]

KEEP_DAYS = 30.0
"""Age in days after which the cache folders of other source versions are removed."""

_PACKAGE = Path(__file__).resolve().parent

KERNEL_SOURCES: tuple[str, ...] = (
    "__init__.py",
    "_numba_cache.py",
    "cli/__init__.py",
    "cli/db.py",
    "flights/",
    "frames.py",
    "geo.py",
    "jsonout.py",
    "mlat/",
    "modes/",
    "sources/",
    "tracking/",
)
"""The package's files (paths relative to it; a folder ends with ``/``) that compiled kernels
can reach: every module with a ``cache=True`` kernel and everything it imports, transitively
(``tests/test_numba_cache.py`` walks the imports and fails when this list falls short)."""


def _covered(rel: str, within: tuple[str, ...]) -> bool:
    return any(rel == w or (w.endswith("/") and rel.startswith(w)) for w in within)


def source_fingerprint(package: Path = _PACKAGE, within: tuple[str, ...] | None = None) -> str:
    """16 hex digits naming the package's source files as they are now: those ``within`` the
    given paths (default: :data:`KERNEL_SOURCES` for this package, every file for another)."""
    if within is None and package == _PACKAGE:
        within = KERNEL_SOURCES
    h = hashlib.blake2b(digest_size=8)
    for p in sorted(package.rglob("*.py")):
        if within is not None and not _covered(p.relative_to(package).as_posix(), within):
            continue
        st = p.stat()
        h.update(f"{p.relative_to(package).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_dir(package: Path = _PACKAGE) -> Path:
    """The cache folder for this source version, under the user's cache directory."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "overflight" / "numba" / source_fingerprint(package)


def _newest_mtime(d: Path) -> float:
    """The latest modification time of ``d`` or anything in it (a kernel saved recently)."""
    return max([d.stat().st_mtime, *(p.stat().st_mtime for p in d.rglob("*"))])


def _prune(current: Path) -> None:
    """Remove other versions' folders in which nothing changed for :data:`KEEP_DAYS` (best
    effort). A process of an older version that runs that long and then compiles a kernel it
    had not compiled before would find its folder gone; the window makes that unlikely."""
    cutoff = time.time() - KEEP_DAYS * 86_400.0
    try:
        for d in current.parent.iterdir():
            if d != current and d.is_dir() and _newest_mtime(d) < cutoff:
                shutil.rmtree(d, ignore_errors=True)
    except OSError:
        pass


def configure() -> Path | None:
    """Point numba's cache at :func:`cache_dir` unless the user chose one; returns the folder
    in use (None where the user's own setting stands or the folder cannot be made).

    Sets ``numba.config.CACHE_DIR`` (importing numba), not the environment."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    try:
        d = cache_dir()
        new = not d.is_dir()
        d.mkdir(parents=True, exist_ok=True)
        os.utime(d)
    except OSError:
        return None  # read-only home: numba falls back to caching beside the source
    import numba

    numba.config.CACHE_DIR = str(d)  # type: ignore[attr-defined]
    if new:  # a new version: old ones may be due (walking them all costs ~0.5 s per start)
        _prune(d)
    return d


class _CompileNotice:
    """A numba event listener: the first compile (a cache miss) is announced on stderr, the
    total compile time is reported at exit. Nested compiles (a kernel's callees) count once."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.depth = 0
        self.started = 0.0
        self.seconds = 0.0
        self.announced = False

    def on_start(self, event: Any) -> None:
        if self.depth == 0:
            self.started = time.perf_counter()
            if not self.announced:
                self.announced = True
                where = f", cached in {self.folder}" if self.folder is not None else ""
                _say(f"overflight: compiling kernels (first run only{where}) ...")
                atexit.register(self.report)
        self.depth += 1

    def on_end(self, event: Any) -> None:
        self.depth = max(0, self.depth - 1)
        if self.depth == 0:
            self.seconds += time.perf_counter() - self.started

    def notify(self, event: Any) -> None:
        """numba's ``Listener.notify`` (this class is registered as a virtual subclass)."""
        if event.is_start:
            self.on_start(event)
        elif event.is_end:
            self.on_end(event)

    def report(self) -> None:
        _say(f"overflight: kernels compiled in {self.seconds:.1f} s")


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr closed (a pipe gone, at exit)
        print(line, file=sys.stderr, flush=True)


_BLAS_PROBE = "scipy.linalg.cython_blas"


def _load_array_math() -> None:
    """Import ``numba.np.arraymath`` (numba loads it with the first kernel) without its BLAS
    probe: at import it runs ``numba.np.linalg.ensure_blas()``, which imports all of
    ``scipy.linalg`` (and through it ``numpy.f2py``, ``numpy.testing``: ~0.2 s, 130 modules)
    only to learn whether ``np.convolve`` / ``np.correlate`` may call BLAS. No kernel here
    uses those (nor BLAS at all). ``None`` in ``sys.modules`` makes that one import fail at
    once, for this import only: BLAS stays available to any kernel that wants it
    (``np.dot``, ``np.linalg``: they call ``ensure_blas`` again when compiled, and it
    imports scipy then). ``tests/test_numba_cache.py`` pins both."""
    if "numba.np.arraymath" in sys.modules or _BLAS_PROBE in sys.modules:
        return
    sys.modules[_BLAS_PROBE] = None  # type: ignore[assignment]
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(_BLAS_PROBE, 0) is None:
            del sys.modules[_BLAS_PROBE]


_numba: Any = None


def __getattr__(name: str) -> Any:
    """``from overflight._numba_cache import numba``: numba, its cache configured (once)."""
    global _numba
    if name != "numba":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _numba is None:
        folder = configure()
        import numba
        from numba.core import event

        _load_array_math()

        event.Listener.register(_CompileNotice)  # a virtual subclass: register() checks it
        event.register("numba:compile", _CompileNotice(folder))  # type: ignore[no-untyped-call]
        _numba = numba
    return _numba
