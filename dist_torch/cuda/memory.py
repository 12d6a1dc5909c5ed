"""torch.cuda memory statistics over CuPy's memory pool.

``allocated`` is what live arrays use (CuPy's ``used_bytes``, block sizes rounded up to 512
bytes as torch's are), ``reserved`` is what the pool holds from the driver (``total_bytes``);
CUDA graph pools count too. Peaks are tracked by the backend's allocator, which checks usage
after every allocation (see dist_torch/backend/cuda.py). Before CUDA is first used, the
queries return 0 and ``memory_stats()`` is empty, as in torch.
"""

from __future__ import annotations

from dist_torch.backend import cuda as _backend
from dist_torch.cuda._utils import _get_device_index

__all__ = [
    "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
    "reset_peak_memory_stats", "reset_max_memory_allocated", "reset_accumulated_memory_stats",
    "empty_cache", "memory_stats", "mem_get_info",
]


def memory_stats(device=None) -> dict:
    """Memory statistics of ``device`` (current if None), keyed as torch's.

    Keys: ``allocated_bytes.all.{current,peak,allocated,freed}``,
    ``active_bytes.all.{current,peak}`` (equal to allocated: CuPy has no separate 'active'
    state), ``reserved_bytes.all.{current,peak}``, ``allocation.all.allocated`` (number of
    allocations) and ``num_ooms``. Empty before CUDA is first used.

    Example::

        >>> torch.cuda.memory_stats()["allocated_bytes.all.peak"]
        1048576
    """
    if not _backend.is_initialized():
        return {}
    index = _get_device_index(device, optional=True)
    _backend.check_index(index)
    return _backend.memory_stats(index)


def memory_allocated(device=None) -> int:
    """Bytes used by arrays on ``device`` (current if None)."""
    return memory_stats(device).get("allocated_bytes.all.current", 0)


def max_memory_allocated(device=None) -> int:
    """The peak of :func:`memory_allocated` since start or the last reset."""
    return memory_stats(device).get("allocated_bytes.all.peak", 0)


def memory_reserved(device=None) -> int:
    """Bytes the memory pool holds from the driver on ``device`` (current if None)."""
    return memory_stats(device).get("reserved_bytes.all.current", 0)


def max_memory_reserved(device=None) -> int:
    """The peak of :func:`memory_reserved` since start or the last reset."""
    return memory_stats(device).get("reserved_bytes.all.peak", 0)


def _reset_target(device, what: str) -> int:
    _backend.require(what)
    index = _get_device_index(device, optional=True)
    _backend.check_index(index)
    return index


def reset_peak_memory_stats(device=None) -> None:
    """Restart the peaks (allocated and reserved) from the current values."""
    _backend.reset_peaks(_reset_target(device, "torch.cuda.reset_peak_memory_stats()"))


def reset_max_memory_allocated(device=None) -> None:
    """Restart the peaks from the current values (torch's older name)."""
    _backend.reset_peaks(_reset_target(device, "torch.cuda.reset_max_memory_allocated()"))


def reset_accumulated_memory_stats(device=None) -> None:
    """Zero the running totals (bytes and number of allocations, OOMs)."""
    _backend.reset_accumulated(_reset_target(device, "torch.cuda.reset_accumulated_memory_stats()"))


def empty_cache() -> None:
    """Give the pool's unused blocks back to the driver; a no-op before CUDA is used."""
    if _backend.is_initialized():
        _backend.empty_cache()


def mem_get_info(device=None) -> tuple:
    """(free, total) bytes of ``device`` (current if None), as the driver reports them."""
    _backend.require("torch.cuda.mem_get_info()")
    index = _get_device_index(device, optional=True)
    _backend.check_index(index)
    return _backend.mem_get_info(index)
