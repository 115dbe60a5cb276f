import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    """A real local Ray cluster with 2 CPUs for the tests that need one; shut down after them."""
    ray = pytest.importorskip("ray", reason="the scale extra (Ray) is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=200 * 1024 * 1024)
    yield ray
    ray.shutdown()
