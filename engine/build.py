"""build-index and add: corpus file -> checked passages -> vectors -> index dir."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from engine import index as index_dir
from engine import shards as sharded
from engine.corpus import Passage, passage_text, read_corpus
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.index import HnswParams, Index, ModelInfo
from engine.paths import default_bundle_dir


@dataclass
class BuildSummary:
    index: Index
    passages: int
    truncated: int
    encode_seconds: float
    total_seconds: float

    def describe(self) -> str:
        languages = ", ".join(self.index.languages)
        return (
            f"{self.index.path}: {self.index.count} passages in {len(self.index.languages)} language(s) "
            f"({languages}); {self.passages} encoded in {self.encode_seconds:.1f} s "
            f"({self.passages / max(self.encode_seconds, 1e-9):.0f}/s), {self.truncated} truncated to "
            f"the model's max length; total {self.total_seconds:.1f} s"
        )


def build_index(corpus: str | Path, encoder: Encoder, out: str | Path, params: HnswParams = HnswParams(),
                default_lang: str | None = None, overwrite: bool = False, quiet: bool = False,
                shards: int = 1, ray=None) -> BuildSummary:
    """`shards` > 1 writes a sharded index dir (engine.shards), which opens and searches like one index.
    `ray` (engine.scale.encode.RayEncoding): encode on a Ray cluster's actors instead of in this process."""
    started = time.perf_counter()
    params.check()
    if not isinstance(shards, int) or shards < 1:
        raise EngineError(f"--shards must be a positive integer, got {shards!r}")
    index_dir.check_target(Path(out), overwrite)  # fail before the long encoding, not after
    passages = _read(corpus, default_lang, ray)
    index_dir.preflight(Path(out), len(passages), encoder.dimension)
    vectors, truncated, encode_seconds = _encode(encoder, passages, quiet, ray)
    if shards > 1:
        index = sharded.create(Path(out), passages, vectors, _model_info(encoder), params, shards,
                               overwrite=overwrite, insert_threads=encoder.threads)
    else:
        index = index_dir.create(Path(out), passages, vectors, _model_info(encoder), params, overwrite=overwrite,
                                 insert_threads=encoder.threads)
    return BuildSummary(index, len(passages), truncated, encode_seconds, time.perf_counter() - started)


def add_to_index(index: Index, corpus: str | Path, encoder: Encoder, default_lang: str | None = None,
                 quiet: bool = False) -> BuildSummary:
    return add_passages(index, read_corpus(corpus, default_lang), encoder, quiet)


def add_passages(index: Index, passages: list[Passage], encoder: Encoder, quiet: bool = True) -> BuildSummary:
    """Encode checked passages and add them to the index (a new version, swapped in)."""
    started = time.perf_counter()
    index.check_model(encoder.bundle.fingerprint, str(encoder.bundle.path))
    index_dir.check_new_ids(index, passages)  # before the long encoding
    index_dir.preflight(index.path, len(passages), index.dimension)
    vectors, truncated, encode_seconds = _encode(encoder, passages, quiet)
    updated = index_dir.add(index, passages, vectors, insert_threads=encoder.threads)
    return BuildSummary(updated, len(passages), truncated, encode_seconds, time.perf_counter() - started)


def _read(corpus: str | Path, default_lang: str | None, ray=None) -> list[Passage]:
    if ray is None:
        return read_corpus(corpus, default_lang)
    from engine.scale.read import read_corpus_with_ray

    return read_corpus_with_ray(corpus, default_lang, ray.address)


def _encode(encoder: Encoder, passages: list[Passage], quiet: bool, ray=None):
    started = time.perf_counter()
    texts = [passage_text(p) for p in passages]
    encodings = encoder.tokenize(texts, encoder.bundle.passage_prefix)
    truncated = sum(bool(encoding.overflowing) for encoding in encodings)
    if ray is not None:
        from engine.scale.encode import encode_with_ray

        return encode_with_ray(texts, encoder, ray, encoder.bundle.passage_prefix), truncated, \
            time.perf_counter() - started
    with tqdm(total=len(passages), desc="encoding", unit="passage", disable=quiet) as bar:
        vectors = encoder.embed(encodings, progress=bar.update)
    return vectors, truncated, time.perf_counter() - started


def _model_info(encoder: Encoder) -> ModelInfo:
    bundle = encoder.bundle
    location = bundle.path.resolve()
    recorded = "default" if location == default_bundle_dir().resolve() else str(location)
    return ModelInfo(bundle.fingerprint, bundle.manifest["source_model"], encoder.variant, bundle.dimension, recorded)
