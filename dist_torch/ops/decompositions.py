"""torch.linalg factorizations: inv, det, slogdet, cholesky, qr (and their ``_ex`` forms),
with torch's batch dims, errors and gradients, and the checks the other linalg ops share.

Each factorization is one ``xp.linalg`` call over the whole batch. A failure (singular or
non-positive-definite input) is detected from NumPy's LinAlgError or a non-finite / non-positive
result (cuSOLVER does not raise), and only then diagnosed by a small LU or Cholesky written
here (a loop over the matrix dimension, vectorized over the batch), which gives LAPACK's
``info`` for torch's message. Backward formulas are the standard real ones torch uses.
svd and eigh are in :mod:`dist_torch.ops.spectral`; the solvers and composites (pinv, lstsq,
matrix_exp, ...) in :mod:`dist_torch.ops.solvers`.
"""

# ruff: noqa: N803 - torch's argument names (A, B, L, UPLO, N)
from __future__ import annotations

import math

import numpy as np

from dist_torch import return_types
from dist_torch._device import device
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module, to_device
from dist_torch.ops._reduce import data_of, is_floating, type_name, write_out

__all__ = ["det", "logdet", "slogdet", "inverse", "cholesky", "qr", "pinverse",
           "matrix_power", "matrix_exp", "cholesky_solve", "cholesky_inverse", "cross"]

_INT32 = np.dtype(np.int32)

for _name, _fields in (("linalg_inv_ex", ("inverse", "info")),
                       ("linalg_slogdet", ("sign", "logabsdet")),
                       ("slogdet", ("sign", "logabsdet")),
                       ("linalg_cholesky_ex", ("L", "info")),
                       ("linalg_qr", ("Q", "R")), ("qr", ("Q", "R"))):
    setattr(return_types, _name, return_types.structseq(_name, _fields))


class LinAlgError(RuntimeError):
    """Raised for singular or non-positive-definite input (``torch.linalg.LinAlgError``)."""


LinAlgError.__module__ = "torch.linalg"


# --------------------------------------------------------------------------- checks

def mT(a):
    return a.swapaxes(-1, -2)


def check_matrix(fname, A, argname="A", square=True, floating=True):
    """``A``'s array after torch's checks: >= 2 dims, square, a float32/float64 dtype."""
    data = data_of(A, fname.split(".")[-1])
    if data.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor {argname} must have at least 2 "
                           "dimensions.")
    if square and data.shape[-1] != data.shape[-2]:
        raise RuntimeError(f"{fname}: {argname} must be batches of square matrices, but they "
                           f"are {data.shape[-2]} by {data.shape[-1]} matrices")
    if floating:
        check_float(fname, data)
    return data


def check_float(fname, data):
    if data.dtype.kind == "f" and data.itemsize >= 4:
        return
    if is_floating(data.dtype):
        raise RuntimeError(f"{fname}: Low precision dtypes not supported. Got "
                           f"{type_name(data.dtype)}")
    raise RuntimeError(f"{fname}: Expected a floating point or complex tensor as input. Got "
                       f"{type_name(data.dtype)}")


def finish(fname, result, out):
    return result if out is None else write_out(fname, result, out)


def _raise_info(fname, info, text):
    """torch's LinAlgError for the first failed batch element (``text`` takes the info)."""
    flat = to_device(info, device("cpu")).reshape(-1)
    bad = np.flatnonzero(flat)
    if not bad.size:
        return
    k = int(bad[0])
    where = f"(Batch element {k}): " if info.ndim else ""
    raise LinAlgError(f"{fname}: {where}{text(int(flat[k]))}")


def _singular_text(i):
    return (f"The diagonal element {i} is zero, the inversion could not be completed because "
            "the input matrix is singular.")


def _not_pd_text(i):
    return ("The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {i} is not positive-definite).")


def lu_info(a):
    """LAPACK getrf's ``info`` per matrix (1-based index of the first zero pivot, else 0) from
    an LU with partial pivoting; int32 with the batch shape."""
    xp = array_module(a)
    n = a.shape[-1]
    batch = a.shape[:-2]
    w = a.reshape((-1, n, n)).astype(a.dtype, copy=True)
    rows = xp.arange(w.shape[0])
    info = xp.zeros(w.shape[0], dtype=_INT32)
    for k in range(n):
        p = xp.argmax(xp.abs(w[:, k:, k]), axis=1) + k
        top = w[rows, p].copy()
        w[rows, p] = w[:, k]
        w[:, k] = top
        piv = w[:, k, k]
        info = xp.where((piv == 0) & (info == 0), k + 1, info).astype(_INT32)
        col = w[:, k + 1:, k] / xp.where(piv == 0, 1, piv)[:, None]
        w[:, k + 1:, k + 1:] -= col[:, :, None] * w[:, k, None, k + 1:]
    return info.reshape(batch)


