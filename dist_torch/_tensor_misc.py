"""Tensor methods without a torch function: the legacy constructor ``Tensor.new``,
``sum_to_size``, ``share_memory_`` and the ``output_nr`` attribute."""

from __future__ import annotations

import numbers
import operator

import numpy as np

from dist_torch._device import as_device
from dist_torch._size import Size
from dist_torch._tensor import Tensor, bind_methods

_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool"}

_NEW_FORMS = ("but expected one of:\n * (*, torch.device device = None)\n"
              " * (torch.Storage storage)\n * (Tensor other)\n"
              " * (tuple of ints size, *, torch.device device = None)\n"
              " * (object data, *, torch.device device = None)\n")


def _options(t: Tensor) -> str:
    return (f"TensorOptions(dtype={_CPP_NAMES[t.dtype.name]}, device={t.device}, "
            "layout=Strided, requires_grad=false (default), pinned_memory=false (default), "
            "memory_format=(nullopt))")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _type_name(value) -> str:
    cls = type(value)
    return ("torch." if cls.__module__.startswith("dist_torch") and cls is not Tensor else "") \
        + cls.__name__


def _invalid(args, kwargs, note=""):
    got = ", ".join([_type_name(a) for a in args] +
                    [f"{k}={_type_name(v)}" for k, v in kwargs.items()])
    return TypeError(f"new() received an invalid combination of arguments - got ({got}), "
                     f"{_NEW_FORMS}{note}")


def new(self, *args, device=None, **kwargs) -> Tensor:
    """torch's legacy constructor, with ``self``'s dtype and device:

    - ``t.new()``: an empty 1-d tensor;
    - ``t.new(2, 3)`` / ``t.new(torch.Size([2, 3]))``: uninitialized, of that size;
    - ``t.new(data)`` (a list, tuple or array): a copy of ``data`` converted to ``t.dtype``;
    - ``t.new(other)``: an alias of ``other``, which must have ``t``'s dtype and device.

    Only ``device`` is accepted as a keyword (it must be of ``t``'s device type).
    """
    from dist_torch._creation import empty, parse_size, tensor
    if "size" in kwargs and not args:
        args = (Size(_size_args((kwargs.pop("size"),), "new")),)
    if kwargs:
        raise _invalid(args, kwargs)
    where = self.device
    if device is not None:
        asked = as_device(device)
        if asked.type != where.type:
            raise RuntimeError(f"legacy constructor expects device type: {where.type} but "
                               f"device type: {asked.type} was passed")
        where = asked
    if not args:
        return empty(0, dtype=self.dtype, device=where)
    first = args[0]
    if len(args) == 1 and isinstance(first, Tensor):
        if device is not None:
            raise RuntimeError("Legacy tensor new of the form tensor.new(tensor, device=device) "
                               "is not supported.  Use torch.as_tensor(...) instead.")
        if first._data.dtype != self._data.dtype or first.device != self.device:
            raise TypeError(f"expected {_options(self)} (got {_options(first)})")
        return first[...]
    if len(args) == 1 and not isinstance(first, Size) and not _is_int(first):
        if isinstance(first, str):
            raise TypeError("new(): invalid data type 'str'")
        if isinstance(first, (numbers.Number, np.generic)):
            raise TypeError(f"new(): data must be a sequence (got {type(first).__module__}."
                            f"{type(first).__name__})" if isinstance(first, np.generic) else
                            f"new(): data must be a sequence (got {type(first).__name__})")
        return tensor(first, dtype=self.dtype, device=where)
    sizes = tuple(first) if len(args) == 1 and isinstance(first, Size) else args
    if not _is_int(sizes[0]) if sizes else False:
        raise _invalid(args, {})
    for i, s in enumerate(sizes):
        if not _is_int(s):
            raise TypeError(f"new(): argument 'size' failed to unpack the object at pos {i + 1} "
                            f"with error \"type must be tuple of ints,but got "
                            f"{type(s).__name__}\"")
    return empty(parse_size(tuple(int(s) for s in sizes), "new"), dtype=self.dtype,
                 device=where)


def _size_args(args, fname):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for i, s in enumerate(args):
        if not _is_int(s) and not (isinstance(s, Tensor) and s.numel() == 1 and
                                   not s.is_floating_point()):
            raise TypeError(f"{fname}(): argument 'size' failed to unpack the object at pos "
                            f"{i + 1} with error \"type must be tuple of ints,but got "
                            f"{type(s).__name__}\"")
    return tuple(operator.index(s) if not isinstance(s, Tensor) else int(s.item())
                 for s in args)


def sum_to_size(self, *size, **kwargs) -> Tensor:
    """Sum ``self`` down to ``size``, which ``self``'s shape must be expandable from (the
    gradient of a broadcast). Returns ``self`` when the shapes already match.

    Example::

        >>> torch.ones(2, 3, 4).sum_to_size(3, 1).shape
        torch.Size([3, 1])
    """
    if "size" in kwargs and not size:
        size = (kwargs.pop("size"),)
    if kwargs:
        raise TypeError(f"sum_to_size() got an unexpected keyword argument "
                        f"'{next(iter(kwargs))}'")
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    shape = _size_args(size, "sum_to_size")
    sizes = self._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0 or any(s != n and s != 1 for s, n in zip(shape, sizes[lead:])):
        raise RuntimeError(f"size {{{list(shape)}}} is not expandable to size "
                           f"{{{list(sizes)}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and sizes[lead + i] != 1)
    if not dims:
        return self
    out = self.sum(dims, keepdim=True)
    return out.view(shape) if lead else out


def share_memory_(self) -> Tensor:
    """Returns ``self``. dist_torch tensors are never pickled between processes (DataLoader
    workers send arrays), so there is no shared-memory storage to move to; ``is_shared()``
    stays False. For CUDA tensors this is a no-op in torch as well."""
    return self


def _output_nr(self) -> int:
    """The index of this tensor among the outputs of its ``grad_fn`` (0 for leaves)."""
    if self._base is not None and self._view_version != self._vc.value:
        self._refresh_view_history()
    return self._output_nr if self._grad_fn is not None else 0


bind_methods({"new": new, "sum_to_size": sum_to_size, "share_memory_": share_memory_})
Tensor.output_nr = property(_output_nr)
