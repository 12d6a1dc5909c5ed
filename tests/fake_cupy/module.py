"""The ``cupy`` module of the emulated device, and :func:`install`, which puts it in
``sys.modules`` (with ``cupy.cuda``, ``cupy.linalg``, ``cupy.lib.stride_tricks``,
``cupy.testing``, ``cupy._core._routines_linalg``'s compute-type switches used for TF32) in
place of the real package.

Any name real CuPy has and NumPy implements is served by NumPy through the wrappers of
:mod:`tests.fake_cupy.array`; a name real CuPy lacks is an AttributeError, as on a GPU.
"""

from __future__ import annotations

import sys
import types

import numpy as np

from tests.fake_cupy import array as _array
from tests.fake_cupy import cuda as _cuda
from tests.fake_cupy import spec

ndarray = _array.ndarray


class _Module(types.ModuleType):
    """A module whose missing names are looked up in NumPy, limited to ``allowed``."""

    def __init__(self, name, np_module, allowed, host_ok=frozenset()):
        super().__init__(name)
        self._np, self._allowed, self._host_ok = np_module, allowed, host_ok

    def __getattr__(self, name):
        if name.startswith("__") or name not in self._allowed:
            raise AttributeError(f"module '{self.__name__}' has no attribute '{name}'")
        obj = getattr(self._np, name, None)
        if obj is None:
            raise AttributeError(f"module '{self.__name__}' attribute '{name}' is not emulated "
                                 "by tests.fake_cupy")
        if isinstance(obj, np.ufunc):
            value = _array.get_ufunc(name)
        elif isinstance(obj, type) or not callable(obj):
            value = obj  # dtypes, constants, exception classes: NumPy's, as in CuPy
        else:
            value = _array.function(name, obj, host_ok=name in self._host_ok)
        setattr(self, name, value)
        return value


def get_array_module(*args):
    for a in args:
        if isinstance(a, ndarray):
            return cupy
    return np


def get_default_memory_pool():
    return _POOL


def get_default_pinned_memory_pool():
    return _POOL


def _raw_module(*args, **kwargs):
    raise NotImplementedError("cupy.RawModule: the emulated device cannot compile CUDA "
                              "kernels (tests.fake_cupy routes dist_torch's kernels to the "
                              "NumPy twins)")


def _testing_fn(name):
    np_fn = getattr(np.testing, name)

    def check(*args, **kwargs):
        return np_fn(*[_array.asnumpy(a) if isinstance(a, ndarray) else a for a in args],
                     **kwargs)
    check.__name__ = name
    return check


_POOL = _cuda.MemoryPool()

cupy = _Module("cupy", np, spec.MODULE, host_ok=spec.HOST_OK)
cupy.__fake_cupy__ = True
cupy.__version__ = "14.2.0"
cuda = types.ModuleType("cupy.cuda")
cuda.__dict__.update({k: getattr(_cuda, k) for k in (
    "Device", "Stream", "ExternalStream", "Event", "get_current_stream", "get_elapsed_time",
    "MemoryPool", "MemoryPointer", "UnownedMemory", "PinnedMemoryPointer",
    "alloc_pinned_memory", "set_allocator", "get_allocator", "is_available", "Graph",
    "runtime", "memory")})
cuda.OutOfMemoryError = _cuda.OutOfMemoryError

linalg = _Module("cupy.linalg", np.linalg, spec.LINALG)
stride_tricks = _Module("cupy.lib.stride_tricks", np.lib.stride_tricks, spec.STRIDE_TRICKS)
lib = types.ModuleType("cupy.lib")
lib.stride_tricks = stride_tricks
testing = types.ModuleType("cupy.testing")
for _name in spec.TESTING:
    if _name.startswith("assert_") and hasattr(np.testing, _name):
        setattr(testing, _name, _testing_fn(_name))

cupy.__dict__.update(
    ndarray=ndarray, ufunc=_array.ufunc, asarray=_array.asarray, asanyarray=_array.asarray,
    array=_array.array, ascontiguousarray=_array.ascontiguousarray, asnumpy=_array.asnumpy,
    copyto=_array.copyto, get_array_module=get_array_module, cuda=cuda, linalg=linalg,
    lib=lib, testing=testing, get_default_memory_pool=get_default_memory_pool,
    get_default_pinned_memory_pool=get_default_pinned_memory_pool, RawModule=_raw_module,
    RawKernel=_raw_module, ElementwiseKernel=_raw_module, ReductionKernel=_raw_module,
    _core=_cuda.core)

_SUBMODULES = {"cupy": cupy, "cupy.cuda": cuda, "cupy.cuda.runtime": _cuda.runtime,
               "cupy.cuda.memory": _cuda.memory, "cupy.linalg": linalg, "cupy.lib": lib,
               "cupy.lib.stride_tricks": stride_tricks, "cupy.testing": testing,
               "cupy._core": _cuda.core,
               "cupy._core._routines_linalg": _cuda.core._routines_linalg}


def lookup(np_func):
    """The emulated CuPy function for a NumPy function (``__array_function__``), or None
    when CuPy has none (NumPy then raises TypeError, as with real CuPy)."""
    mod = getattr(np_func, "__module__", "") or ""
    name = np_func.__name__
    target = {"numpy": cupy, "numpy.linalg": linalg,
              "numpy.lib.stride_tricks": stride_tricks}.get(mod)
    if target is None:
        return None
    try:
        return getattr(target, name)
    except AttributeError:
        return None


def install() -> None:
    """Make ``import cupy`` (and its submodules) give the emulation in this process.

    The real package's modules leave ``sys.modules``: some load lazily (cupyx), and would
    then import parts of the fake as if they were CuPy's own."""
    for mod in _SUBMODULES.values():
        mod.__file__ = __file__
    for key in list(sys.modules):
        if key.split(".")[0] in ("cupy", "cupyx", "cupy_backends"):
            del sys.modules[key]
    sys.modules.update(_SUBMODULES)
