"""torch.finfo and torch.iinfo: machine limits of floating and integer dtypes."""

from __future__ import annotations

import numpy as np

from dist_torch import _dtype

__all__ = ["finfo", "iinfo"]


class finfo:  # noqa: N801 - torch name
    """Limits of a floating dtype: bits, eps, max, min, tiny (= smallest_normal), resolution.

    Example::

        >>> torch.finfo(torch.float32).eps
        1.1920928955078125e-07
    """

    def __init__(self, type=None):  # noqa: A002 - torch's argument name
        dtype = _dtype.get_default_dtype() if type is None else type
        if not dtype.is_floating_point:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use "
                            f"torch.iinfo to handle '{dtype}'")
        if dtype is _dtype.bfloat16:
            import ml_dtypes
            info = ml_dtypes.finfo(dtype.numpy_dtype)
        else:
            info = np.finfo(dtype.numpy_dtype)
        self.dtype = dtype.name
        self.bits = info.bits
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801
    """Limits of an integer dtype: bits, max, min."""

    def __init__(self, type):  # noqa: A002
        if type.is_floating_point:
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to "
                            f"handle '{type}'")
        if type is _dtype.bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        info = np.iinfo(type.numpy_dtype)
        self.dtype = type.name
        self.bits, self.max, self.min = info.bits, int(info.max), int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
