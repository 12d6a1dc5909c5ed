"""The CPU backend: NumPy, plus one process-wide allocator setting.

Training allocates and frees the same large temporaries every step. glibc returns blocks above
its mmap threshold (128 KiB by default, adapting up to 32 MiB) to the kernel at once, so the
next step faults every page back in; on the VMs we measured, page faults took about a third of
a ConvNet training step. Raising the mmap and trim thresholds keeps freed memory in the heap for
reuse, as PyTorch's caching allocators do. The cost is that the process keeps its peak heap.
"""

from __future__ import annotations

import ctypes
import sys

import numpy

xp = numpy

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds (Linux only); True when the setting took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): leave the allocator alone
        return False
    for threshold in (1 << 30, 32 << 20):
        if libc.mallopt(_M_MMAP_THRESHOLD, threshold) == 1:
            libc.mallopt(_M_TRIM_THRESHOLD, min(2 * threshold, 2**31 - 1))
            return True
    return False
