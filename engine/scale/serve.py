"""`engine serve --ray`: the same HTTP app as `engine serve` (engine.serve.app), deployed on Ray Serve with
`serve.ingress`, in `--replicas` replicas. Each replica builds the app from the recipe (opens the
indexes, loads and warms the bundles) and runs its lifespan (the micro-batchers); Ray Serve's proxy
spreads requests over them. With `--shard-groups G`, the shards of each sharded index are searched by G
deployments of their own (engine.scale.shard_groups) and the app's replicas only encode and merge.
SIGTERM or Ctrl-C shuts the deployment down gracefully, answering the
requests in flight, and exits 0."""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

from engine.errors import EngineError
from engine.index import open_index
from engine.scale.cluster import connect, first_line
from engine.scale.shard_groups import GroupShards, ShardGroups, group_deployments

APP_NAME = "engine"


def serve_on_ray(recipe, host: str, port: int, replicas: int, address: str, cpus_per_replica: float,
                 groups: ShardGroups | None = None, echo=print) -> None:
    """`groups`: search the shards of each sharded index in deployments of their own (engine.scale.shard_groups)."""
    if replicas < 1 or cpus_per_replica <= 0:
        raise EngineError(f"--replicas and --cpus-per-replica must be positive, got {replicas}, {cpus_per_replica}")
    if port == 0:
        raise EngineError("--port 0 is not supported with --ray: Ray Serve's proxy needs a fixed port")
    shard_counts = {}
    for name, path in recipe.indexes:  # a bad index is one error here, not a replica that keeps failing
        with open_index(path, load_shards=False) as index:
            if getattr(index, "is_sharded", False):
                shard_counts[name] = len(index.record["shards"])
    if groups is not None:
        groups.check(shard_counts)
        recipe = replace(recipe, shard_parts=tuple((name, GroupShards(APP_NAME, name, groups.groups))
                                                   for name in shard_counts))
    # Ray Serve gives its HTTP proxy 5 s to come up; on a small, busy machine it takes longer (a cluster
    # started here inherits this; a running cluster keeps its own setting).
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "60")
    ray = connect(address)
    from ray import serve

    def build_app():  # runs on each replica, in an event loop: the build waits on shard groups in a thread
        with ThreadPoolExecutor(1) as pool:
            app, _ = pool.submit(recipe.build, lambda *args: None).result()
        return app

    deployment = serve.deployment(serve.ingress(build_app)(), name=APP_NAME, num_replicas=replicas,
                                  ray_actor_options={"num_cpus": cpus_per_replica},
                                  graceful_shutdown_timeout_s=recipe.batching.request_timeout_s + 5)
    # ray.init sets a SIGTERM handler that exits 15; ours, set after it, lets a stop that comes while the
    # deployment is still starting (serve.run waits for it) shut it down as gracefully as a later one.
    with _stop_signals() as stop:
        try:
            serve.start(http_options={"host": host, "port": port})
            shard_groups = [bound for name in shard_counts for bound in group_deployments(serve, name, groups)] \
                if groups is not None else []
            serve.run(deployment.bind(*shard_groups), name=APP_NAME, route_prefix="/")
        except Exception as err:
            serve.shutdown()
            raise EngineError(f"the Ray Serve deployment did not start: {first_line(err)}") from None
        if not _answers(host, port):
            serve.delete(APP_NAME)
            raise EngineError(f"Ray Serve on this cluster does not listen on {host}:{port}: it was already running "
                              "with other HTTP options (`serve shutdown` stops it), or the port is taken")
        echo(f"serving {len(recipe.indexes)} index(es) on http://{host}:{port} with {replicas} replica(s) on Ray "
             f"Serve (auth {'on' if recipe.api_key else 'off'}); SIGTERM or Ctrl-C drains and stops")
        while not stop.wait(1.0):
            pass
    serve.shutdown()
    ray.shutdown()
    echo("stopped: the deployment answered the requests in flight")


def _answers(host: str, port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://{host}:{port}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def _stop_signals():
    """An event that SIGTERM or SIGINT sets, while the block runs."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *args: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
