"""erf and erfc on arrays (NumPy has neither), accurate to about one ulp in float64.

A vectorized port of the piecewise rational approximations of fdlibm's ``s_erf.c``:

    ====================================================
    Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.

    Developed at SunPro, a Sun Microsystems, Inc. business.
    Permission to use, copy, modify, and distribute this
    software is freely granted, provided that this notice
    is preserved.
    ====================================================

Each range of ``|x|`` is evaluated only on the elements that fall in it. Inputs of any floating
dtype are computed in float64 and the result is cast back.
"""

from __future__ import annotations

import numpy as np

from dist_torch.backend import array_module

_ERX = 8.45062911510467529297e-01  # erf(1) rounded to single precision
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)


def _poly(z, coefs):
    """Horner evaluation of sum(coefs[i] * z**i)."""
    out = coefs[-1]
    for c in coefs[-2::-1]:
        out = out * z + c
    return out


def _tail(xp, ax):
    """exp(-ax**2 - 0.5625 + R/S) / ax for |x| >= 1.25: erfc(|x|) (before the 2 - ... flip)."""
    s = 1.0 / (ax * ax)
    near = ax < 1 / 0.35
    r = xp.where(near, _poly(s, _RA), _poly(s, _RB))
    q = xp.where(near, _poly(s, _SA), _poly(s, _SB))
    # exp(-ax*ax) split as exp(-z*z) * exp((z-ax)*(z+ax)) with z = ax rounded to 32 bits, so
    # the large product z*z is exact.
    z = (ax.view(xp.uint64) & xp.uint64(0xFFFFFFFF00000000)).view(xp.float64)
    return xp.exp(-z * z - 0.5625) * xp.exp((z - ax) * (z + ax) + r / q) / ax


def _erf_parts(x, complement: bool):
    xp = array_module(x)
    x64 = xp.asarray(x, dtype=xp.float64)
    shape = x64.shape
    x64 = x64.reshape(-1)
    ax = xp.abs(x64)
    out = xp.empty_like(x64)

    small = ax < 0.84375
    if small.any():
        xs = x64[small]
        z = xs * xs
        y = xs * (_poly(z, _PP) / _poly(z, _QQ))
        if complement:
            out[small] = xp.where(xs < 0.25, 1.0 - (xs + y), 0.5 - (y + (xs - 0.5)))
        else:
            out[small] = xs + y
    mid = (ax >= 0.84375) & (ax < 1.25)
    if mid.any():
        xs = x64[mid]
        s = xp.abs(xs) - 1.0
        pq = _poly(s, _PA) / _poly(s, _QA)
        if complement:
            out[mid] = xp.where(xs >= 0, (1.0 - _ERX) - pq, 1.0 + (_ERX + pq))
        else:
            out[mid] = xp.where(xs >= 0, _ERX + pq, -_ERX - pq)
    # erf saturates at +-1 from 6 on; erfc underflows from 28 on (and is 2 below -6)
    limit = 28.0 if complement else 6.0
    big = (ax >= 1.25) & (ax < limit)
    if big.any():
        xs = x64[big]
        r = _tail(xp, xp.abs(xs))
        if complement:
            out[big] = xp.where(xs > 0, r, 2.0 - r)
        else:
            out[big] = xp.where(xs > 0, 1.0 - r, r - 1.0)
    huge = ax >= limit
    if huge.any():
        xs = x64[huge]
        if complement:
            out[huge] = xp.where(xs > 0, 0.0, 2.0)
        else:
            out[huge] = xp.where(xs > 0, 1.0, -1.0)
    nan = ax != ax
    if nan.any():
        out[nan] = xp.nan
    return out.reshape(shape)


def erf_array(x):
    """erf of a floating array, in its dtype."""
    return _erf_parts(x, False).astype(x.dtype, copy=False)


def erfc_array(x):
    """erfc = 1 - erf of a floating array, in its dtype, without cancellation for large x."""
    return _erf_parts(x, True).astype(x.dtype, copy=False)


_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _horner(w, coefficients):
    out = coefficients[0]
    for c in coefficients[1:]:
        out = out * w + c
    return out


def erfinv_array(y):
    """Inverse error function of a floating array, in its dtype: Giles' single-precision
    approximation refined by two Newton steps on erf (float64-accurate); +-inf at +-1."""
    xp = array_module(y)
    y64 = y.astype(xp.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -xp.log((1.0 - y64) * (1.0 + y64))
        central = _horner(w - 2.5, _ERFINV_CENTRAL)
        tail = _horner(xp.sqrt(xp.maximum(w, 5.0)) - 3.0, _ERFINV_TAIL)
        x = xp.where(w < 5.0, central, tail) * y64
        finite = xp.abs(y64) < 1
        for _ in range(2):
            step = (_erf_parts(x, False) - y64) / (1.1283791670955126 * xp.exp(-x * x))
            x = xp.where(finite, x - step, x)
        x = xp.where(xp.abs(y64) == 1, xp.copysign(xp.inf, y64), x)
        x = xp.where(xp.abs(y64) > 1, xp.nan, x)
    return x.astype(y.dtype, copy=False)
