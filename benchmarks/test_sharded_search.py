"""Search latency of a 4-shard index against one index over the same vectors (engine.shards): the same
synthetic collection as benchmarks/test_scale.py (ENGINE_BENCH_SHARD_VECTORS, default 1M x 384, M=16,
ef_construction=100), the same 512 test queries, each searched at ef 32, 64 and 128, alone (batch 1)
and in batches of 64, with recall@10 against exact search beside every timing.

Systems: one index searched with 1 hnswlib thread, one index with as many threads as cores, and the
4-shard index, whose searcher asks its shards from a pool of min(shards, cores) threads (each shard one
hnswlib thread) and merges the top 10 by score.

Run (full size: about 12 minutes on the 2-core VM, ~7 GB of memory at the peak):
  .venv/bin/python -m pytest benchmarks/test_sharded_search.py --benchmark-enable \\
      --benchmark-json=sharded.json
extra_info: recall@10, queries per call, threads; the sharded rows add their time ratio to one index
with 1 thread and with every core, measured in the same run.
"""

import os

import numpy as np
import pytest

from benchmarks.run_mode import SMOKE_VECTORS, smoke_mode
from benchmarks.vectors import DIMENSION, exact_top, unit_vectors
from engine import index as index_files
from engine import shards
from engine.corpus import Passage
from engine.index import HnswParams, ModelInfo
from engine.machine import machine
from engine.search import Searcher

SHARDS = 4
QUERIES = 512
EFS = (32, 64, 128)
BATCHES = (1, 64)
CORES = os.cpu_count() or 1
SYSTEMS = {"one index, 1 thread": 1, f"one index, {CORES} threads": CORES, f"{SHARDS} shards": None}
SECONDS: dict[tuple, float] = {}


@pytest.fixture(scope="module")
def collection(pytestconfig, tmp_path_factory):
    """{system: Searcher}, test queries, exact top 10."""
    smoke = smoke_mode(pytestconfig)
    count = int(os.environ.get("ENGINE_BENCH_SHARD_VECTORS", SMOKE_VECTORS if smoke else 1_000_000))
    vectors = unit_vectors(count, seed=0)
    queries = unit_vectors(64 if smoke else QUERIES, seed=1)
    passages = [Passage(id=str(number), text="", lang="en") for number in range(count)]
    model = ModelInfo("bench" * 12 + "abcd", "synthetic vectors", "fp32", DIMENSION, "none")
    params = HnswParams(M=16, ef_construction=100, ef_search=64)
    root = tmp_path_factory.mktemp("sharded-bench")
    one = index_files.create(root / "one", passages, vectors, model, params)
    many = shards.create(root / "sharded", passages, vectors, model, params, SHARDS)
    searchers = {name: Searcher(many) if threads is None else Searcher(one, num_threads=threads)
                 for name, threads in SYSTEMS.items()}
    exact = exact_top(vectors, queries, 10)
    return searchers, queries, np.array([[str(label) for label in row] for row in exact]), count


@pytest.mark.parametrize("system", list(SYSTEMS))
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("ef", EFS)
def test_sharded_search(benchmark, collection, system, batch, ef):
    searchers, queries, exact, count = collection
    searcher = searchers[system]
    batches = [queries[start:start + batch] for start in range(0, len(queries), batch)]
    found = []

    def search_all():
        found.clear()
        for rows in batches:
            found.append(searcher.search_vectors(rows, k=10, ef=ef, with_text=False).ids)

    benchmark.group = f"sharded n={count} ef={ef} batch={batch}"
    benchmark.pedantic(search_all, rounds=3, iterations=1, warmup_rounds=1)
    ids = np.concatenate(found)
    benchmark.extra_info.update({**machine(), "system": system, "shards": SHARDS if SYSTEMS[system] is None else 1,
                                 "threads": SYSTEMS[system] or min(SHARDS, CORES), "queries": len(queries),
                                 "batch": batch, "ef": ef,
                                 "recall@10": float(np.mean([len(set(row) & set(truth)) / 10
                                                             for row, truth in zip(ids.tolist(), exact.tolist())]))})
    assert benchmark.extra_info["recall@10"] > 0
    if benchmark.stats is not None:
        SECONDS[(system, batch, ef)] = benchmark.stats.stats.median
        benchmark.extra_info["ms_per_query"] = 1000 * benchmark.stats.stats.median / len(queries)
        if SYSTEMS[system] is None:
            for baseline in list(SYSTEMS)[:2]:
                if (baseline, batch, ef) in SECONDS:
                    ratio = benchmark.stats.stats.median / SECONDS[(baseline, batch, ef)]
                    benchmark.extra_info[f"time_ratio_vs_{baseline.replace(' ', '_').replace(',', '')}"] = ratio
