"""A checksum list inside a cached dir, so a damaged or half-copied cache is noticed and rebuilt."""

from __future__ import annotations

import json
from pathlib import Path

from engine.hashing import sha256_file

CHECKSUM_FILE = "checksums.json"


def write_dir_checksums(directory: Path) -> None:
    directory = Path(directory)
    (directory / CHECKSUM_FILE).write_text(json.dumps(_checksums(directory), indent=2) + "\n", encoding="utf-8")


def dir_checksums_match(directory: Path) -> bool:
    """True when `directory` holds exactly the files its checksum list names, unchanged."""
    listing = Path(directory) / CHECKSUM_FILE
    try:
        expected = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return expected == _checksums(Path(directory))


def _checksums(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path != directory / CHECKSUM_FILE
    }
