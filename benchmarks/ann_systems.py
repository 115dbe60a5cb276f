"""The three HNSW implementations that test_scale.py and test_real_collections.py compare, and the
two benchmark bodies those suites share: a build, and a search at a calibrated ef.

  engine       engine.index.create, then Searcher.search_vectors(with_text=False): the search layer
               alone (ids, scores, languages; no metadata). Its build time includes what `create`
               does besides the graph: vectors.npy, meta.sqlite, checksums, reopening the index.
  hnswlib-raw  hnswlib.Index.add_items / knn_query.
  faiss-hnsw   faiss.IndexHNSWFlat with METRIC_INNER_PRODUCT.

All three get the same M and ef_construction (level 0 holds 2*M links in each), build with every
core, and search with one thread in calls of BATCH queries. Raw hnswlib searches the engine's graph
(loaded from its index dir), not the one it built: multi-threaded insertion is not deterministic,
and two builds of one collection differ by up to ~0.01 recall@10 at one ef, which would swamp the
search layer's cost; so engine and raw hnswlib compare at the same ef on the same graph, and their
builds (time, memory, size) are compared apart. After its build each index is saved,
dropped and loaded back: the resident memory that loading adds (benchmarks.memory.RssGrowth), over
n, is its memory per vector, free of build-time leftovers. The engine memory-maps its float32 copy
of the vectors, which counts only once rescoring or exact filtering touches it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import faiss
import hnswlib
import numpy as np

from benchmarks.ef_calibration import EF_LADDER, Calibration, calibrate
from benchmarks.memory import RssGrowth, disk_bytes, hnswlib_bytes_per_vector, rss_mb
from benchmarks.vectors import exact_top, recall_at_k
from engine import index as index_dir
from engine.corpus import Passage
from engine.index import GRAPH, METRIC, HnswParams, ModelInfo
from engine.machine import machine
from engine.search import Searcher

SYSTEMS = ("engine", "hnswlib-raw", "faiss-hnsw")
K = 10
BATCH = 64
BUILD_THREADS = os.cpu_count() or 1
SEARCH_THREADS = 1
BUILD_RECALL_EF = 64  # a build benchmark reports its graph's recall@10 at this ef


class EngineSystem:
    name = "engine"

    def __init__(self, directory: Path, passages: list[Passage]):
        self.path = directory / "index"
        self.passages = passages  # ids are str(label), which `labels` relies on
        self.ef: int | None = None  # None: the index's default ef

    def build(self, vectors: np.ndarray, params: HnswParams) -> None:
        model = ModelInfo("bench" * 12 + "abcd", "benchmark vectors", "fp32", vectors.shape[1], "none")
        self.searcher = Searcher(index_dir.create(self.path, self.passages, vectors, model, params),
                                 num_threads=SEARCH_THREADS)

    def save(self) -> int:
        return disk_bytes(self.path)

    def close(self) -> None:
        self.searcher = None

    def load(self) -> None:
        self.searcher = Searcher(index_dir.open_index(self.path), num_threads=SEARCH_THREADS)

    def set_ef(self, ef: int) -> None:
        self.ef = ef

    def search(self, queries: np.ndarray):
        return self.searcher.search_vectors(queries, k=K, ef=self.ef, with_text=False)

    @staticmethod
    def labels(results) -> np.ndarray:
        return results.ids.astype(np.int64)


class HnswlibSystem:
    name = "hnswlib-raw"

    def __init__(self, directory: Path):
        self.file = directory / "graph.hnsw"

    def build(self, vectors: np.ndarray, params: HnswParams) -> None:
        self.graph = hnswlib.Index(space=METRIC, dim=vectors.shape[1])
        self.graph.init_index(max_elements=len(vectors), M=params.M, ef_construction=params.ef_construction)
        self.graph.add_items(vectors, np.arange(len(vectors)), num_threads=BUILD_THREADS)
        self.dimension = vectors.shape[1]

    def save(self) -> int:
        self.graph.save_index(str(self.file))
        return disk_bytes(self.file)

    def close(self) -> None:
        self.graph = None

    def load(self) -> None:
        """Load the saved graph, then remove its file (about 1.8 GB at 1M vectors)."""
        self.load_graph(self.file, self.dimension)
        self.file.unlink()

    def load_graph(self, path: Path, dimension: int) -> None:
        self.graph = hnswlib.Index(space=METRIC, dim=dimension)
        self.graph.load_index(str(path))

    def set_ef(self, ef: int) -> None:
        self.graph.set_ef(ef)

    def search(self, queries: np.ndarray):
        return self.graph.knn_query(queries, k=K, num_threads=SEARCH_THREADS)

    @staticmethod
    def labels(results) -> np.ndarray:
        return results[0].astype(np.int64)


class FaissSystem:
    name = "faiss-hnsw"

    def __init__(self, directory: Path):
        self.file = directory / "index.faiss"

    def build(self, vectors: np.ndarray, params: HnswParams) -> None:
        faiss.omp_set_num_threads(BUILD_THREADS)
        self.index = faiss.IndexHNSWFlat(vectors.shape[1], params.M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = params.ef_construction
        self.index.add(vectors)

    def save(self) -> int:
        faiss.write_index(self.index, str(self.file))
        return disk_bytes(self.file)

    def close(self) -> None:
        self.index = None

    def load(self) -> None:
        """Load the saved index, then remove its file."""
        self.index = faiss.read_index(str(self.file))
        self.file.unlink()

    def set_ef(self, ef: int) -> None:
        faiss.omp_set_num_threads(SEARCH_THREADS)  # else faiss spreads a batch's queries over every core
        self.index.hnsw.efSearch = ef

    def search(self, queries: np.ndarray):
        return self.index.search(queries, K)

    @staticmethod
    def labels(results) -> np.ndarray:
        return results[1].astype(np.int64)


def make_system(name: str, directory: Path, passages: Callable[[], list[Passage]]):
    if name == "engine":
        return EngineSystem(directory, passages())
    return {"hnswlib-raw": HnswlibSystem, "faiss-hnsw": FaissSystem}[name](directory)


def synthetic_passages(count: int) -> list[Passage]:
    return [Passage(id=str(label), text=f"passage {label}", lang="en") for label in range(count)]


def batches(queries: np.ndarray) -> list[np.ndarray]:
    return [queries[start:start + BATCH] for start in range(0, len(queries), BATCH)]


def search_labels(system, queries: np.ndarray, ef: int) -> np.ndarray:
    system.set_ef(ef)
    return np.concatenate([system.labels(system.search(batch)) for batch in batches(queries)])


@dataclass
class Built:
    system: EngineSystem | HnswlibSystem | FaissSystem
    bytes_per_vector: float
    index_bytes: int
    calibration: Calibration | None = None


class Collection:
    """Vectors, calibration and test queries, and each system's index over the vectors, built once:
    by the system's build benchmark when that runs first, else when the system is first searched."""

    def __init__(self, label: str, vectors: np.ndarray, calibration_queries: np.ndarray, test_queries: np.ndarray,
                 params: HnswParams, directory: Path, passages: Callable[[], list[Passage]], source: str):
        self.label, self.vectors, self.params, self.directory, self.source = label, vectors, params, directory, source
        self.calibration_queries, self.test_queries = calibration_queries, test_queries
        self._make_passages = passages
        self.built: dict[str, Built] = {}

    @property
    def n(self) -> int:
        return len(self.vectors)

    @cached_property
    def passages(self) -> list[Passage]:
        return self._make_passages()

    @cached_property
    def exact_calibration(self) -> np.ndarray:
        return exact_top(self.vectors, self.calibration_queries, K)

    @cached_property
    def exact_test(self) -> np.ndarray:
        return exact_top(self.vectors, self.test_queries, K)

    def build(self, name: str, timed: Callable[[Callable], object] = lambda build: build()) -> Built:
        """Build `name`'s index, passing the build to `timed`; then its size on disk, and the memory
        that loading it back adds."""
        system = make_system(name, Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.directory)),
                             lambda: self.passages)
        timed(lambda: system.build(self.vectors, self.params))
        index_bytes = system.save()
        system.close()
        with RssGrowth() as growth:
            system.load()
        self.built[name] = Built(system, growth.bytes / self.n, index_bytes)
        return self.built[name]

    def index(self, name: str) -> Built:
        return self.built.get(name) or self.build(name)

    def searched(self, name: str) -> Built:
        """The index `name` is searched on: its own, but for raw hnswlib the engine's graph (see the
        module's docstring), reported with the memory and size of raw hnswlib's own build."""
        if name != "hnswlib-raw":
            return self.index(name)
        key = "hnswlib-raw on the engine's graph"
        if key not in self.built:
            own, engine = self.index(name), self.index("engine")
            own.system.close()
            raw = HnswlibSystem(Path(tempfile.mkdtemp(prefix="hnswlib-raw-", dir=self.directory)))  # saves nothing
            raw.load_graph(engine.system.path / GRAPH, self.vectors.shape[1])
            self.built[key] = Built(raw, own.bytes_per_vector, own.index_bytes)
        return self.built[key]

    def calibration(self, name: str) -> Calibration:
        built = self.searched(name)
        if built.calibration is None:
            built.calibration = calibrate(lambda ef: search_labels(built.system, self.calibration_queries, ef),
                                          self.exact_calibration)
        return built.calibration


