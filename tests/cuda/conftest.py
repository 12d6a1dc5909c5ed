"""CUDA kernel tests: compile checks (need nvcc), NumPy twins (run everywhere) and kernel vs
twin comparisons (need a GPU; skipped without one)."""

import pytest

from dist_torch.backend import cuda_available


@pytest.fixture
def cp():
    """CuPy, for tests that run kernels; skips the test when no GPU is visible."""
    if not cuda_available():
        pytest.skip("needs a CUDA GPU (CuPy and a visible device)")
    from dist_torch.backend import cuda
    return cuda.cupy


@pytest.fixture
def torch():
    """PyTorch, the oracle of the twin tests; skips the test when it is not installed."""
    return pytest.importorskip("torch")
