import pytest

from tests.service_runs import running_server


@pytest.fixture(scope="module")
def server(index_dir, tmp_path_factory):
    """One server for the read-only tests of a module: index `main`, no key."""
    with running_server(tmp_path_factory.mktemp("logs"), f"main={index_dir}") as running:
        yield running
