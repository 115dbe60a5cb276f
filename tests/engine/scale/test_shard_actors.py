"""Shards searched by Ray actors give the hits of shards searched by threads, follow writes, and name a
shard that fails."""

import shutil

import numpy as np
import pytest

from engine import index as index_files
from engine import shards
from engine.errors import EngineError
from engine.index import HnswParams, open_index
from engine.scale.shard_actors import RemoteShards
from engine.search import Searcher
from tests.engine.conftest import make_passages, model_info, random_unit_vectors

COUNT, DIMENSION = 800, 16


@pytest.fixture
def sharded(tmp_path):
    vectors = random_unit_vectors(COUNT, DIMENSION, seed=3)
    return shards.create(tmp_path / "sharded", make_passages(COUNT), vectors, model_info(DIMENSION),
                         HnswParams(M=16, ef_construction=100), 3)


@pytest.fixture
def remote(ray_cluster):
    parts = RemoteShards(cpus_per_shard=0.5)
    yield parts
    parts.close()


def test_actors_give_the_hits_of_local_shards(sharded, remote):
    queries = random_unit_vectors(12, DIMENSION, seed=8)
    local, far = Searcher(sharded), Searcher(open_index(sharded.path), shard_parts=remote)
    for options in ({}, {"languages": ["sw", "yo"], "k": 7}, {"rescore": True, "ef": 20}):
        near, away = local.search_vectors(queries, **options), far.search_vectors(queries, **options)
        assert away.ids.tolist() == near.ids.tolist()
        np.testing.assert_array_equal(away.scores, near.scores)
        assert [[hit.title for hit in hits] for hits in away] == [[hit.title for hit in hits] for hits in near]
    with pytest.raises(EngineError, match=r"k=801 is larger than the collection \(800 passages\)"):
        far.search_vectors(queries, k=COUNT + 1)


def test_actors_follow_a_write_to_the_new_generation(sharded, remote):
    searcher = Searcher(open_index(sharded.path), shard_parts=remote)
    query = random_unit_vectors(1, DIMENSION, seed=2)
    searcher.search_vectors(query, k=5)
    index_files.delete(open_index(sharded.path), ["p1", "p2"])
    index_files.add(open_index(sharded.path), make_passages(5, start=COUNT), random_unit_vectors(5, DIMENSION, seed=9))
    every = searcher.search_vectors(query, k=COUNT + 3, ef=COUNT + 3, languages=["en", "de", "sw", "yo"])
    assert len(set(every.ids[0])) == COUNT + 3 and not {"p1", "p2"} & set(every.ids[0])


def test_a_shard_an_actor_cannot_open_is_named(sharded, remote, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sharded.path, copy)
    index = open_index(copy)
    shutil.rmtree(copy / index.record["shards"][2]["dir"])
    with pytest.raises(EngineError, match=r"shard 2 \(.*shard-002-g0\) could not be opened by its Ray actor"):
        Searcher(index, shard_parts=remote)
