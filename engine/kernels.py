"""Numba kernels on the serving hot path, each beside the plain numpy version it replaced.

benchmarks/test_kernels.py times every pair in one run; a kernel stays only while it wins there.
The numpy twins are kept as the reference the tests compare against.
"""

import numba
import numpy as np


@numba.njit(cache=True, fastmath=True)
def _pool_mean_normalize(hidden, mask, normalize):
    batch, seq_len, dim = hidden.shape
    out = np.zeros((batch, dim), dtype=np.float32)
    for b in range(batch):
        count = 0.0
        for t in range(seq_len):
            if mask[b, t]:
                count += 1.0
                for j in range(dim):
                    out[b, j] += hidden[b, t, j]
        if count > 0.0:
            for j in range(dim):
                out[b, j] /= count
        if normalize:
            _normalize_row(out, b)
    return out


@numba.njit(cache=True, fastmath=True)
def _normalize_row(out, row):
    norm = 0.0
    for j in range(out.shape[1]):
        norm += out[row, j] * out[row, j]
    if norm > 0.0:
        scale = 1.0 / np.sqrt(norm)
        for j in range(out.shape[1]):
            out[row, j] *= scale


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    """Sentence embeddings from token embeddings (batch, seq, dim) and the attention mask."""
    if mode == "mean":
        return _pool_mean_normalize(hidden.astype(np.float32, copy=False), mask, normalize)
    pooled = np.ascontiguousarray(hidden[:, 0, :], dtype=np.float32)
    return normalize_rows(pooled) if normalize else pooled


def pool_numpy(hidden: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    """Reference for `pool`: masked mean (or CLS) with numpy, then L2 normalisation."""
    if mode == "mean":
        weights = mask.astype(np.float32)
        summed = np.matmul(weights[:, None, :], hidden)[:, 0, :]
        pooled = summed / np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    else:
        pooled = hidden[:, 0, :]
    pooled = pooled.astype(np.float32)
    return normalize_rows(pooled) if normalize else pooled


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@numba.njit(cache=True, fastmath=True)
def _score_candidates(vectors, queries, candidates):
    n_queries, n_candidates = candidates.shape
    dim = vectors.shape[1]
    scores = np.empty((n_queries, n_candidates), dtype=np.float32)
    for q in range(n_queries):
        for c in range(n_candidates):
            row = candidates[q, c]
            total = 0.0
            for j in range(dim):
                total += vectors[row, j] * queries[q, j]
            scores[q, c] = total
    return scores


def score_candidates(vectors: np.ndarray, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Exact inner products of each query with its own candidate rows of `vectors`."""
    return _score_candidates(vectors, queries, candidates.astype(np.int64, copy=False))


def score_candidates_numpy(vectors: np.ndarray, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Reference for `score_candidates`: gather then batched matrix-vector product."""
    return np.einsum("qcd,qd->qc", vectors[candidates], queries).astype(np.float32)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions and scores of the k best per row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)
