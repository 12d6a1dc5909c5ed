"""Shared machinery of the reduction families (reduction, softmax, statistics, cumulative,
linalg_norm): dim normalization, kept/reduced shapes, torch's empty-input errors, ``out=``
handling, and the ``Reduction`` Primitive base.

Each Reduction records the input shape, the reduced dims (``None``: all of them) and
``keepdim``; backward reshapes the incoming gradient to the "kept" shape (reduced dims of size
1) and broadcasts it against the input.
"""

from __future__ import annotations

from dist_torch import _dtype
from dist_torch._tensor import Tensor
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module
from dist_torch.ops._util import wrap_dim, wrap_dims

# Floating dtypes that torch reduces with a float32 accumulator.
LOW_FLOATS = frozenset(d.numpy_dtype for d in (_dtype.float16, _dtype.bfloat16)
                       if d._np is not None)


def is_floating(np_dtype) -> bool:
    return np_dtype.kind == "f" or np_dtype in LOW_FLOATS


def type_name(np_dtype) -> str:
    """torch's legacy scalar-type name used in messages: ``Long``, ``Float``, ``Bool``..."""
    return _LEGACY_TYPE_NAMES[_dtype.from_numpy_dtype(np_dtype).name]


def data_of(input, fname: str):
    """``input``'s array, or torch's TypeError for a non-Tensor argument."""
    try:
        return input._data
    except AttributeError:
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}") from None


def reduce_dims(dim, ndim: int):
    """``dim`` (int, sequence or None) as a sorted tuple of wrapped dims, or None for all dims.

    An empty sequence means all dims, and so does any dim of a 0-dim tensor.
    """
    if dim is None:
        return None
    if type(dim) is int:
        d = wrap_dim(dim, ndim)
        return (d,) if ndim else None
    if isinstance(dim, Tensor):
        dim = dim.tolist()
    dims = wrap_dims(dim, ndim)
    return dims if dims and ndim else None


def kept_shape(shape: tuple, dims) -> tuple:
    """``shape`` with the reduced dims set to 1 (what ``keepdim=True`` produces)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def reduced_shape(shape: tuple, dims, keepdim: bool) -> tuple:
    if keepdim:
        return kept_shape(shape, dims)
    if dims is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def check_nonempty(fname: str, data, dims, sep: str = "(): ") -> None:
    """torch's errors for reductions without an identity (max, amin, ...) over no elements."""
    if data.size:
        return
    if dims is None:
        raise RuntimeError(f"{fname}{sep}Expected reduction dim to be specified for "
                           "input.numel() == 0. Specify the reduction dim with the 'dim' "
                           "argument.")
    for d in dims:
        if data.shape[d] == 0:
            raise IndexError(f"{fname}{sep}Expected reduction dim {d} to have non-zero size.")


def write_out(fname: str, result, out):
    """Store ``result`` in the ``out=`` tensor(s) (resized if its shape differs), as torch."""
    results = result if isinstance(result, tuple) else (result,)
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if len(outs) != len(results) or not all(isinstance(o, Tensor) for o in outs):
        what = f"a tuple of {len(results)} Tensors" if len(results) > 1 else "Tensor"
        raise TypeError(f"{fname}(): argument 'out' must be {what}")
    if any(r._requires_grad for r in results):
        raise RuntimeError(f"{fname}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    for r, o in zip(results, outs):
        if o._data.shape == r._data.shape:
            array_module(o._data).copyto(o._data, r._data, casting="unsafe")
        else:
            o._data = r._data.astype(o._data.dtype)
        o._bump_version()
    return tuple.__new__(type(result), outs) if isinstance(result, tuple) else out


def alias_args(dim, keepdim, axis, keepdims):
    """NumPy-style ``axis=``/``keepdims=`` spellings, which torch also accepts."""
    return (dim if axis is None else axis), (keepdim if keepdims is None else keepdims)


class Reduction(Primitive):
    """Base: remembers what backward needs to undo the reduction's shape change."""

    def _record(ctx, a, dims, keepdim):
        ctx.shape = a.shape
        ctx.kshape = kept_shape(a.shape, dims)
        ctx.dims = dims
        ctx.keepdim = keepdim

    def _kept(ctx, grad):
        """The gradient reshaped to the kept shape (broadcastable against the input)."""
        return grad if ctx.keepdim else grad.reshape(ctx.kshape)

    def _expand(ctx, grad):
        return array_module(grad).broadcast_to(ctx._kept(grad), ctx.shape)
