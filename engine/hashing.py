"""Content checksums used by bundle and index manifests."""

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def update_with_file(digest, path: Path) -> None:
    """Feed a file's bytes to a hashlib digest in 1 MiB chunks (weights files are hundreds of MB)."""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    update_with_file(digest, path)
    return digest.hexdigest()
