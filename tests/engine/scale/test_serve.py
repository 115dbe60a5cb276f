"""`engine serve --ray`: the same app on Ray Serve replicas, and sharded indexes searched by shard-group
deployments, each in a real process on the tests' local Ray cluster."""

import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager

import httpx
import pytest

from engine.build import build_index
from engine.encoder import Encoder
from engine.index import HnswParams, open_index
from engine.search import Searcher
from tests.service_runs import corpus_records, free_port, wait_ready, write_corpus

pytest.importorskip("ray", reason="the scale extra (Ray) is not installed")
START_TIMEOUT_S = 240
QUERIES = ["moon river", "bread market city", "winter song"]


@contextmanager
def served_on_ray(ray_cluster, index, tmp_path, *options):
    """An `engine serve --ray` process on the tests' cluster (named by its address: `auto` would join
    whichever cluster this machine runs), stopped by SIGTERM, which must drain and exit 0."""
    port = free_port()
    log = tmp_path / "serve.log"
    address = ray_cluster.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "engine", "serve", f"main={index}", "--ray", address, "--host", "127.0.0.1",
               "--port", str(port), "--threads", "1", "--api-key", "k", *options]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(process, f"http://127.0.0.1:{port}", log, START_TIMEOUT_S)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer k"},
                          timeout=60) as http:
            yield http
        process.send_signal(signal.SIGTERM)
        assert process.wait(120) == 0, log.read_text(errors="replace")[-3000:]
        assert "answered the requests in flight" in log.read_text(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(60)


def hit_ids(reply) -> list[list[str]]:
    assert reply.status_code == 200, reply.text
    return [[hit["id"] for hit in result["hits"]] for result in reply.json()["results"]]


def expected_ids(index, bundle, **options) -> list[list[str]]:
    searcher = Searcher(open_index(index), Encoder(bundle, variant="int8", intra_op_threads=1))
    return [[hit.id for hit in hits] for hits in searcher.search(QUERIES, **options)]


def test_two_replicas_on_ray_serve_answer_like_the_in_process_searcher(ray_cluster, index_dir, tiny_bundle, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    with served_on_ray(ray_cluster, index, tmp_path, "--replicas", "2", "--cpus-per-replica", "0.5") as http:
        replies = [http.post("/indexes/main/search", json={"queries": QUERIES, "k": 5}) for _ in range(6)]
        refused = http.post("/indexes/main/search", json={"queries": QUERIES, "k": "five"})
        unauthorised = httpx.post(http.base_url.join("/indexes/main/search"), json={"queries": ["x"]})
        added = http.post("/indexes/main/passages", json={"passages": [{"id": "new-1", "text": "moon", "lang": "en"}]})
    expected = expected_ids(index_dir, tiny_bundle, k=5)  # the index as it was before the add
    assert [hit_ids(reply) for reply in replies] == [expected] * len(replies)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "k"
    assert unauthorised.status_code == 401
    assert added.status_code == 200 and open_index(index).count == 241


def test_shard_groups_search_a_sharded_index_like_the_in_process_searcher(ray_cluster, tiny_bundle, tmp_path):
    index = tmp_path / "sharded"
    corpus = write_corpus(tmp_path / "corpus.jsonl", corpus_records(240))
    build_index(corpus, Encoder(tiny_bundle, variant="int8", intra_op_threads=1), index, HnswParams(M=16),
                quiet=True, shards=3)
    expected = expected_ids(index, tiny_bundle, k=5)
    expected_filtered = expected_ids(index, tiny_bundle, k=4, languages=["de", "sw"])
    with served_on_ray(ray_cluster, index, tmp_path, "--cpus-per-replica", "0.5", "--shard-groups", "2",
                       "--cpus-per-group", "0.5") as http:
        every_language = http.post("/indexes/main/search", json={"queries": QUERIES, "k": 5})
        filtered = http.post("/indexes/main/search", json={"queries": QUERIES, "k": 4, "languages": ["de", "sw"]})
        too_many = http.post("/indexes/main/search", json={"queries": QUERIES, "k": 241})
        added = http.post("/indexes/main/passages", json={"passages": [{"id": "new-1", "text": "moon river",
                                                                        "lang": "en"}]})
        after_add = http.post("/indexes/main/search", json={"queries": ["moon river"], "k": 241})
    assert hit_ids(every_language) == expected
    assert hit_ids(filtered) == expected_filtered
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "k"
    assert added.status_code == 200 and open_index(index).count == 241
    assert "new-1" in hit_ids(after_add)[0] and len(set(hit_ids(after_add)[0])) == 241


def test_shard_groups_need_a_sharded_index_and_ray(index_dir, tmp_path):
    for options, message in [(["--ray", "auto", "--shard-groups", "2"], "--shard-groups needs a sharded index"),
                             (["--shard-groups", "2"], "--shard-groups needs --ray")]:
        done = subprocess.run([sys.executable, "-m", "engine", "serve", str(index_dir), "--port", str(free_port()),
                               *options], capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr
