"""InfoNCE over cosine similarity with in-batch and optional hard negatives.

Query i's positive is passage i; every other passage of the batch and every hard negative are its
negatives. The default temperature, 0.05, is SimCSE's widely used value for contrastive
fine-tuning of sentence encoders: cosine scores live in [-1, 1] (and the default model's cluster
in a narrow band, about 0.7-0.9), and dividing by 0.05 spreads them to [-20, 20], sharp enough for
the softmax to separate the positive from near misses without saturating on easy negatives. The
e5 family was trained with a lower one (0.01); the trainer takes either.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DEFAULT_TEMPERATURE = 0.05


def info_nce_loss(queries: torch.Tensor, passages: torch.Tensor, hard_negatives: torch.Tensor | None = None,
                  temperature: float = DEFAULT_TEMPERATURE, first_target: int = 0,
                  reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of each query against [passages; hard_negatives], target = its own passage.

    queries: (q, dim); passages: (batch, dim), query i's own passage at row first_target + i (a rank's
    queries meet the passages of every rank: train.distributed); hard_negatives: (n, dim), shared by all
    queries. `reduction`: mean or sum over the queries.
    """
    candidates = passages if hard_negatives is None else torch.cat([passages, hard_negatives])
    scores = F.normalize(queries, dim=-1) @ F.normalize(candidates, dim=-1).T / temperature
    targets = first_target + torch.arange(len(queries), device=queries.device)
    return F.cross_entropy(scores, targets, reduction=reduction)
