"""What one request may ask for, and how requests are gathered into batches."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.errors import EngineError


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 16 * 1024 * 1024
    max_queries: int = 256  # texts per search or embeddings request
    max_passages: int = 10_000  # passages per add request
    max_k: int = 1000
    max_text_chars: int = 20_000  # per query, input or passage text (the model reads at most 512 tokens)

    def check(self) -> Limits:
        _check_positive(self, "limit")
        return self


@dataclass(frozen=True)
class Batching:
    max_batch: int = 32  # texts per encode call, gathered from concurrent requests
    # How long the first request of a batch waits for others. 0: a batch is what has queued by the time
    # the model's thread is free; requests that arrive while a batch is encoded still make up the next
    # one. On a CPU, where encoding is compute-bound, a wait cost one client 2-4 ms a request and gained
    # no throughput (docs/benchmarks/service).
    max_wait_ms: float = 0.0
    max_queue: int = 1024  # texts waiting or in progress per model; beyond it requests get 429
    request_timeout_s: float = 30.0  # a search or embeddings request not answered by then gets 504

    def check(self, limits: Limits) -> Batching:
        _check_positive(self, "batching setting", allow_zero=("max_wait_ms",))
        if self.max_queue < limits.max_queries:
            raise EngineError(f"--max-queue ({self.max_queue}) must be at least --max-queries ({limits.max_queries}), "
                              "or a request at the limit could never be queued")
        return self


def _check_positive(settings, what: str, allow_zero=()) -> None:
    for name, value in asdict(settings).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
                value == 0 and name not in allow_zero):
            option = "--" + name.replace("_", "-")
            raise EngineError(f"{what} {option} must be {'0 or more' if name in allow_zero else 'positive'}, "
                              f"got {value!r}")
