"""The weights fingerprint every bundle variant shares, so an index accepts any variant of its model."""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.hashing import update_with_file
from export.base_models import WEIGHT_PATTERNS


def weights_fingerprint(model_dir: Path) -> str:
    """sha256 over the model's weight files (names and bytes), in sorted name order."""
    model_dir = Path(model_dir)
    files = sorted({path for pattern in WEIGHT_PATTERNS for path in model_dir.glob(pattern)})
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8") + b"\0")
        update_with_file(digest, path)
    return digest.hexdigest()
