"""Tensor factories: tensor, as_tensor, from_numpy, zeros/ones/full/empty (and _like),
empty_strided, arange, linspace, logspace, eye.

Those torch lists as following ``set_default_device`` resolve ``device=None`` through
``_device.default_or``; the ``*_like`` functions follow their input and ``from_numpy`` shares
memory, so neither does."""

from __future__ import annotations

import math
import numbers

import numpy as np

from dist_torch import _dtype
from dist_torch._device import _default, as_device, default_or
from dist_torch._tensor import Tensor, _wrap
from dist_torch.backend import array_module, to_device

__all__ = [
    "tensor", "as_tensor", "asarray", "from_numpy", "scalar_tensor", "zeros", "ones", "full",
    "empty", "zeros_like", "ones_like", "full_like", "empty_like", "empty_strided", "arange",
    "linspace", "logspace", "eye",
]


def _finish(array, device, requires_grad) -> Tensor:
    if device is not None:
        array = to_device(array, as_device(device))
    t = _wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def check_pin_memory(pin_memory) -> None:
    """torch's error for ``pin_memory=True`` where no GPU gives a pinned-memory allocator (with
    one, host memory here is not pinned: the flag is accepted and has no effect)."""
    if pin_memory:
        from dist_torch.backend import cuda_available
        if not cuda_available():
            raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; no "
                               "pinned memory allocator is available on this system.")


def _target(device, out):
    """Where a factory with an ``out=`` argument creates: ``out`` wins over the default."""
    return default_or(device) if out is None else device


def _np_dtype(dtype):
    if dtype is None:
        return None
    if not isinstance(dtype, _dtype.dtype):
        raise TypeError(f"dtype must be a torch.dtype (e.g. torch.float32), got {dtype!r}")
    return dtype.numpy_dtype


def _to_nested_numbers(data, typed):
    """Lists may hold tensors and NumPy scalars/arrays; reduce them to what np.asarray accepts,
    appending to ``typed`` the dtypes such typed leaves carry."""
    if isinstance(data, Tensor):
        typed.append(data.dtype)
        return data._data if type(data._data) is np.ndarray else np.asarray(data)
    if isinstance(data, (list, tuple)):
        return [_to_nested_numbers(x, typed) for x in data]
    if isinstance(data, (np.ndarray, np.generic)):
        typed.append(_dtype.from_numpy_dtype(data.dtype))
    return data


def _python_scalar_dtypes(data, out: set) -> set:
    """The dtypes of the Python bools, ints and floats inside nested ``data``."""
    if isinstance(data, (list, tuple)):
        for x in data:
            _python_scalar_dtypes(x, out)
    elif isinstance(data, (bool, int, float)) and not isinstance(data, np.generic):
        out.add(_dtype.scalar_dtype(data))
    return out


def _typed_result(data, typed) -> _dtype.dtype:
    """torch promotes over typed leaves (tensors, NumPy scalars) and Python scalars alike."""
    result = None
    for d in typed + list(_python_scalar_dtypes(data, set())):
        result = d if result is None else _dtype.promote_types(result, d)
    return result


def _reject_objects(array):
    """Name the leaf that made ``np.asarray`` fall back to an object array, as torch does."""
    for leaf in array.reshape(-1).tolist():
        if isinstance(leaf, int) and not -(1 << 63) <= leaf < (1 << 63):
            raise ValueError("Overflow when unpacking long long")
        if not isinstance(leaf, (bool, int, float)):
            raise RuntimeError(f"Could not infer dtype of {type(leaf).__name__}")
    raise TypeError("Could not infer dtype of object")


def _infer_array(data, explicit_dtype=False):
    """An ndarray for ``data`` with torch's dtype inference for Python data (floats stay float64
    when an explicit dtype follows, so ``dtype=torch.float64`` keeps full precision)."""
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    if isinstance(data, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    typed = []
    try:
        array = np.asarray(_to_nested_numbers(data, typed))
    except ValueError as err:
        raise ValueError(f"expected a rectangular nested sequence of numbers: {err}") from None
    kind = array.dtype.kind
    if kind == "O":
        _reject_objects(array)
    if kind in "US":
        raise TypeError("new(): invalid data type 'str'")
    if array.dtype == np.uint64:  # Python ints past int64
        raise ValueError("Overflow when unpacking long long")
    if typed and not explicit_dtype:
        return array.astype(_typed_result(data, typed).numpy_dtype, copy=False)
    if kind == "f":
        return array if explicit_dtype else \
            array.astype(_dtype.get_default_dtype().numpy_dtype, copy=False)
    if kind in "iu":
        return array.astype(np.int64, copy=False)
    if kind == "b":
        return array
    if kind == "c":
        raise TypeError("complex tensors are not supported")
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    Python floats become the default dtype (float32), ints int64, bools bool; NumPy arrays keep
    their dtype.

    Example::

        >>> torch.tensor([[1, 2], [3, 4]])
        tensor([[1, 2],
                [3, 4]])
    """
    if pin_memory:
        check_pin_memory(pin_memory)
    if device is None:
        device = _default.current
    if isinstance(data, Tensor):
        array = data._data
        array = array.astype(_np_dtype(dtype)) if dtype is not None else array.copy()
        return _finish(array, device, requires_grad)
    array = _infer_array(data, dtype is not None)
    if dtype is not None:
        array = array.astype(_np_dtype(dtype), copy=False)
    if array.dtype not in _dtype._BY_NUMPY:
        _dtype.from_numpy_dtype(array.dtype)  # raises TypeError naming the type
    array = np.array(array, copy=True, order="C")
    return _finish(array, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with a NumPy array or tensor when it can."""
    device = default_or(device)
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (dtype or device) else data
    if isinstance(data, np.ndarray):
        array = data if dtype is None else data.astype(_np_dtype(dtype), copy=False)
        _dtype.from_numpy_dtype(array.dtype)
        return _finish(array, device, False)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False) -> Tensor:
    out = tensor(obj, dtype=dtype, device=device) if copy else as_tensor(obj, dtype, device)
    if requires_grad:
        out.requires_grad_(True)
    return out


