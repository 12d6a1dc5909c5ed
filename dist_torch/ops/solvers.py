"""torch.linalg solvers and composites: solve, solve_triangular, lstsq, pinv,
matrix_rank, cond, cholesky_solve, cholesky_inverse.

Solvers are one ``xp.linalg`` call over the broadcast batch (a triangular solve is a general
solve of the masked triangle, or back substitution over the matrix dimension when that is
singular). pinv has its own backward; lstsq, cond and the Cholesky helpers compose
differentiable ops.
"""

# ruff: noqa: N803 - torch's argument names (A, B, L, UPLO, N)
from __future__ import annotations

import numpy as np

from dist_torch import return_types
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.autograd.grad_mode import no_grad
from dist_torch.backend import array_module
from dist_torch.ops._reduce import data_of, type_name
from dist_torch.ops.decompositions import (
    _INT32,
    _attempt,
    _raise_info,
    check_float,
    check_matrix,
    finish,
    linalg_inv_ex,
    lu_info,
    mT,
)
from dist_torch.ops.spectral import Svd, linalg_eigvalsh

__all__ = ["pinverse", "cholesky_solve", "cholesky_inverse"]

return_types.linalg_solve_ex = return_types.structseq("linalg_solve_ex", ("result", "info"))
return_types.linalg_lstsq = return_types.structseq(
    "linalg_lstsq", ("solution", "residuals", "rank", "singular_values"))


# --------------------------------------------------------------------------- solve


def solve_shapes(fname, a, b, eq="AX = B"):
    """torch's vector-or-matrix rule for ``B`` and its shape check; returns ``vector``."""
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    rows = b.shape[-1] if vector else b.shape[-2]
    if rows != a.shape[-1]:
        cols = 1 if vector else b.shape[-1]
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation {eq} "
                           f"({a.shape[-2]}x{a.shape[-1]} and {rows}x{cols})")
    return vector


def broadcast_solve_operands(a, b, vector):
    """Both operands broadcast to the common batch shape; ``b`` as ``(..., n, k)``."""
    xp = array_module(a)
    if vector:
        b = b[..., None]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return (xp.broadcast_to(a, batch + a.shape[-2:]),
            xp.broadcast_to(b, batch + b.shape[-2:]))


class Solve(Primitive):
    """``X = A^{-1} B``; backward ``gB = A^{-T} g`` and ``gA = -gB X^T``."""

    _name = "LinalgSolveExBackward0"
    _non_differentiable = (1,)

    def forward(ctx, a, b, vector=False):
        xp = array_module(a)
        a2, b2 = broadcast_solve_operands(a, b, vector)
        info = xp.zeros(a.shape[:-2], dtype=_INT32)   # A's batch shape, as torch
        if a2.size == 0 or b2.size == 0:
            x = xp.zeros(b2.shape, dtype=a.dtype)
        else:
            x = _attempt(xp.linalg.solve, a2, b2)
            if x is None or not bool(xp.isfinite(x).all()):
                info = lu_info(a)
                if x is None:
                    bad = (lu_info(a2) != 0)[..., None, None]
                    safe = xp.where(bad, xp.eye(a.shape[-1], dtype=a.dtype), a2)
                    x = xp.where(bad, xp.nan, xp.linalg.solve(safe, b2)).astype(a.dtype)
        ctx.vector = vector
        ctx.save_for_backward(a2, x)
        return (x[..., 0] if vector else x), info

    def backward(ctx, grad, _info=None):
        a, x = ctx.saved_tensors
        xp = array_module(a)
        if ctx.vector:
            grad = grad[..., None]
        gb = xp.linalg.solve(mT(a), xp.broadcast_to(grad, x.shape)) if x.size else \
            xp.zeros(x.shape, dtype=x.dtype)
        ga = -(gb @ mT(x))
        return ga, (gb[..., 0] if ctx.vector else gb)


