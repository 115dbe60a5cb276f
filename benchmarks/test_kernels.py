"""Each Numba kernel against the numpy version it replaced (keep a kernel only while it wins).

Run: OMP_NUM_THREADS=1 pytest benchmarks/test_kernels.py --benchmark-group-by=group
"""

import numpy as np
import pytest

from engine import kernels
from engine.machine import machine


@pytest.mark.parametrize("implementation", ["numba", "numpy"])
def test_pool_mean_normalize(benchmark, implementation):
    """Batch 32 x 64 tokens x 384: the encoder's pooling step."""
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((32, 64, 384)).astype(np.float32)
    mask = (np.arange(64)[None, :] < rng.integers(8, 65, 32)[:, None]).astype(np.int64)
    benchmark.group = "kernel: mean pooling + L2 (32x64x384)"
    function = kernels.pool if implementation == "numba" else kernels.pool_numpy
    benchmark(function, hidden, mask, "mean", True)
    benchmark.extra_info.update(machine())


@pytest.mark.parametrize("implementation", ["numba", "numpy"])
def test_score_candidates(benchmark, implementation):
    """64 queries x 40 candidates gathered from 100k x 384 stored vectors: re-scoring."""
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((100_000, 384)).astype(np.float32)
    queries = rng.standard_normal((64, 384)).astype(np.float32)
    candidates = rng.integers(0, 100_000, (64, 40))
    benchmark.group = "kernel: re-score 64x40 candidates (d=384)"
    function = kernels.score_candidates if implementation == "numba" else kernels.score_candidates_numpy
    benchmark(function, vectors, queries, candidates)
    benchmark.extra_info.update(machine())
