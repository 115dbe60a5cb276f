import math

import pytest
import torch

from train.loss import info_nce_loss


def test_hand_computed_case():
    # Cosines: q0·p0 = 1, q0·p1 = 0, q1·p0 = 0.6, q1·p1 = 0.8 (q1 has norm 2: cosine ignores it).
    queries = torch.tensor([[1.0, 0.0], [1.2, 1.6]])
    passages = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = 0.5
    expected = (-math.log(math.exp(1 / t) / (math.exp(1 / t) + math.exp(0)))
                - math.log(math.exp(0.8 / t) / (math.exp(0.6 / t) + math.exp(0.8 / t)))) / 2
    assert info_nce_loss(queries, passages, temperature=t).item() == pytest.approx(expected, rel=1e-6)


def test_hard_negatives_are_extra_candidates_for_every_query():
    queries = torch.tensor([[1.0, 0.0]])
    passages = torch.tensor([[1.0, 0.0]])
    negatives = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    t = 0.5
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + math.exp(0) + math.exp(-1 / t)))
    assert info_nce_loss(queries, passages, negatives, t).item() == pytest.approx(expected, rel=1e-5)
    assert info_nce_loss(queries, passages, temperature=t).item() == pytest.approx(0.0, abs=1e-7)


def test_gradient_flows_to_both_sides():
    queries = torch.randn(4, 8, requires_grad=True)
    passages = torch.randn(4, 8, requires_grad=True)
    info_nce_loss(queries, passages).backward()
    assert queries.grad.abs().sum() > 0 and passages.grad.abs().sum() > 0
