"""torch.special: the special functions under their SciPy-style names.

Most entries are the torch-level functions under another name (``gammaln`` is ``lgamma``,
``expit`` is ``sigmoid``, ...). The functions only torch.special has are defined here:
i0e, i1, i1e, erfcx, ndtr, ndtri, log_ndtr, entr, xlog1py, zeta, and the gradient-free
modified_bessel_i0/i1 and spherical_bessel_j0.

Not provided (no cheap vectorized form here yet): airy_ai, bessel_j0/j1/y0/y1,
modified_bessel_k0/k1, scaled_modified_bessel_k0/k1, gammainc, gammaincc, and the orthogonal
polynomials (chebyshev_*, hermite_*, laguerre_*, legendre_*).
"""

from __future__ import annotations

import math
import warnings

from dist_torch import _dtype
from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._erf import _RA, _RB, _SA, _SB, _poly, erfc_array, erfinv_array
from dist_torch.ops._pointwise import apply_broadcasting, not_implemented, write_out
from dist_torch.ops._util import promote, scalar_value
from dist_torch.ops.binary_math import Xlogy, xlog_apply, xlogy
from dist_torch.ops.elementwise import add, mul
from dist_torch.ops.softmax import log_softmax as _log_softmax
from dist_torch.ops.softmax import logsumexp
from dist_torch.ops.softmax import softmax as _softmax
from dist_torch.ops.special_functions import (
    bessel_i_array,
    check_input,
    digamma,
    floating,
    i0,
    lgamma,
    logit,
    mvlgamma,
    polygamma,
    quiet,
    sinc,
    unary,
    zeta_array,
)
from dist_torch.ops.unary import erf, erfc, erfinv, exp2, expm1, log1p, round, sigmoid  # noqa: A004

__all__ = [
    "expit", "logit", "xlogy", "xlog1py", "gammaln", "digamma", "psi", "polygamma",
    "multigammaln", "i0", "i0e", "i1", "i1e", "sinc", "erf", "erfc", "erfcx", "erfinv",
    "expm1", "exp2", "log1p", "round", "log_softmax", "softmax", "logsumexp", "ndtr", "ndtri",
    "log_ndtr", "entr", "zeta", "modified_bessel_i0", "modified_bessel_i1",
    "spherical_bessel_j0",
]

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.special")

_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_PI = 1 / math.sqrt(math.pi)

expit = sigmoid
gammaln = lgamma
psi = digamma
multigammaln = mvlgamma


def softmax(input, dim, *, dtype=None) -> Tensor:
    """Softmax along ``dim`` (optionally computed in ``dtype``)."""
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim, *, dtype=None) -> Tensor:
    """Log-softmax along ``dim`` (optionally computed in ``dtype``)."""
    return _log_softmax(input, dim, dtype=dtype)


# --------------------------------------------------------------------------- array kernels

@quiet
def erfcx_array(x):
    """``exp(x**2) * erfc(x)`` of a floating array, in its dtype, without overflow for large
    positive x."""
    xp = array_module(x)
    x64 = xp.asarray(x, dtype=xp.float64)
    direct = xp.exp(x64 * x64) * erfc_array(x64)
    # 1.25 <= x < 28: erfc's tail form exp(-x^2 - 0.5625 + R/S) / x with exp(-x^2) cancelled
    mid = xp.where((x64 >= 1.25) & (x64 < 28), x64, 2.0)
    s = 1.0 / (mid * mid)
    near = mid < 1 / 0.35
    r = xp.where(near, _poly(s, _RA), _poly(s, _RB))
    q = xp.where(near, _poly(s, _SA), _poly(s, _SB))
    tail = xp.exp(-0.5625 + r / q) / mid
    # x >= 28: the asymptotic series 1/(x sqrt(pi)) sum (-1)^k (2k-1)!! / (2x^2)^k
    big = xp.where(x64 >= 28, x64, 28.0)
    inv = 1.0 / (2.0 * big * big)
    term = xp.ones_like(big)
    series = xp.ones_like(big)
    for k in range(1, 10):
        term = term * -(2 * k - 1) * inv
        series = series + term
    asym = series * _INV_SQRT_PI / big
    out = xp.where(x64 >= 28, asym, xp.where(x64 >= 1.25, tail, direct))
    return out.astype(x.dtype, copy=False)


@quiet
def log_ndtr_array(x):
    """log of the standard normal CDF, accurate in both tails."""
    xp = array_module(x)
    x64 = xp.asarray(x, dtype=xp.float64)
    lower = xp.where(x64 < -1, x64, -1.0)
    left = xp.log(erfcx_array(-lower * _SQRT1_2) / 2) - 0.5 * lower * lower
    upper = xp.where(x64 < -1, 0.0, x64)
    right = xp.log1p(-erfc_array(upper * _SQRT1_2) / 2)
    return xp.where(x64 < -1, left, right).astype(x.dtype, copy=False)


