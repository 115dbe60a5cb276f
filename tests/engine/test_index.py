import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from engine import atomic_dir
from engine import index as index_dir
from engine.errors import EngineError
from engine.index import HnswParams, open_index
from engine.search import Searcher
from tests.engine.conftest import file_labels, make_passages, model_info, random_unit_vectors


def test_manifest_records_model_params_count_and_checksums(small_index):
    index, _, _ = small_index
    manifest = json.loads((index.path / "manifest.json").read_text())
    assert manifest["format"] == "engine-index" and manifest["format_version"] == 1
    assert manifest["model"]["dimension"] == 16 and manifest["metric"] == "ip"
    assert manifest["hnsw"] == {"M": 16, "ef_construction": 200, "ef_search": 64}
    assert manifest["count"] == 400
    assert set(manifest["files"]) == {"graph.hnsw", "vectors.npy", "meta.sqlite"}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())


def test_reopened_index_gives_identical_results(small_index):
    index, _, vectors = small_index
    queries = random_unit_vectors(20, 16, seed=7)
    before = Searcher(index).search_vectors(queries, k=10)
    after = Searcher(open_index(index.path)).search_vectors(queries, k=10)
    assert [[(h.id, h.score, h.lang, h.title, h.text, h.extra) for h in row] for row in before] == \
           [[(h.id, h.score, h.lang, h.title, h.text, h.extra) for h in row] for row in after]
    stored = np.load(index.path / "vectors.npy")
    np.testing.assert_array_equal(stored, vectors)


def test_graph_holds_each_label_with_its_own_vector_in_chunked_shuffled_insertion(tmp_path, monkeypatch):
    monkeypatch.setattr(index_dir, "INSERT_CHUNK", 64)  # several chunks, and a short last one
    vectors = random_unit_vectors(300, 16, seed=5)
    index = index_dir.create(tmp_path / "index", make_passages(300), vectors, model_info(16))
    np.testing.assert_allclose(np.array(index.graph.get_items(list(range(300)))), vectors, atol=1e-6)
    assert file_labels(index.path / "graph.hnsw") == list(range(300))  # laid out in label order
    updated = index_dir.add(index, make_passages(100, start=300), random_unit_vectors(100, 16, seed=6))
    np.testing.assert_allclose(np.array(updated.graph.get_items(list(range(300, 400)))),
                               random_unit_vectors(100, 16, seed=6), atol=1e-6)
    assert file_labels(updated.path / "graph.hnsw") == list(range(400))


def test_add_appends_and_grows_the_graph(small_index):
    index, _, _ = small_index
    extra_vectors = random_unit_vectors(150, 16, seed=2)
    updated = index_dir.add(index, make_passages(150, start=400), extra_vectors)
    assert updated.count == 550
    hits = Searcher(updated).search_vectors(extra_vectors[:5], k=1)
    assert [row[0].id for row in hits] == [f"p{i}" for i in range(400, 405)]
    assert open_index(index.path).count == 550


def test_add_refuses_ids_already_present(small_index):
    index, passages, vectors = small_index
    with pytest.raises(EngineError, match="already in index"):
        index_dir.add(index, passages[:2], vectors[:2])


def test_delete_removes_passages_from_hits_and_metadata(small_index):
    index, _, vectors = small_index
    updated = index_dir.delete(index, ["p3", "p4"])
    assert updated.count == 398
    hits = Searcher(updated).search_vectors(vectors[3:5], k=5)
    assert all(hit.id not in ("p3", "p4") for row in hits for hit in row)
    with pytest.raises(EngineError, match="not in index"):
        index_dir.delete(updated, ["p3"])


def test_wrong_dimension_is_refused(tmp_path):
    with pytest.raises(EngineError, match="dimension 16"):
        index_dir.create(tmp_path / "x", make_passages(3), random_unit_vectors(3, 8, 0), model_info(16))
    assert not (tmp_path / "x").exists()


