"""Binary math: atan2, hypot, copysign, nextafter, heaviside, gcd, lcm, xlogy, ldexp,
logaddexp and logaddexp2, with torch's type promotion (integer inputs give the default float
dtype where torch does that), broadcasting, ``out=`` and in-place variants; the bit shifts
(``<<``, ``>>``) and frexp.

float_power, fmod and remainder live in :mod:`dist_torch.ops.power` and
:mod:`dist_torch.ops.elementwise`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dist_torch import _dtype, return_types
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import (
    NoDerivative,
    apply_broadcasting,
    inplace_method,
    not_implemented,
    raise_broadcast_error,
    type_name,
    write_out,
)
from dist_torch.ops._util import cast, promote, result_dtype, scalar_value

__all__ = [
    "atan2", "arctan2", "hypot", "copysign", "nextafter", "heaviside", "gcd", "lcm", "xlogy",
    "ldexp", "logaddexp", "logaddexp2", "gcd_", "lcm_", "xlogy_", "ldexp_",
    "bitwise_left_shift", "bitwise_right_shift", "frexp",
]

return_types.frexp = return_types.structseq("frexp", ("mantissa", "exponent"))

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.binary_math")

_LN2 = math.log(2.0)


# --------------------------------------------------------------------------- primitives

class Atan2(Primitive):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).arctan2(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scale = grad / (a * a + b * b)
        return scale * b, scale * -a


class Hypot(Primitive):
    def forward(ctx, a, b):
        out = array_module(a).hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        scale = grad / out
        return scale * a, scale * b


class Copysign(Primitive):
    """``|a|`` with the sign of ``b``; the gradient to ``b`` is zero, as in torch."""

    def forward(ctx, a, b):
        out = array_module(a).copysign(a, b)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        xp = array_module(grad)
        ratio = xp.where(a == 0, xp.zeros((), out.dtype), out / xp.where(a == 0, 1, a))
        grad_b = xp.zeros_like(grad) if ctx.needs_input_grad[1] else None
        return grad * ratio, grad_b


class CopysignScalar(Copysign):
    _name = "CopysignBackward1"


class Nextafter(Primitive):
    """The next float after ``a`` towards ``b``; torch passes the gradient straight to ``a``."""

    def forward(ctx, a, b):
        return array_module(a).nextafter(a, b)

    def backward(ctx, grad):
        xp = array_module(grad)
        return grad, (xp.zeros_like(grad) if ctx.needs_input_grad[1] else None)


class Heaviside(NoDerivative):
    _aten = "heaviside"

    def forward(ctx, a, b):
        xp = array_module(a)
        return xp.where(a == 0, b, (a > 0).astype(a.dtype))


class Gcd(NoDerivative):
    _aten = "gcd"

    def forward(ctx, a, b):
        return array_module(a).gcd(a, b)


class Lcm(NoDerivative):
    _aten = "lcm"

    def forward(ctx, a, b):
        return array_module(a).lcm(a, b)


def xlog_kernel(xp, a, b, log):
    """``a * log(b)`` with 0 where ``a == 0`` (unless ``b`` is NaN); ``a`` or ``b`` may be a
    Python number."""
    arr = b if hasattr(b, "dtype") else a
    b_arr = xp.asarray(b, dtype=arr.dtype)
    out = a * log(b_arr)
    zero = xp.zeros((), dtype=out.dtype)
    out = xp.where((xp.asarray(a) == 0) & ~xp.isnan(b_arr), zero, out)
    return out.astype(arr.dtype, copy=False)


class Xlogy(Primitive):
    """``input * log(other)``, 0 where ``input == 0``; either operand may be a number."""

    _name = "XlogyBackward0"
    _log = "log"

    def forward(ctx, a, b):
        xp = array_module(b if hasattr(b, "dtype") else a)
        ctx.save_for_backward(a if hasattr(a, "dtype") else None,
                              b if hasattr(b, "dtype") else None)
        ctx.a, ctx.b = a, b  # the Python-number operand, if any
        return xlog_kernel(xp, a, b, getattr(xp, ctx._log))

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a = ctx.a if a is None else a
        b = ctx.b if b is None else b
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        grad_a = grad_b = None
        b_arr = xp.asarray(b, dtype=grad.dtype)
        if needs[0]:
            log_b = getattr(xp, ctx._log)(b_arr)
            pole = -1 if ctx._log == "log1p" else 0
            mask = (xp.asarray(a) == 0) & (b_arr <= pole)
            grad_a = xp.where(mask, xp.zeros((), grad.dtype), grad * log_b)
        if needs[1]:
            grad_b = grad * a / (b_arr + 1 if ctx._log == "log1p" else b_arr)
        return grad_a, grad_b


class XlogyScalarSelf(Xlogy):
    _name = "XlogyBackward1"


class XlogyScalarOther(Xlogy):
    _name = "XlogyBackward2"


class Ldexp(Primitive):
    def forward(ctx, a, b):
        xp = array_module(a)
        scale = xp.exp2(b)
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, scale)
        return a * scale

    def backward(ctx, grad):
        a, scale = ctx.saved_tensors
        grad_b = grad * a * scale * _LN2 if a is not None else None
        return grad * scale, grad_b


class Logaddexp(Primitive):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).logaddexp(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        xp = array_module(grad)
        return grad / (1 + xp.exp(b - a)), grad / (1 + xp.exp(a - b))


class Logaddexp2(Primitive):
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).logaddexp2(a, b)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        xp = array_module(grad)
        return grad / (1 + xp.exp2(b - a)), grad / (1 + xp.exp2(a - b))


# --------------------------------------------------------------------------- argument handling

def _tensor_args(fname, input, other, other_name="other"):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if not isinstance(other, Tensor):
        raise TypeError(f"{fname}(): argument '{other_name}' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    return promote(input, other)


def _floating(*operands):
    """Cast integer/bool Tensors to the default float dtype (numbers are left alone)."""
    default = _dtype.get_default_dtype().numpy_dtype
    return tuple(cast(x, default) if isinstance(x, Tensor) and x._data.dtype.kind in "biu"
                 else x for x in operands)


def _float_only(fname, a):
    if a._data.dtype.kind in "biu":
        raise not_implemented(f"{fname}_cpu", a._data.dtype)


def _finish(result, out, fname):
    return result if out is None else write_out(out, result, fname)


# --------------------------------------------------------------------------- public functions

@autocast_op("atan2")
def atan2(input, other, *, out=None) -> Tensor:
    """Elementwise arctangent of ``input / other`` in the correct quadrant (radians).

    Example::

        >>> torch.atan2(torch.tensor([1., -1.]), torch.tensor([-1., -1.]))
        tensor([ 2.3562, -2.3562])
    """
    a, b = _floating(*_tensor_args("atan2", input, other))
    return _finish(apply_broadcasting(Atan2, a, b), out, "atan2")


arctan2 = atan2


def hypot(input, other, *, out=None) -> Tensor:
    """``sqrt(input ** 2 + other ** 2)`` without overflow (floating inputs only)."""
    a, b = _tensor_args("hypot", input, other)
    _float_only("hypot", a)
    return _finish(apply_broadcasting(Hypot, a, b), out, "hypot")


def copysign(input, other, *, out=None) -> Tensor:
    """The magnitude of ``input`` with the sign of ``other`` (a Tensor or a number); the
    result is floating."""
    if not isinstance(input, Tensor):
        raise TypeError(f"copysign() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected "
                        "(Tensor input, Tensor other) or (Tensor input, Number other)")
    a, b = _floating(*promote(input, scalar_value(other)))
    if isinstance(b, Tensor):
        return _finish(apply_broadcasting(Copysign, a, b), out, "copysign")
    return _finish(CopysignScalar.apply(a, float(b)), out, "copysign")


def nextafter(input, other, *, out=None) -> Tensor:
    """The next representable float after ``input`` towards ``other``."""
    a, b = _tensor_args("nextafter", input, other)
    _float_only("nextafter", a)
    return _finish(apply_broadcasting(Nextafter, a, b), out, "nextafter")


def heaviside(input, values, *, out=None) -> Tensor:
    """The Heaviside step: 0 where ``input < 0``, ``values`` where it is 0, 1 where > 0.

    Both tensors must have the same dtype (torch does not promote here).
    """
    if not isinstance(input, Tensor) or not isinstance(values, Tensor):
        _tensor_args("heaviside", input, values, "values")
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different "
                           "dtypes.")
    a, b = promote(input, values)
    return _finish(apply_broadcasting(Heaviside, a, b), out, "heaviside")


def _integer_op(fname, op, input, other, out):
    a, b = _tensor_args(fname, input, other)
    if a._data.dtype.kind not in "iu":
        raise not_implemented(f"{fname}_cpu", a._data.dtype)
    return _finish(apply_broadcasting(op, a, b), out, fname)


def gcd(input, other, *, out=None) -> Tensor:
    """Greatest common divisor (non-negative) of integer tensors; ``gcd(0, 0) = 0``."""
    return _integer_op("gcd", Gcd, input, other, out)


def lcm(input, other, *, out=None) -> Tensor:
    """Least common multiple (non-negative) of integer tensors; 0 if either is 0."""
    return _integer_op("lcm", Lcm, input, other, out)


def xlog_apply(fname, ops, input, other, out):
    """Shared body of xlogy and special.xlog1py: ``ops`` = (both tensors, self a number,
    other a number) primitives."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{fname}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected "
                        "at least one Tensor")
    a, b = _floating(*promote(scalar_value(input), scalar_value(other)))
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        result = apply_broadcasting(ops[0], a, b)
    elif isinstance(b, Tensor):
        result = ops[1].apply(float(a), b)
    else:
        result = ops[2].apply(a, float(b))
    return _finish(result, out, fname)


