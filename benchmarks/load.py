"""A bounded HTTP load generator for `engine serve`: `concurrency` asyncio clients (httpx) each send one
search after another until `seconds` have passed or `max_requests` were sent, whichever comes first.
Only 127.0.0.1 is accepted as a target.

  python -m benchmarks.load http://127.0.0.1:8000 --index demo --concurrency 8 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlparse

import httpx
import numpy as np

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class LoadResult:
    concurrency: int
    seconds: float
    requests: int
    errors: int
    qps: float
    p50_ms: float
    p99_ms: float
    statuses: dict


def run_load(url: str, index: str, queries: list[str], concurrency: int, seconds: float, max_requests: int,
             k: int = 10, api_key: str | None = None) -> LoadResult:
    if urlparse(url).hostname not in LOOPBACK:
        raise ValueError(f"load tests run against 127.0.0.1 only, not {url}")
    return asyncio.run(_load(url, index, queries, concurrency, seconds, max_requests, k, api_key))


async def _load(url, index, queries, concurrency, seconds, max_requests, k, api_key) -> LoadResult:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    sent = 0
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    deadline = started + seconds

    async def client_loop(http: httpx.AsyncClient, number: int):
        nonlocal sent
        position = number
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            body = {"queries": [queries[position % len(queries)]], "k": k, "with_text": False}
            position += concurrency
            asked = time.perf_counter()
            try:
                reply = await http.post(f"/indexes/{index}/search", json=body)
                status = str(reply.status_code)
            except httpx.HTTPError as err:
                status = type(err).__name__
            statuses[status] = statuses.get(status, 0) + 1
            if status == "200":
                latencies.append(time.perf_counter() - asked)

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:
        await asyncio.gather(*(client_loop(http, number) for number in range(concurrency)))
    elapsed = time.perf_counter() - started
    ok = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return LoadResult(concurrency, round(elapsed, 3), sent, sent - len(latencies), len(latencies) / elapsed,
                      float(np.percentile(ok, 50)), float(np.percentile(ok, 99)), statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--index", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--api-key")
    parser.add_argument("--queries", help="TSV of `qid<TAB>query` lines (default: the demo questions)")
    args = parser.parse_args()
    from engine.corpus import read_queries
    from engine.demo_data import read_demo_queries

    if args.queries:
        with open(args.queries, "rb") as handle:
            _, queries = read_queries(handle)
    else:
        queries = [question for _, _, question in read_demo_queries()]
    result = run_load(args.url, args.index, queries, args.concurrency, args.seconds, args.max_requests,
                      api_key=args.api_key)
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
