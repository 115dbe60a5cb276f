"""The embedding cache."""

import numpy as np
import pytest

from engine.encoder import Encoder
from engine.evaluation.embedding_cache import EmbeddingCache

TEXTS = ["short", "a much longer text with many more words in it than the others have", "mid length text",
         "x", "another fairly long sentence, to make a second long batch of texts", ""]


@pytest.fixture(scope="module")
def encoder(tiny_bundle):
    return Encoder(tiny_bundle, variant="fp32", batch_size=4)


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
