"""Unary math: exp/log family, powers and roots, trigonometric and hyperbolic functions,
sigmoid, relu, erf/erfc, with torch's output dtypes (integer inputs give the default float
dtype for the floating functions) and in-place variants.

Rounding, sign and clamping ops live in :mod:`dist_torch.ops.rounding`.
"""

from __future__ import annotations

import math
import warnings

from dist_torch import _dtype
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_factory, autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops import elementwise as _elementwise
from dist_torch.ops import rounding as _rounding
from dist_torch.ops._erf import erf_array, erfc_array, erfinv_array
from dist_torch.ops._pointwise import inplace_method, not_implemented, write_out
from dist_torch.ops._util import cast
from dist_torch.ops.activation import (
    act_on_gpu,
    kernel_act,
    kernel_act_backward,
    kernel_act_forward,
)
from dist_torch.ops.rounding import *  # noqa: F403

__all__ = [
    "abs", "absolute", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt",
    "rsqrt", "reciprocal", "square", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
    "cosh", "tanh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh",
    "arccosh", "arctanh", "sigmoid", "relu", "erf", "erfc", "erfinv",
    "abs_", "absolute_", "exp_", "exp2_", "log_", "log2_", "log10_", "log1p_", "expm1_",
    "sqrt_", "rsqrt_", "reciprocal_", "square_", "sin_", "cos_", "tan_", "asin_", "acos_",
    "atan_", "sinh_", "cosh_", "tanh_", "asinh_", "acosh_", "atanh_", "arcsin_", "arccos_",
    "arctan_", "arcsinh_", "arccosh_", "arctanh_", "sigmoid_", "relu_", "erf_", "erfc_",
    "erfinv_", *_rounding.__all__,  # sign, floor, round, clamp, nan_to_num, ... (re-exported below)
]

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.unary")

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# --------------------------------------------------------------------------- primitives
# Each saves the input (x) or the output (out), whichever its derivative is cheaper from.

