"""Helpers shared by the op families: argument checks, dims, dtype promotion of operands."""

from __future__ import annotations

import numbers

import numpy as np

from dist_torch import _dtype
from dist_torch._size import wrap_dim
from dist_torch._tensor import Tensor, _wrap
from dist_torch.backend import device_of

_BY_NUMPY = _dtype._BY_NUMPY
_Number = (int, float, bool)


def wrap_dims(dims, ndim: int) -> tuple:
    """Normalize an int or a sequence of dims into a sorted tuple; repeated dims are an error."""
    if isinstance(dims, int):
        return (wrap_dim(dims, ndim),)
    out = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(out)) != len(out):
        repeated = next(d for i, d in enumerate(out) if d in out[:i])
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    return tuple(sorted(out))


def check_tensor(value, fname: str, argname: str = "input") -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{argname}' (position 1) must be Tensor, not "
                        f"{type(value).__name__}")
    return value


def is_scalar(value) -> bool:
    return isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, Tensor)


def scalar_value(value):
    """A NumPy scalar as the Python number torch treats it as (a 'weak' scalar)."""
    return value.item() if isinstance(value, np.generic) else value


def to_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor (numbers become 0-dim tensors on ``like``'s device)."""
    if isinstance(value, Tensor):
        return value
    from dist_torch._creation import tensor
    return tensor(value, device=None if like is None else like.device)


def cast(t: Tensor, np_dtype) -> Tensor:
    """``t`` converted to ``np_dtype`` (differentiable), or ``t`` itself when already so."""
    if t._data.dtype == np_dtype:
        return t
    from dist_torch.ops.conversion import ToCopy
    return ToCopy.apply(t, dtype=np_dtype)


def check_same_device(a: Tensor, b: Tensor) -> None:
    """Tensors of one op must share a device; a 0-dim CPU tensor may join any device."""
    if type(a._data) is type(b._data):
        da = device_of(a._data)
        if da.type == "cpu" or da == device_of(b._data):
            return
    elif (a._data.ndim == 0 and type(a._data) is np.ndarray) or \
            (b._data.ndim == 0 and type(b._data) is np.ndarray):
        return
    raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                       f"devices, {device_of(a._data)} and {device_of(b._data)}!")


def result_dtype(*operands) -> _dtype.dtype:
    """torch.result_type over Tensors and Python scalars."""
    dims, zero_dims, scalars = [], [], []
    for x in operands:
        if isinstance(x, Tensor):
            (dims if x._data.ndim else zero_dims).append(_BY_NUMPY[x._data.dtype])
        else:
            scalars.append(_dtype.scalar_dtype(x))
    return _dtype.result_type_of(dims, zero_dims, scalars)


def promote(a, b):
    """Bring a binary op's operands to torch's result dtype.

    Returns ``(a, b)`` where Tensors are cast to the result dtype and Python scalars are kept
    (NumPy treats them as weak, so they never widen the result).
    """
    a_t = isinstance(a, Tensor)
    b_t = isinstance(b, Tensor)
    if not (a_t and b_t) and isinstance(a if b_t else b, np.ndarray):
        return promote(*((a, _wrap(b)) if a_t else (_wrap(a), b)))
    if a_t and b_t:
        if a._data.dtype == b._data.dtype:
            if type(a._data) is not type(b._data) or type(a._data) is not np.ndarray:
                check_same_device(a, b)  # CPU and CUDA, or two CUDA devices
            return a, b
        check_same_device(a, b)
        np_dtype = result_dtype(a, b).numpy_dtype
        return cast(a, np_dtype), cast(b, np_dtype)
    if a_t:
        b = _scalar_operand(b, a)
        return _promote_with_scalar(a, b), b
    if b_t:
        a = _scalar_operand(a, b)
        return a, _promote_with_scalar(b, a)
    raise TypeError(f"expected at least one Tensor operand, got {type(a).__name__} and "
                    f"{type(b).__name__}")


def _scalar_operand(value, tensor):
    if type(value) not in _Number:
        if isinstance(value, np.generic):  # np.float64 is a float, but NumPy won't treat it weak
            value = value.item()
        elif not isinstance(value, _Number):
            raise TypeError(f"unsupported operand type(s): 'Tensor' and "
                            f"'{type(value).__name__}'")
    if type(value) is int and tensor._data.dtype.kind in "iu":
        # torch converts the scalar to the tensor's integer type, wrapping out-of-range values
        lo, hi = _INT_RANGE[tensor._data.dtype]
        if not lo <= value <= hi:
            value = (value - lo) % (hi - lo + 1) + lo
    return value


_INT_RANGE = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max))
              for t in (np.uint8, np.int8, np.int16, np.int32, np.int64)}


def _promote_with_scalar(t: Tensor, scalar) -> Tensor:
    kind = t._data.dtype.kind
    if isinstance(scalar, bool):
        return t
    if isinstance(scalar, int):
        if kind == "b":
            return cast(t, np.dtype(np.int64))
        return t
    if isinstance(scalar, float) and kind in "biu":
        return cast(t, _dtype.get_default_dtype().numpy_dtype)
    return t
