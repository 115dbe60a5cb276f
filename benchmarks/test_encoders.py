"""Encoders side by side: the engine's ONNX bundle (fp32, int8) against torch fp32 and
sentence-transformers (torch, and its own ONNX int8 backend), on the same model and threads.

Run (full size, the default model; see docs/benchmarks/encoders.md):
  OMP_NUM_THREADS=1 pytest benchmarks/test_encoders.py --benchmark-enable --benchmark-group-by=group
ENGINE_BENCH_THREADS=N (default 1) sets every system's intra-op threads; with N > 1 also export
OMP_NUM_THREADS=N and OMP_WAIT_POLICY=PASSIVE (torch's OpenMP spin-waits otherwise).
Targets (issue 3): int8 encodes passages >= 1.5x and answers a single query >= 2x faster than
torch fp32, and is not slower than sentence-transformers' ONNX int8. sentence-transformers runs as
users call it (its own length sort) and, as st-onnx-int8-engine-batches, on the engine's batches.
Issue 2: pooling in the graph vs the engine's Numba kernel (onnx-int8-graph-pool vs onnx-int8, and
the pooling step alone). In smoke mode (--benchmark-disable) everything runs once on a tiny random model.
Tables and ratios for the docs: python -m benchmarks.encoder_report RESULTS.json
"""

import itertools
import os

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentence_transformers")
pytest.importorskip("optimum.onnxruntime")

import onnxruntime as ort  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

from benchmarks import encoder_systems as systems  # noqa: E402
from benchmarks.graph_pooling import MASK, OUTPUT, in_graph_pooling_bundle, pooling_graph  # noqa: E402
from benchmarks.run_mode import smoke_mode  # noqa: E402
from engine import kernels  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.corpus import read_corpus  # noqa: E402
from engine.demo_data import demo_file, read_demo_queries  # noqa: E402
from engine.machine import machine  # noqa: E402

THREADS = int(os.environ.get("ENGINE_BENCH_THREADS", "1"))
PASSAGE_ROUNDS = 3
PARITY_TEXTS = 64


def thread_settings() -> dict:
    return {**machine(), "threads": THREADS,
            "TOKENIZERS_PARALLELISM": os.environ.get("TOKENIZERS_PARALLELISM", "unset")}


@pytest.fixture(scope="session", autouse=True)
def bench_threads():
    """THREADS for torch; tokenisation single-threaded too when THREADS is 1 (ORT gets it per session)."""
    import torch

    torch.set_num_threads(THREADS)
    with pytest.MonkeyPatch.context() as patch:
        if THREADS == 1:
            patch.setenv("TOKENIZERS_PARALLELISM", "false")
        yield


@pytest.fixture(scope="session")
def encoder_model_dir(pytestconfig, tmp_path_factory):
    """The tiny random BERT (with sentence-transformers files) in smoke mode, else the default model."""
    if smoke_mode(pytestconfig):
        from transformers import AutoConfig

        from export.model_settings import read_settings
        from export.sentence_transformers_files import write_sentence_transformers_files
        from tests.conftest import build_tiny_model_dir

        model_dir = build_tiny_model_dir(tmp_path_factory.mktemp("tiny-encoder"))
        write_sentence_transformers_files(model_dir, read_settings(model_dir),
                                          AutoConfig.from_pretrained(model_dir).hidden_size)
        return model_dir
    from export.base_models import resolve_base_model

    return resolve_base_model("default")


@pytest.fixture(scope="session")
def encoder_bundle(pytestconfig, encoder_model_dir, tmp_path_factory):
    if smoke_mode(pytestconfig):
        from export.bundle_writer import export_bundle

        return load_bundle(export_bundle(encoder_model_dir, tmp_path_factory.mktemp("bundle") / "tiny",
                                         quantize=("int8",), quiet=True))
    from export.default_bundle import make_default_bundle

    return load_bundle(make_default_bundle())


