"""Seeding the CUDA generators (torch.cuda.manual_seed & co.).

Each device has one :class:`~dist_torch.backend.cuda.PhiloxState` (seed and counter offset)
that the CUDA kernels which draw random numbers take their ``(seed, offset)`` from. As in torch,
seeding quietly does nothing without CUDA; reading a seed or state needs a GPU.
"""

from __future__ import annotations

import os

import numpy as np

from dist_torch.backend import cuda as _backend
from dist_torch.cuda._utils import _get_device_index

__all__ = ["manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed",
           "get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all"]


def _random_seed() -> int:
    return int.from_bytes(os.urandom(8), "little")


def manual_seed(seed) -> None:
    """Seed the generator of the current device; silently does nothing without CUDA."""
    seed = int(seed)
    if _backend.available():
        _backend.philox_state(_backend.peek_device()).manual_seed(seed)


def manual_seed_all(seed) -> None:
    """Seed the generators of every device; silently does nothing without CUDA."""
    seed = int(seed)
    for index in range(_backend.device_count()):
        _backend.philox_state(index).manual_seed(seed)


def seed() -> None:
    """Seed the current device's generator from the OS; silently does nothing without CUDA."""
    if _backend.available():
        _backend.philox_state(_backend.peek_device()).manual_seed(_random_seed())


def seed_all() -> None:
    """Seed every device's generator with one random seed; a no-op without CUDA."""
    manual_seed_all(_random_seed())


def initial_seed() -> int:
    """The seed of the current device's generator."""
    index = _backend.current_device()
    return _backend.philox_state(index).seed


def _state_index(device) -> int:
    _backend.require("the CUDA RNG state")
    index = _get_device_index(device, optional=True)
    _backend.check_index(index)
    return index


def get_rng_state(device="cuda"):
    """The generator state of ``device`` as a 16-byte ``uint8`` CPU tensor (seed, offset)."""
    from dist_torch._tensor import _wrap
    raw = _backend.philox_state(_state_index(device)).get_state()
    return _wrap(np.frombuffer(raw, dtype=np.uint8).copy())


def get_rng_state_all() -> list:
    """:func:`get_rng_state` of every device (``[]`` without CUDA)."""
    return [get_rng_state(i) for i in range(_backend.device_count())]


def set_rng_state(new_state, device="cuda") -> None:
    """Restore a state from :func:`get_rng_state`; silently does nothing without CUDA."""
    from dist_torch._tensor import Tensor
    if not isinstance(new_state, Tensor):
        raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
    if not _backend.available():
        return
    raw = new_state.cpu()._data
    if raw.dtype != np.uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    _backend.philox_state(_state_index(device)).set_state(raw.tobytes())


def set_rng_state_all(new_states) -> None:
    """:func:`set_rng_state` for every device, one state each."""
    for index, state in enumerate(new_states):
        set_rng_state(state, index)
