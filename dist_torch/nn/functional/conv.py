"""Convolutions: conv1d/2d/3d, conv_transpose1d/2d/3d (im2col + GEMM primitives), and the
sliding-block rearrangements unfold (im2col) and fold (col2im)."""

from __future__ import annotations

from dist_torch.ops.conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from dist_torch.ops.fold import fold, unfold

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]
