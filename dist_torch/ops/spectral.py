"""torch.linalg spectral decompositions: svd, svdvals, eigh, eigvalsh (and ``torch.svd``),
with torch's batch dims, errors and gradients.

Each is one ``xp.linalg`` call over the whole batch; backward formulas are the standard real
ones torch uses. The checks and the other factorizations are in
:mod:`dist_torch.ops.decompositions`.
"""

# ruff: noqa: N803 - torch's argument names (A, UPLO)
from __future__ import annotations

from dist_torch import return_types
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops.decompositions import check_matrix, finish, mT

__all__ = ["svd"]

for _name, _fields in (("linalg_svd", ("U", "S", "Vh")), ("svd", ("U", "S", "V")),
                       ("linalg_eigh", ("eigenvalues", "eigenvectors"))):
    setattr(return_types, _name, return_types.structseq(_name, _fields))


# --------------------------------------------------------------------------- svd

def _eye_batch(xp, batch, rows, cols, dtype):
    return xp.zeros(batch + (rows, cols), dtype) + xp.eye(rows, cols, dtype=dtype)


def _off_diagonal_one(xp, e):
    n = e.shape[-1]
    return xp.where(xp.eye(n, dtype=bool), 1, e)


class Svd(Primitive):
    """``(U, S, Vh)`` of ``A = U diag(S) Vh`` (``uv=False``: ``S`` alone). Backward is torch's
    real formula; with ``full_matrices`` only the first ``k = min(m, n)`` singular vectors
    matter, as in torch."""

    _name = "LinalgSvdBackward0"

    def forward(ctx, a, full_matrices=False, uv=True):
        xp = array_module(a)
        m, n = a.shape[-2:]
        k = min(m, n)
        batch = a.shape[:-2]
        need = uv or ctx.needs_input_grad[0]
        u = vh = None
        if a.size == 0:
            s = xp.zeros(batch + (k,), a.dtype)
            u = _eye_batch(xp, batch, m, m if full_matrices else k, a.dtype)
            vh = _eye_batch(xp, batch, n if full_matrices else k, n, a.dtype)
        elif need:
            u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        else:
            s = xp.linalg.svd(a, compute_uv=False)
        ctx.uv = uv
        if need:
            ctx.save_for_backward(u[..., :k], s, vh[..., :k, :])
        return (u, s, vh) if uv else s

    def backward(ctx, *grads):
        u, s, vh = ctx.saved_tensors
        xp = array_module(s)
        gu, gs, gvh = grads if ctx.uv else (None, grads[0], None)
        k = s.shape[-1]
        m, n = u.shape[-2], vh.shape[-1]
        if gu is None and gvh is None:
            return (u * gs[..., None, :]) @ vh
        s2 = s * s
        e = _off_diagonal_one(xp, s2[..., None, :] - s2[..., :, None])
        inner = xp.zeros(s.shape + (k,), s.dtype)
        if gs is not None:
            inner = inner + gs[..., None] * xp.eye(k, dtype=s.dtype)
        if gu is not None:
            gu = gu[..., :k]
            uhgu = mT(u) @ gu
            inner = inner + ((uhgu - mT(uhgu)) / e) * s[..., None, :]
        if gvh is not None:
            gvh = gvh[..., :k, :]
            vhgv = vh @ mT(gvh)
            inner = inner + s[..., :, None] * ((vhgv - mT(vhgv)) / e)
        ga = u @ inner @ vh
        if m > k and gu is not None:
            ga = ga + ((gu - u @ uhgu) / s[..., None, :]) @ vh
        if n > k and gvh is not None:
            ga = ga + u @ ((gvh - mT(vhgv) @ vh) / s[..., :, None])
        return ga


def _svd_driver(fname, A, driver):
    if driver is not None and A.device.type != "cuda":
        raise RuntimeError(f"torch.{fname}: keyword argument `driver=` is only supported on "
                           "CUDA inputs with cuSOLVER backend.")


