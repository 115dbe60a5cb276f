import numpy as np
import pytest

from engine.batching import batch_bounds
from engine.encoder import Encoder
from engine.errors import EngineError

TEXTS = ["short", "a much longer text with many more words in it than the others have", "mid length text",
         "x", "another fairly long sentence, to make a second long batch of texts", ""]


def test_batch_bounds_respect_rows_and_token_budget():
    lengths = np.array([4, 4, 4, 10, 10, 30, 200])
    assert batch_bounds(lengths, max_rows=2, token_budget=1000) == [(0, 2), (2, 4), (4, 6), (6, 7)]
    assert batch_bounds(lengths, max_rows=32, token_budget=40) == [(0, 4), (4, 5), (5, 6), (6, 7)]
    assert batch_bounds(lengths, max_rows=3, token_budget=0) == [(0, 3), (3, 6), (6, 7)]  # rows only
    assert batch_bounds(np.array([], dtype=np.int64), 32, 40) == []


def test_every_token_budget_gives_the_same_vectors_in_input_order(tiny_bundle):
    fixed = Encoder(tiny_bundle, variant="fp32", batch_size=4, token_budget=0)
    expected = np.stack([fixed.encode_passages([text])[0] for text in TEXTS])
    for budget in (0, 16, 1024):
        encoder = Encoder(tiny_bundle, variant="fp32", batch_size=4, token_budget=budget)
        assert encoder.encode_passages(TEXTS) == pytest.approx(expected, abs=1e-5)


def test_progress_is_told_each_batch(tiny_bundle):
    seen = []
    Encoder(tiny_bundle, variant="fp32", batch_size=4, token_budget=16).encode_passages(TEXTS, progress=seen.append)
    assert sum(seen) == len(TEXTS) and len(seen) > 2


def test_cpu_default_is_the_token_budget(tiny_bundle):
    assert Encoder(tiny_bundle, device="cpu").token_budget == 1024


@pytest.mark.parametrize("settings, message", [({"batch_size": 0}, "batch size must be positive"),
                                                ({"token_budget": -1}, "token budget must be 0")])
def test_bad_batching_settings(tiny_bundle, settings, message):
    with pytest.raises(EngineError, match=message):
        Encoder(tiny_bundle, **settings)
