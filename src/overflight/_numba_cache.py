"""Where numba keeps compiled kernels: one folder per version of this package's source.

numba's on-disk cache (``cache=True``) is keyed by the stamp of the file that *defines* a
function, not of the files it calls: after an edit to ``modes/cpr.py`` the tracker kernel that
inlines it would load stale machine code from ``tracking/__pycache__`` and decode old
positions. Pointing ``NUMBA_CACHE_DIR`` at a folder named by a fingerprint of every source file
of the package (relative path, size, modification time) makes any edit a fresh cache; an
installed, unchanged package keeps reusing its compiled kernels across runs.

Folders of other fingerprints untouched for :data:`KEEP_DAYS` are removed. A user's own
``NUMBA_CACHE_DIR`` is respected as it is. The folder is set in the environment (not only in
numba's config) on purpose: ``overflight`` subprocesses of the same source share it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

__all__ = ["KEEP_DAYS", "cache_dir", "configure", "source_fingerprint"]

KEEP_DAYS = 30.0
"""Age in days after which the cache folders of other source versions are removed."""

_PACKAGE = Path(__file__).resolve().parent


def source_fingerprint(package: Path = _PACKAGE) -> str:
    """16 hex digits naming the package's source files as they are now."""
    h = hashlib.blake2b(digest_size=8)
    for p in sorted(package.rglob("*.py")):
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
    in use (None where the user's own setting stands or the folder cannot be made)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    try:
        d = cache_dir()
        d.mkdir(parents=True, exist_ok=True)
        os.utime(d)
    except OSError:
        return None  # read-only home: numba falls back to caching beside the source
    os.environ["NUMBA_CACHE_DIR"] = str(d)
    numba = sys.modules.get("numba")
    if numba is not None:  # numba was imported first: its config already read the environment
        numba.config.CACHE_DIR = str(d)
    _prune(d)
    return d
