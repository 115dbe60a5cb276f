"""Where the engine keeps things outside the repository: model caches and data."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """User cache for models and bundles: $ENGINE_CACHE_DIR, else $XDG_CACHE_HOME/engine."""
    if os.environ.get("ENGINE_CACHE_DIR"):
        return Path(os.environ["ENGINE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "engine"


def data_dir() -> Path:
    """Evaluation/training data: $ENGINE_DATA_DIR, else <cache>/data."""
    if os.environ.get("ENGINE_DATA_DIR"):
        return Path(os.environ["ENGINE_DATA_DIR"]).expanduser()
    return cache_dir() / "data"


def default_bundle_dir() -> Path:
    """The default model bundle (4-bit-rounded multilingual-e5-small, see README)."""
    return cache_dir() / "bundles" / "default"