@pytest.fixture(scope="session")
def graph_pooling_bundle(encoder_bundle, tmp_path_factory):
    return in_graph_pooling_bundle(encoder_bundle, tmp_path_factory.mktemp("graph-pool") / "bundle")


def recipe_bundle(recipe_name: str):
    """A fixture: the model's bundle with its int8 variant made by one recipe of export.onnx_export's
    INT8_RECIPES (fine-tuned models need the later ones to pass the parity gate; the speed is the recipe's)."""
    @pytest.fixture(scope="session")
    def bundle(encoder_model_dir, tmp_path_factory):
        from export.bundle_writer import export_bundle
        from export.onnx_export import INT8_RECIPES

        recipe = next(recipe for recipe in INT8_RECIPES if recipe.name == recipe_name)
        made = load_bundle(export_bundle(encoder_model_dir, tmp_path_factory.mktemp("recipe") / recipe_name,
                                         quiet=True, force=True, int8_recipes=(recipe,)))
        assert made.manifest["variants"]["int8"]["recipe"] == recipe_name
        return made
    return bundle


ffn_output_fp32_bundle = recipe_bundle("ffn-output-fp32")
ffn_output_and_value_fp32_bundle = recipe_bundle("ffn-output-and-value-fp32")


@pytest.fixture(scope="session")
def st_onnx_dir(encoder_model_dir, tmp_path_factory):
    return systems.export_st_onnx_int8(encoder_model_dir, tmp_path_factory.mktemp("st-onnx") / "model")


@pytest.fixture(scope="session")
def passages():
    return [passage.text for passage in read_corpus(demo_file("corpus.jsonl"))]


@pytest.fixture(scope="session")
def queries():
    return [question for _, _, question in read_demo_queries()]


@pytest.fixture(scope="session")
def reference(encoder_model_dir, encoder_bundle, passages, queries):
    """torch fp32 vectors of every passage and query: what each system's mean cosine is taken against."""
    encode = systems.torch_fp32(encoder_model_dir)
    return {"passages": encode(passages, encoder_bundle.passage_prefix),
            "queries": encode(queries, encoder_bundle.query_prefix)}


# name -> builder(getfixturevalue) -> encode(texts, prefix)
SYSTEMS = {
    "torch-fp32": lambda get: systems.torch_fp32(get("encoder_model_dir")),
    "st-torch": lambda get: systems.st_torch(get("encoder_model_dir")),
    "onnx-fp32": lambda get: systems.engine_encode(get("encoder_bundle"), "fp32", THREADS),
    "onnx-int8": lambda get: systems.engine_encode(get("encoder_bundle"), "int8", THREADS),
    "onnx-int8-ffn-output-fp32": lambda get: systems.engine_encode(get("ffn_output_fp32_bundle"), "int8", THREADS),
    "onnx-int8-ffn-output-and-value-fp32":
        lambda get: systems.engine_encode(get("ffn_output_and_value_fp32_bundle"), "int8", THREADS),
    "onnx-int8-graph-pool": lambda get: systems.engine_encode(get("graph_pooling_bundle"), "int8", THREADS),
    "st-onnx-int8": lambda get: systems.st_onnx_int8(get("st_onnx_dir"), THREADS),
    "st-onnx-int8-engine-batches": lambda get: systems.st_onnx_int8(get("st_onnx_dir"), THREADS, engine_batches=True),
}


@pytest.fixture(scope="session", params=list(SYSTEMS))
def system(request):
    """(name, encode); session-scoped per name so pytest keeps one model loaded at a time."""
    return request.param, SYSTEMS[request.param](request.getfixturevalue)


def _cosines(vectors: np.ndarray, expected: np.ndarray) -> dict:
    cosines = np.sum(vectors * expected, axis=1)
    return {"mean_cosine_vs_torch_fp32": round(float(cosines.mean()), 6),
            "min_cosine_vs_torch_fp32": round(float(cosines.min()), 6)}


