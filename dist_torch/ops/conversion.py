"""Copies and conversions: clone, contiguous, Tensor.to and the dtype shorthands."""

from __future__ import annotations

from dist_torch import _dtype
from dist_torch._device import device as _device_cls
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import device_of, to_device

__all__ = ["clone"]


class ToCopy(Primitive):
    """A converted copy: to another dtype and/or device."""

    _name = "ToCopyBackward0"

    def forward(ctx, a, dtype=None, device=None):
        ctx.src_device = device_of(a)
        out = a if device is None else to_device(a, device)
        if dtype is not None and out.dtype != dtype:
            return out.astype(dtype)
        return out.copy() if out is a else out

    def backward(ctx, grad):
        # The engine casts the gradient back to the input's dtype.
        return to_device(grad, ctx.src_device)


class Clone(Primitive):
    _name = "CloneBackward0"

    def forward(ctx, a):
        return a.copy()

    def backward(ctx, grad):
        return grad


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` with its own storage; gradients flow back to ``input``."""
    return Clone.apply(input)


def contiguous(self: Tensor, memory_format=None) -> Tensor:
    """``self`` if its storage is C-contiguous, else a contiguous copy."""
    if self._data.flags.c_contiguous:
        return self
    return Clone.apply(self)


def _parse_to_args(self, args, kwargs):
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, _dtype.dtype):
            dtype = arg
        elif isinstance(arg, Tensor):
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, (str, int, _device_cls)) and not isinstance(arg, bool):
            device = arg
        elif isinstance(arg, bool):
            copy = arg if dtype is not None or device is not None else copy
        else:
            raise TypeError(f"to() received an invalid combination of arguments: "
                            f"{type(arg).__name__}")
    return dtype, device, copy


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """Convert to a dtype and/or device: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
    ``to(other)``. Returns ``self`` when nothing changes (unless ``copy=True``)."""
    dtype, device, copy = _parse_to_args(self, args, dict(kwargs))
    np_dtype = None if dtype is None else dtype.numpy_dtype
    if device is not None:
        device = _device_cls(device) if not isinstance(device, _device_cls) else device
        if device.type == "cuda" and device.index is None:
            from dist_torch.backend import cuda as _cuda
            _cuda.require("a CUDA tensor")
            device = _device_cls("cuda", _cuda.cupy.cuda.runtime.getDevice())
        if device == device_of(self._data):
            device = None
    if np_dtype is not None and np_dtype == self._data.dtype:
        np_dtype = None
    if np_dtype is None and device is None:
        return ToCopy.apply(self) if copy else self
    return ToCopy.apply(self, dtype=np_dtype, device=device)


def _dtype_method(target):
    def convert(self, memory_format=None):
        return to(self, target)
    convert.__name__ = target.name
    convert.__doc__ = f"``self.to({target!r})``"
    return convert


def type_(self: Tensor, dtype=None, non_blocking=False):
    """With no argument, the legacy type name (``'torch.FloatTensor'``); else ``to(dtype)``."""
    if dtype is None:
        from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
        prefix = "torch.cuda." if self.is_cuda else "torch."
        return f"{prefix}{_LEGACY_TYPE_NAMES[self.dtype.name]}Tensor"
    if isinstance(dtype, str):
        from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
        names = {f"torch.{v}Tensor": k for k, v in _LEGACY_TYPE_NAMES.items()}
        dtype = getattr(_dtype, names[dtype])
    return to(self, dtype)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    return to(self, other.dtype)


def cpu(self: Tensor, memory_format=None) -> Tensor:
    return to(self, "cpu")


def cuda(self: Tensor, device=None, non_blocking=False, memory_format=None) -> Tensor:
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = _device_cls("cuda", device)
    return to(self, device)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    from dist_torch._creation import tensor
    return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)


def _new_factory(name):
    def new(self, *size, dtype=None, device=None, requires_grad=False, **kwargs):
        from dist_torch import _creation
        factory = getattr(_creation, name)
        return factory(*size, **kwargs, dtype=dtype or self.dtype, device=device or self.device,
                       requires_grad=requires_grad)
    new.__name__ = "new_" + name
    return new


bind_methods({
    "clone": clone, "contiguous": contiguous, "to": to, "type": type_, "type_as": type_as,
    "cpu": cpu, "cuda": cuda, "new_tensor": new_tensor,
    "new_zeros": _new_factory("zeros"), "new_ones": _new_factory("ones"),
    "new_empty": _new_factory("empty"), "new_full": _new_factory("full"),
    "bfloat16": _dtype_method(_dtype.bfloat16), "bool": _dtype_method(_dtype.bool),
    "half": _dtype_method(_dtype.float16), "float": _dtype_method(_dtype.float32),
    "double": _dtype_method(_dtype.float64), "long": _dtype_method(_dtype.int64),
    "int": _dtype_method(_dtype.int32), "short": _dtype_method(_dtype.int16),
    "char": _dtype_method(_dtype.int8), "byte": _dtype_method(_dtype.uint8),
})