def cholesky_info(a):
    """LAPACK potrf's ``info`` per matrix (order of the first leading minor that is not
    positive-definite, else 0), reading the lower triangle; int32 with the batch shape."""
    xp = array_module(a)
    n = a.shape[-1]
    w = a.reshape((-1, n, n))
    low = xp.zeros_like(w)
    info = xp.zeros(w.shape[0], dtype=_INT32)
    for j in range(n):
        d = w[:, j, j] - (low[:, j, :j] ** 2).sum(-1)
        bad = ~(d > 0)
        info = xp.where(bad & (info == 0), j + 1, info).astype(_INT32)
        dj = xp.sqrt(xp.where(bad, 1, d))
        low[:, j, j] = dj
        low[:, j + 1:, j] = (w[:, j + 1:, j] - (low[:, j + 1:, :j] * low[:, j, None, :j])
                             .sum(-1)) / dj[:, None]
    return info.reshape(a.shape[:-2])


def _attempt(fn, *args):
    """``fn(*args)``, or None where NumPy raises LinAlgError (CuPy never does)."""
    xp = array_module(args[0])
    try:
        return fn(*args)
    except xp.linalg.LinAlgError:
        return None


# --------------------------------------------------------------------------- inv, det, slogdet

def _inv_array(a):
    """``(inverse, info)``; singular matrices come back as NaN with their info set."""
    xp = array_module(a)
    n = a.shape[-1]
    if a.size == 0:
        return xp.empty_like(a), xp.zeros(a.shape[:-2], dtype=_INT32)
    out = _attempt(xp.linalg.inv, a)
    if out is not None and bool(xp.isfinite(out).all()):
        return out, xp.zeros(a.shape[:-2], dtype=_INT32)
    info = lu_info(a)
    if out is None:
        bad = (info != 0)[..., None, None]
        out = xp.linalg.inv(xp.where(bad, xp.eye(n, dtype=a.dtype), a))
        out = xp.where(bad, xp.nan, out).astype(a.dtype, copy=False)
    return out, info


class Inv(Primitive):
    """``A^{-1}``; backward ``-A^{-T} g A^{-T}``."""

    _name = "LinalgInvExBackward0"
    _non_differentiable = (1,)

    def forward(ctx, a):
        out, info = _inv_array(a)
        ctx.save_for_backward(out)
        return out, info

    def backward(ctx, grad, _info=None):
        (inv,) = ctx.saved_tensors
        return -(mT(inv) @ grad @ mT(inv))


class Det(Primitive):
    """``det(A)``; backward ``g det(A) A^{-T}`` (the cofactor matrix, from the SVD where A is
    singular)."""

    _name = "LinalgDetBackward0"

    def forward(ctx, a):
        xp = array_module(a)
        out = xp.linalg.det(a).astype(a.dtype, copy=False) if a.shape[-1] else \
            xp.ones(a.shape[:-2], dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, d = ctx.saved_tensors
        return grad[..., None, None] * cofactor(a, d)


def cofactor(a, d):
    """``det(A) A^{-T}``, valid for singular ``A`` too (via ``A = U S V^T``)."""
    xp = array_module(a)
    singular = d == 0
    n = a.shape[-1]
    if n == 0:
        return xp.zeros_like(a)
    if not bool(singular.any()):
        return d[..., None, None] * mT(xp.linalg.inv(a))
    u, s, vh = xp.linalg.svd(a)
    ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    left = xp.cumprod(xp.concatenate([ones, s[..., :-1]], -1), -1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(s, -1)[..., :-1]], -1), -1), -1)
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    via_svd = sign[..., None, None] * ((u * (left * right)[..., None, :]) @ vh)
    safe = xp.where(singular[..., None, None], xp.eye(n, dtype=a.dtype), a)
    via_inv = d[..., None, None] * mT(xp.linalg.inv(safe))
    return xp.where(singular[..., None, None], via_svd, via_inv)


class Slogdet(Primitive):
    """``(sign, log|det A|)``; backward of logabsdet is ``g A^{-T}``."""

    _name = "LinalgSlogdetBackward0"   # sign is an output with a zero gradient, as in torch

    def forward(ctx, a):
        xp = array_module(a)
        if a.shape[-1] == 0:
            sign, logabs = xp.ones(a.shape[:-2], a.dtype), xp.zeros(a.shape[:-2], a.dtype)
        else:
            sign, logabs = xp.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return sign.astype(a.dtype, copy=False), logabs.astype(a.dtype, copy=False)

    def backward(ctx, _gsign, grad):
        (a,) = ctx.saved_tensors
        xp = array_module(a)
        if grad is None:
            return None
        inv = _attempt(xp.linalg.inv, a)
        if inv is None:
            inv = xp.full(a.shape, xp.nan, dtype=a.dtype)
        return grad[..., None, None] * mT(inv)


