"""End to end, query text in, hits with metadata out (tokenise -> encode -> search -> metadata): the
engine (int8 bundle, hnswlib, SQLite) against sentence-transformers (torch) + faiss IndexHNSWFlat
and sentence-transformers + hnswlib with a Python list of dicts, on the same model weights (the
default model), corpus, HNSW parameters (M=32, ef_construction=200, ef=64), k=10 and threads.

Run at full size (XQuAD-R: ENGINE_BENCH_PASSAGES sentences, default 5000, in 11 languages, and 512
of its questions, round robin over the languages; the demo corpus when the shared data is absent):
  ENGINE_DATA_DIR=../shared/data OMP_NUM_THREADS=1 pytest benchmarks/test_end_to_end.py \
      --benchmark-enable --benchmark-group-by=group --benchmark-json=end-to-end.json
ENGINE_BENCH_THREADS=N (default 1) sets every system's threads; with N > 1 also export
OMP_NUM_THREADS=N and OMP_WAIT_POLICY=PASSIVE. Each system encodes and indexes the corpus once;
single-query latency asks each of the 512 questions once per system (so every system gets the same
questions) and records p50_ms and p99_ms; batch throughput cycles through the questions in calls of
64 and 512. extra_info: system, unit, items_per_call, recall@10 (HNSW against exact search over the
system's own vectors), rss_mb (the whole process: the engine runs first, before torch's model is
loaded), index_bytes (index files on disk), threads, machine. Smoke mode (plain pytest): 40 demo
passages, 8 questions, every body once.
Targets (shown by the report, not asserted): single-query p50 <= 0.5x st-faiss's, batch
throughput >= 2x st-faiss's.
"""

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("faiss")
pytest.importorskip("psutil")

from benchmarks import peer_pipelines as peers  # noqa: E402
from benchmarks.e2e_setup import (  # noqa: E402
    E2E_HNSW,
    E2E_K,
    E2E_THREADS,
    BenchCorpus,
    bench_size,
    e2e_info,
    engine_model_info,
    engine_recall,
    load_bench_corpus,
    peer_recall,
)
from benchmarks.memory import disk_bytes  # noqa: E402
from engine import index as index_dir  # noqa: E402
from engine.encoder import Encoder  # noqa: E402
from engine.search import Searcher  # noqa: E402
from export.default_bundle import make_default_bundle  # noqa: E402

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("same_threads")]

SMOKE_PASSAGES = 40
BATCHES = (64, 512)


@dataclass
class System:
    name: str
    search: Callable[[list[str]], list]  # query texts -> per query, K hits with id, score, lang, title, text
    recall: float
    index_bytes: int


@pytest.fixture(scope="module")
def corpus(pytestconfig) -> BenchCorpus:
    return load_bench_corpus(pytestconfig, bench_size(pytestconfig, "ENGINE_BENCH_PASSAGES", 5000, SMOKE_PASSAGES))


def engine_system(corpus: BenchCorpus, path) -> System:
    encoder = Encoder(make_default_bundle(), device="cpu", intra_op_threads=E2E_THREADS)
    vectors = encoder.encode_passages(corpus.texts)
    index = index_dir.create(path, corpus.passages, vectors, engine_model_info(encoder), E2E_HNSW)
    searcher = Searcher(index, encoder, num_threads=E2E_THREADS)
    recall = engine_recall(index, encoder.encode_queries(corpus.queries))
    return System("engine", lambda texts: list(searcher.search(texts, E2E_K)), recall, disk_bytes(path))


@dataclass
class StVectors:
    encoder: peers.StEncoder
    passages: np.ndarray
    queries: np.ndarray


@pytest.fixture(scope="module")
def st_vectors(corpus) -> StVectors:
    """sentence-transformers and its vectors of the corpus and questions, shared by both peers."""
    from export.base_models import resolve_base_model

    encoder = peers.StEncoder(resolve_base_model("default"))
    return StVectors(encoder, encoder.encode_passages(corpus.texts), encoder.encode_queries(corpus.queries))


def peer_system(name: str, st: StVectors, corpus: BenchCorpus, folder) -> System:
    graph = peers.new_graph(name, st.passages.shape[1], E2E_HNSW, E2E_THREADS, capacity=len(st.passages))
    graph.add(st.passages)
    pipeline = peers.PeerPipeline(st.encoder, graph, peers.MetadataList(corpus.passages))
    return System(name, lambda texts: pipeline.search(texts, E2E_K), peer_recall(graph, st.passages, st.queries),
                  graph.save(folder / "index"))


@pytest.fixture(scope="module", params=["engine", "st-faiss", "st-hnswlib"])
def system(request, corpus, tmp_path_factory) -> System:
    """One system at a time, built once; the engine first, so torch's model is not yet loaded."""
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "engine":
        return engine_system(corpus, folder / "index")
    return peer_system(request.param, request.getfixturevalue("st_vectors"), corpus, folder)


def check_hits(results: list, queries: int) -> None:
    assert len(results) == queries and all(len(hits) == E2E_K and hits[0].text for hits in results)


def test_single_query(benchmark, system, corpus):
    """One question per call; each of the questions once, in the same order for every system."""
    benchmark.group = f"e2e single query k={E2E_K} (n={len(corpus.passages)})"
    system.search(corpus.queries[:1])  # first calls pay one-off allocations
    questions = iter(corpus.queries)
    seconds = []

    def one_query():
        started = time.perf_counter()
        hits = system.search([next(questions)])
        seconds.append(time.perf_counter() - started)
        return hits

    check_hits(benchmark.pedantic(one_query, rounds=len(corpus.queries), iterations=1), 1)
    benchmark.extra_info.update(e2e_info(system.name, "queries", 1, system.recall, system.index_bytes, corpus))
    benchmark.extra_info["p50_ms"] = round(float(np.percentile(seconds, 50)) * 1e3, 3)
    benchmark.extra_info["p99_ms"] = round(float(np.percentile(seconds, 99)) * 1e3, 3)


@pytest.mark.parametrize("batch", BATCHES)
def test_batch_throughput(benchmark, system, corpus, batch):
    """`batch` questions per call (fewer in smoke mode), cycling through the questions."""
    size = min(batch, len(corpus.queries))
    benchmark.group = f"e2e batch={size} k={E2E_K} (n={len(corpus.passages)})"
    calls = itertools.cycle([corpus.queries[start:start + size] for start in range(0, len(corpus.queries), size)])
    check_hits(benchmark(lambda: system.search(next(calls))), size)
    benchmark.extra_info.update(e2e_info(system.name, "queries", size, system.recall, system.index_bytes, corpus))
    if benchmark.stats:
        benchmark.extra_info["queries_per_s"] = round(size / benchmark.stats.stats.median, 2)
