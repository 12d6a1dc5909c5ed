"""torch-level runtime switches and small utilities that ported scripts call: thread counts,
determinism flags, warn-always, denormals, anomaly mode, ``compile`` (a no-op), type queries,
the ``torch.dropout`` family, ``frombuffer``, DLPack and the default device.

Switches that have no effect here record their value and report it back, as torch does on a
machine where they do nothing (each docstring says which).
"""

from __future__ import annotations

import importlib
import os

import numpy as np

from dist_torch import _dtype, _tensor_extra  # noqa: F401 - _tensor_extra binds methods
from dist_torch._device import as_device, get_default_device, set_default_device
from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd import anomaly_mode
from dist_torch.autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from dist_torch.backend import from_dlpack as _array_from_dlpack
from dist_torch.backend import to_device

__all__ = [
    "get_num_threads", "set_num_threads", "get_num_interop_threads", "set_num_interop_threads",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
    "get_deterministic_debug_mode", "set_warn_always", "is_warn_always_enabled",
    "set_flush_denormal", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
    "set_anomaly_enabled", "compile", "typename", "is_nonzero", "is_signed", "is_same_size",
    "is_inference", "detach", "zero_", "dropout", "dropout_", "alpha_dropout", "alpha_dropout_",
    "feature_dropout", "feature_dropout_", "feature_alpha_dropout", "feature_alpha_dropout_",
    "frombuffer", "from_dlpack", "to_dlpack", "get_device", "set_default_device",
    "get_default_device",
]


def _type_error(fname, arg, pos, expected, value):
    where = f"argument '{arg}'" if pos is None else f"argument '{arg}' (position {pos})"
    return TypeError(f"{fname}(): {where} must be {expected}, not {type(value).__name__}")


def _expect_tensor(value, fname, arg="input", pos=1):
    if not isinstance(value, Tensor):
        raise _type_error(fname, arg, pos, "Tensor", value)


def _expect_bool(value, fname, arg, pos=1):
    if not isinstance(value, bool):
        raise _type_error(fname, arg, pos, "bool", value)


# --------------------------------------------------------------------------- threads

class _Threads:
    intra = None      # set_num_threads' value; None: not set yet
    interop = None    # set_num_interop_threads' value (settable once, as in torch)
    initial = None    # the BLAS pool's size at the first query


def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:  # an optional extra: without it the value is only recorded
        return None
    return threadpoolctl


def _initial_threads() -> int:
    if _Threads.initial is None:
        counts = []
        tpc = _threadpoolctl()
        if tpc is not None:
            counts = [info["num_threads"] for info in tpc.threadpool_info()
                      if info.get("user_api") == "blas"]
        _Threads.initial = max(counts) if counts else (os.cpu_count() or 1)
    return _Threads.initial


def _check_count(n, fname) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise RuntimeError(f"{fname} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{fname} expects a positive integer")
    return int(n)


def get_num_threads() -> int:
    """The number of threads used for intra-op parallelism on the CPU (NumPy's BLAS pool)."""
    return _initial_threads() if _Threads.intra is None else _Threads.intra


def set_num_threads(int) -> None:  # noqa: A002 - torch's documented argument name
    """Set the number of CPU threads of intra-op work: the threads of NumPy's BLAS (matmul,
    conv GEMMs), through ``threadpoolctl`` when it is installed; without it the value is only
    recorded. Other NumPy code is single-threaded; GPU work is unaffected."""
    n = _check_count(int, "set_num_threads")
    tpc = _threadpoolctl()
    if tpc is not None:
        tpc.threadpool_limits(limits=n, user_api="blas")
    _Threads.intra = n


def get_num_interop_threads() -> int:
    """The number of inter-op threads (recorded; dist_torch runs ops on the calling thread)."""
    return (os.cpu_count() or 1) if _Threads.interop is None else _Threads.interop


def set_num_interop_threads(int) -> None:  # noqa: A002
    """Record the number of inter-op threads; like torch, it can be set only once."""
    n = _check_count(int, "set_num_interop_threads")
    if _Threads.interop is not None:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has "
                           "started or set_num_interop_threads called")
    _Threads.interop = n


# --------------------------------------------------------------------------- global flags

