import hnswlib
import numpy as np

from benchmarks.ef_calibration import calibrate
from benchmarks.memory import RssGrowth, hnswlib_bytes_per_vector
from benchmarks.vectors import exact_top, recall_at_k, unit_vectors


def test_exact_top_is_sorted_and_respects_the_allowed_rows():
    vectors, queries = unit_vectors(300, seed=0), unit_vectors(70, seed=1)  # 70: two chunks
    scores = queries @ vectors.T
    np.testing.assert_array_equal(exact_top(vectors, queries, 5), np.argsort(-scores, axis=1)[:, :5])
    allowed = np.arange(300) % 3 == 0
    assert allowed[exact_top(vectors, queries, 5, allowed)].all()


def test_calibration_picks_the_smallest_ef_reaching_each_target():
    exact = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
    hits_by_ef = {10: 8, 16: 9, 24: 10}  # how many of the true top 10 each ef finds

    def search(ef):
        found = hits_by_ef[ef]
        return np.array([[*range(found), *range(100, 100 + 10 - found)]])

    calibration = calibrate(search, exact, targets=(0.85, 0.9, 0.99), ladder=(10, 16, 24))
    assert [calibration.ef_for(target) for target in (0.8, 0.85, 0.9, 0.99)] == [10, 16, 16, 24]
    short = calibrate(search, exact, targets=(0.99,), ladder=(10, 16))
    assert short.ef_for(0.99) is None and short.recall_by_ef == {10: 0.8, 16: 0.9}
    assert recall_at_k(search(16), exact) == 0.9


def test_hnswlib_memory_formula_matches_a_loaded_graph(tmp_path):
    vectors = unit_vectors(20_000, seed=0)
    graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
    graph.init_index(max_elements=len(vectors), M=16, ef_construction=40)
    graph.add_items(vectors)
    graph.save_index(str(tmp_path / "graph.hnsw"))
    del graph
    with RssGrowth() as growth:
        loaded = hnswlib.Index(space="ip", dim=vectors.shape[1])
        loaded.load_index(str(tmp_path / "graph.hnsw"))
    measured = growth.bytes / len(vectors)
    assert abs(measured / hnswlib_bytes_per_vector(vectors.shape[1], 16, len(vectors)) - 1) < 0.1
