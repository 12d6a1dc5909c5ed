"""Linear maps: linear (a fused primitive) and bilinear."""

from __future__ import annotations

from dist_torch.ops.linear import linear

__all__ = ["linear"]
