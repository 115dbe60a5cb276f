import numpy as np
import pytest

from engine import kernels


@pytest.fixture
def token_batch():
    rng = np.random.default_rng(0)
    hidden = rng.standard_normal((5, 9, 16)).astype(np.float32)
    mask = np.zeros((5, 9), dtype=np.int64)
    for row, length in enumerate([9, 1, 4, 7, 2]):
        mask[row, :length] = 1
    return hidden, mask


@pytest.mark.parametrize("mode", ["mean", "cls"])
@pytest.mark.parametrize("normalize", [True, False])
def test_pool_matches_numpy_reference(token_batch, mode, normalize):
    hidden, mask = token_batch
    np.testing.assert_allclose(kernels.pool(hidden, mask, mode, normalize),
                               kernels.pool_numpy(hidden, mask, mode, normalize), rtol=1e-5, atol=1e-6)


def test_mean_pool_ignores_padding(token_batch):
    hidden, mask = token_batch
    pooled = kernels.pool(hidden, mask, "mean", normalize=False)
    np.testing.assert_allclose(pooled[2], hidden[2, :4].mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pooled[1], hidden[1, 0], rtol=1e-6)
    assert np.allclose(np.linalg.norm(kernels.pool(hidden, mask, "mean", True), axis=1), 1.0)


def test_score_candidates_matches_numpy_reference():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((100, 8)).astype(np.float32)
    queries = rng.standard_normal((3, 8)).astype(np.float32)
    candidates = rng.integers(0, 100, (3, 12))
    np.testing.assert_allclose(kernels.score_candidates(vectors, queries, candidates),
                               kernels.score_candidates_numpy(vectors, queries, candidates), rtol=1e-5, atol=1e-5)
    assert kernels.score_candidates(vectors, queries, candidates)[1, 4] == pytest.approx(
        float(vectors[candidates[1, 4]] @ queries[1]), rel=1e-5, abs=1e-5)


def test_top_k_orders_best_first():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [3.0, 2.0, 1.0, 0.0]], dtype=np.float32)
    positions, best = kernels.top_k(scores, 2)
    assert positions.tolist() == [[1, 3], [0, 1]]
    np.testing.assert_allclose(best, [[0.9, 0.7], [3.0, 2.0]])
