"""Activation functions as fused primitives (forward and backward on arrays, one graph node each).

The ``nn.functional`` wrappers (``dist_torch/nn/functional/activation.py``) validate arguments
and call these. float16/bfloat16 inputs are computed in float32 and rounded once, as torch's
CPU kernels do; backward then works in float32 and the engine casts the gradient back.

On floating CuPy arrays, gelu (both forms) and silu run on the fused CUDA bias+activation
kernel, one launch each way (:func:`kernel_act_forward`, also used by relu, tanh and sigmoid).

torch-level functions (``torch.selu``, ``torch.celu``, ``torch.prelu``, ``torch.rrelu``,
``torch.threshold``, ``torch.hardshrink`` and their in-place forms) are defined here too.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dist_torch import backend as _backend
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._erf import erf_array
from dist_torch.ops._pointwise import not_implemented
from dist_torch.ops._reduce import LOW_FLOATS
from dist_torch.ops.inplace import inplace

try:  # SciPy's erf is ~4x faster than the portable one; it is optional
    from scipy.special import erf as _scipy_erf
except ImportError:  # pragma: no cover
    _scipy_erf = None

__all__ = [
    "selu", "selu_", "celu", "celu_", "prelu", "rrelu", "rrelu_", "threshold", "threshold_",
    "hardshrink",
]

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.activation")

_F32 = np.dtype(np.float32)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)
_TANH_C = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _widen(a):
    """Half-precision arrays are computed in float32 (rounded once at the end)."""
    return a.astype(_F32) if a.dtype in LOW_FLOATS else a


def _finish(out, a):
    return out if out.dtype == a.dtype else out.astype(a.dtype)


def _erf(x):
    if _scipy_erf is not None and type(x) is np.ndarray:
        return _scipy_erf(x)
    return erf_array(x)


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) without a second temporary (overflow to inf gives exactly 0)."""
    with np.errstate(over="ignore"):
        out = xp.exp(-x)
    if out.ndim:
        out += 1
        return xp.reciprocal(out, out=out)
    return 1 / (1 + out)


def log1p(xp, y):
    """``log(1 + y)``. NumPy's float32 log1p is scalar code; ``log(u) - ((u - 1) - y) / u``
    with ``u = 1 + y`` is as accurate (a few ulps) and twice as fast."""
    if xp is not np or y.dtype != _F32:
        return xp.log1p(y)
    u = 1 + y
    out = xp.log(u)
    c = u - 1
    c -= y
    c /= u
    out -= c
    return out


def expm1(xp, x):
    """``exp(x) - 1``, accurate near 0; float32 NumPy uses ``tanh(x/2) * (exp(x) + 1)``
    (vectorized functions, 2.5x faster than NumPy's scalar float32 expm1)."""
    if xp is not np or x.dtype != _F32:
        return xp.expm1(x)
    out = xp.tanh(x * 0.5)
    out *= xp.exp(x) + 1
    return out


def _softplus(xp, x):
    """log(1 + exp(x)) computed stably: max(x, 0) + log1p(exp(-|x|))."""
    return xp.maximum(x, 0) + log1p(xp, xp.exp(-xp.abs(x)))


# --------------------------------------------------------------------------- CUDA kernel path

def act_on_gpu(a) -> bool:
    """Whether an activation of ``a`` runs on the CUDA bias+activation kernel (floating CuPy
    arrays)."""
    return a.size > 0 and _backend.use_kernels(a, "activation")


def kernel_act(a, act):
    """``act(a)`` in one launch of the CUDA bias+activation kernel."""
    return _backend.kernels().bias_act_forward(a, None, act)


def kernel_act_forward(ctx, a, act, save_output=False):
    """``act(a)`` with the CUDA kernel; saves ``a`` (or, with ``save_output``, the result,
    which only relu's derivative can be computed from) for :func:`kernel_act_backward`."""
    out = kernel_act(a, act)
    ctx._kernel_act = act
    ctx.save_for_backward(out if save_output else a)
    return out