def xlogy(input, other, *, out=None) -> Tensor:
    """``input * log(other)``, defined as 0 where ``input == 0`` (unless ``other`` is NaN).

    Either argument may be a number. Example::

        >>> torch.xlogy(torch.tensor([0., 2.]), torch.tensor([0., 3.]))
        tensor([0.0000, 2.1972])
    """
    return xlog_apply("xlogy", (Xlogy, XlogyScalarSelf, XlogyScalarOther), input, other, out)


def ldexp(input, other, *, out=None) -> Tensor:
    """``input * 2 ** other`` (floating result)."""
    a, b = _floating(*_tensor_args("ldexp", input, other))
    return _finish(apply_broadcasting(Ldexp, a, b), out, "ldexp")


def logaddexp(input, other, *, out=None) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow (floating inputs only)."""
    a, b = _tensor_args("logaddexp", input, other)
    _float_only("logaddexp", a)
    return _finish(apply_broadcasting(Logaddexp, a, b), out, "logaddexp")


def logaddexp2(input, other, *, out=None) -> Tensor:
    """``log2(2 ** input + 2 ** other)`` without overflow (floating inputs only)."""
    a, b = _tensor_args("logaddexp2", input, other)
    _float_only("logaddexp2", a)
    return _finish(apply_broadcasting(Logaddexp2, a, b), out, "logaddexp2")


# --------------------------------------------------------------------------- shifts and frexp

def _shift(fname, kernel, left, input, other, out):
    """``input << other`` or ``>>`` in the promoted integer dtype; shift counts outside
    ``[0, bits)`` give 0 (a right shift of a negative signed value gives -1), as torch."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{fname}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected "
                        "at least one Tensor")
    a, b = promote(scalar_value(input), scalar_value(other))
    t = a if isinstance(a, Tensor) else b
    np_dtype = t._data.dtype
    if np_dtype.kind not in "iu":
        raise not_implemented(f"{kernel}_cpu", np_dtype)
    xp = array_module(t._data)
    x = a._data if isinstance(a, Tensor) else xp.asarray(a, dtype=np_dtype)
    n = b._data if isinstance(b, Tensor) else xp.asarray(b, dtype=np_dtype)
    bits = np_dtype.itemsize * 8
    try:
        inside = (n >= 0) & (n < bits)
        count = xp.where(inside, n, xp.zeros((), np_dtype))
        if left:
            outside = xp.zeros((), np_dtype)
            result = xp.where(inside, xp.left_shift(x, count), outside)
        else:
            outside = xp.right_shift(x, bits - 1) if np_dtype.kind == "i" else \
                xp.zeros((), np_dtype)
            result = xp.where(inside, xp.right_shift(x, count), outside)
    except ValueError:
        raise_broadcast_error(a, b)
    return _finish(_wrap(result.astype(np_dtype, copy=False)), out, fname)


