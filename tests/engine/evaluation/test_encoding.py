"""Token-budget batching and the embedding cache."""

import numpy as np
import pytest

from engine.encoder import Encoder
from engine.evaluation.embedding_cache import EmbeddingCache
from engine.evaluation.encoding import batch_bounds, encode_texts

TEXTS = ["short", "a much longer text with many more words in it than the others have", "mid length text",
         "x", "another fairly long sentence, to make a second long batch of texts", ""]


def test_batch_bounds_respect_rows_and_token_budget():
    lengths = np.array([4, 4, 4, 10, 10, 30, 200])
    assert batch_bounds(lengths, max_rows=2, token_budget=1000) == [(0, 2), (2, 4), (4, 6), (6, 7)]
    assert batch_bounds(lengths, max_rows=32, token_budget=40) == [(0, 4), (4, 5), (5, 6), (6, 7)]
    assert batch_bounds(np.array([], dtype=np.int64), 32, 40) == []


@pytest.fixture(scope="module")
def encoder(tiny_bundle):
    return Encoder(tiny_bundle, variant="fp32", batch_size=4)


def test_encode_texts_matches_the_encoder(encoder):
    expected = encoder.encode_passages(TEXTS)
    assert encode_texts(encoder, TEXTS, encoder.bundle.passage_prefix, token_budget=16) == pytest.approx(expected, abs=1e-5)
    seen = []
    encode_texts(encoder, TEXTS, "passage: ", progress=seen.append, token_budget=16)
    assert sum(seen) == len(TEXTS) and len(seen) > 2


def test_cache_round_trip_and_stale_or_corrupt_entries(encoder):
    cache = EmbeddingCache(encoder)
    vectors = np.arange(len(TEXTS) * encoder.dimension, dtype=np.float32).reshape(len(TEXTS), -1)
    assert cache.load("demo-en-queries", TEXTS, "query: ") is None
    cache.store("demo-en-queries", TEXTS, "query: ", vectors)
    assert cache.directory.name == f"{encoder.bundle.fingerprint[:16]}-fp32"
    assert (cache.load("demo-en-queries", TEXTS, "query: ") == vectors).all()
    assert cache.load("demo-en-queries", TEXTS[:-1], "query: ") is None  # other texts
    assert cache.load("demo-en-queries", TEXTS, "passage: ") is None  # other prefix
    vectors_file = cache.directory / "demo-en-queries.npy"
    vectors_file.write_bytes(vectors_file.read_bytes()[:-8] + b"\0" * 8)
    assert cache.load("demo-en-queries", TEXTS, "query: ") is None  # checksum no longer matches
    (cache.directory / "demo-en-queries.json").write_text("{broken", encoding="utf-8")
    assert cache.load("demo-en-queries", TEXTS, "query: ") is None


def test_disabled_cache_writes_nothing(encoder):
    cache = EmbeddingCache(encoder, enabled=False)
    cache.store("demo", TEXTS, "", np.zeros((len(TEXTS), encoder.dimension), dtype=np.float32))
    assert not cache.directory.exists() and cache.load("demo", TEXTS, "") is None