def kernel_act_backward(ctx, grad):
    """``grad * act'(x)`` with the CUDA kernel, for a node whose forward ran
    :func:`kernel_act_forward` (its ``_kernel_act`` is set)."""
    return _backend.kernels().bias_act_backward(grad, ctx.saved_tensors[0], None,
                                                ctx._kernel_act)[0]


# --------------------------------------------------------------------------- primitives

class Gelu(Primitive):
    """``x * Phi(x)`` (exact, with erf) or its tanh approximation."""

    _kernel_act = None  # the kernel's activation name, when forward ran it

    def forward(ctx, a, approximate="none"):
        if act_on_gpu(a):
            return kernel_act_forward(ctx, a, "gelu_tanh" if approximate == "tanh" else "gelu")
        xp = array_module(a)
        x = _widen(a)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = _TANH_K * (x + _TANH_C * x * x * x)
            t = xp.tanh(inner)
            out = 0.5 * x * (1 + t)
            ctx.save_for_backward(x, t)
        else:
            cdf = 0.5 * (1 + _erf(x * _SQRT_HALF))
            out = x * cdf
            ctx.save_for_backward(x, cdf)
        return _finish(out, a)

    def backward(ctx, grad):
        if ctx._kernel_act:
            return kernel_act_backward(ctx, grad)
        x, aux = ctx.saved_tensors
        xp = array_module(x)
        if ctx.approximate == "tanh":
            t = aux
            dinner = _TANH_K * (1 + 3 * _TANH_C * x * x)
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner
        else:
            d = aux + x * (_INV_SQRT_2PI * xp.exp(-0.5 * x * x))
        return grad * d


class Silu(Primitive):
    _kernel_act = None  # the kernel's activation name, when forward ran it

    def forward(ctx, a):
        if act_on_gpu(a):
            return kernel_act_forward(ctx, a, "silu")
        xp = array_module(a)
        x = _widen(a)
        s = _sigmoid(xp, x)
        ctx.save_for_backward(x, s)
        return _finish(x * s, a)

    def backward(ctx, grad):
        if ctx._kernel_act:
            return kernel_act_backward(ctx, grad)
        x, s = ctx.saved_tensors
        return grad * (s * (1 + x * (1 - s)))


class Mish(Primitive):
    def forward(ctx, a):
        xp = array_module(a)
        x = _widen(a)
        tsp = xp.tanh(_softplus(xp, x))
        ctx.save_for_backward(x, tsp)
        return _finish(x * tsp, a)

    def backward(ctx, grad):
        x, tsp = ctx.saved_tensors
        s = _sigmoid(array_module(x), x)
        return grad * (tsp + x * s * (1 - tsp * tsp))


class Elu(Primitive):
    """``scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1))``: elu, selu and celu."""

    def forward(ctx, a, alpha=1.0, scale=1.0, input_scale=1.0):
        xp = array_module(a)
        x = _widen(a)
        ctx.coef = alpha * scale * input_scale
        ctx.scale = scale
        xn = xp.minimum(x, 0)
        if input_scale != 1:
            xn *= input_scale
        e = xp.exp(xn)  # kept: the derivative on the negative side is coef * e
        if xp is np and xn.dtype == _F32:
            neg = xp.tanh(xn * 0.5)
            neg *= e + 1  # expm1(xn), see expm1()
        else:
            neg = xp.expm1(xn)
        neg *= alpha * scale
        pos = x > 0
        out = xp.where(pos, x * scale if scale != 1 else x, neg)
        ctx.save_for_backward(pos, e)
        return _finish(out, a)

    def backward(ctx, grad):
        pos, e = ctx.saved_tensors
        return grad * array_module(e).where(pos, ctx.scale, e * ctx.coef)


class Celu(Elu):
    _name = "CeluBackward0"


class LeakyRelu(Primitive):
    def forward(ctx, a, negative_slope=0.01):
        xp = array_module(a)
        ctx.slope = negative_slope
        pos = a > 0
        ctx.save_for_backward(pos)
        x = _widen(a)
        return _finish(xp.where(pos, x, x * negative_slope), a)

    def backward(ctx, grad):
        (pos,) = ctx.saved_tensors
        return array_module(grad).where(pos, grad, grad * ctx.slope)


