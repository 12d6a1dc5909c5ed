"""Norms: torch.norm and the torch.linalg norms (vector_norm, matrix_norm, norm).

One primitive, ``VectorNorm`` (grad_fn ``LinalgVectorNormBackward0``), covers every vector
order; matrix norms are composed from it and ``amax``/``amin``. The matrix orders that need a
singular value decomposition ('nuc', 2, -2) are not implemented.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.backend import array_module
from dist_torch.ops._reduce import (
    LOW_FLOATS,
    Reduction,
    data_of,
    is_floating,
    reduce_dims,
    reduced_shape,
    type_name,
    write_out,
)
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.reduction import amax, amin

__all__ = ["norm"]

_FLOAT32 = np.dtype(np.float32)
_INF = math.inf


class VectorNorm(Reduction):
    _name = "LinalgVectorNormBackward0"

    def forward(ctx, a, ord=2, dims=None, keepdim=False, dtype=None):
        if dtype is not None and a.dtype != dtype:
            a = a.astype(dtype)
        ctx._record(a, dims, keepdim)
        ctx.ord = ord
        xp = array_module(a)
        work = a.astype(_FLOAT32) if a.dtype in LOW_FLOATS else a
        if ord == 2:
            kept = xp.sqrt((work * work).sum(axis=dims, keepdims=True))
        elif ord == 1:
            kept = xp.abs(work).sum(axis=dims, keepdims=True)
        elif ord == _INF:
            kept = xp.abs(work).max(axis=dims, keepdims=True)
        elif ord == -_INF:
            kept = xp.abs(work).min(axis=dims, keepdims=True)
        elif ord == 0:
            kept = (work != 0).sum(axis=dims, keepdims=True, dtype=work.dtype)
        else:
            with np.errstate(divide="ignore"):
                powered = (xp.abs(work) ** ord).sum(axis=dims, keepdims=True)
                kept = powered ** (1.0 / ord)
        kept = kept.astype(a.dtype, copy=False)
        ctx.save_for_backward(a, kept)
        return kept if keepdim else kept.reshape(reduced_shape(a.shape, dims, False))

    def backward(ctx, grad):
        order = ctx.ord
        if order == 0:  # piecewise constant: torch gives no gradient
            return None
        a, kept = ctx.saved_tensors
        xp = array_module(a)
        g = ctx._kept(grad)
        if order == 2:
            return g * (a / xp.where(kept == 0, 1, kept))
        if order == 1:
            return g * xp.sign(a)
        if order == _INF or order == -_INF:
            mask = xp.abs(a) == kept
            return (xp.sign(a) * mask) * (g / mask.sum(axis=ctx.dims, keepdims=True))
        # d ||a||_p / d a_i = sign(a_i) |a_i|^(p-1) / ||a||_p^(p-1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            local = xp.sign(a) * (xp.abs(a) / kept) ** (order - 1)
        return g * xp.where((a == 0) | (kept == 0), 0, local)


def _format_ord(ord) -> str:
    return f"{ord:g}" if isinstance(ord, float) else str(ord)


@autocast_op("linalg_vector_norm")
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when None), as a vector.

    ``ord`` may be any real number or ``inf``/``-inf``; 0 counts the nonzero elements.

    Example::

        >>> torch.linalg.vector_norm(torch.tensor([3., 4.]))
        tensor(5.)
    """
    data = data_of(x, "linalg.vector_norm")
    if not isinstance(ord, numbers.Real) or isinstance(ord, bool):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    if not is_floating(data.dtype):
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {type_name(data.dtype)}")
    np_dtype = None
    if dtype is not None:
        np_dtype = dtype.numpy_dtype
        source = _dtype.from_numpy_dtype(data.dtype)
        if not dtype.is_floating_point or _dtype.promote_types(source, dtype) is not dtype:
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input "
                               f"({type_name(data.dtype)}) should be convertible without "
                               f"narrowing to the specified dtype ({type_name(np_dtype)})")
    if dim is not None and not isinstance(dim, (int, tuple, list)):
        raise TypeError(f"linalg_vector_norm(): argument 'dim' must be tuple of ints, not "
                        f"{type(dim).__name__}")
    dims = reduce_dims(dim, data.ndim)
    if not data.size and (ord < 0 or ord == _INF):
        if dims is None:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {_format_ord(ord)} norm "
                               "on an empty tensor because the operation does not have an "
                               "identity")
        for d in dims:
            if data.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {_format_ord(ord)} "
                                   f"norm on the dimension {d}because this dimension is empty "
                                   "and the operation does not have an identity")
    result = VectorNorm.apply(x, ord=ord, dims=dims, keepdim=keepdim, dtype=np_dtype)
    return result if out is None else write_out("linalg_vector_norm", result, out)


