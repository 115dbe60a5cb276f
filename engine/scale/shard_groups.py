"""`engine serve --ray --shard-groups G`: the shards of each sharded index are split over G Ray Serve
deployments (shard n goes to group n mod G), each with its own replicas and CPUs. The HTTP app's
replicas (the ingress) open only shards.json, encode the queries, ask every group through its
deployment handle and merge the top k (engine.search), so an index larger than one machine's memory is
served by the groups' nodes. Writes through the app still open the shards in the ingress replica that
takes them (engine.shards writes every shard it touches)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import EngineError
from engine.scale.shard_actors import RemoteShard, ShardSearchers


@dataclass(frozen=True)
class ShardGroups:
    groups: int
    replicas: int = 1
    cpus_per_replica: float = 1.0

    def check(self, shard_counts: dict[str, int]) -> None:
        if self.groups < 1 or self.replicas < 1 or self.cpus_per_replica <= 0:
            raise EngineError("--shard-groups, --group-replicas and --cpus-per-group must be positive, got "
                              f"{self.groups}, {self.replicas}, {self.cpus_per_replica}")
        if not shard_counts:
            raise EngineError("--shard-groups needs a sharded index (build one with `engine build-index --shards N`)")
        for name, shards in shard_counts.items():
            if self.groups > shards:
                raise EngineError(f"--shard-groups {self.groups} is more than index {name!r} has shards ({shards})")


def group_deployments(serve, index_name: str, settings: ShardGroups) -> list:
    """The bound deployments of one index's shard groups, named `<index>-shards-<group>`."""
    return [serve.deployment(ShardSearchers, name=group_name(index_name, group), num_replicas=settings.replicas,
                             ray_actor_options={"num_cpus": settings.cpus_per_replica}).bind()
            for group in range(settings.groups)]


def group_name(index_name: str, group: int) -> str:
    return f"{index_name}-shards-{group}"


class GroupShards:
    """`shard_parts` for a Searcher on an ingress replica: each shard searched by its group's deployment."""

    def __init__(self, app_name: str, index_name: str, groups: int):
        self._app, self._names = app_name, [group_name(index_name, group) for group in range(groups)]
        self._handles = None  # made on the replica: handles are not sent with the recipe

    def __call__(self, index) -> list[RemoteShard]:
        from ray import serve

        if self._handles is None:
            self._handles = [serve.get_deployment_handle(name, app_name=self._app) for name in self._names]
        parts = []
        for number in range(len(index.record["shards"])):
            group = number % len(self._names)
            ask = lambda method, *args, handle=self._handles[group]: getattr(handle, method).remote(*args).result()  # noqa: E731
            parts.append(RemoteShard(index, number, ask, f"deployment {self._names[group]}").open())
        return parts