class RreluWithNoise(Primitive):
    """Leaky ReLU with a slope per element (random in training, the mean slope in eval)."""

    def forward(ctx, a, noise):
        pos = a > 0
        slopes = array_module(a).where(pos, 1, noise).astype(a.dtype, copy=False)
        ctx.save_for_backward(slopes)
        return a * slopes

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Softplus(Primitive):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""

    def forward(ctx, a, beta=1.0, threshold=20.0):
        xp = array_module(a)
        x = _widen(a)
        ctx.beta = beta
        ctx.threshold = threshold
        bx = x * beta if beta != 1 else x
        soft = _softplus(xp, bx)
        if beta != 1:
            soft /= beta
        ctx.save_for_backward(x)
        return _finish(xp.where(bx > threshold, x, soft), a)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xp = array_module(x)
        bx = x * ctx.beta if ctx.beta != 1 else x
        return grad * xp.where(bx > ctx.threshold, 1, _sigmoid(xp, bx))


class Hardtanh(Primitive):
    """``clamp(x, min_val, max_val)``; the gradient is zero outside the open interval."""

    def forward(ctx, a, min_val=-1.0, max_val=1.0):
        inside = (a > min_val) & (a < max_val)
        ctx.save_for_backward(inside)
        return array_module(a).clip(a, min_val, max_val).astype(a.dtype, copy=False)

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class LogSigmoid(Primitive):
    def forward(ctx, a):
        xp = array_module(a)
        x = _widen(a)
        ctx.save_for_backward(x)
        return _finish(xp.minimum(x, 0) - log1p(xp, xp.exp(-xp.abs(x))), a)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * _sigmoid(array_module(x), -x)


class Hardsigmoid(Primitive):
    def forward(ctx, a):
        xp = array_module(a)
        x = _widen(a)
        ctx.save_for_backward((x > -3) & (x < 3))
        return _finish(xp.clip(x / 6 + 0.5, 0, 1), a)

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0] * (1 / 6)


class Hardswish(Primitive):
    def forward(ctx, a):
        xp = array_module(a)
        x = _widen(a)
        ctx.save_for_backward(x)
        return _finish(x * xp.clip(x + 3, 0, 6) / 6, a)

    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xp = array_module(x)
        d = xp.where(x <= -3, 0, xp.where(x < 3, x / 3 + 0.5, 1))
        return grad * d


class Threshold(Primitive):
    """``x if x > threshold else value``."""

    def forward(ctx, a, threshold, value):
        keep = a > threshold
        ctx.save_for_backward(keep)
        return array_module(a).where(keep, a, value).astype(a.dtype, copy=False)

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Hardshrink(Primitive):
    def forward(ctx, a, lambd=0.5):
        keep = (a > lambd) | (a < -lambd)
        ctx.save_for_backward(keep)
        return a * keep

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class Softshrink(Primitive):
    def forward(ctx, a, lambd=0.5):
        xp = array_module(a)
        keep = (a > lambd) | (a < -lambd)
        ctx.save_for_backward(keep)
        return xp.where(keep, a - xp.sign(a).astype(a.dtype) * lambd, 0).astype(a.dtype)

    def backward(ctx, grad):
        return grad * ctx.saved_tensors[0]


class PreluKernel(Primitive):
    """``x if x > 0 else weight * x``, ``weight`` broadcast along the channel dim (dim 1)."""

    def forward(ctx, a, weight):
        xp = array_module(a)
        w = weight
        if weight.size > 1:
            w = weight.reshape((-1,) + (1,) * (a.ndim - 2))
        elif weight.ndim:
            w = weight.reshape(())
        ctx.w_shape = weight.shape
        pos = a > 0
        ctx.save_for_backward(a, w, pos)
        return xp.where(pos, a, a * w)

    def backward(ctx, grad):
        a, w, pos = ctx.saved_tensors
        xp = array_module(grad)
        needs = ctx.needs_input_grad
        ga = xp.where(pos, grad, grad * w) if needs[0] else None
        gw = None
        if needs[1]:
            contrib = xp.where(pos, 0, a * grad)
            if w.ndim:
                axes = (0,) + tuple(range(2, a.ndim))
                gw = contrib.sum(axis=axes).reshape(ctx.w_shape)
            else:
                gw = contrib.sum().reshape(ctx.w_shape)
        return ga, gw


