"""Retrieval metrics from the ranks of each query's relevant candidates, vectorised over queries.

Inputs are padded (queries, width) arrays: `ranks` holds 1-based ranks (inf: not retrieved, or
padding) and `gains` the relevance of each entry (0: padding). Definitions follow trec_eval:
AP averages precision at each relevant rank over all relevant candidates, recall@k divides by all
relevant candidates, nDCG@k uses gain / log2(rank + 1) with the ideal order of the judged gains.
"""

from __future__ import annotations

import numpy as np

from engine.errors import EngineError


def average_precision(ranks: np.ndarray, gains: np.ndarray) -> np.ndarray:
    relevant = gains > 0
    ordered = np.sort(np.where(relevant, ranks, np.inf), axis=1)
    hits = np.arange(1, ordered.shape[1] + 1)
    precision = np.where(np.isfinite(ordered), hits / ordered, 0.0)
    return precision.sum(axis=1) / relevant.sum(axis=1)


def recall_at(ranks: np.ndarray, gains: np.ndarray, k: int) -> np.ndarray:
    relevant = gains > 0
    return ((ranks <= k) & relevant).sum(axis=1) / relevant.sum(axis=1)


def ndcg_at(ranks: np.ndarray, gains: np.ndarray, k: int) -> np.ndarray:
    found = ranks <= k
    dcg = np.where(found, gains / np.log2(np.where(found, ranks, 1.0) + 1.0), 0.0).sum(axis=1)
    ideal = -np.sort(-gains, axis=1)[:, :k]
    idcg = (ideal / np.log2(np.arange(2, ideal.shape[1] + 2))).sum(axis=1)
    return dcg / idcg


def rank_distance(ranks: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Highest minus lowest rank among the relevant candidates; NaN with fewer than two found."""
    found = (gains > 0) & np.isfinite(ranks)
    highest = np.where(found, ranks, -np.inf).max(axis=1)
    lowest = np.where(found, ranks, np.inf).min(axis=1)
    return np.where(found.sum(axis=1) >= 2, highest - lowest, np.nan)


def metric(name: str):
    """`map`, `recall@K`, `ndcg@K` or `rank_distance` as a function of (ranks, gains)."""
    if name == "map":
        return average_precision
    if name == "rank_distance":
        return rank_distance
    base, _, cutoff = name.partition("@")
    if base in ("recall", "ndcg") and cutoff.isdigit() and int(cutoff) > 0:
        function = recall_at if base == "recall" else ndcg_at
        return lambda ranks, gains: function(ranks, gains, int(cutoff))
    raise EngineError(f"unknown metric {name!r} (map, recall@K, ndcg@K, rank_distance)")
