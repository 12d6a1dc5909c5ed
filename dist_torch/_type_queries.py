"""Type queries on objects and tensors: torch.is_tensor, numel, is_floating_point, ..."""

from __future__ import annotations

from dist_torch._tensor import Tensor

__all__ = ["is_tensor", "is_storage", "numel", "is_floating_point", "is_complex"]


def is_tensor(obj) -> bool:
    """True if ``obj`` is a dist_torch Tensor (or a subclass such as Parameter)."""
    return isinstance(obj, Tensor)


def is_storage(obj) -> bool:
    return False


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    return False
