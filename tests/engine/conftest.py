import numpy as np
import pytest

from engine import graph_layout
from engine import index as index_files
from engine.build import build_index
from engine.corpus import Passage
from engine.encoder import Encoder
from engine.index import HnswParams, ModelInfo
from tests.service_runs import corpus_records, write_corpus

LANGS = ("en", "de", "sw", "yo")


def random_unit_vectors(count: int, dimension: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_passages(count: int, start: int = 0, langs=LANGS) -> list[Passage]:
    return [
        Passage(id=f"p{i}", text=f"passage number {i}", title=f"title {i}", lang=langs[i % len(langs)],
                extra={"n": i})
        for i in range(start, start + count)
    ]


def model_info(dimension: int, fingerprint: str = "f" * 64) -> ModelInfo:
    return ModelInfo(fingerprint=fingerprint, source_model="random vectors", variant="fp32",
                     dimension=dimension, bundle="none")


@pytest.fixture
def small_index(tmp_path):
    """400 random 16-d vectors in four languages, with their passages."""
    vectors = random_unit_vectors(400, 16, seed=1)
    passages = make_passages(400)
    index = index_files.create(tmp_path / "index", passages, vectors, model_info(16), HnswParams(M=16))
    return index, passages, vectors


def file_labels(path):
    """The label of each node, in node order, read from an hnswlib index file."""
    raw = path.read_bytes()
    fields = graph_layout.HEADER.unpack_from(raw, 0)
    count, block_size, label_offset = fields[2], fields[3], fields[4]
    return [int.from_bytes(raw[graph_layout.HEADER.size + node * block_size + label_offset:][:8], "little")
            for node in range(count)]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, tiny_bundle):
    """240 passages in 4 languages (tests.service_runs.corpus_records), indexed with the tiny bundle (int8)."""
    root = tmp_path_factory.mktemp("served")
    corpus = write_corpus(root / "corpus.jsonl", corpus_records(240))
    build_index(corpus, Encoder(tiny_bundle, variant="int8", intra_op_threads=1), root / "index",
                HnswParams(M=16), quiet=True)
    return root / "index"
