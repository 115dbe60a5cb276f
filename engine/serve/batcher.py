"""Micro-batching: the texts of concurrent requests to one model are gathered, up to `max_batch` texts or
`max_wait_ms` after the first arrived, into one encode call, and the search queries among them that share
an index and parameters into one graph search. The work runs on one thread per model, so the event loop
keeps accepting requests meanwhile; requests that arrive during a batch make up the next one.

The queue is bounded in texts (`max_queue`): a request that would overflow it is refused at once
(QueueFull: 429), and one not answered within `request_timeout_s` gives up (RequestTimeout: 504) and is
dropped from its batch if that batch has not started."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from engine.output import hit_json
from engine.serve.metrics import ServiceMetrics
from engine.serve.requests import SearchParams
from engine.serve.settings import Batching


class QueueFull(Exception):
    pass


class RequestTimeout(Exception):
    pass


@dataclass(frozen=True)
class SearchTask:
    index_name: str
    searcher: object  # engine.search.Searcher
    params: SearchParams


@dataclass
class Embedded:
    vectors: np.ndarray
    tokens: int


@dataclass
class _Job:
    texts: list[str]
    prefix: str
    search: SearchTask | None
    future: asyncio.Future


class MicroBatcher:
    def __init__(self, model_name: str, encoder, settings: Batching, metrics: ServiceMetrics):
        self.model_name, self.encoder, self.settings = model_name, encoder, settings
        self._metrics = metrics
        self._pending: deque[_Job] = deque()
        self._queued = 0  # texts submitted and not yet answered
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"encode-{model_name}")

    def start(self) -> None:
        """Begin gathering on the running event loop."""
        self._arrived = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    @property
    def queued_texts(self) -> int:
        return self._queued

    async def embed(self, texts: list[str], prefix: str) -> Embedded:
        return await self._submit(_Job(texts, prefix, None, asyncio.get_running_loop().create_future()))

    async def search(self, texts: list[str], prefix: str, task: SearchTask) -> list[list[dict]]:
        """One row of hits (as JSON objects) per query."""
        return await self._submit(_Job(texts, prefix, task, asyncio.get_running_loop().create_future()))

    async def _submit(self, job: _Job):
        if self._queued + len(job.texts) > self.settings.max_queue:
            raise QueueFull(f"the queue of model {self.model_name!r} is full ({self._queued} texts waiting, at most "
                            f"{self.settings.max_queue}); retry shortly")
        self._queued += len(job.texts)
        self._metrics.queue_texts.labels(self.model_name).set(self._queued)
        self._pending.append(job)
        self._arrived.set()
        try:
            return await asyncio.wait_for(job.future, self.settings.request_timeout_s)
        except TimeoutError:
            raise RequestTimeout(f"no answer within {self.settings.request_timeout_s:g} s "
                                 f"(--request-timeout-s); the service is overloaded") from None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                self._arrived.clear()
                await self._arrived.wait()
            batch = await self._gather(loop)
            live = [job for job in batch if not job.future.done()]  # timed out or disconnected: skipped
            if live:
                outcomes = await loop.run_in_executor(self._executor, self._process, live)
                for job, (result, error) in zip(live, outcomes):
                    if job.future.done():
                        continue
                    if error is not None:
                        job.future.set_exception(error)
                    else:
                        job.future.set_result(result)
            self._queued -= sum(len(job.texts) for job in batch)
            self._metrics.queue_texts.labels(self.model_name).set(self._queued)

    async def _gather(self, loop) -> list[_Job]:
        batch = [self._pending.popleft()]
        size = len(batch[0].texts)
        deadline = loop.time() + self.settings.max_wait_ms / 1000
        while size < self.settings.max_batch:
            if self._pending:
                if size + len(self._pending[0].texts) > self.settings.max_batch:
                    break
                job = self._pending.popleft()
                batch.append(job)
                size += len(job.texts)
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                break
        return batch

    def _process(self, jobs: list[_Job]) -> list[tuple]:
        """(result, None) or (None, exception) per job; runs on the model's thread."""
        try:
            started = time.perf_counter()
            encodings, spans = [], []
            for job in jobs:
                first = len(encodings)
                encodings.extend(self.encoder.tokenize(job.texts, job.prefix))
                spans.append(slice(first, len(encodings)))
            vectors = self.encoder.embed(encodings)
            self._metrics.encode_seconds.labels(self.model_name).observe(time.perf_counter() - started)
            self._metrics.batch_texts.labels(self.model_name).observe(len(encodings))
            self._metrics.batch_requests.labels(self.model_name).observe(len(jobs))
        except Exception as err:  # every waiting request gets the failure; none hangs
            return [(None, err)] * len(jobs)
        outcomes: list[tuple] = [(None, None)] * len(jobs)
        groups: dict[tuple, list[int]] = {}
        for number, (job, span) in enumerate(zip(jobs, spans)):
            if job.search is None:
                tokens = sum(len(encoding.ids) for encoding in encodings[span])
                outcomes[number] = (Embedded(vectors[span], tokens), None)
            else:
                groups.setdefault((job.search.index_name, job.search.params.batch_key()), []).append(number)
        for members in groups.values():
            for number, outcome in zip(members, self._search_group([jobs[n] for n in members],
                                                                    [spans[n] for n in members], vectors)):
                outcomes[number] = outcome
        return outcomes

    def _search_group(self, jobs: list[_Job], spans: list[slice], vectors: np.ndarray) -> list[tuple]:
        """One graph search for queries that share an index and parameters; rows split back per job."""
        task = jobs[0].search
        params = task.params
        with_text = any(job.search.params.with_text for job in jobs)
        try:
            started = time.perf_counter()
            results = task.searcher.search_vectors(np.concatenate([vectors[span] for span in spans]), params.k,
                                                   list(params.languages) if params.languages else None, params.ef,
                                                   params.rescore, with_text)
            self._metrics.search_seconds.labels(task.index_name).observe(time.perf_counter() - started)
            rows = [[hit_json(hit) for hit in results[row]] for row in range(len(results))]
        except Exception as err:
            return [(None, err)] * len(jobs)
        outcomes, first = [], 0
        for job in jobs:
            count = len(job.texts)
            own = rows[first:first + count]
            if with_text and not job.search.params.with_text:
                own = [[{**hit, "title": "", "text": "", "extra": {}} for hit in row] for row in own]
            outcomes.append((own, None))
            first += count
        return outcomes
