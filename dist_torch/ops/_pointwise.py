"""Shared helpers of the pointwise op families (elementwise, power, fused, unary, comparison):
torch's error messages, broadcast errors, ``out=`` handling and in-place method makers."""

from __future__ import annotations

import numpy as np

from dist_torch import _dtype
from dist_torch._broadcast import broadcast_shapes
from dist_torch._tensor import Tensor
from dist_torch.autograd import grad_mode
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module
from dist_torch.ops.inplace import inplace


def type_name(np_dtype) -> str:
    """torch's ScalarType name of a NumPy dtype: 'Float', 'Long', 'Bool', ..."""
    return _LEGACY_TYPE_NAMES[_dtype.from_numpy_dtype(np_dtype).name]


def broadcast_error(*operands):
    """The RuntimeError torch raises when ``operands`` do not broadcast (None if they do)."""
    shapes = [x._data.shape if isinstance(x, Tensor) else np.shape(x) for x in operands]
    try:
        broadcast_shapes(*shapes)
    except RuntimeError as err:
        return err
    return None


def raise_broadcast_error(*operands):
    """Called on NumPy's ValueError: raise torch's broadcast RuntimeError if that was the cause
    (re-raise the ValueError otherwise)."""
    err = broadcast_error(*operands)
    if err is None:
        raise  # the ValueError being handled
    raise err from None


def apply_broadcasting(op, *args):
    """``op.apply(*args)``, turning NumPy's broadcast ValueError into torch's RuntimeError."""
    try:
        return op.apply(*args)
    except ValueError:
        err = broadcast_error(*args)
        if err is None:
            raise
        raise err from None


def write_out(out, result, fname):
    """Store ``result`` into the ``out=`` tensor as torch does; returns ``out``."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{fname}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if grad_mode.state.grad_enabled and (result._requires_grad or out._requires_grad):
        raise RuntimeError(f"{fname}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    src, dst = result._data, out._data
    if _category(src.dtype) > _category(dst.dtype):
        raise RuntimeError(f"result type {type_name(src.dtype)} can't be cast to the desired "
                           f"output type {type_name(dst.dtype)}")
    if src.shape == dst.shape:
        array_module(dst).copyto(dst, src, casting="unsafe")
    else:
        out._data = src.astype(dst.dtype, copy=True)
    out._bump_version()
    return out


def _category(np_dtype):
    kind = np_dtype.kind
    return 0 if kind == "b" else 1 if kind in "iu" else 2


def tensor_of(a, b) -> Tensor:
    return a if isinstance(a, Tensor) else b


def is_integral(np_dtype) -> bool:
    return np_dtype.kind in "biu"


def check_int_divisor(b):
    """torch raises for integer division by zero (floating division gives inf/nan)."""
    if (not b.all()) if hasattr(b, "all") else b == 0:
        raise RuntimeError("ZeroDivisionError")


def not_implemented(kernel, np_dtype):
    return NotImplementedError(f'"{kernel}" not implemented for \'{type_name(np_dtype)}\'')


class NoDerivative(Primitive):
    """Forward-only ops: backward raises as torch's ``NotImplemented`` node does."""

    _name = "NotImplemented"
    _aten = ""

    def backward(ctx, grad):
        raise RuntimeError(f"derivative for aten::{ctx._aten} is not implemented")



# C++ type names, as torch's dtype-mismatch messages print them
_CPP_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half",
    "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
    "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
}


def cpp_type_name(np_dtype) -> str:
    return _CPP_NAMES[_dtype.from_numpy_dtype(np_dtype).name]


def direct_target(self: Tensor, *operands):
    """``self``'s array when an in-place op may compute straight into it (nothing needs a
    gradient and the storage is writable), else None: take the recorded path of ``inplace``.
    """
    if grad_mode.state.grad_enabled:
        if self._requires_grad:
            return None
        for x in operands:
            if isinstance(x, Tensor) and x._requires_grad:
                return None
    data = self._data
    if type(data) is np.ndarray and not data.flags.writeable:
        return None
    return data


def written(self: Tensor) -> Tensor:
    """Finish a direct in-place write: bump the version counter, return ``self``."""
    self._bump_version()
    return self


def inplace_method(fn):
    """``Tensor.<fn>_``: run ``fn`` out of place and write the result into ``self``."""
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    return method


def reflected(fn):
    """``Tensor.__r<op>__``: ``fn(other, self)``."""
    def method(self, other):
        return fn(other, self)
    return method