def _solve_checked(fname, A, B, left):
    a = check_matrix(fname, A)
    b = data_of(B, fname.split(".")[-1])
    if a.dtype != b.dtype:
        raise RuntimeError(f"{fname}: Expected A and B to have the same dtype, but found A of "
                           f"type {type_name(a.dtype)} and B of type {type_name(b.dtype)} "
                           "instead")
    if not left:
        vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
        if vector:
            raise RuntimeError(f"{fname}: Vector broadcasting of the left hand side is not "
                               "supported for left=False. In this case linalg.solve is "
                               "equivalent to B / A.squeeze(-1)")
        if b.shape[-1] != a.shape[-1]:
            raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation "
                               f"XA = B ({b.shape[-2]}x{b.shape[-1]} and "
                               f"{a.shape[-2]}x{a.shape[-1]})")
        result, info = Solve.apply(A.mT, B.mT, vector=False)
        return result.mT, info
    if b.ndim < 1:
        raise RuntimeError(f"{fname}: The input tensor B must have at least 1 dimensions.")
    vector = solve_shapes(fname, a, b)
    return Solve.apply(A, B, vector=vector)


def linalg_solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """:func:`torch.linalg.solve` returning ``(result, info)`` instead of raising."""
    result, info = _solve_checked("linalg.solve", A, B, left)
    if check_errors:
        _raise_info("torch.linalg.solve_ex", info._data,
                    lambda i: "The solver failed because the input matrix is singular.")
    return finish("linalg_solve_ex", return_types.linalg_solve_ex((result, info)), out)


@autocast_op("linalg_solve")
def linalg_solve(A, B, *, left=True, out=None) -> Tensor:
    """Solve ``A X = B`` (or ``X A = B`` with ``left=False``) for square, invertible ``A``.

    ``B`` is a batch of vectors when it is 1-D or has exactly ``A``'s batch shape plus one
    dim; otherwise a batch of matrices. Batch dims broadcast.

    Example::

        >>> torch.linalg.solve(torch.tensor([[2., 0.], [0., 4.]]), torch.tensor([2., 2.]))
        tensor([1.0000, 0.5000])
    """
    result, info = _solve_checked("linalg.solve", A, B, left)
    _raise_info("torch.linalg.solve", info._data,
                lambda i: "The solver failed because the input matrix is singular.")
    return finish("linalg_solve", result, out)


# --------------------------------------------------------------------------- triangular

def _triangle(a, upper, unit):
    xp = array_module(a)
    if unit:
        n = a.shape[-1]
        return (xp.triu(a, 1) if upper else xp.tril(a, -1)) + xp.eye(n, dtype=a.dtype)
    return xp.triu(a) if upper else xp.tril(a)