@quiet
def ndtri_array(p):
    """The standard normal quantile function (inverse of ndtr)."""
    xp = array_module(p)
    p64 = xp.asarray(p, dtype=xp.float64)
    q = xp.where(p64 > 0.5, 1.0 - p64, p64)           # exact for p > 0.5
    q = xp.where((q > 0) & (q <= 0.5), q, 0.25)        # out-of-range values are set below
    guess = math.sqrt(2) * erfinv_array(2 * q - 1)
    t2 = -2 * xp.log(q)
    tail = -xp.sqrt(t2 - xp.log(t2) - math.log(2 * math.pi))
    x = xp.where(q < 1e-8, tail, guess)
    log_q = xp.log(q)
    for _ in range(4):  # Newton on log(ndtr(x)) = log(q): quadratic from either guess
        lx = log_ndtr_array(x)
        x = x - (lx - log_q) * _SQRT_2PI * xp.exp(lx + 0.5 * x * x)
    x = xp.where(p64 > 0.5, -x, x)
    x = xp.where(p64 == 0, -xp.inf, xp.where(p64 == 1, xp.inf, x))
    x = xp.where((p64 < 0) | (p64 > 1) | xp.isnan(p64), xp.nan, x)
    return x.astype(p.dtype, copy=False)


# sin(x)/x = sum (-1)^k x^2k / (2k+1)!, used below |x| = 0.5
_SINC_SERIES = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(7))


@quiet
def spherical_bessel_j0_array(x):
    """sin(x) / x of a floating array (1 at 0, 0 at +-inf)."""
    xp = array_module(x)
    x64 = xp.asarray(x, dtype=xp.float64)
    small = xp.abs(x64) < 0.5
    x2 = x64 * x64
    series = _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        series = series * x2 + c
    out = xp.where(small, series, xp.sin(x64) / xp.where(small, 1.0, x64))
    out = xp.where(xp.isinf(x64), 0.0, out)
    return out.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- primitives

class SpecialI0E(Primitive):
    def forward(ctx, a):
        out = bessel_i_array(a, 0, True)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        xp = array_module(a)
        return grad * (bessel_i_array(a, 1, True) - xp.sign(a) * out)


class SpecialI1(Primitive):
    def forward(ctx, a):
        out = bessel_i_array(a, 1, False)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        xp = array_module(a)
        d = bessel_i_array(a, 0, False) - out / xp.where(a == 0, 1, a)
        return grad * xp.where(a == 0, xp.asarray(0.5, d.dtype), d)


class SpecialI1E(Primitive):
    def forward(ctx, a):
        out = bessel_i_array(a, 1, True)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        xp = array_module(a)
        d = bessel_i_array(a, 0, True) - out * (xp.sign(a) + 1 / xp.where(a == 0, 1, a))
        return grad * xp.where(a == 0, xp.asarray(0.5, d.dtype), d)


class SpecialErfcx(Primitive):
    def forward(ctx, a):
        out = erfcx_array(a)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return grad * (2 * a * out - 2 * _INV_SQRT_PI)


class SpecialLogNdtr(Primitive):
    def forward(ctx, a):
        out = log_ndtr_array(a)
        ctx.save_for_backward(a, out)
        return out

    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return grad / _SQRT_2PI * array_module(a).exp(-(out + 0.5 * a * a))


class SpecialNdtri(Primitive):
    def forward(ctx, a):
        out = ndtri_array(a)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * _SQRT_2PI * array_module(out).exp(0.5 * out * out)


class SpecialEntr(Primitive):
    """-x log x for x > 0, 0 at 0, -inf below."""

    def forward(ctx, a):
        xp = array_module(a)
        ctx.save_for_backward(a)
        out = -a * xp.log(xp.where(a > 0, a, 1))
        out = xp.where(a < 0, xp.asarray(-xp.inf, a.dtype), out)
        return xp.where(xp.isnan(a), a, out).astype(a.dtype, copy=False)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * -(1 + array_module(a).log(a))


class SpecialXlog1Py(Xlogy):
    _name = "SpecialXlog1PyBackward0"
    _log = "log1p"


class SpecialXlog1PyScalarSelf(SpecialXlog1Py):
    _name = "SpecialXlog1PyBackward1"


class SpecialXlog1PyScalarOther(SpecialXlog1Py):
    _name = "SpecialXlog1PyBackward2"


class SpecialZeta(Primitive):
    """Hurwitz zeta; the derivative in ``x`` is not implemented (as in torch), the one in
    ``q`` is ``-x * zeta(x + 1, q)``."""

    _name = "SpecialZetaBackward0"

    def forward(ctx, s, q):
        ref = s if hasattr(s, "dtype") else q
        ctx.save_for_backward(s if hasattr(s, "dtype") else None,
                              q if hasattr(q, "dtype") else None)
        ctx.s, ctx.q = s, q
        return zeta_array(s, q).astype(ref.dtype, copy=False)

    def backward(ctx, grad):
        s, q = ctx.saved_tensors
        s = ctx.s if s is None else s
        q = ctx.q if q is None else q
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        d = zeta_array(s + 1.0, q).astype(grad.dtype, copy=False)
        return None, -grad * s * d


