"""Distributed encoding with Ray Data: the texts go through `map_batches` over a pool of actors, each of
which loads the ONNX encoder once; rows carry their position, so the vectors come back in input order.

A worker that dies mid-way is restarted by Ray and its batch retried; a failure Ray cannot retry away
(a bundle a worker cannot load, a batch the graph refuses) is one EngineError, raised before anything
is written."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import EngineError
from engine.scale.cluster import connect, failure_message


@dataclass(frozen=True)
class RayEncoding:
    address: str = "auto"
    actors: int = 2
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    rows_per_batch: int = 256  # texts per Ray Data batch; the encoder batches them by tokens within

    def check(self) -> RayEncoding:
        if self.actors < 1 or self.rows_per_batch < 1:
            raise EngineError(f"--ray-actors and the batch size must be positive, got {self.actors}, "
                              f"{self.rows_per_batch}")
        if self.cpus_per_actor <= 0 or self.gpus_per_actor < 0:
            raise EngineError(f"--ray-cpus-per-actor must be positive and --ray-gpus-per-actor 0 or more, got "
                              f"{self.cpus_per_actor}, {self.gpus_per_actor}")
        return self


class _EncoderActor:
    """One per Ray actor: the bundle's ONNX session, loaded once."""

    def __init__(self, bundle: str, variant: str, threads: int, batch_size: int, token_budget, prefix: str):
        from engine.encoder import Encoder

        device = "cuda" if _has_gpu() else "cpu"
        self.encoder = Encoder(bundle, variant=variant, device=device, intra_op_threads=threads,
                               batch_size=batch_size, token_budget=token_budget)
        self.prefix = prefix

    def __call__(self, batch: dict) -> dict:
        texts = [str(text) for text in batch["text"]]
        return {"row": batch["row"], "vector": self.encoder.encode(texts, self.prefix)}


def _has_gpu() -> bool:
    import ray

    return bool(ray.get_gpu_ids())


def encode_with_ray(texts: list[str], encoder, settings: RayEncoding, prefix: str) -> np.ndarray:
    """float32 (len(texts), dimension), like `encoder.encode(texts, prefix)`, computed by Ray actors that
    load `encoder`'s bundle and variant."""
    settings.check()
    ray = connect(settings.address)
    threads = max(1, int(settings.cpus_per_actor))
    dataset = ray.data.from_items([{"row": row, "text": text} for row, text in enumerate(texts)])
    encoded = dataset.map_batches(
        _EncoderActor, batch_format="numpy", batch_size=settings.rows_per_batch,
        fn_constructor_args=(str(encoder.bundle.path), encoder.variant, threads, encoder.batch_size,
                             encoder.token_budget, prefix),
        compute=ray.data.ActorPoolStrategy(size=settings.actors),
        num_cpus=settings.cpus_per_actor, num_gpus=settings.gpus_per_actor or None)
    vectors = np.empty((len(texts), encoder.dimension), dtype=np.float32)
    seen = np.zeros(len(texts), dtype=bool)
    try:
        for batch in encoded.iter_batches(batch_format="numpy", batch_size=None):
            vectors[batch["row"]] = np.stack(batch["vector"]) if batch["vector"].dtype == object else batch["vector"]
            seen[batch["row"]] = True
    except Exception as err:  # Ray wraps a worker's exception in its own types
        raise EngineError(f"distributed encoding failed on a Ray worker: {failure_message(err)}") from None
    if not seen.all():
        raise EngineError(f"distributed encoding returned {int(seen.sum())} of {len(texts)} vectors")
    return vectors
