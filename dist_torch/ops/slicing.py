"""Views of parts of a tensor: narrow, select, diagonal, unfold, and the multi-output
split/chunk/tensor_split/unbind (every output is a view of the input, as in torch)."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive, _make_view
from dist_torch.backend import array_module
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.conversion import Clone
from dist_torch.ops.shape import int_arg, int_tuple

__all__ = [
    "narrow", "select", "diagonal", "split", "chunk", "tensor_split", "hsplit", "vsplit",
    "dsplit", "unbind", "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes",
    "unsafe_chunk", "narrow_copy",
]


def _window(dim: int, start: int, stop: int) -> tuple:
    """The basic index ``[:, ..., start:stop]`` along ``dim``."""
    return (slice(None),) * dim + (slice(start, stop),)


# ---------------------------------------------------------------------- single-output views

class Slice(Primitive):
    """``a[key]`` for a basic index ``key`` (slices and integers): a view."""

    _name = "SliceBackward0"
    _is_view = True

    def forward(ctx, a, key):
        ctx.key, ctx.in_shape = key, a.shape
        return a[key]

    def view_fn(ctx, a):
        return a[ctx.key]

    def backward(ctx, grad):
        out = array_module(grad).zeros(ctx.in_shape, dtype=grad.dtype)
        out[ctx.key] = grad
        return out


class Select(Slice):
    _name = "SelectBackward0"


def diagonal_view(a, offset: int, dim1: int, dim2: int):
    """A writable view of the diagonal of ``a`` over (dim1, dim2), as the last dimension.

    (``numpy.diagonal`` returns a read-only view, which in-place writes could not go through.)
    """
    xp = array_module(a)
    rest = [d for d in range(a.ndim) if d != dim1 and d != dim2]
    b = a.transpose(rest + [dim1, dim2])
    b = b[..., :, offset:] if offset >= 0 else b[..., -offset:, :]
    n = min(b.shape[-2], b.shape[-1])
    return xp.lib.stride_tricks.as_strided(
        b, b.shape[:-2] + (n,), b.strides[:-2] + (b.strides[-2] + b.strides[-1],))


class Diagonal(Primitive):
    _is_view = True

    def forward(ctx, a, offset, dim1, dim2):
        ctx.offset, ctx.dim1, ctx.dim2, ctx.in_shape = offset, dim1, dim2, a.shape
        return diagonal_view(a, offset, dim1, dim2)

    def view_fn(ctx, a):
        return diagonal_view(a, ctx.offset, ctx.dim1, ctx.dim2)

    def backward(ctx, grad):
        out = array_module(grad).zeros(ctx.in_shape, dtype=grad.dtype)
        diagonal_view(out, ctx.offset, ctx.dim1, ctx.dim2)[...] = grad
        return out


def _unfold_view(a, dim, size, step):
    xp = array_module(a)
    if a.ndim == 0:
        a = a.reshape(1)
    count = (a.shape[dim] - size) // step + 1
    shape = a.shape[:dim] + (count,) + a.shape[dim + 1:] + (size,)
    strides = a.strides[:dim] + (a.strides[dim] * step,) + a.strides[dim + 1:] + \
        (a.strides[dim],)
    if xp is np:
        # overlapping windows share elements: read-only, so in-place writes are refused
        writeable = step >= size or count <= 1 or size <= 1
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=writeable)
    return xp.lib.stride_tricks.as_strided(a, shape, strides)


class Unfold(Primitive):
    _is_view = True

    def forward(ctx, a, dim, size, step):
        ctx.dim, ctx.size, ctx.step, ctx.in_shape = dim, size, step, a.shape
        return ctx.view_fn(a)

    def view_fn(ctx, a):
        out = _unfold_view(a, ctx.dim, ctx.size, ctx.step)
        return out.reshape(ctx.size) if a.ndim == 0 else out

    def backward(ctx, grad):
        xp = array_module(grad)
        dim, size, step = ctx.dim, ctx.size, ctx.step
        if not ctx.in_shape:
            grad = grad.reshape(1, size)
        out = xp.zeros(ctx.in_shape or (1,), dtype=grad.dtype)
        count = grad.shape[dim]
        lead = (slice(None),) * dim
        for j in range(size):  # one strided add per position in the window
            out[lead + (slice(j, j + step * (count - 1) + 1, step),)] += grad[..., j]
        return out.reshape(ctx.in_shape)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The view ``input[..., start:start + length, ...]`` along ``dim`` (start may be negative).

    Example::

        >>> torch.arange(5).narrow(0, 1, 3)
        tensor([1, 2, 3])
    """
    shape = input._data.shape
    if not shape:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(int_arg(dim, "narrow", "dim", 1), len(shape))
    start = int_arg(start, "narrow", "start", 2)
    length = int_arg(length, "narrow", "length", 3)
    size = shape[dim]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return Slice.apply(input, key=_window(dim, start, start + length))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view ``input[..., index, ...]`` along ``dim`` (that dimension is removed)."""
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(int_arg(dim, "select", "dim", 1), len(shape))
    index = int_arg(index, "select", "index", 2)
    size = shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(shape)} at dimension {dim}")
    return Select.apply(input, key=(slice(None),) * dim + (index, Ellipsis))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal over dims (dim1, dim2), appended as the last dimension;
    ``offset > 0`` is above the main diagonal.

    Example::

        >>> torch.arange(9).view(3, 3).diagonal(1)
        tensor([1, 5])
    """
    ndim = input._data.ndim
    d1 = wrap_dim(dim1, ndim)
    d2 = wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=int_arg(offset, "diagonal", "offset", 2), dim1=d1,
                          dim2=d2)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """A view of all windows of ``size`` elements along ``dimension``, ``step`` apart; the
    window becomes a new last dimension.

    Example::

        >>> torch.arange(5).unfold(0, 2, 2)
        tensor([[0, 1],
                [2, 3]])
    """
    shape = self._data.shape
    dim = wrap_dim(dimension, len(shape))
    n = shape[dim] if shape else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {n} but size is "
                           f"{size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(self, dim=dim, size=size, step=step)


