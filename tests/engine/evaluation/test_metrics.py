"""Metrics on hand-made cases with known answers, and against pytrec_eval (trec_eval) on the same runs.

(ranx agrees too, but its numba kernels take ~15 s to compile on a cold cache, so it is left out.)
"""

import math

import numpy as np
import pytest

from engine.errors import EngineError
from engine.evaluation import metrics
from engine.evaluation.pools import exact_ranks, make_pools
from engine.evaluation.scoring import score_exact

from .synthetic import random_benchmark

INF = np.inf


def rows(*ranks_and_gains):
    """Padded (ranks, gains) arrays from per-query lists of (rank, gain)."""
    width = max(len(row) for row in ranks_and_gains)
    ranks = np.full((len(ranks_and_gains), width), INF)
    gains = np.zeros((len(ranks_and_gains), width))
    for i, row in enumerate(ranks_and_gains):
        for j, (rank, gain) in enumerate(row):
            ranks[i, j], gains[i, j] = rank, gain
    return ranks, gains


def test_average_precision_known_answers():
    ranks, gains = rows([(3, 1)], [(4, 1), (1, 1)], [(INF, 1), (2, 1)], [(1, 1)])
    assert metrics.average_precision(ranks, gains) == pytest.approx([1 / 3, (1 + 2 / 4) / 2, (1 / 2) / 2, 1.0])


def test_recall_known_answers():
    ranks, gains = rows([(3, 1)], [(4, 1), (1, 1)], [(INF, 1), (2, 1)], [(11, 1), (10, 1), (100, 1)])
    assert metrics.recall_at(ranks, gains, 1) == pytest.approx([0, 0.5, 0, 0])
    assert metrics.recall_at(ranks, gains, 10) == pytest.approx([1, 1, 0.5, 1 / 3])
    assert metrics.recall_at(ranks, gains, 100) == pytest.approx([1, 1, 0.5, 1])


def test_ndcg_known_answers():
    ranks, gains = rows([(1, 1), (4, 1)], [(3, 2), (1, 1)], [(11, 1)], [(INF, 2), (1, 1)])
    expected = [
        (1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3)),
        (2 / math.log2(4) + 1) / (2 + 1 / math.log2(3)),
        0.0,
        1 / (2 + 1 / math.log2(3)),
    ]
    assert metrics.ndcg_at(ranks, gains, 10) == pytest.approx(expected)


def test_ideal_dcg_is_cut_at_k():
    ranks, gains = rows([(1, 1), (2, 1), (3, 1)])
    assert metrics.ndcg_at(ranks, gains, 2) == pytest.approx([1.0])


def test_rank_distance_known_answers():
    ranks, gains = rows([(5, 1), (2, 1), (9, 1)], [(3, 1), (INF, 1), (8, 1)], [(4, 1)], [(7, 1), (1, 1)])
    distance = metrics.rank_distance(ranks, gains)
    assert distance[[0, 1, 3]] == pytest.approx([7, 5, 6])
    assert np.isnan(distance[2])


def test_metric_names():
    ranks, gains = rows([(2, 1)])
    assert metrics.metric("recall@1")(ranks, gains) == pytest.approx([0])
    assert metrics.metric("ndcg@3")(ranks, gains) == pytest.approx([1 / math.log2(3)])
    with pytest.raises(EngineError, match="unknown metric"):
        metrics.metric("precision@5")


TREC_MEASURES = {"map": "map", "recall@1": "recall_1", "recall@10": "recall_10", "recall@100": "recall_100",
                 "ndcg@10": "ndcg_cut_10"}


def pool_run_and_qrels(bench, query_vectors, candidate_vectors, pool, result):
    """The pool's full ranking as TREC-style dicts: run[qid][docid] = score, qrels[qid][docid] = gain."""
    number = [bench.languages.index(lang) for lang in pool.candidate_langs]
    in_pool = np.flatnonzero(np.isin(bench.candidate_langs, number))
    scores = query_vectors[result.queries] @ candidate_vectors[in_pool].T
    run, qrels = {}, {}
    query_of_entry = bench.qrels.query_of_entry
    for row, query in enumerate(result.queries):
        qid = bench.query_ids[query]
        run[qid] = {bench.candidate_ids[c]: float(s) for c, s in zip(in_pool, scores[row])}
        entries = np.flatnonzero((query_of_entry == query) & np.isin(bench.qrels.lang, number))
        qrels[qid] = {bench.qrels.ids[e]: int(bench.qrels.gain[e]) for e in entries}
    return run, qrels


@pytest.mark.parametrize("seed, parallel, graded", [(1, True, False), (2, False, True), (3, False, False)])
def test_pipeline_matches_pytrec_eval(seed, parallel, graded):
    """Scoring, pool ranks and metrics together give trec_eval's per-query figures for the pool's full ranking."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    bench, query_vectors, candidate_vectors = random_benchmark(seed, candidates=150, parallel=parallel, graded=graded)
    exact = score_exact(query_vectors, candidate_vectors, bench.candidate_blocks, bench.qrels)
    settings = ["mono", "cross", "multi"] if parallel else ["mono"]
    for pool in make_pools(settings, bench.languages):
        result = exact_ranks(bench, exact.outranking, pool)
        run, qrels = pool_run_and_qrels(bench, query_vectors, candidate_vectors, pool, result)
        trec = pytrec_eval.RelevanceEvaluator(qrels, {"map", "recall.1,10,100", "ndcg_cut.10"}).evaluate(run)
        qids = [bench.query_ids[query] for query in result.queries]
        for name, trec_name in TREC_MEASURES.items():
            ours = metrics.metric(name)(result.ranks, result.gains)
            assert ours == pytest.approx([trec[qid][trec_name] for qid in qids]), (pool, name)
