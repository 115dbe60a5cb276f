"""`engine serve INDEX [INDEX ...]`: load, warm, then serve over HTTP until SIGTERM."""

from __future__ import annotations

import ipaddress

import click

from engine.cli_options import encoder_options
from engine.errors import EngineError

API_KEY_ENV = "ENGINE_API_KEY"


@click.command("serve")
@click.argument("indexes", nargs=-1, required=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", type=int, default=8000, show_default=True, help="port to listen on (0: any free one)")
@click.option("--api-key", envvar=API_KEY_ENV, help=f"bearer key every request must send (or ${API_KEY_ENV})")
@click.option("--insecure", is_flag=True, help="allow a non-loopback --host without an API key")
@click.option("--cors-origin", "cors_origins", multiple=True, help="allow browser requests from this origin "
                                                                  "(repeatable; CORS is off without it)")
@click.option("--max-batch", type=int, default=32, show_default=True, help="most texts per micro-batch")
@click.option("--max-wait-ms", type=float, default=0.0, show_default=True,
              help="how long a micro-batch waits for more requests (0: it takes what has queued)")
@click.option("--max-queue", type=int, default=1024, show_default=True,
              help="most texts queued per model; more get 429")
@click.option("--request-timeout-s", type=float, default=30.0, show_default=True,
              help="a search or embeddings request not answered by then gets 504")
@click.option("--max-body-bytes", type=int, default=16 * 1024 * 1024, show_default=True)
@click.option("--max-queries", type=int, default=256, show_default=True,
              help="most queries (or embeddings inputs) per request")
@click.option("--max-passages", type=int, default=10_000, show_default=True, help="most passages per add or delete")
@click.option("--max-k", type=int, default=1000, show_default=True)
@click.option("--max-text-chars", type=int, default=20_000, show_default=True, help="longest query, input or passage")
@click.option("--ray", "ray_address", help="deploy on Ray Serve instead: `auto` (the running cluster, else a local "
                                         "one) or a cluster address (needs the scale extra)")
@click.option("--replicas", type=int, default=1, show_default=True, help="with --ray: replicas of the service")
@click.option("--cpus-per-replica", type=float, default=1.0, show_default=True, help="with --ray")
@click.option("--shard-groups", type=int, help="with --ray: search each sharded index's shards in this many "
                                               "deployments of their own (shard n in group n mod G)")
@click.option("--group-replicas", type=int, default=1, show_default=True, help="with --shard-groups: replicas per group")
@click.option("--cpus-per-group", type=float, default=1.0, show_default=True,
              help="with --shard-groups: CPUs per group replica")
@encoder_options
def serve_command(indexes, host, port, api_key, insecure, cors_origins, max_batch, max_wait_ms, max_queue,
                  request_timeout_s, max_body_bytes, max_queries, max_passages, max_k, max_text_chars,
                  ray_address, replicas, cpus_per_replica, shard_groups, group_replicas, cpus_per_group, variant,
                  device, threads, batch_size, token_budget):
    """Serve INDEX dirs (each `PATH` or `NAME=PATH`) over HTTP: search, embeddings, add, delete, metrics."""
    if not _is_loopback(host) and not api_key and not insecure:
        raise EngineError(f"--host {host} is reachable from other machines: set --api-key (or ${API_KEY_ENV}), "
                          "or pass --insecure to serve without one")
    if port < 0 or port > 65535:
        raise EngineError(f"--port must be 0-65535, got {port}")
    if shard_groups is not None and not ray_address:
        raise EngineError("--shard-groups needs --ray: the groups are Ray Serve deployments")
    try:
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as err:
        raise EngineError(f"`engine serve` needs the serve extra ({err.name} is missing): "
                          "pip install -e '.[serve]'") from None
    from engine.serve import server
    from engine.serve.recipe import ServiceRecipe
    from engine.serve.served import parse_index_specs
    from engine.serve.settings import Batching, Limits

    limits = Limits(max_body_bytes, max_queries, max_passages, max_k, max_text_chars).check()
    batching = Batching(max_batch, max_wait_ms, max_queue, request_timeout_s).check(limits)
    recipe = ServiceRecipe(tuple(parse_index_specs(indexes)), limits, batching, api_key or None, tuple(cors_origins),
                           variant, device, threads, batch_size, token_budget)
    if ray_address:
        from engine.scale.serve import serve_on_ray
        from engine.scale.shard_groups import ShardGroups

        groups = ShardGroups(shard_groups, group_replicas, cpus_per_group) if shard_groups is not None else None
        serve_on_ray(recipe, host, port, replicas, ray_address, cpus_per_replica, groups, echo=click.echo)
        return
    sock = server.bind(host, port)  # before loading: a busy port fails at once
    try:
        app, service = recipe.build(echo=click.echo)
    except BaseException:
        sock.close()
        raise
    bound_host, bound_port = sock.getsockname()[:2]
    click.echo(f"serving {len(service.indexes)} index(es) on http://{_url_host(bound_host)}:{bound_port} "
               f"(auth {'on' if api_key else 'off'}); SIGTERM or Ctrl-C drains and stops")

    def on_drain():
        service.draining = True

    server.run(app, sock, drain_timeout_s=request_timeout_s + 5, on_drain=on_drain)
    click.echo("stopped: requests in flight were answered")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
