"""Smoke mode or full size: `pytest` runs every benchmark once on small sizes (pyproject's
--benchmark-disable) so CI keeps them working; --benchmark-enable measures at full size."""

import os

SMOKE_VECTORS = 2000


def smoke_mode(config) -> bool:
    """True when benchmarks run once as tests (--benchmark-disable without --benchmark-enable)."""
    return config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")


def bench_vectors(config) -> int:
    default = SMOKE_VECTORS if smoke_mode(config) else 100_000
    return int(os.environ.get("ENGINE_BENCH_VECTORS", default))
