"""The CUDA backend: a guarded CuPy import, so that ``import dist_torch`` works without it."""

from __future__ import annotations

try:
    import cupy
except ImportError:  # no CuPy on this machine: every CUDA request gets a clear error
    cupy = None

_available = None


def available() -> bool:
    """True when CuPy imports and at least one GPU answers."""
    global _available
    if _available is None:
        try:
            _available = cupy is not None and cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:  # CuPy without a driver or GPU raises CUDARuntimeError and kin
            _available = False
    return _available


def is_cupy_array(obj) -> bool:
    return cupy is not None and isinstance(obj, cupy.ndarray)


def require(what: str = "this operation"):
    """Raise the error a user sees when CUDA is asked for and not there."""
    if not available():
        reason = "CuPy is not installed (pip install dist_torch[cuda])" if cupy is None \
            else "no CUDA GPU is visible"
        raise RuntimeError(f"CUDA is not available for {what}: {reason}")


def to_gpu(array, index, copy=False):
    require("a CUDA tensor")
    index = cupy.cuda.runtime.getDevice() if index is None else index
    with cupy.cuda.Device(index):
        if isinstance(array, cupy.ndarray) and array.device.id == index and not copy:
            return array
        return cupy.array(array, copy=True) if copy else cupy.asarray(array)
