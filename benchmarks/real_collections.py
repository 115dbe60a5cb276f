"""The real collections the search-layer suites use: embeddings of the default model, loaded through
`engine eval`'s loader and embedding cache (a cache hit after any `engine eval xquad-r` /
`engine eval miracl --langs yo`; otherwise encoded once, minutes, and cached)."""

from __future__ import annotations

import numpy as np

from engine.encoder import Encoder
from engine.evaluation.evaluate import EvalOptions, benchmark_vectors, prepare
from export.default_bundle import make_default_bundle

# collection label -> (engine eval benchmark, languages)
COLLECTIONS = {"xquad-r pool": ("xquad-r", None), "miracl-yo": ("miracl", ["yo"])}
QUERIES = 512


def load_embeddings(name: str, languages: list[str] | None):
    """Query and candidate vectors, candidate texts and languages, and the candidate text variant.
    Raises EngineError when the benchmark's data is not under ENGINE_DATA_DIR."""
    prepared = prepare(name, EvalOptions(languages=languages, quiet=True))
    bench = prepared.bench
    queries, candidates = benchmark_vectors(prepared, Encoder(make_default_bundle()))
    texts = bench.candidate_texts(prepared.spec.texts[prepared.text])
    langs = [bench.languages[number] for number in bench.candidate_langs]
    return queries, candidates, texts, langs, prepared.text


def split_queries(queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint calibration and test queries: the two halves of a seeded shuffle, at most QUERIES each."""
    order = np.random.default_rng(0).permutation(len(queries))
    half = len(order) // 2
    return queries[np.sort(order[:half][:QUERIES])], queries[np.sort(order[half:][:QUERIES])]
