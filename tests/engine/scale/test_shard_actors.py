"""Shards searched by Ray actors give the hits of shards searched by threads, follow writes, and name a
shard that fails."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from engine import index as index_files
from engine import shards
from engine.build import build_index
from engine.cli import main
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.index import HnswParams, open_index
from engine.scale.shard_actors import RemoteShards
from engine.search import Searcher
from tests.engine.conftest import make_passages, model_info, random_unit_vectors
from tests.service_runs import corpus_records, write_corpus

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
    local, far = Searcher(sharded), Searcher(open_index(sharded.path, load_shards=False), shard_parts=remote)
    for options in ({}, {"languages": ["sw", "yo"], "k": 7}, {"rescore": True, "ef": 20}):
        near, away = local.search_vectors(queries, **options), far.search_vectors(queries, **options)
        assert away.ids.tolist() == near.ids.tolist()
        np.testing.assert_array_equal(away.scores, near.scores)
        assert [[hit.title for hit in hits] for hits in away] == [[hit.title for hit in hits] for hits in near]
    with pytest.raises(EngineError, match=r"k=801 is larger than the collection \(800 passages\)"):
        far.search_vectors(queries, k=COUNT + 1)
    assert far.index._shards is None  # this process never loaded a shard: the actors hold them


def test_actors_follow_a_write_to_the_new_generation(sharded, remote):
    searcher = Searcher(open_index(sharded.path, load_shards=False), shard_parts=remote)
    query = random_unit_vectors(1, DIMENSION, seed=2)
    searcher.search_vectors(query, k=5)
    index_files.delete(open_index(sharded.path), ["p1", "p2"])
    index_files.add(open_index(sharded.path), make_passages(5, start=COUNT), random_unit_vectors(5, DIMENSION, seed=9))
    every = searcher.search_vectors(query, k=COUNT + 3, ef=COUNT + 3, languages=["en", "de", "sw", "yo"])
    assert len(set(every.ids[0])) == COUNT + 3 and not {"p1", "p2"} & set(every.ids[0])


def test_a_shard_an_actor_cannot_open_is_named(sharded, remote, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(sharded.path, copy)
    index = open_index(copy, load_shards=False)
    shutil.rmtree(copy / index.record["shards"][2]["dir"])
    with pytest.raises(EngineError, match=r"shard 2 \(.*shard-002-g0\) could not be opened by a Ray actor"):
        Searcher(index, shard_parts=remote)


def test_engine_search_with_ray_asks_actors_and_prints_the_local_hits(ray_cluster, tiny_bundle, index_dir, tmp_path):
    index = tmp_path / "sharded-corpus"
    corpus = write_corpus(tmp_path / "corpus.jsonl", corpus_records(120))
    build_index(corpus, Encoder(tiny_bundle, variant="int8", intra_op_threads=1), index, HnswParams(M=16),
                quiet=True, shards=2)
    address = ray_cluster.get_runtime_context().gcs_address
    search = ["search", str(index), "moon river", "winter song", "-k", "7", "--lang", "de,sw", "--json"]
    here = CliRunner().invoke(main, search)
    away = CliRunner().invoke(main, [*search, "--ray", address, "--ray-cpus-per-shard", "0.5"])
    assert here.exit_code == 0 and away.exit_code == 0, away.output

    def ids(result):
        return [[hit["id"] for hit in query["hits"]] for query in json.loads(result.output)["results"]]

    assert ids(away) == ids(here) and len(ids(here)[0]) == 7
    unsharded = CliRunner().invoke(main, ["search", str(index_dir), "moon", "--ray", address])
    assert unsharded.exit_code == 1 and "--ray searches the shards of a sharded index" in unsharded.output
