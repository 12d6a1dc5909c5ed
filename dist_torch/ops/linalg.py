"""Matrix products: matmul and ``@``, mm, bmm, mv, dot, vdot, outer, the add* fused forms.

Operands must share a dtype (torch does not promote matrix products, except in outer and
addr); the checks run in torch's order and raise its messages. The Primitives and checks live
in :mod:`dist_torch.ops._matmul`; einsum, tensordot and inner in :mod:`dist_torch.ops.einsum`.
"""

from __future__ import annotations

import math

import numpy as np

from dist_torch._broadcast import broadcast_shapes
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.backend import array_module
from dist_torch.ops._matmul import (
    Addbmm,
    Addmm,
    Addmv,
    Addr,
    Baddbmm,
    Bmm,
    Dot,
    Matmul,
    Mm,
    Mv,
    Outer,
    Vdot,
    VecDot,
    _check_bmm_shapes,
    _check_devices,
    _check_dot,
    _check_input_expands,
    _check_mm,
    _check_mv,
    _check_same_scalar_type,
    _check_tensor,
    _cpp,
    _int_scalars,
    _name,
    _not_implemented,
    _VecMat,
)
from dist_torch.ops._pointwise import write_out
from dist_torch.ops._util import cast, check_same_device, promote, result_dtype, wrap_dim
from dist_torch.ops.einsum import einsum, inner, tensordot
from dist_torch.ops.inplace import inplace

__all__ = [
    "matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner", "addmm", "addmv",
    "addbmm", "baddbmm", "addr", "einsum", "tensordot",
]


# --------------------------------------------------------------------------- public functions

@autocast_op("matmul")
def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Matrix product with torch's rules for every rank.

    1-D · 1-D is a dot product (0-dim result); a 1-D left (right) operand acts as a one-row
    (one-column) matrix whose added dim is removed from the result; 2-D @ 2-D is ``mm``; with
    3+ dims, the leading (batch) dims broadcast. Both operands must have the same dtype.

    Shape:
        ``(*B1, n, k) @ (*B2, k, p) -> (*broadcast(B1, B2), n, p)``

    Example::

        >>> torch.matmul(torch.ones(2, 1, 3, 4), torch.ones(5, 4, 6)).shape
        torch.Size([2, 5, 3, 6])
    """
    result = _matmul(input, other)
    return result if out is None else write_out(out, result, "matmul")


def _matmul(input, other):
    if not isinstance(input, Tensor):
        _check_tensor(input, "matmul", "input", 1)
    if not isinstance(other, Tensor):
        _check_tensor(other, "matmul", "other", 2)
    a, b = input._data, other._data
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        check_same_device(input, other)
    na, nb = a.ndim, b.ndim
    if na == 2 and nb == 2:
        if a.shape[1] != b.shape[0] or a.dtype != b.dtype or a.dtype.kind == "b":
            _check_mm(a, b, a.shape[0], a.shape[1], b.shape[0], b.shape[1])
        return Mm.apply(input, other)
    if na == 0 or nb == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    if nb == 1:
        if na == 1:
            _check_dot(a, b)
            return Dot.apply(input, other)
        _check_mv(None, a, b, math.prod(a.shape[:-1]), a.shape[-1])
        return (Mv if na == 2 else Matmul).apply(input, other)
    if nb == 2:  # a vector or a batch of matrices, times one matrix
        rows = 1 if na == 1 else math.prod(a.shape[:-1])
        _check_mm(a, b, rows, a.shape[-1], b.shape[0], b.shape[1])
        return (_VecMat if na == 1 else Matmul).apply(input, other)
    # batched: broadcast the batch dims, then torch's bmm checks on the flattened batch
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    size = math.prod(batch)
    a_rows = a.shape[-2] if na > 1 else 1
    _check_bmm_shapes((size, a_rows, a.shape[-1]), (size,) + b.shape[-2:])
    _check_same_scalar_type(a, b)
    if a.dtype.kind == "b":
        raise _not_implemented("bmm")
    return Matmul.apply(input, other)


@autocast_op("mm")
def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Product of two matrices, ``(n, k) @ (k, p) -> (n, p)``; no broadcasting."""
    _check_tensor(input, "mm", "input", 1)
    _check_tensor(mat2, "mm", "mat2", 2)
    _check_devices(input, mat2)
    a, b = input._data, mat2._data
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check_mm(a, b, a.shape[0], a.shape[1], b.shape[0], b.shape[1])
    result = Mm.apply(input, mat2)
    return result if out is None else write_out(out, result, "mm")