class Exp(Primitive):
    def forward(ctx, a):
        out = array_module(a).exp(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Exp2(Primitive):
    def forward(ctx, a):
        out = array_module(a).exp2(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0] * _LN2


class Expm1(Primitive):
    def forward(ctx, a):
        out = array_module(a).expm1(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        return grad * (ctx.saved_tensors[0] + 1)


class Log(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).log(a)

    def backward(ctx, grad):
        return grad / ctx.saved_tensors[0]


class Log2(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).log2(a)

    def backward(ctx, grad):
        return grad / (ctx.saved_tensors[0] * _LN2)


class Log10(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).log10(a)

    def backward(ctx, grad):
        return grad / (ctx.saved_tensors[0] * _LN10)


class Log1P(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).log1p(a)

    def backward(ctx, grad):
        return grad / (ctx.saved_tensors[0] + 1)


class Sqrt(Primitive):
    def forward(ctx, a):
        out = array_module(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        return grad / (2 * ctx.saved_tensors[0])


class Rsqrt(Primitive):
    def forward(ctx, a):
        x = a if a.dtype.itemsize > 2 else a.astype(array_module(a).float32)
        out = 1 / array_module(a).sqrt(x)
        if x is not a:
            out = out.astype(a.dtype)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return -0.5 * grad * out * out * out


class Reciprocal(Primitive):
    def forward(ctx, a):
        out = 1 / a
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return -grad * out * out


class Sin(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).sin(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad * array_module(a).cos(a)


class Cos(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).cos(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return -grad * array_module(a).sin(a)


class Tan(Primitive):
    def forward(ctx, a):
        out = array_module(a).tan(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * (1 + out * out)


class Asin(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).arcsin(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad / array_module(a).sqrt(1 - a * a)


class Acos(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).arccos(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return -grad / array_module(a).sqrt(1 - a * a)


class Atan(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).arctan(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad / (1 + a * a)


class Sinh(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).sinh(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad * array_module(a).cosh(a)


class Cosh(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).cosh(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad * array_module(a).sinh(a)


class Tanh(Primitive):
    def forward(ctx, a):
        if act_on_gpu(a):  # one kernel forward; backward uses the output, as torch saves it
            out = kernel_act(a, "tanh")
            ctx.save_for_backward(out)
            return out
        out = array_module(a).tanh(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * (1 - out * out)


class Asinh(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).arcsinh(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad / array_module(a).sqrt(a * a + 1)


class Acosh(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).arccosh(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad / array_module(a).sqrt(a * a - 1)


class Atanh(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).arctanh(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad / (1 - a * a)


class Sigmoid(Primitive):
    def forward(ctx, a):
        if act_on_gpu(a):  # one kernel forward; backward uses the output, as torch saves it
            out = kernel_act(a, "sigmoid")
            ctx.save_for_backward(out)
            return out
        xp = array_module(a)
        x = a if a.dtype.itemsize > 2 else a.astype(xp.float32)  # half: round once, as torch
        out = xp.exp(-x)
        if out.ndim:  # reuse the temporary (0-d results are NumPy scalars)
            out += 1
            xp.reciprocal(out, out=out)
        else:
            out = 1 / (1 + out)
        if x is not a:
            out = out.astype(a.dtype)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * out * (1 - out)


class Erf(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return erf_array(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad * (_TWO_OVER_SQRT_PI * array_module(a).exp(-a * a))


class Erfc(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return erfc_array(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        return grad * (-_TWO_OVER_SQRT_PI * array_module(a).exp(-a * a))


class Erfinv(Primitive):
    def forward(ctx, a):
        out = erfinv_array(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        out = ctx.saved_tensors[0]
        return grad * (0.5 * math.sqrt(math.pi) * array_module(out).exp(out * out))


class Relu(Primitive):
    _kernel_act = None  # set when forward ran the CUDA kernel

    def forward(ctx, a):
        if act_on_gpu(a):
            return kernel_act_forward(ctx, a, "relu", save_output=True)
        out = array_module(a).maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        if ctx._kernel_act:
            return kernel_act_backward(ctx, grad)
        return grad * (ctx.saved_tensors[0] > 0)


class Abs(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).abs(a)

    def backward(ctx, grad):
        a = ctx.saved_tensors[0]
        sign = (a > 0).astype(grad.dtype)
        sign -= a < 0
        return grad * sign


# --------------------------------------------------------------------------- public functions

@autocast_factory(1)
def _float_function(op, name, doc):
    """torch.<name>: integer and bool inputs are computed in the default float dtype."""
    def fn(input, *, out=None):
        a = input
        if a._data.dtype.kind in "biu":
            a = cast(a, _dtype.get_default_dtype().numpy_dtype)
        result = op.apply(a)
        return result if out is None else write_out(out, result, name)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


exp = _float_function(Exp, "exp", "Elementwise ``e ** input``.")
exp2 = _float_function(Exp2, "exp2", "Elementwise ``2 ** input``.")
expm1 = _float_function(Expm1, "expm1", "Elementwise ``exp(input) - 1``, accurate near 0.")
log = _float_function(Log, "log", "Natural logarithm; ``-inf`` at 0 and ``nan`` below.")
log2 = _float_function(Log2, "log2", "Base-2 logarithm.")
log10 = _float_function(Log10, "log10", "Base-10 logarithm.")
log1p = _float_function(Log1P, "log1p", "``log(1 + input)``, accurate near 0.")
sqrt = _float_function(Sqrt, "sqrt", "Square root; ``nan`` for negative inputs.")
rsqrt = _float_function(Rsqrt, "rsqrt", "``1 / sqrt(input)``.")
reciprocal = _float_function(Reciprocal, "reciprocal", "``1 / input`` (floating result).")
sin = _float_function(Sin, "sin", "Sine (radians).")
cos = _float_function(Cos, "cos", "Cosine (radians).")
tan = _float_function(Tan, "tan", "Tangent (radians).")
asin = _float_function(Asin, "asin", "Arcsine; ``nan`` outside [-1, 1].")
acos = _float_function(Acos, "acos", "Arccosine; ``nan`` outside [-1, 1].")
atan = _float_function(Atan, "atan", "Arctangent.")
sinh = _float_function(Sinh, "sinh", "Hyperbolic sine.")
cosh = _float_function(Cosh, "cosh", "Hyperbolic cosine.")
tanh = _float_function(Tanh, "tanh", "Hyperbolic tangent.")
asinh = _float_function(Asinh, "asinh", "Inverse hyperbolic sine.")
acosh = _float_function(Acosh, "acosh", "Inverse hyperbolic cosine; ``nan`` below 1.")
atanh = _float_function(Atanh, "atanh", "Inverse hyperbolic tangent; ``nan`` outside [-1, 1].")
sigmoid = _float_function(Sigmoid, "sigmoid", "The logistic function ``1 / (1 + exp(-input))``.")
erf = _float_function(Erf, "erf", "The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.")
erfc = _float_function(Erfc, "erfc", "``1 - erf(input)``, without cancellation for large inputs.")
erfinv = _float_function(Erfinv, "erfinv", "The inverse error function; ``+-inf`` at ``+-1``.")
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def abs(input, *, out=None) -> Tensor:  # noqa: A001 - torch name
    """Absolute value; integer dtypes are kept (``abs(int8(-128))`` wraps, as in torch)."""
    if input._data.dtype.kind == "b":
        raise not_implemented("abs_cpu", input._data.dtype)
    result = Abs.apply(input)
    return result if out is None else write_out(out, result, "abs")


absolute = abs


def relu(input) -> Tensor:
    """``max(input, 0)``; integer dtypes are kept."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return Relu.apply(input)


@autocast_op("square")
def square(input, *, out=None) -> Tensor:
    """``input ** 2`` (integer dtypes are kept; bool gives int64, as in torch)."""
    return _elementwise.pow(input, 2, out=out)


# --------------------------------------------------------------------------- in-place variants

abs_ = inplace_method(abs)
absolute_ = inplace_method(absolute)
exp_ = inplace_method(exp)
exp2_ = inplace_method(exp2)
log_ = inplace_method(log)
log2_ = inplace_method(log2)
log10_ = inplace_method(log10)
log1p_ = inplace_method(log1p)
expm1_ = inplace_method(expm1)
sqrt_ = inplace_method(sqrt)
rsqrt_ = inplace_method(rsqrt)
reciprocal_ = inplace_method(reciprocal)
square_ = inplace_method(square)
sin_ = inplace_method(sin)
cos_ = inplace_method(cos)
tan_ = inplace_method(tan)
asin_ = inplace_method(asin)
acos_ = inplace_method(acos)
atan_ = inplace_method(atan)
sinh_ = inplace_method(sinh)
cosh_ = inplace_method(cosh)
tanh_ = inplace_method(tanh)
asinh_ = inplace_method(asinh)
acosh_ = inplace_method(acosh)
atanh_ = inplace_method(atanh)
arcsin_ = inplace_method(arcsin)
arccos_ = inplace_method(arccos)
arctan_ = inplace_method(arctan)
arcsinh_ = inplace_method(arcsinh)
arccosh_ = inplace_method(arccosh)
arctanh_ = inplace_method(arctanh)
sigmoid_ = inplace_method(sigmoid)
relu_ = inplace_method(relu)
erf_ = inplace_method(erf)
erfc_ = inplace_method(erfc)
erfinv_ = inplace_method(erfinv)

_NAMES = (
    "abs", "absolute", "exp", "exp2", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt",
    "reciprocal", "square", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
    "sigmoid", "relu", "erf", "erfc", "erfinv",
)
bind_methods({name: globals()[name] for name in _NAMES})
bind_methods({name + "_": globals()[name + "_"] for name in _NAMES})
bind_methods({"__abs__": abs})
