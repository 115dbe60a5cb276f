"""Shared set-up for the benchmark suites.

`pytest` runs the suites with --benchmark-disable (pyproject addopts): each benchmark body runs
once on small sizes, so CI keeps them working. `pytest benchmarks --benchmark-enable` measures at
full size: ENGINE_BENCH_VECTORS (default 100000) vectors of dimension 384 for the search layer.
Each benchmark records the machine and thread settings in extra_info.
"""

import os

import numpy as np
import pytest

from engine import index as index_dir
from engine.corpus import Passage
from engine.index import HnswParams, ModelInfo

DIMENSION = 384


SMOKE_VECTORS = 2000


def smoke_mode(config) -> bool:
    """True when benchmarks run once as tests (--benchmark-disable without --benchmark-enable)."""
    return config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")


def bench_vectors(config) -> int:
    default = SMOKE_VECTORS if smoke_mode(config) else 100_000
    return int(os.environ.get("ENGINE_BENCH_VECTORS", default))


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


@pytest.fixture(scope="session")
def vector_index(tmp_path_factory, pytestconfig):
    """An engine index over bench_vectors() clustered vectors, 1% of them in a rare language."""
    count = bench_vectors(pytestconfig)
    vectors = unit_vectors(count, seed=0)
    langs = np.where(np.arange(count) % 100 == 0, "sw", np.where(np.arange(count) % 10 == 1, "de", "en"))
    passages = [Passage(id=str(i), text=f"passage {i}", lang=str(lang)) for i, lang in enumerate(langs)]
    model = ModelInfo("bench" * 12 + "abcd", "synthetic vectors", "fp32", DIMENSION, "none")
    path = tmp_path_factory.mktemp("bench") / "index"
    index = index_dir.create(path, passages, vectors, model, HnswParams(M=32, ef_construction=200, ef_search=64))
    queries = unit_vectors(512, seed=1)
    return index, vectors, langs, queries


@pytest.fixture(scope="session")
def same_threads():
    """E2E_THREADS for torch and faiss in the end-to-end suites (ONNX Runtime and hnswlib get it per
    session / index); tokenisation single-threaded too when it is 1. Restores torch's and faiss's counts."""
    import faiss
    import torch

    from benchmarks.e2e_setup import E2E_THREADS

    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(E2E_THREADS)
    faiss.omp_set_num_threads(E2E_THREADS)
    with pytest.MonkeyPatch.context() as patch:
        if E2E_THREADS == 1:
            patch.setenv("TOKENIZERS_PARALLELISM", "false")
        yield
    torch.set_num_threads(before[0])
    faiss.omp_set_num_threads(before[1])
