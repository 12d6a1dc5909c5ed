"""torch.cuda-shaped API. Without CuPy or a GPU, ``is_available()`` is False and asking for a
CUDA tensor raises a RuntimeError that says why."""

from __future__ import annotations

from dist_torch.backend import cuda as _backend

__all__ = ["is_available", "device_count", "current_device", "manual_seed",
           "manual_seed_all", "synchronize"]


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return _backend.available()


def device_count() -> int:
    if not is_available():
        return 0
    return _backend.cupy.cuda.runtime.getDeviceCount()


def current_device() -> int:
    _backend.require("torch.cuda.current_device()")
    return _backend.cupy.cuda.runtime.getDevice()


def synchronize(device=None) -> None:
    _backend.require("torch.cuda.synchronize()")
    _backend.cupy.cuda.get_current_stream().synchronize()


def manual_seed(seed: int) -> None:
    """Seed the CUDA generators; silently does nothing without CUDA, as in torch."""


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)