@autocast_op("bmm")
def bmm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Batched matrix product, ``(B, n, k) @ (B, k, p) -> (B, n, p)``; no broadcasting."""
    _check_tensor(input, "bmm", "input", 1)
    _check_tensor(mat2, "bmm", "mat2", 2)
    _check_devices(input, mat2)
    a, b = input._data, mat2._data
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _check_same_scalar_type(a, b)
    _check_bmm_shapes(a.shape, b.shape)
    if a.dtype.kind == "b":
        raise _not_implemented("bmm")
    result = Bmm.apply(input, mat2)
    return result if out is None else write_out(out, result, "bmm")


def _check_mv_ranks(c_ndim, a, b):
    if a.ndim != 2 or b.ndim != 1 or c_ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {c_ndim}, {a.ndim}, "
                           f"{b.ndim}")


@autocast_op("mv")
def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    """Matrix-vector product, ``(n, k) @ (k,) -> (n,)``."""
    _check_tensor(input, "mv", "input", 1)
    _check_tensor(vec, "mv", "vec", 2)
    _check_devices(input, vec)
    a, b = input._data, vec._data
    _check_mv_ranks(1, a, b)
    _check_mv(None, a, b, a.shape[0], a.shape[1])
    result = Mv.apply(input, vec)
    return result if out is None else write_out(out, result, "mv")


@autocast_op("dot")
def dot(input: Tensor, tensor: Tensor, *, out=None) -> Tensor:
    """Inner product of two 1-D tensors of equal length and dtype (0-dim result)."""
    _check_tensor(input, "dot", "input", 1)
    _check_tensor(tensor, "dot", "tensor", 2)
    _check_devices(input, tensor)
    _check_dot(input._data, tensor._data)
    result = Dot.apply(input, tensor)
    return result if out is None else write_out(out, result, "dot")


@autocast_op("vdot")
def vdot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``dot`` with the first argument conjugated; the same as ``dot`` for real tensors."""
    _check_tensor(input, "vdot", "input", 1)
    _check_tensor(other, "vdot", "other", 2)
    _check_devices(input, other)
    _check_dot(input._data, other._data)
    result = Vdot.apply(input, other)
    return result if out is None else write_out(out, result, "vdot")


def outer(input: Tensor, vec2: Tensor, *, out=None) -> Tensor:
    """Outer product of two vectors, ``(n,) x (m,) -> (n, m)``, with type promotion."""
    _check_tensor(input, "outer", "input", 1)
    _check_tensor(vec2, "outer", "vec2", 2)
    for argname, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {argname}, but got "
                               f"{t._data.ndim}-D")
    _check_devices(input, vec2)
    a, b = promote(input, vec2)
    result = Outer.apply(a, b)
    return result if out is None else write_out(out, result, "outer")


ger = outer