def bitwise_left_shift(input, other, *, out=None) -> Tensor:
    """``input << other`` elementwise on integers (either may be a number); bits shifted out
    are lost and counts outside ``[0, bits)`` give 0.

    Example::

        >>> torch.bitwise_left_shift(torch.tensor([1, -3], dtype=torch.int8), 2)
        tensor([  4, -12], dtype=torch.int8)
    """
    return _shift("bitwise_left_shift", "lshift", True, input, other, out)


def bitwise_right_shift(input, other, *, out=None) -> Tensor:
    """``input >> other`` elementwise on integers (arithmetic for signed types); counts outside
    ``[0, bits)`` give 0, or -1 for negative signed values."""
    return _shift("bitwise_right_shift", "rshift", False, input, other, out)


class Frexp(Primitive):
    _non_differentiable = (1,)

    def forward(ctx, a):
        xp = array_module(a)
        work = a if a.dtype.itemsize >= 4 else a.astype(np.float32)  # exact for half types
        mantissa, exponent = xp.frexp(work)
        exponent = exponent.astype(np.int32, copy=False)
        ctx.save_for_backward(exponent)
        return mantissa.astype(a.dtype, copy=False), exponent

    def backward(ctx, grad, grad_exponent=None):
        (exponent,) = ctx.saved_tensors
        return grad / array_module(grad).exp2(exponent.astype(grad.dtype))


