"""Out-of-place writes through a view: slice_scatter, select_scatter, diagonal_scatter, and
the in-place ``Tensor.fill_diagonal_``.

``x.slice_scatter(src, ...)`` is a copy of ``x`` whose slice holds ``src`` (cast to ``x``'s
dtype). The gradient of ``x`` is the incoming one with the window zeroed; ``src`` gets the
window of it.
"""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd import grad_mode
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import data_of
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.inplace import inplace
from dist_torch.ops.shape import int_arg
from dist_torch.ops.slicing import diagonal_view

__all__ = ["slice_scatter", "select_scatter", "diagonal_scatter"]


class _ScatterView(Primitive):
    """A copy of ``a`` with ``window(copy)`` replaced by ``src``."""

    def forward(ctx, a, src, window):
        ctx.window, ctx.src_dtype = window, src.dtype
        out = a.copy()
        window(out)[...] = src
        return out

    def backward(ctx, grad):
        grad_a = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_a = grad.copy()
            ctx.window(grad_a)[...] = 0
        if ctx.needs_input_grad[1]:
            grad_src = ctx.window(grad).astype(ctx.src_dtype, copy=True)
        return grad_a, grad_src


class SliceScatter(_ScatterView):
    _name = "SliceScatterBackward0"


class SelectScatter(_ScatterView):
    _name = "SelectScatterBackward0"


class DiagonalScatter(_ScatterView):
    _name = "DiagonalScatterBackward0"


def _scatter(op, fname, input, src, window):
    data = data_of(input, fname)
    if not isinstance(src, Tensor):
        raise TypeError(f"{fname}(): argument 'src' (position 2) must be Tensor, not "
                        f"{type(src).__name__}")
    shape = window(data).shape
    if src._data.shape != shape:
        raise RuntimeError("expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._data.shape)}, slice size = {list(shape)}")
    return op.apply(input, src, window=window)


def _dim(fname, data, dim, position):
    if not data.ndim:
        raise IndexError(f"{fname}() cannot be applied to a 0-dim tensor.")
    return wrap_dim(int_arg(dim, fname, "dim", position), data.ndim)


def slice_scatter(input, src, dim=0, start=None, end=None, step=1) -> Tensor:
    """``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``.

    Example::

        >>> torch.slice_scatter(torch.zeros(4), torch.ones(2), start=1, end=3)
        tensor([0., 1., 1., 0.])
    """
    data = data_of(input, "slice_scatter")
    d = _dim("slice", data, dim, 3)
    step = int_arg(step, "slice_scatter", "step", 6)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    start = None if start is None else int_arg(start, "slice_scatter", "start", 4)
    end = None if end is None else int_arg(end, "slice_scatter", "end", 5)
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter(SliceScatter, "slice_scatter", input, src, lambda a: a[key])


def select_scatter(input, src, dim, index) -> Tensor:
    """``input`` with ``input.select(dim, index)`` replaced by ``src``.

    Example::

        >>> torch.select_scatter(torch.zeros(2, 2), torch.ones(2), 0, 0)
        tensor([[1., 1.],
                [0., 0.]])
    """
    data = data_of(input, "select_scatter")
    d = _dim("select", data, dim, 3)
    index = int_arg(index, "select_scatter", "index", 4)
    size = data.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(data.shape)} at dimension {d}")
    key = (slice(None),) * d + (index, Ellipsis)
    return _scatter(SelectScatter, "select_scatter", input, src, lambda a: a[key])


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1) -> Tensor:
    """``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``.

    Example::

        >>> torch.diagonal_scatter(torch.zeros(2, 2), torch.ones(2))
        tensor([[1., 0.],
                [0., 1.]])
    """
    data = data_of(input, "diagonal_scatter")
    offset = int_arg(offset, "diagonal_scatter", "offset", 3)
    d1 = _dim("diagonal", data, dim1, 4)
    d2 = _dim("diagonal", data, dim2, 5)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _scatter(DiagonalScatter, "diagonal_scatter", input, src,
                    lambda a: diagonal_view(a, offset, d1, d2))


# --------------------------------------------------------------------------- fill_diagonal_

class FillDiagonal(Primitive):
    """A copy of ``a`` with ``value`` at the flat positions ``where``; they get no gradient."""

    _name = "FillBackward0"

    def forward(ctx, a, value, where):
        ctx.where = where
        out = a.copy()
        out.reshape(-1)[where] = value
        return out

    def backward(ctx, grad):
        out = grad.copy()
        out.reshape(-1)[ctx.where] = 0
        return out


def _diagonal_positions(xp, shape, wrap):
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and any(s != shape[0] for s in shape):
        raise RuntimeError("all dimensions of input must be of equal length")
    rows, cols = shape[0], shape[-1]
    size = int(np.prod(shape))
    step = sum(cols ** k for k in range(len(shape)))  # the flat distance between a[i,..,i]s
    if len(shape) == 2 and wrap and rows > cols:    # numpy's wrap: restart below the square
        return xp.arange(0, size, step, dtype=np.int64)
    return xp.arange(min(rows, cols), dtype=np.int64) * step


def fill_diagonal_(self: Tensor, fill_value, wrap=False) -> Tensor:
    """Fill the main diagonal (``a[i, i, ..., i]``; all dims equal beyond 2-D) with
    ``fill_value`` in place; ``wrap`` restarts it every ``cols + 1`` rows of a tall matrix."""
    data = data_of(self, "fill_diagonal_")
    if grad_mode.state.grad_enabled and self._requires_grad and self._grad_fn is None and \
            self._base is None:   # torch writes through a diagonal view
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    where = _diagonal_positions(array_module(data), data.shape, bool(wrap))
    if isinstance(fill_value, np.generic):
        fill_value = fill_value.item()
    return inplace(self, lambda t: FillDiagonal.apply(t, value=fill_value, where=where))


bind_methods({
    "slice_scatter": slice_scatter, "select_scatter": select_scatter,
    "diagonal_scatter": diagonal_scatter, "fill_diagonal_": fill_diagonal_,
})