# ---------------------------------------------------------------------- multi-output views

class _MultiView(Primitive):
    """Outputs ``a[key]`` for each key of ``keys``; the caller makes every output a view."""

    def forward(ctx, a, keys, dim):
        ctx.keys, ctx.dim, ctx.in_shape = keys, dim, a.shape
        return tuple([a[key] for key in keys])

    def backward(ctx, *grads):
        present = [g for g in grads if g is not None]
        xp = array_module(present[0])
        if len(present) == len(grads):
            return ctx._join(xp, grads)
        out = xp.zeros(ctx.in_shape, dtype=present[0].dtype)
        for key, g in zip(ctx.keys, grads):
            if g is not None:
                out[key] = g
        return out

    def _join(ctx, xp, grads):
        return xp.concatenate(grads, axis=ctx.dim)

    @classmethod
    def apply_views(cls, input: Tensor, keys, dim) -> tuple:
        outputs = cls.apply(input, keys=keys, dim=dim)
        for out, key in zip(outputs, keys):
            _make_view(out, input, lambda a, key=key: a[key])
        return outputs


class Split(_MultiView):
    pass


class SplitWithSizes(_MultiView):
    pass


class Unbind(_MultiView):
    def _join(ctx, xp, grads):
        return xp.stack(grads, axis=ctx.dim)


