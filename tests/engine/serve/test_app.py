"""The service as a client sees it: a real `engine serve` process on 127.0.0.1."""

import json

import numpy as np
import openai
import pytest

from engine.encoder import Encoder
from engine.index import open_index
from engine.search import Searcher
from tests.service_runs import running_server

QUERIES = ["moon river", "bread market city", "winter song", "rain on the road", "forest fire island"]


@pytest.fixture(scope="module")
def local_searcher(index_dir, tiny_bundle):
    return Searcher(open_index(index_dir), Encoder(tiny_bundle, variant="int8", intra_op_threads=1))


@pytest.mark.parametrize("options", [
    {},
    {"k": 7, "languages": ["sw", "yo"]},
    {"k": 5, "rescore": True, "ef": 40},
    {"k": 3, "with_text": False},
])
def test_hits_are_those_of_the_in_process_searcher(server, local_searcher, options):
    with server.client() as http:
        reply = http.post("/indexes/main/search", json={"queries": QUERIES, **options})
    assert reply.status_code == 200, reply.text
    expected = local_searcher.search(QUERIES, k=options.get("k", 10), languages=options.get("languages"),
                                     ef=options.get("ef"), rescore=options.get("rescore", False),
                                     with_text=options.get("with_text", True))
    results = reply.json()["results"]
    assert [result["query"] for result in results] == QUERIES
    for result, hits in zip(results, expected):
        assert result["hits"] == [{"id": hit.id, "score": hit.score, "lang": hit.lang, "title": hit.title,
                                   "text": hit.text, "extra": hit.extra} for hit in hits]


def test_the_official_openai_client_gets_the_engines_embeddings(server, tiny_bundle):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    encoder = Encoder(tiny_bundle, variant="int8", intra_op_threads=1)
    texts = ["Maji safi huwaweka watu wakiwa na afya.", "Der Mond umkreist die Erde."]
    assert [model.id for model in client.models.list()] == ["tiny"]
    default = client.embeddings.create(model="tiny", input=texts)  # the client asks for base64 and decodes it
    assert [item.index for item in default.data] == [0, 1]
    np.testing.assert_allclose([item.embedding for item in default.data], encoder.encode_queries(texts), atol=1e-6)
    assert default.usage.prompt_tokens == sum(len(e.ids) for e in encoder.tokenize(texts, encoder.bundle.query_prefix))
    passage = client.embeddings.create(model="tiny", input=texts[0], encoding_format="float",
                                       extra_body={"input_type": "passage"})
    np.testing.assert_allclose(passage.data[0].embedding, encoder.encode_passages(texts[:1])[0], atol=1e-6)
    with pytest.raises(openai.NotFoundError, match="no model named 'nope'"):
        client.embeddings.create(model="nope", input="x")
    with pytest.raises(openai.BadRequestError, match="'dimensions' must be 32"):
        client.embeddings.create(model="tiny", input="x", dimensions=16)


def test_index_listing_and_info_match_the_manifest(server, index_dir):
    manifest = json.loads((index_dir / "manifest.json").read_text())
    with server.client() as http:
        listing = http.get("/indexes").json()["indexes"]
        info = http.get("/indexes/main").json()
    assert [entry["name"] for entry in listing] == ["main"]
    assert info["count"] == manifest["count"] == 240
    assert info["model"] == manifest["model"] and info["hnsw"] == manifest["hnsw"]
    assert info["languages"] == ["de", "en", "sw", "yo"] and info["model_name"] == "tiny"


def test_health_ready_and_metrics(server):
    with server.client() as http:
        assert http.get("/health").json() == {"status": "ok"}
        assert http.get("/ready").json()["status"] == "ready"
        http.post("/indexes/main/search", json={"queries": ["moon"]})
        metrics = http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    for family in ("engine_requests_total", "engine_request_seconds_bucket", "engine_batch_texts_bucket",
                   "engine_batch_requests_bucket", "engine_queue_texts", "engine_encode_seconds_bucket",
                   "engine_search_seconds_bucket"):
        assert family in text
    assert 'engine_requests_total{endpoint="search",status="200"}' in text


