"""Device dispatch: the only package that knows NumPy arrays from CuPy arrays.

Ops call :func:`array_module` once and write NumPy-style code against the module it returns.
"""

from __future__ import annotations

import contextlib

import numpy as np

from dist_torch._device import CPU, device
from dist_torch.backend import cpu, cuda

__all__ = ["array_module", "device_of", "to_device", "is_array", "cuda_available", "use_kernels",
           "kernels", "capturing", "conv_gemm", "device_guard", "from_dlpack", "data_ptr",
           "storage_root"]

cpu.tune_allocator()


def array_module(array):
    """The array module (``numpy`` or ``cupy``) that ``array`` belongs to."""
    if type(array) is np.ndarray:
        return np
    if cuda.is_cupy_array(array):
        return cuda.cupy
    return np


def use_kernels(array, family: str | None = None) -> bool:
    """True when an op should hand ``array`` to the CUDA kernels (:func:`kernels`) instead of
    running its generic array code: ``array`` is a CuPy array and, given a kernel ``family``
    (``'softmax'``, ``'pooling'``, ...), its dtype is one that family is compiled for."""
    if not cuda.is_cupy_array(array):
        return False
    return family is None or array.dtype.name in kernels().FAMILY_DTYPES[family]


def kernels():
    """The launch wrappers of the hand-written CUDA kernels
    (:mod:`dist_torch.backend.cuda_kernels`), imported on first use."""
    from dist_torch.backend import cuda_kernels
    return cuda_kernels


def is_array(obj) -> bool:
    """True for NumPy arrays and, when CuPy is installed, CuPy arrays."""
    return type(obj) is np.ndarray or isinstance(obj, np.ndarray) or cuda.is_cupy_array(obj)


def device_of(array) -> device:
    """The torch device that holds ``array``."""
    if type(array) is np.ndarray:
        return CPU
    if cuda.is_cupy_array(array):
        return device("cuda", array.device.id)
    return CPU


def to_device(array, target: device, copy: bool = False):
    """``array`` on ``target``; a no-op when it is already there unless ``copy``."""
    if target.type == "cpu":
        if cuda.is_cupy_array(array):
            cuda.check_not_capturing("copying a CUDA tensor to the host (.item(), .cpu(), "
                                     ".tolist(), print)")
            return array.get()
        return array.copy() if copy else array
    return cuda.to_gpu(array, target.index, copy=copy)


def data_ptr(array) -> int:
    """The address of ``array``'s first element (host or device memory)."""
    if type(array) is np.ndarray:
        return array.__array_interface__["data"][0]
    return array.data.ptr


def storage_root(array):
    """The array that owns ``array``'s memory (following views, and the wrapper object NumPy's
    ``as_strided`` keeps its base in)."""
    while True:
        base = getattr(array, "base", None)
        if is_array(base):
            array = base
            continue
        inner = getattr(base, "base", None)
        if base is not None and is_array(inner):
            array = inner
            continue
        return array


_NO_GUARD = contextlib.nullcontext()


def device_guard(arrays):
    """A context that makes the GPU of the first CuPy array in ``arrays`` current (a no-op
    context when it already is, or when there is none). CuPy launches kernels and allocates
    results on the current device; ops run under this so that results stay on their inputs'
    device, as in torch (``x * 2`` for ``x`` on ``cuda:1`` is on ``cuda:1`` whatever device
    is current)."""
    for a in arrays:
        if cuda.is_cupy_array(a):
            index = a.device.id
            return _NO_GUARD if index == cuda.peek_device() else cuda.cupy.cuda.Device(index)
    return _NO_GUARD


def capturing() -> bool:
    """True while this thread captures a CUDA graph: ops skip their host-side value checks
    (which would wait for the GPU), as torch checks those in-kernel."""
    return cuda.capturing()


def conv_gemm(array):
    """A context for a convolution's GEMMs on ``array``: on float32 CuPy arrays they follow
    ``torch.backends.cudnn.allow_tf32`` instead of the matmul flag; elsewhere nothing."""
    if cuda.is_cupy_array(array) and array.dtype == np.float32:
        from dist_torch.backend import cuda_flags
        return cuda_flags.conv_gemm()
    return contextlib.nullcontext()


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return cuda.available()


_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED = 1, 2, 3, 13


class _Capsule:
    """Hands a legacy DLPack capsule to ``from_dlpack`` functions that want ``__dlpack__``."""

    def __init__(self, capsule, device_type):
        self._capsule, self._device_type = capsule, device_type

    def __dlpack__(self, **kwargs):
        return self._capsule

    def __dlpack_device__(self):
        return self._device_type, 0


class _Alias:
    """Exposes an array's memory as writable (and keeps the array alive)."""

    def __init__(self, array):
        self._array = array
        self.__array_interface__ = dict(array.__array_interface__,
                                        data=(array.__array_interface__["data"][0], False))


def _writable(array):
    """NumPy marks arrays from legacy capsules read-only, since those cannot say whether the
    memory may be written; torch treats them as writable, and so do we."""
    return array if array.flags.writeable else np.asarray(_Alias(array))


def _capsule_device_type(capsule) -> int:
    """The DLDeviceType of a legacy ``"dltensor"`` capsule (its DLTensor's ``device.device_type``
    sits right after the data pointer); torch's error for a used or foreign capsule."""
    import ctypes
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    try:
        ptr = get(capsule, b"dltensor")
    except (ValueError, TypeError):
        ptr = None
    if not ptr:
        raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor capsules "
                           "can be consumed only once, so you might have already constructed a "
                           "tensor from it once.")
    return ctypes.c_int32.from_address(ptr + ctypes.sizeof(ctypes.c_void_p)).value


def from_dlpack(obj):
    """A NumPy or CuPy array sharing memory with ``obj``: an object with ``__dlpack__`` (a NumPy
    or CuPy array, a torch tensor, ...) or a legacy DLPack capsule (consumed)."""
    if hasattr(obj, "__dlpack_device__"):
        device_type = int(obj.__dlpack_device__()[0])
    else:
        device_type = _capsule_device_type(obj)
    if device_type in (_DL_CUDA, _DL_CUDA_MANAGED):
        cuda.require("a CUDA tensor from DLPack")
        return cuda.cupy.from_dlpack(obj)  # takes legacy capsules as they are
    if device_type in (_DL_CPU, _DL_CUDA_HOST):
        if hasattr(obj, "__dlpack__"):
            return np.from_dlpack(obj)
        return _writable(np.from_dlpack(_Capsule(obj, device_type)))
    raise RuntimeError(f"Unsupported device in DLTensor (DLPack device type {device_type})")
