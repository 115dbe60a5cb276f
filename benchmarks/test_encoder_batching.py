"""`build-index` throughput with the encoder's token-budget batching against fixed batches of 32.

Each collection is a seeded sample of real passages written as a JSONL corpus and built with
engine.build.build_index (encoding, graph insertion, metadata, swap: what `engine build-index` runs),
once with `Encoder(token_budget=0)` (fixed batches of 32 length-sorted texts, the encoder's batching
before issue 13) and once with the default (at most 32 texts and 1024 padded tokens per batch).
Collections: the XQuAD-R pool (sentence+context candidates of all 11 languages, ~260 tokens) and
MIRACL Yoruba (title+text passages). One ONNX Runtime thread for encoding and insertion.

Run (ENGINE_DATA_DIR must hold xquad-r/ and miracl/; about 6 minutes on 2 cores at the default size):
  OMP_NUM_THREADS=1 ENGINE_DATA_DIR=../shared/data .venv/bin/python -m pytest \
      benchmarks/test_encoder_batching.py --benchmark-enable --benchmark-json=batching.json
ENGINE_BENCH_BATCHING_PASSAGES (default 1000) passages per collection. extra_info: passages_per_s and,
for the token budget, its speed-up over fixed batches measured in the same run.
In smoke mode (--benchmark-disable) the demo corpus is built once each way with the tiny bundle.
"""

import os

import pytest

from benchmarks.corpus_samples import sample_corpus
from benchmarks.run_mode import smoke_mode
from engine.build import build_index
from engine.encoder import Encoder
from engine.index import HnswParams
from engine.machine import machine

THREADS = 1
BATCHINGS = {"fixed-32": 0, "token-budget-1024": None}  # Encoder token_budget (None: the CPU default)
COLLECTIONS = {"xquad-r pool": ("xquad-r", None), "miracl-yo": ("miracl", ["yo"])}
SECONDS: dict[tuple[str, str], float] = {}  # (collection, batching) -> median, for the ratio


@pytest.fixture(scope="module", params=list(COLLECTIONS))
def corpus(request, pytestconfig, tmp_path_factory):
    """(label, corpus file, bundle) at the run's size."""
    from engine.demo_data import demo_file
    from export.bundle_writer import export_bundle
    from export.default_bundle import make_default_bundle
    from tests.conftest import build_tiny_model_dir

    if smoke_mode(pytestconfig):
        tiny = build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model"))
        bundle = export_bundle(tiny, tmp_path_factory.mktemp("tiny-bundle") / "bundle", quantize=(), quiet=True)
        return request.param, demo_file("corpus.jsonl"), bundle
    count = int(os.environ.get("ENGINE_BENCH_BATCHING_PASSAGES", "1000"))
    path = tmp_path_factory.mktemp("batching") / "corpus.jsonl"
    name, languages = COLLECTIONS[request.param]
    return request.param, sample_corpus(name, languages, path, count), make_default_bundle()


@pytest.mark.parametrize("batching", list(BATCHINGS))
def test_build_index_batching(benchmark, corpus, batching, tmp_path_factory):
    label, corpus_file, bundle = corpus
    encoder = Encoder(bundle, device="cpu", intra_op_threads=THREADS, token_budget=BATCHINGS[batching])
    built = []

    def build():
        built.append(build_index(corpus_file, encoder, tmp_path_factory.mktemp("index") / "index",
                                 HnswParams(), quiet=True))

    benchmark.group = f"build-index {label}"
    benchmark.pedantic(build, rounds=1, iterations=1)
    passages = built[-1].index.count
    benchmark.extra_info.update({**machine(), "threads": THREADS, "batching": batching, "passages": passages,
                                 "token_budget": encoder.token_budget, "max_batch": encoder.batch_size})
    if benchmark.stats is not None:
        seconds = benchmark.stats.stats.median
        SECONDS[(label, batching)] = seconds
        benchmark.extra_info["passages_per_s"] = passages / seconds
        fixed = SECONDS.get((label, "fixed-32"))
        if batching != "fixed-32" and fixed:
            benchmark.extra_info["speedup_vs_fixed_batches"] = fixed / seconds
