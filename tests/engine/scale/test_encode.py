"""Distributed build on a real local Ray cluster: the same index as an in-process build, a worker killed
mid-way, and failures that leave the previous index as it was."""

import json
import os
import signal
import threading
import time

import numpy as np
import psutil
import pytest

from engine.build import build_index
from engine.encoder import Encoder
from engine.errors import EngineError
from engine.index import HnswParams, open_index
from engine.scale.encode import RayEncoding, encode_with_ray
from engine.search import Searcher
from tests.service_runs import corpus_records, write_corpus


@pytest.fixture(scope="module")
def fp32_encoder(tiny_bundle):
    # fp32: a vector does not depend on which batch-mates it was encoded with (int8 quantises per batch)
    return Encoder(tiny_bundle, variant="fp32", intra_op_threads=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("ray-corpus") / "corpus.jsonl", corpus_records(600))


def test_ray_actors_encode_what_the_local_encoder_does(ray_cluster, fp32_encoder):
    texts = [record["text"] for record in corpus_records(300)]
    vectors = encode_with_ray(texts, fp32_encoder, RayEncoding(actors=2, rows_per_batch=64), "passage: ")
    np.testing.assert_allclose(vectors, fp32_encoder.encode(texts, "passage: "), atol=1e-5)


def test_a_sharded_build_on_ray_matches_one_local_index(ray_cluster, fp32_encoder, corpus, tmp_path):
    local = build_index(corpus, fp32_encoder, tmp_path / "local", HnswParams(M=16), quiet=True).index
    distributed = build_index(corpus, fp32_encoder, tmp_path / "ray", HnswParams(M=16), quiet=True, shards=3,
                              ray=RayEncoding(actors=2, rows_per_batch=100)).index
    assert distributed.count == local.count == 600 and len(distributed.shards) == 3
    queries = fp32_encoder.encode_queries(["moon river", "winter bread", "island song"])
    every_language = ["de", "en", "sw", "yo"]  # a filter this small is answered by exact search
    one = Searcher(local).search_vectors(queries, k=10, languages=every_language)
    many = Searcher(distributed).search_vectors(queries, k=10, languages=every_language)
    assert many.ids.tolist() == one.ids.tolist()
    np.testing.assert_allclose(many.scores, one.scores, atol=1e-5)


def test_a_worker_killed_mid_build_is_retried_by_ray(ray_cluster, fp32_encoder, tmp_path):
    corpus = write_corpus(tmp_path / "big.jsonl", corpus_records(3000))
    killed = []

    def kill_one_encoder_actor():
        """SIGKILL the first encoder actor's process (Ray titles it `ray::MapWorker(...)`) once it has begun."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for process in psutil.process_iter(["pid", "cmdline"]):
                if "MapWorker(MapBatches(_EncoderActor))" in " ".join(process.info["cmdline"] or []):
                    time.sleep(1.0)  # let it take batches first
                    os.kill(process.info["pid"], signal.SIGKILL)
                    killed.append(process.info["pid"])
                    return
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one_encoder_actor)
    killer.start()
    summary = build_index(corpus, fp32_encoder, tmp_path / "index", HnswParams(M=16), quiet=True, shards=2,
                          ray=RayEncoding(actors=2, rows_per_batch=50))
    killer.join(60)
    assert killed, "no encoder actor was found to kill"
    assert summary.index.count == 3000
    vectors = np.concatenate([np.asarray(shard.vectors) for shard in summary.index.shards])
    ids = np.concatenate([shard.ids for shard in summary.index.shards])
    texts = {record["id"]: f"{record['title']}. {record['text']}" for record in corpus_records(3000)}
    some = list(range(0, 3000, 97))
    np.testing.assert_allclose(vectors[some], fp32_encoder.encode_passages([texts[ids[row]] for row in some]),
                               atol=1e-5)


def test_a_bundle_the_workers_cannot_load_fails_cleanly_and_keeps_the_old_index(ray_cluster, tiny_bundle, corpus,
                                                                                 tmp_path):
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    encoder = Encoder(bundle, variant="fp32", intra_op_threads=1)
    build_index(corpus, encoder, tmp_path / "index", HnswParams(M=16), quiet=True, shards=2)
    before = json.loads((tmp_path / "index" / "shards.json").read_text())
    (bundle / "model.onnx").unlink()  # the driver's session is loaded; the workers' will not be
    with pytest.raises(EngineError, match="distributed encoding failed on a Ray worker: model bundle .* is missing model.onnx") as failure:
        build_index(corpus, encoder, tmp_path / "index", HnswParams(M=16), quiet=True, shards=2, overwrite=True,
                    ray=RayEncoding(actors=1, rows_per_batch=100))
    assert "\n" not in str(failure.value) and "Traceback" not in str(failure.value)
    assert json.loads((tmp_path / "index" / "shards.json").read_text()) == before
    assert open_index(tmp_path / "index").count == 600


def test_build_index_on_ray_from_the_command_line(ray_cluster, tiny_bundle, corpus, tmp_path):
    from tests.cli_runs import run_engine

    result = run_engine("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "index", "--shards", "2",
                        "--ray", "auto", "--ray-actors", "1", "--quiet")
    assert result.exit_code == 0, result.output
    assert "600 passages in 4 language(s)" in result.output
    assert open_index(tmp_path / "index").count == 600


def test_without_the_scale_extra_the_error_names_it(tiny_bundle, corpus, tmp_path, monkeypatch):
    import builtins

    from tests.cli_runs import assert_fails, run_engine

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    assert_fails(run_engine("build-index", corpus, "--model", tiny_bundle, "--out", tmp_path / "index", "--ray",
                            "auto"), "needs the scale extra", "pip install -e '.[scale]'")
