import pytest

from tests.ray_cluster import local_ray_cluster


@pytest.fixture(scope="session")
def ray_cluster():
    with local_ray_cluster() as ray:
        yield ray
