"""Views with explicit strides over a tensor's storage: as_strided, as_strided_ and
as_strided_scatter.

The storage of a tensor is the memory of the array its data ultimately views (its root),
read in memory order; sizes, strides and the storage offset count elements of it, as in torch.
Gradients go through storage positions, as torch's ``as_strided_backward``: the output's
gradient is scatter-added into a storage-sized buffer and read back at the input's positions
(shared equally where the input itself repeats a storage element, e.g. an expanded input).
"""

from __future__ import annotations

import numbers

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module, data_ptr, storage_root
from dist_torch.ops._indexing_util import INT64, scatter_add_new
from dist_torch.ops._util import check_tensor

__all__ = ["as_strided", "as_strided_", "as_strided_scatter"]


# --------------------------------------------------------------------------- storage

def _storage(a):
    """``a``'s storage as a 1-d array in memory order, and ``a``'s geometry in it (element
    offset and strides)."""
    root = storage_root(a)
    item = a.itemsize
    xp = array_module(a)
    flat = xp.lib.stride_tricks.as_strided(root, (root.size,), (item,))
    offset = (data_ptr(a) - data_ptr(root)) // item if a.size else 0
    return flat, offset, tuple(s // item for s in a.strides)


def _positions(xp, size, stride, offset):
    """The storage position of every element of a (size, stride, offset) view (int64)."""
    pos = xp.full(tuple(size), offset, dtype=INT64)
    for d, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[d] = n
        pos += (xp.arange(n, dtype=INT64) * s).reshape(shape)
    return pos


def _view(flat, size, stride, offset):
    xp = array_module(flat)
    item = flat.itemsize
    out = xp.lib.stride_tricks.as_strided(flat[offset:] if offset < flat.size else flat[:0],
                                          tuple(size), tuple(s * item for s in stride))
    if any(s == 0 and n > 1 for n, s in zip(size, stride)):
        out = xp.broadcast_to(out, out.shape)  # read-only where NumPy can: torch refuses
    return out                                 # in-place writes to repeated elements


def _same_geometry(shape, stride, offset, other):
    o_shape, o_stride, o_offset = other
    return shape == o_shape and (offset == o_offset or 0 in shape) and \
        all(s == t for n, s, t in zip(shape, stride, o_stride) if n > 1)


def _replay(a, geometry, size, stride, offset):
    """The (size, stride, offset) view, replayed on ``a``: an array shaped like the original
    input. When ``a`` lies in its storage as the input did (the input itself, or a buffer
    laid out like it), the result is a view of that storage; otherwise (e.g. a broadcast
    gradient) ``a`` is first written into a fresh storage-sized buffer, and the result is a
    view of that buffer."""
    shape, own_stride, own_offset, n = geometry
    flat, a_offset, a_stride = _storage(a)
    if flat.size >= n and _same_geometry(a.shape, a_stride, a_offset,
                                         (shape, own_stride, own_offset)):
        return _view(flat, size, stride, offset)
    xp = array_module(a)
    buf = xp.zeros(n, dtype=a.dtype)
    buf[_positions(xp, shape, own_stride, own_offset)] = a
    return _view(buf, size, stride, offset)


# --------------------------------------------------------------------------- checks

def _int_list(value, fname, argname, position):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, Tensor):
        value = value.tolist() if value.ndim else [value.item()]
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be tuple "
                        f"of ints, not {type(value).__name__}")
    for i, v in enumerate(value):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be "
                            f"tuple of ints, but found element of type {type(v).__name__} at "
                            f"pos {i}")
    return tuple(int(v) for v in value)


def _geometry(input, size, stride, storage_offset, fname):
    """Checked (size, stride, offset) of a strided view of ``input``'s storage."""
    size = _int_list(size, fname, "size", 1)
    stride = _int_list(stride, fname, "stride", 2)
    if storage_offset is not None:
        if not isinstance(storage_offset, numbers.Integral) or isinstance(storage_offset, bool):
            raise TypeError(f"{fname}(): argument 'storage_offset' (position 3) must be int, "
                            f"not {type(storage_offset).__name__}")
        storage_offset = int(storage_offset)
    flat, own_offset, _ = _storage(input._data)
    offset = own_offset if storage_offset is None else storage_offset
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    item = flat.itemsize
    need = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if need > flat.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {item} requiring a storage size of "
                           f"{need * item} are out of bounds for storage of size "
                           f"{flat.size * item}")
    return size, stride, offset


# --------------------------------------------------------------------------- primitives

def _storage_grad(xp, grad, n, positions):
    return scatter_add_new((n,), grad.dtype, positions.reshape(-1), grad.reshape(-1))


def _read_back(xp, storage_grad, n, in_pos):
    """The input's gradient from a storage-sized one: shared equally among input elements
    that are the same storage element."""
    flat_pos = in_pos.reshape(-1)
    out = storage_grad[flat_pos]
    if flat_pos.size and xp.unique(flat_pos).size != flat_pos.size:
        count = xp.bincount(flat_pos, minlength=n)
        out = out / count[flat_pos].astype(out.dtype)
    return out.reshape(in_pos.shape)


