"""How the encoder cuts texts into batches: length-sorted, bounded by rows and by padded tokens.

A fixed batch size is a poor fit for texts of mixed length, where questions run ~16 tokens and
sentence-plus-paragraph passages ~260: on a CPU, batches of 32 long texts encode ~40% slower than
batches of 2-4 (the activations of a big batch fall out of cache), while short texts gain from big
batches. Bounding rows x longest row keeps both near their best. A GPU wants the biggest batches
that fit, so there the default is no token bound.
"""

from __future__ import annotations

import numpy as np

CPU_TOKEN_BUDGET = 1024  # padded tokens per batch on CPU (rows x longest row)


def batch_bounds(sorted_lengths: np.ndarray, max_rows: int, token_budget: int) -> list[tuple[int, int]]:
    """[start, stop) ranges over ascending lengths: at most max_rows rows, rows x longest <= budget
    (0: no token bound; a single text longer than the budget is a batch of its own)."""
    bounds, start, count = [], 0, len(sorted_lengths)
    while start < count:
        stop = start + 1
        while stop < count and stop - start < max_rows and (
                not token_budget or (stop - start + 1) * sorted_lengths[stop] <= token_budget):
            stop += 1
        bounds.append((start, stop))
        start = stop
    return bounds
