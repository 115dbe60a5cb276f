import json
import shutil

import numpy as np
import pytest

from engine import index as index_files
from engine import shards
from engine.errors import EngineError
from engine.index import HnswParams, open_index
from engine.search import Searcher
from tests.engine.conftest import make_passages, model_info, random_unit_vectors

COUNT, DIMENSION, SHARDS = 1200, 16, 4


@pytest.fixture
def pair(tmp_path):
    """One index and a 4-shard index over the same passages and vectors."""
    vectors = random_unit_vectors(COUNT, DIMENSION, seed=3)
    passages = make_passages(COUNT)
    params = HnswParams(M=16, ef_construction=100, ef_search=64)
    single = index_files.create(tmp_path / "single", passages, vectors, model_info(DIMENSION), params)
    sharded = shards.create(tmp_path / "sharded", passages, vectors, model_info(DIMENSION), params, SHARDS)
    return single, sharded, vectors


def ids(results):
    return [[hit.id for hit in hits] for hits in results]


def test_a_sharded_dir_opens_as_an_index_and_partitions_by_id(pair):
    _, sharded, _ = pair
    reopened = open_index(sharded.path)
    assert isinstance(reopened, shards.ShardedIndex) and reopened.count == COUNT
    assert reopened.languages == ["de", "en", "sw", "yo"]
    for number, shard in enumerate(reopened.shards):
        live = [passage_id for passage_id in shard.ids if passage_id is not None]
        assert live and all(shards.shard_of(passage_id, SHARDS) == number for passage_id in live)
    record = json.loads((sharded.path / "shards.json").read_text())
    assert record["partition"] == {"function": "sha256-mod", "shards": SHARDS}
    assert sum(entry["count"] for entry in record["shards"]) == COUNT


def test_the_partition_is_a_stable_hash_of_the_id():
    assert [shards.shard_of(f"doc-{n}", 8) for n in range(6)] == [
        int.from_bytes(__import__("hashlib").sha256(f"doc-{n}".encode()).digest()[:8], "big") % 8 for n in range(6)]


@pytest.mark.parametrize("options", [
    {"languages": ["en", "de", "sw", "yo"]},  # every passage, answered by exact search
    {"languages": ["sw"]},
    {"rescore": True, "languages": ["yo", "en"]},
])
def test_exact_search_gives_the_same_hits_as_one_index(pair, options):
    single, sharded, _ = pair
    queries = random_unit_vectors(20, DIMENSION, seed=9)
    one = Searcher(single).search_vectors(queries, k=10, **options)
    many = Searcher(sharded).search_vectors(queries, k=10, **options)
    assert ids(many) == ids(one)
    np.testing.assert_allclose(many.scores, one.scores, rtol=0, atol=1e-6)
    assert [[hit.title for hit in hits] for hits in many] == [[hit.title for hit in hits] for hits in one]


def test_hnsw_recall_is_within_0_01_of_one_index(pair):
    single, sharded, vectors = pair
    queries = random_unit_vectors(200, DIMENSION, seed=11)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    true_ids = [{f"p{label}" for label in row} for row in truth]

    def recall(searcher):
        found = ids(searcher.search_vectors(queries, k=10, ef=32, with_text=False))
        return np.mean([len(set(row) & wanted) / 10 for row, wanted in zip(found, true_ids)])

    assert recall(Searcher(sharded)) >= recall(Searcher(single)) - 0.01


