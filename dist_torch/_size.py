"""torch.Size: the tuple subclass returned by ``Tensor.shape`` and ``Tensor.size()``."""

from __future__ import annotations

import math


class Size(tuple):
    """A tensor shape; a tuple of ints that prints as ``torch.Size([2, 3])``."""

    __slots__ = ()

    def numel(self) -> int:
        """Number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __repr__(self):
        return f"torch.Size([{', '.join(str(d) for d in self)}])"

    __str__ = __repr__

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return Size(out) if isinstance(key, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return Size, (tuple(self),)


def wrap_dim(dim: int, ndim: int) -> int:
    """Normalize a possibly negative dim, with torch's IndexError when out of range."""
    lo = -ndim if ndim else -1
    hi = ndim - 1 if ndim else 0
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but "
                         f"got {dim})")
    return dim + ndim if dim < 0 else dim
