"""Shared set-up for the benchmark suites.

`pytest` runs the suites with --benchmark-disable (pyproject addopts): each benchmark body runs
once on small sizes, so CI keeps them working. `pytest benchmarks --benchmark-enable` measures at
full size: ENGINE_BENCH_VECTORS (default 100000) vectors of dimension 384 for the search layer.
Each benchmark records the machine and thread settings in extra_info.
"""

import numpy as np
import pytest

from benchmarks.run_mode import bench_vectors
from benchmarks.vectors import DIMENSION, unit_vectors
from engine import index as index_dir
from engine.corpus import Passage
from engine.index import HnswParams, ModelInfo


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
