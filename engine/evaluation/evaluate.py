"""Evaluate a model on a benchmark: load, encode (cached), score exactly, rank per pool, average.

`prepare` checks the request and loads the data, `run_prepared` does the rest with an encoder, so
a command line can reject bad input before it spends seconds loading a model.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from engine.errors import EngineError
from engine.evaluation.benchmarks import BenchmarkSpec, get_benchmark
from engine.evaluation.data import Benchmark
from engine.evaluation.embedding_cache import EmbeddingCache
from engine.evaluation.figures import hnsw_comparison, metric_names, setting_figures
from engine.evaluation.hnsw_ranking import hnsw_ranks
from engine.evaluation.pools import Pool, RankedPool, exact_ranks, make_pools
from engine.evaluation.scoring import ExactScores, score_exact
from engine.evaluation.sources import data_root
from engine.index import HnswParams
from engine.machine import machine


@dataclass
class EvalOptions:
    languages: list[str] | None = None
    settings: list[str] | None = None
    max_queries: int | None = None
    candidate_text: str | None = None
    hnsw: HnswParams | None = None  # also rank through HNSW graphs and report the difference
    depth: int = 100                # hits kept per query for the run file and the HNSW ranking
    keep_run: bool = False          # keep the top `depth` candidates per query for a run file
    use_cache: bool = True
    quiet: bool = False


@dataclass
class EvalResult:
    report: dict              # every figure, JSON-ready
    bench: Benchmark
    exact: ExactScores
    run_setting: str          # the setting whose pools the kept top candidates come from


@dataclass
class Prepared:
    """A checked request with its data loaded: everything short of the model."""

    spec: BenchmarkSpec
    settings: list[str]
    text: str
    bench: Benchmark
    options: EvalOptions
    load_seconds: float


def evaluate(benchmark: str, encoder, options: EvalOptions | None = None) -> EvalResult:
    return run_prepared(prepare(benchmark, options), encoder)


def prepare(benchmark: str, options: EvalOptions | None = None) -> Prepared:
    """Check the request and load the benchmark."""
    options = options or EvalOptions()
    started = time.perf_counter()
    spec = get_benchmark(benchmark)
    settings = spec.check_settings(options.settings)
    text = spec.check_text(options.candidate_text)
    if options.max_queries is not None and options.max_queries < 1:
        raise EngineError(f"--max-queries must be positive, got {options.max_queries}")
    if options.depth < 1:
        raise EngineError(f"the run/HNSW depth must be positive, got {options.depth}")
    if options.hnsw is not None:
        options.hnsw.check()
    root = data_root(spec.layout)
    bench = spec.load(root, spec.check_languages(root, options.languages), options.max_queries)
    return Prepared(spec, settings, text, bench, options, time.perf_counter() - started)


def run_prepared(prepared: Prepared, encoder) -> EvalResult:
    spec, settings, bench, options = prepared.spec, prepared.settings, prepared.bench, prepared.options
    timer = _Timer()
    timer.seconds["load"] = prepared.load_seconds
    with timer("encode"):
        query_vectors, candidate_vectors, encoding = _encode(bench, spec, prepared.text, encoder, options)
    run_setting = "multi" if "multi" in settings else "mono"
    with timer("scoring"):
        exact = _score(bench, query_vectors, candidate_vectors, run_setting, options)
    pools = make_pools(settings, bench.languages)
    with timer("metrics"):
        ranked = {pool: exact_ranks(bench, exact.outranking, pool) for pool in pools}
        report = _report(spec, bench, prepared.text, encoder, settings, ranked)
        report["encoding"] = encoding
    if options.hnsw is not None:
        with timer("hnsw"):
            with _progress(len(pools), "hnsw", "pool", options.quiet) as bar:
                approximate = hnsw_ranks(bench, query_vectors, candidate_vectors, pools, options.hnsw, options.depth,
                                         bar.update)
            report["hnsw"] = {**asdict(options.hnsw), "depth": options.depth,
                              "settings": hnsw_comparison(settings, spec.metrics, ranked, approximate, options.depth)}
    report["timings_s"] = {**{name: round(seconds, 3) for name, seconds in timer.seconds.items()},
                           "total": round(sum(timer.seconds.values()), 3)}
    return EvalResult(report, bench, exact, run_setting)


def _encode(bench: Benchmark, spec: BenchmarkSpec, text: str, encoder, options: EvalOptions):
    """Query and candidate vectors (one cache entry per language and role), and what it took."""
    bundle = encoder.bundle
    cache = EmbeddingCache(encoder, options.use_cache)
    candidate_texts = bench.candidate_texts(spec.texts[text])
    jobs = []
    for lang in bench.languages:
        query_rows, candidate_rows = bench.query_rows(lang), bench.candidate_rows(lang)
        jobs.append(("queries", query_rows, f"{bench.name}-{lang}-queries",
                     [bench.query_texts[row] for row in query_rows], bundle.query_prefix))
        jobs.append(("candidates", candidate_rows, f"{bench.name}-{lang}-candidates-{text}",
                     [candidate_texts[row] for row in candidate_rows], bundle.passage_prefix))
    vectors = {"queries": np.empty((len(bench.query_ids), bundle.dimension), dtype=np.float32),
               "candidates": np.empty((len(bench.candidate_ids), bundle.dimension), dtype=np.float32)}
    missing = []
    for role, rows, key, texts, prefix in jobs:
        cached = cache.load(key, texts, prefix)
        if cached is None:
            missing.append((role, rows, key, texts, prefix))
        else:
            vectors[role][rows] = cached
    with _progress(sum(len(job[3]) for job in missing), "encode", "text", options.quiet) as bar:
        for role, rows, key, texts, prefix in missing:
            encoded = encoder.encode(texts, prefix, bar.update)
            cache.store(key, texts, prefix, encoded)
            vectors[role][rows] = encoded
    encoded = sum(len(job[3]) for job in missing)
    stats = {"encoded_texts": encoded, "cached_texts": len(bench.query_ids) + len(bench.candidate_ids) - encoded,
             "max_batch": encoder.batch_size, "token_budget": encoder.token_budget}
    return vectors["queries"], vectors["candidates"], stats


def benchmark_vectors(prepared: Prepared, encoder) -> tuple[np.ndarray, np.ndarray]:
    """A prepared benchmark's query and candidate vectors through the embedding cache, as `engine eval`
    computes them (benchmarks/test_real_collections.py indexes them)."""
    queries, candidates, _ = _encode(prepared.bench, prepared.spec, prepared.text, encoder, prepared.options)
    return queries, candidates


def _score(bench: Benchmark, query_vectors, candidate_vectors, run_setting: str, options: EvalOptions):
    blocks = bench.candidate_blocks
    if run_setting == "multi":
        run_ranges = np.tile([0, len(bench.candidate_ids)], (len(bench.query_ids), 1))
    else:
        run_ranges = np.stack([blocks[bench.query_langs], blocks[bench.query_langs + 1]], axis=1)
    with _progress(len(bench.query_ids), "scoring", "query", options.quiet) as bar:
        return score_exact(query_vectors, candidate_vectors, blocks, bench.qrels,
                           run_ranges if options.keep_run else None, options.depth, bar.update)


def _report(spec: BenchmarkSpec, bench: Benchmark, text: str, encoder, settings: list[str],
            ranked: dict[Pool, RankedPool]) -> dict:
    bundle = encoder.bundle
    return {
        "benchmark": spec.name,
        "title": spec.title,
        "note": spec.note,
        "model": {"bundle": str(bundle.path), "source_model": bundle.manifest["source_model"],
                  "fingerprint": bundle.fingerprint, "variant": encoder.variant,
                  "quantization": bundle.variants[encoder.variant].get("quantization", "")},
        "candidate_text": text,
        "search": "exact",
        "languages": bench.languages,
        "counts": {
            "queries": {lang: len(bench.query_rows(lang)) for lang in bench.languages},
            "candidates": {lang: len(bench.candidate_rows(lang)) for lang in bench.languages},
        },
        "settings": {setting: setting_figures(ranked, setting, metric_names(spec.metrics, setting))
                     for setting in settings},
        "machine": _machine(encoder),
    }


def _machine(encoder) -> dict:
    """engine.machine's record plus the encoder's own thread and provider settings."""
    return {**machine(), "onnxruntime_intra_op_threads": encoder.session.get_session_options().intra_op_num_threads,
            "providers": encoder.providers}


def _progress(total: int, what: str, unit: str, quiet: bool):
    return tqdm(total=total, desc=what, unit=unit, disable=quiet or total == 0, file=sys.stderr, leave=False)


class _Timer:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
