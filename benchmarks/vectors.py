"""Synthetic embeddings and the exact top-k and recall that every search benchmark measures against."""

import numpy as np

DIMENSION = 384


def unit_vectors(count: int, seed: int, latent: int = 64, noise: float = 0.3) -> np.ndarray:
    """Synthetic embeddings: a 200-cluster Gaussian mixture in `latent` dimensions, projected to 384
    and blurred with isotropic noise. Real sentence embeddings have a low intrinsic dimension;
    uniform 384-d noise (far harder for any graph index) would misstate recall at a given ef."""
    rng = np.random.default_rng(seed)
    projection = np.random.default_rng(12345).standard_normal((latent, DIMENSION)).astype(np.float32)
    centres = np.random.default_rng(999).standard_normal((200, latent)).astype(np.float32)
    points = centres[rng.integers(0, len(centres), count)] + 0.7 * rng.standard_normal((count, latent)).astype(np.float32)
    vectors = points @ projection + noise * np.sqrt(latent) * rng.standard_normal((count, DIMENSION)).astype(np.float32)
    # float32, as an encoder returns them (np.sqrt's float64 scalar above promotes the sum)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def recall_at_k(found_labels: np.ndarray, exact_labels: np.ndarray) -> float:
    k = exact_labels.shape[1]
    return float(np.mean([len(set(f) & set(e)) / k for f, e in zip(found_labels.tolist(), exact_labels.tolist())]))


EXACT_CHUNK = 64  # queries per matrix product: 64 x 1M float32 scores is 256 MB


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Labels of each query's k largest inner products (among the `allowed` rows), best first."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), EXACT_CHUNK):
        scores = queries[start:start + EXACT_CHUNK] @ vectors.T
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        top = np.argpartition(scores, -k, axis=1)[:, -k:]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start:start + EXACT_CHUNK] = np.take_along_axis(top, order, axis=1)
    return out
