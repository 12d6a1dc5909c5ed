"""Joining and repeating: cat/stack and their h/v/d/column variants, repeat, tile.

Joined tensors are promoted to their common dtype as in torch (a differentiable cast), so the
primitives below see arrays of one dtype.
"""

from __future__ import annotations

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.autograd.grad_mode import state as _grad_state
from dist_torch.backend import array_module
from dist_torch.ops._util import cast, check_same_device, result_dtype, wrap_dim
from dist_torch.ops.shape import atleast_1d, atleast_2d, atleast_3d, int_arg, sizes_arg
from dist_torch.ops.shape import reshape as _reshape

__all__ = [
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
    "column_stack", "tile",
]


class Cat(Primitive):
    def forward(ctx, *arrays, dim, skip_empty=False):
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] if a.ndim > dim else 0 for a in arrays]
        ctx.skipped = skip_empty and [a.ndim == 1 and a.shape[0] == 0 for a in arrays]
        if skip_empty:
            arrays = [a for a in arrays if not (a.ndim == 1 and a.shape[0] == 0)]
        return array_module(arrays[0]).concatenate(arrays, axis=dim)

    def backward(ctx, grad):
        lead = (slice(None),) * ctx.dim
        grads = []
        start = 0
        skipped = ctx.skipped
        needs = ctx.needs_input_grad
        for i, size in enumerate(ctx.sizes):
            if skipped and skipped[i]:
                grads.append(array_module(grad).zeros((0,), dtype=grad.dtype) if needs[i]
                             else None)
                continue
            if needs[i]:
                grads.append(grad[lead + (slice(start, start + size),)])
            else:
                grads.append(None)
            start += size
        return tuple(grads)


class Stack(Primitive):
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        return array_module(arrays[0]).stack(arrays, axis=dim)

    def backward(ctx, grad):
        lead = (slice(None),) * ctx.dim
        return tuple(grad[lead + (i, Ellipsis)] if need else None
                     for i, need in enumerate(ctx.needs_input_grad))


class Repeat(Primitive):
    def forward(ctx, a, repeats):
        xp = array_module(a)
        lead = len(repeats) - a.ndim
        shape = (1,) * lead + a.shape
        ctx.in_shape, ctx.repeats, ctx.shape = a.shape, repeats, shape
        # (r0, s0, r1, s1, ...) broadcast, then merged: one copy
        interleaved = []
        out_shape = []
        for r, s in zip(repeats, shape):
            interleaved += [r, s]
            out_shape.append(r * s)
        pairs = a.reshape(tuple(x for s in shape for x in (1, s)))
        out = xp.broadcast_to(pairs, tuple(interleaved)).reshape(out_shape)
        if xp.may_share_memory(out, a):
            out = out.copy()  # all repeats 1: the reshape was a view of the input
        return out

    def backward(ctx, grad):
        interleaved = tuple(x for r, s in zip(ctx.repeats, ctx.shape) for x in (r, s))
        summed = grad.reshape(interleaved).sum(axis=tuple(range(0, len(interleaved), 2)))
        return summed.reshape(ctx.in_shape)


def _tensor_list(tensors, fname: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fname}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tensors


def _promoted(tensors) -> list:
    """The tensors cast to their common dtype (the same list when they already agree)."""
    first = tensors[0]._data
    dtype = first.dtype
    kind = type(first)
    same = True
    for t in tensors:
        if t._data.dtype != dtype:
            same = False
        if type(t._data) is not kind:
            check_same_device(tensors[0], t)
    if same:
        return tensors
    np_dtype = result_dtype(*tensors).numpy_dtype
    return [cast(t, np_dtype) for t in tensors]


