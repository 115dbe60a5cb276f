"""Evaluation pools and the ranks of each query's relevant candidates in them.

A pool is a query language and a set of candidate languages: monolingual (X, {X}), cross-lingual
(X, {Y}) for every ordered pair X != Y, multilingual (X, all languages). A query counts in a pool
when it has a relevant candidate there; its relevant set is the relevant candidates there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.evaluation.data import Benchmark


@dataclass(frozen=True)
class Pool:
    setting: str
    query_lang: str
    candidate_langs: tuple[str, ...]

    @property
    def key(self) -> str:
        """`en` for a monolingual or multilingual pool, `en-de` (query-candidates) for a cross-lingual one."""
        return f"{self.query_lang}-{self.candidate_langs[0]}" if self.setting == "cross" else self.query_lang


@dataclass
class RankedPool:
    queries: np.ndarray  # query rows
    ranks: np.ndarray    # float64 (queries, width): 1-based rank of each relevant candidate; inf: not found
    gains: np.ndarray    # float64 (queries, width): its gain; 0 pads rows with fewer relevant candidates


def make_pools(settings: list[str], languages: list[str]) -> list[Pool]:
    pools = []
    for setting in settings:
        for query_lang in languages:
            if setting == "mono":
                pools.append(Pool(setting, query_lang, (query_lang,)))
            elif setting == "cross":
                pools.extend(Pool(setting, query_lang, (lang,)) for lang in languages if lang != query_lang)
            else:
                pools.append(Pool(setting, query_lang, tuple(languages)))
    return pools


def pool_entries(bench: Benchmark, pool: Pool) -> np.ndarray:
    """Indices of the qrels entries that belong to the pool (in query order)."""
    qrels = bench.qrels
    query_lang = bench.languages.index(pool.query_lang)
    candidate_langs = [bench.languages.index(lang) for lang in pool.candidate_langs]
    in_pool = (bench.query_langs[qrels.query_of_entry] == query_lang) & np.isin(qrels.lang, candidate_langs)
    return np.flatnonzero(in_pool)


def exact_ranks(bench: Benchmark, outranking: np.ndarray, pool: Pool) -> RankedPool:
    """Ranks from the per-language outranking counts of `scoring.score_exact`."""
    entries = pool_entries(bench, pool)
    columns = [bench.languages.index(lang) for lang in pool.candidate_langs]
    ranks = 1.0 + outranking[np.ix_(entries, columns)].sum(axis=1)
    ranks[bench.qrels.candidate[entries] < 0] = np.inf
    return pad_by_query(bench, entries, ranks)


def pad_by_query(bench: Benchmark, entries: np.ndarray, ranks: np.ndarray) -> RankedPool:
    """Group per-entry ranks into one padded row per query."""
    query_of_entry = bench.qrels.query_of_entry[entries]
    queries, starts, counts = np.unique(query_of_entry, return_index=True, return_counts=True)
    width = int(counts.max()) if len(counts) else 0
    row = np.repeat(np.arange(len(queries)), counts)
    column = np.arange(len(entries)) - np.repeat(starts, counts)
    padded_ranks = np.full((len(queries), width), np.inf)
    padded_gains = np.zeros((len(queries), width))
    padded_ranks[row, column] = ranks
    padded_gains[row, column] = bench.qrels.gain[entries]
    return RankedPool(queries, padded_ranks, padded_gains)
