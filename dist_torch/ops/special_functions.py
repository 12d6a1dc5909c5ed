"""Special functions: lgamma, digamma, polygamma, mvlgamma, i0, sinc, logit, deg2rad, rad2deg,
with gradients; the array kernels (``*_array``) also serve :mod:`dist_torch.special`.

NumPy has none of the gamma family, so each is built from array ops here, in float64:

* Hurwitz zeta ``zeta(s, q)`` (q > 0): nine terms of the sum, then the Euler-Maclaurin tail
  with twelve Bernoulli corrections. For q < 0 (integer s) the negative terms are folded into
  zetas of positive arguments. polygamma(n >= 1, x) = (-1)^(n+1) n! zeta(n+1, x).
* lgamma: a Taylor series of lgamma(2 + z) (coefficients from zeta(k, 2)) on [-0.5, 2.5),
  downward recurrence into it below 10, Stirling's series from 10 on, reflection below -0.5.
* digamma: upward recurrence to x >= 10 then the asymptotic series; reflection for x < 0 with
  torch's reduction of the argument.
* i0/i1 (and their exponentially scaled forms): the power series up to |x| = 20, Hankel's
  asymptotic series above.
"""

from __future__ import annotations

import functools
import math
import warnings
from fractions import Fraction

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import inplace_method, write_out
from dist_torch.ops._util import cast

__all__ = [
    "lgamma", "digamma", "polygamma", "mvlgamma", "i0", "sinc", "logit", "deg2rad", "rad2deg",
    "i0_", "sinc_", "logit_", "deg2rad_", "rad2deg_",
]

warnings.filterwarnings("ignore", category=RuntimeWarning,
                        module=r"dist_torch\.ops\.special_functions")

# B_2, B_4, ..., B_24
_BERNOULLI = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
              Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510),
              Fraction(43867, 798), Fraction(-174611, 330), Fraction(854513, 138),
              Fraction(-236364091, 2730))
# Euler-Maclaurin: B_2j / (2j)!
_EM = tuple(float(b / math.factorial(2 * j + 2)) for j, b in enumerate(_BERNOULLI))
# digamma ~ log x - 1/(2x) - sum B_2k / (2k x^2k)
_PSI = tuple(float(b / (2 * k + 2)) for k, b in enumerate(_BERNOULLI[:8]))
# lgamma ~ (x - 1/2) log x - x + log(2 pi)/2 + sum B_2k / (2k (2k-1) x^(2k-1))
_STIRLING = tuple(float(b / ((2 * k + 2) * (2 * k + 1))) for k, b in enumerate(_BERNOULLI[:9]))
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_EULER = 0.57721566490153286061


