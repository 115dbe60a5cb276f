import itertools

import pytest

from engine.errors import EngineError
from train.pairs import Pair, PairGroup
from train.samplers import BATCHINGS, BatchSampler

LANGUAGES = ("en", "de", "sw", "yo")


def _groups(count=12):
    """Group n exists in the first 1 + n % 4 languages; texts name their group and language."""
    return [PairGroup(f"g{n}", {lang: Pair(f"q{n}-{lang}", f"p{n}-{lang}", (f"n{n}-{lang}",))
                                for lang in LANGUAGES[:1 + n % 4]}) for n in range(count)]


def _group_of(text):
    return text[1:].split("-")[0]


def _check_common(batch, size):
    assert len(batch) == size
    groups = [_group_of(pair.query) for pair in batch]
    assert len(set(groups)) == size
    for pair in batch:
        assert _group_of(pair.passage) == _group_of(pair.query)
        assert pair.query.endswith(pair.query_lang) and pair.passage.endswith(pair.passage_lang)
        assert pair.negatives == (f"n{_group_of(pair.query)}-{pair.passage_lang}",)


def _batches(batching, size=3, alpha=0.5, seed=0, count=60):
    return list(itertools.islice(BatchSampler(_groups(), size, batching, alpha, seed), count))


def test_x_x_mono_batches_are_one_language_chosen_among_all_with_enough_groups():
    batches = _batches("x-x-mono")
    for batch in batches:
        _check_common(batch, 3)
        assert len({pair.query_lang for pair in batch} | {pair.passage_lang for pair in batch}) == 1
    assert {batch[0].query_lang for batch in batches} == set(LANGUAGES)


def test_x_x_pairs_are_same_language_and_languages_mix():
    batches = _batches("x-x")
    for batch in batches:
        _check_common(batch, 3)
        assert all(pair.query_lang == pair.passage_lang for pair in batch)
    assert any(len({pair.query_lang for pair in batch}) > 1 for batch in batches)


def test_x_y_pairs_cross_languages_of_their_group():
    batches = _batches("x-y")
    for batch in batches:
        _check_common(batch, 3)
        assert all(pair.query_lang != pair.passage_lang for pair in batch)


@pytest.mark.parametrize("alpha, kinds", [(0.0, {"x-y"}), (1.0, {"mono"}), (0.5, {"mono", "x-y"})])
def test_hybrid_mixes_mono_and_cross_lingual_batches(alpha, kinds):
    seen = set()
    for batch in _batches("hybrid", alpha=alpha):
        _check_common(batch, 3)
        if all(pair.query_lang != pair.passage_lang for pair in batch):
            seen.add("x-y")
        else:
            assert len({pair.query_lang for pair in batch} | {pair.passage_lang for pair in batch}) == 1
            seen.add("mono")
    assert seen == kinds


@pytest.mark.parametrize("batching", BATCHINGS)
def test_seeded_and_resumable(batching):
    assert _batches(batching, seed=7) == _batches(batching, seed=7)
    assert _batches(batching, seed=7) != _batches(batching, seed=8)
    sampler = BatchSampler(_groups(), 3, batching, seed=7)
    sampler.next_batch()
    state = sampler.state()
    expected = [sampler.next_batch() for _ in range(5)]
    resumed = BatchSampler(_groups(), 3, batching, seed=123)
    resumed.load_state(state)
    assert [resumed.next_batch() for _ in range(5)] == expected


def test_language_restriction():
    sampler = BatchSampler(_groups(), 2, "x-y", languages=["en", "de"])
    for batch in itertools.islice(sampler, 20):
        assert {pair.query_lang for pair in batch} | {pair.passage_lang for pair in batch} <= {"en", "de"}
    with pytest.raises(EngineError, match="language 'fr' has no pairs"):
        BatchSampler(_groups(), 2, languages=["en", "fr"])


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 1.5}, "alpha must be between 0 and 1"),
    ({"alpha": -0.1}, "alpha must be between 0 and 1"),
    ({"batching": "x-z"}, "unknown batching"),
    ({"batch_size": 0}, "at least 1"),
    ({"batch_size": 13, "batching": "x-x"}, r"larger than the number of groups \(12\)"),
    ({"batch_size": 13, "batching": "x-x-mono"}, "no single-language batch"),
    ({"batch_size": 10, "batching": "x-y"}, r"two or more languages \(9\)"),
])
def test_bad_settings(kwargs, message):
    settings = {"batch_size": 3, **kwargs}
    with pytest.raises(EngineError, match=message):
        BatchSampler(_groups(), **settings)
