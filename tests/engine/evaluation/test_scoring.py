"""Exact scoring and pool ranks against brute-force sorting; HNSW ranks against exact ones."""

import numpy as np
import pytest

from engine.evaluation.data import Judgement, LanguagePart, assemble
from engine.evaluation.hnsw_ranking import hnsw_ranks
from engine.evaluation.pools import Pool, exact_ranks, make_pools
from engine.evaluation.scoring import score_exact
from engine.index import HnswParams

from .synthetic import FLOAT32_SCORE_TOLERANCE, random_benchmark


def brute_force_rank(scores_row: np.ndarray, pool_rows: np.ndarray, relevant: int) -> int:
    """Rank by score, ties broken by candidate row: a stable sort of the negated scores."""
    order = pool_rows[np.argsort(-scores_row[pool_rows], kind="stable")]
    return int(np.flatnonzero(order == relevant)[0]) + 1


@pytest.mark.parametrize("chunk_bytes", [64 << 20, 4 * 120 * 3])  # one chunk; three queries per chunk
def test_pool_ranks_match_brute_force(chunk_bytes):
    bench, queries, candidates = random_benchmark(5, candidates=40)
    exact = score_exact(queries, candidates, bench.candidate_blocks, bench.qrels, chunk_bytes=chunk_bytes)
    scores = queries @ candidates.T
    for pool in make_pools(["mono", "cross", "multi"], bench.languages):
        result = exact_ranks(bench, exact.outranking, pool)
        numbers = [bench.languages.index(lang) for lang in pool.candidate_langs]
        pool_rows = np.flatnonzero(np.isin(bench.candidate_langs, numbers))
        assert len(result.queries) == 12
        for row, query in enumerate(result.queries):
            entries = range(bench.qrels.ptr[query], bench.qrels.ptr[query + 1])
            expected = sorted(brute_force_rank(scores[query], pool_rows, bench.qrels.candidate[e])
                              for e in entries if bench.qrels.lang[e] in numbers)
            assert sorted(result.ranks[row][np.isfinite(result.ranks[row])]) == expected


def test_ties_go_to_the_earlier_candidate():
    part = LanguagePart("en", query_ids=["a", "b"], query_texts=["a", "b"],
                        judgements=[[Judgement("en", "c1")], [Judgement("en", "c0")]],
                        candidate_ids=["c0", "c1", "c2"], candidate_fields={"text": ["x", "x", "y"]})
    bench = assemble("ties", [part])
    candidates = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)  # c0 and c1 are twins
    queries = np.array([[0.8, 0.6], [0.8, 0.6]], dtype=np.float32)
    exact = score_exact(queries, candidates, bench.candidate_blocks, bench.qrels)
    result = exact_ranks(bench, exact.outranking, Pool("mono", "en", ("en",)))
    assert result.ranks[:, 0].tolist() == [2.0, 1.0]


def test_relevant_passages_outside_the_pool_are_never_found():
    part = LanguagePart("yo", query_ids=["a"], query_texts=["a"],
                        judgements=[[Judgement("yo", "c0"), Judgement("yo", "gone", 2.0)]],
                        candidate_ids=["c0", "c1"], candidate_fields={"text": ["x", "y"]})
    bench = assemble("missing", [part])
    assert bench.qrels.candidate.tolist() == [0, -1]
    vectors = np.eye(2, dtype=np.float32)
    exact = score_exact(vectors[:1], vectors, bench.candidate_blocks, bench.qrels)
    result = exact_ranks(bench, exact.outranking, Pool("mono", "yo", ("yo",)))
    assert result.ranks.tolist() == [[1.0, np.inf]] and result.gains.tolist() == [[1.0, 2.0]]


def test_top_candidates_for_the_run_file():
    bench, queries, candidates = random_benchmark(7, candidates=30)
    blocks = bench.candidate_blocks
    own_language = np.stack([blocks[bench.query_langs], blocks[bench.query_langs + 1]], axis=1)
    exact = score_exact(queries, candidates, blocks, bench.qrels, run_ranges=own_language, depth=40,
                        chunk_bytes=4 * 90 * 5)
    scores = queries @ candidates.T
    for query, (start, stop) in enumerate(own_language):
        expected = start + np.argsort(-scores[query, start:stop], kind="stable")
        assert exact.top_rows[query, :30].tolist() == expected.tolist()
        assert (exact.top_rows[query, 30:] == -1).all()  # the pool has only 30 candidates
        # Absolute, not relative: scores near zero differ in their last bits between Intel and AMD CPUs.
        assert exact.top_scores[query, :30] == pytest.approx(scores[query, expected], abs=FLOAT32_SCORE_TOLERANCE)


def test_hnsw_ranks_equal_exact_ranks_on_small_pools():
    bench, queries, candidates = random_benchmark(9, candidates=60)
    pools = make_pools(["mono", "cross", "multi"], bench.languages)
    exact = score_exact(queries, candidates, bench.candidate_blocks, bench.qrels)
    approximate = hnsw_ranks(bench, queries, candidates, pools, HnswParams(M=16, ef_construction=200, ef_search=200),
                             depth=200)
    for pool in pools:
        expected = exact_ranks(bench, exact.outranking, pool)
        assert approximate[pool].queries.tolist() == expected.queries.tolist()
        assert approximate[pool].ranks.tolist() == expected.ranks.tolist()


def test_hnsw_ranks_beyond_the_depth_are_not_found():
    bench, queries, candidates = random_benchmark(11, candidates=60)
    pool = Pool("multi", "en", tuple(bench.languages))
    exact = exact_ranks(bench, score_exact(queries, candidates, bench.candidate_blocks, bench.qrels).outranking, pool)
    cut = hnsw_ranks(bench, queries, candidates, [pool], HnswParams(ef_search=200), depth=20)[pool]
    assert cut.ranks.tolist() == np.where(exact.ranks <= 20, exact.ranks, np.inf).tolist()
