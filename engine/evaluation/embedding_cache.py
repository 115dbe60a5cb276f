"""Embeddings kept on disk per (model fingerprint, variant, dataset, text variant).

<cache>/embeddings/<fingerprint[:16]>-<variant>/<key>.npy holds the vectors; <key>.json records
what made them (a digest of the prefixed input texts, the variant's graph checksum, max length)
and the .npy checksum. A cache entry whose record does not match the request, or whose file does
not match its checksum, is ignored and overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from engine.hashing import sha256_file
from engine.paths import cache_dir


class EmbeddingCache:
    def __init__(self, encoder, enabled: bool = True):
        self.encoder = encoder
        self.enabled = enabled
        bundle = encoder.bundle
        self.directory = cache_dir() / "embeddings" / f"{bundle.fingerprint[:16]}-{encoder.variant}"
        self._model = {"model_sha256": bundle.variants[encoder.variant]["sha256"], "max_length": bundle.max_length,
                       "dimension": bundle.dimension}

    def load(self, key: str, texts: list[str], prefix: str) -> np.ndarray | None:
        """The cached vectors for exactly these texts, or None."""
        if not self.enabled:
            return None
        vectors_path, record_path = self._paths(key)
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            if record != {**self._describe(texts, prefix), "vectors_sha256": sha256_file(vectors_path)}:
                return None
            vectors = np.load(vectors_path)
        except (OSError, ValueError):
            return None
        return vectors if vectors.shape == (len(texts), self._model["dimension"]) else None

    def store(self, key: str, texts: list[str], prefix: str, vectors: np.ndarray) -> None:
        if not self.enabled:
            return
        vectors_path, record_path = self._paths(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        _replace(vectors_path, lambda handle: np.save(handle, vectors.astype(np.float32, copy=False)))
        record = {**self._describe(texts, prefix), "vectors_sha256": sha256_file(vectors_path)}
        _replace(record_path, lambda handle: handle.write(json.dumps(record, indent=1).encode("utf-8")))

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.npy", self.directory / f"{key}.json"

    def _describe(self, texts: list[str], prefix: str) -> dict:
        digest = hashlib.sha256(json.dumps([prefix, texts], ensure_ascii=False).encode("utf-8")).hexdigest()
        return {**self._model, "count": len(texts), "texts_sha256": digest}


def _replace(path: Path, write) -> None:
    """Write through a temporary file in the same dir, then rename over `path`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "wb") as handle:
        write(handle)
    os.replace(temp, path)
