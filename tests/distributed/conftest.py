"""tests/distributed/mpi runs only under mpiexec with ``--with-mpi`` (test_mpi_suites.py starts
those runs); an ordinary ``pytest`` run does not collect it, instead of listing 100+ skips."""

from pathlib import Path

import pytest

MPI_SUITE = Path(__file__).parent / "mpi"


def pytest_ignore_collect(collection_path, config):
    if config.getoption("--with-mpi", default=False):
        return None
    return True if MPI_SUITE in (Path(collection_path), *Path(collection_path).parents) else None


@pytest.fixture
def cp():
    """CuPy, for tests on CUDA tensors; skips the test when no GPU is visible."""
    from dist_torch.backend import cuda, cuda_available
    if not cuda_available():
        pytest.skip("needs a CUDA GPU (CuPy and a visible device)")
    return cuda.cupy