class _Flags:
    deterministic = False
    warn_only = False
    warn_always = False


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record torch's determinism switch (readable through the ``are_...`` queries).

    dist_torch's CPU ops are deterministic; on the GPU its scatter/index-add kernels use atomic
    adds, whose float sums can differ in the last bits from run to run, and this switch does not
    change that (torch would pick a deterministic kernel or raise).
    """
    fname = "_set_deterministic_algorithms"
    _expect_bool(mode, fname, "mode")
    _expect_bool(warn_only, fname, "warn_only", None)
    _Flags.deterministic, _Flags.warn_only = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return _Flags.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _Flags.warn_only


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """``'default'``/0: off, ``'warn'``/1: deterministic with warn_only, ``'error'``/2: on."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif isinstance(debug_mode, int):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                               f"{debug_mode}")
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _Flags.deterministic:
        return 0
    return 1 if _Flags.warn_only else 2


def set_warn_always(b: bool, /) -> None:
    """Record torch's switch that repeats once-only warnings (dist_torch's warnings follow
    Python's ``warnings`` filters either way)."""
    if not isinstance(b, bool):
        raise RuntimeError(f"setWarnOnlyOnce expects a bool, but got {type(b).__name__}")
    _Flags.warn_always = b


def is_warn_always_enabled() -> bool:
    return _Flags.warn_always


def set_flush_denormal(mode: bool) -> bool:
    """torch's switch that flushes denormal floats to zero: NumPy gives no way to set the CPU's
    flush-to-zero mode, so turning it on is refused (returns False, as torch does on a CPU
    without the feature) and turning it off succeeds (True): denormals are always kept."""
    if not isinstance(mode, bool):
        raise RuntimeError(f"flush_denormal expects a bool, but got {type(mode).__name__}")
    return not mode


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn autograd's anomaly detection on or off (as ``torch.autograd.set_detect_anomaly``
    called as a function)."""
    _expect_bool(enabled, "set_anomaly_enabled", "enabled")
    _expect_bool(check_nan, "set_anomaly_enabled", "check_nan", 2)
    anomaly_mode.state.enabled, anomaly_mode.state.check_nan = enabled, check_nan


# --------------------------------------------------------------------------- compile

_COMPILE_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs",
                  "max-autotune")


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend=None, mode=None,
            options=None, name=None, disable: bool = False, recompile_limit=None,
            isolate_recompiles: bool = False, shapes_spec=None):
    """torch.compile's signature and argument checks; returns ``model`` itself, unchanged.

    dist_torch has no graph compiler: the model runs eagerly, with the same results torch's
    compiled model gives (up to floating-point reassociation). Works as ``compile(model)``,
    ``@compile`` and ``@compile(mode=...)``. Unlike torch, a compiled ``nn.Module`` is the
    module itself (no ``_orig_mod`` wrapper, no ``_orig_mod.`` prefix in its state_dict).
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _COMPILE_MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: "
                           f"{', '.join(_COMPILE_MODES)}")
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                  mode=mode, options=options, name=name, disable=disable,
                                  recompile_limit=recompile_limit,
                                  isolate_recompiles=isolate_recompiles,
                                  shapes_spec=shapes_spec)
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    return model


# --------------------------------------------------------------------------- type queries

def typename(obj, /) -> str:
    """A readable type name: ``'torch.FloatTensor'`` for tensors, else ``module.qualname``."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def is_nonzero(input) -> bool:
    """The truth value of a one-element tensor; RuntimeError for other sizes."""
    _expect_tensor(input, "is_nonzero")
    return input.is_nonzero()


def is_signed(input) -> bool:
    """True when ``input``'s dtype is signed (False for bool and uint8)."""
    _expect_tensor(input, "is_signed")
    return input.dtype.is_signed


def is_same_size(input, other) -> bool:
    _expect_tensor(input, "is_same_size")
    _expect_tensor(other, "is_same_size", "other", 2)
    return input._data.shape == other._data.shape


def is_inference(input) -> bool:
    """Always False: dist_torch makes no inference tensors (``inference_mode`` acts as
    ``no_grad``)."""
    _expect_tensor(input, "is_inference")
    return False


def detach(input) -> Tensor:
    _expect_tensor(input, "detach")
    return input.detach()


def zero_(input) -> Tensor:
    _expect_tensor(input, "zero_")
    return input.zero_()


