"""Choosing ef per recall target: a sweep up a fixed ef ladder on calibration queries (against
benchmarks.vectors.exact_top), keeping the smallest ef that reaches each recall@10 target.

Each system is calibrated on its own results: two implementations of the same graph algorithm
need not reach a target at the same ef.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.vectors import recall_at_k

EF_LADDER = (10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)
RECALL_TARGETS = (0.90, 0.93, 0.95, 0.97, 0.99)  # points around 0.95, where the targets compare
@dataclass(frozen=True)
class Calibration:
    recall_by_ef: dict[int, float]  # the sweep, up to the first ef that reached every target

    def ef_for(self, target: float) -> int | None:
        """The smallest swept ef whose recall@10 reached `target`; None when none did."""
        return next((ef for ef, recall in self.recall_by_ef.items() if recall >= target), None)


def calibrate(search_labels: Callable[[int], np.ndarray], exact: np.ndarray,
              targets: tuple[float, ...] = RECALL_TARGETS, ladder: tuple[int, ...] = EF_LADDER) -> Calibration:
    """Sweep `search_labels(ef)` (the calibration queries' labels at that ef) up the ladder."""
    recall_by_ef = {}
    for ef in ladder:
        recall_by_ef[ef] = recall_at_k(search_labels(ef), exact)
        if recall_by_ef[ef] >= max(targets):
            break
    return Calibration(recall_by_ef)
