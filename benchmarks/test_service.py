"""`engine serve` under load: QPS, p50 / p99 latency and errors at concurrency 1, 8, 32 and 64, with
micro-batching (the defaults: at most 32 texts, no wait: what has queued while the previous batch was
encoded), with micro-batching and a 2 ms wait, and without it (--max-batch 1, every request encoded
and searched alone), against one server each; and one query over
HTTP against the same query through the in-process Searcher.

The server runs the default int8 bundle over the demo index (456 passages, 12 languages) with one ONNX
Runtime thread; the load generator (benchmarks/load.py: asyncio + httpx, one query of the 16 demo
questions per request, k=10, no text) runs in this process on the same machine, so client and server
share its cores. Every load run is bounded: ENGINE_BENCH_LOAD_SECONDS (default 30) and 100,000 requests.

Run (about 7 minutes on 2 cores):
  .venv/bin/python -m pytest benchmarks/test_service.py --benchmark-enable --benchmark-json=service.json
extra_info: qps, p50_ms, p99_ms, errors and the status counts; with micro-batching, its QPS ratio to the
run without it at the same concurrency (measured in the same session). In smoke mode the tiny bundle
serves the demo corpus and each load run lasts 1 s.
"""

import os
from dataclasses import asdict

import httpx
import pytest

from benchmarks.load import run_load
from benchmarks.run_mode import smoke_mode
from engine.build import build_index
from engine.demo_data import demo_file, read_demo_queries
from engine.encoder import Encoder
from engine.index import open_index
from engine.machine import machine
from engine.search import Searcher
from tests.service_runs import running_server

SERVER_THREADS = 1
CONCURRENCY = (1, 8, 32, 64)
MAX_REQUESTS = 100_000
BATCHINGS = {"one-by-one": ["--max-batch", "1"], "micro-batching": [], "micro-batching-wait-2ms": ["--max-wait-ms", "2"]}
QPS: dict[tuple[str, int], float] = {}
QUESTIONS = [question for _, _, question in read_demo_queries()]


@pytest.fixture(scope="module")
def demo_index(pytestconfig, tmp_path_factory):
    """(index dir, bundle) of the demo corpus: the default bundle, or the tiny one in smoke mode."""
    from export.bundle_writer import export_bundle
    from export.default_bundle import make_default_bundle
    from tests.conftest import build_tiny_model_dir

    root = tmp_path_factory.mktemp("service-bench")
    if smoke_mode(pytestconfig):
        bundle = export_bundle(build_tiny_model_dir(root / "tiny-model"), root / "tiny", quiet=True)
    else:
        bundle = make_default_bundle()
    encoder = Encoder(bundle, device="cpu", intra_op_threads=SERVER_THREADS)
    build_index(demo_file("corpus.jsonl"), encoder, root / "index", quiet=True)
    return root / "index", bundle


@pytest.fixture(scope="module")
def server(request, demo_index, tmp_path_factory):
    """(batching, running server) for the batching named by the test's indirect parameter."""
    with running_server(tmp_path_factory.mktemp("logs"), f"demo={demo_index[0]}", *BATCHINGS[request.param],
                        threads=SERVER_THREADS) as running:
        yield request.param, running


@pytest.mark.parametrize("server", list(BATCHINGS), indirect=True)
@pytest.mark.parametrize("concurrency", CONCURRENCY)
def test_search_under_load(benchmark, pytestconfig, server, concurrency):
    batching, running = server
    seconds = 1.0 if smoke_mode(pytestconfig) else float(os.environ.get("ENGINE_BENCH_LOAD_SECONDS", "30"))
    results = []
    benchmark.group = f"engine serve, concurrency {concurrency}"
    benchmark.pedantic(lambda: results.append(run_load(running.url, "demo", QUESTIONS, concurrency, seconds,
                                                       MAX_REQUESTS)), rounds=1, iterations=1)
    result = results[-1]
    assert result.requests > 0
    QPS[(batching, concurrency)] = result.qps
    benchmark.extra_info.update({**machine(), "server_threads": SERVER_THREADS, "batching": batching,
                                 "server_options": " ".join(BATCHINGS[batching]) or "defaults", **asdict(result)})
    alone = QPS.get(("one-by-one", concurrency))
    if batching != "one-by-one" and alone:
        benchmark.extra_info["qps_ratio_vs_one_by_one"] = result.qps / alone


@pytest.mark.parametrize("server", ["micro-batching"], indirect=True)
@pytest.mark.parametrize("path", ["http", "in-process"])
def test_one_query_over_http_and_in_process(benchmark, demo_index, server, path):
    _, running = server
    index_path, bundle = demo_index
    query = QUESTIONS[1]
    if path == "http":
        http = httpx.Client(base_url=running.url, timeout=30)
        call = lambda: http.post("/indexes/demo/search", json={"queries": [query], "k": 10})  # noqa: E731
    else:
        searcher = Searcher(open_index(index_path), Encoder(bundle, device="cpu", intra_op_threads=SERVER_THREADS))
        call = lambda: searcher.search([query], k=10)  # noqa: E731
    call()
    benchmark.group = "one query, k=10, text included"
    benchmark.extra_info.update({**machine(), "threads": SERVER_THREADS, "path": path})
    benchmark.pedantic(call, rounds=200, iterations=1, warmup_rounds=5)
    if path == "http":
        http.close()
