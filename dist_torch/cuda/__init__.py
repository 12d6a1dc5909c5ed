"""torch.cuda-shaped API over CuPy: devices, seeds, memory statistics, streams, events, graphs.

Without CuPy or a GPU, ``is_available()`` is False, ``device_count()`` is 0, seeding and the
memory queries quietly do nothing (as in a CPU-only torch build), and everything that needs a
GPU raises an error that says why. That error is both an AssertionError (what a CPU-only torch
build raises: 'Torch not compiled with CUDA enabled') and a RuntimeError (what a CUDA build
without a GPU raises).
"""

from __future__ import annotations

import importlib
import uuid as _uuid

from dist_torch.backend import cuda as _backend
from dist_torch.cuda._utils import _get_device_index
from dist_torch.cuda.graphs import (
    CUDAGraph,
    graph,
    graph_pool_handle,
    is_current_stream_capturing,
    make_graphed_callables,
)
from dist_torch.cuda.memory import (
    empty_cache,
    max_memory_allocated,
    max_memory_reserved,
    mem_get_info,
    memory_allocated,
    memory_reserved,
    memory_stats,
    reset_accumulated_memory_stats,
    reset_max_memory_allocated,
    reset_peak_memory_stats,
)
from dist_torch.cuda.random import (
    get_rng_state,
    get_rng_state_all,
    initial_seed,
    manual_seed,
    manual_seed_all,
    seed,
    seed_all,
    set_rng_state,
    set_rng_state_all,
)
from dist_torch.cuda.streams import (
    Event,
    ExternalStream,
    Stream,
    StreamContext,
    current_stream,
    default_stream,
    get_stream_from_external,
    set_stream,
    stream,
)

__all__ = [
    "is_available", "device_count", "is_initialized", "init", "current_device", "set_device",
    "device", "device_of", "get_device_name", "get_device_capability", "get_device_properties",
    "get_arch_list", "synchronize",
    "manual_seed", "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state",
    "get_rng_state_all", "set_rng_state", "set_rng_state_all",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
    "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_accumulated_memory_stats",
    "empty_cache", "memory_stats", "mem_get_info",
    "Stream", "ExternalStream", "Event", "StreamContext", "stream", "set_stream",
    "current_stream", "default_stream", "get_stream_from_external",
    "CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing",
    "make_graphed_callables",
]


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return _backend.available()


def device_count() -> int:
    """The number of visible GPUs (0 without CuPy or a GPU)."""
    return _backend.device_count()


def is_initialized() -> bool:
    """True once CUDA has been used in this process (a CUDA tensor, a stream, ``init()``)."""
    return _backend.is_initialized()


def init() -> None:
    """Initialize CUDA now rather than at first use; raises when CUDA is not available."""
    _backend.init()


def current_device() -> int:
    """The index of the current device."""
    return _backend.current_device()


def set_device(device) -> None:
    """Make ``device`` (int, ``'cuda:N'`` or torch.device) current; negative: no-op."""
    index = _get_device_index(device)
    if index >= 0:
        _backend.set_device(index)


class device:  # noqa: N801 - torch spells it lowercase
    """Context manager that makes ``device`` current; a no-op for a negative index.

    Example::

        >>> with torch.cuda.device(1):
        ...     x = torch.zeros(3, device='cuda')   # on cuda:1
    """

    def __init__(self, device):
        self.idx = _get_device_index(device, optional=True)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx < 0:
            self.prev_idx = -1
            return
        _backend.require("torch.cuda.device()")
        self.prev_idx = _backend.current_device()
        if self.prev_idx != self.idx:
            _backend.set_device(self.idx)

    def __exit__(self, exc_type, exc, tb):
        if self.prev_idx >= 0 and self.prev_idx != self.idx:
            _backend.set_device(self.prev_idx)
        return False


class device_of(device):  # noqa: N801
    """Context manager that makes the device of tensor ``obj`` current (no-op for CPU)."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.is_cuda else -1)


class _CudaDeviceProperties:
    """What ``torch.cuda.get_device_properties`` returns (the commonly read fields)."""

    __slots__ = ("name", "major", "minor", "total_memory", "multi_processor_count",
                 "is_integrated", "is_multi_gpu_board", "L2_cache_size", "warp_size",
                 "max_threads_per_multi_processor", "regs_per_multiprocessor", "uuid",
                 "pci_bus_id")

    def __init__(self, props: dict):
        name = props.get("name", b"")
        self.name = name.decode(errors="replace").rstrip("\0") if isinstance(name, bytes) \
            else str(name)
        self.major = int(props.get("major", 0))
        self.minor = int(props.get("minor", 0))
        self.total_memory = int(props.get("totalGlobalMem", 0))
        self.multi_processor_count = int(props.get("multiProcessorCount", 0))
        self.is_integrated = int(props.get("integrated", 0))
        self.is_multi_gpu_board = int(props.get("isMultiGpuBoard", 0))
        self.L2_cache_size = int(props.get("l2CacheSize", 0))
        self.warp_size = int(props.get("warpSize", 32))
        self.max_threads_per_multi_processor = int(props.get("maxThreadsPerMultiProcessor", 0))
        self.regs_per_multiprocessor = int(props.get("regsPerMultiprocessor", 0))
        self.pci_bus_id = int(props.get("pciBusID", 0))
        raw = props.get("uuid", b"")
        self.uuid = str(_uuid.UUID(bytes=bytes(raw[:16]))) \
            if isinstance(raw, (bytes, bytearray)) and len(raw) >= 16 else str(raw)

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count}, uuid={self.uuid}, "
                f"pci_bus_id={self.pci_bus_id}, "
                f"L2_cache_size={self.L2_cache_size // (1024 * 1024)}MB)")


def get_device_properties(device=None) -> _CudaDeviceProperties:
    """Name, compute capability, memory and SM count of ``device`` (current if None)."""
    _backend.require("torch.cuda.get_device_properties()")
    index = _get_device_index(device, optional=True)
    if index < 0 or index >= device_count():
        raise AssertionError("Invalid device id")
    return _CudaDeviceProperties(_backend.device_properties(index))


def get_device_name(device=None) -> str:
    """The name of ``device`` (current if None), e.g. ``'NVIDIA H100 80GB HBM3'``."""
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple:
    """The (major, minor) compute capability of ``device`` (current if None)."""
    prop = get_device_properties(device)
    return prop.major, prop.minor


def get_arch_list() -> list:
    """The architectures kernels are built for: those of the visible GPUs (kernels are compiled
    at run time for the device that runs them); ``[]`` without CUDA, as torch's CPU build."""
    if not is_available():
        return []
    return sorted({f"sm_{p.major}{p.minor}" for p in map(get_device_properties,
                                                          range(device_count()))})


def synchronize(device=None) -> None:
    """Wait for all work on ``device`` (current if None) to finish."""
    _backend.require("torch.cuda.synchronize()")
    index = _get_device_index(device, optional=True)
    _backend.check_index(index)
    _backend.synchronize(index)


def __getattr__(name):
    # torch.cuda.amp is a submodule; import it on first use rather than with torch.cuda.
    if name == "amp":
        return importlib.import_module("dist_torch.cuda.amp")
    raise AttributeError(f"module 'dist_torch.cuda' has no attribute '{name}'")