def from_numpy(ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray``; writes through either are seen by both."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    _dtype.from_numpy_dtype(ndarray.dtype)
    return _wrap(ndarray)


def scalar_tensor(value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype = dtype or _dtype.get_default_dtype()
    return _finish(np.asarray(value, dtype=dtype.numpy_dtype), default_or(device), requires_grad)


def parse_size(size, fname="zeros") -> tuple:
    """``(2, 3)``, ``((2, 3),)`` or ``(Size([2, 3]),)`` -> ``(2, 3)``, with torch's checks."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"{fname}(): argument 'size' must be tuple of ints, but found "
                            f"element of type {type(s).__name__}")
        out.append(int(s))
    if any(s < 0 for s in out):
        bad = next(s for s in out if s < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {out}")
    return tuple(out)


def _factory(name, fill):
    def factory(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False, memory_format=None):
        shape = parse_size(size, name)
        if pin_memory:
            check_pin_memory(pin_memory)
        np_dtype = _np_dtype(dtype or _dtype.get_default_dtype())
        if device is None and out is None:  # inlined default_or: the hottest factories
            device = _default.current
        result = _finish(fill(shape, np_dtype), device, requires_grad)
        return _into(out, result)
    factory.__name__ = name
    factory.__doc__ = f"A tensor of the given size filled by ``numpy.{fill.__name__}``; " \
                      "``dtype`` defaults to the default float dtype."
    return factory


zeros = _factory("zeros", np.zeros)
ones = _factory("ones", np.ones)
empty = _factory("empty", np.empty)


def strided_empty(size, stride, np_dtype, device=None):
    """An uninitialized array of ``size`` laid out with element ``stride`` over a fresh buffer
    on ``device`` (None: the host) just large enough, as ``torch.empty_strided`` allocates."""
    size, stride = tuple(size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of "
                           f"strides ({len(stride)})")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    n = 0 if 0 in size else 1 + sum((d - 1) * s for d, s in zip(size, stride))
    buffer = np.empty(n, dtype=np_dtype)
    if device is not None:
        buffer = to_device(buffer, as_device(device))
    item = buffer.itemsize
    return array_module(buffer).lib.stride_tricks.as_strided(
        buffer, size, tuple(s * item for s in stride))


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False) -> Tensor:
    """An uninitialized tensor of ``size`` with the given element ``stride``.

    Example::

        >>> torch.empty_strided((2, 3), (1, 2)).stride()
        (1, 2)
    """
    check_pin_memory(pin_memory)
    shape = parse_size((size,), "empty_strided")
    np_dtype = _np_dtype(dtype or _dtype.get_default_dtype())
    return _finish(strided_empty(shape, stride, np_dtype, default_or(device)), None,
                   requires_grad)


def _into(out, result):
    if out is None:
        return result
    out._data = result._data
    out._bump_version()
    return out


def _scalar_dtype(value, dtype):
    if dtype is not None:
        return _np_dtype(dtype)
    if isinstance(value, Tensor):
        return value._data.dtype
    return _dtype.scalar_dtype(value).numpy_dtype


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it by default)."""
    shape = parse_size((size,) if not isinstance(size, int) else (size,), "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    check_pin_memory(pin_memory)
    array = np.full(shape, fill_value, dtype=_scalar_dtype(fill_value, dtype))
    return _into(out, _finish(array, _target(device, out), requires_grad))


def _like(fill):
    def like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None):
        np_dtype = input._data.dtype if dtype is None else _np_dtype(dtype)
        array = fill(input._data.shape, np_dtype)
        if device is None:
            array = to_device(array, input.device)
        return _finish(array, device, requires_grad)
    like.__name__ = fill.__name__ + "_like"
    return like


zeros_like = _like(np.zeros)
ones_like = _like(np.ones)
empty_like = _like(np.empty)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    np_dtype = input._data.dtype if dtype is None else _np_dtype(dtype)
    array = to_device(np.full(input._data.shape, fill_value, dtype=np_dtype),
                      as_device(device) if device is not None else input.device)
    return _finish(array, None, requires_grad)


def _number(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a bound is float.

    Example::

        >>> torch.arange(5)
        tensor([0, 1, 2, 3, 4])
    """
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is _dtype.bool:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    all_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    if dtype is None:
        np_dtype = np.dtype(np.int64) if all_int else _dtype.get_default_dtype().numpy_dtype
    else:
        np_dtype = _np_dtype(dtype)
    if all_int:
        array = np.arange(start, end, step, dtype=np.int64).astype(np_dtype, copy=False)
    else:
        n = max(0, math.ceil((end - start) / step))
        array = (start + np.arange(n, dtype=np.float64) * step).astype(np_dtype)
    return _into(out, _finish(array, _target(device, out), requires_grad))


def _check_steps(steps, dtype, fname):
    """torch's checks of linspace/logspace arguments; returns the NumPy dtype."""
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool):
        raise TypeError(f"{fname}(): argument 'steps' (position 3) must be int, not "
                        f"{type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    if dtype is _dtype.bool:
        raise NotImplementedError(f"\"{fname}_cpu\" not implemented for 'Bool'")
    return _np_dtype(dtype or _dtype.get_default_dtype())


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    start, end = _number(start), _number(end)
    np_dtype = _check_steps(steps, dtype, "linspace")
    if steps == 1:
        values = np.array([start], dtype=np.float64)
    elif np_dtype.kind not in "biu":  # float16/32/64 and bfloat16
        values = _linspace_float(start, end, steps, np_dtype)
    else:
        # torch truncates the ends to integers, fills in float64 as for a float64 linspace,
        # then truncates the values.
        values = np.trunc(_linspace_float(math.trunc(start), math.trunc(end), steps,
                                          np.dtype(np.float64)).astype(np.float64))
    return _into(out, _finish(values.astype(np_dtype), _target(device, out), requires_grad))


def _linspace_float(start, end, steps, np_dtype):
    """Floating linspace rounded as torch rounds it: the step in the dtype, then each value one
    multiply-add from the nearer end, rounded once (half types: plain arithmetic in the dtype)."""
    cast = np_dtype.type
    lo, hi = cast(start), cast(end)
    step = (hi - lo) / cast(steps - 1)
    first = np.arange(steps) < steps // 2
    if np_dtype.itemsize <= 2:
        i = np.arange(steps).astype(np_dtype)
        return np.where(first, lo + step * i, hi - step * (cast(steps - 1) - i))
    # Exact products in a wider type make "multiply, add, round once" (float64 for float32;
    # long double for float64 where it is wider than double).
    wide = np.float64 if np_dtype.itemsize == 4 else np.longdouble
    i = np.arange(steps).astype(wide)
    w_step = wide(step)
    values = np.where(first, wide(lo) + w_step * i, wide(hi) - w_step * (wide(steps - 1) - i))
    return values.astype(np_dtype)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    """``steps`` values ``base ** e`` for ``e`` evenly spaced from ``start`` to ``end``."""
    start, end = _number(start), _number(end)
    np_dtype = _check_steps(steps, dtype, "logspace")
    if steps == 1:
        exponents = np.array([start], dtype=np.float64)
    else:  # here torch rounds each multiply and add separately
        if np_dtype.kind in "iu":  # as linspace: integer ends, truncated values
            start, end = math.trunc(start), math.trunc(end)
        step = (end - start) / max(steps - 1, 1)
        i = np.arange(steps, dtype=np.float64)
        exponents = np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i))
    return _into(out, _finish(_libm_pow(float(base), exponents).astype(np_dtype),
                              _target(device, out), requires_grad))


def _libm_pow(base: float, exponents):
    """``base ** exponents`` through the C library's pow, as torch's logspace computes it
    (NumPy's SIMD pow, used on AVX-512 CPUs, can differ from it in the last bit). A creation
    op, not a hot path: one call per element."""
    try:
        return np.array([math.pow(base, e) for e in exponents.tolist()], dtype=np.float64)
    except (OverflowError, ValueError):  # inf / nan results: NumPy's rules
        with np.errstate(over="ignore", invalid="ignore"):
            return np.float64(base) ** exponents


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad=False) -> Tensor:
    """An ``n`` x ``m`` matrix with ones on the diagonal."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}" if n < 0 else
                           f"m must be greater or equal to 0, got {m}")
    np_dtype = _np_dtype(dtype or _dtype.get_default_dtype())
    return _into(out, _finish(np.eye(n, m, dtype=np_dtype), _target(device, out), requires_grad))
