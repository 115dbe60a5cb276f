"""The frozen teacher of anchored training: embeddings of the base model, computed once and cached.

The teacher is an fp32 model bundle run by the engine's own encoder (ONNX Runtime, no torch), so
its embeddings are the ones the base model serves. Every text the trainer will need is encoded
before the first step (the samplers are seeded, so the batches are known in advance) and kept in
one SQLite file per teacher (weights, tokenizer, graph and pooling) under <cache>/teachers/,
shared by every run and seed:
a training step runs no teacher forward pass.

A key is the text as the teacher sees it: prefix, text and the truncation length (the student
truncates queries and passages to its own lengths, and so must the teacher).
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from itertools import groupby
from pathlib import Path

import numpy as np

from engine.bundle import load_bundle
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.paths import cache_dir

TEACHER_VARIANT = "fp32"
_ENCODE_CHUNK = 512  # texts per encode call, so progress moves and a kill loses little


def text_key(prefix: str, text: str, max_length: int) -> str:
    return hashlib.sha256(f"{max_length}\0{prefix}{text}".encode()).hexdigest()[:32]


class Teacher:
    """A bundle's fp32 embeddings of (prefix + text, truncated to a length), from the cache or encoded once."""

    def __init__(self, bundle: str | Path, threads: int = 0, cache_root: Path | None = None):
        self.bundle = load_bundle(bundle)
        if TEACHER_VARIANT not in self.bundle.variants:
            raise EngineError(f"teacher bundle {self.bundle.path} has no {TEACHER_VARIANT} variant")
        self.encoder = Encoder(self.bundle, variant=TEACHER_VARIANT, device="cpu", intra_op_threads=threads)
        root = Path(cache_root) if cache_root is not None else cache_dir() / "teachers"
        root.mkdir(parents=True, exist_ok=True)
        self.cache_file = root / f"{_teacher_identity(self.bundle)}-{TEACHER_VARIANT}.sqlite"
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def dimension(self) -> int:
        return self.bundle.dimension

    def check_student(self, hidden_size: int, vocabulary: dict[str, int]) -> None:
        """The student must embed in the teacher's space with the teacher's tokens."""
        if hidden_size != self.dimension:
            raise EngineError(f"the teacher {self.bundle.path} embeds in {self.dimension} dimensions but the "
                              f"student in {hidden_size}: anchoring needs the same embedding space")
        if self.encoder.tokenizer.get_vocab() != vocabulary:
            raise EngineError(f"the teacher {self.bundle.path} has another tokenizer than the student "
                              f"({self.encoder.tokenizer.get_vocab_size()} vs {len(vocabulary)} tokens): "
                              "anchoring needs the same tokenizer")

    def prepare(self, texts: set[tuple[str, int]], prefix: str, progress=None) -> None:
        """Make the embeddings of `texts` ((text, max_length) pairs, with `prefix`) available to `get`."""
        wanted = {text_key(prefix, text, length): (text, length) for text, length in texts}
        wanted = {key: item for key, item in wanted.items() if key not in self._vectors}
        with closing(self._connect()) as db:
            for key, blob in _select(db, list(wanted)):
                if len(blob) == 4 * self.dimension:  # anything else is re-encoded and replaced
                    self._vectors[key] = np.frombuffer(blob, dtype=np.float32)
                    wanted.pop(key)
            missing = sorted(wanted.items(), key=lambda item: item[1][1])
            for start in range(0, len(missing), _ENCODE_CHUNK):
                chunk = missing[start:start + _ENCODE_CHUNK]
                vectors = self._encode([text for _, (text, _) in chunk], [length for _, (_, length) in chunk],
                                       prefix)
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                               [(key, vector.tobytes()) for (key, _), vector in zip(chunk, vectors)])
                db.commit()
                self._vectors.update((key, vector) for (key, _), vector in zip(chunk, vectors))
                if progress is not None:
                    progress(len(chunk))

    def get(self, texts: list[str], prefix: str, max_length: int) -> np.ndarray:
        """(len(texts), dimension) float32; every text must have been prepared."""
        try:
            return np.stack([self._vectors[text_key(prefix, text, max_length)] for text in texts])
        except KeyError:
            raise RuntimeError("a teacher embedding was asked for that was never prepared") from None

    def _encode(self, texts: list[str], lengths: list[int], prefix: str) -> np.ndarray:
        """Texts in ascending order of `lengths`, each truncated to its own length as the student does."""
        tokenizer, encodings = self.encoder.tokenizer, []
        for length, items in groupby(zip(texts, lengths), key=lambda item: item[1]):
            tokenizer.enable_truncation(min(length, self.bundle.max_length))
            encodings += tokenizer.encode_batch([prefix + text for text, _ in items])
        tokenizer.enable_truncation(self.bundle.max_length)
        return self.encoder.embed(encodings)

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.cache_file)
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        except sqlite3.Error as err:
            raise EngineError(f"cannot use the teacher embedding cache {self.cache_file}: {err} "
                              "(delete it to start it afresh)") from None
        return db


def _teacher_identity(bundle) -> str:
    """What decides the teacher's embeddings: the weights' fingerprint alone does not, since the same
    weights with another tokenizer or pooling embed differently."""
    manifest = bundle.manifest
    parts = (bundle.fingerprint, manifest["tokenizer"]["sha256"], bundle.variants[TEACHER_VARIANT]["sha256"],
             bundle.pooling, str(bundle.normalize))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:24]


def _select(db: sqlite3.Connection, keys: list[str]):
    for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
        chunk = keys[start:start + 500]
        yield from db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk)


def teacher_bundle(teacher: str | None, base_model: str, base_dir: Path, quiet: bool = False) -> str:
    """The teacher's bundle: `teacher` when given, else the base model's (the default bundle for
    `default`; another base model is exported once, fp32 only, into <cache>/bundles/teachers/)."""
    from export.default_bundle import make_default_bundle

    if teacher is not None:
        return str(make_default_bundle(quiet)) if teacher == "default" else teacher
    if base_model == "default":
        return str(make_default_bundle(quiet))
    from engine.bundle import MANIFEST_NAME
    from export.bundle_writer import export_bundle
    from export.fingerprint import weights_fingerprint

    out = cache_dir() / "bundles" / "teachers" / weights_fingerprint(base_dir)[:16]
    if not (out / MANIFEST_NAME).is_file():
        export_bundle(base_dir, out, quantize=(), quiet=quiet, source_model=f"teacher: {base_model}")
    return str(out)
