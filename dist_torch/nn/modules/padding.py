"""Padding layers: constant / zero, reflection, replication and circular padding (1-3 dims)."""

from __future__ import annotations

from dist_torch.nn.functional.vision import pad as _pad
from dist_torch.nn.modules.module import Module

__all__ = [
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
]


def _padding(value, nd):
    """An int repeated for both sides of ``nd`` dims, or a sequence kept as given."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * (2 * nd)


class _ConstantPadNd(Module):
    _nd = 1

    def __init__(self, padding, value: float):
        super().__init__()
        self.padding = _padding(padding, self._nd)
        self.value = value

    def forward(self, input):
        return _pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding`` is an int or ``(left, right)``."""

    _nd = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with ``value``: ``padding`` is an int or
    ``(left, right, top, bottom)``.

    Example::

        >>> torch.nn.ConstantPad2d(1, 3.5)(torch.zeros(1, 1, 1)).shape
        torch.Size([1, 3, 3])
    """

    _nd = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with ``value`` (``padding``: int or 6-tuple)."""

    _nd = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros."""

    _nd = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros (``padding``: int or ``(left, right, top, bottom)``)."""

    _nd = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros."""

    _nd = 3


class _ModePadNd(Module):
    _nd = 1
    _mode = "reflect"

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(padding, self._nd)

    def forward(self, input):
        return _pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_ModePadNd):
    """Pad the last dim with its reflection (the edge value is not repeated)."""

    _nd, _mode = 1, "reflect"


class ReflectionPad2d(_ModePadNd):
    """Pad the last 2 dims with their reflection (each pad < that dim's size)."""

    _nd, _mode = 2, "reflect"


class ReflectionPad3d(_ModePadNd):
    """Pad the last 3 dims with their reflection."""

    _nd, _mode = 3, "reflect"


class ReplicationPad1d(_ModePadNd):
    """Pad the last dim by repeating its edge values."""

    _nd, _mode = 1, "replicate"


class ReplicationPad2d(_ModePadNd):
    """Pad the last 2 dims by repeating their edge values."""

    _nd, _mode = 2, "replicate"


class ReplicationPad3d(_ModePadNd):
    """Pad the last 3 dims by repeating their edge values."""

    _nd, _mode = 3, "replicate"


class CircularPad1d(_ModePadNd):
    """Pad the last dim by wrapping around."""

    _nd, _mode = 1, "circular"


class CircularPad2d(_ModePadNd):
    """Pad the last 2 dims by wrapping around."""

    _nd, _mode = 2, "circular"


class CircularPad3d(_ModePadNd):
    """Pad the last 3 dims by wrapping around."""

    _nd, _mode = 3, "circular"
