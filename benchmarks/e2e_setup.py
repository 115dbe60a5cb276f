"""Shared set-up of the end-to-end suites (test_end_to_end.py, test_index_build.py): the corpus and
questions, thread and HNSW settings, recall, and the extra_info every benchmark there records."""

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.memory import rss_mb
from benchmarks.run_mode import smoke_mode
from benchmarks.vectors import exact_top, recall_at_k
from engine.corpus import Passage, passage_text, read_corpus
from engine.demo_data import demo_file, read_demo_queries
from engine.evaluation.lareqa import XQUAD_R_LANGUAGES, read_lareqa_file
from engine.index import HnswParams, ModelInfo
from engine.machine import machine

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


def e2e_info(system: str, unit: str, items_per_call: int, recall: float, index_bytes: int,
             corpus: BenchCorpus) -> dict:
    """The extra_info every end-to-end and build benchmark carries (a report reads these keys).
    rss_mb is this whole pytest process's, read after the benchmark."""
    return {**machine(), "system": system, "unit": unit, "items_per_call": items_per_call,
            "recall@10": round(recall, 4), "rss_mb": rss_mb(),
            "index_bytes": index_bytes, "threads": E2E_THREADS, "corpus": corpus.name,
            "passages": len(corpus.passages)}
