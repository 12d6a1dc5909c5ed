"""torch.result_type and torch.can_cast: type promotion questions asked by users."""

from __future__ import annotations

import numbers

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor
from dist_torch.ops._util import result_dtype

__all__ = ["result_type", "can_cast"]


def _check_operand(value, position: int, name: str):
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, complex):
        return value
    raise TypeError(f"result_type(): argument '{name}' (position {position}) must be Tensor or "
                    f"Number, not {type(value).__name__}")


def result_type(tensor, other) -> _dtype.dtype:
    """The dtype an arithmetic op on ``tensor`` and ``other`` (tensors or numbers) returns.

    Example::

        >>> torch.result_type(torch.tensor([1, 2]), 1.0)
        torch.float32
    """
    return result_dtype(_check_operand(tensor, 1, "tensor"), _check_operand(other, 2, "other"))


def can_cast(from_, to) -> bool:
    """Whether torch's casting rules allow ``from_`` -> ``to`` implicitly (no lowering of the
    kind: floating to integral or anything but bool to bool is refused).

    Example::

        >>> torch.can_cast(torch.double, torch.float), torch.can_cast(torch.float, torch.int)
        (True, False)
    """
    for position, (name, value) in enumerate((("from_", from_), ("to", to)), start=1):
        if not isinstance(value, _dtype.dtype):
            raise TypeError(f"can_cast(): argument '{name}' (position {position}) must be "
                            f"torch.dtype, not {type(value).__name__}")
    return from_._category <= to._category