def build_benchmark(benchmark, collection: Collection, name: str) -> None:
    """One timed build (a round is minutes at 1M vectors); recall@10 of the graph at BUILD_RECALL_EF."""
    benchmark.group = f"{collection.label} build n={collection.n}"
    built = collection.build(name, timed=lambda build: benchmark.pedantic(build, rounds=1, iterations=1))
    found = search_labels(built.system, collection.test_queries, BUILD_RECALL_EF)
    _record(benchmark, collection, name, built, {
        "unit": "vectors", "items_per_call": collection.n, "threads": BUILD_THREADS,
        "ef": BUILD_RECALL_EF, "target_recall": None, "recall@10": recall_at_k(found, collection.exact_test)})


def search_benchmark(benchmark, collection: Collection, name: str, target: float) -> None:
    """A timed call searches every test query in batches of BATCH at the smallest ef whose recall@10
    on the calibration queries reached `target` (the ladder's top when none did)."""
    built = collection.searched(name)
    calibration = collection.calibration(name)
    ef = calibration.ef_for(target)
    reached = ef is not None
    ef = ef if reached else EF_LADDER[-1]
    calls = batches(collection.test_queries)
    benchmark.group = f"{collection.label} n={collection.n} recall>={target:.2f} batch={len(calls[0])}"
    built.system.set_ef(ef)
    results = benchmark(lambda: [built.system.search(batch) for batch in calls])
    found = np.concatenate([built.system.labels(result) for result in results])
    _record(benchmark, collection, name, built, {
        "unit": "queries", "items_per_call": len(collection.test_queries), "batch": len(calls[0]),
        "threads": SEARCH_THREADS, "ef": ef, "target_recall": target,
        "target_reached": reached, "recall@10": recall_at_k(found, collection.exact_test),
        "calibration_queries": len(collection.calibration_queries),
        "calibration_recall@10": {str(swept): round(recall, 4) for swept, recall in calibration.recall_by_ef.items()}})


def _record(benchmark, collection: Collection, name: str, built: Built, figures: dict) -> None:
    dimension = collection.vectors.shape[1]
    benchmark.extra_info.update(machine())
    benchmark.extra_info.update({
        "system": name, "n": collection.n, "dimension": dimension, "k": K, "vectors": collection.source,
        "M": collection.params.M, "ef_construction": collection.params.ef_construction,
        "rss_mb": rss_mb(), "index_bytes": built.index_bytes, "bytes_per_vector": round(built.bytes_per_vector, 1),
        "hnswlib_theory_bytes_per_vector": round(
            hnswlib_bytes_per_vector(dimension, collection.params.M, collection.n), 1),
        **figures, "recall@10": round(figures["recall@10"], 4)})