class SpecialZetaScalarSelf(SpecialZeta):
    _name = "SpecialZetaBackward1"


class SpecialZetaScalarOther(SpecialZeta):
    _name = "SpecialZetaBackward2"


# --------------------------------------------------------------------------- public functions

def _no_half(op, fname, doc):
    """A float-valued unary function that torch does not implement for 16-bit floats."""
    base = unary(op, fname, doc)

    def fn(input, *, out=None) -> Tensor:
        check_input(fname, input)
        dtype = input._data.dtype
        if dtype.kind not in "biu" and _dtype.from_numpy_dtype(dtype).itemsize == 2:
            raise not_implemented(f"{fname}_cpu", dtype)
        return base(input, out=out)
    fn.__name__ = fn.__qualname__ = fname
    fn.__doc__ = doc
    return fn


i0e = unary(SpecialI0E, "i0e", "The exponentially scaled Bessel function "
                                "``exp(-|x|) * i0(x)``.")
i1 = unary(SpecialI1, "i1", "The modified Bessel function of the first kind, order 1.")
i1e = unary(SpecialI1E, "i1e", "The exponentially scaled Bessel function "
                               "``exp(-|x|) * i1(x)``.")
entr = unary(SpecialEntr, "entr", "The elementwise entropy ``-x * log(x)`` (0 at 0, -inf "
                                  "for negative x).")
erfcx = _no_half(SpecialErfcx, "erfcx", "The scaled complementary error function "
                                        "``exp(x**2) * erfc(x)``.")
log_ndtr = _no_half(SpecialLogNdtr, "log_ndtr", "The log of the standard normal CDF, accurate "
                                                "in the tails.")
ndtri = _no_half(SpecialNdtri, "ndtri", "The standard normal quantile: ``ndtr(ndtri(p)) = p``.")


def _no_grad(kernel, fname, doc):
    """A function torch computes without autograd support (the result never requires grad)."""
    def fn(input, *, out=None) -> Tensor:
        check_input(fname, input)
        a = floating(input)._data
        if _dtype.from_numpy_dtype(a.dtype).itemsize == 2:
            raise not_implemented(f"{fname}_cpu", a.dtype)
        result = _wrap(kernel(a))
        return result if out is None else write_out(out, result, fname)
    fn.__name__ = fn.__qualname__ = fname
    fn.__doc__ = doc
    return fn


modified_bessel_i0 = _no_grad(lambda a: bessel_i_array(a, 0, False), "modified_bessel_i0",
                              "The modified Bessel function of the first kind, order 0 "
                              "(no gradient, as in torch).")
modified_bessel_i1 = _no_grad(lambda a: bessel_i_array(a, 1, False), "modified_bessel_i1",
                              "The modified Bessel function of the first kind, order 1 "
                              "(no gradient, as in torch).")
spherical_bessel_j0 = _no_grad(spherical_bessel_j0_array, "spherical_bessel_j0",
                               "The spherical Bessel function of the first kind, order 0: "
                               "``sin(x) / x`` (no gradient, as in torch).")


def ndtr(input, *, out=None) -> Tensor:
    """The standard normal CDF ``(1 + erf(x / sqrt(2))) / 2``."""
    check_input("ndtr", input)
    result = mul(add(erf(mul(floating(input), _SQRT1_2)), 1), 0.5)
    return result if out is None else write_out(out, result, "special_ndtr")


def xlog1py(input, other, *, out=None) -> Tensor:
    """``input * log1p(other)``, 0 where ``input == 0`` (unless ``other`` is NaN); either
    argument may be a number."""
    return xlog_apply("xlog1py", (SpecialXlog1Py, SpecialXlog1PyScalarSelf,
                                  SpecialXlog1PyScalarOther), input, other, out)


def zeta(input, other, *, out=None) -> Tensor:
    """The Hurwitz zeta function ``sum_k (k + other) ** -input``; either argument may be a
    number.

    Example::

        >>> torch.special.zeta(torch.tensor([2., 4.]), 1.)
        tensor([1.6449, 1.0823])
    """
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"special_zeta() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected at "
                        "least one Tensor")
    s, q = promote(scalar_value(input), scalar_value(other))
    s = floating(s) if isinstance(s, Tensor) else float(s)
    q = floating(q) if isinstance(q, Tensor) else float(q)
    dtype = (s if isinstance(s, Tensor) else q)._data.dtype
    if _dtype.from_numpy_dtype(dtype).itemsize == 2:
        raise not_implemented("zeta_cpu", dtype)
    if isinstance(s, Tensor) and isinstance(q, Tensor):
        result = apply_broadcasting(SpecialZeta, s, q)
    elif isinstance(q, Tensor):
        result = SpecialZetaScalarSelf.apply(s, q)
    else:
        result = SpecialZetaScalarOther.apply(s, q)
    return result if out is None else write_out(out, result, "special_zeta")