@autocast_op("addmm")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to ``(n, p)``.

    With ``beta=0`` the values of ``input`` are ignored (NaNs in it do not propagate).
    """
    for position, (argname, t) in enumerate((("input", input), ("mat1", mat1),
                                             ("mat2", mat2)), 1):
        _check_tensor(t, "addmm", argname, position)
    _check_devices(input, mat1, mat2)
    c, a, b = input._data, mat1._data, mat2._data
    for argname, x in (("mat1", a), ("mat2", b)):
        if x.ndim != 2:
            raise RuntimeError(f"{argname} must be a matrix, got {x.ndim}-D tensor")
    if c.dtype != b.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_name(c)} and "
                           f"{_name(b)}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_name(a)} and "
                           f"{_name(b)}")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x"
                           f"{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    _check_input_expands(c, (a.shape[0], b.shape[1]))
    if a.dtype.kind == "b":
        raise _not_implemented("addmm_impl_cpu_")
    beta, alpha = _int_scalars(a.dtype.kind, beta, alpha)
    result = Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha)
    return result if out is None else write_out(out, result, "addmm")


@autocast_op("addmv")
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``; ``input`` broadcasts to ``(n,)``."""
    for position, (argname, t) in enumerate((("input", input), ("mat", mat), ("vec", vec)), 1):
        _check_tensor(t, "addmv", argname, position)
    _check_devices(input, mat, vec)
    c, a, b = input._data, mat._data, vec._data
    _check_mv_ranks(c.ndim if c.ndim > 1 else 1, a, b)
    if c.ndim == 1 and c.shape[0] not in (1, a.shape[0]):
        raise RuntimeError(f"size mismatch, got input ({c.shape[0]}), mat ({a.shape[0]}x"
                           f"{a.shape[1]}), vec ({b.shape[0]})")
    _check_mv(_name(c), a, b, a.shape[0], a.shape[1])
    beta, alpha = _int_scalars(a.dtype.kind, beta, alpha)
    result = Addmv.apply(input, mat, vec, beta=beta, alpha=alpha)
    return result if out is None else write_out(out, result, "addmv")


def _batch_args(fname, input, batch1, batch2, target_dims):
    """Checks shared by baddbmm/addbmm, in torch's order: the sizes the result is read from
    (IndexError for too few dims), ``input`` against that result shape, then the ranks."""
    for position, (argname, t) in enumerate((("input", input), ("batch1", batch1),
                                             ("batch2", batch2)), 1):
        _check_tensor(t, fname, argname, position)
    _check_devices(input, batch1, batch2)
    c, a, b = input._data, batch1._data, batch2._data
    target = tuple(x.shape[wrap_dim(d, x.ndim)] for x, d in target_dims(a, b))
    _check_input_expands(c, target)
    return c, a, b


@autocast_op("baddbmm")
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1,
            out=None) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``; ``input`` broadcasts to ``(B, n, p)``."""
    c, a, b = _batch_args("baddbmm", input, batch1, batch2,
                          lambda a, b: ((a, 0), (a, 1), (b, 2)))
    if c.dtype != a.dtype:
        raise RuntimeError(f"Input dtypes must be the same, got: input {_cpp(c)}, batch1: "
                           f"{_cpp(a)}, batch2: {_cpp(b)}")
    for argname, x in (("batch1", a), ("batch2", b)):
        if x.ndim != 3:
            raise RuntimeError(f"{argname} must be a 3D tensor")
    _check_bmm_shapes(a.shape, b.shape)
    _check_same_scalar_type(a, b)
    if a.dtype.kind == "b":
        raise _not_implemented("baddbmm")
    beta, alpha = _int_scalars(a.dtype.kind, beta, alpha)
    result = Baddbmm.apply(input, batch1, batch2, beta=beta, alpha=alpha)
    return result if out is None else write_out(out, result, "baddbmm")


@autocast_op("addbmm")
def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1,
           out=None) -> Tensor:
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``; ``input`` broadcasts to
    ``(n, p)``. The batch sum is computed as one GEMM."""
    c, a, b = _batch_args("addbmm", input, batch1, batch2, lambda a, b: ((a, 1), (b, 2)))
    for argname, x in (("batch1", a), ("batch2", b)):
        if x.ndim != 3:
            raise RuntimeError(f"{argname} must be a 3D tensor")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{a.shape[0]} and {b.shape[0]}")
    if a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({a.shape[1]}x{a.shape[2]} and "
                           f"{b.shape[1]}x{b.shape[2]})")
    if c.dtype != b.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_name(c)} and "
                           f"{_name(b)}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_name(a)} and "
                           f"{_name(b)}")
    if a.dtype.kind == "b":
        raise _not_implemented("addmm_impl_cpu_")
    beta, alpha = _int_scalars(a.dtype.kind, beta, alpha)
    result = Addbmm.apply(input, batch1, batch2, beta=beta, alpha=alpha)
    return result if out is None else write_out(out, result, "addbmm")


