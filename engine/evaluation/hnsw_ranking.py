"""Ranks through an in-memory HNSW graph per candidate pool, to measure what approximate search loses.

Each pool's candidates get their own graph (built single-threaded, so the figures repeat exactly);
a query's top `depth` hits are taken from it, and a relevant candidate outside them counts as not
retrieved (rank inf).
"""

from __future__ import annotations

import hnswlib
import numpy as np

from engine.evaluation.data import Benchmark
from engine.evaluation.pools import Pool, RankedPool, pad_by_query, pool_entries
from engine.index import METRIC, HnswParams


def hnsw_ranks(bench: Benchmark, queries: np.ndarray, candidates: np.ndarray, pools: list[Pool],
               params: HnswParams, depth: int, progress=None) -> dict[Pool, RankedPool]:
    graphs: dict[tuple[str, ...], tuple[hnswlib.Index, np.ndarray]] = {}
    ranked = {}
    for pool in pools:
        if pool.candidate_langs not in graphs:
            rows = np.flatnonzero(np.isin(bench.candidate_langs,
                                          [bench.languages.index(lang) for lang in pool.candidate_langs]))
            graphs[pool.candidate_langs] = (_build(candidates[rows], params), rows)
        graph, rows = graphs[pool.candidate_langs]
        ranked[pool] = _pool_ranks(bench, queries, pool, graph, rows, min(depth, len(rows)), params.ef_search)
        if progress is not None:
            progress(1)
    return ranked


def _build(vectors: np.ndarray, params: HnswParams) -> hnswlib.Index:
    graph = hnswlib.Index(space=METRIC, dim=vectors.shape[1])
    graph.init_index(max_elements=len(vectors), M=params.M, ef_construction=params.ef_construction)
    graph.add_items(vectors, np.arange(len(vectors)), num_threads=1)
    return graph


def _pool_ranks(bench, queries, pool, graph, rows, depth, ef) -> RankedPool:
    entries = pool_entries(bench, pool)
    query_of_entry = bench.qrels.query_of_entry[entries]
    query_rows = np.unique(query_of_entry)
    graph.set_ef(max(ef, depth))
    labels, _ = graph.knn_query(queries[query_rows], k=depth, num_threads=1)
    hits = rows[labels.astype(np.int64)]
    matches = hits[np.searchsorted(query_rows, query_of_entry)] == bench.qrels.candidate[entries][:, None]
    ranks = np.where(matches.any(axis=1), matches.argmax(axis=1) + 1.0, np.inf)
    return pad_by_query(bench, entries, ranks)