def frexp(input, *, out=None):
    """Split floats into ``mantissa * 2 ** exponent`` with ``0.5 <= |mantissa| < 1``:
    ``(mantissa, exponent)`` (int32) as ``torch.return_types.frexp``.

    Example::

        >>> torch.frexp(torch.tensor([8., -3.]))
        torch.return_types.frexp(
        mantissa=tensor([ 0.5000, -0.7500]),
        exponent=tensor([4, 2], dtype=torch.int32))
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"frexp(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype.kind not in "f" and input._data.dtype.name != "bfloat16":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    result = return_types.frexp(Frexp.apply(input))
    if out is None:
        return result
    from dist_torch.ops._reduce import write_out as write_outs
    return write_outs("frexp", result, out)


def _operator(fn, reflected=False):
    """``<<``/``>>``: NotImplemented for operands that are not numbers or tensors."""
    def method(self, other):
        if not isinstance(other, (Tensor, int, float, bool, np.generic)):
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)
    method.__name__ = fn.__name__
    return method


def _inplace_shift(fn):
    """``x <<= n``: torch refuses a floating result type before looking for the kernel."""
    method = inplace_method(fn)

    def checked(self, other):
        if not isinstance(other, (Tensor, int, float, bool, np.generic)):
            return NotImplemented
        np_dtype = result_dtype(self, scalar_value(other)).numpy_dtype
        if np_dtype.kind not in "biu" and self._data.dtype.kind in "biu":
            raise RuntimeError(f"result type {type_name(np_dtype)} can't be cast to the "
                               f"desired output type {type_name(self._data.dtype)}")
        return method(self, other)
    checked.__name__ = method.__name__
    return checked


# --------------------------------------------------------------------------- in-place variants

gcd_ = inplace_method(gcd)
lcm_ = inplace_method(lcm)
xlogy_ = inplace_method(xlogy)
ldexp_ = inplace_method(ldexp)

_METHODS = ("atan2", "arctan2", "hypot", "copysign", "nextafter", "heaviside", "gcd", "lcm",
            "xlogy", "ldexp")
bind_methods({name: globals()[name] for name in _METHODS})
bind_methods({name + "_": inplace_method(globals()[name]) for name in _METHODS})
bind_methods({"logaddexp": logaddexp, "logaddexp2": logaddexp2, "frexp": frexp})
for _name, _fn in (("lshift", bitwise_left_shift), ("rshift", bitwise_right_shift)):
    bind_methods({_fn.__name__: _fn, _fn.__name__ + "_": _inplace_shift(_fn),
                  f"__{_name}__": _operator(_fn), f"__r{_name}__": _operator(_fn, True),
                  f"__i{_name}__": _inplace_shift(_fn)})
