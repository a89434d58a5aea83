"""Where the web map's built files are, for ``create_app(..., web_root=default_web_root())``.

The map's sources are in the repository's ``web/`` folder; MapLibre GL JS and the Natural Earth
basemap come from npm, so the page is built once, offline afterwards::

    npm ci --prefix web && npm run build --prefix web

which writes ``web/dist/`` (ignored by git). :func:`default_web_root` finds that folder, or the one
named by ``$OVERFLIGHT_WEB_ROOT``; when the map is not built it returns a small folder whose
``index.html`` says how to build it, so ``/`` explains itself instead of answering 404.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["BUILD_COMMAND", "ENV_VAR", "NOT_BUILT_DIR", "default_web_root", "find_web_dist"]

log = logging.getLogger("overflight.server")

ENV_VAR = "OVERFLIGHT_WEB_ROOT"
"""A folder with a built web map (``index.html`` in it); ``none`` or empty: nothing at ``/``."""

BUILD_COMMAND = "npm ci --prefix web && npm run build --prefix web"
"""Builds ``web/dist`` from the repository root."""

NOT_BUILT_DIR = Path(__file__).with_name("web_not_built")
"""The folder served at ``/`` when no built map is found (one ``index.html``)."""

_REPO_DIST = Path(__file__).resolve().parents[3] / "web" / "dist"
"""``web/dist`` of the checkout this module was imported from (an editable install)."""


def _built(folder: Path) -> bool:
    return (folder / "index.html").is_file() and (folder / "app.js").is_file()


def find_web_dist() -> Path | None:
    """The built web map: ``$OVERFLIGHT_WEB_ROOT`` when set, else the checkout's ``web/dist``;
    None when neither holds a build (``index.html`` and ``app.js``)."""
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip():
        p = Path(env).expanduser()
        return p if (p / "index.html").is_file() else None
    return _REPO_DIST if _built(_REPO_DIST) else None


def default_web_root() -> Path | None:
    """The folder to serve at ``/``: the built map (:func:`find_web_dist`), else
    :data:`NOT_BUILT_DIR`, whose page says to run :data:`BUILD_COMMAND` (and a warning is
    logged). None only when ``$OVERFLIGHT_WEB_ROOT`` is ``none`` or empty (no page at ``/``)."""
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip().lower() in ("", "none"):
        return None
    found = find_web_dist()
    if found is not None:
        return found
    if env is not None:
        log.warning("%s=%s has no index.html: serving the 'not built' page at /", ENV_VAR, env)
    else:
        log.warning("web map not built (%s missing): run `%s`", _REPO_DIST, BUILD_COMMAND)
    return NOT_BUILT_DIR
