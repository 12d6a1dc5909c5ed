"""``cupy.cuda`` of the emulated device: devices, a runtime, streams and events that order
nothing (all work is done when it is issued), and just enough of the memory API for
dist_torch/backend/cuda.py. Graph capture, NVRTC and NCCL are not emulated."""

from __future__ import annotations

import ctypes
import itertools
import os
import threading
import time
import types

import numpy as np

from tests.fake_cupy import spec

DEVICE_COUNT = int(os.environ.get("FAKE_CUPY_DEVICES", "1"))
TOTAL_MEMORY = 80 * 1024 ** 3
_local = threading.local()
_handles = itertools.count(0x7F0000001000, 0x100)  # fake stream/event handles


class CUDARuntimeError(RuntimeError):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


def _invalid_device():
    return CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")


def _not_emulated(what):
    def fail(*args, **kwargs):
        raise NotImplementedError(f"{what} is not emulated by tests.fake_cupy")
    return fail


# --------------------------------------------------------------------------- runtime

def getDeviceCount() -> int:  # noqa: N802 - CuPy's names
    return DEVICE_COUNT


def getDevice() -> int:  # noqa: N802
    return getattr(_local, "device", 0)


def setDevice(index: int) -> None:  # noqa: N802
    index = int(index)
    if not 0 <= index < DEVICE_COUNT:
        raise _invalid_device()
    _local.device = index


def deviceSynchronize() -> None:  # noqa: N802
    pass


def memGetInfo() -> tuple:  # noqa: N802
    return TOTAL_MEMORY - 2 * 1024 ** 3, TOTAL_MEMORY


def getDeviceProperties(index: int) -> dict:  # noqa: N802
    if not 0 <= int(index) < DEVICE_COUNT:
        raise _invalid_device()
    return {"name": b"Emulated GPU (tests.fake_cupy)", "totalGlobalMem": TOTAL_MEMORY,
            "major": 9, "minor": 0, "multiProcessorCount": 132, "integrated": 0,
            "isMultiGpuBoard": 0, "l2CacheSize": 50 * 1024 ** 2, "warpSize": 32,
            "maxThreadsPerMultiProcessor": 2048, "regsPerMultiprocessor": 65536,
            "pciBusID": 16 + int(index), "uuid": bytes(range(16))}


def deviceGetPCIBusId(index: int) -> str:  # noqa: N802
    return f"0000:{16 + int(index):02X}:00.0"


def free(ptr) -> None:
    pass


runtime = types.ModuleType("cupy.cuda.runtime")
runtime.__dict__.update(
    CUDARuntimeError=CUDARuntimeError, getDeviceCount=getDeviceCount, getDevice=getDevice,
    setDevice=setDevice, deviceSynchronize=deviceSynchronize, memGetInfo=memGetInfo,
    getDeviceProperties=getDeviceProperties, deviceGetPCIBusId=deviceGetPCIBusId, free=free,
    streamCaptureModeGlobal=0, streamCaptureModeThreadLocal=1, streamCaptureModeRelaxed=2,
    is_hip=False, runtimeGetVersion=lambda: 12080, driverGetVersion=lambda: 12080)


def _runtime_getattr(name):
    if name in spec.RUNTIME and not name.startswith("__"):
        return _not_emulated(f"cupy.cuda.runtime.{name}")
    raise AttributeError(f"module 'cupy.cuda.runtime' has no attribute '{name}'")


runtime.__getattr__ = _runtime_getattr


# --------------------------------------------------------------------------- devices

class Device:
    """``cupy.cuda.Device``: a context manager that makes the device current."""

    def __init__(self, device=None):
        self.id = getDevice() if device is None else int(device)
        self._prev = []

    def __enter__(self):
        prev = getDevice()
        setDevice(self.id)
        self._prev.append(prev)
        return self

    def __exit__(self, *exc):
        _local.device = self._prev.pop()

    def use(self):
        setDevice(self.id)

    def synchronize(self):
        if not 0 <= self.id < DEVICE_COUNT:
            raise _invalid_device()

    @property
    def compute_capability(self) -> str:
        return "90"

    @property
    def mem_info(self) -> tuple:
        return memGetInfo()

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(("Device", self.id))

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


# --------------------------------------------------------------------------- streams, events

def _current_streams() -> dict:
    streams = getattr(_local, "streams", None)
    if streams is None:
        streams = _local.streams = {}
    return streams