def write_out(fname, out, result, inputs):
    """Store ``result`` into the ``out=`` tensor (resized if needed), as torch does."""
    if _grad_state.grad_enabled and any(t._requires_grad for t in inputs):
        raise RuntimeError(f"{fname}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    if out._data.shape == result._data.shape:
        array_module(out._data).copyto(out._data, result._data, casting="unsafe")
    else:
        out._data = result._data.astype(out._data.dtype, copy=False)
    out._bump_version()
    return out


@autocast_op("cat")
def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Concatenate tensors along an existing dimension ``dim``; sizes must agree elsewhere.
    Dtypes are promoted; 1-D empty tensors of shape (0,) are skipped, as in torch.

    Example::

        >>> torch.cat([torch.zeros(2, 3), torch.ones(1, 3)]).shape
        torch.Size([3, 3])
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    dim = int_arg(dim, "cat", "dim", 2)
    ref = None
    skip_empty = False
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if not shape:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
        if shape == (0,):
            skip_empty = True
        elif ref is None:
            ref = shape
    if ref is None:  # all legacy empty tensors
        ref = (0,)
        dim = 0
    ndim = len(ref)
    dim = wrap_dim(dim, ndim)
    skip_empty = skip_empty and ndim != 1
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if shape == ref or (skip_empty and shape == (0,)):
            continue
        if len(shape) != ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ndim} and "
                               f"{len(shape)}")
        for d in range(ndim):
            if d != dim and shape[d] != ref[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. "
                                   f"Expected size {ref[d]} but got size {shape[d]} for tensor "
                                   f"number {i} in the list.")
    result = Cat.apply(*_promoted(tensors), dim=dim, skip_empty=skip_empty)
    return result if out is None else write_out("cat", out, result, tensors)


concat = cat


def concatenate(tensors, axis: int = 0, out=None) -> Tensor:
    """``cat`` with NumPy's argument name."""
    return cat(tensors, axis, out=out)


@autocast_op("stack")
def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join equally shaped tensors along a new dimension ``dim``.

    Example::

        >>> torch.stack([torch.zeros(2, 3), torch.ones(2, 3)], dim=1).shape
        torch.Size([2, 2, 3])
    """
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref)} at entry 0 and {list(t._data.shape)} at entry {i}")
    dim = wrap_dim(int_arg(dim, "stack", "dim", 2), len(ref) + 1)
    result = Stack.apply(*_promoted(tensors), dim=dim)
    return result if out is None else write_out("stack", out, result, tensors)


def _nonempty(tensors, fname):
    tensors = _tensor_list(tensors, fname)
    if not tensors:
        raise RuntimeError(f"{fname} expects a non-empty TensorList")
    return tensors


def hstack(tensors, *, out=None) -> Tensor:
    """Concatenate column-wise: along dim 1, or dim 0 for 1-D tensors."""
    tensors = atleast_1d(_nonempty(tensors, "hstack"))
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None) -> Tensor:
    """Concatenate row-wise (along dim 0) after viewing 1-D tensors as rows."""
    return cat(atleast_2d(_nonempty(tensors, "vstack")), 0, out=out)


def row_stack(tensors, *, out=None) -> Tensor:
    """Alias of :func:`vstack`."""
    return cat(atleast_2d(_nonempty(tensors, "row_stack")), 0, out=out)


def dstack(tensors, *, out=None) -> Tensor:
    """Concatenate depth-wise (along dim 2) after viewing tensors as at least 3-D."""
    return cat(atleast_3d(_nonempty(tensors, "dstack")), 2, out=out)


def column_stack(tensors, *, out=None) -> Tensor:
    """Stack 0-D/1-D tensors as columns (and other tensors along dim 1)."""
    tensors = _nonempty(tensors, "column_stack")
    cols = [_reshape(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in tensors]
    return cat(cols, 1, out=out)


def repeat(self: Tensor, *repeats) -> Tensor:
    """Tile ``self`` ``repeats[i]`` times along each dimension (a copy);
    ``len(repeats)`` must be at least ``self.dim()`` (extra leading dims are added).

    Example::

        >>> torch.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    if not repeats:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    repeats = sizes_arg(repeats, "repeat", "repeats")
    shape = self._data.shape
    if len(repeats) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    padded = (1,) * (len(repeats) - len(shape)) + shape
    if any(r < 0 for r in repeats):
        target = [r * s for r, s in zip(repeats, padded)]
        bad = next(x for x in target if x < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {target}")
    return Repeat.apply(self, repeats=repeats)


def tile(input: Tensor, dims) -> Tensor:
    """Repeat ``input`` ``dims[i]`` times along each dimension; a shorter ``dims`` is padded
    with leading 1s (unlike ``Tensor.repeat``)."""
    dims = sizes_arg((dims,), "tile", "dims")
    ndim = input._data.ndim
    if len(dims) < ndim:
        dims = (1,) * (ndim - len(dims)) + dims
    return repeat(input, dims)


bind_methods({"repeat": repeat, "tile": tile})