@autocast_op("linalg_svd")
def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    """Singular value decomposition ``A = U diag(S) Vh`` (``S`` descending).

    Args:
        full_matrices: ``U`` is ``m x m`` and ``Vh`` ``n x n`` (else ``m x k``, ``k x n``).
        driver: accepted on CUDA only (cuSOLVER's choice is CuPy's), as torch.
    """
    check_matrix("linalg.svd", A, square=False)
    _svd_driver("linalg.svd", A, driver)
    u, s, vh = Svd.apply(A, full_matrices=bool(full_matrices), uv=True)
    return finish("linalg_svd", return_types.linalg_svd((u, s, vh)), out)


@autocast_op("linalg_svdvals")
def linalg_svdvals(A, *, driver=None, out=None) -> Tensor:
    """Singular values of ``A`` (descending), differentiable."""
    check_matrix("linalg.svd", A, square=False)
    _svd_driver("linalg.svd", A, driver)
    return finish("linalg_svdvals", Svd.apply(A, uv=False), out)


@autocast_op("svd")
def svd(input, some=True, compute_uv=True, *, out=None):
    """``torch.svd``: ``(U, S, V)`` with ``V`` (not ``Vh``); ``some=False`` gives square
    ``U`` and ``V``; ``compute_uv=False`` gives zero-filled ``U`` (m x m) and ``V`` (n x n)."""
    check_matrix("linalg.svd", input, square=False)
    if compute_uv:
        u, s, vh = Svd.apply(input, full_matrices=not some, uv=True)
        result = return_types.svd((u, s, vh.mT))
    else:
        s = Svd.apply(input, uv=False)
        xp = array_module(s._data)
        m, n = input.shape[-2:]
        batch = tuple(input.shape[:-2])
        result = return_types.svd((_wrap(xp.zeros(batch + (m, m), s._data.dtype)), s,
                                   _wrap(xp.zeros(batch + (n, n), s._data.dtype))))
    return finish("svd", result, out)


# --------------------------------------------------------------------------- eigh

class Eigh(Primitive):
    """``(eigenvalues, eigenvectors)`` of a symmetric matrix (``uplo`` triangle read);
    backward ``V (diag(gL) + (V^T gV) / E) V^T`` with ``E_ij = L_j - L_i``, symmetrized as
    torch does."""

    _name = "LinalgEighBackward0"

    def forward(ctx, a, uplo="L", vectors=True):
        xp = array_module(a)
        if a.size == 0:
            w = xp.zeros(a.shape[:-1], a.dtype)
            v = xp.zeros(a.shape, a.dtype)
        else:
            w, v = xp.linalg.eigh(a, UPLO=uplo)
        ctx.vectors = vectors
        ctx.save_for_backward(w, v)
        return (w, v) if vectors else w

    def backward(ctx, gl, gv=None):
        w, v = ctx.saved_tensors
        xp = array_module(w)
        n = w.shape[-1]
        eye = xp.eye(n, dtype=w.dtype)
        inner = xp.zeros(w.shape + (n,), w.dtype)
        if gv is not None:
            e = _off_diagonal_one(xp, w[..., None, :] - w[..., :, None])
            inner = ((mT(v) @ gv) / e) * (1 - eye)
        if gl is not None:
            inner = inner + gl[..., None] * eye
        ga = v @ inner @ mT(v)
        return 0.5 * (ga + mT(ga))


def _uplo(UPLO):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO


@autocast_op("linalg_eigh")
def linalg_eigh(A, UPLO="L", *, out=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices; only the
    ``UPLO`` ('L' or 'U') triangle of ``A`` is read."""
    check_matrix("linalg.eigh", A)
    w, v = Eigh.apply(A, uplo=_uplo(UPLO), vectors=True)
    return finish("linalg_eigh", return_types.linalg_eigh((w, v)), out)


@autocast_op("linalg_eigvalsh")
def linalg_eigvalsh(A, UPLO="L", *, out=None) -> Tensor:
    """Eigenvalues (ascending) of symmetric matrices, differentiable."""
    check_matrix("linalg.eigh", A)
    return finish("linalg_eigvalsh", Eigh.apply(A, uplo=_uplo(UPLO), vectors=False), out)


bind_methods({"svd": svd})
