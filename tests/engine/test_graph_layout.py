import hnswlib
import numpy as np
import pytest

from engine import graph_layout
from engine.errors import EngineError
from tests.engine.conftest import file_labels, random_unit_vectors


def _graph(vectors, order, labels=None, capacity=None):
    graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
    graph.init_index(max_elements=capacity or len(vectors), M=8, ef_construction=64)
    graph.add_items(vectors[order], order if labels is None else labels[order], num_threads=1)
    return graph


def _load(path, dimension):
    graph = hnswlib.Index(space="ip", dim=dimension)
    graph.load_index(str(path))
    graph.set_ef(32)
    return graph


def test_renumbering_by_label_keeps_the_graph_its_hits_and_deleted_marks(tmp_path):
    vectors = random_unit_vectors(2000, 16, seed=3)
    order = np.random.default_rng(0).permutation(len(vectors))
    graph = _graph(vectors, order)
    graph.mark_deleted(int(order[0]))
    path = tmp_path / "graph.hnsw"
    graph.save_index(str(path))
    queries = np.vstack([vectors[order[0]], random_unit_vectors(50, 16, seed=4)])  # the deleted node's own vector
    before = _load(path, 16).knn_query(queries, k=10)

    graph_layout.order_by_label(path)

    after_graph = _load(path, 16)
    after = after_graph.knn_query(queries, k=10)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_allclose(after[1], before[1], atol=1e-6)
    assert int(order[0]) not in after[0]
    kept = [label for label in range(2000) if label != int(order[0])]
    np.testing.assert_allclose(np.array(after_graph.get_items(kept)), vectors[kept], atol=1e-6)
    assert not list(tmp_path.glob("*.layout"))


def test_node_numbers_follow_labels_also_when_sparse_and_below_capacity(tmp_path):
    vectors = random_unit_vectors(300, 16, seed=5)
    labels = np.arange(300) * 7 + 1000  # as after deletes and adds
    path = tmp_path / "graph.hnsw"
    graph = _graph(vectors, np.random.default_rng(1).permutation(300), labels, capacity=500)
    graph.save_index(str(path))
    queries = random_unit_vectors(20, 16, seed=6)
    before = _load(path, 16).knn_query(queries, k=5)
    graph_layout.order_by_label(path)
    assert file_labels(path) == sorted(labels.tolist())
    np.testing.assert_array_equal(_load(path, 16).knn_query(queries, k=5)[0], before[0])


def test_a_file_that_is_not_an_hnswlib_index_or_is_truncated_is_refused_and_kept(tmp_path):
    path = tmp_path / "graph.hnsw"
    path.write_bytes(b"\x00" * 200)
    with pytest.raises(EngineError, match="not an hnswlib"):
        graph_layout.order_by_label(path)
    _graph(random_unit_vectors(100, 16, seed=7), np.arange(100)).save_index(str(path))
    truncated = path.read_bytes()[:-10]
    path.write_bytes(truncated)
    with pytest.raises(EngineError, match="not an hnswlib"):
        graph_layout.order_by_label(path)
    assert path.read_bytes() == truncated and not list(tmp_path.glob("*.layout"))
