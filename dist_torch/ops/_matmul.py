"""The array side of the matrix products: Primitives (forward/backward on arrays) and the
argument checks that reproduce torch's messages. The public functions are in
:mod:`dist_torch.ops.linalg`.

Every product is one BLAS call through ``a @ b`` (NumPy and CuPy alike); backward is one more
per input, on transposed *views* (no copies). ``N-D @ matrix`` (a Linear layer applied to a
batch of sequences) is folded into a single 2-D GEMM in both directions.
"""

from __future__ import annotations

import warnings

import numpy as np

from dist_torch._dtype import from_numpy_dtype
from dist_torch._tensor import Tensor
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module
from dist_torch.ops._util import check_same_device

# NumPy warns when inf/NaN pass through a product (a GradScaler overflow step); torch is silent
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\._matmul")

# C++ element type names, as torch's "expected m1 and m2 to have the same dtype" spells them.
_CPP_NAMES = {
    "float32": "float", "float64": "double", "float16": "c10::Half",
    "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
    "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
}


def _name(array) -> str:
    """torch's ScalarType name (Float, Double, Long, ...) of an array's dtype."""
    return _LEGACY_TYPE_NAMES[from_numpy_dtype(array.dtype).name]


def _cpp(array) -> str:
    return _CPP_NAMES[from_numpy_dtype(array.dtype).name]


def _not_implemented(kernel: str):
    return NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _mm(a, b):
    """``a @ b``. On NumPy, half and bfloat16 are multiplied in float32 (NumPy has no fast
    16-bit GEMM, and torch's CPU kernels accumulate in float32 too)."""
    if a.itemsize == 2 and a.dtype.kind != "i" and type(a) is np.ndarray:
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(a.dtype)
    return a @ b


def _fold(a, b):
    """``a @ b`` for ``a`` of 3+ dims and a matrix or vector ``b``, as one 2-D product."""
    out = _mm(a.reshape(-1, a.shape[-1]), b)
    return out.reshape(a.shape[:-1] + b.shape[1:])


def _swap(a):
    return a.swapaxes(-1, -2)


# --------------------------------------------------------------------------- primitives

class Mm(Primitive):
    """``(n, k) @ (k, p)``; backward ``grad @ b.T`` and ``a.T @ grad``."""

    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        return _mm(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (None if b is None else _mm(grad, b.T),
                None if a is None else _mm(a.T, grad))


class Bmm(Mm):
    """``(B, n, k) @ (B, k, p)``."""

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (None if b is None else _mm(grad, _swap(b)),
                None if a is None else _mm(_swap(a), grad))


class Dot(Mm):
    """Inner product of two vectors (a 0-dim result)."""

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (None if b is None else grad * b), (None if a is None else grad * a)


class Vdot(Dot):
    pass


class Matmul(Primitive):
    """torch.matmul for every rank combination but vector-vector and matrix-matrix.

    Vectors act as a one-row (left) or one-column (right) matrix that is removed again; batch
    dimensions broadcast (the engine sums gradients back over them). When the left operand has
    3+ dims and the right is a matrix or vector, batch and row dims are folded into one.
    """

    _name = "UnsafeViewBackward0"

    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        ctx.ndims = a.ndim, b.ndim
        if a.ndim >= 3 and b.ndim <= 2:
            return _fold(a, b)
        return _mm(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        na, nb = ctx.ndims
        ga = gb = None
        if na >= 3 and nb <= 2:
            if b is not None:
                ga = _fold(grad, b.T) if nb == 2 else grad[..., None] * b
            if a is not None:
                a2 = a.reshape(-1, a.shape[-1])
                if nb == 2:
                    gb = _mm(a2.T, grad.reshape(-1, grad.shape[-1]))
                else:
                    gb = _mm(grad.reshape(-1), a2)
            return ga, gb
        g = grad[..., None, :] if na == 1 else grad
        if nb == 1:
            g = g[..., None]
        if b is not None:
            ga = _mm(g, b[None, :] if nb == 1 else _swap(b))
            if na == 1:
                ga = ga[..., 0, :]
        if a is not None:
            gb = _mm(a[:, None] if na == 1 else _swap(a), g)
            if nb == 1:
                gb = gb[..., 0]
        return ga, gb


class Mv(Matmul):
    _name = "MvBackward0"


class _VecMat(Matmul):
    _name = "SqueezeBackward4"  # torch: unsqueeze, mm, squeeze


class Outer(Primitive):
    _name = "MulBackward0"

    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        return a[:, None] * b

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (None if b is None else _mm(grad, b)), (None if a is None else _mm(a, grad))


def _scale_add(out, c, beta, alpha):
    """``beta * c + alpha * out`` in place on the fresh product ``out``; ``c`` is ignored when
    ``beta`` is 0 (so NaNs in it do not propagate, as in torch)."""
    if alpha != 1:
        out *= alpha
    if beta != 0:
        out += c if beta == 1 else c * beta
    return out


def _scaled(grad, factor):
    return grad if factor == 1 else grad * factor


class _AddProduct(Primitive):
    """``beta * input + alpha * product(x, y)``: the add* family, one class per product."""

    def forward(ctx, c, x, y, beta=1, alpha=1):
        needs = ctx.needs_input_grad
        ctx.beta, ctx.alpha = beta, alpha
        ctx.save_for_backward(x if needs[2] else None, y if needs[1] else None)
        return _scale_add(ctx._product(x, y), c, beta, alpha)

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx, gy = ctx._grads(grad, x, y)
        alpha = ctx.alpha
        return (_scaled(grad, ctx.beta) if ctx.needs_input_grad[0] else None,
                None if gx is None else _scaled(gx, alpha),
                None if gy is None else _scaled(gy, alpha))


class Addmm(_AddProduct):
    _product = staticmethod(_mm)

    def _grads(ctx, grad, x, y):
        return (None if y is None else _mm(grad, y.T)), (None if x is None else _mm(x.T, grad))


class Addmv(_AddProduct):
    _product = staticmethod(_mm)

    def _grads(ctx, grad, x, y):
        return (None if y is None else grad[:, None] * y), (None if x is None else _mm(grad, x))


class Baddbmm(_AddProduct):
    _product = staticmethod(_mm)

    def _grads(ctx, grad, x, y):
        return ((None if y is None else _mm(grad, _swap(y))),
                (None if x is None else _mm(_swap(x), grad)))


def _batch_sum_product(x, y):
    """``sum_b x[b] @ y[b]`` as one GEMM: ``[x_1 .. x_B] (n, B*k) @ [y_1; ..; y_B] (B*k, p)``."""
    nb, n, k = x.shape
    return _mm(x.transpose(1, 0, 2).reshape(n, nb * k), y.reshape(nb * k, y.shape[2]))


class Addbmm(Baddbmm):
    _product = staticmethod(_batch_sum_product)


class Addr(_AddProduct):
    @staticmethod
    def _product(x, y):
        return x[:, None] * y

    def _grads(ctx, grad, x, y):
        return (None if y is None else _mm(grad, y)), (None if x is None else _mm(x, grad))


class VecDot(Primitive):
    """``sum(x * y, dim)`` over broadcast operands (torch.linalg.vecdot for real dtypes)."""

    _name = "SumBackward1"

    def forward(ctx, x, y, dim):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x if needs[1] else None, y if needs[0] else None)
        product = x * y
        ctx.dim, ctx.shape = dim, product.shape
        return product.sum(axis=dim)

    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        xp = array_module(grad)
        g = xp.expand_dims(grad, ctx.dim)
        # the full broadcast shape: the engine sums each gradient back to its input's shape
        return (None if y is None else xp.broadcast_to(g * y, ctx.shape),
                None if x is None else xp.broadcast_to(g * x, ctx.shape))


# --------------------------------------------------------------------------- argument checks

def _check_tensor(value, fname, argname, position):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def _check_devices(*tensors):
    """Operands share a device (a 0-dim CPU tensor may join any), as torch checks."""
    first = tensors[0]
    for t in tensors[1:]:
        if type(t._data) is not np.ndarray or type(first._data) is not np.ndarray:
            check_same_device(first, t)


def _check_mm(a, b, rows, k1, k2, cols):
    """torch's mm checks (as matmul reaches them): shapes, then dtypes, then bool."""
    if k1 != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{k1} and "
                           f"{k2}x{cols})")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_cpp(a)} != "
                           f"{_cpp(b)}")
    if a.dtype.kind == "b":
        raise _not_implemented("addmm_impl_cpu_")


