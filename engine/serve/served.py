"""The indexes and models a service holds: opened once at start-up, warmed, shared by every request.

Indexes built with the same bundle share one model: one encoder, one micro-batcher, so their queries
are encoded together. Writes (add, delete) go through the index's own writer lock and atomic swap, one
at a time per index from this service; searches running meanwhile finish on the old version and later
ones see the new one (Searcher.refresh)."""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import EngineError
from engine.index import check_new_ids, delete, open_index
from engine.search import Searcher
from engine.serve.batcher import MicroBatcher
from engine.serve.metrics import ServiceMetrics
from engine.serve.requests import RequestError
from engine.serve.settings import Batching

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A few batch shapes, so that ONNX Runtime's first runs (allocations, kernel choice) happen before the
# first request, not in it.
WARM_UP_BATCHES = (["warm-up"], ["a short warm-up query"] * 8, ["a longer warm-up text " * 12] * 4,
                   ["warm-up text " * 40] * 2)


@dataclass
class ServedModel:
    name: str
    encoder: object  # engine.encoder.Encoder
    batcher: MicroBatcher


@dataclass
class ServedIndex:
    name: str
    searcher: Searcher
    model: ServedModel
    metrics: ServiceMetrics
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def info(self) -> dict:
        self.searcher.refresh()
        index = self.searcher.index
        return {"name": self.name, "model_name": self.model.name, "path": str(index.path),
                "languages": index.languages, **index.manifest}

    def check_search(self, params) -> None:
        """The checks that need the index, made before the request is queued, naming the field."""
        index = self.searcher.index
        if params.languages:
            absent = [code for code in params.languages if code not in index.languages]
            if absent:
                raise RequestError(400, f"no passages in {absent[0]!r} in index {self.name!r} (it has: "
                                        f"{', '.join(index.languages)})", "languages")
        if params.k > index.count:
            raise RequestError(400, f"k={params.k} is larger than index {self.name!r} ({index.count} passages)", "k")

    async def add(self, passages) -> dict:
        async with self.write_lock:
            return await asyncio.to_thread(self._write, "add", self._add, passages)

    async def delete(self, ids) -> dict:
        async with self.write_lock:
            return await asyncio.to_thread(self._write, "delete", self._delete, ids)

    def _write(self, operation: str, step, argument) -> dict:
        started = time.perf_counter()
        self.searcher.refresh()
        result = step(self.searcher.index, argument)
        self.searcher.refresh()
        self.metrics.write_seconds.labels(self.name, operation).observe(time.perf_counter() - started)
        return result

    def _add(self, index, passages) -> dict:
        from engine.build import add_passages

        try:
            check_new_ids(index, passages)
        except EngineError as err:
            raise RequestError(409, str(err), "passages") from None
        with _unchanged_on_failure():
            summary = add_passages(index, passages, self.model.encoder)
        return {"added": len(passages), "count": summary.index.count, "truncated": summary.truncated}

    def _delete(self, index, ids) -> dict:
        present = set(index.ids[index.ids != None])  # noqa: E711 (element-wise comparison)
        missing = [passage_id for passage_id in ids if passage_id not in present]
        if missing:
            raise RequestError(404, f"{len(missing)} id(s) not in index {self.name!r}, e.g. {missing[0]!r}", "ids")
        with _unchanged_on_failure():
            updated = delete(index, ids)
        return {"deleted": len(set(ids)), "count": updated.count}


@contextmanager
def _unchanged_on_failure():
    """A write that fails on the server's side (disk full, a writer in another process) left the index
    as it was: 503, so that the client may retry."""
    try:
        yield
    except EngineError as err:
        raise RequestError(503, f"the index is unchanged: {err}", kind="server_error") from None


class Service:
    def __init__(self, indexes: dict[str, ServedIndex], models: dict[str, ServedModel]):
        self.indexes, self.models = indexes, models
        self.draining = False

    def index(self, name: str) -> ServedIndex:
        if name not in self.indexes:
            raise RequestError(404, f"no index named {name!r} is served here (served: {', '.join(self.indexes)})",
                               "name", kind="not_found_error")
        return self.indexes[name]

    def model(self, name: str) -> ServedModel:
        if name not in self.models:
            raise RequestError(404, f"no model named {name!r} is served here (served: {', '.join(self.models)})",
                               "model", kind="not_found_error")
        return self.models[name]


def parse_index_specs(arguments) -> list[tuple[str, Path]]:
    """`NAME=PATH` or `PATH` (named after its dir) -> (name, path), names unique and URL-safe."""
    specs, seen = [], set()
    for argument in arguments:
        name, _, path = argument.rpartition("=") if "=" in argument else (None, "", argument)
        path = Path(path)
        name = name or path.resolve().name
        if not NAME.match(name):
            raise EngineError(f"index name {name!r} must be 1-64 letters, digits, '.', '_' or '-' "
                              "(give one as NAME=PATH)")
        if name in seen:
            raise EngineError(f"two indexes are named {name!r}: give distinct names as NAME=PATH")
        seen.add(name)
        specs.append((name, path))
    return specs


def model_name(recorded_bundle: str) -> str:
    return "default" if recorded_bundle == "default" else Path(recorded_bundle).name


def load_service(specs, make_encoder, batching: Batching, metrics: ServiceMetrics, search_threads: int,
                 echo=print, shard_parts: dict | None = None) -> Service:
    """Open every index, load each bundle once, and warm each encoder and index.
    `make_encoder(recorded_bundle)` makes the encoder for a bundle an index records; `shard_parts`
    (index name -> Searcher shard_parts) names the sharded indexes whose shards are searched elsewhere,
    which this process does not load."""
    shard_parts = shard_parts or {}
    from engine.cli_options import recorded_bundle

    models: dict[str, ServedModel] = {}
    indexes: dict[str, ServedIndex] = {}
    bundle_of_model: dict[str, Path] = {}
    for name, path in specs:
        index = open_index(path, load_shards=name not in shard_parts)
        bundle = recorded_bundle(index)
        served_name = model_name(bundle)
        if served_name not in models:
            encoder = make_encoder(bundle)
            bundle_of_model[served_name] = encoder.bundle.path.resolve()
            models[served_name] = ServedModel(served_name, encoder, MicroBatcher(served_name, encoder, batching,
                                                                                 metrics))
        model = models[served_name]
        if model.encoder.bundle.path.resolve() != bundle_of_model[served_name]:
            raise EngineError(f"two different bundles are both named {served_name!r}; serve indexes built with "
                              "bundles in distinct dirs")
        searcher = Searcher(index, model.encoder, num_threads=search_threads, shard_parts=shard_parts.get(name))
        indexes[name] = ServedIndex(name, searcher, model, metrics)
        echo(f"loaded index {name!r}: {index.count} passages from {index.path} (model {served_name!r})")
    service = Service(indexes, models)
    _warm_up(service)
    return service


def _warm_up(service: Service) -> None:
    for model in service.models.values():
        for texts in WARM_UP_BATCHES:
            model.encoder.encode_queries(texts)
    for served in service.indexes.values():
        index = served.searcher.index
        if index.count:
            query = served.model.encoder.encode_queries(["warm-up"])
            served.searcher.search_vectors(np.repeat(query, 8, axis=0), k=min(10, index.count))