@autocast_op("addr")
def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``, with type promotion of all three.

    For bool tensors the sum is a logical or and the products logical ands.
    """
    for position, (argname, t) in enumerate((("input", input), ("vec1", vec1), ("vec2", vec2)),
                                            1):
        _check_tensor(t, "addr", argname, position)
    for argname, t in (("vec1", vec1), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {argname}, but got "
                               f"{t._data.ndim}-D")
    _check_devices(input, vec1, vec2)
    np_dtype = result_dtype(input, vec1, vec2).numpy_dtype
    for name, value in (("beta", beta), ("alpha", alpha)):
        if isinstance(value, bool) and np_dtype.kind != "b":
            raise RuntimeError(f"Boolean {name} only supported for Boolean results.")
        if isinstance(value, float) and np_dtype.kind in "biu":
            raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                               "floating point number.")
    _check_input_expands(input._data, (vec1._data.shape[0], vec2._data.shape[0]))
    c, x, y = (cast(t, np_dtype) for t in (input, vec1, vec2))
    if np_dtype.kind == "b":
        result = _addr_bool(c, x, y, beta, alpha)
    else:
        result = Addr.apply(c, x, y, beta=beta, alpha=alpha)
    return result if out is None else write_out(out, result, "addr")


def _addr_bool(c, x, y, beta, alpha):
    xa, ya = x._data, y._data
    if alpha:
        out = xa[:, None] & ya
    else:
        out = array_module(xa).zeros((xa.shape[0], ya.shape[0]), dtype=bool)
    if beta:
        out = out | c._data
    return _wrap(out)


@autocast_op("linalg_vecdot")
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """torch.linalg.vecdot: ``sum(x * y, dim)`` over the broadcast of ``x`` and ``y``."""
    _check_tensor(x, "linalg_vecdot", "x", 1)
    _check_tensor(y, "linalg_vecdot", "y", 2)
    _check_devices(x, y)
    a, b = x._data, y._data
    if a.dtype != b.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {_name(a)} and y of type {_name(b)} instead")
    if not x.is_floating_point():
        raise RuntimeError("linalg.vecdot: Expected a floating point or complex tensor as "
                           f"input. Got {_name(a)}")
    shape = broadcast_shapes(a.shape, b.shape)
    return VecDot.apply(x, y, dim=wrap_dim(dim, len(shape)))


# --------------------------------------------------------------------------- Tensor methods

@autocast_op("matmul")
def _matmul_operator(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return _matmul(self, other)


@autocast_op("matmul")
def _rmatmul_operator(self, other):
    if not isinstance(other, Tensor):
        return NotImplemented
    return _matmul(other, self)


def _inplace_method(fn):
    def method(self, *args, beta=1, alpha=1):
        return inplace(self, fn, *args, beta=beta, alpha=alpha)
    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place :func:`{fn.__name__}` into ``self``."
    return method


bind_methods({
    "matmul": matmul, "__matmul__": _matmul_operator, "__rmatmul__": _rmatmul_operator,
    "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "vdot": vdot, "outer": outer, "ger": outer,
    "inner": inner, "addmm": addmm, "addmv": addmv, "addbmm": addbmm, "baddbmm": baddbmm,
    "addr": addr, "addmm_": _inplace_method(addmm), "addmv_": _inplace_method(addmv),
    "addbmm_": _inplace_method(addbmm), "baddbmm_": _inplace_method(baddbmm),
    "addr_": _inplace_method(addr),
})
