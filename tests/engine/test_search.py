from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from engine import index as index_dir
from engine.errors import EngineError
from engine.index import HnswParams
from engine.search import Searcher
from tests.engine.conftest import make_passages, model_info, random_unit_vectors


def exact_top_ids(vectors, queries, k, allowed=None):
    scores = queries @ vectors.T
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    return np.argsort(-scores, axis=1)[:, :k]


@pytest.fixture(scope="module")
def random_index(tmp_path_factory):
    """5,000 random 64-d vectors (a hard case for HNSW) with default parameters."""
    vectors = random_unit_vectors(5000, 64, seed=11)
    langs = ["en"] * 4900 + ["sw"] * 60 + ["yo"] * 40
    passages = make_passages(5000)
    for passage, lang in zip(passages, langs):
        passage.lang = lang
    path = tmp_path_factory.mktemp("random") / "index"
    return index_dir.create(path, passages, vectors, model_info(64), HnswParams()), vectors, np.array(langs)


def recall_at_10(hits, truth):
    found = [{int(hit.id[1:]) for hit in row} for row in hits]
    return np.mean([len(f & set(t)) / 10 for f, t in zip(found, truth)])


def test_recall_at_10_against_exact_search_at_default_ef(random_index):
    index, vectors, _ = random_index
    queries = random_unit_vectors(200, 64, seed=12)
    hits = Searcher(index).search_vectors(queries, k=10)
    assert recall_at_10(hits, exact_top_ids(vectors, queries, 10)) >= 0.95


@pytest.mark.parametrize("options", [{}, {"rescore": True}, {"languages": ["sw"]}],
                         ids=["graph", "rescored", "exact-filter"])
def test_scores_are_inner_products_best_first(random_index, options):
    index, vectors, _ = random_index
    queries = random_unit_vectors(3, 64, seed=13)
    results = Searcher(index).search_vectors(queries, k=10, **options)
    for query, row, ids, scores in zip(queries, results, results.ids, results.scores):
        assert [hit.score for hit in row] == sorted(scores.tolist(), reverse=True)
        assert [hit.id for hit in row] == ids.tolist()
        for hit in row:
            assert hit.score == pytest.approx(float(vectors[int(hit.id[1:])] @ query), abs=1e-5)


def test_hits_carry_metadata(random_index):
    index, vectors, _ = random_index
    hit = Searcher(index).search_vectors(vectors[7], k=1)[0][0]
    assert (hit.id, hit.lang, hit.title, hit.text, hit.extra) == ("p7", "en", "title 7", "passage number 7", {"n": 7})
    bare = Searcher(index).search_vectors(vectors[7], k=1, with_text=False)[0][0]
    assert (bare.id, bare.title, bare.text) == ("p7", "", "")


@pytest.mark.parametrize("exact_filter_limit", [20_000, 0], ids=["exact-subset", "hnsw-filter"])
def test_language_filter_returns_k_hits_of_rare_languages(random_index, exact_filter_limit):
    index, vectors, langs = random_index
    queries = random_unit_vectors(20, 64, seed=14)
    searcher = Searcher(index, exact_filter_limit=exact_filter_limit)
    hits = searcher.search_vectors(queries, k=10, languages=["sw", "yo"])
    assert all(len(row) == 10 and {hit.lang for hit in row} <= {"sw", "yo"} for row in hits)
    truth = exact_top_ids(vectors, queries, 10, allowed=np.isin(langs, ["sw", "yo"]))
    assert recall_at_10(hits, truth) >= 0.95


def test_rescore_gives_exact_order(random_index):
    index, vectors, _ = random_index
    queries = random_unit_vectors(50, 64, seed=15)
    hits = Searcher(index).search_vectors(queries, k=10, rescore=True)
    assert recall_at_10(hits, exact_top_ids(vectors, queries, 10)) >= 0.97
    for row in hits:
        assert [h.score for h in row] == sorted((h.score for h in row), reverse=True)


