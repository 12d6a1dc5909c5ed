"""torch.linalg matrix functions and products: matrix_exp, matrix_power, multi_dot, cross,
linalg.vander, diagonal (torch.trace and torch.vander are in
:mod:`dist_torch.ops.combinatorics`).

matrix_exp is Pade 13 with scaling and squaring (each matrix of a batch scaled by its own power
of two); its gradient is the upper-right block of the exponential of ``[[A^T, G], [0, A^T]]``.
matrix_power and multi_dot compose matmul (multi_dot in the cheapest order); vander composes
cumprod, as torch does.
"""

# ruff: noqa: N803 - torch's argument names (A, B, L, UPLO, N)
from __future__ import annotations

import warnings

import numpy as np

from dist_torch._broadcast import broadcast_shapes
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import data_of, type_name
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.cumulative import cumprod
from dist_torch.ops.decompositions import _attempt, check_matrix, finish, linalg_inv, mT
from dist_torch.ops.join import cat
from dist_torch.ops.slicing import diagonal

__all__ = ["matrix_power", "matrix_exp", "cross"]


# --------------------------------------------------------------------------- powers, exp

_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def expm(a):
    """Matrix exponential: Pade 13 after scaling each matrix by ``2^-s`` (its own ``s``),
    then ``s`` squarings."""
    xp = array_module(a)
    if a.size == 0:
        return a.copy()
    b = _PADE13
    with np.errstate(divide="ignore", invalid="ignore"):
        s = xp.ceil(xp.log2(xp.abs(a).sum(-2).max(-1) / _THETA13))
    s = xp.where(xp.isfinite(s), xp.maximum(s, 0), 0).astype(np.int64)
    a = a / (2.0 ** s).astype(a.dtype)[..., None, None]
    eye = xp.eye(a.shape[-1], dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4
             + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * eye
    r = _attempt(xp.linalg.solve, v - u, v + u)
    if r is None:
        return xp.full(a.shape, xp.nan, dtype=a.dtype)
    for i in range(int(s.max())):
        r = xp.where((s > i)[..., None, None], r @ r, r)
    return r.astype(a.dtype, copy=False)


class MatrixExp(Primitive):
    """``exp(A)``; backward: the top-right block of ``exp([[A^T, g], [0, A^T]])``."""

    _name = "LinalgMatrixExpBackward0"

    def forward(ctx, a):
        ctx.save_for_backward(a)
        return expm(a)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        xp = array_module(a)
        n = a.shape[-1]
        big = xp.zeros(grad.shape[:-2] + (2 * n, 2 * n), dtype=a.dtype)
        big[..., :n, :n] = mT(a)
        big[..., n:, n:] = mT(a)
        big[..., :n, n:] = grad
        return expm(big)[..., :n, n:]


def matrix_exp(A) -> Tensor:
    """Matrix exponential of square matrices (batch dims kept), differentiable."""
    check_matrix("linalg.matrix_exp", A)
    return MatrixExp.apply(A)


def matrix_power(A, n, *, out=None) -> Tensor:
    """``A^n`` for an integer ``n`` by repeated squaring; negative ``n`` inverts first
    (float input only); ``n = 0`` gives the identity."""
    data = check_matrix("linalg.matrix_power", A, floating=False)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    if n == 0:
        xp = array_module(data)
        result = A * 0 + _wrap(xp.eye(data.shape[-1], dtype=data.dtype))
    else:
        base = linalg_inv(A) if n < 0 else A
        k = abs(int(n))
        result = None
        while k:
            if k & 1:
                result = base if result is None else result @ base
            k >>= 1
            if k:
                base = base @ base
        if result is A:
            result = A.clone()
    return finish("linalg_matrix_power", result, out)


@autocast_op("linalg_multi_dot")
def multi_dot(tensors, *, out=None) -> Tensor:
    """Product of a chain of matrices in the cheapest order (the first may be a row
    vector and the last a column vector, which are dropped from the result)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        d = t.ndim
        if i in (0, len(ts) - 1):
            if d not in (1, 2):
                which = "first" if i == 0 else "last"
                raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got "
                                   f"{d}D")
        elif d != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {d}D")
        if t.dtype != ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {type_name(ts[0]._data.dtype)} and tensor {i} "
                               f"is {type_name(t._data.dtype)}")
    row, col = ts[0].ndim == 1, ts[-1].ndim == 1
    if row:
        ts[0] = ts[0].unsqueeze(0)
    if col:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i in range(len(ts) - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{ts[i].shape[0]}x{ts[i].shape[1]} and {ts[i + 1].shape[0]}x"
                               f"{ts[i + 1].shape[1]} cannot be multiplied")
    result = _chain(ts, _chain_order([t.shape[0] for t in ts] + [ts[-1].shape[1]]), 0,
                    len(ts) - 1)
    if row:
        result = result.squeeze(0)
    if col:
        result = result.squeeze(-1)
    return finish("linalg_multi_dot", result, out)


def _chain_order(dims):
    """Matrix-chain dynamic programme: ``split[i][j]`` is where to split the product i..j."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(ts, split, i, j):
    if i == j:
        return ts[i]
    k = split[i][j]
    return _chain(ts, split, i, k) @ _chain(ts, split, k + 1, j)


# --------------------------------------------------------------------------- cross, vander

_NEXT, _PREV = (1, 2, 0), (2, 0, 1)


def _cross(a, b, axis):
    xp = array_module(a)
    return (xp.take(a, _NEXT, axis=axis) * xp.take(b, _PREV, axis=axis)
            - xp.take(a, _PREV, axis=axis) * xp.take(b, _NEXT, axis=axis))


class Cross(Primitive):
    """Cross product along ``dim`` (operands broadcast); backward ``b x g`` and ``g x a``."""

    _name = "LinalgCrossBackward0"

    def forward(ctx, a, b, dim=-1):
        ctx.dim = dim
        ctx.save_for_backward(a, b)
        return _cross(a, b, dim)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        xp = array_module(grad)
        return (_cross(xp.broadcast_to(b, grad.shape), grad, ctx.dim),
                _cross(grad, xp.broadcast_to(a, grad.shape), ctx.dim))


def linalg_cross(input, other, *, dim=-1, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim``; other dims broadcast."""
    a, b = data_of(input, "linalg_cross"), data_of(other, "linalg_cross")
    if a.ndim != b.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, a.ndim)
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[d]} and {b.shape[d]}")
    broadcast_shapes(a.shape, b.shape)
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {type_name(a.dtype)} but found "
                           f"{type_name(b.dtype)}")
    return finish("linalg_cross", Cross.apply(input, other, dim=d), out)


@autocast_op("cross")
def cross(input, other, dim=None, *, out=None) -> Tensor:
    """``torch.cross``: :func:`torch.linalg.cross`, but ``dim=None`` (deprecated) picks the
    first dim of size 3."""
    if dim is None:
        a, b = data_of(input, "cross"), data_of(other, "cross")
        if a.ndim == b.ndim:
            a = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=bool)
        sizes = list(a.shape)
        if 3 not in sizes:
            raise RuntimeError("no dimension of size 3 in input")
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\n"
                      "Please either pass the dim explicitly or simply use torch.linalg.cross."
                      "\nThe default value of dim will change to agree with that of "
                      "linalg.cross in a future release.", UserWarning, stacklevel=2)
        dim = sizes.index(3)
    return linalg_cross(input, other, dim=dim, out=out)


def linalg_vander(x, *, N=None) -> Tensor:
    """Vandermonde matrix with increasing powers ``x^0 .. x^(N-1)`` along a new last dim."""
    data = data_of(x, "linalg_vander")
    if data.dtype.kind not in "fiu" or data.dtype.kind == "f" and data.itemsize < 4:
        raise RuntimeError("linalg.vander supports floating point, complex, and integer "
                           f"tensors, but got {type_name(data.dtype)}")
    x_ = x.unsqueeze(-1) if data.ndim == 0 else x
    n = x_.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    powers = cumprod(x_.unsqueeze(-1).expand(*x_.shape, n - 1), -1)
    ones = _wrap(array_module(data).ones(tuple(x_.shape) + (1,), dtype=powers._data.dtype))
    return cat([ones, powers], -1)


def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1) -> Tensor:
    """``torch.linalg.diagonal``: :func:`torch.diagonal` over the last two dims by default."""
    return diagonal(A, offset=offset, dim1=dim1, dim2=dim2)


bind_methods({
    "matrix_power": matrix_power, "matrix_exp": matrix_exp, "cross": cross,
})
