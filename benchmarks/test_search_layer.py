"""The engine's search layer against raw hnswlib.knn_query on the same graph, ef and k.

Run: OMP_NUM_THREADS=1 pytest benchmarks/test_search_layer.py --benchmark-enable --benchmark-group-by=group
Target: the search call at most 10% over raw hnswlib. Both use one search thread. Reading the hits'
ids and scores is timed separately, beside a raw hnswlib user doing the same mapping.
"""

import numpy as np
import pytest

from benchmarks.vectors import exact_top, recall_at_k
from engine.machine import machine
from engine.search import Searcher

K = 10
EF = 64


def _raw(index, queries):
    index.graph.set_ef(EF)
    labels, _ = index.graph.knn_query(queries, k=K, num_threads=1)
    return labels


def _raw_ids_scores(index, queries):
    """What a raw hnswlib user does to get the engine's answer: labels to ids, distances to scores."""
    index.graph.set_ef(EF)
    labels, distances = index.graph.knn_query(queries, k=K, num_threads=1)
    return index.ids[labels], 1.0 - distances


def _engine(searcher, queries, system):
    """engine: the search call; engine-ids-scores: it and reading the hits' ids and scores (resolved
    on first read); engine-with-text: also titles and texts from SQLite."""
    results = searcher.search_vectors(queries, k=K, ef=EF, with_text=system == "engine-with-text")
    if system == "engine-ids-scores":
        return results.ids, results.scores
    return results


def _labels(hits):
    return np.array([[int(hit.id) for hit in row] for row in hits])


@pytest.mark.parametrize("batch", [1, 64])
@pytest.mark.parametrize("system", ["hnswlib-raw", "engine", "hnswlib-raw-ids-scores", "engine-ids-scores",
                                    "engine-with-text"])
def test_search_layer(benchmark, vector_index, batch, system):
    """One round searches all 512 queries in calls of `batch`, so every system sees the same queries."""
    index, vectors, _, queries = vector_index
    benchmark.group = f"search-layer batch={batch} k={K} ef={EF} n={len(vectors)}, 512 queries per round"
    searcher = Searcher(index)
    calls = [queries[start:start + batch] for start in range(0, len(queries), batch)]

    def one_call(chunk):
        if system.startswith("hnswlib-raw"):
            return _raw(index, chunk) if system == "hnswlib-raw" else _raw_ids_scores(index, chunk)
        return _engine(searcher, chunk, system)

    def all_queries():
        return [one_call(chunk) for chunk in calls]

    benchmark(all_queries)
    found = np.concatenate([_raw(index, q) if system.startswith("hnswlib-raw")
                            else _labels(searcher.search_vectors(q, K, ef=EF, with_text=False)) for q in calls])
    benchmark.extra_info.update(machine())
    benchmark.extra_info["search_threads"] = 1
    benchmark.extra_info["queries_per_round"] = len(queries)
    benchmark.extra_info["recall@10"] = round(recall_at_k(found, exact_top(vectors, queries, K)), 4)


@pytest.mark.parametrize("languages, label", [(["sw"], "1%"), (["de", "sw"], "11%")])
@pytest.mark.parametrize("limit, approach", [(10**9, "exact-subset"), (0, "hnsw-filter")])
def test_language_filter(benchmark, vector_index, languages, label, limit, approach):
    """Which filter approach to use for which selectivity: sets search.EXACT_FILTER_LIMIT."""
    index, vectors, langs, queries = vector_index
    benchmark.group = f"language-filter {label} of n={len(vectors)}, batch=16"
    searcher = Searcher(index, exact_filter_limit=limit)
    batch = queries[:16]
    found = _labels(benchmark(searcher.search_vectors, batch, K, languages, EF, False, False))
    benchmark.extra_info.update(machine())
    benchmark.extra_info["allowed"] = int(np.isin(langs, languages).sum())
    benchmark.extra_info["recall@10"] = round(
        recall_at_k(found, exact_top(vectors, batch, K, np.isin(langs, languages))), 4)