def _split_with_sizes(op, input: Tensor, sizes, dim: int) -> tuple:
    keys = []
    start = 0
    for s in sizes:
        keys.append(_window(dim, start, start + s))
        start += s
    return op.apply_views(input, keys, dim)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces of ``split_size`` along ``dim`` (the last may be smaller), or into
    pieces of the sizes in a list. The pieces are views.

    Example::

        >>> [t.tolist() for t in torch.arange(5).split(2)]
        [[0, 1], [2, 3], [4]]
    """
    shape = tensor._data.shape
    dim = wrap_dim(int_arg(dim, "split", "dim", 2), len(shape))
    n = shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = int_tuple(split_size_or_sections, "split", "split_size")
        if any(s < 0 for s in sizes):
            raise RuntimeError("split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={list(sizes)}")
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={list(sizes)}")
        return _split_with_sizes(SplitWithSizes, tensor, sizes, dim)
    size = int_arg(split_size_or_sections, "split", "split_size", 1)
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got "
                           f"split_size={size}")
    if size == 0 and n != 0:
        raise RuntimeError("split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}")
    count = max(-(-n // size), 1) if size else 1
    sizes = [size] * (count - 1) + [n - size * (count - 1)]
    return _split_with_sizes(Split, tensor, sizes, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` views of equal size along ``dim`` (the last may be smaller, and
    there may be fewer pieces when the size does not allow ``chunks``)."""
    shape = input._data.shape
    if not shape:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    chunks = int_arg(chunks, "chunk", "chunks", 1)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = wrap_dim(int_arg(dim, "chunk", "dim", 2), len(shape))
    n = shape[dim]
    size = -(-n // chunks)
    if size == 0 and n == 0:
        return _split_with_sizes(SplitWithSizes, input, [0] * chunks, dim)
    return split(input, size, dim)


def _section_bounds(indices_or_sections, n: int):
    """(start, stop) of each piece of ``tensor_split``."""
    if isinstance(indices_or_sections, Tensor):
        t = indices_or_sections
        if t.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a "
                               "zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {t.ndim} dims")
        if t._data.dtype.kind != "i" or t._data.itemsize != 8:
            from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
            name = _LEGACY_TYPE_NAMES.get(t.dtype.name, t.dtype.name)
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {name}")
        indices_or_sections = t.item() if t.ndim == 0 else t.tolist()
    if isinstance(indices_or_sections, (list, tuple)):
        indices = int_tuple(indices_or_sections, "tensor_split", "indices")
        bounds = []
        prev = 0
        for i in indices + (None,):
            start, stop, _ = slice(prev, i).indices(n)
            bounds.append((start, max(stop, start)))
            prev = i
        return bounds
    sections = int_arg(indices_or_sections, "tensor_split", "sections", 2)
    if sections <= 0:
        raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
    small, extra = divmod(n, sections)
    bounds = []
    start = 0
    for i in range(sections):
        stop = start + small + (i < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``sections`` nearly equal views, or at the given indices, along ``dim``.

    Example::

        >>> [t.tolist() for t in torch.arange(7).tensor_split(3)]
        [[0, 1, 2], [3, 4], [5, 6]]
    """
    shape = input._data.shape
    if not shape:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    dim = wrap_dim(int_arg(dim, "tensor_split", "dim", 3), len(shape))
    bounds = _section_bounds(indices_or_sections, shape[dim])
    return tuple(Slice.apply(input, key=_window(dim, start, stop)) for start, stop in bounds)


def _split_along(name, input, indices_or_sections, min_ndim, dim):
    ndim = input._data.ndim
    if ndim < min_ndim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_ndim} dimension, "
                           f"but got a tensor with {ndim} dimensions!")
    if isinstance(indices_or_sections, int):
        size = input._data.shape[dim]
        if indices_or_sections != 0 and size % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {indices_or_sections}!")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for 1-D tensors); int sections must divide."""
    dim = 1 if input._data.ndim >= 2 else 0
    return _split_along("hsplit", input, indices_or_sections, 1, dim)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 0 of a tensor with at least 2 dimensions."""
    return _split_along("vsplit", input, indices_or_sections, 2, 0)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 2 of a tensor with at least 3 dimensions."""
    return _split_along("dsplit", input, indices_or_sections, 3, 2)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, as a tuple of views (that dimension removed).

    Example::

        >>> torch.unbind(torch.tensor([[1, 2], [3, 4]]), 1)
        (tensor([1, 3]), tensor([2, 4]))
    """
    shape = input._data.shape
    if not shape:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = wrap_dim(int_arg(dim, "unbind", "dim", 2), len(shape))
    lead = (slice(None),) * dim
    keys = [lead + (i, Ellipsis) for i in range(shape[dim])]
    return Unbind.apply_views(input, keys, dim)


bind_methods({
    "narrow": narrow, "select": select, "diagonal": diagonal, "unfold": unfold,
    "split": lambda self, split_size, dim=0: split(self, split_size, dim), "chunk": chunk,
    "tensor_split": tensor_split, "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit,
    "unbind": unbind,
})


# ---------------------------------------------------------------------- split / narrow aliases
# (the pieces are views, as those of split; torch's unsafe_* skip the view bookkeeping)

def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Split into pieces of the given sizes (which must sum to the size of ``dim``)."""
    return split(input, list(int_tuple(split_sizes, "split_with_sizes", "split_sizes")), dim)


def unsafe_split(input: Tensor, split_size: int, dim: int = 0) -> tuple:
    """:func:`split` with an int ``split_size``."""
    return split(input, int_arg(split_size, "unsafe_split", "split_size", 2), dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """:func:`split_with_sizes`."""
    return split_with_sizes(input, split_sizes, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """:func:`chunk`."""
    return chunk(input, chunks, dim)


def narrow_copy(input: Tensor, dim: int, start, length: int) -> Tensor:
    """A copy of ``input.narrow(dim, start, length)``."""
    return Clone.apply(narrow(input, dim, start, length))


bind_methods({
    "split_with_sizes": split_with_sizes, "unsafe_split": unsafe_split,
    "unsafe_split_with_sizes": unsafe_split_with_sizes, "unsafe_chunk": unsafe_chunk,
    "narrow_copy": narrow_copy,
})
