"""Every test under mpiexec runs in one process group: the world, created once."""

import pytest

import dist_torch.distributed as dist


@pytest.fixture(scope="session", autouse=True)
def world():
    if not dist.is_initialized():
        dist.init_process_group("mpi")
    yield
