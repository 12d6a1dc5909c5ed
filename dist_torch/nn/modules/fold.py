"""Sliding-block rearrangements: Unfold (im2col) and Fold (col2im)."""

from __future__ import annotations

from dist_torch.nn.functional.conv import fold, unfold
from dist_torch.nn.modules.module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Sum sliding local blocks ``(N, C * prod(kernel_size), L)`` into an image
    ``(N, C, *output_size)`` (the adjoint of :class:`Unfold`).

    Args:
        output_size: spatial size of the output (int or pair).
        kernel_size, dilation, padding, stride: as in :class:`Unfold`.
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                    self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Extract sliding local blocks: ``(N, C, H, W) -> (N, C * prod(kernel_size), L)``.

    Args:
        kernel_size: block size (int or pair).
        dilation, padding, stride: as in :class:`Conv2d` (int or pair).
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input):
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
