"""The shards of a sharded index searched in other processes, wherever the cluster places them: by Ray
actors, one per shard (RemoteShards), or by the replicas of Ray Serve shard-group deployments
(engine.scale.shard_groups). Each worker opens its shards' dirs, so a dir must be readable on the
worker's node: a shared filesystem, or the same path on every node. The searcher in the calling process
encodes, asks every shard and merges the top k (engine.search), exactly as it does with shards searched
by threads:

    searcher = Searcher(open_index("my-index", load_shards=False), encoder, shard_parts=RemoteShards("auto"))

Every request names the shard's current dir, so after a write commits a new version each worker moves to
its shard's new generation on the next search."""

from __future__ import annotations

import threading
from pathlib import Path

from engine.errors import EngineError
from engine.scale.cluster import connect, failure_message


class ShardSearchers:
    """The body of a worker: Searchers over shard dirs, opened on first use and reopened when a request
    names a shard's next generation."""

    def __init__(self):
        self._opened: dict[int, tuple[str, object]] = {}  # shard number -> (its dir, a Searcher over it)
        self._lock = threading.Lock()

    def open(self, number: int, shard_dir: str) -> None:
        self._searcher(number, shard_dir)  # the Searcher stays here: it is not sent back

    def search(self, number, shard_dir, vectors, k, languages, ef, rescore, with_text):
        from engine.search import MergedResults

        results = self._searcher(number, shard_dir).search_vectors(vectors, k, languages, ef, rescore, with_text)
        return MergedResults(results.ids, results.scores, results.langs, results._details)

    def _searcher(self, number: int, shard_dir: str):
        from engine.index import open_index
        from engine.search import Searcher

        with self._lock:
            opened_dir, searcher = self._opened.get(number, (None, None))
            if opened_dir != shard_dir:  # the old searcher is left to the searches still running on it
                searcher = Searcher(open_index(Path(shard_dir)))
                self._opened[number] = (shard_dir, searcher)
            return searcher


class RemoteShard:
    """A shard searched by a worker, as engine.search's fan-out asks a shard. `ask(method, *args)` calls
    the worker's ShardSearchers method and waits for its answer; `where` names the worker in errors."""

    def __init__(self, index, number: int, ask, where: str):
        entry = index.record["shards"][number]
        self.number, self.dir, self._ask, self._where = number, str(Path(index.path) / entry["dir"]), ask, where
        self.count, self._counts = entry["count"], entry["languages"]
        self.languages = sorted(self._counts)

    def available(self, languages) -> int:
        return self.count if not languages else sum(self._counts.get(code, 0) for code in languages)

    def open(self) -> RemoteShard:
        """Have the worker open this shard now, so that a shard it cannot open is an error here."""
        self._call("open", "could not be opened by")
        return self

    def search_vectors(self, vectors, k, languages, ef, rescore, with_text):
        return self._call("search", "searched by", vectors, k, languages, ef, rescore, with_text)

    def _call(self, method: str, doing: str, *args):
        try:
            return self._ask(method, self.number, self.dir, *args)
        except Exception as err:  # Ray wraps the worker's exception
            raise EngineError(f"shard {self.number} ({self.dir}) {doing} {self._where}: "
                              f"{failure_message(err)}") from None


class RemoteShards:
    """`shard_parts` for a Searcher: one Ray actor per shard, kept across versions of the index."""

    def __init__(self, address: str = "auto", cpus_per_shard: float = 1.0):
        self._ray = connect(address)
        self._cpus = cpus_per_shard
        self._actors: dict[int, object] = {}  # shard number -> its actor

    def __call__(self, index) -> list[RemoteShard]:
        worker = self._ray.remote(ShardSearchers)
        parts = []
        for number in range(len(index.record["shards"])):
            if number not in self._actors:
                self._actors[number] = worker.options(num_cpus=self._cpus).remote()
            actor = self._actors[number]
            ask = lambda method, *args, actor=actor: self._ray.get(getattr(actor, method).remote(*args))  # noqa: E731
            parts.append(RemoteShard(index, number, ask, "a Ray actor").open())
        return parts

    def close(self) -> None:
        for actor in self._actors.values():
            self._ray.kill(actor)
        self._actors.clear()