class Stream:
    """A stream handle; work on the emulated device is complete when issued."""

    null = None

    def __init__(self, null=False, non_blocking=False, ptr=None, priority=None):
        self.ptr = 0 if null else next(_handles) if ptr is None else int(ptr)
        self.device_id = -1 if null else getDevice()
        self.priority = priority or 0
        self._prev = []

    def __enter__(self):
        streams = _current_streams()
        dev = getDevice()
        self._prev.append((dev, streams.get(dev)))
        streams[dev] = self
        return self

    def __exit__(self, *exc):
        dev, prev = self._prev.pop()
        _current_streams()[dev] = prev

    def use(self):
        _current_streams()[getDevice()] = self
        return self

    def synchronize(self):
        pass

    @property
    def done(self) -> bool:
        return True

    def query(self) -> bool:
        return True

    def wait_event(self, event):
        if not isinstance(event, Event):
            raise TypeError(f"expected an Event, got {type(event)}")

    def record(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def is_capturing(self) -> bool:
        return False

    begin_capture = _not_emulated("CUDA graph capture (Stream.begin_capture)")
    end_capture = _not_emulated("CUDA graph capture (Stream.end_capture)")

    def __eq__(self, other):
        return isinstance(other, Stream) and (other.ptr, other.device_id) == (self.ptr,
                                                                              self.device_id)

    def __hash__(self):
        return hash((self.ptr, self.device_id))

    def __repr__(self):
        return f"<Stream {self.ptr} (device {self.device_id})>"


Stream.null = Stream(null=True)


class ExternalStream(Stream):
    def __init__(self, ptr, device_id=-1):
        super().__init__(ptr=ptr)
        self.device_id = device_id


def get_current_stream(device_id=None):
    dev = getDevice() if device_id is None else int(device_id)
    return _current_streams().get(dev) or Stream.null


class Event:
    """An event: recording stamps the host clock (work is done when issued)."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        if interprocess and not disable_timing:
            raise ValueError("Timing must be disabled for interprocess events")
        self.ptr = next(_handles)
        self._timing = not disable_timing
        self._time = None

    def record(self, stream=None):
        self._time = time.perf_counter()

    def synchronize(self):
        pass

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start: Event, end: Event) -> float:
    if not (start._timing and end._timing) or start._time is None or end._time is None:
        raise CUDARuntimeError(400, "cudaErrorInvalidResourceHandle: invalid resource handle")
    return (end._time - start._time) * 1000.0


# --------------------------------------------------------------------------- memory

class OutOfMemoryError(MemoryError):
    pass


class _Memory:
    def __init__(self, ptr, size, device_id, owner=None):
        self.ptr, self.size, self.device_id, self._owner = ptr, size, device_id, owner


class MemoryPointer:
    """A device pointer: on the emulated device, an address in host memory."""

    def __init__(self, mem, offset):
        self.mem, self.offset = mem, int(offset)
        self.ptr = mem.ptr + self.offset
        self.device_id = mem.device_id

    @classmethod
    def of_array(cls, array):
        a = array._a
        return cls(_Memory(a.__array_interface__["data"][0], a.nbytes, array._device, a), 0)

    def copy_from_host(self, src_ptr, size):
        ctypes.memmove(self.ptr, int(src_ptr), int(size))

    def copy_from_host_async(self, src_ptr, size, stream=None):
        self.copy_from_host(src_ptr, size)

    def copy_to_host(self, dst_ptr, size):
        ctypes.memmove(int(dst_ptr), self.ptr, int(size))

    def copy_to_host_async(self, dst_ptr, size, stream=None):
        self.copy_to_host(dst_ptr, size)

    def memset_async(self, value, size, stream=None):
        ctypes.memset(self.ptr, int(value), int(size))


def UnownedMemory(ptr, size, owner, device_id=None):  # noqa: N802
    return _Memory(ptr, size, getDevice() if device_id is None else device_id, owner)


class MemoryPool:
    """Counts nothing: device arrays are NumPy arrays, not pool allocations."""

    def malloc(self, size):
        buf = (ctypes.c_char * max(int(size), 1))()
        return MemoryPointer(_Memory(ctypes.addressof(buf), int(size), getDevice(), buf), 0)

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_bytes(self) -> int:
        return 0

    def free_all_blocks(self, stream=None):
        pass

    def n_free_blocks(self) -> int:
        return 0

    def set_limit(self, size=None, fraction=None):
        pass

    def get_limit(self) -> int:
        return 0


class PinnedMemoryPointer(bytearray):
    """Pinned host memory: a bytearray with the address of its buffer in ``ptr``."""

    @property
    def ptr(self) -> int:
        return ctypes.addressof((ctypes.c_char * len(self)).from_buffer(self)) if self else 0


def alloc_pinned_memory(size):
    return PinnedMemoryPointer(int(size))


_allocator = [None]


def set_allocator(allocator=None):
    _allocator[0] = allocator


def get_allocator():
    return _allocator[0]


memory = types.ModuleType("cupy.cuda.memory")
memory.__dict__.update(OutOfMemoryError=OutOfMemoryError, MemoryPointer=MemoryPointer,
                       MemoryPool=MemoryPool, UnownedMemory=UnownedMemory)


def is_available() -> bool:
    return DEVICE_COUNT > 0


def _not_emulated_class(name):
    def make(*args, **kwargs):
        raise NotImplementedError(f"cupy.cuda.{name} is not emulated by tests.fake_cupy")
    return make


Graph = _not_emulated_class("Graph")


# --------------------------------------------------------------------------- cupy._core

def _make_core():
    """``cupy._core`` with only ``_routines_linalg``'s GEMM compute-type switches."""
    real = spec._real._core._routines_linalg
    lin = types.ModuleType("cupy._core._routines_linalg")
    names = [n for n in dir(real) if n.startswith("COMPUTE_TYPE_")]
    lin.__dict__.update({n: getattr(real, n) for n in names})
    by_value = {getattr(real, n): n for n in names}
    types_ = {}
    lin.get_compute_type = lambda dtype: types_.get(np.dtype(dtype), real.COMPUTE_TYPE_DEFAULT)

    def set_compute_type(dtype, compute_type):
        if compute_type not in by_value:
            raise ValueError(f"Unknown compute type: {compute_type}")
        types_[np.dtype(dtype)] = compute_type

    lin.set_compute_type = set_compute_type
    lin.compute_type_to_str = lambda compute_type: by_value.get(compute_type,
                                                                 "COMPUTE_TYPE_UNKNOWN")
    core = types.ModuleType("cupy._core")
    core._routines_linalg = lin
    return core


core = _make_core()
