"""conv_tbc: 1-D convolution over time-major ``(T, B, C)`` sequences."""

from __future__ import annotations

import dist_torch as _dt
from dist_torch._tensor import Tensor

__all__ = ["conv_tbc"]


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-D convolution of ``input`` ``(T, B, C_in)`` with ``weight`` ``(K, C_in, C_out)`` plus
    ``bias`` ``(C_out,)``, ``pad`` zero steps on both ends of the time axis (a negative pad
    crops); returns ``(T + 2 * pad - K + 1, B, C_out)``."""
    if isinstance(pad, bool) or not isinstance(pad, int):
        raise TypeError("conv_tbc(): argument 'pad' (position 4) must be int, not "
                        f"{type(pad).__name__}")
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.size(2) != weight.size(1):
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.size(2) != bias.size(0):
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    steps, batch, channels = input.shape
    width, _, out_channels = weight.shape
    out_len = steps + 2 * pad - width + 1
    if out_len < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {out_len}: "
                           f"[{out_len}, {batch}, {out_channels}]")
    if pad > 0:
        zeros = input.new_zeros((pad, batch, channels))
        input = _dt.cat([zeros, input, zeros], dim=0)
    elif pad < 0:
        input = input[-pad:steps + pad]
    # every window as one row of K * C_in features, then a single GEMM
    windows = _dt.cat([input[k:k + out_len] for k in range(width)], dim=2)
    return windows @ weight.reshape(width * channels, out_channels) + bias