def get_device(input) -> int:
    """The CUDA index of ``input``'s device, -1 for the CPU."""
    _expect_tensor(input, "get_device")
    return input.get_device()


# --------------------------------------------------------------------------- torch.* dropout

def _dropout_args(fname, input, p, train):
    _expect_tensor(input, fname)
    _expect_bool(train, fname, "train", 3)
    if p < 0 or p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p:g}")


def _drop(fname, inplace, input, p, train):
    _dropout_args(fname, input, p, train)
    fd = importlib.import_module("dist_torch.nn.functional.dropout")  # nn loads after us
    kind = fname.rstrip("_")
    functional = {"dropout": fd.dropout, "alpha_dropout": fd.alpha_dropout,
                  "feature_dropout": fd._feature_dropout,
                  "feature_alpha_dropout": fd.feature_alpha_dropout}[kind]
    return functional(input, p, train, inplace)


def dropout(input, p, train):
    """Zero elements with probability ``p`` and scale the rest by ``1 / (1 - p)`` when
    ``train`` (``nn.functional.dropout`` with ``train`` required)."""
    return _drop("dropout", False, input, p, train)


def dropout_(input, p, train):
    return _drop("dropout_", True, input, p, train)


def alpha_dropout(input, p, train):
    """``nn.functional.alpha_dropout`` with ``train`` required."""
    return _drop("alpha_dropout", False, input, p, train)


def alpha_dropout_(input, p, train):
    return _drop("alpha_dropout_", True, input, p, train)


def feature_dropout(input, p, train):
    """Zero whole channels (dim 1 of an input of 2 or more dims) with probability ``p``."""
    return _drop("feature_dropout", False, input, p, train)


def feature_dropout_(input, p, train):
    return _drop("feature_dropout_", True, input, p, train)


def feature_alpha_dropout(input, p, train):
    """``nn.functional.feature_alpha_dropout`` with ``train`` required."""
    return _drop("feature_alpha_dropout", False, input, p, train)


def feature_alpha_dropout_(input, p, train):
    return _drop("feature_alpha_dropout_", True, input, p, train)


# --------------------------------------------------------------------------- buffers, DLPack

def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False) -> Tensor:
    """A 1-D tensor over the bytes of a Python buffer (``bytearray``, ``memoryview``,
    ``array.array``, ``mmap``...), sharing its memory: writes through either are seen by both.

    A read-only buffer (``bytes``) is copied instead (torch shares it and warns that the
    tensor can write to it). Never follows the default device, as in torch.

    Example::

        >>> torch.frombuffer(bytearray(b'\\x01\\x02'), dtype=torch.uint8)
        tensor([1, 2], dtype=torch.uint8)
    """
    if not isinstance(dtype, _dtype.dtype):
        raise _type_error("frombuffer", "dtype", None, "torch.dtype", dtype)
    try:
        view = memoryview(buffer)
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    length = view.nbytes
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    item = dtype.itemsize
    if count < 0:
        if (length - offset) % item:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({item})")
        count = (length - offset) // item
    elif offset + count * item > length:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    raw = view.cast("B") if view.ndim != 1 or view.format != "B" else view
    array = np.frombuffer(raw, dtype=dtype.numpy_dtype, count=count, offset=offset)
    if not array.flags.writeable:
        array = array.copy()
    out = _wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def from_dlpack(ext_tensor, *, device=None, copy=None) -> Tensor:
    """A tensor sharing memory with a DLPack producer: an object with ``__dlpack__`` (NumPy and
    CuPy arrays, torch and JAX tensors, ...) or a capsule from :func:`to_dlpack` (consumed).
    ``device`` moves it (a copy when it changes device) and ``copy=True`` copies."""
    array = _array_from_dlpack(ext_tensor)
    _dtype.from_numpy_dtype(array.dtype)  # TypeError for dtypes torch has no name for
    if device is not None:
        target = as_device(device)
        array = to_device(array, target, copy=bool(copy))
    elif copy:
        array = array.copy()
    return _wrap(array)


def to_dlpack(tensor):
    """A DLPack capsule of ``tensor``'s memory (legacy interface; prefer passing the tensor
    itself to a consumer's ``from_dlpack``)."""
    _expect_tensor(tensor, "to_dlpack", "tensor")
    return tensor._data.__dlpack__()

