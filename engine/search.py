"""Batch-first search over an index dir: HNSW, language filters, exact re-scoring, metadata."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from engine import kernels
from engine.errors import EngineError
from engine.index import Index, open_index
from engine.languages import check_language_code

# A language filter whose passages number at most this is answered by exact search over them:
# hnswlib's filtered search slows sharply when few nodes pass (benchmarks/test_search_layer.py).
EXACT_FILTER_LIMIT = 20_000


@dataclass(slots=True)
class Hit:
    id: str
    score: float
    lang: str
    title: str = ""
    text: str = ""
    extra: dict = field(default_factory=dict)


class SearchResults(Sequence):
    """One row of hits per query. `ids`, `scores` and `langs` are arrays of shape (queries, k),
    resolved from the graph's labels when first read, and `Hit` objects are made only when a row is
    read: after an HNSW search has flushed the CPU caches every extra numpy call costs microseconds,
    so the search call itself does no more than the search (benchmarks/test_search_layer.py)."""

    def __init__(self, index: Index, labels: np.ndarray, values: np.ndarray, values_are_distances: bool,
                 details: list | None):
        self._index, self._labels = index, labels
        self._values, self._values_are_distances = values, values_are_distances
        self._ids = self._scores = self._langs = None
        self._details = details  # per row, per hit: (title, text, extra), when fetched

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = self._index.ids[self._labels]
        return self._ids

    @property
    def scores(self) -> np.ndarray:
        if self._scores is None:
            # hnswlib's inner-product distance is 1 - score
            self._scores = 1.0 - self._values if self._values_are_distances else self._values
        return self._scores

    @property
    def langs(self) -> np.ndarray:
        if self._langs is None:
            self._langs = self._index.language_names[self._index.lang_of_label[self._labels]]
        return self._langs

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, row: int) -> list[Hit]:
        if not -len(self) <= row < len(self):
            raise IndexError(row)
        hits = [Hit(*fields) for fields in zip(self.ids[row].tolist(), self.scores[row].tolist(),
                                               self.langs[row].tolist())]
        if self._details is not None:
            for hit, (title, text, extra) in zip(hits, self._details[row]):
                hit.title, hit.text, hit.extra = title, text, extra
        return hits


class Searcher:
    """Search an opened index with query vectors, or with texts when given an encoder.

    When a writer swaps a new version of the index into place (an add or delete here or in another
    process), the next search reopens it; a search already running finishes on the version it began
    with, so each search sees one version whole."""

    def __init__(self, index: Index, encoder=None, exact_filter_limit: int = EXACT_FILTER_LIMIT,
                 num_threads: int = 1, shard_parts=None):
        """shard_parts: for a sharded index, `shard_parts(index)` gives the searchers of its shards (default:
        each shard searched here; engine.scale.shard_actors.RemoteShards: by Ray actors)."""
        if encoder is not None:
            index.check_model(encoder.bundle.fingerprint, str(encoder.bundle.path))
        self.encoder = encoder
        self._shard_parts = shard_parts
        self._reopen_lock = threading.Lock()
        self._version = _version_of(index, exact_filter_limit, num_threads, shard_parts)

    @property
    def index(self) -> Index:
        return self._version.index

    def refresh(self) -> bool:
        """Reopen the index when a new version has been swapped in; True when it did. Every search
        calls it first (one stat of the manifest)."""
        if not self.index.is_stale():
            return False
        with self._reopen_lock:
            current = self._version
            if not current.index.is_stale():
                return False  # another thread reopened it meanwhile
            fresh = open_index(current.index.path, load_shards=self._shard_parts is None)
            if self.encoder is not None:
                fresh.check_model(self.encoder.bundle.fingerprint, str(self.encoder.bundle.path))
            self._version = _version_of(fresh, current.exact_filter_limit, current.num_threads, self._shard_parts)
        return True

    def search(self, queries: list[str], k: int = 10, languages=None, ef: int | None = None,
               rescore: bool = False, with_text: bool = True) -> SearchResults:
        if self.encoder is None:
            raise EngineError("this searcher has no encoder: pass query vectors to search_vectors")
        for number, query in enumerate(queries, start=1):
            if not query.strip():
                raise EngineError(f"query {number} is empty")
        vectors = self.encoder.encode_queries(queries)
        return self.search_vectors(vectors, k, languages, ef, rescore, with_text)

    def search_vectors(self, vectors: np.ndarray, k: int = 10, languages=None, ef: int | None = None,
                       rescore: bool = False, with_text: bool = True) -> SearchResults:
        self.refresh()
        return self._version.search_vectors(vectors, k, languages, ef, rescore, with_text)


def _version_of(index, exact_filter_limit: int, num_threads: int, shard_parts=None):
    if getattr(index, "is_sharded", False):
        parts = shard_parts(index) if shard_parts else [_IndexVersion(shard, exact_filter_limit, 1)
                                                         for shard in index.shards]
        return _ShardedVersion(index, exact_filter_limit, num_threads, parts)
    return _IndexVersion(index, exact_filter_limit, num_threads)


class _IndexVersion:
    """The search itself, bound to one opened version of the index."""

    def __init__(self, index: Index, exact_filter_limit: int, num_threads: int):
        self.index = index
        self.exact_filter_limit = exact_filter_limit
        self.num_threads = num_threads
        # An Index handle never changes (add and delete return a new one), so these are read once.
        self._default_ef = index.params.ef_search
        self._dimension = index.dimension
        self._count = index.count

    @property
    def languages(self) -> list[str]:
        return self.index.languages

    def available(self, languages: list[str] | None) -> int:
        """Passages in these languages (all of them for None); every code must be in the index."""
        if not languages:
            return self._count
        numbers = [self.index.languages.index(code) for code in languages]
        return int(np.count_nonzero(np.isin(self.index.lang_of_label, numbers)))

    def search_vectors(self, vectors: np.ndarray, k: int = 10, languages=None, ef: int | None = None,
                       rescore: bool = False, with_text: bool = True) -> SearchResults:
        vectors = _checked_queries(vectors, self._dimension)
        allowed = self._allowed_labels(languages) if languages else None
        available = self._count if allowed is None else len(allowed)
        if not isinstance(k, int) or k < 1:
            raise EngineError(f"k must be a positive integer, got {k!r}")
        if k > available:
            scope = "the collection" if allowed is None else f"the passages in {', '.join(languages)}"
            raise EngineError(f"k={k} is larger than {scope} ({available} passages)")
        if ef is not None and (not isinstance(ef, int) or ef < 1):
            raise EngineError(f"ef must be a positive integer, got {ef!r}")
        if allowed is not None and len(allowed) <= self.exact_filter_limit:
            labels, values, values_are_distances = *self._exact(vectors, allowed, k), False
        else:
            labels, values, values_are_distances = self._approximate(vectors, k, ef, allowed, rescore, available)
        return self._results(labels, values, values_are_distances, with_text)

    def _allowed_labels(self, languages) -> np.ndarray:
        numbers = []
        for code in languages:
            check_language_code(code, "language filter")
            if code not in self.index.languages:
                raise EngineError(f"language filter: no passages in {code!r} in this index "
                                  f"(it has: {', '.join(self.index.languages)})")
            numbers.append(self.index.languages.index(code))
        return np.flatnonzero(np.isin(self.index.lang_of_label, numbers))

    def _exact(self, vectors, allowed, k):
        scores = vectors @ self.index.vectors[allowed].T
        positions, best = kernels.top_k(scores, k)
        return allowed[positions], best

    def _approximate(self, vectors, k, ef, allowed, rescore, available):
        """Labels and, per the flag, scores or hnswlib's distances (1 - score: converted when read).
        Re-scoring fetches 4k candidates, but never more than the passages the filter allows."""
        fetch = min(k * 4, available) if rescore else k
        ef = max(ef or self._default_ef, fetch)
        mask = None
        if allowed is not None:
            mask = np.zeros(self.index.vectors.shape[0], dtype=bool)
            mask[allowed] = True
        with self.index.graph_lock:
            if self.index.graph.ef != ef:
                self.index.graph.set_ef(ef)
            try:
                if mask is None:
                    labels, distances = self.index.graph.knn_query(vectors, k=fetch, num_threads=self.num_threads)
                else:
                    labels, distances = self.index.graph.knn_query(
                        vectors, k=fetch, num_threads=1, filter=lambda label: mask[label])
            except RuntimeError as err:
                raise EngineError(f"the HNSW graph returned fewer than {fetch} hits ({err}); "
                                  "raise --ef or rebuild the index") from None
        if rescore:
            scores = kernels.score_candidates(self.index.vectors, vectors, labels)
            positions, best = kernels.top_k(scores, k)
            return np.take_along_axis(labels, positions, axis=1), best, False
        return labels, distances, True

    def _results(self, labels, values, values_are_distances, with_text) -> SearchResults:
        details = None
        if with_text:
            found = self.index.metadata.fetch(labels.ravel())
            details = [[found[label] for label in row] for row in labels.tolist()]
        return SearchResults(self.index, labels, values, values_are_distances, details)


class MergedResults(SearchResults):
    """The top hits of several shards' results, merged by score: the same reading interface."""

    def __init__(self, ids: np.ndarray, scores: np.ndarray, langs: np.ndarray, details: list | None):
        self._labels = ids  # only its length is read
        self._ids, self._scores, self._langs, self._details = ids, scores, langs, details