def test_passage_throughput(benchmark, system, passages, encoder_bundle, reference):
    """All demo passages (12 languages), batches of 32: one round encodes the whole corpus."""
    _, encode = system
    benchmark.group = f"encoders: {len(passages)} passages, batch {systems.BATCH_SIZE}, threads={THREADS}"
    vectors = benchmark.pedantic(encode, (passages, encoder_bundle.passage_prefix),
                                 rounds=PASSAGE_ROUNDS, warmup_rounds=1)
    benchmark.extra_info.update(thread_settings())
    benchmark.extra_info.update(_cosines(vectors, reference["passages"]))
    if benchmark.stats:
        benchmark.extra_info["passages_per_s"] = round(len(passages) / benchmark.stats.stats.median, 2)


def test_single_query_latency(benchmark, system, queries, encoder_bundle, reference):
    """One question per call, cycling through the demo questions (12 languages)."""
    _, encode = system
    prefix = encoder_bundle.query_prefix
    benchmark.group = f"encoders: single query, threads={THREADS}"
    encode(queries[:1], prefix)  # first calls pay one-off allocations
    cursor = itertools.cycle(queries)
    benchmark(lambda: encode([next(cursor)], prefix))
    vectors = np.concatenate([encode([query], prefix) for query in queries])
    benchmark.extra_info.update(thread_settings())
    benchmark.extra_info.update(_cosines(vectors, reference["queries"]))
    if benchmark.stats:
        benchmark.extra_info["queries_per_s"] = round(1 / benchmark.stats.stats.median, 2)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_graph_pooling_matches_engine_pooling(encoder_bundle, graph_pooling_bundle, passages, queries, variant):
    texts = passages[:PARITY_TEXTS] + queries
    kernel = systems.engine_encode(encoder_bundle, variant, THREADS)(texts, encoder_bundle.passage_prefix)
    in_graph = systems.engine_encode(graph_pooling_bundle, variant, THREADS)(texts, encoder_bundle.passage_prefix)
    assert np.sum(kernel * in_graph, axis=1).min() > 0.9999


@pytest.fixture(scope="session")
def first_batch_states(encoder_bundle, passages):
    """Random token states shaped like a batch of the first 32 demo passages (their real token counts)."""
    tokenizer = Tokenizer.from_file(str(encoder_bundle.tokenizer_file()))
    batch = [encoder_bundle.passage_prefix + text for text in passages[:systems.BATCH_SIZE]]
    lengths = np.array([len(encoding.ids) for encoding in tokenizer.encode_batch(batch)])
    mask = (np.arange(lengths.max())[None, :] < lengths[:, None]).astype(np.int64)
    hidden = np.random.default_rng(0).standard_normal((*mask.shape, encoder_bundle.dimension)).astype(np.float32)
    return hidden, mask


def _pooling_step(implementation: str, dimension: int):
    if implementation == "numba-kernel":
        return lambda hidden, mask: kernels.pool(hidden, mask, "mean", True)
    token_sum = implementation.removeprefix("onnx-")
    session = ort.InferenceSession(pooling_graph(dimension, token_sum).SerializeToString(),
                                   systems.session_options(THREADS), providers=[systems.CPU])
    return lambda hidden, mask: session.run([OUTPUT], {"hidden": hidden, MASK: mask})[0][:, 0]


@pytest.mark.parametrize("implementation", ["numba-kernel", "onnx-matmul", "onnx-mul-reducesum"])
def test_pooling_step(benchmark, implementation, first_batch_states, encoder_bundle):
    """Mean pooling + L2 alone, on token states shaped like a real passage batch."""
    hidden, mask = first_batch_states
    benchmark.group = f"pooling step: {'x'.join(map(str, hidden.shape))} token states, threads={THREADS}"
    pool = _pooling_step(implementation, encoder_bundle.dimension)
    pooled = benchmark(pool, hidden, mask)
    benchmark.extra_info.update(thread_settings())
    assert np.allclose(pooled, kernels.pool_numpy(hidden, mask, "mean", True), atol=1e-5)
