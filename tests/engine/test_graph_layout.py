import hnswlib
import numpy as np
import pytest

from engine import graph_layout
from engine.errors import EngineError

from tests.engine.conftest import random_unit_vectors


def _graph(vectors, order):
    graph = hnswlib.Index(space="ip", dim=vectors.shape[1])
    graph.init_index(max_elements=len(vectors), M=8, ef_construction=64)
    graph.add_items(vectors[order], order, num_threads=1)
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
    graph.mark_deleted(int(order[0]))  # the first node inserted: on the entry path for sure
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


def test_node_numbers_follow_labels_after_the_rewrite(tmp_path):
    vectors = random_unit_vectors(300, 16, seed=5)
    path = tmp_path / "graph.hnsw"
    _graph(vectors, np.random.default_rng(1).permutation(300)).save_index(str(path))
    graph_layout.order_by_label(path)
    raw = path.read_bytes()
    block_size, label_offset = np.frombuffer(raw, dtype=np.uint64, count=5, offset=0)[[3, 4]]
    labels = [int.from_bytes(raw[96 + i * int(block_size) + int(label_offset):][:8], "little") for i in range(300)]
    assert labels == list(range(300))


def test_a_file_that_is_not_an_hnswlib_index_is_refused(tmp_path):
    path = tmp_path / "graph.hnsw"
    path.write_bytes(b"\x00" * 200)
    with pytest.raises(EngineError, match="not an hnswlib"):
        graph_layout.order_by_label(path)
