"""What users would otherwise write for multilingual search, as benchmarks/test_end_to_end.py and
test_index_build.py compare it with the engine: sentence-transformers (torch, CPU) for the
embeddings, faiss IndexHNSWFlat or hnswlib for the graph, a Python list of dicts for the metadata.

Each piece does one job; PeerPipeline joins them into search(texts, k) -> rows of PeerHit
(id, score, lang, title, text), the fields the engine's hits carry. Threads: torch and faiss take
theirs process-wide (torch.set_num_threads, faiss.omp_set_num_threads), hnswlib per index.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import faiss
import hnswlib
import numpy as np

from engine.index import HnswParams
from export.model_settings import read_settings

BATCH_SIZE = 32  # the engine encoder's default batch size


class PeerHit(NamedTuple):
    id: str
    score: float
    lang: str
    title: str
    text: str


class StEncoder:
    """SentenceTransformer on the CPU, with the model's query and passage prefixes as prompts."""

    def __init__(self, model_dir: Path):
        from sentence_transformers import SentenceTransformer

        settings = read_settings(model_dir)
        self.query_prefix, self.passage_prefix = settings.query_prefix, settings.passage_prefix
        self.model = SentenceTransformer(str(model_dir), device="cpu")

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        return self.model.encode(texts, prompt=prompt, batch_size=BATCH_SIZE, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)


class FaissHnsw:
    """faiss.IndexHNSWFlat over inner product; faiss returns the inner products as scores."""

    def __init__(self, dimension: int, params: HnswParams):
        self.index = faiss.IndexHNSWFlat(dimension, params.M, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = params.ef_construction
        self.index.hnsw.efSearch = params.ef_search

    def add(self, vectors: np.ndarray) -> None:
        self.index.add(vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, labels = self.index.search(queries, k)
        return labels, scores

    def save(self, path: Path) -> int:
        faiss.write_index(self.index, str(path))
        return path.stat().st_size


class HnswlibGraph:
    """hnswlib.Index(space="ip"); its distance is 1 - inner product."""

    def __init__(self, dimension: int, params: HnswParams, threads: int, capacity: int):
        self.index = hnswlib.Index(space="ip", dim=dimension)
        self.index.init_index(max_elements=capacity, M=params.M, ef_construction=params.ef_construction)
        self.index.set_ef(params.ef_search)
        self.index.set_num_threads(threads)

    def add(self, vectors: np.ndarray) -> None:
        start = self.index.get_current_count()
        self.index.add_items(vectors, np.arange(start, start + len(vectors)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        labels, distances = self.index.knn_query(queries, k=k)
        return labels, 1.0 - distances

    def save(self, path: Path) -> int:
        self.index.save_index(str(path))
        return path.stat().st_size


def new_graph(system: str, dimension: int, params: HnswParams, threads: int, capacity: int):
    """The graph of a peer system by its benchmark name: st-faiss or st-hnswlib."""
    if system == "st-faiss":
        return FaissHnsw(dimension, params)
    if system == "st-hnswlib":
        return HnswlibGraph(dimension, params, threads, capacity)
    raise ValueError(f"unknown peer system {system!r}")


class MetadataList:
    """One dict per passage, in graph label order."""

    def __init__(self, passages):
        self.rows = [{"id": p.id, "lang": p.lang, "title": p.title, "text": p.text} for p in passages]

    def hits(self, labels: np.ndarray, scores: np.ndarray) -> list[list[PeerHit]]:
        return [[self._hit(label, score) for label, score in zip(label_row, score_row)]
                for label_row, score_row in zip(labels.tolist(), scores.tolist())]

    def _hit(self, label: int, score: float) -> PeerHit:
        row = self.rows[label]
        return PeerHit(row["id"], score, row["lang"], row["title"], row["text"])

    def save(self, path: Path) -> int:
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in self.rows)
        return path.stat().st_size


class PeerPipeline:
    """Query texts -> sentence-transformers -> graph -> metadata rows."""

    def __init__(self, encoder: StEncoder, graph, metadata: MetadataList):
        self.encoder, self.graph, self.metadata = encoder, graph, metadata

    def search(self, texts: list[str], k: int) -> list[list[PeerHit]]:
        labels, scores = self.graph.search(self.encoder.encode_queries(texts), k)
        return self.metadata.hits(labels, scores)
