"""TF32 on CuPy: the cuBLAS compute type CuPy uses for float32 (and complex64) GEMMs.

CuPy keeps one process-wide compute type per dtype (``cupy._core.set_compute_type``); its
first GEMM picks ``COMPUTE_TYPE_DEFAULT`` (full float32), or ``COMPUTE_TYPE_TF32`` when the
``CUPY_TF32`` environment variable is set. dist_torch sets it from torch's flags instead:
``torch.backends.cuda.matmul.allow_tf32`` / ``set_float32_matmul_precision`` for matmuls, and
``torch.backends.cudnn.allow_tf32`` for the GEMMs inside convolutions (:func:`conv_gemm`).
TF32 needs compute capability 8.0 or newer; older GPUs always compute in float32, as in torch.
"""

from __future__ import annotations

import contextlib

import numpy as np

from dist_torch.backend import cuda

__all__ = ["apply_matmul_tf32", "conv_gemm", "current_compute_type", "tf32_supported", "sync"]

_F32 = np.dtype(np.float32)
_matmul_tf32 = False   # what the flags ask for matmuls (kept here so sync() can re-apply it)
_supported = None      # None until asked: does the current GPU have TF32 tensor cores?


def _linalg():
    from cupy._core import _routines_linalg
    return _routines_linalg


def tf32_supported() -> bool:
    """True when CUDA is available and the current GPU has compute capability >= 8.0."""
    global _supported
    if _supported is None:
        if not cuda.available():
            return False
        _supported = int(cuda.cupy.cuda.Device().compute_capability) >= 80
    return _supported


def _compute_type(allow: bool) -> int:
    lin = _linalg()
    return lin.COMPUTE_TYPE_TF32 if allow and tf32_supported() else lin.COMPUTE_TYPE_DEFAULT


def _set(allow: bool) -> None:
    _linalg().set_compute_type(_F32, _compute_type(allow))


def apply_matmul_tf32(allow: bool) -> None:
    """Make CuPy's float32 matmuls use TF32 (``allow``) or full float32. Recorded without a
    GPU, and applied as soon as CUDA is available (:func:`sync`)."""
    global _matmul_tf32
    _matmul_tf32 = bool(allow)
    if cuda.available():
        _set(_matmul_tf32)


def sync() -> None:
    """Re-apply the matmul flag (overriding ``CUPY_TF32``); call once CUDA is first found."""
    if cuda.available():
        _set(_matmul_tf32)


def current_compute_type() -> str:
    """CuPy's float32 GEMM compute type by name (``'COMPUTE_TYPE_TF32'``, ...)."""
    lin = _linalg()
    return lin.compute_type_to_str(lin.get_compute_type(_F32))


@contextlib.contextmanager
def conv_gemm():
    """Within: CuPy float32 GEMMs follow ``torch.backends.cudnn.allow_tf32`` (convolutions'
    flag, on by default) instead of the matmul flag; restored on exit."""
    if not cuda.available():
        yield
        return
    from dist_torch.backends import cudnn
    lin = _linalg()
    before = lin.get_compute_type(_F32)
    lin.set_compute_type(_F32, _compute_type(cudnn.allow_tf32))
    try:
        yield
    finally:
        lin.set_compute_type(_F32, before)