BAD_REQUESTS = [
    ("POST", "/indexes/main/search", b'{"queries": ["a"], "k": "ten"}', 400, "k"),
    ("POST", "/indexes/main/search", b'{"queries": ["a"], "k": 241}', 400, "k"),
    ("POST", "/indexes/main/search", b'{"queries": ["a"], "k": 1001}', 400, "k"),
    ("POST", "/indexes/main/search", b'{"queries": ["a"], "languages": ["fr"]}', 400, "languages"),
    ("POST", "/indexes/main/search", b'{"queries": ["a"], "languages": ["xx-"]}', 400, "languages"),
    ("POST", "/indexes/main/search", b'{"queries": [""]}', 400, "queries[0]"),
    ("POST", "/indexes/main/search", b'{"queries": ["a"], "extra": 1}', 400, "extra"),
    ("POST", "/indexes/main/search", b"not json", 400, None),
    ("POST", "/indexes/main/search", b"", 400, None),
    ("POST", "/indexes/main/search", b'{"queries": ["' + b"x" * 20_001 + b'"]}', 400, "queries[0]"),
    ("POST", "/indexes/nope/search", b'{"queries": ["a"]}', 404, "name"),
    ("POST", "/v1/embeddings", b'{"model": "tiny", "input": []}', 400, "input"),
    ("POST", "/indexes/main/passages", b'{"passages": [{"id": "p1", "text": "again"}]}', 409, "passages"),
    ("POST", "/indexes/main/passages", b'{"passages": [{"text": "no id"}]}', 400, "passages[0]"),
    ("DELETE", "/indexes/main/passages", b'{"ids": ["not-there"]}', 404, "ids"),
    ("GET", "/indexes/main/search", None, 405, None),
    ("GET", "/no/such/endpoint", None, 404, None),
]


@pytest.mark.parametrize("method, path, body, status, param", BAD_REQUESTS)
def test_each_bad_request_gets_its_4xx_naming_the_field(server, method, path, body, status, param):
    with server.client() as http:
        reply = http.request(method, path, content=body, headers={"content-type": "application/json"})
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["param"] == param and error["message"]
    assert "Traceback" not in reply.text


def test_an_oversized_body_is_refused_and_cors_is_on_only_when_asked(server, index_dir, tmp_path):
    origin = {"Origin": "http://app.example"}
    with server.client() as http:
        assert "access-control-allow-origin" not in http.get("/indexes", headers=origin).headers
    with running_server(tmp_path, f"main={index_dir}", "--max-body-bytes", "1000",
                        "--cors-origin", "http://app.example") as small:
        with small.client() as http:
            reply = http.post("/indexes/main/search", json={"queries": ["x" * 2000]})
            allowed = http.get("/indexes", headers=origin).headers
    assert reply.status_code == 413
    assert "over the limit of 1000 bytes" in reply.json()["error"]["message"]
    assert allowed["access-control-allow-origin"] == "http://app.example"


def test_the_api_key_is_required_except_for_health(index_dir, tmp_path):
    with running_server(tmp_path, f"main={index_dir}", env={"ENGINE_API_KEY": "s3cret"}) as guarded:
        with guarded.client() as http:
            missing = http.post("/indexes/main/search", json={"queries": ["moon"]})
            wrong = http.get("/indexes", headers={"Authorization": "Bearer nope"})
            right = http.post("/indexes/main/search", json={"queries": ["moon"]},
                              headers={"Authorization": "Bearer s3cret"})
            health = http.get("/health")
        client = openai.OpenAI(base_url=guarded.url + "/v1", api_key="s3cret", max_retries=0)
        assert len(client.embeddings.create(model="tiny", input="moon").data) == 1
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=guarded.url + "/v1", api_key="wrong", max_retries=0).models.list()
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"]["type"] == "authentication_error"
    assert right.status_code == 200 and health.status_code == 200