@autocast_op("linalg_inv_ex")
def linalg_inv_ex(A, *, check_errors=False, out=None):
    """Inverse of square matrices with an ``info`` tensor instead of an error (int32, per
    matrix: the first zero pivot of the LU, 1-based; 0 when invertible)."""
    return finish("linalg_inv_ex", _inv_ex(A, check_errors, "linalg.inv_ex"), out)


def _inv_ex(A, check_errors, fname):
    check_matrix("linalg.inv", A)
    inverse, info = Inv.apply(A)
    if check_errors:
        _raise_info(fname, info._data, _singular_text)
    return return_types.linalg_inv_ex((inverse, info))


@autocast_op("linalg_inv")
def linalg_inv(A, *, out=None) -> Tensor:
    """Inverse of a square matrix (or each matrix of a batch).

    Raises :class:`torch.linalg.LinAlgError` for a singular matrix.

    Example::

        >>> torch.linalg.inv(torch.tensor([[2., 0.], [0., 4.]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    return finish("linalg_inv", _inv_ex(A, True, "linalg.inv").inverse, out)


@autocast_op("inverse")
def inverse(input, *, out=None) -> Tensor:
    """``torch.inverse``: alias of :func:`torch.linalg.inv`."""
    return linalg_inv(input, out=out)


def linalg_det(A, *, out=None) -> Tensor:
    """Determinant of square matrices (batch dims kept; 0 for singular ones)."""
    check_matrix("linalg.det", A)
    return finish("linalg_det", Det.apply(A), out)


def det(input) -> Tensor:
    """``torch.det``: alias of :func:`torch.linalg.det`."""
    return linalg_det(input)


def linalg_slogdet(A, *, out=None):
    """``(sign, logabsdet)`` of ``det(A)``: sign is 0 and logabsdet -inf for singular input."""
    check_matrix("linalg.slogdet", A)
    sign, logabs = Slogdet.apply(A)
    return finish("linalg_slogdet", return_types.linalg_slogdet((sign, logabs)), out)


def slogdet(input, *, out=None):
    """``torch.slogdet``: :func:`torch.linalg.slogdet` as ``torch.return_types.slogdet``."""
    result = return_types.slogdet(tuple(linalg_slogdet(input)))
    return finish("slogdet", result, out)


def logdet(input) -> Tensor:
    """``log(det(input))``: NaN for a negative determinant, -inf for zero."""
    sign, logabs = linalg_slogdet(input)
    nan = _wrap(array_module(logabs._data).asarray(math.nan, dtype=logabs._data.dtype))
    return logabs.where(sign >= 0, nan)


# --------------------------------------------------------------------------- cholesky

def _phi(x):
    """Lower triangle with the diagonal halved."""
    xp = array_module(x)
    out = xp.tril(x)
    return out - 0.5 * xp.tril(xp.triu(x))


class Cholesky(Primitive):
    """``L`` with ``A = L L^T`` (from A's lower triangle; ``upper``: ``U = L^T`` from the
    upper one). Backward: ``S = L^{-T} phi(L^T gL) L^{-1}``, symmetrized."""

    _name = "LinalgCholeskyExBackward0"
    _non_differentiable = (1,)

    def forward(ctx, a, upper=False):
        xp = array_module(a)
        if upper:
            a = mT(a)
        sym = xp.tril(a) + mT(xp.tril(a, -1))
        low = _attempt(xp.linalg.cholesky, sym) if a.size else xp.zeros_like(a)
        info = xp.zeros(a.shape[:-2], dtype=_INT32)
        if low is None or not bool((xp.diagonal(low, 0, -2, -1) > 0).all()):
            info = cholesky_info(sym)
            bad = (info != 0)[..., None, None]
            safe = xp.where(bad, xp.eye(a.shape[-1], dtype=a.dtype), sym)
            low = xp.where(bad, xp.nan, xp.linalg.cholesky(safe)).astype(a.dtype)
        low = xp.tril(low)
        ctx.upper = upper
        ctx.save_for_backward(low)
        return (mT(low).copy() if upper else low), info

    def backward(ctx, grad, _info=None):
        (low,) = ctx.saved_tensors
        xp = array_module(low)
        g = mT(grad) if ctx.upper else grad
        g = xp.tril(g)
        inv = xp.linalg.inv(low)
        s = mT(inv) @ _phi(mT(low) @ g) @ inv
        return 0.5 * (s + mT(s))


@autocast_op("linalg_cholesky_ex")
def linalg_cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """:func:`torch.linalg.cholesky` returning ``(L, info)``: info is the order of the first
    leading minor that is not positive-definite (0 on success)."""
    result = _cholesky_ex(A, upper, check_errors, "linalg.cholesky_ex")
    return finish("linalg_cholesky_ex", result, out)


def _cholesky_ex(A, upper, check_errors, fname):
    check_matrix("linalg.cholesky", A)
    low, info = Cholesky.apply(A, upper=bool(upper))
    if check_errors:
        _raise_info(fname, info._data, _not_pd_text)
    return return_types.linalg_cholesky_ex((low, info))


@autocast_op("linalg_cholesky")
def linalg_cholesky(A, *, upper=False, out=None) -> Tensor:
    """Cholesky factor ``L`` (lower) of symmetric positive-definite matrices, ``A = L L^T``;
    ``upper=True`` returns ``U = L^T``. Only the lower (upper) triangle of ``A`` is read.

    Raises :class:`torch.linalg.LinAlgError` for non-positive-definite input.
    """
    low = _cholesky_ex(A, upper, True, "linalg.cholesky").L
    return finish("linalg_cholesky", low, out)


# --------------------------------------------------------------------------- qr

def _copyltu(m):
    xp = array_module(m)
    low = xp.tril(m, -1)
    return low + mT(low) + xp.tril(xp.triu(m))


def _qr_square_backward(q, r, gq, gr):
    """VJP of ``A = QR`` for ``m >= n`` (reduced): ``(gQ + Q copyltu(M)) R^{-T}`` with
    ``M = R gR^T - gQ^T Q``."""
    xp = array_module(q)
    m = r @ mT(gr) - mT(gq) @ q
    b = gq + q @ _copyltu(m)
    return mT(xp.linalg.solve(r, mT(b)))


class Qr(Primitive):
    """``(Q, R)`` of ``A = QR``; differentiable for mode 'reduced' (any shape) and 'complete'
    when ``m <= n``, as torch."""

    _name = "LinalgQrBackward0"

    def forward(ctx, a, mode="reduced"):
        xp = array_module(a)
        m, n = a.shape[-2:]
        if a.size == 0:
            k = m if mode == "complete" else min(m, n)
            q = xp.zeros(a.shape[:-2] + (m, k), a.dtype) + xp.eye(m, k, dtype=a.dtype)
            r = xp.zeros(a.shape[:-2] + (k, n), a.dtype)
        else:
            q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        ctx.mode, ctx.shape = mode, (m, n)
        ctx.save_for_backward(q, r)
        if mode == "r":
            return xp.empty((0,), dtype=a.dtype), r
        return q, r

    def backward(ctx, gq, gr):
        q, r = ctx.saved_tensors
        xp = array_module(q)
        m, n = ctx.shape
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        gq = xp.zeros_like(q) if gq is None else gq
        gr = xp.zeros_like(r) if gr is None else gr
        if m >= n:
            return _qr_square_backward(q, r, gq, gr)
        # A = [X | Y] with X = Q U square and Y = Q V: V's dependence on Q adds Y gV^T to gQ
        gv = gr[..., :, m:]
        y = q @ r[..., :, m:]
        ga_x = _qr_square_backward(q, r[..., :, :m], gq + y @ mT(gv), gr[..., :, :m])
        return xp.concatenate([ga_x, q @ gv], axis=-1)


@autocast_op("linalg_qr")
def linalg_qr(A, mode="reduced", *, out=None):
    """QR decomposition ``A = QR`` (``Q`` orthonormal columns, ``R`` upper triangular).

    Args:
        mode: ``'reduced'`` (``Q`` is ``m x k``, ``k = min(m, n)``), ``'complete'`` (``Q`` is
            ``m x m``) or ``'r'`` (only ``R``; ``Q`` is empty).
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    check_matrix("linalg.qr", A, square=False)
    q, r = Qr.apply(A, mode=mode)
    return finish("linalg_qr", return_types.linalg_qr((q, r)), out)


@autocast_op("qr")
def qr(input, some=True, *, out=None):
    """``torch.qr``: :func:`torch.linalg.qr` with ``some=False`` meaning mode 'complete'."""
    q, r = linalg_qr(input, "reduced" if some else "complete")
    return finish("qr", return_types.qr((q, r)), out)


@autocast_op("cholesky")
def cholesky(input, upper=False, *, out=None) -> Tensor:
    """``torch.cholesky`` (deprecated in torch): :func:`torch.linalg.cholesky`."""
    return linalg_cholesky(input, upper=upper, out=out)


# torch.* aliases defined with the solvers and matrix functions (they import this module)
from dist_torch.ops.matrix_functions import (  # noqa: E402
    cross,
    matrix_exp,
    matrix_power,
)
from dist_torch.ops.solvers import cholesky_inverse, cholesky_solve, pinverse  # noqa: E402

bind_methods({
    "det": det, "logdet": logdet, "slogdet": slogdet, "inverse": inverse,
    "cholesky": cholesky, "qr": qr,
})
