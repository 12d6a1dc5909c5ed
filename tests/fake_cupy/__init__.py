"""An emulated CUDA device for the GPU test suites: a NumPy-backed stand-in for CuPy.

``tests.fake_cupy.plugin`` (a pytest plugin, ``-p tests.fake_cupy.plugin``) installs it as
``cupy`` before dist_torch is imported, so that the GPU tests run on CPU and catch the
Python-level mistakes a first GPU run would otherwise spend its time on (NumPy calls on
device arrays, host/device mix-ups, wrong CuPy attributes). Device arrays hold a NumPy array
but refuse implicit conversion to NumPy, as CuPy's do. Never imported by dist_torch.

This package's ``__init__`` imports nothing heavy: test files use :data:`needs_real_cuda` to
skip tests that need real CUDA (NVRTC kernels, stream timing, graph capture, the real memory
pool, NCCL) under emulation.
"""

from __future__ import annotations

import sys

import pytest

__all__ = ["emulated", "needs_real_cuda"]


def emulated() -> bool:
    """True when the emulated device is installed in this process."""
    mod = sys.modules.get("cupy")
    return bool(getattr(mod, "__fake_cupy__", False))


# a string condition, evaluated when each test runs (pytest provides ``sys``), so that the
# marker works whatever the import order of this package and the plugin
needs_real_cuda = pytest.mark.skipif(
    "getattr(sys.modules.get('cupy'), '__fake_cupy__', False)",
    reason="needs real CUDA (kernels, streams, graphs or the memory pool); skipped on the "
           "emulated device")
