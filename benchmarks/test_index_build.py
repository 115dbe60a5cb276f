"""Index build throughput in passages per second: the engine against sentence-transformers (torch) +
faiss IndexHNSWFlat, on the same model weights (the default model), passages, HNSW parameters
(M=32, ef_construction=200) and threads, with encoding and graph insertion timed apart and together.

Run at full size (ENGINE_BENCH_BUILD_PASSAGES XQuAD-R sentences, default 2000, round robin over 11
languages; the demo corpus when the shared data is absent):
  ENGINE_DATA_DIR=../shared/data OMP_NUM_THREADS=1 pytest benchmarks/test_index_build.py \
      --benchmark-enable --benchmark-group-by=group --benchmark-json=index-build.json
ENGINE_BENCH_THREADS=N (default 1) sets every system's threads, as in test_end_to_end.py.
What each timing covers:
  build encode        engine: Encoder.encode_passages (int8); st-faiss: SentenceTransformer.encode
  build graph insert  engine: engine.index.create from the vectors (hnswlib graph, vectors.npy, SQLite
                      metadata, checksums, atomic swap, reopen); st-faiss: IndexHNSWFlat.add in memory
  build total         engine: engine.build.build_index from a JSONL corpus file; st-faiss: encode,
                      add, faiss.write_index and the metadata as JSONL
extra_info as in test_end_to_end.py (recall@10 over its 512 questions of the index built from the
vectors, index_bytes of that index's files) plus passages_per_s. Smoke mode (plain pytest): 30 demo
passages, every body once.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")
pytest.importorskip("faiss")
pytest.importorskip("psutil")

from benchmarks import peer_pipelines as peers  # noqa: E402
from benchmarks.e2e_setup import (  # noqa: E402
    E2E_HNSW,
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
from engine.build import build_index  # noqa: E402
from engine.encoder import Encoder  # noqa: E402
from export.default_bundle import make_default_bundle  # noqa: E402

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("same_threads")]

SMOKE_PASSAGES = 30
ROUNDS = 3


@dataclass
class Builder:
    name: str
    encode: Callable[[], np.ndarray]  # the corpus texts -> vectors
    insert: Callable[[np.ndarray, Path], object]  # vectors, a fresh path to write at (if it writes) -> index
    build: Callable[[Path], object]  # the corpus -> an index saved at a fresh path
    vectors: np.ndarray  # encode()'s output, made once for the insertion benchmark
    recall: float
    index_bytes: int


@pytest.fixture(scope="module")
def corpus(pytestconfig) -> BenchCorpus:
    return load_bench_corpus(pytestconfig,
                             bench_size(pytestconfig, "ENGINE_BENCH_BUILD_PASSAGES", 2000, SMOKE_PASSAGES))


def write_corpus_jsonl(corpus: BenchCorpus, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for p in corpus.passages:
            handle.write(json.dumps({"id": p.id, "lang": p.lang, "title": p.title, "text": p.text},
                                    ensure_ascii=False) + "\n")
    return path


def engine_builder(corpus: BenchCorpus, folder: Path) -> Builder:
    encoder = Encoder(make_default_bundle(), device="cpu", intra_op_threads=E2E_THREADS)
    corpus_file = write_corpus_jsonl(corpus, folder / "corpus.jsonl")
    model = engine_model_info(encoder)

    def encode():
        return encoder.encode_passages(corpus.texts)

    def insert(vectors, target):
        return index_dir.create(target, corpus.passages, vectors, model, E2E_HNSW, insert_threads=E2E_THREADS)

    def build(target):
        return build_index(corpus_file, encoder, target, E2E_HNSW, quiet=True)

    vectors = encode()
    index = insert(vectors, folder / "index")
    recall = engine_recall(index, encoder.encode_queries(corpus.queries))
    return Builder("engine", encode, insert, build, vectors, recall, disk_bytes(folder / "index"))


def faiss_builder(corpus: BenchCorpus, folder: Path) -> Builder:
    from export.base_models import resolve_base_model

    encoder = peers.StEncoder(resolve_base_model("default"))

    def encode():
        return encoder.encode_passages(corpus.texts)

    def insert(vectors, target):
        graph = peers.FaissHnsw(vectors.shape[1], E2E_HNSW)
        graph.add(vectors)
        return graph

    def build(target):
        graph = insert(encode(), target)
        target.mkdir()
        graph.save(target / "index.faiss")
        peers.MetadataList(corpus.passages).save(target / "metadata.jsonl")
        return graph

    vectors = encode()
    graph = insert(vectors, None)
    recall = peer_recall(graph, vectors, encoder.encode_queries(corpus.queries))
    return Builder("st-faiss", encode, insert, build, vectors, recall, graph.save(folder / "index.faiss"))


@pytest.fixture(scope="module", params=["engine", "st-faiss"])
def builder(request, corpus, tmp_path_factory) -> Builder:
    make = engine_builder if request.param == "engine" else faiss_builder
    return make(corpus, tmp_path_factory.mktemp(f"build-{request.param}"))


@pytest.fixture
def fresh_path(tmp_path_factory):
    """A new, not yet existing path per call: each round builds from scratch."""
    return lambda: tmp_path_factory.mktemp("round") / "index"


def record(benchmark, builder: Builder, corpus: BenchCorpus) -> None:
    count = len(corpus.passages)
    benchmark.extra_info.update(e2e_info(builder.name, "passages", count, builder.recall, builder.index_bytes,
                                         corpus))
    if benchmark.stats:
        benchmark.extra_info["passages_per_s"] = round(count / benchmark.stats.stats.median, 2)


def test_encode(benchmark, builder, corpus):
    benchmark.group = f"build encode (n={len(corpus.passages)})"
    vectors = benchmark.pedantic(builder.encode, rounds=ROUNDS, iterations=1)
    assert vectors.shape == builder.vectors.shape
    record(benchmark, builder, corpus)


def test_graph_insert(benchmark, builder, corpus, fresh_path):
    benchmark.group = f"build graph insert (n={len(corpus.passages)})"
    benchmark.pedantic(builder.insert, setup=lambda: ((builder.vectors, fresh_path()), {}), rounds=ROUNDS)
    record(benchmark, builder, corpus)


def test_build_total(benchmark, builder, corpus, fresh_path):
    benchmark.group = f"build total (n={len(corpus.passages)})"
    benchmark.pedantic(builder.build, setup=lambda: ((fresh_path(),), {}), rounds=ROUNDS)
    record(benchmark, builder, corpus)