class AsStrided(Primitive):
    """A (size, stride, offset) view of the input's storage."""

    _name = "AsStridedBackward0"
    _is_view = True

    def forward(ctx, a, size, stride, offset):
        ctx.size, ctx.stride, ctx.offset = size, stride, offset
        flat, own_offset, own_stride = _storage(a)
        ctx.in_geometry = (a.shape, own_stride, own_offset, flat.size)
        return _view(flat, size, stride, offset)

    def view_fn(ctx, a):
        return _replay(a, ctx.in_geometry, ctx.size, ctx.stride, ctx.offset)

    def backward(ctx, grad):
        xp = array_module(grad)
        shape, own_stride, own_offset, n = ctx.in_geometry
        out_pos = _positions(xp, ctx.size, ctx.stride, ctx.offset)
        storage = _storage_grad(xp, grad, n, out_pos)
        return _read_back(xp, storage, n, _positions(xp, shape, own_stride, own_offset))


class AsStridedInplace(AsStrided):
    _name = "AsStridedBackward1"
    _is_view = False


class AsStridedScatter(Primitive):
    """A copy of ``a`` whose storage positions in the strided window hold ``src``."""

    _name = "AsStridedScatterBackward0"

    def forward(ctx, a, src, size, stride, offset):
        xp = array_module(a)
        _, own_offset, own_stride = _storage(a)
        in_pos = _positions(xp, a.shape, own_stride, own_offset)
        win_pos = _positions(xp, size, stride, offset)
        n = 1 + max(int(in_pos.max()) if in_pos.size else 0,
                    int(win_pos.max()) if win_pos.size else 0)
        buf = xp.zeros(n, dtype=a.dtype)
        buf[in_pos.reshape(-1)] = a.reshape(-1)
        buf[win_pos.reshape(-1)] = src.reshape(-1).astype(a.dtype, copy=False)
        ctx.in_pos, ctx.win_pos, ctx.n, ctx.src_shape = in_pos, win_pos, n, src.shape
        return buf[in_pos]

    def backward(ctx, grad):
        xp = array_module(grad)
        buf = xp.zeros(ctx.n, dtype=grad.dtype)
        buf[ctx.in_pos.reshape(-1)] = grad.reshape(-1)
        grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = buf[ctx.win_pos].reshape(ctx.src_shape)
        grad_self = None
        if ctx.needs_input_grad[0]:
            written = xp.zeros(ctx.n, dtype=bool)
            written[ctx.win_pos.reshape(-1)] = True
            grad_self = xp.where(written[ctx.in_pos], 0, grad).astype(grad.dtype, copy=False)
        return grad_self, grad_src


# --------------------------------------------------------------------------- API

def as_strided(input: Tensor, size, stride, storage_offset=None) -> Tensor:
    """A view of ``input``'s storage with the given ``size``, element ``stride`` and
    ``storage_offset`` (default: ``input``'s own).

    Example::

        >>> torch.as_strided(torch.arange(6.), (2, 2), (1, 2), 1)
        tensor([[1., 3.],
                [2., 4.]])
    """
    check_tensor(input, "as_strided")
    size, stride, offset = _geometry(input, size, stride, storage_offset, "as_strided")
    return AsStrided.apply(input, size=size, stride=stride, offset=offset)


def as_strided_(input: Tensor, size, stride, storage_offset=None) -> Tensor:
    """In-place :func:`as_strided`: ``input`` itself takes the new geometry."""
    check_tensor(input, "as_strided_")
    from dist_torch.ops.inplace import check_inplace_allowed
    check_inplace_allowed(input)
    size, stride, offset = _geometry(input, size, stride, storage_offset, "as_strided_")
    flat, own_offset, own_stride = _storage(input._data)
    geometry = (input._data.shape, own_stride, own_offset, flat.size)
    out = AsStridedInplace.apply(input, size=size, stride=stride, offset=offset)
    input._data = out._data
    if input._base is not None:
        outer = input._view_fn
        input._view_fn = lambda a: _replay(outer(a), geometry, size, stride, offset)
    input._bump_version()
    if out._grad_fn is not None:
        input._grad_fn, input._output_nr = out._grad_fn, 0
        if input._base is not None:
            input._view_version = input._vc.value
    return input


def as_strided_scatter(input: Tensor, src: Tensor, size, stride,
                       storage_offset=None) -> Tensor:
    """A copy of ``input`` with ``src`` written into the (``size``, ``stride``,
    ``storage_offset``) window of its storage; the result has ``input``'s shape.

    Differences from torch: the result is contiguous (torch keeps ``input``'s strides and
    storage offset).
    """
    check_tensor(input, "as_strided_scatter")
    check_tensor(src, "as_strided_scatter", "src")
    if input.requires_grad and not input.is_contiguous():
        raise RuntimeError("as_strided_scatter is currently only supported for contiguous "
                           "inputs")
    size, stride, offset = _geometry(input, size, stride, storage_offset,
                                     "as_strided_scatter")
    if tuple(src._data.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(size)}")
    return AsStridedScatter.apply(input, src, size=size, stride=stride, offset=offset)


bind_methods({"as_strided": as_strided, "as_strided_": as_strided_,
              "as_strided_scatter": as_strided_scatter})
