"""engine.client against a real `engine serve` process."""

import shutil

import numpy as np
import pytest

from engine.client import EngineClient, ServiceError
from engine.corpus import Passage
from engine.encoder import Encoder
from engine.errors import EngineError
from tests.service_runs import free_port, running_server


@pytest.fixture(scope="module")
def served(index_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("client")
    shutil.copytree(index_dir, root / "index")
    with running_server(root, f"main={root / 'index'}", "--api-key", "k3y") as server:
        yield server


def test_search_embed_add_delete_and_info(served, tiny_bundle):
    encoder = Encoder(tiny_bundle, variant="int8", intra_op_threads=1)
    with EngineClient(served.url, api_key="k3y") as client:
        hits = client.search("main", ["moon river", "bread"], k=4, languages=["de"])
        assert [len(row) for row in hits] == [4, 4] and {hit.lang for row in hits for hit in row} == {"de"}
        assert hits[0][0].title and hits[0][0].extra["n"] >= 0
        np.testing.assert_allclose(client.embed(["moon"], model="tiny"), encoder.encode_queries(["moon"]), atol=1e-6)
        np.testing.assert_allclose(client.embed(["moon"], input_type="passage", model="tiny"),
                                   encoder.encode_passages(["moon"]), atol=1e-6)
        reply = client.add("main", [Passage(id="new-1", text="Mwezi huzunguka dunia", lang="sw", extra={"src": "t"}),
                                    {"id": "new-2", "text": "A máa se ìrẹsì"}], lang="yo")
        assert reply == {"added": 2, "count": 242, "truncated": 0}
        assert client.info("main")["languages"] == ["de", "en", "sw", "yo"]
        assert client.delete("main", ["new-1", "new-2"]) == {"deleted": 2, "count": 240}
        assert [entry["name"] for entry in client.info()["indexes"]] == ["main"]
        assert client.ready()


def test_refusals_raise_service_error_with_status_and_field(served):
    with EngineClient(served.url, api_key="k3y") as client:
        with pytest.raises(ServiceError) as caught:
            client.search("main", ["moon"], k=0)
        assert (caught.value.status, caught.value.param) == (400, "k")
        with pytest.raises(ServiceError, match="HTTP 404: no index named 'other'"):
            client.info("other")
    with EngineClient(served.url) as keyless, pytest.raises(ServiceError) as caught:
        keyless.search("main", ["moon"])
    assert caught.value.status == 401


def test_an_unreachable_service_is_one_engine_error():
    with EngineClient(f"http://127.0.0.1:{free_port()}", timeout=2) as client:
        with pytest.raises(EngineError, match="cannot reach the engine service"):
            client.info()
