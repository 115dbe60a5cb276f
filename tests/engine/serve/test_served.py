"""Live writes through the service: add and delete while clients search, and kill -9 during an add."""

import shutil
import signal
import threading
import time

import httpx
import pytest

from engine.index import open_index
from tests.service_runs import corpus_records, running_server

SEARCH_CLIENTS = 8
SEARCHES_PER_CLIENT = 60  # bounded in count, and by SEARCH_SECONDS in time
SEARCH_SECONDS = 60


@pytest.fixture
def writable_index(index_dir, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    return copy


def test_adds_and_deletes_while_eight_clients_search(writable_index, tmp_path):
    failures, answered = [], []
    stop = threading.Event()

    def search_loop(client_number):
        deadline = time.monotonic() + SEARCH_SECONDS
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for round_number in range(SEARCHES_PER_CLIENT):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                reply = http.post("/indexes/main/search",
                                  json={"queries": [f"moon river {client_number} {round_number}"], "k": 5})
                if reply.status_code != 200 or len(reply.json()["results"][0]["hits"]) != 5:
                    failures.append((reply.status_code, reply.text[:200]))
                answered.append(1)

    with running_server(tmp_path, f"main={writable_index}") as server:
        clients = [threading.Thread(target=search_loop, args=(n,)) for n in range(SEARCH_CLIENTS)]
        for thread in clients:
            thread.start()
        expected = {f"p{n}" for n in range(240)}
        try:
            with server.client() as http:
                for round_number in range(4):
                    added = corpus_records(30, start=1000 + 30 * round_number)
                    reply = http.post("/indexes/main/passages", json={"passages": added})
                    assert reply.status_code == 200, reply.text
                    expected |= {record["id"] for record in added}
                    gone = [f"p{n}" for n in range(round_number * 10, round_number * 10 + 10)]
                    reply = http.request("DELETE", "/indexes/main/passages", json={"ids": gone})
                    assert reply.status_code == 200, reply.text
                    expected -= set(gone)
                    assert reply.json()["count"] == len(expected)
                english = {passage_id for passage_id in expected if int(passage_id[1:]) % 4 == 0}  # LANGS[0]
                visible = _ids_in_language(http, "en", len(english))
        finally:
            stop.set()
            for thread in clients:
                thread.join(SEARCH_SECONDS)
    assert failures == []
    assert len(answered) >= SEARCH_CLIENTS  # every client searched while the writes ran
    assert visible == english  # searches after the writes see them, without a restart
    with open_index(writable_index) as index:
        assert index.count == len(expected)
        assert set(index.ids[index.ids != None]) == expected  # noqa: E711


def _ids_in_language(http, lang: str, count: int) -> set[str]:
    """The `count` passages in `lang` the running service sees (a filter this small is answered by exact
    search; a k larger than the passages it allows is refused)."""
    reply = http.post("/indexes/main/search",
                      json={"queries": ["anything"], "languages": [lang], "k": count, "with_text": False})
    assert reply.status_code == 200, reply.text
    return {hit["id"] for hit in reply.json()["results"][0]["hits"]}


@pytest.mark.parametrize("delay_s", [0.2, 0.8])
def test_kill_9_during_an_add_leaves_the_index_intact(writable_index, tmp_path, delay_s):
    added = corpus_records(4000, start=5000)
    with running_server(tmp_path, f"main={writable_index}", "--max-passages", "5000") as server:
        def add():
            try:
                httpx.post(server.url + "/indexes/main/passages", json={"passages": added}, timeout=60)
            except httpx.HTTPError:
                pass  # the server died under it: that is the point

        writer = threading.Thread(target=add)
        writer.start()
        time.sleep(delay_s)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(30)
        writer.join(60)
    with open_index(writable_index) as index:
        assert index.count in (240, 240 + len(added))
        assert {f"p{n}" for n in range(240)} <= set(index.ids[index.ids != None])  # noqa: E711
    assert not [path for path in writable_index.parent.iterdir() if path.name.startswith(".index.tmp")]


def test_a_sharded_index_is_served_like_one(tmp_path, tiny_bundle):
    from engine.build import build_index
    from engine.encoder import Encoder
    from engine.index import HnswParams
    from engine.search import Searcher
    from engine.shards import shard_of
    from tests.service_runs import write_corpus

    encoder = Encoder(tiny_bundle, variant="int8", intra_op_threads=1)
    build_index(write_corpus(tmp_path / "c.jsonl", corpus_records(120)), encoder, tmp_path / "sharded",
                HnswParams(M=16), quiet=True, shards=3)
    with running_server(tmp_path, f"main={tmp_path / 'sharded'}") as server, server.client() as http:
        reply = http.post("/indexes/main/search", json={"queries": ["moon river", "winter"], "k": 6})
        expected = Searcher(open_index(tmp_path / "sharded"), encoder).search(["moon river", "winter"], k=6)
        assert [[hit["id"] for hit in result["hits"]] for result in reply.json()["results"]] == \
            [[hit.id for hit in hits] for hits in expected]
        added = http.post("/indexes/main/passages", json={"passages": corpus_records(5, start=500)})
        assert (added.json()["added"], added.json()["count"]) == (5, 125)
        assert http.request("DELETE", "/indexes/main/passages", json={"ids": ["p0"]}).json()["count"] == 124
        assert len(http.get("/indexes/main").json()["shards"]) == 3
    with open_index(tmp_path / "sharded") as index:
        for number in range(500, 505):
            assert f"p{number}" in set(index.shards[shard_of(f"p{number}", 3)].ids)