class Glu(Primitive):
    """``a * sigmoid(b)`` where ``a, b`` are the halves of the input along ``dim``."""

    def forward(ctx, x, dim):
        xp = array_module(x)
        half = x.shape[dim] // 2
        first, second = xp.split(x, [half], axis=dim)
        s = _sigmoid(xp, _widen(second))
        ctx.dim = dim
        ctx.save_for_backward(first, s)
        return _finish(first * s, x)

    def backward(ctx, grad):
        first, s = ctx.saved_tensors
        xp = array_module(grad)
        ga = grad * s
        gb = ga * first * (1 - s)
        return xp.concatenate([ga, gb], axis=ctx.dim)


# --------------------------------------------------------------------------- helpers

def check_floating(input: Tensor, kernel: str) -> None:
    """torch's NotImplementedError for the float-only kernels on integer/bool tensors."""
    kind = input._data.dtype.kind
    if kind in "biu":
        raise not_implemented(kernel, input._data.dtype)


def run(fn, input, inplace_: bool, *args):
    """``fn(input, *args)``, or its in-place form writing into ``input``."""
    if inplace_:
        return inplace(input, fn, *args)
    return fn(input, *args)


# --------------------------------------------------------------------------- torch-level API

def _elu(input, alpha, scale, input_scale, op=Elu):
    check_floating(input, "elu_cpu")
    return op.apply(input, alpha, scale, input_scale)


def selu(input) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalizing constants of Klambauer et al."""
    return _elu(input, SELU_ALPHA, SELU_SCALE, 1.0)


def celu(input, alpha=1.0) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _elu(input, alpha, 1.0, 1.0 / alpha, Celu)


def selu_(input) -> Tensor:
    return inplace(input, selu)


def celu_(input, alpha=1.0) -> Tensor:
    return inplace(input, celu, alpha)


def threshold(input, threshold, value) -> Tensor:  # noqa: A002 - torch name
    """``input`` where it is greater than ``threshold``, else ``value``."""
    if input._data.dtype.kind == "b":
        raise not_implemented("threshold_cpu", input._data.dtype)
    return Threshold.apply(input, threshold, value)


def threshold_(input, threshold, value) -> Tensor:  # noqa: A002 - torch name
    return inplace(input, globals()["threshold"], threshold, value)


def hardshrink(input, lambd=0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    check_floating(input, "hardshrink_cpu")
    return Hardshrink.apply(input, lambd)


@autocast_op("prelu")
def prelu(input, weight) -> Tensor:
    """``max(0, x) + weight * min(0, x)`` with one learnable slope per channel (dim 1).

    Shape:
        input ``(N, C, *)`` or any shape when ``weight`` has one element; weight ``(C,)``,
        ``(1,)`` or ``()``.
    """
    a, w = input._data, weight._data
    if a.dtype.kind in "biu":
        raise not_implemented("prelu_cpu", a.dtype)
    if w.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {w.ndim}")
    if w.dtype != a.dtype:
        from dist_torch.ops._reduce import type_name
        raise RuntimeError(f"prelu: Type promoting not supported. Got {type_name(a.dtype)} and "
                           f"{type_name(w.dtype)}")
    channels = a.shape[1] if a.ndim >= 2 else 1
    if w.size != 1 and w.size != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {w.size} and channel size = {channels}.")
    return PreluKernel.apply(input, weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None) -> Tensor:
    """Randomized leaky ReLU: slopes drawn from U(lower, upper) in training, else their mean."""
    check_floating(input, "leaky_relu_cpu")
    a = input._data
    if training:
        from dist_torch.random import on_device_of, rng_of
        work = np.float64 if a.dtype == np.float64 else np.float32
        noise = rng_of(generator).uniform(lower, upper, size=a.shape).astype(work)
        noise = on_device_of(noise, a)
    else:
        noise = (lower + upper) / 2
    return RreluWithNoise.apply(input, noise)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None) -> Tensor:
    return inplace(input, rrelu, lower, upper, training, generator)


bind_methods({"prelu": prelu, "hardshrink": hardshrink})
