"""The search layer on real collections: the engine against raw hnswlib and faiss HNSW on the
XQuAD-R multilingual pool (all 11 languages' candidates in one index, 13,014 sentence+context
candidates, queried by the questions of every language) and MIRACL Yoruba (49,043 title+text
passages, 119 dev queries), embedded by the default model: build, queries per second at the ef giving
recall@10 >= 0.90 / 0.93 / 0.95 / 0.97 / 0.99 against exact search, memory per vector, size on disk.

The vectors come through `engine eval`'s loader and embedding cache (engine.evaluation.evaluate):
a cache hit after any `engine eval xquad-r` / `engine eval miracl --langs yo` with the same model;
otherwise they are encoded once (minutes) and cached. Half of each collection's queries, shuffled
with a fixed seed, calibrate ef; up to 512 of the other half are timed.

Run (ENGINE_DATA_DIR must hold xquad-r/ and miracl/, else skipped; with the embeddings cached, ~2 min
on the 2-core VM: ~20 s measured for the XQuAD-R pool, MIRACL Yoruba estimated from its size):
  ENGINE_DATA_DIR=/work/shared/data .venv/bin/python -m pytest benchmarks/test_real_collections.py \
      --benchmark-enable --benchmark-group-by=group --benchmark-json=real.json
Groups: "real xquad-r pool build n=13014", "real xquad-r pool n=13014 recall>=0.95 batch=64", and
the same for "real miracl-yo" (its timed batch is its 60 test queries). HNSW: the engine's defaults
(M=32, ef_construction=200) for all three. Targets as in test_scale.py. In smoke mode
(--benchmark-disable) each collection is a 600-vector synthetic stand-in, so CI needs neither data nor model.
"""

import os

import pytest

pytest.importorskip("faiss")
pytest.importorskip("psutil")

from benchmarks.ann_systems import SYSTEMS, Collection, build_benchmark, search_benchmark, synthetic_passages  # noqa: E402
from benchmarks.ef_calibration import RECALL_TARGETS  # noqa: E402
from benchmarks.real_collections import COLLECTIONS, load_embeddings, split_queries  # noqa: E402
from benchmarks.run_mode import smoke_mode  # noqa: E402
from benchmarks.vectors import unit_vectors  # noqa: E402
from engine.corpus import Passage  # noqa: E402
from engine.errors import EngineError  # noqa: E402
from engine.index import HnswParams  # noqa: E402

STAND_IN_VECTORS = 600
STAND_IN_QUERIES = 128


@pytest.fixture(scope="module", params=list(COLLECTIONS), ids=lambda label: label.replace(" ", "-"))
def collection(request, pytestconfig, tmp_path_factory) -> Collection:
    label = request.param
    directory = tmp_path_factory.mktemp(label.replace(" ", "-"))
    if smoke_mode(pytestconfig):
        return _stand_in(label, directory)
    return _real(label, directory)


@pytest.mark.parametrize("system", SYSTEMS)
def test_real_build(benchmark, collection, system):
    build_benchmark(benchmark, collection, system)


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("target", RECALL_TARGETS)
def test_real_search(benchmark, collection, system, target):
    search_benchmark(benchmark, collection, system, target)


def _stand_in(label: str, directory) -> Collection:
    calibration, test = split_queries(unit_vectors(STAND_IN_QUERIES, seed=1))
    return Collection(f"real {label}", unit_vectors(STAND_IN_VECTORS, seed=0), calibration, test, HnswParams(),
                      directory, lambda: synthetic_passages(STAND_IN_VECTORS), source="synthetic stand-in (smoke mode)")


def _real(label: str, directory) -> Collection:
    name, languages = COLLECTIONS[label]
    if not os.environ.get("ENGINE_DATA_DIR"):
        pytest.skip(f"{name}: set ENGINE_DATA_DIR to the evaluation data dir (it holds xquad-r/ and miracl/)")
    try:
        queries, candidates, texts, langs, text_variant = load_embeddings(name, languages)
    except EngineError as err:
        pytest.skip(f"{name}: its data is not under ENGINE_DATA_DIR={os.environ['ENGINE_DATA_DIR']}: {err}")
    calibration, test = split_queries(queries)
    passages = [Passage(id=str(row), text=text, lang=lang) for row, (text, lang) in enumerate(zip(texts, langs))]
    return Collection(f"real {label}", candidates, calibration, test, HnswParams(), directory, lambda: passages,
                      source=f"{name} {text_variant} embeddings of the default model (engine eval's cache)")
