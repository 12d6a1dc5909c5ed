"""Host staging of device arrays, for communication libraries that read host memory only.

The MPI backend runs its collectives on NumPy buffers (the mpich wheel is not CUDA-aware), so a
CUDA array takes three steps: :func:`ready` is called by the thread that issues the operation
and marks (with an event on the array's current stream) the point after which the array's
contents are final; :func:`download`, possibly in another thread, waits for that mark and
copies the array to a new host array; :func:`upload` copies a host array back into the device
array (also after the mark) and returns once the copy is complete. The copies run on a private
non-blocking stream per thread and device, so they never serialise with the caller's other
work.

Host (NumPy) arrays pass through unchanged: :func:`is_device_array` tells the two apart.
"""

from __future__ import annotations

import threading

import numpy as np

from dist_torch.backend import cuda

__all__ = ["is_device_array", "device_name", "ready", "download", "host_empty", "upload"]

_local = threading.local()


def is_device_array(array) -> bool:
    """True for an array in device memory (a CuPy array)."""
    return cuda.is_cupy_array(array)


def device_name(array) -> str:
    """``'cpu'`` or ``'cuda:N'``: where ``array`` lives."""
    if cuda.is_cupy_array(array):
        return f"cuda:{array.device.id}"
    return "cpu"


def ready(arrays):
    """A mark, for :func:`download`, of the point on each device array's current stream (in
    the calling thread) after which its contents are final; None when none is on a device."""
    cupy = cuda.cupy
    events = {}
    for a in arrays:
        if a is None or not cuda.is_cupy_array(a):
            continue
        index = a.device.id
        if index not in events:
            with cupy.cuda.Device(index):
                event = cupy.cuda.Event(disable_timing=True)
                event.record(cupy.cuda.get_current_stream())
            events[index] = event
    return events or None


def _stream(index: int):
    """This thread's staging stream on device ``index`` (created on first use)."""
    streams = getattr(_local, "streams", None)
    if streams is None:
        streams = _local.streams = {}
    if index not in streams:
        with cuda.cupy.cuda.Device(index):
            streams[index] = cuda.cupy.cuda.Stream(non_blocking=True)
    return streams[index]


def download(array, mark=None) -> np.ndarray:
    """A C-contiguous host copy of ``array``, taken after ``mark`` (from :func:`ready`);
    ``array`` itself when it is already a host array."""
    if not cuda.is_cupy_array(array):
        return array
    cupy = cuda.cupy
    index = array.device.id
    stream = _stream(index)
    with cupy.cuda.Device(index), stream:
        if mark is not None and index in mark:
            stream.wait_event(mark[index])
        src = cupy.ascontiguousarray(array)
        host = np.empty(array.shape, dtype=array.dtype)
        cupy.asnumpy(src, stream=stream, out=host, blocking=True)
    return host


def host_empty(array) -> np.ndarray:
    """An uninitialised C-contiguous host array of ``array``'s shape and dtype."""
    return np.empty(array.shape, dtype=array.dtype)


def upload(target, host, mark=None) -> None:
    """Copy the host array ``host`` into the device array ``target`` (any strides), after
    ``mark`` (work queued before it may still read ``target``); the copy is complete when this
    returns."""
    cupy = cuda.cupy
    index = target.device.id
    stream = _stream(index)
    with cupy.cuda.Device(index), stream:
        if mark is not None and index in mark:
            stream.wait_event(mark[index])
        target[...] = cupy.asarray(host)
        stream.synchronize()
