"""Start-up refusals, backpressure and shutdown of the real server process."""

import signal
import socket
import threading
import time

import httpx
import pytest

from tests.cli_runs import assert_fails
from tests.cli_runs import run_engine as run
from tests.service_runs import STOP_TIMEOUT_S, running_server


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(index_dir, tmp_path):
    # A batch that waits 1.5 s for company keeps the request in flight while SIGTERM arrives.
    with running_server(tmp_path, f"main={index_dir}", "--max-wait-ms", "1500") as server:
        replies = []
        asker = threading.Thread(target=lambda: replies.append(
            httpx.post(server.url + "/indexes/main/search", json={"queries": ["moon"]}, timeout=30)))
        asker.start()
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        asker.join(30)
        assert server.process.wait(STOP_TIMEOUT_S) == 0
        assert replies[0].status_code == 200 and len(replies[0].json()["results"][0]["hits"]) == 10
        assert "requests in flight were answered" in server.output()
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/health", timeout=2)


def test_a_full_queue_gets_429_with_retry_after_and_a_slow_answer_504(index_dir, tmp_path):
    with running_server(tmp_path, f"main={index_dir}", "--max-queue", "4", "--max-queries", "4",
                        "--max-batch", "64", "--max-wait-ms", "1500", "--request-timeout-s", "0.6") as server:
        replies = []
        first = threading.Thread(target=lambda: replies.append(
            httpx.post(server.url + "/indexes/main/search", json={"queries": ["a", "b", "c"]}, timeout=30)))
        first.start()
        time.sleep(0.2)
        refused = httpx.post(server.url + "/indexes/main/search", json={"queries": ["d", "e"]}, timeout=30)
        first.join(30)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "queue of model 'tiny' is full" in refused.json()["error"]["message"]
    assert replies[0].status_code == 504
    assert "no answer within 0.6 s" in replies[0].json()["error"]["message"]


def test_a_non_loopback_host_needs_a_key_or_insecure(index_dir):
    assert_fails(run("serve", index_dir, "--host", "0.0.0.0"), "reachable from other machines", "--api-key")


def test_a_busy_port_is_one_error(index_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_fails(run("serve", index_dir, "--port", port), f"cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize("args, message", [
    (["a=x", "a=y"], "two indexes are named 'a'"),
    (["bad name=x"], "index name 'bad name'"),
    (["{index}", "--max-queue", "8"], "--max-queue (8) must be at least --max-queries (256)"),
    (["{index}", "--max-k", "0"], "--max-k must be positive"),
    (["missing-dir"], "does not exist"),
])
def test_bad_arguments_fail_before_serving(index_dir, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert_fails(run("serve", *[arg.format(index=index_dir) for arg in args], "--port", "0"), message)
