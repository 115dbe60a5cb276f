"""Encode many texts of mixed length: length-sorted batches bounded by a padded-token budget.

A fixed batch size is a poor fit for evaluation data, where questions run ~16 tokens and
sentence-plus-paragraph candidates ~260: on this CPU, batches of 32 long texts encode ~40% slower
than batches of 2-4 (the activations of a big batch fall out of cache), while short texts gain
from big batches. Bounding batch rows x longest row keeps both near their best.
"""

from __future__ import annotations

import numpy as np

TOKEN_BUDGET = 1024


def encode_texts(encoder, texts: list[str], prefix: str, progress=None,
                 token_budget: int = TOKEN_BUDGET) -> np.ndarray:
    """float32 (len(texts), dimension) in input order; `progress(n)` after each batch of n texts."""
    encodings = encoder.tokenize(texts, prefix)
    lengths = np.array([len(encoding.ids) for encoding in encodings], dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    out = np.empty((len(texts), encoder.dimension), dtype=np.float32)
    for start, stop in batch_bounds(lengths[order], encoder.batch_size, token_budget):
        rows = order[start:stop]
        out[rows] = encoder.embed([encodings[row] for row in rows])
        if progress is not None:
            progress(len(rows))
    return out


def batch_bounds(sorted_lengths: np.ndarray, max_rows: int, token_budget: int) -> list[tuple[int, int]]:
    """[start, stop) ranges over ascending lengths: at most max_rows rows, rows x longest <= budget
    (a single text longer than the budget is a batch of its own)."""
    bounds, start, count = [], 0, len(sorted_lengths)
    while start < count:
        stop = start + 1
        while stop < count and stop - start < max_rows and (stop - start + 1) * sorted_lengths[stop] <= token_budget:
            stop += 1
        bounds.append((start, stop))
        start = stop
    return bounds
