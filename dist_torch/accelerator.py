"""torch.accelerator: the current accelerator device, if any (CUDA through CuPy)."""

from __future__ import annotations

from dist_torch._device import device

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available() -> bool:
    from dist_torch import cuda
    return cuda.is_available()


def current_accelerator(check_available: bool = False):
    """``device('cuda')`` when a GPU is usable, else None."""
    return device("cuda") if is_available() else None


def device_count() -> int:
    from dist_torch import cuda
    return cuda.device_count()
