"""Dropout layers: active in training mode, the identity in evaluation mode."""

from __future__ import annotations

from dist_torch.nn.functional.dropout import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from dist_torch.nn.modules.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    _fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` during training, scaling the rest by
    ``1 / (1 - p)``.

    Example::

        >>> m = torch.nn.Dropout(p=0.25)
        >>> m.eval()(x) is x
        True
    """

    _fn = staticmethod(dropout)


class Dropout1d(_DropoutNd):
    """Channel-wise dropout of ``(N, C, L)`` or ``(C, L)`` inputs."""

    _fn = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """Channel-wise dropout of ``(N, C, H, W)`` or ``(N, C, L)`` inputs."""

    _fn = staticmethod(dropout2d)


class Dropout3d(_DropoutNd):
    """Channel-wise dropout of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` inputs."""

    _fn = staticmethod(dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout: keeps zero mean and unit variance for SELU networks."""

    _fn = staticmethod(alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    _fn = staticmethod(feature_alpha_dropout)