class _ShardedVersion:
    """Fan-out over the shards of one opened version of a sharded index (engine.shards): each shard is
    searched as an index of its own, by threads in this process, and the top k are merged by score.
    Filters, k and errors mean what they mean on one index."""

    def __init__(self, index, exact_filter_limit: int, num_threads: int, parts: list):
        self.index = index
        self.exact_filter_limit, self.num_threads = exact_filter_limit, num_threads
        self._parts = parts  # one per shard: languages, available(languages), search_vectors(...)
        self._dimension = index.dimension
        self._pool = ThreadPoolExecutor(max(1, min(len(self._parts), os.cpu_count() or 1)),
                                        thread_name_prefix="shard-search")

    def search_vectors(self, vectors: np.ndarray, k: int = 10, languages=None, ef: int | None = None,
                       rescore: bool = False, with_text: bool = True) -> SearchResults:
        vectors = _checked_queries(vectors, self._dimension)
        if languages:
            for code in languages:
                check_language_code(code, "language filter")
                if code not in self.index.languages:
                    raise EngineError(f"language filter: no passages in {code!r} in this index "
                                      f"(it has: {', '.join(self.index.languages)})")
        if not isinstance(k, int) or k < 1:
            raise EngineError(f"k must be a positive integer, got {k!r}")
        if ef is not None and (not isinstance(ef, int) or ef < 1):
            raise EngineError(f"ef must be a positive integer, got {ef!r}")
        asks = []  # (part, its languages, passages it may return)
        for part in self._parts:
            own = [code for code in languages if code in part.languages] if languages else None
            available = part.available(own) if own or not languages else 0
            if available:
                asks.append((part, own, available))
        total = sum(available for _, _, available in asks)
        if k > total:
            scope = "the collection" if not languages else f"the passages in {', '.join(languages)}"
            raise EngineError(f"k={k} is larger than {scope} ({total} passages)")
        found = list(self._pool.map(
            lambda ask: ask[0].search_vectors(vectors, min(k, ask[2]), ask[1], ef, rescore, with_text), asks))
        return _merge(found, k, with_text)