def _matrix_dims(A, dim):  # noqa: N803 - torch's argument name
    data = data_of(A, "linalg.matrix_norm")
    if data.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if not is_floating(data.dtype):
        raise RuntimeError("linalg.matrix_norm: Expected a floating point or complex tensor as "
                           f"input. Got {type_name(data.dtype)}")
    if isinstance(dim, int) or len(dim) != 2:
        got = dim if isinstance(dim, int) else " ".join(str(d) for d in dim)
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {got}")
    rows, cols = wrap_dim(dim[0], data.ndim), wrap_dim(dim[1], data.ndim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    return rows, cols


@autocast_op("linalg_matrix_norm")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None,  # noqa: N803
                out=None) -> Tensor:
    """The ``ord`` matrix norm over the two dims ``dim`` (the last two by default).

    ``ord`` is 'fro', 'nuc', 1, -1, 2, -2, ``inf`` or ``-inf``.

    Example::

        >>> torch.linalg.matrix_norm(torch.tensor([[1., -2.], [3., 4.]]), ord=1)
        tensor(6.)
    """
    rows, cols = _matrix_dims(A, dim)
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim, dtype=dtype, out=out)
    if ord in ("nuc", 2, -2):
        return _singular_value_norm(A, ord, rows, cols, keepdim, dtype, out)
    if ord not in (1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # 1/-1: max/min over columns of the column sums; inf/-inf: the same over rows.
    summed, other = (rows, cols) if abs(ord) == 1 else (cols, rows)
    sums = vector_norm(A, 1, summed, keepdim, dtype=dtype)
    if not keepdim and other > summed:
        other -= 1
    if not sums._data.size:
        from dist_torch._creation import zeros
        shape = reduced_shape(sums._data.shape, (other,), keepdim)
        return zeros(shape, dtype=sums.dtype)
    return (amax if ord > 0 else amin)(sums, other, keepdim, out=out)


def _singular_value_norm(A, ord, rows, cols, keepdim, dtype, out):  # noqa: N803
    """'nuc' (the sum), 2 (the largest) or -2 (the smallest) of the singular values."""
    from dist_torch.ops.spectral import linalg_svdvals
    if dtype is not None:
        A = A.to(dtype)  # noqa: N806
    values = linalg_svdvals(A.movedim((rows, cols), (-2, -1)))
    if ord == "nuc":
        result = values.sum(-1)
    else:
        result = (amax if ord == 2 else amin)(values, -1)
    if keepdim:
        result = result.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols))
    return result if out is None else write_out("linalg.matrix_norm", result, out)


@autocast_op("linalg_norm")
def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None,  # noqa: N803
                out=None) -> Tensor:
    """torch.linalg.norm: a vector norm over one dim (or all, when ``ord`` is None), or a
    matrix norm over two dims (or of a 2-D input when ``ord`` is given)."""
    data = data_of(A, "linalg.norm")
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1:
            return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype,
                               out=out)
        raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                           f"Got {list(dims)}")
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if data.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    if data.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D "
                       f"or 2D. Got {data.ndim}D.")


@autocast_op("norm")
def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None) -> Tensor:
    """torch.norm: the ``p``-norm over ``dim`` ('fro' and numbers are vector norms over the
    given dims; prefer :func:`torch.linalg.vector_norm` / ``matrix_norm``).

    Example::

        >>> torch.norm(torch.tensor([[3., 4.], [0., 0.]]))
        tensor(5.)
    """
    if p is None:
        p = "fro"
    if isinstance(p, str):
        if p == "fro":
            if dim is not None and not isinstance(dim, int) and len(dim) > 2:
                got = " ".join(str(d) for d in dim)
                raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {got}")
            return vector_norm(input, 2, dim, keepdim, dtype=dtype, out=out)
        if p == "nuc":
            return matrix_norm(input, p, (-2, -1) if dim is None else dim, keepdim, dtype=dtype,
                               out=out)
        raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    return vector_norm(input, p, dim, keepdim, dtype=dtype, out=out)


bind_methods({"norm": lambda self, p="fro", dim=None, keepdim=False, dtype=None:
              norm(self, p, dim, keepdim, dtype=dtype)})
