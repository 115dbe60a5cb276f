"""`engine serve --ray`: the same app on Ray Serve replicas, in a real process with its own local Ray cluster."""

import shutil
import signal
import subprocess
import sys

import httpx
import pytest

from engine.encoder import Encoder
from engine.index import open_index
from engine.search import Searcher
from tests.service_runs import free_port, wait_ready

pytest.importorskip("ray", reason="the scale extra (Ray) is not installed")
START_TIMEOUT_S = 240


def test_two_replicas_on_ray_serve_answer_like_the_in_process_searcher(ray_cluster, index_dir, tiny_bundle, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(index_dir, index)
    port = free_port()
    log = tmp_path / "serve.log"
    # The test's own cluster, named by its address: `auto` would join whichever cluster this machine runs.
    address = ray_cluster.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "engine", "serve", f"main={index}", "--ray", address, "--replicas", "2",
               "--cpus-per-replica", "0.5", "--host", "127.0.0.1", "--port", str(port), "--threads", "1",
               "--api-key", "k"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(process, f"http://127.0.0.1:{port}", log, START_TIMEOUT_S)
        headers = {"Authorization": "Bearer k"}
        queries = ["moon river", "bread market city", "winter song"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
            replies = [http.post("/indexes/main/search", json={"queries": queries, "k": 5}) for _ in range(6)]
            refused = http.post("/indexes/main/search", json={"queries": queries, "k": "five"})
            unauthorised = httpx.post(f"http://127.0.0.1:{port}/indexes/main/search", json={"queries": ["x"]})
            added = http.post("/indexes/main/passages", json={"passages": [{"id": "new-1", "text": "moon", "lang": "en"}]})
        expected = Searcher(open_index(index), Encoder(tiny_bundle, variant="int8", intra_op_threads=1)).search(
            queries, k=5)
        for reply in replies:
            assert reply.status_code == 200, reply.text
            assert [[hit["id"] for hit in result["hits"]] for result in reply.json()["results"]] == \
                [[hit.id for hit in hits] for hits in expected]
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "k"
        assert unauthorised.status_code == 401
        assert added.status_code == 200 and open_index(index).count == 241
        process.send_signal(signal.SIGTERM)
        assert process.wait(120) == 0, log.read_text(errors="replace")[-3000:]
        assert "answered the requests in flight" in log.read_text(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(60)
