"""Batches of training pairs drawn from parallel pair groups, by the seed paper's batching strategies.

- x-x-mono: the whole batch is one language, chosen uniformly among languages with enough groups.
- x-x: every pair is same-language, the language drawn per pair from its group's languages.
- x-y: every query is paired with its passage in a different language of the same group.
- hybrid: each batch is x-x-mono with probability alpha, else x-y.

A batch never holds the same group twice (its other languages would be false in-batch negatives).
All randomness comes from one numpy Generator, whose state `state()` returns for resuming.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.errors import EngineError
from train.pairs import PairGroup

BATCHINGS = ("x-x-mono", "x-x", "x-y", "hybrid")


class TrainingPair(NamedTuple):
    query: str
    query_lang: str
    passage: str
    passage_lang: str
    negatives: tuple[str, ...]


class BatchSampler:
    def __init__(self, groups: list[PairGroup], batch_size: int, batching: str = "hybrid", alpha: float = 0.5,
                 seed: int = 0, languages: list[str] | None = None):
        if batching not in BATCHINGS:
            raise EngineError(f"unknown batching {batching!r} (choose from {', '.join(BATCHINGS)})")
        if not 0.0 <= alpha <= 1.0:
            raise EngineError(f"alpha must be between 0 and 1, got {alpha}")
        if batch_size < 1:
            raise EngineError(f"batch size must be at least 1, got {batch_size}")
        self.groups = _restricted(groups, languages)
        self.batch_size = batch_size
        self.batching = batching
        self.alpha = alpha
        self.rng = np.random.default_rng(seed)
        by_lang: dict[str, list[int]] = {}
        for index, group in enumerate(self.groups):
            for lang in group.languages:
                by_lang.setdefault(lang, []).append(index)
        self._by_lang = {lang: np.array(rows) for lang, rows in sorted(by_lang.items())}
        self._mono_languages = [lang for lang, rows in self._by_lang.items() if len(rows) >= batch_size]
        self._multilingual = np.array([index for index, group in enumerate(self.groups) if len(group.pairs) > 1])
        self._check_enough_groups()

    def next_batch(self) -> list[TrainingPair]:
        batching = self.batching
        if batching == "hybrid":
            batching = "x-x-mono" if self.rng.random() < self.alpha else "x-y"
        if batching == "x-x-mono":
            return self._mono_batch()
        if batching == "x-x":
            return self._same_language_batch()
        return self._cross_language_batch()

    def __iter__(self):
        while True:
            yield self.next_batch()

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def load_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def _mono_batch(self) -> list[TrainingPair]:
        lang = self._mono_languages[self.rng.integers(len(self._mono_languages))]
        rows = self.rng.choice(self._by_lang[lang], self.batch_size, replace=False)
        return [self._pair(self.groups[row], lang, lang) for row in rows]

    def _same_language_batch(self) -> list[TrainingPair]:
        rows = self.rng.choice(len(self.groups), self.batch_size, replace=False)
        batch = []
        for row in rows:
            languages = self.groups[row].languages
            lang = languages[self.rng.integers(len(languages))]
            batch.append(self._pair(self.groups[row], lang, lang))
        return batch

    def _cross_language_batch(self) -> list[TrainingPair]:
        rows = self.rng.choice(self._multilingual, self.batch_size, replace=False)
        batch = []
        for row in rows:
            languages = self.groups[row].languages
            query_lang, passage_lang = (languages[i] for i in self.rng.choice(len(languages), 2, replace=False))
            batch.append(self._pair(self.groups[row], query_lang, passage_lang))
        return batch

    @staticmethod
    def _pair(group: PairGroup, query_lang: str, passage_lang: str) -> TrainingPair:
        passage = group.pairs[passage_lang]
        return TrainingPair(group.pairs[query_lang].query, query_lang, passage.positive, passage_lang,
                            passage.negatives)

    def _check_enough_groups(self) -> None:
        size = self.batch_size
        if self.batching == "x-x" and len(self.groups) < size:
            raise EngineError(f"batch size {size} is larger than the number of groups ({len(self.groups)})")
        if self.batching in ("x-x-mono", "hybrid") and not self._mono_languages:
            most = max(len(rows) for rows in self._by_lang.values())
            raise EngineError(f"batch size {size} is larger than the number of groups of every language "
                              f"(at most {most}), so no single-language batch can be drawn")
        if self.batching in ("x-y", "hybrid") and len(self._multilingual) < size:
            raise EngineError(f"batch size {size} is larger than the number of groups with two or more "
                              f"languages ({len(self._multilingual)}), which cross-lingual batches need")


def _restricted(groups: list[PairGroup], languages: list[str] | None) -> list[PairGroup]:
    """The groups with only the pairs in `languages` (all when None); groups left empty are dropped."""
    if languages is None:
        return list(groups)
    check_languages_have_pairs(groups, languages)
    kept = [PairGroup(group.group, {lang: pair for lang, pair in group.pairs.items() if lang in languages})
            for group in groups]
    return [group for group in kept if group.pairs]


def check_languages_have_pairs(groups: list[PairGroup], languages: list[str], what: str = "language") -> None:
    found = {lang for group in groups for lang in group.languages}
    missing = [lang for lang in languages if lang not in found]
    if missing:
        raise EngineError(f"{what} {missing[0]!r} has no pairs in the training data "
                          f"(it has: {', '.join(sorted(found))})")
