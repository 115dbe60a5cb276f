"""A loaded benchmark: queries, candidates and relevance judgements, as arrays ready for scoring.

Candidates are stored language by language, so each language is one contiguous block of rows;
queries likewise. Ids are `<lang>/<id in the source>`, unique across languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.errors import EngineError


@dataclass
class Judgement:
    """One relevant candidate of a query (its id in the source), whether or not it is in the pool."""

    lang: str
    candidate: str
    gain: float = 1.0


@dataclass
class LanguagePart:
    """What a loader reads for one language. `judgements[i]` belongs to `query_ids[i]`."""

    lang: str
    query_ids: list[str] = field(default_factory=list)
    query_texts: list[str] = field(default_factory=list)
    judgements: list[list[Judgement]] = field(default_factory=list)
    candidate_ids: list[str] = field(default_factory=list)
    candidate_fields: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Qrels:
    """Relevant candidates per query, CSR style: entries ptr[q]:ptr[q+1] belong to query q."""

    ptr: np.ndarray        # int64, n_queries + 1
    candidate: np.ndarray  # int64 candidate row; -1 when the judged passage is not in the pool
    gain: np.ndarray       # float64, > 0
    lang: np.ndarray       # int64 language number of the relevant passage
    ids: list[str]         # `<lang>/<id>` of the relevant passage, in or out of the pool

    @property
    def query_of_entry(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.ptr) - 1), np.diff(self.ptr))


@dataclass
class Benchmark:
    name: str
    languages: list[str]
    query_ids: list[str]
    query_texts: list[str]
    query_langs: np.ndarray      # int64 language number per query
    candidate_ids: list[str]
    candidate_fields: dict[str, list[str]]
    candidate_langs: np.ndarray  # int64 language number per candidate, in contiguous blocks
    qrels: Qrels

    @property
    def candidate_blocks(self) -> np.ndarray:
        """Row where each language's candidates start, plus the total: (n_languages + 1,)."""
        return np.searchsorted(self.candidate_langs, np.arange(len(self.languages) + 1))

    def candidate_texts(self, fields: tuple[str, ...]) -> list[str]:
        """Each candidate's text: the named fields joined by a space (empty ones left out)."""
        columns = [self.candidate_fields[name] for name in fields]
        return [" ".join(part for part in parts if part) for parts in zip(*columns)]

    def query_rows(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.query_langs == self.languages.index(lang))

    def candidate_rows(self, lang: str) -> np.ndarray:
        return np.flatnonzero(self.candidate_langs == self.languages.index(lang))


def assemble(name: str, parts: list[LanguagePart], max_queries: int | None = None) -> Benchmark:
    """Join per-language parts into one Benchmark, keeping the first `max_queries` queries per language."""
    languages = [part.lang for part in parts]
    number = {lang: n for n, lang in enumerate(languages)}
    row_of = {}
    candidate_ids, candidate_langs = [], []
    fields = {name: [] for name in parts[0].candidate_fields}
    for part in parts:
        for cid in part.candidate_ids:
            row_of[(part.lang, cid)] = len(candidate_ids)
            candidate_ids.append(f"{part.lang}/{cid}")
            candidate_langs.append(number[part.lang])
        for field_name, values in part.candidate_fields.items():
            fields[field_name].extend(values)
    query_ids, query_texts, query_langs = [], [], []
    ptr, rel_rows, gains, rel_langs, rel_ids = [0], [], [], [], []
    for part in parts:
        keep = slice(None) if max_queries is None else slice(max_queries)
        for qid, text, judged in zip(part.query_ids[keep], part.query_texts[keep], part.judgements[keep]):
            judged = [j for j in judged if j.lang in number]
            if not judged:
                continue
            query_ids.append(f"{part.lang}/{qid}")
            query_texts.append(text)
            query_langs.append(number[part.lang])
            for judgement in judged:
                rel_rows.append(row_of.get((judgement.lang, judgement.candidate), -1))
                gains.append(judgement.gain)
                rel_langs.append(number[judgement.lang])
                rel_ids.append(f"{judgement.lang}/{judgement.candidate}")
            ptr.append(len(rel_rows))
    if not query_ids:
        raise EngineError(f"{name}: no query has a relevant candidate in the chosen languages")
    qrels = Qrels(np.array(ptr, dtype=np.int64), np.array(rel_rows, dtype=np.int64),
                  np.array(gains, dtype=np.float64), np.array(rel_langs, dtype=np.int64), rel_ids)
    return Benchmark(name, languages, query_ids, query_texts, np.array(query_langs, dtype=np.int64),
                     candidate_ids, fields, np.array(candidate_langs, dtype=np.int64), qrels)