def quiet(fn):
    """Run an array kernel with NumPy's floating-point warnings off (inf/NaN are results)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    return wrapper


def _f64(x):
    xp = array_module(x)
    return xp, xp.asarray(x, dtype=xp.float64)


def _tan_pi_frac(xp, x):
    """tan(pi * r), r the fractional part of x (as torch reduces it)."""
    return xp.tan(math.pi * (x - xp.trunc(x)))


# --------------------------------------------------------------------------- zeta

def _zeta_positive(xp, s, q):
    """Hurwitz zeta for s > 1, q > 0 (Euler-Maclaurin, float64 arrays)."""
    total = q ** -s
    for k in range(1, 9):
        total = total + (q + k) ** -s
    a = q + 9
    b = a ** -s
    total = total + a * b / (s - 1) + 0.5 * b
    rising = s                        # s (s+1) ... (s + 2j - 2)
    power = b / a                     # a ** (-s - 2j + 1)
    for j, coef in enumerate(_EM):
        total = total + coef * rising * power
        rising = rising * (s + 2 * j + 1) * (s + 2 * j + 2)
        power = power / (a * a)
    return total


@quiet
def zeta_array(s, q):
    """Hurwitz zeta ``sum_k (k + q) ** -s`` of broadcast float64 arrays, as torch defines it:
    inf for s == 1 or q a non-positive integer, NaN for s < 1 or (q < 0 and s not integer)."""
    xp = array_module(s if hasattr(s, "dtype") else q)
    s, q = xp.broadcast_arrays(xp.asarray(s, dtype=xp.float64), xp.asarray(q, dtype=xp.float64))
    neg = q < 0
    m = xp.ceil(-q)
    # the terms k < m are negative bases: (-1)^s (zeta(s, g) - zeta(s, g + m)), g = 1 - (q + m)
    g = -(q + (m - 1))
    q_pos = xp.where(neg, q + m, q)
    out = _zeta_positive(xp, s, q_pos)
    if neg.any():
        sign = xp.where(xp.fmod(s, 2) == 0, 1.0, -1.0)
        folded = sign * (_zeta_positive(xp, s, g) - _zeta_positive(xp, s, g + m))
        out = xp.where(neg, out + folded, out)
        out = xp.where(neg & (s != xp.floor(s)), xp.nan, out)
    out = xp.where((q <= 0) & (q == xp.floor(q)), xp.inf, out)
    out = xp.where(s < 1, xp.nan, xp.where(s == 1, xp.inf, out))
    return xp.where(xp.isnan(s) | xp.isnan(q), xp.nan, out)


# --------------------------------------------------------------------------- lgamma

# lgamma(2 + z) = (1 - gamma) z + sum_{k>=2} (-1)^k zeta(k, 2) / k z^k, used for |z| <= 0.5
_K = np.arange(2, 32, dtype=np.float64)
_LG2 = (0.0, 1.0 - _EULER) + tuple(
    float(c) for c in (-1.0) ** _K * _zeta_positive(np, _K, np.full_like(_K, 2.0)) / _K)


def _lgamma2(xp, z):
    """lgamma(2 + z) for |z| <= 0.5."""
    out = _LG2[-1]
    for c in _LG2[-2::-1]:
        out = out * z + c
    return out


def _lgamma_positive(xp, x):
    """lgamma for x > -0.5 (x != 0), float64."""
    big = x >= 10
    xb = xp.where(big, x, 10.0)
    inv2 = 1.0 / (xb * xb)
    series = _STIRLING[-1]
    for c in _STIRLING[-2::-1]:
        series = series * inv2 + c
    stirling = (xb - 0.5) * xp.log(xb) - xb + _HALF_LOG_2PI + series / xb
    # below 10: shift into [1.5, 2.5) with lgamma(x) = log((x-1)...(x-n)) + lgamma(x-n)
    xs = xp.where(big, 2.0, x)
    n = xp.where(xs >= 2.5, xp.floor(xs - 1.5), 0.0)
    prod = xp.ones_like(xs)
    for k in range(1, 9):
        prod = xp.where(n >= k, prod * (xs - k), prod)
    z = xs - n - 2.0
    small = xs < 1.5
    low = xs < 0.5
    # [0.5, 1.5): lgamma(1 + z') - with z' = x - 1 - through lgamma(2 + z') - log1p(z');
    # (-0.5, 0.5): lgamma(x) = lgamma(2 + x) - log1p(x) - log|x|
    z = xp.where(low, xs, xp.where(small, xs - 1.0, z))
    body = _lgamma2(xp, z)
    body = xp.where(small, body - xp.log1p(z), body + xp.log(prod))
    body = xp.where(low, body - xp.log(xp.abs(xs)), body)
    return xp.where(big, stirling, body)


@quiet
def lgamma_array(x):
    """log|Gamma(x)| of a floating array, in its dtype (+inf at the poles)."""
    xp, x64 = _f64(x)
    refl = x64 < -0.5
    y = xp.where(refl, 1.0 - x64, x64)
    out = _lgamma_positive(xp, y)
    if refl.any():
        # lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x)
        sin_pi = xp.abs(xp.sin(math.pi * (x64 - xp.round(x64))))
        out = xp.where(refl, math.log(math.pi) - xp.log(sin_pi) - out, out)
    pole = (x64 <= 0) & (x64 == xp.floor(x64))
    out = xp.where(pole | xp.isinf(x64), xp.inf, out)
    return out.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- digamma

@quiet
def digamma_array(x):
    """digamma (psi) of a floating array, in its dtype; -inf at +0, +inf at -0, NaN at
    negative integers, as torch."""
    xp, x64 = _f64(x)
    refl = x64 < 0
    y = xp.where(refl, 1.0 - x64, x64)
    out = xp.zeros_like(y)
    for _ in range(10):
        shift = y < 10
        out = out - xp.where(shift, 1.0 / xp.where(shift, y, 1.0), 0.0)
        y = xp.where(shift, y + 1.0, y)
    inv2 = 1.0 / (y * y)
    series = _PSI[-1]
    for c in _PSI[-2::-1]:
        series = series * inv2 + c
    out = out + xp.log(y) - 0.5 / y - series * inv2
    if refl.any():
        out = xp.where(refl, out - math.pi / _tan_pi_frac(xp, x64), out)
        out = xp.where(refl & (x64 == xp.trunc(x64)), xp.nan, out)
    out = xp.where(x64 == 0, xp.copysign(xp.inf, -x64), out)
    return out.astype(x.dtype, copy=False)


@quiet
def polygamma_array(n: int, x):
    """The n-th derivative of digamma, of a floating array, in its dtype."""
    if n == 0:
        return digamma_array(x)
    xp, x64 = _f64(x)
    out = zeta_array(float(n + 1), x64)
    out = float(math.factorial(n)) * out if n < 171 else out * math.inf
    return (out if n % 2 else -out).astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- Bessel I0 / I1

_SERIES_TERMS = 46
_ASYMPTOTIC_TERMS = 24


@quiet
def bessel_i_array(x, order: int, scaled: bool):
    """I_order(x) (order 0 or 1), times exp(-|x|) if ``scaled``, of a floating array."""
    xp, x64 = _f64(x)
    ax = xp.abs(x64)
    near = ax <= 20
    # power series: sum (x^2/4)^k / (k! (k + order)!), times (x/2)^order
    xs = xp.where(near, ax, 0.0)
    t = 0.25 * xs * xs
    term = xp.ones_like(xs)
    total = xp.ones_like(xs)
    for k in range(1, _SERIES_TERMS):
        term = term * t / (k * (k + order))
        total = total + term
    if order:
        total = total * (0.5 * xs)
    total = total * xp.exp(-xs) if scaled else total
    # Hankel: e^x / sqrt(2 pi x) * sum (-1)^k prod_j (4 order^2 - (2j-1)^2) / (k! (8x)^k)
    xf = xp.where(near, 20.0, ax)
    term = xp.ones_like(xf)
    tail = xp.ones_like(xf)
    mu = 4.0 * order * order
    for k in range(1, _ASYMPTOTIC_TERMS):
        term = term * -(mu - (2 * k - 1) ** 2) / (k * 8.0 * xf)
        tail = tail + term
    tail = tail / xp.sqrt(2 * math.pi * xf)
    if not scaled:
        half = xp.exp(0.5 * xf)  # e^x split in two so that it overflows only when I does
        tail = tail * half * half
    out = xp.where(near, total, tail)
    if order:
        out = xp.where(x64 < 0, -out, out)
    return out.astype(x.dtype, copy=False)


# --------------------------------------------------------------------------- primitives

class Lgamma(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return lgamma_array(a)

    def backward(ctx, grad):
        return grad * digamma_array(ctx.saved_tensors[0])


class Digamma(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return digamma_array(a)

    def backward(ctx, grad):
        return grad * polygamma_array(1, ctx.saved_tensors[0])


class Polygamma(Primitive):
    def forward(ctx, a, n):
        ctx.n = n
        ctx.save_for_backward(a)
        return polygamma_array(n, a)

    def backward(ctx, grad):
        return grad * polygamma_array(ctx.n + 1, ctx.saved_tensors[0])


class Mvlgamma(Primitive):
    """sum_{j<p} lgamma(x - j/2) + p(p-1)/4 log(pi)."""

    def forward(ctx, a, p):
        ctx.p = p
        ctx.save_for_backward(a)
        out = p * (p - 1) / 4 * math.log(math.pi)
        for j in range(p):
            out = out + lgamma_array(a - 0.5 * j)
        return array_module(a).asarray(out, dtype=a.dtype)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        total = 0
        for j in range(ctx.p):
            total = total + digamma_array(a - 0.5 * j)
        return grad * total


class I0(Primitive):
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return bessel_i_array(a, 0, False)

    def backward(ctx, grad):
        return grad * bessel_i_array(ctx.saved_tensors[0], 1, False)


class Sinc(Primitive):
    """sin(pi x) / (pi x), 1 at 0."""

    def forward(ctx, a):
        xp = array_module(a)
        ctx.save_for_backward(a)
        px = math.pi * a
        out = xp.sin(px) / xp.where(a == 0, 1, px)
        return xp.where(a == 0, xp.ones((), a.dtype), out).astype(a.dtype, copy=False)

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        xp = array_module(a)
        px = math.pi * a
        d = (px * xp.cos(px) - xp.sin(px)) / xp.where(a == 0, 1, px * a)
        return grad * xp.where(a == 0, xp.zeros((), a.dtype), d).astype(a.dtype, copy=False)


class Logit(Primitive):
    """log(x / (1 - x)) of x clamped to [eps, 1 - eps] when eps is given."""

    def forward(ctx, a, eps):
        xp = array_module(a)
        ctx.eps = eps
        ctx.save_for_backward(a)
        x = a if eps is None else xp.clip(a, eps, 1 - eps).astype(a.dtype, copy=False)
        return xp.log(x / (1 - x))

    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        xp = array_module(a)
        d = grad / (a * (1 - a))
        if ctx.eps is None:
            outside = (a < 0) | (a > 1)
            return xp.where(outside, xp.asarray(xp.nan, d.dtype), d)
        outside = (a < ctx.eps) | (a > 1 - ctx.eps)
        return xp.where(outside, xp.zeros((), d.dtype), d)


class Deg2Rad(Primitive):
    def forward(ctx, a):
        return a * (math.pi / 180)

    def backward(ctx, grad):
        return grad * (math.pi / 180)


class Rad2Deg(Primitive):
    def forward(ctx, a):
        return a * (180 / math.pi)

    def backward(ctx, grad):
        return grad * (180 / math.pi)


# --------------------------------------------------------------------------- public functions

def floating(a: Tensor) -> Tensor:
    """``a``, cast to the default float dtype when it is integer or bool."""
    if a._data.dtype.kind in "biu":
        return cast(a, _dtype.get_default_dtype().numpy_dtype)
    return a


def check_input(fname: str, a, argname="input", position=1) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be "
                        f"Tensor, not {type(a).__name__}")


def unary(op, fname: str, doc: str):
    """A float-valued function of one tensor with ``out=``."""
    def fn(input, *, out=None) -> Tensor:
        check_input(fname, input)
        result = op.apply(floating(input))
        return result if out is None else write_out(out, result, fname)
    fn.__name__ = fn.__qualname__ = fname
    fn.__doc__ = doc
    return fn


lgamma = unary(Lgamma, "lgamma", "log|Gamma(input)|; +inf at 0 and the negative integers.")
digamma = unary(Digamma, "digamma", "The logarithmic derivative of Gamma, psi(input); -inf at "
                                    "0 and NaN at the negative integers.")
i0 = unary(I0, "i0", "The modified Bessel function of the first kind, order 0.")
sinc = unary(Sinc, "sinc", "The normalized sinc ``sin(pi x) / (pi x)`` (1 at 0).")
deg2rad = unary(Deg2Rad, "deg2rad", "Degrees to radians.")
rad2deg = unary(Rad2Deg, "rad2deg", "Radians to degrees.")


def _order_n(n):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return int(n)


def polygamma(n, input, *, out=None) -> Tensor:
    """The ``n``-th derivative of digamma at ``input`` (``n = 0`` is digamma).

    Example::

        >>> torch.polygamma(1, torch.tensor([1., 0.5]))
        tensor([1.6449, 4.9348])
    """
    n = _order_n(n)
    check_input("polygamma", input, position=2)
    result = Polygamma.apply(floating(input), n=n)
    return result if out is None else write_out(out, result, "polygamma")


def _polygamma_method(self, n):
    return polygamma(n, self)


def _polygamma_inplace(self, n):
    return inplace_method(_polygamma_method)(self, n)


def mvlgamma(input, p, *, out=None) -> Tensor:
    """The multivariate log-gamma of dimension ``p``:
    ``sum_{j<p} lgamma(input - j/2) + p (p - 1) / 4 * log(pi)``."""
    check_input("mvlgamma", input)
    if not isinstance(p, (int, np.integer)) or isinstance(p, bool):
        raise TypeError(f"mvlgamma(): argument 'p' (position 2) must be int, not "
                        f"{type(p).__name__}")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    result = Mvlgamma.apply(floating(input), p=int(p))
    return result if out is None else write_out(out, result, "mvlgamma")


def logit(input, eps=None, *, out=None) -> Tensor:
    """``log(x / (1 - x))``; with ``eps``, ``x`` is first clamped to ``[eps, 1 - eps]``."""
    check_input("logit", input)
    result = Logit.apply(floating(input), eps=None if eps is None else float(eps))
    return result if out is None else write_out(out, result, "logit")


i0_ = inplace_method(i0)
sinc_ = inplace_method(sinc)
logit_ = inplace_method(logit)
deg2rad_ = inplace_method(deg2rad)
rad2deg_ = inplace_method(rad2deg)

_NAMES = ("lgamma", "digamma", "mvlgamma", "i0", "sinc", "logit", "deg2rad", "rad2deg")
bind_methods({name: globals()[name] for name in _NAMES})
bind_methods({name + "_": inplace_method(globals()[name]) for name in _NAMES})
bind_methods({"polygamma": _polygamma_method, "polygamma_": _polygamma_inplace})
