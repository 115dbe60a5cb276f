"""The shards of a sharded index searched by Ray actors, one per shard, wherever the cluster places them
(each actor opens its shard dir, so the dir must be readable on the actor's node: a shared filesystem,
or the same path on every node). The searcher in the calling process encodes, asks every actor and
merges the top k (engine.search), exactly as it does with shards searched by threads:

    searcher = Searcher(open_index("my-index"), encoder, shard_parts=RemoteShards("auto"))

After a write commits a new version, the next search moves each actor to its shard's new generation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.errors import EngineError
from engine.scale.cluster import connect, failure_message


class _ShardWorker:
    """The body of one Ray actor: a Searcher over one shard dir."""

    def __init__(self):
        self.searcher = None

    def open(self, shard_dir: str) -> dict:
        """Open (or move to) a shard dir; what the caller needs to plan a search: languages and counts."""
        from engine.index import open_index
        from engine.search import Searcher

        self.searcher = Searcher(open_index(Path(shard_dir)))
        index = self.searcher.index
        codes, counts = np.unique(index.lang_of_label[index.lang_of_label >= 0], return_counts=True)
        return {"count": index.count, "counts": {index.languages[code]: int(n) for code, n in zip(codes, counts)}}

    def search(self, vectors, k, languages, ef, rescore, with_text):
        from engine.search import MergedResults

        results = self.searcher.search_vectors(vectors, k, languages, ef, rescore, with_text)
        return MergedResults(results.ids, results.scores, results.langs, results._details)


class RemoteShard:
    """A shard searched by its actor, as engine.search's fan-out asks a shard."""

    def __init__(self, ray, actor, number: int, shard_dir: str, facts: dict):
        self._ray, self.actor, self.number, self.dir = ray, actor, number, shard_dir
        self.count, self._counts = facts["count"], facts["counts"]
        self.languages = sorted(self._counts)

    def available(self, languages) -> int:
        return self.count if not languages else sum(self._counts.get(code, 0) for code in languages)

    def search_vectors(self, vectors, k, languages, ef, rescore, with_text):
        try:
            return self._ray.get(self.actor.search.remote(vectors, k, languages, ef, rescore, with_text))
        except Exception as err:  # Ray wraps the actor's exception
            raise EngineError(f"shard {self.number} ({self.dir}), searched by a Ray actor: "
                              f"{failure_message(err)}") from None


class RemoteShards:
    """`shard_parts` for a Searcher: one actor per shard, kept across versions of the index."""

    def __init__(self, address: str = "auto", cpus_per_shard: float = 1.0):
        self._ray = connect(address)
        self._cpus = cpus_per_shard
        self._actors: dict[int, tuple[object, str, dict]] = {}  # shard number -> (actor, its dir, facts)

    def __call__(self, index) -> list[RemoteShard]:
        ray = self._ray
        worker = ray.remote(_ShardWorker)
        parts = []
        for number, entry in enumerate(index.record["shards"]):
            shard_dir = str(Path(index.path) / entry["dir"])
            actor, opened, facts = self._actors.get(number, (None, None, None))
            if actor is None:
                actor = worker.options(num_cpus=self._cpus).remote()
            if opened != shard_dir:
                try:
                    facts = ray.get(actor.open.remote(shard_dir))
                except Exception as err:
                    raise EngineError(f"shard {number} ({shard_dir}) could not be opened by its Ray actor: "
                                      f"{failure_message(err)}") from None
                self._actors[number] = (actor, shard_dir, facts)
            parts.append(RemoteShard(ray, actor, number, shard_dir, facts))
        return parts

    def close(self) -> None:
        for actor, _, _ in self._actors.values():
            self._ray.kill(actor)
        self._actors.clear()