def _substitute(t, b, upper):
    """Back (``upper``) or forward substitution, one matrix row at a time over the batch."""
    xp = array_module(t)
    n = t.shape[-1]
    x = xp.zeros(b.shape, dtype=b.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            acc = (t[..., i:i + 1, :] @ x)[..., 0, :]
            x[..., i, :] = (b[..., i, :] - acc) / t[..., i, i, None]
    return x


def _tri_solve(t, b, upper):
    xp = array_module(t)
    if t.size == 0 or b.size == 0:
        return xp.zeros(b.shape, dtype=b.dtype)
    x = _attempt(xp.linalg.solve, t, b)
    return _substitute(t, b, upper) if x is None else x


class SolveTriangular(Primitive):
    """``X = T^{-1} B`` for the ``upper`` or lower triangle ``T`` of ``A``; backward
    ``gB = T^{-T} g`` and ``gA = -gB X^T`` on the triangle."""

    _name = "LinalgSolveTriangularBackward0"

    def forward(ctx, a, b, upper=False, unitriangular=False):
        xp = array_module(a)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a = xp.broadcast_to(a, batch + a.shape[-2:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        t = _triangle(a, upper, unitriangular)
        x = _tri_solve(t, b, upper)
        ctx.upper, ctx.unit = upper, unitriangular
        ctx.save_for_backward(t, x)
        return x

    def backward(ctx, grad):
        t, x = ctx.saved_tensors
        xp = array_module(t)
        gb = _tri_solve(mT(t), grad, not ctx.upper)
        ga = -(gb @ mT(x))
        off = 1 if ctx.unit else 0
        ga = xp.triu(ga, off) if ctx.upper else xp.tril(ga, -off)
        return ga, gb


def linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """Solve ``A X = B`` (``left=False``: ``X A = B``) for triangular ``A``; only the
    ``upper`` or lower triangle is read (and with ``unitriangular`` not its diagonal)."""
    fname = "linalg.solve_triangular"
    a = check_matrix(fname, A)
    b = data_of(B, "linalg_solve_triangular")
    if b.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor B must have at least 2 dimensions.")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{fname}: Expected A and B to have the same dtype, but found A of "
                           f"type {type_name(a.dtype)} and B of type {type_name(b.dtype)} "
                           "instead")
    n = a.shape[-1]
    if (b.shape[-2] if left else b.shape[-1]) != n:
        eq, shapes = ("AX = B", (a.shape, b.shape)) if left else ("XA = B", (b.shape, a.shape))
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation {eq} "
                           f"({shapes[0][-2]}x{shapes[0][-1]} and {shapes[1][-2]}x"
                           f"{shapes[1][-1]})")
    if left:
        x = SolveTriangular.apply(A, B, upper=bool(upper), unitriangular=bool(unitriangular))
    else:
        x = SolveTriangular.apply(A.mT, B.mT, upper=not upper,
                                  unitriangular=bool(unitriangular)).mT
    return finish("linalg_solve_triangular", x, out)


class CholeskySolve(Primitive):
    """``X = A^{-1} B`` with ``A = L L^T`` (``U^T U``); backward as torch: ``gB = A^{-1} g``
    and ``gL = -(gB X^T + X gB^T) L`` (``-U (...)``), not restricted to the triangle."""

    _name = "CholeskySolveBackward0"

    def forward(ctx, b, low, upper=False):
        xp = array_module(b)
        batch = np.broadcast_shapes(b.shape[:-2], low.shape[:-2])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        low = xp.broadcast_to(low, batch + low.shape[-2:])
        ctx.upper = upper
        x = _chol_apply(low, b, upper)
        ctx.save_for_backward(low, x)
        return x

    def backward(ctx, grad):
        low, x = ctx.saved_tensors
        gb = _chol_apply(low, grad, ctx.upper)
        c = gb @ mT(x)
        c = c + mT(c)
        return gb, -(low @ c if ctx.upper else c @ low)


def _chol_apply(low, b, upper):
    """``(L L^T)^{-1} b`` (``(U^T U)^{-1} b``) by two triangular solves."""
    first = mT(low) if upper else low
    y = _tri_solve(_triangle(first, False, False), b, False)
    return _tri_solve(_triangle(mT(first), True, False), y, True)


@autocast_op("cholesky_solve")
def cholesky_solve(B, L, upper=False, *, out=None) -> Tensor:
    """Solve ``A X = B`` given the Cholesky factor ``L`` of ``A`` (``A = L L^T``, or
    ``U^T U`` with ``upper``); batch dims broadcast."""
    b, low = data_of(B, "cholesky_solve"), data_of(L, "cholesky_solve")
    for data, name in ((b, "b"), (low, "A")):
        if data.ndim < 2:
            raise RuntimeError(f"{name} should have at least 2 dimensions, but has "
                               f"{data.ndim} dimensions instead")
    if low.shape[-1] != low.shape[-2] or low.shape[-1] != b.shape[-2]:
        raise RuntimeError("Incompatible matrix sizes for cholesky_solve: each A matrix is "
                           f"{low.shape[-2]} by {low.shape[-1]} but each b matrix is "
                           f"{b.shape[-2]} by {b.shape[-1]}")
    check_float("cholesky_solve", b)
    return finish("cholesky_solve", CholeskySolve.apply(B, L, upper=bool(upper)), out)


@autocast_op("cholesky_inverse")
def cholesky_inverse(L, upper=False, *, out=None) -> Tensor:
    """Inverse of ``A = L L^T`` (``U^T U`` with ``upper``) from its Cholesky factor."""
    low = check_matrix("cholesky_inverse", L, floating=False)
    check_float("cholesky_inverse", low)
    eye = _wrap(array_module(low).eye(low.shape[-1], dtype=low.dtype))
    return finish("cholesky_inverse", CholeskySolve.apply(eye, L, upper=bool(upper)), out)


# --------------------------------------------------------------------------- least squares

_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _default_rtol(data):
    return float(np.finfo(data.dtype).eps) * max(data.shape[-2:])


@autocast_op("linalg_lstsq")
def linalg_lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution of ``A X = B`` (the minimum-norm one for rank-deficient ``A``),
    as ``(solution, residuals, rank, singular_values)`` per torch's CPU driver rules.

    ``rank`` is computed for drivers other than 'gels', ``singular_values`` for 'gelsd' and
    'gelss', ``residuals`` (``|AX - B|^2`` per column; a vector ``B`` counts as one column)
    when ``m > n`` and the driver is 'gels', or 'gelsd'/'gelss' with full-rank ``A``.
    The solution is differentiable (pinv-based, full-rank inputs).
    """
    fname = "torch.linalg.lstsq"
    a = check_matrix("linalg.lstsq", A, square=False)
    b = data_of(B, "linalg_lstsq")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{fname}: Expected input and other to have the same dtype, but got "
                           f"input's dtype {type_name(a.dtype)} and other's dtype "
                           f"{type_name(b.dtype)}")
    diff = a.ndim - b.ndim
    if not 0 <= diff <= 1:
        raise RuntimeError(f"{fname}: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = diff == 1
    if (b.shape[-1] if vector else b.shape[-2]) != a.shape[-2]:
        which = "other.size(-1)" if vector else "other.size(-2)"
        raise RuntimeError(f"{fname}: input.size(-2) should match {which}")
    if driver is None:
        driver = "gelsy" if A.device.type == "cpu" else "gels"
    if A.device.type == "cpu" and driver not in _DRIVERS:
        raise RuntimeError(f"{fname}: parameter `driver` should be one of "
                           f"({', '.join(_DRIVERS)})")
    if A.device.type != "cpu" and driver != "gels":
        raise RuntimeError(f"{fname}: `driver` other than `gels` is not supported on CUDA")
    rtol = _default_rtol(a) if rcond is None or rcond <= 0 else float(rcond)
    xp = array_module(a)
    m, n = a.shape[-2:]
    with no_grad():
        s = Svd.apply(A, uv=False)._data
    rank = xp.asarray((s > rtol * s[..., :1]).sum(-1), dtype=np.int64)
    rhs = B.unsqueeze(-1) if vector else B
    x = linalg_pinv(A, rtol=rtol) @ rhs
    empty = _wrap(xp.empty((0,), dtype=a.dtype))
    residuals = x.reshape(-1)[:0]   # empty, but attached to the graph as torch's
    if m > n and (driver == "gels" or driver != "gelsy" and bool((rank == n).all())):
        residuals = ((A @ x - rhs) ** 2).sum(-2)
    rank_t = _wrap(xp.empty((0,), dtype=np.int64) if driver == "gels" else rank)
    svals = _wrap(s) if driver in ("gelsd", "gelss") else empty
    return return_types.linalg_lstsq((x.squeeze(-1) if vector else x, residuals, rank_t,
                                      svals))


# --------------------------------------------------------------------------- pinv, rank, cond

def _norm(M, p):
    from dist_torch.ops.linalg_norm import matrix_norm
    return Svd.apply(M, uv=False).sum(-1) if p == "nuc" else matrix_norm(M, p)


def _tolerance(xp, data, top, atol, rtol):
    """``max(atol, rtol * top)`` with torch's defaults (rtol = eps * max(m, n) unless a
    positive atol is given)."""
    def arr(v):
        return v._data if isinstance(v, Tensor) else xp.asarray(v, dtype=data.dtype)
    default = xp.asarray(_default_rtol(data), dtype=data.dtype)
    if rtol is not None:
        r = arr(rtol)
    elif atol is not None:
        r = xp.where(arr(atol) > 0, xp.zeros((), data.dtype), default)
    else:
        r = default
    tol = r * top
    return tol if atol is None else xp.maximum(arr(atol), tol)


class Pinv(Primitive):
    """Moore-Penrose pseudo-inverse; backward ``-P^T g P^T + (I - AP) g^T P P^T
    + P^T P g^T (I - PA)``."""

    _name = "LinalgPinvBackward0"

    def forward(ctx, a, atol=None, rtol=None, hermitian=False):
        xp = array_module(a)
        m, n = a.shape[-2:]
        if a.size == 0:
            p = xp.zeros(a.shape[:-2] + (n, m), dtype=a.dtype)
        elif hermitian:
            w, v = xp.linalg.eigh(a)
            aw = xp.abs(w)
            tol = _tolerance(xp, a, aw.max(-1), atol, rtol)
            keep = aw > tol[..., None]
            inv = xp.where(keep, 1 / xp.where(keep, w, 1), 0)
            p = (v * inv[..., None, :]) @ mT(v)
        else:
            u, s, vh = xp.linalg.svd(a, full_matrices=False)
            tol = _tolerance(xp, a, s[..., 0], atol, rtol)
            keep = s > tol[..., None]
            inv = xp.where(keep, 1 / xp.where(keep, s, 1), 0)
            p = mT(vh) @ (inv[..., :, None] * mT(u))
        p = p.astype(a.dtype, copy=False)
        ctx.save_for_backward(a, p)
        return p

    def backward(ctx, grad):
        a, p = ctx.saved_tensors
        gt = mT(grad)
        pt = mT(p)
        return (-(pt @ grad @ pt) + (gt - a @ (p @ gt)) @ (p @ pt)
                + (pt @ p) @ (gt - (gt @ p) @ a))


def _check_pinv_dtype(fname, data):
    if data.ndim < 2 or data.dtype.kind != "f" or data.itemsize < 4:
        name = type_name(data.dtype)
        raise RuntimeError(f"{fname}({name}{{{list(data.shape)}}}): expected a tensor with 2 or "
                           "more dimensions of float, double, cfloat or cdouble types")


def linalg_pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None, out=None) -> Tensor:
    """Pseudo-inverse from the SVD (``hermitian``: from ``eigh``); singular values at or below
    ``max(atol, rtol * largest)`` are dropped. ``rcond`` is the old name of ``rtol``."""
    _check_pinv_dtype("linalg.pinv", data_of(A, "linalg_pinv"))
    if rcond is not None:
        if atol is not None or rtol is not None:
            raise TypeError("linalg_pinv() received an invalid combination of arguments: "
                            "rcond with atol/rtol")
        rtol = rcond
    result = Pinv.apply(A, atol=atol, rtol=rtol, hermitian=bool(hermitian))
    return finish("linalg_pinv", result, out)


@autocast_op("pinverse")
def pinverse(input, rcond=1e-15) -> Tensor:
    """``torch.pinverse``: :func:`torch.linalg.pinv` with ``rtol=rcond``."""
    return linalg_pinv(input, rtol=rcond)


@autocast_op("linalg_matrix_rank")
def linalg_matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None,
                       out=None) -> Tensor:
    """Number of singular values (``hermitian``: |eigenvalues|) above
    ``max(atol, rtol * largest)``; int64 with the batch shape. ``tol`` means ``atol``."""
    data = data_of(A, "linalg_matrix_rank")
    if data.dtype.kind != "f" or data.itemsize < 4:
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    check_matrix("linalg.matrix_rank", A, square=bool(hermitian))
    xp = array_module(data)
    with no_grad():
        if hermitian:
            s = xp.abs(linalg_eigvalsh(A)._data)
            top = s.max(-1) if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
        else:
            s = Svd.apply(A, uv=False)._data
            top = s[..., 0] if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
    tol_arr = _tolerance(xp, data, top, atol, rtol)
    rank = xp.asarray((s > tol_arr[..., None]).sum(-1), dtype=np.int64)
    return finish("linalg_matrix_rank", _wrap(rank), out)


@autocast_op("linalg_cond")
def linalg_cond(A, p=None, *, out=None) -> Tensor:
    """Condition number in the ``p`` norm: ``sigma_max / sigma_min`` for None/2 (-2: the
    inverse); otherwise ``norm(A, p) * norm(inv(A), p)`` (square input; inf if singular)."""
    check_matrix("linalg.cond", A, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = Svd.apply(A, uv=False)
        big, small = s[..., 0], s[..., -1]
        result = big / small if p != -2 else small / big
    else:
        inv, info = linalg_inv_ex(A)
        result = _norm(A, p) * _norm(inv, p)
        xp = array_module(result._data)
        result = result.where(_wrap(info._data == 0), _wrap(xp.asarray(np.inf, result._data
                                                                        .dtype)))
    return finish("linalg_cond", result, out)


bind_methods({"pinverse": pinverse, "cholesky_solve": cholesky_solve,
              "cholesky_inverse": cholesky_inverse})
