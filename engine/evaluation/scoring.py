"""Exact scoring of every query against every candidate, in query chunks that bound memory.

One pass yields, for each relevant (query, candidate) entry, how many candidates of each language
score above it. Any pool that is a union of languages then gets exact ranks by summing columns,
so the monolingual, all cross-lingual and the multilingual settings share one matrix product.
Ties are broken by candidate row: an equal score on an earlier row ranks first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from engine import kernels
from engine.evaluation.data import Qrels

CHUNK_BYTES = 64 << 20


@dataclass
class ExactScores:
    outranking: np.ndarray       # int32 (qrels entries, languages)
    top_rows: np.ndarray | None  # int64 (queries, depth) candidate rows best first, -1 past the pool's end
    top_scores: np.ndarray | None


def score_exact(queries: np.ndarray, candidates: np.ndarray, blocks: np.ndarray, qrels: Qrels,
                run_ranges: np.ndarray | None = None, depth: int = 0, progress=None,
                chunk_bytes: int = CHUNK_BYTES) -> ExactScores:
    """`blocks`: first candidate row of each language plus the total. `run_ranges` (queries, 2):
    the candidate rows [start, stop) each query's top `depth` are taken from (for run files)."""
    outranking = np.zeros((len(qrels.candidate), len(blocks) - 1), dtype=np.int32)
    keep_top = run_ranges is not None and depth > 0
    top_rows = np.full((len(queries), depth), -1, dtype=np.int64) if keep_top else None
    top_scores = np.full((len(queries), depth), np.nan, dtype=np.float32) if keep_top else None
    chunk = max(1, chunk_bytes // (4 * max(len(candidates), 1)))
    candidates_t = np.ascontiguousarray(candidates.T)
    for start in range(0, len(queries), chunk):
        stop = min(start + chunk, len(queries))
        scores = queries[start:stop] @ candidates_t
        _count_outranking(scores, start, qrels.ptr, qrels.candidate, blocks.astype(np.int64), outranking)
        if keep_top:
            _keep_top(scores, run_ranges[start:stop], top_rows[start:stop], top_scores[start:stop])
        if progress is not None:
            progress(stop - start)
    return ExactScores(outranking, top_rows, top_scores)


def _keep_top(scores, ranges, top_rows, top_scores) -> None:
    distinct, which = np.unique(ranges, axis=0, return_inverse=True)
    for number, (first, last) in enumerate(distinct):
        rows = np.flatnonzero(which.ravel() == number)
        positions, best = kernels.top_k(scores[rows, first:last], top_rows.shape[1])
        top_rows[rows, :positions.shape[1]] = positions + first
        top_scores[rows, :positions.shape[1]] = best


@numba.njit(cache=True)
def _count_outranking(scores, first_query, ptr, candidate, blocks, out):
    n_languages = blocks.shape[0] - 1
    for i in range(scores.shape[0]):
        row = scores[i]
        query = first_query + i
        for entry in range(ptr[query], ptr[query + 1]):
            relevant = candidate[entry]
            if relevant < 0:
                continue
            threshold = row[relevant]
            for language in range(n_languages):
                begin, end = blocks[language], blocks[language + 1]
                split = min(max(relevant, begin), end)
                count = 0
                for c in range(begin, split):  # rows before the relevant one win ties
                    count += row[c] >= threshold
                for c in range(split, end):
                    count += row[c] > threshold
                out[entry, language] = count
