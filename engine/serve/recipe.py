"""Everything a service is made from, as plain data, so the same app can be built here (`engine serve`) or
on each replica of a Ray Serve deployment (`engine serve --ray`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.serve.settings import Batching, Limits


@dataclass(frozen=True)
class ServiceRecipe:
    indexes: tuple[tuple[str, Path], ...]  # (name, index dir)
    limits: Limits
    batching: Batching
    api_key: str | None = None
    cors_origins: tuple[str, ...] = ()
    variant: str | None = None
    device: str = "auto"
    threads: int = 0
    batch_size: int = 32
    token_budget: int | None = None
    shard_parts: tuple[tuple[str, object], ...] = ()  # (index name, Searcher shard_parts): shards searched elsewhere

    def build(self, echo=print):
        """(Starlette app, Service): every index opened, every bundle loaded once and warmed."""
        from engine.cli_options import make_encoder
        from engine.serve.app import build_app
        from engine.serve.metrics import ServiceMetrics
        from engine.serve.served import load_service

        metrics = ServiceMetrics()
        service = load_service(
            list(self.indexes),
            lambda bundle: make_encoder(bundle, self.variant, self.device, self.threads, self.batch_size,
                                        self.token_budget),
            self.batching, metrics, search_threads=self.threads or (os.cpu_count() or 1), echo=echo,
            shard_parts=dict(self.shard_parts))
        return build_app(service, self.limits, metrics, api_key=self.api_key, cors_origins=self.cors_origins), service
