"""The complex-number API on real tensors (dist_torch has no complex dtypes): real, imag, conj,
conj_physical(_), resolve_conj, resolve_neg, is_conj, is_neg, angle and isreal.

As in torch for real dtypes: ``real``, ``conj``, ``conj_physical``, ``resolve_conj`` and
``resolve_neg`` return the tensor itself; ``imag`` raises; ``angle`` is 0 for non-negative
values (including -0.0), pi for negative ones and NaN for NaN, with a zero gradient.
"""

from __future__ import annotations

import math

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._indexing_util import legacy_name
from dist_torch.ops._util import check_tensor

__all__ = ["real", "imag", "conj", "conj_physical", "conj_physical_", "resolve_conj",
           "resolve_neg", "is_conj", "is_neg", "angle", "isreal"]


def _check(value, fname):
    return check_tensor(value, fname)


def real(input: Tensor) -> Tensor:
    """The real part: ``input`` itself for real dtypes."""
    return _check(input, "real")


def imag(input: Tensor) -> Tensor:
    """The imaginary part; real tensors have none (RuntimeError, as in torch)."""
    _check(input, "imag")
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def conj(input: Tensor) -> Tensor:
    """The complex conjugate: ``input`` itself for real dtypes."""
    return _check(input, "conj")


def conj_physical(input: Tensor, *, out=None) -> Tensor:
    """The materialized complex conjugate: ``input`` itself for real dtypes (a copy into
    ``out`` when given)."""
    _check(input, "conj_physical")
    if out is None:
        return input
    from dist_torch.ops._reduce import write_out
    return write_out("conj_physical", input.detach(), out)


def conj_physical_(input: Tensor) -> Tensor:
    """In-place :func:`conj_physical`: nothing changes for real dtypes, but it counts as an
    in-place write (leaf checks, version bump), as in torch."""
    from dist_torch.ops.inplace import check_inplace_allowed
    _check(input, "conj_physical_")
    check_inplace_allowed(input)
    input._bump_version()
    return input


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself: a real tensor never carries a lazy conjugation."""
    return _check(input, "resolve_conj")


def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself: a real tensor never carries a lazy negation."""
    return _check(input, "resolve_neg")


def is_conj(input: Tensor) -> bool:
    """False: real tensors have no conjugate bit."""
    _check(input, "is_conj")
    return False


def is_neg(input: Tensor) -> bool:
    """False: real tensors have no negative bit."""
    _check(input, "is_neg")
    return False


class Angle(Primitive):
    """The argument of a real number: 0 or pi (NaN stays NaN); the gradient is zero."""

    _name = "AngleBackward0"

    def forward(ctx, a, np_dtype):
        xp = array_module(a)
        out = xp.where(a < 0, math.pi, 0).astype(np_dtype)
        if a.dtype.kind == "f" or a.dtype == _dtype.bfloat16.numpy_dtype:
            out = xp.where(xp.isnan(a), a.astype(np_dtype), out)
        return out

    def backward(ctx, grad):
        return array_module(grad).zeros_like(grad)


def angle(input: Tensor, *, out=None) -> Tensor:
    """The element-wise argument (angle in radians): for real ``input``, ``pi`` where it is
    negative, 0 elsewhere, NaN for NaN. Integer and bool inputs give the default float dtype.

    Example::

        >>> torch.angle(torch.tensor([-2.0, 0.0, 3.0]))
        tensor([3.1416, 0.0000, 0.0000])
    """
    _check(input, "angle")
    a = input._data
    floating = input.is_floating_point()
    np_dtype = a.dtype if floating else _dtype.get_default_dtype().numpy_dtype
    result = Angle.apply(input, np_dtype=np_dtype)
    if out is None:
        return result
    from dist_torch.ops._reduce import write_out
    _check_out_cast("angle", result, out)
    return write_out("angle", result, out)


def _check_out_cast(fname, result, out):
    if isinstance(out, Tensor) and out._data.dtype.kind in "biu" and \
            result._data.dtype.kind not in "biu":
        raise RuntimeError(f"result type {legacy_name(result._data.dtype)} can't be cast to "
                           f"the desired output type {legacy_name(out._data.dtype)}")


def isreal(input: Tensor) -> Tensor:
    """Whether each element is real: all True for real dtypes (a bool tensor)."""
    _check(input, "isreal")
    return _wrap(array_module(input._data).ones_like(input._data, dtype=np.bool_))


bind_methods({
    "conj": conj, "conj_physical": conj_physical, "conj_physical_": conj_physical_,
    "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "is_conj": is_conj,
    "is_neg": is_neg, "angle": angle, "isreal": isreal,
})
Tensor.real = property(real, doc="The real part: the tensor itself for real dtypes.")
Tensor.imag = property(imag, doc="The imaginary part: RuntimeError for real dtypes.")
