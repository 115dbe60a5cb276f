"""Encoding throughput on Ray Data (1 and 2 actors of one CPU each) against the in-process encoder
(1 and 2 ONNX Runtime threads), on the same corpus and bundle, in one run; Ray's own overhead shows as
the ratio of the 1-actor run to the in-process 1-thread run.

The corpus is 1,000 MIRACL Yoruba passages (title + text, seed 0), encoded as passages with the default
int8 bundle; a Ray run includes starting its actors and loading the bundle in each (what a build pays),
not starting the cluster (a local one with 2 CPUs, started once by the module).

Run (ENGINE_DATA_DIR must hold miracl/; about 4 minutes on 2 cores):
  .venv/bin/python -m pytest benchmarks/test_ray_encoding.py --benchmark-enable --benchmark-json=ray.json
ENGINE_BENCH_RAY_PASSAGES (default 1000). extra_info: passages_per_s and the ratio to in-process 1 thread.
In smoke mode the tiny bundle encodes the demo corpus.
"""

import os

import pytest

from benchmarks.corpus_samples import sample_corpus
from benchmarks.run_mode import smoke_mode
from engine.corpus import passage_text, read_corpus
from engine.encoder import Encoder
from engine.machine import machine

RUNS = {"in-process, 1 thread": (None, 1), "in-process, 2 threads": (None, 2), "ray, 1 actor": (1, 1),
        "ray, 2 actors": (2, 1)}  # name -> (actors or None, threads each)
SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module")
def workload(pytestconfig, tmp_path_factory):
    """(texts, bundle)."""
    from engine.demo_data import demo_file
    from export.bundle_writer import export_bundle
    from export.default_bundle import make_default_bundle
    from tests.conftest import build_tiny_model_dir

    root = tmp_path_factory.mktemp("ray-bench")
    if smoke_mode(pytestconfig):
        bundle = export_bundle(build_tiny_model_dir(root / "tiny-model"), root / "tiny", quiet=True)
        corpus = demo_file("corpus.jsonl")
    else:
        count = int(os.environ.get("ENGINE_BENCH_RAY_PASSAGES", "1000"))
        corpus, bundle = sample_corpus("miracl", ["yo"], root / "corpus.jsonl", count), make_default_bundle()
    return [passage_text(passage) for passage in read_corpus(corpus)], bundle


@pytest.fixture(scope="module")
def ray_cluster():
    from tests.ray_cluster import local_ray_cluster

    with local_ray_cluster() as ray:
        yield ray


@pytest.mark.parametrize("run", list(RUNS))
def test_encoding_throughput(benchmark, workload, ray_cluster, run):
    from engine.scale.encode import RayEncoding, encode_with_ray

    texts, bundle = workload
    actors, threads = RUNS[run]
    encoder = Encoder(bundle, device="cpu", intra_op_threads=threads)
    prefix = encoder.bundle.passage_prefix
    if actors is None:
        call = lambda: encoder.encode(texts, prefix)  # noqa: E731
    else:
        settings = RayEncoding(actors=actors, cpus_per_actor=threads, rows_per_batch=100)
        call = lambda: encode_with_ray(texts, encoder, settings, prefix)  # noqa: E731
    benchmark.group = "encoding passages: in-process against Ray Data"
    benchmark.pedantic(call, rounds=1, iterations=1)
    benchmark.extra_info.update({**machine(), "run": run, "passages": len(texts), "threads_each": threads,
                                 "actors": actors or 0})
    if benchmark.stats is not None:
        seconds = SECONDS[run] = benchmark.stats.stats.median
        benchmark.extra_info["passages_per_s"] = len(texts) / seconds
        if "in-process, 1 thread" in SECONDS:
            benchmark.extra_info["speedup_vs_in_process_1_thread"] = SECONDS["in-process, 1 thread"] / seconds
