"""torch's legacy modules: CrossMapLRN2d (Lua-era local response normalisation across
channels) and the deprecated Container."""

from __future__ import annotations

import warnings

import numpy as np

from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.nn.modules.module import Module

__all__ = ["CrossMapLRN2d", "Container"]


def _window_sums(xp, values, lo, hi):
    """``sum(values[:, lo[c]:hi[c]])`` for every channel ``c`` (bounds already clipped)."""
    zero = xp.zeros_like(values[:, :1])
    cum = xp.concatenate([zero, xp.cumsum(values, axis=1)], axis=1)
    return cum[:, xp.asarray(hi)] - cum[:, xp.asarray(lo)]


class CrossMapLRN2dFunction(Primitive):
    """Forward and backward exactly as torch's ``_functions.CrossMapLRN2d``.

    torch's forward never removes channel 0 from the running window sum, so channel ``c``
    is normalised by ``x[0]**2`` plus ``x[j]**2`` for ``j`` in
    ``[max(1, c - p + 1), c + p - 1]`` (``p = (size - 1) // 2 + 1``); its backward sums the
    ratio over ``[c - q, c - q + size - 1]`` (``q = size - (size - 1) // 2``), which is not the
    exact gradient of that forward. Both are reproduced, as torch is the spec.
    """

    _name = "CrossMapLRN2dBackward"

    def forward(ctx, x, size, alpha, beta, k):
        xp = array_module(x)
        channels = x.shape[1]
        pre = int((size - 1) / 2 + 1)
        c = np.arange(channels)
        lo = np.clip(c - pre + 1, 1, channels)
        hi = np.clip(c + pre, 0, channels)
        square = x * x
        total = _window_sums(xp, square, lo, hi) + square[:, :1]
        scale = total * (alpha / size) + k
        out = scale ** -beta * x
        ctx.save_for_backward(x, out, scale)
        ctx.params = size, alpha, beta
        return out

    def backward(ctx, grad):
        x, out, scale = ctx.saved_tensors
        size, alpha, beta = ctx.params
        xp = array_module(grad)
        channels = x.shape[1]
        inverse = int(size - (size - 1) / 2)
        c = np.arange(channels)
        lo = np.clip(c - inverse, 0, channels)
        hi = np.clip(c - inverse + size, 0, channels)
        ratio = _window_sums(xp, grad * out / scale, lo, hi)
        return scale ** -beta * grad - (2 * alpha * beta / size) * x * ratio


class CrossMapLRN2d(Module):
    """Local response normalisation across channels of a 4-D ``(N, C, H, W)`` input, as
    torch's legacy ``CrossMapLRN2d``: ``x / (k + alpha / size * window_sum(x ** 2)) ** beta``
    (see :class:`CrossMapLRN2dFunction` for torch's exact window)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D "
                             "instead.")
        return CrossMapLRN2dFunction.apply(input, size=self.size, alpha=self.alpha,
                                           beta=self.beta, k=self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Container(Module):
    """Deprecated: a Module holding the keyword arguments as submodules (subclass
    :class:`Module` instead)."""

    def __init__(self, **kwargs):
        super().__init__()
        warnings.warn("`nn.Container` is deprecated. All of its functionality is now "
                      "implemented in `nn.Module`. Subclass that instead.", FutureWarning,
                      stacklevel=2)
        for key, value in kwargs.items():
            self.add_module(key, value)
