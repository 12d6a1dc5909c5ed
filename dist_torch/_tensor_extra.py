"""Tensor methods of the runtime family: storage_offset, pinning (is_pinned, pin_memory),
is_signed / is_nonzero / is_same_size / is_inference, new_empty_strided, resize_ /
resize_as_, the element-wise Python callables apply_ / map_ / map2_ (CPU only, as in torch)
and the DLPack protocol (``__dlpack__``, ``__dlpack_device__``)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.backend import (
    array_module,
    cuda_available,
    data_ptr,
    device_guard,
    storage_root,
)


def _expect_tensor(value, fname, arg, pos=1):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{arg}' (position {pos}) must be Tensor, not "
                        f"{type(value).__name__}")


def storage_offset(self) -> int:
    """The offset, in elements, of this tensor's first element in its storage (the array whose
    memory it views)."""
    root = storage_root(self._data)
    if root is self._data:
        return 0
    return (data_ptr(self._data) - data_ptr(root)) // self._data.itemsize


def is_pinned(self, device=None) -> bool:
    """False: host memory here is never page-locked."""
    return False


def pin_memory(self, device=None) -> Tensor:
    """torch's CPU-build behaviour without a GPU: RuntimeError. With one, a copy (host memory
    here is not page-locked, so ``is_pinned()`` stays False)."""
    if not cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    if self.is_cuda:
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    return self.clone()


def is_signed(self) -> bool:
    """True unless the dtype is bool or uint8."""
    return self.dtype.is_signed


def is_nonzero(self) -> bool:
    """The truth value of a one-element tensor; RuntimeError for other sizes."""
    return bool(self)


def is_same_size(self, other) -> bool:
    _expect_tensor(other, "is_same_size", "other")
    return self._data.shape == other._data.shape


def is_inference(self) -> bool:
    """False: dist_torch makes no inference tensors (``inference_mode`` acts as ``no_grad``)."""
    return False


def new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None,
                      requires_grad=False, pin_memory=False) -> Tensor:
    """An uninitialized tensor with the given ``size`` and element ``stride`` (dtype and device
    of ``self`` unless given)."""
    from dist_torch._creation import check_pin_memory, parse_size, strided_empty
    check_pin_memory(pin_memory)
    shape = parse_size((size,), "new_empty_strided")
    np_dtype = self._data.dtype if dtype is None else dtype.numpy_dtype
    where = self.device if device is None else device
    array = strided_empty(shape, stride, np_dtype, None if where == "cpu" else where)
    out = _wrap(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


# --------------------------------------------------------------------------- resize_

def _resize_shape(sizes) -> tuple:
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"resize_(): argument 'size' (position 1) must be tuple of ints, "
                            f"not {type(s).__name__}")
    if any(s < 0 for s in sizes):
        raise RuntimeError("numel: integer multiplication overflow")
    return tuple(int(s) for s in sizes)


def resize_(self, *sizes, memory_format=None) -> Tensor:
    """Give ``self`` the shape ``sizes`` in place, over the same memory read in order: fewer
    elements keep a prefix (still sharing memory), more elements get new memory whose first
    elements are the old ones and the rest uninitialized.

    Unlike torch, a non-contiguous tensor is read in its logical (row-major) order, not its
    storage order. Refused for tensors that require grad, as in torch.
    """
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = _resize_shape(sizes)
    a = self._data
    if a.shape == shape:
        return self
    xp = array_module(a)
    flat = a.reshape(-1) if a.flags.c_contiguous else xp.ascontiguousarray(a).reshape(-1)
    n = math.prod(shape)
    if n <= flat.size:
        new = flat[:n].reshape(shape)
    else:
        with device_guard([a]):
            new = xp.empty(n, dtype=a.dtype)
        new[:flat.size] = flat
        new = new.reshape(shape)
    self._data = new
    self._base = self._view_fn = None  # a new shape over (a prefix of) the memory
    self._bump_version()
    return self


def resize_as_(self, the_template, memory_format=None) -> Tensor:
    """``resize_`` to ``the_template``'s shape."""
    _expect_tensor(the_template, "resize_as_", "the_template")
    return resize_(self, the_template._data.shape)


# --------------------------------------------------------------------------- Python callables

def _check_callable_target(self, fname):
    if self.is_cuda:
        raise RuntimeError(f"{fname} is only implemented on CPU tensors")
    if self.requires_grad:
        raise RuntimeError(f"Can't call {fname}() on Variable that requires grad. Use "
                           f"var.detach().{fname}() instead.")


def _operand(self, other, fname, pos):
    _expect_tensor(other, fname, "other" if pos == 1 else f"tensor{pos}", pos)
    if other._data.dtype != self._data.dtype:
        raise TypeError(f"{fname}: expected {self.type()} for 'other' (got {other.type()})")
    return other.expand(self.shape)._data.ravel().tolist()


def _write(self, values) -> Tensor:
    a = self._data
    if values:
        a[...] = np.asarray(values).reshape(a.shape)
    self._bump_version()
    return self


def apply_(self, callable) -> Tensor:  # noqa: A002 - torch's argument name
    """Replace each element ``v`` by ``callable(v)`` (a Python loop; CPU tensors only)."""
    _check_callable_target(self, "apply_")
    return _write(self, [callable(v) for v in self._data.ravel().tolist()])


def map_(self, tensor, callable) -> Tensor:  # noqa: A002
    """Replace each element ``v`` by ``callable(v, w)``, ``w`` the matching element of
    ``tensor`` broadcast to ``self``'s shape (CPU tensors only)."""
    _check_callable_target(self, "map_")
    other = _operand(self, tensor, "map_", 1)
    return _write(self, [callable(v, w) for v, w in zip(self._data.ravel().tolist(), other)])


def map2_(self, x, y, callable) -> Tensor:  # noqa: A002
    """As :meth:`map_` with two tensors: ``callable(v, x_i, y_i)``."""
    _check_callable_target(self, "map2_")
    xs, ys = _operand(self, x, "map2_", 1), _operand(self, y, "map2_", 2)
    values = [callable(v, a, b) for v, a, b in zip(self._data.ravel().tolist(), xs, ys)]
    return _write(self, values)


# --------------------------------------------------------------------------- DLPack

def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):  # noqa: N807
    """This tensor's memory as a DLPack capsule, for a consumer's ``from_dlpack``."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    kwargs = {k: v for k, v in (("stream", stream), ("max_version", max_version),
                                ("dl_device", dl_device), ("copy", copy)) if v is not None}
    return self._data.__dlpack__(**kwargs)


def __dlpack_device__(self):  # noqa: N807
    """``(DLDeviceType, index)`` of this tensor's memory: ``(1, 0)`` CPU, ``(2, i)`` CUDA."""
    return self._data.__dlpack_device__()


bind_methods({
    "storage_offset": storage_offset, "is_pinned": is_pinned, "pin_memory": pin_memory,
    "is_signed": is_signed, "is_nonzero": is_nonzero, "is_same_size": is_same_size,
    "is_inference": is_inference, "new_empty_strided": new_empty_strided, "resize_": resize_,
    "resize_as_": resize_as_, "apply_": apply_, "map_": map_, "map2_": map2_,
    "__dlpack__": __dlpack__, "__dlpack_device__": __dlpack_device__,
})
