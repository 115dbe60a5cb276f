"""The anchoring terms and the sampler of translation pairs."""

import pytest
import torch

from engine.errors import EngineError
from train.anchoring import AlignSampler, anchor_distance, total_loss
from train.translations import TranslationGroup

GROUPS = [TranslationGroup(f"g{n}", {"en": f"en {n}", "sw": f"sw {n}", "yo": f"yo {n}"}) for n in range(6)]


def test_anchor_distance_of_unit_vectors_is_two_minus_twice_the_cosine():
    student = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    teacher = torch.nn.functional.normalize(torch.randn(5, 8), dim=-1)
    expected = (2 - 2 * (student * teacher).sum(dim=-1)).mean()
    assert anchor_distance(student, teacher).item() == pytest.approx(expected.item(), abs=1e-6)
    assert anchor_distance(teacher, teacher).item() == 0.0


def test_total_loss_weights_the_anchoring_terms():
    terms = {"contrastive": torch.tensor(1.0), "keep": torch.tensor(0.2), "align": torch.tensor(0.3)}
    assert total_loss(terms, 10.0).item() == pytest.approx(6.0)
    assert total_loss({"contrastive": torch.tensor(1.0)}, 10.0).item() == 1.0


def test_batches_hold_distinct_groups_with_a_source_and_another_language():
    sampler = AlignSampler(GROUPS, batch_size=6, seed=1)
    for _ in range(5):
        batch = sampler.next_batch()
        assert sorted(source for source, _ in batch) == [f"en {n}" for n in range(6)]
        for source, target in batch:
            assert target.split()[0] in ("sw", "yo") and target.split()[1] == source.split()[1]


def test_state_resumes_the_same_draws():
    first = AlignSampler(GROUPS, batch_size=3, seed=4)
    first.next_batch()
    state = first.state()
    expected = [first.next_batch() for _ in range(3)]
    second = AlignSampler(GROUPS, batch_size=3, seed=99)
    second.load_state(state)
    assert [second.next_batch() for _ in range(3)] == expected


def test_languages_restrict_the_targets_and_bad_requests_are_errors():
    sampler = AlignSampler(GROUPS, batch_size=2, languages=["yo"])
    assert all(target.startswith("yo") for source, target in sampler.next_batch())
    with pytest.raises(EngineError, match="has no parallel sentences in 'te'"):
        AlignSampler(GROUPS, batch_size=2, languages=["te"])
    with pytest.raises(EngineError, match="6 group\\(s\\) with a 'en' sentence and a translation, fewer than the "
                                          "align batch size 7"):
        AlignSampler(GROUPS, batch_size=7)
    with pytest.raises(EngineError, match="0 group"):
        AlignSampler([TranslationGroup("g", {"sw": "a", "yo": "b"})], batch_size=1)
    with pytest.raises(EngineError, match="align batch size must be at least 1"):
        AlignSampler(GROUPS, batch_size=0)
