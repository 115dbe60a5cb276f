"""Anchoring to the base model (multilingual knowledge distillation, Reimers & Gurevych 2020).

Two terms beside the contrastive loss, both squared distances to the frozen teacher's embeddings
(train.teacher), which for unit vectors is 2 - 2 cos:
- keep: every query and passage of the training batch stays where the teacher put it;
- align: a translation, and its source sentence, move to where the teacher put the source
  sentence, so the same meaning lands on one point whatever the language.

AlignSampler draws the translation pairs of the align term from translation groups.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.errors import EngineError
from train.translations import TranslationGroup, restrict_languages

TERMS = ("contrastive", "keep", "align")


def anchor_distance(student: torch.Tensor, teacher: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean (or sum) over rows of the squared Euclidean distance between (rows, dim) embeddings."""
    distances = ((student - teacher) ** 2).sum(dim=-1)
    return distances.sum() if reduction == "sum" else distances.mean()


def total_loss(terms: dict[str, torch.Tensor], distill_weight: float) -> torch.Tensor:
    anchors = [terms[name] for name in ("keep", "align") if name in terms]
    return terms["contrastive"] + distill_weight * sum(anchors) if anchors else terms["contrastive"]


class AlignSampler:
    """Batches of (source sentence, translation) pairs: distinct groups, a random target language each."""

    def __init__(self, groups: list[TranslationGroup], batch_size: int, source_lang: str = "en", seed: int = 0,
                 languages: list[str] | None = None, what: str = "alignment data"):
        if batch_size < 1:
            raise EngineError(f"align batch size must be at least 1, got {batch_size}")
        if languages is not None and source_lang not in languages:
            languages = [source_lang, *languages]
        groups = restrict_languages(groups, languages, what)
        self.groups = [group for group in groups if source_lang in group.sentences]
        self.source_lang = source_lang
        if len(self.groups) < batch_size:
            raise EngineError(f"{what} has {len(self.groups)} group(s) with a {source_lang!r} sentence and a "
                              f"translation, fewer than the align batch size {batch_size}")
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)

    def next_batch(self) -> list[tuple[str, str]]:
        batch = []
        for row in self.rng.choice(len(self.groups), self.batch_size, replace=False):
            sentences = self.groups[row].sentences
            targets = [lang for lang in sentences if lang != self.source_lang]
            batch.append((sentences[self.source_lang], sentences[targets[self.rng.integers(len(targets))]]))
        return batch

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def load_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
