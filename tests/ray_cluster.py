"""A real local Ray cluster with 2 CPUs for the tests and benchmarks that need one."""

from contextlib import contextmanager

import pytest


@contextmanager
def local_ray_cluster():
    """The cluster this process already joined, else a new local one, shut down on exit."""
    ray = pytest.importorskip("ray", reason="the scale extra (Ray) is not installed")
    if ray.is_initialized():
        yield ray
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=200 * 1024 * 1024)
    try:
        yield ray
    finally:
        ray.shutdown()