def test_existing_index_is_not_replaced_without_overwrite(small_index):
    index, passages, vectors = small_index
    with pytest.raises(EngineError, match="already exists"):
        index_dir.create(index.path, passages, vectors, model_info(16))


def test_a_directory_that_is_not_an_index_is_refused_and_kept(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(EngineError, match="not an index dir"):
        open_index(tmp_path / "notes")
    with pytest.raises(EngineError, match="not an index dir"):
        index_dir.create(tmp_path / "notes", make_passages(2), random_unit_vectors(2, 16, 0),
                         model_info(16), overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(EngineError, match="does not exist"):
        open_index(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["graph.hnsw", "vectors.npy", "meta.sqlite"])
def test_truncated_file_is_detected(small_index, name):
    index, _, _ = small_index
    path = index.path / name
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(EngineError, match=f"{name} is truncated or corrupted"):
        open_index(index.path)


def test_flipped_byte_is_detected(small_index):
    index, _, _ = small_index
    path = index.path / "graph.hnsw"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(EngineError, match="graph.hnsw is truncated or corrupted"):
        open_index(index.path)


def test_corrupted_manifest_is_detected(small_index):
    index, _, _ = small_index
    (index.path / "manifest.json").write_text("{ not json")
    with pytest.raises(EngineError, match="manifest.json is corrupted"):
        open_index(index.path)


def test_model_with_other_fingerprint_is_refused(small_index):
    index, _, _ = small_index
    with pytest.raises(EngineError, match="does not match index"):
        index.check_model("0" * 64, "other-bundle")


def test_bad_hnsw_parameters_are_refused(tmp_path):
    with pytest.raises(EngineError, match="M must be a positive integer"):
        index_dir.create(tmp_path / "x", make_passages(2), random_unit_vectors(2, 16, 0), model_info(16),
                         HnswParams(M=0))


KILL_DURING_ADD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from engine import atomic_dir, index as index_dir, metadata
    from tests.engine.conftest import make_passages, random_unit_vectors

    def killed_mid_write(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    metadata.insert = killed_mid_write
    index = index_dir.open_index(sys.argv[1])
    index_dir.add(index, make_passages(10, start=1000), random_unit_vectors(10, 16, 3))
""")


def test_kill_during_add_leaves_previous_index_intact(small_index):
    index, _, vectors = small_index
    before = Searcher(index).search_vectors(vectors[:5], k=5)
    process = subprocess.run([sys.executable, "-c", KILL_DURING_ADD, str(index.path)],
                             cwd=os.getcwd(), capture_output=True)
    assert process.returncode == -signal.SIGKILL
    reopened = open_index(index.path)
    assert reopened.count == 400
    after = Searcher(reopened).search_vectors(vectors[:5], k=5)
    assert [[h.id for h in row] for row in before] == [[h.id for h in row] for row in after]
    # The next write cleans the dead process's temp dir away.
    index_dir.add(reopened, make_passages(1, start=2000), random_unit_vectors(1, 16, 4))
    assert sorted(p.name for p in index.path.parent.iterdir() if not p.name.endswith(".lock")) == ["index"]


# 12345: a dead writer's PID; 1: a dead writer's PID now reused by a live process (no writer holds the lock).
@pytest.mark.parametrize("pid", [12345, 1], ids=["dead-pid", "reused-pid"])
def test_swap_stopped_between_renames_is_recovered(small_index, pid):
    index, _, _ = small_index
    old = index.path.parent / f".index.old-{pid}"
    os.rename(index.path, old)
    assert open_index(index.path).count == 400
    assert not old.exists()


def test_swap_of_a_writer_still_running_is_left_alone(small_index):
    index, _, _ = small_index
    mine = index.path.parent / f".index.old-{os.getpid()}"
    with atomic_dir.writer_lock(index.path):  # a writer between its two renames holds the lock
        os.rename(index.path, mine)
        atomic_dir.recover(index.path)
        assert mine.is_dir() and not index.path.exists()


def test_a_stale_handle_cannot_overwrite_another_writers_change(small_index):
    index, _, _ = small_index
    stale = open_index(index.path)
    index_dir.add(index, make_passages(1, start=900), random_unit_vectors(1, 16, 5))
    with pytest.raises(EngineError, match="changed by another writer since it was opened"):
        index_dir.delete(stale, ["p1"])
    assert open_index(index.path).count == 401


def test_paths_with_uri_characters_work(tmp_path):
    path = tmp_path / "my#index?v=1%20"
    index_dir.create(path, make_passages(20), random_unit_vectors(20, 16, 6), model_info(16))
    hit = Searcher(open_index(path)).search_vectors(random_unit_vectors(1, 16, 6), k=1)[0][0]
    assert hit.text.startswith("passage number")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [path.name]


def test_close_releases_the_connection_every_thread_read_through(small_index):
    import threading

    index, _, _ = small_index
    searcher = Searcher(open_index(index.path))
    queries = random_unit_vectors(2, 16, seed=3)
    threads = [threading.Thread(target=searcher.search_vectors, args=(queries,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    searcher.search_vectors(queries)
    with searcher.index:
        pass
    with pytest.raises(EngineError, match="this index has been closed"):
        searcher.index.metadata.fetch([0])
    with pytest.raises(EngineError, match="this index has been closed"):
        searcher.search_vectors(queries)
    assert Searcher(open_index(index.path)).search_vectors(queries, with_text=True)[0][0].text


WRITER_LOOP = textwrap.dedent("""
    import sys
    from engine import index as index_dir
    from tests.engine.conftest import make_passages, random_unit_vectors

    path, rounds = sys.argv[1], int(sys.argv[2])
    for round in range(rounds):
        index = index_dir.open_index(path)
        index = index_dir.add(index, make_passages(5, start=5000 + 5 * round), random_unit_vectors(5, 16, round))
        index_dir.delete(index, [f"p{5000 + 5 * round}"])
        print(round, flush=True)
""")


def test_readers_beside_a_writer_process_see_one_version_or_the_next(small_index):
    # A writer process adds 5 passages and deletes 1, 20 times (40 swaps). Meanwhile this process
    # opens the index and searches with a Searcher opened before the writer started: every open and
    # every search must succeed (bounded: at most 60 s and 5,000 rounds).
    import time

    index, _, vectors = small_index
    searcher = Searcher(open_index(index.path))
    writer = subprocess.Popen([sys.executable, "-c", WRITER_LOOP, str(index.path), "20"], cwd=os.getcwd(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    opened = searched = 0
    deadline = time.monotonic() + 60
    try:
        while writer.poll() is None and time.monotonic() < deadline and opened < 5000:
            reader = open_index(index.path)
            assert 400 <= reader.count <= 481  # 481: the last round between its add and its delete
            opened += 1
            hits = searcher.search_vectors(vectors[:3], k=5)
            assert all(len(row) == 5 and all(hit.text for hit in row) for row in hits)
            searched += 1
    finally:
        if writer.poll() is None:
            writer.kill()
        out, err = writer.communicate()
    assert writer.returncode == 0, err[-3000:]
    assert out.split() == [str(n) for n in range(20)]
    assert opened > 0 and searched > 0
    searcher.search_vectors(vectors[:1], k=1)  # the last swap is picked up
    assert searcher.index.count == 400 + 20 * 4
    ids = [passage_id for passage_id in searcher.index.ids if passage_id is not None]
    assert len(ids) == len(set(ids)) == 480


def test_a_symlinked_index_is_updated_where_the_link_points(small_index, tmp_path):
    index, _, _ = small_index
    link = tmp_path / "link"
    link.symlink_to(index.path, target_is_directory=True)
    index_dir.add(open_index(link), make_passages(3, start=700), random_unit_vectors(3, 16, 8))
    assert link.is_symlink() and link.resolve() == index.path.resolve()
    assert open_index(link).count == 403 and open_index(index.path).count == 403
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".link")]
    assert sorted(p.name for p in index.path.parent.iterdir() if p.name.startswith(".")) == [".index.lock"]