def test_k_filters_and_mistakes_behave_as_on_one_index(pair):
    single, sharded, _ = pair
    query = random_unit_vectors(1, DIMENSION, seed=5)
    for index in (single, sharded):
        searcher = Searcher(index)
        assert len(searcher.search_vectors(query, k=COUNT // 4, languages=["de"])[0]) == COUNT // 4
        with pytest.raises(EngineError, match=r"k=1201 is larger than the collection \(1200 passages\)"):
            searcher.search_vectors(query, k=COUNT + 1)
        with pytest.raises(EngineError, match=r"k=301 is larger than the passages in de \(300 passages\)"):
            searcher.search_vectors(query, k=301, languages=["de"])
        with pytest.raises(EngineError, match="no passages in 'fr'"):
            searcher.search_vectors(query, languages=["fr"])
        with pytest.raises(EngineError, match="unknown language code 'zzz'"):
            searcher.search_vectors(query, languages=["zzz"])
        with pytest.raises(EngineError, match="dimension 16"):
            searcher.search_vectors(np.ones((1, 8), np.float32))


def test_add_and_delete_route_to_the_shard_of_each_id(pair):
    _, sharded, _ = pair
    new = make_passages(40, start=COUNT)
    updated = index_files.add(sharded, new, random_unit_vectors(40, DIMENSION, seed=21))
    assert updated.count == COUNT + 40
    for passage in new:
        shard = updated.shards[shards.shard_of(passage.id, SHARDS)]
        assert passage.id in set(shard.ids)
    touched = {shards.shard_of(passage.id, SHARDS) for passage in new}
    generations = [entry["generation"] for entry in updated.record["shards"]]
    assert generations == [1 if number in touched else 0 for number in range(SHARDS)]
    gone = ["p0", "p1", f"p{COUNT + 3}"]
    after = index_files.delete(updated, gone)
    assert after.count == COUNT + 40 - 3 and not set(gone) & set(after.ids)
    assert sorted(path.name for path in sharded.path.iterdir() if path.name.startswith("shard-")) == sorted(
        entry["dir"] for entry in after.record["shards"])  # replaced generations are gone
    with pytest.raises(EngineError, match="already in index"):
        index_files.add(after, make_passages(1, start=5), random_unit_vectors(1, DIMENSION, seed=1))
    with pytest.raises(EngineError, match="not in index"):
        index_files.delete(after, ["p0"])


def test_a_searcher_sees_another_handles_writes(pair):
    _, sharded, _ = pair
    searcher = Searcher(open_index(sharded.path))
    index_files.delete(open_index(sharded.path), ["p4"])
    assert searcher.search_vectors(random_unit_vectors(1, DIMENSION, seed=2), k=5).ids.shape == (1, 5)
    assert searcher.index.count == COUNT - 1 and "p4" not in set(searcher.index.ids)


def test_a_writer_that_dies_before_its_commit_leaves_the_old_version(pair, monkeypatch):
    _, sharded, _ = pair
    monkeypatch.setattr(shards, "_write_record", lambda *args: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(EngineError, match="No space left"):
        index_files.add(sharded, make_passages(10, start=COUNT), random_unit_vectors(10, DIMENSION, seed=4))
    monkeypatch.undo()
    assert open_index(sharded.path).count == COUNT
    assert any(path.name.endswith("-g1") for path in sharded.path.iterdir())  # the orphan, until the next write
    after = index_files.delete(open_index(sharded.path), ["p7"])
    assert sorted(path.name for path in sharded.path.iterdir() if path.name.startswith("shard-")) == sorted(
        entry["dir"] for entry in after.record["shards"])


def test_a_missing_or_corrupted_shard_is_named(pair):
    _, sharded, _ = pair
    path = sharded.path
    record = json.loads((path / "shards.json").read_text())
    second = path / record["shards"][1]["dir"]
    (second / "manifest.json").write_text((second / "manifest.json").read_text().replace('"count"', '"count" '))
    with pytest.raises(EngineError, match=r"shard 1 \(.*shard-001-g0\).*does not match the manifest checksum"):
        open_index(path)
    shutil.rmtree(second)
    with pytest.raises(EngineError, match=r"shard 1 \(.*shard-001-g0\) of sharded index .* is missing"):
        open_index(path)


def test_a_damaged_shards_json_is_one_error(pair):
    path = pair[1].path
    record = json.loads((path / "shards.json").read_text())
    for damage, message in [({"count": 5}, "do not add up"), ({"partition": {"function": "sha256-mod", "shards": 3}},
                                                                 "lists 4 shards"),
                            ({"shards": [{"dir": "x"}]}, r"shards\[0\].generation: missing"),
                            ({"shards": [{**record["shards"][0], "languages": {"en": "many"}}, *record["shards"][1:]]},
                             r"shards\[0\].languages.en: must be int")]:
        (path / "shards.json").write_text(json.dumps({**record, **damage}))
        with pytest.raises(EngineError, match=message):
            open_index(path)
    (path / "shards.json").write_text("{")
    with pytest.raises(EngineError, match="corrupted"):
        open_index(path)
