"""Where medtrust keeps its cache (materialized models, generation cache)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "MEDTRUST_CACHE_DIR"


def cache_dir() -> Path:
    """``$MEDTRUST_CACHE_DIR``, else ``$XDG_CACHE_HOME/medtrust``, else ``~/.cache/medtrust``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "medtrust"


def generation_cache_path() -> Path:
    """The SQLite file that caches generations by content (``$MEDTRUST_GENERATION_CACHE`` overrides)."""
    if os.environ.get("MEDTRUST_GENERATION_CACHE"):
        return Path(os.environ["MEDTRUST_GENERATION_CACHE"]).expanduser()
    return cache_dir() / "generations.sqlite"