def _check_mv(c_name, a, b, rows, k):
    """torch's addmv checks: sizes, then dtypes (input, mat, vec), then bool."""
    if b.shape[0] != k:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{k}), vec "
                           f"({b.shape[0]})")
    if a.dtype != b.dtype or c_name is not None and c_name != _name(a):
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{c_name or _name(b)}, {_name(a)}, and {_name(b)}")
    if a.dtype.kind == "b":
        raise _not_implemented("addmv_impl_cpu")


def _check_dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_name(a)} and {_name(b)}")
    if a.shape[0] != b.shape[0]:
        n, m = a.shape[0], b.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to "
                           f"have the same number of elements, but got {n} and {m} elements "
                           "respectively")
    if a.dtype.kind == "b":
        raise _not_implemented("dot")


def _check_bmm_shapes(a_shape, b_shape):
    nb, k = a_shape[0], a_shape[-1]
    if b_shape[0] != nb or b_shape[-2] != k:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {k}] but got: [{b_shape[0]}, {b_shape[-2]}].")


def _check_same_scalar_type(a, b):
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {_name(a)} but found {_name(b)}")


def _check_expand(shape, target):
    """torch's ``expand`` error when ``shape`` does not broadcast to exactly ``target``."""
    offset = len(target) - len(shape)
    for i, size in enumerate(shape):
        want = target[i + offset]
        if size != 1 and size != want:
            raise RuntimeError(
                f"The expanded size of the tensor ({want}) must match the existing size ({size}) "
                f"at non-singleton dimension {i + offset}.  Target sizes: {list(target)}.  "
                f"Tensor sizes: {list(shape)}")


def _check_input_expands(c, target):
    if c.ndim > len(target):
        raise RuntimeError(
            f"expand(torch.{_name(c)}Tensor{{{list(c.shape)}}}, size={list(target)}): the number "
            f"of sizes provided ({len(target)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({c.ndim})")
    _check_expand(c.shape, target)


def _int_scalars(dtype_kind, beta, alpha):
    """Integer products take integral scale factors (torch truncates floats toward zero)."""
    if dtype_kind in "iu":
        return int(beta), int(alpha)
    return beta, alpha