def _checked_queries(vectors: np.ndarray, dimension: int) -> np.ndarray:
    if (type(vectors) is np.ndarray and vectors.dtype == np.float32 and vectors.ndim == 2
            and vectors.shape[1] == dimension and vectors.shape[0] and vectors.flags.c_contiguous):
        return vectors  # what an encoder returns: nothing to convert
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    if vectors.ndim != 2 or vectors.shape[1] != dimension:
        raise EngineError(f"query vectors have shape {vectors.shape}; the index has dimension "
                          f"{dimension}")
    if vectors.shape[0] == 0:
        raise EngineError("no queries given")
    return np.ascontiguousarray(vectors)


def _merge(found: list[SearchResults], k: int, with_text: bool) -> MergedResults:
    """The k best of the shards' hits per query, best first (ties: the earlier shard first)."""
    scores = np.concatenate([results.scores for results in found], axis=1)
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    pick = lambda arrays: np.take_along_axis(np.concatenate(arrays, axis=1), best, axis=1)  # noqa: E731
    ids = pick([results.ids for results in found])
    langs = pick([results.langs for results in found])
    details = None
    if with_text:
        rows = [[detail for results in found for detail in results._details[row]] for row in range(len(best))]
        details = [[rows[row][column] for column in best[row]] for row in range(len(best))]
    return MergedResults(ids, np.take_along_axis(scores, best, axis=1), langs, details)
