import asyncio

import numpy as np
import pytest

from engine.encoder import Encoder
from engine.index import open_index
from engine.search import Searcher
from engine.serve.batcher import MicroBatcher, QueueFull, RequestTimeout, SearchTask
from engine.serve.metrics import ServiceMetrics
from engine.serve.requests import SearchParams
from engine.serve.settings import Batching


@pytest.fixture(scope="module")
def encoder(tiny_bundle):
    return Encoder(tiny_bundle, variant="fp32", intra_op_threads=1)


def run_batcher(encoder, settings, scenario):
    """Run `scenario(batcher)` on a fresh event loop with a started batcher; returns its result and metrics."""
    metrics = ServiceMetrics()

    async def main():
        batcher = MicroBatcher("tiny", encoder, settings, metrics)
        batcher.start()
        try:
            return await scenario(batcher)
        finally:
            await batcher.stop()

    return asyncio.run(main()), metrics


def observed(metrics, name, model="tiny"):
    """(count, sum) of a histogram's observations."""
    get = metrics.registry.get_sample_value
    return get(f"{name}_count", {"model": model}), get(f"{name}_sum", {"model": model})


def test_concurrent_requests_are_encoded_in_one_batch_with_the_same_vectors(encoder):
    texts = [[f"request {n} text {'word ' * n}"] for n in range(8)]

    async def scenario(batcher):
        return await asyncio.gather(*(batcher.embed(batch, "query: ") for batch in texts))

    results, metrics = run_batcher(encoder, Batching(max_batch=32, max_wait_ms=200), scenario)
    assert observed(metrics, "engine_batch_requests") == (1.0, 8.0)
    assert observed(metrics, "engine_batch_texts") == (1.0, 8.0)
    for batch, result in zip(texts, results):
        np.testing.assert_allclose(result.vectors, encoder.encode(batch, "query: "), atol=1e-5)
        assert result.tokens == len(encoder.tokenize(batch, "query: ")[0].ids)


def test_a_batch_stops_at_max_batch_texts(encoder):
    async def scenario(batcher):
        return await asyncio.gather(*(batcher.embed([f"text {n}"] * 3, "") for n in range(4)))

    _, metrics = run_batcher(encoder, Batching(max_batch=6, max_wait_ms=100), scenario)
    assert observed(metrics, "engine_batch_texts") == (2.0, 12.0)


def test_searches_with_other_parameters_in_one_batch_get_their_own_hits(encoder, tmp_path, tiny_bundle):
    from engine.build import build_index
    from tests.service_runs import corpus_records, write_corpus

    build_index(write_corpus(tmp_path / "c.jsonl", corpus_records(60)), encoder, tmp_path / "index", quiet=True)
    searcher = Searcher(open_index(tmp_path / "index"), encoder)
    asks = [(["moon river"], SearchParams(k=3)), (["rain", "bread city"], SearchParams(k=5, languages=("sw",))),
            (["moon river"], SearchParams(k=3, with_text=False))]

    async def scenario(batcher):
        return await asyncio.gather(*(batcher.search(queries, "query: ", SearchTask("main", searcher, params))
                                      for queries, params in asks))

    results, metrics = run_batcher(encoder, Batching(max_wait_ms=200), scenario)
    assert observed(metrics, "engine_batch_requests") == (1.0, 3.0)
    for (queries, params), rows in zip(asks, results):
        expected = searcher.search(queries, k=params.k, languages=list(params.languages or []) or None)
        assert [[hit["id"] for hit in row] for row in rows] == [[hit.id for hit in hits] for hits in expected]
        np.testing.assert_allclose([[hit["score"] for hit in row] for row in rows], expected.scores, atol=1e-5)
        assert all(bool(hit["text"]) == params.with_text for row in rows for hit in row)


def test_a_full_queue_refuses_and_a_slow_answer_times_out(encoder):
    async def scenario(batcher):
        first = asyncio.ensure_future(batcher.embed(["a", "b", "c"], ""))
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFull, match="queue of model 'tiny' is full"):
            await batcher.embed(["d", "e"], "")
        with pytest.raises(RequestTimeout, match="no answer within 0.3 s"):
            await first
        return batcher.queued_texts

    queued_after_timeout, _ = run_batcher(
        encoder, Batching(max_batch=64, max_wait_ms=600, max_queue=4, request_timeout_s=0.3), scenario)
    assert queued_after_timeout == 3  # the timed-out job still holds its place until its batch is dropped


def test_an_encoder_failure_reaches_every_request_of_the_batch(encoder):
    class Broken:
        def tokenize(self, texts, prefix):
            raise RuntimeError("broken encoder")

    async def scenario(batcher):
        return await asyncio.gather(batcher.embed(["a"], ""), batcher.embed(["b"], ""), return_exceptions=True)

    results, _ = run_batcher(Broken(), Batching(max_wait_ms=100), scenario)
    assert [str(error) for error in results] == ["broken encoder"] * 2
