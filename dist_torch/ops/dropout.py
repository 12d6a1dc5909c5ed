"""Dropout on the GPU: one fused CUDA kernel draws the mask and scales, as torch's
``native_dropout``.

The mask is a pure function of the device's Philox ``(seed, offset)`` state (advanced past
the counters each call uses), so ``torch.cuda.manual_seed`` makes it reproducible; inside a
CUDA graph the state is read from device memory at each replay. CPU
dropout stays in :mod:`dist_torch.nn.functional.dropout` (a mask from the default generator
times the input).
"""

from __future__ import annotations

from dist_torch import backend as _backend
from dist_torch.autograd.function import Primitive
from dist_torch.backend import cuda as _cuda

__all__ = []


def dropout_on_gpu(a) -> bool:
    """Whether elementwise dropout of ``a`` runs on the CUDA kernel."""
    return a.size > 0 and _backend.use_kernels(a, "dropout")


class NativeDropout(Primitive):
    """``y = x * mask / (1 - p)`` with a kernel-drawn uint8 mask kept for backward."""

    _name = "NativeDropoutBackward0"

    def forward(ctx, x, p):
        state = _cuda.philox_state(_backend.device_of(x).index)
        # under CUDA graph capture the kernel reads (seed, offset) from the graph's device
        # buffer, which every replay refills, so each replay draws a fresh mask
        seed, offset, rng = state.next_philox(x.size)
        y, mask = _backend.kernels().dropout_forward(x, p, seed, offset, rng)
        ctx.p = p
        ctx.save_for_backward(mask)
        return y

    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return _backend.kernels().dropout_backward(grad, mask, ctx.p)
