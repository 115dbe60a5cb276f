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
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def recall_at_k(found_labels: np.ndarray, exact_labels: np.ndarray) -> float:
    k = exact_labels.shape[1]
    return float(np.mean([len(set(f) & set(e)) / k for f, e in zip(found_labels.tolist(), exact_labels.tolist())]))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    scores = queries @ vectors.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    return np.argsort(-scores, axis=1)[:, :k]


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


# --- End-to-end suites (test_end_to_end.py, test_index_build.py): corpus, threads, shared extra_info ---

import itertools  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

from engine.corpus import passage_text, read_corpus  # noqa: E402
from engine.demo_data import demo_file, read_demo_queries  # noqa: E402
from engine.evaluation.lareqa import XQUAD_R_LANGUAGES, read_lareqa_file  # noqa: E402
from engine.machine import machine  # noqa: E402

E2E_THREADS = int(os.environ.get("ENGINE_BENCH_THREADS", "1"))
E2E_HNSW = HnswParams(M=32, ef_construction=200, ef_search=64)
E2E_K = 10
E2E_QUERIES = 512  # the largest batch
SMOKE_E2E_QUERIES = 8


@dataclass
class BenchCorpus:
    name: str  # "xquad-r" or "demo"
    passages: list[Passage]
    queries: list[str]

    @property
    def texts(self) -> list[str]:
        return [passage_text(passage) for passage in self.passages]


def bench_size(config, variable: str, full: int, smoke: int) -> int:
    return int(os.environ.get(variable, smoke if smoke_mode(config) else full))


def load_bench_corpus(config, passages: int) -> BenchCorpus:
    """XQuAD-R sentences and questions when measuring and the shared data is there, else the demo corpus."""
    if smoke_mode(config):
        return _demo_corpus(passages, SMOKE_E2E_QUERIES)
    folder = _xquad_r_dir()
    return _xquad_r_corpus(folder, passages, E2E_QUERIES) if folder else _demo_corpus(passages, E2E_QUERIES)


def _xquad_r_dir() -> Path | None:
    """ENGINE_DATA_DIR, else ../shared/data beside the repository (as CI lays it out)."""
    root = Path(os.environ.get("ENGINE_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
    return root / "xquad-r" if (root / "xquad-r").is_dir() else None


def _round_robin(lists: list[list]) -> list:
    """One item of each list in turn, so any prefix holds every language about equally."""
    return [item for group in itertools.zip_longest(*lists) for item in group if item is not None]


def _xquad_r_corpus(folder: Path, passages: int, queries: int) -> BenchCorpus:
    parts = [read_lareqa_file(folder / f"{lang}.json", lang)[0] for lang in XQUAD_R_LANGUAGES]
    sentences = [[Passage(id=f"{part.lang}/{cid}", text=text, lang=part.lang)
                  for cid, text in zip(part.candidate_ids, part.candidate_fields["sentence"])] for part in parts]
    questions = [part.query_texts for part in parts]
    return BenchCorpus("xquad-r", _round_robin(sentences)[:passages], _round_robin(questions)[:queries])


def _demo_corpus(passages: int, queries: int) -> BenchCorpus:
    questions = [question for _, _, question in read_demo_queries()]
    return BenchCorpus("demo", read_corpus(demo_file("corpus.jsonl"))[:passages],
                       list(itertools.islice(itertools.cycle(questions), queries)))


@pytest.fixture(scope="session")
def same_threads():
    """E2E_THREADS for torch and faiss (ONNX Runtime and hnswlib get it per session / index);
    tokenisation single-threaded too when E2E_THREADS is 1. Restores torch's and faiss's counts."""
    import faiss
    import torch

    before = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(E2E_THREADS)
    faiss.omp_set_num_threads(E2E_THREADS)
    with pytest.MonkeyPatch.context() as patch:
        if E2E_THREADS == 1:
            patch.setenv("TOKENIZERS_PARALLELISM", "false")
        yield
    torch.set_num_threads(before[0])
    faiss.omp_set_num_threads(before[1])


def engine_model_info(encoder) -> ModelInfo:
    bundle = encoder.bundle
    return ModelInfo(bundle.fingerprint, bundle.manifest["source_model"], encoder.variant, bundle.dimension,
                     str(bundle.path))


def engine_recall(index, query_vectors: np.ndarray) -> float:
    """recall@10 of the index's HNSW search against exact inner-product search over its own vectors."""
    from engine.search import Searcher

    found = Searcher(index).search_vectors(query_vectors, E2E_K, with_text=False).ids
    return recall_at_k(found, index.ids[exact_top(np.asarray(index.vectors), query_vectors, E2E_K)])


def peer_recall(graph, vectors: np.ndarray, query_vectors: np.ndarray) -> float:
    labels, _ = graph.search(query_vectors, E2E_K)
    return recall_at_k(labels, exact_top(vectors, query_vectors, E2E_K))


def dir_bytes(path: Path) -> int:
    return sum(file.stat().st_size for file in Path(path).rglob("*") if file.is_file())


def e2e_info(system: str, unit: str, items_per_call: int, recall: float, index_bytes: int,
             corpus: BenchCorpus) -> dict:
    """The extra_info every end-to-end and build benchmark carries (a report reads these keys).
    rss_mb is this whole pytest process's, read after the benchmark."""
    import psutil

    return {**machine(), "system": system, "unit": unit, "items_per_call": items_per_call,
            "recall@10": round(recall, 4), "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
            "index_bytes": index_bytes, "threads": E2E_THREADS, "corpus": corpus.name,
            "passages": len(corpus.passages)}
