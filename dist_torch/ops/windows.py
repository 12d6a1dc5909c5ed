"""Window functions: hann, hamming, blackman, bartlett and kaiser windows.

Each window is computed on the host in its dtype with torch's sequence of operations (so the
roundings agree: torch's float32 Blackman window starts at -2.98e-08, not 0), then moved to
``device``. A periodic window of length N is the symmetric window of length N + 1 without its
last value.
"""

from __future__ import annotations

import math

import numpy as np

from dist_torch import _dtype
from dist_torch._creation import _finish
from dist_torch._device import default_or
from dist_torch.ops._pointwise import cpp_type_name
from dist_torch.ops.special_functions import bessel_i_array

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]

_FLOAT32 = np.dtype(np.float32)


def _setup(fname, window_length, periodic, dtype, device, requires_grad):
    """torch's argument checks; returns the length to compute, the NumPy dtype, the dtype to
    compute in, the conversion of scalars and the rounding after each step."""
    if not isinstance(window_length, (int, np.integer)) or isinstance(window_length, bool):
        raise TypeError(f"{fname}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{fname} requires non-negative window_length, got "
                           f"window_length={window_length}")
    dtype = _dtype.get_default_dtype() if dtype is None else dtype
    if not dtype.is_floating_point:
        where = "cpu" if device is None else str(device)
        raise RuntimeError(f"{fname} expects floating point dtypes, got: TensorOptions(dtype="
                           f"{cpp_type_name(dtype.numpy_dtype)}, device={where}, layout=Strided "
                           f"(default), requires_grad=false (default), pinned_memory=false, "
                           "memory_format=(nullopt))")
    np_dtype = dtype.numpy_dtype
    n = int(window_length) + (1 if periodic and window_length > 1 else 0)
    if np_dtype.itemsize >= 4:
        return n, np_dtype, np_dtype, np_dtype.type, lambda v: v
    # half types: torch rounds the scalars to the dtype, computes each step in float32 and
    # rounds its result to the dtype
    def rounded(v):
        return np.asarray(v, dtype=_FLOAT32).astype(np_dtype).astype(_FLOAT32)
    return n, np_dtype, _FLOAT32, rounded, rounded


def _make(values, n_requested, periodic, np_dtype, device, requires_grad):
    if n_requested <= 1:
        values = np.ones(n_requested, dtype=np_dtype)
    elif periodic:
        values = values[:-1]
    return _finish(np.ascontiguousarray(values.astype(np_dtype)), default_or(device),
                   requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, pin_memory=False, requires_grad=False):
    """The generalized Hamming window ``alpha - beta cos(2 pi n / (N - 1))``; ``periodic``
    (the default) gives the window for spectral analysis (length N of a length N + 1 window).

    Example::

        >>> torch.hamming_window(4, periodic=False)
        tensor([0.0800, 0.7700, 0.7700, 0.0800])
    """
    return _hamming("hamming_window", window_length, periodic, alpha, beta, dtype, device,
                    requires_grad)


def _hamming(fname, window_length, periodic, alpha, beta, dtype, device, requires_grad):
    n, np_dtype, work, c, r = _setup(fname, window_length, periodic, dtype, device, requires_grad)
    values = None
    if n > 1:
        ramp = r(np.arange(n, dtype=work) * c(2 * math.pi / (n - 1)))
        values = r(r(r(np.cos(ramp)) * c(-beta)) + c(alpha))
    return _make(values, window_length, periodic, np_dtype, device, requires_grad)


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                pin_memory=False, requires_grad=False):
    """The Hann window ``sin^2(pi n / (N - 1))`` (periodic by default, as
    :func:`hamming_window`)."""
    return _hamming("hann_window", window_length, periodic, 0.5, 0.5, dtype, device,
                    requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """The Blackman window ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``
    (periodic by default, as :func:`hamming_window`)."""
    n, np_dtype, work, c, r = _setup("blackman_window", window_length, periodic, dtype, device,
                               requires_grad)
    values = None
    if n > 1:
        ramp = r(np.arange(n, dtype=work) * c(math.pi / (n - 1)))
        high = r(r(np.cos(r(ramp * c(4)))) * c(0.08))
        low = r(r(np.cos(r(ramp * c(2)))) * c(0.5))
        values = r(r(high - low) + c(0.42))
    return _make(values, window_length, periodic, np_dtype, device, requires_grad)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """The Bartlett (triangular) window ``1 - |2 n / (N - 1) - 1|`` (periodic by default, as
    :func:`hamming_window`)."""
    n, np_dtype, work, c, r = _setup("bartlett_window", window_length, periodic, dtype, device,
                               requires_grad)
    values = None
    if n > 1:
        values = r(np.arange(n, dtype=work) * c(2.0 / (n - 1)))
        half = ((n - 1) >> 1) + 1
        values[half:] = r(values[half:] * c(-1) + c(2))
    return _make(values, window_length, periodic, np_dtype, device, requires_grad)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, pin_memory=False, requires_grad=False):
    """The Kaiser window ``I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta)`` with
    ``a = (N - 1) / 2`` (periodic by default, as :func:`hamming_window`)."""
    n, np_dtype, work, _, _ = _setup("kaiser_window", window_length, periodic, dtype, device,
                               requires_grad)
    values = None
    if n > 1:
        alpha = work.type((n - 1) / 2.0)
        b = work.type(beta)
        ramp = np.arange(n, dtype=work)
        arg = b * np.sqrt(np.abs(1 - ((ramp - alpha) / alpha) ** 2))
        values = bessel_i_array(arg, 0, False) / bessel_i_array(np.asarray([b]), 0, False)
    return _make(values, window_length, periodic, np_dtype, device, requires_grad)