def test_larger_ef_does_not_lower_recall_and_default_ef_comes_back(random_index):
    index, vectors, _ = random_index
    queries = random_unit_vectors(100, 64, seed=16)
    truth = exact_top_ids(vectors, queries, 10)
    searcher = Searcher(index)
    default = searcher.search_vectors(queries, k=10)
    wide = recall_at_10(searcher.search_vectors(queries, k=10, ef=400), truth)
    assert wide >= recall_at_10(default, truth)
    again = searcher.search_vectors(queries, k=10)
    assert index.graph.ef == index.params.ef_search
    assert [[h.id for h in row] for row in again] == [[h.id for h in row] for row in default]


def test_threads_searching_at_once_get_the_same_hits_as_one(random_index):
    index, _, _ = random_index
    searcher = Searcher(index)
    batches = [random_unit_vectors(8, 64, seed=100 + i) for i in range(16)]
    alone = [[[h.id for h in row] for row in searcher.search_vectors(batch, k=10)] for batch in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda b: [[h.id for h in row] for row in searcher.search_vectors(b, k=10)],
                                 batches))
    assert together == alone


def test_searchers_sharing_an_index_with_different_ef_get_their_own_hits(random_index):
    # hnswlib's ef is graph-wide: without one lock per graph, one searcher's ef leaks into the other's query.
    index, _, _ = random_index
    narrow, wide = Searcher(index), Searcher(index)
    batches = [random_unit_vectors(8, 64, seed=200 + i) for i in range(16)]

    def ids(searcher, batch, ef):
        return [[h.id for h in row] for row in searcher.search_vectors(batch, k=10, ef=ef, with_text=False)]

    alone = [(ids(narrow, batch, 10), ids(wide, batch, 400)) for batch in batches]
    assert any(low != high for low, high in alone)  # the two ef values do give different hits
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda batch: (ids(narrow, batch, 10), ids(wide, batch, 400)), batches * 4))
    assert together == alone * 4


def test_k_larger_than_the_collection(random_index):
    index, vectors, _ = random_index
    with pytest.raises(EngineError, match="k=5001 is larger than the collection"):
        Searcher(index).search_vectors(vectors[0], k=5001)
    with pytest.raises(EngineError, match=r"k=50 is larger than the passages in yo \(40 passages\)"):
        Searcher(index).search_vectors(vectors[0], k=50, languages=["yo"])


def test_unknown_language_codes(random_index):
    index, vectors, _ = random_index
    with pytest.raises(EngineError, match="unknown language code 'xx'"):
        Searcher(index).search_vectors(vectors[0], languages=["xx"])
    with pytest.raises(EngineError, match="no passages in 'de'.*it has: en, sw, yo"):
        Searcher(index).search_vectors(vectors[0], languages=["de"])


def test_query_vectors_of_wrong_dimension(random_index):
    index, _, _ = random_index
    with pytest.raises(EngineError, match="the index has dimension 64"):
        Searcher(index).search_vectors(np.zeros((2, 32), np.float32))


def test_bad_k_and_ef(random_index):
    index, vectors, _ = random_index
    with pytest.raises(EngineError, match="k must be a positive integer"):
        Searcher(index).search_vectors(vectors[0], k=0)
    with pytest.raises(EngineError, match="ef must be a positive integer"):
        Searcher(index).search_vectors(vectors[0], ef=-1)


def test_text_search_without_encoder_is_refused(random_index):
    index, _, _ = random_index
    with pytest.raises(EngineError, match="no encoder"):
        Searcher(index).search(["hello"])


def test_filtered_rescored_search_with_k_large_against_the_filter(random_index):
    # 40 Yoruba passages, k=30: re-scoring wants 4k = 120 candidates, more than the filter allows.
    index, vectors, langs = random_index
    queries = random_unit_vectors(5, 64, seed=16)
    hits = Searcher(index, exact_filter_limit=0).search_vectors(queries, k=30, languages=["yo"], rescore=True)
    assert all(len(row) == 30 and {hit.lang for hit in row} == {"yo"} for row in hits)
    for row in hits:
        assert [h.score for h in row] == sorted((h.score for h in row), reverse=True)
