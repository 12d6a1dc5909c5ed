"""The CUDA backend: a guarded CuPy import, so that ``import dist_torch`` works without it.

Everything that names CuPy for ``dist_torch.cuda`` lives here: device queries, the memory
statistics behind ``torch.cuda.memory_*``, the per-device Philox seed states, and thin helpers
for streams, events and graph capture. ``dist_torch.cuda`` holds the handles these return and
never touches CuPy itself.
"""

from __future__ import annotations

import threading
import warnings
import weakref

import numpy as np

try:
    import cupy
except ImportError:  # no CuPy on this machine: every CUDA request gets a clear error
    cupy = None


class CudaUnavailableError(AssertionError, RuntimeError):
    """CUDA was asked for and is not there.

    A CPU-only torch build raises ``AssertionError('Torch not compiled with CUDA enabled')``
    and a CUDA build without a GPU raises ``RuntimeError``; this is both, so either ``except``
    clause written against torch catches it.
    """


_available = None
_reason = ""
_count = 0
_initialized = False


def available() -> bool:
    """True when CuPy imports and at least one GPU answers."""
    global _available, _reason, _count
    if _available is None:
        if cupy is None:
            _reason = "CuPy is not installed (pip install dist_torch[cuda])"
        else:
            try:
                _count = int(cupy.cuda.runtime.getDeviceCount())
            except Exception as err:  # CUDARuntimeError without a driver or GPU, and kin
                _reason = (f"no CUDA GPU is visible (CuPy is installed; the CUDA runtime "
                           f"says: {err})")
            else:
                if _count == 0:
                    _reason = "no CUDA GPU is visible (CuPy is installed)"
        _available = _count > 0
        if _available:
            _install_allocator()
            from dist_torch.backend import cuda_flags  # override CUPY_TF32 with torch's flags
            cuda_flags.sync()
    return _available


def unavailable_reason() -> str:
    """Why CUDA is not available ('' when it is)."""
    available()
    return _reason


def is_cupy_array(obj) -> bool:
    return cupy is not None and isinstance(obj, cupy.ndarray)


def require(what: str = "this operation"):
    """Raise the error a user sees when CUDA is asked for and not there."""
    global _initialized
    if not available():
        raise CudaUnavailableError(f"CUDA is not available for {what}: {_reason}")
    _initialized = True


def is_initialized() -> bool:
    """True once CUDA has been used in this process (as ``torch.cuda.is_initialized``)."""
    return _initialized


def to_gpu(array, index, copy=False):
    require("a CUDA tensor")
    index = cupy.cuda.runtime.getDevice() if index is None else index
    check_index(index)
    with cupy.cuda.Device(index):
        if isinstance(array, cupy.ndarray):
            if array.device.id == index and not copy:
                return array
            return array.copy(order="K")  # onto the current device, from any device
        return cupy.array(array, copy=True) if copy else cupy.asarray(array)


# --------------------------------------------------------------------------- devices

def device_count() -> int:
    return _count if available() else 0


def check_index(index: int) -> None:
    """torch's error for a device ordinal that no GPU answers to."""
    if not 0 <= index < _count:
        raise RuntimeError(f"CUDA error: invalid device ordinal (asked for cuda:{index}, "
                           f"{_count} CUDA device(s) visible)")


def current_device() -> int:
    require("torch.cuda.current_device()")
    return int(cupy.cuda.runtime.getDevice())


def peek_device() -> int:
    """The current device, without counting as a use of CUDA (for lazy seeding)."""
    return int(cupy.cuda.runtime.getDevice())


def set_device(index: int) -> None:
    require("torch.cuda.set_device()")
    check_index(index)
    cupy.cuda.runtime.setDevice(index)


def using_device(index: int):
    """A context manager that makes ``index`` the current device and restores the old one."""
    check_index(index)
    return cupy.cuda.Device(index)


def device_properties(index: int) -> dict:
    """The CUDA runtime's properties of device ``index`` (a dict, names as cudaDeviceProp)."""
    return cupy.cuda.runtime.getDeviceProperties(index)


def synchronize(index: int) -> None:
    check_not_capturing("torch.cuda.synchronize()")
    with cupy.cuda.Device(index):
        cupy.cuda.runtime.deviceSynchronize()


def mem_get_info(index: int) -> tuple:
    with cupy.cuda.Device(index):
        free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


def init() -> None:
    """Create the CUDA context of the current device now instead of at first use."""
    require("torch.cuda.init()")
    cupy.cuda.runtime.free(0)


# --------------------------------------------------------------------------- memory statistics
#
# Allocations go through CuPy's default MemoryPool, wrapped by ``_malloc`` (installed with
# cupy.cuda.set_allocator the first time CUDA is found available). Current usage is the pool's
# own count (used_bytes/total_bytes, O(1) atomics in CuPy >= 13); peaks are checked right after
# each allocation, which is exact because usage only rises at an allocation. A MemoryHook would
# also see frees, but hooks are per thread and cost a Python call on every free as well.
# While a thread captures a CUDA graph its allocations come from the graph's private pool
# (GraphPool), so that the graph's buffers are never handed to eager code or freed.

class _DeviceStats:
    __slots__ = ("peak_allocated", "peak_reserved", "num_alloc", "allocated_bytes", "num_ooms")

    def __init__(self):
        self.peak_allocated = self.peak_reserved = 0
        self.num_alloc = self.allocated_bytes = self.num_ooms = 0


class GraphPool:
    """The private memory pool of one or more CUDA graphs (``torch.cuda.graph_pool_handle``).

    Arrays allocated from it keep it alive; so does every graph captured into it.
    """

    def __init__(self):
        self.pool = cupy.cuda.MemoryPool()
        _graph_pools.add(self)

    def malloc(self, size):
        mp = self.pool.malloc(size)
        # UnownedMemory keeps (self, mp) alive as long as an array uses the block: the pool's
        # memory is released only when no graph and no array needs it.
        mem = cupy.cuda.UnownedMemory(mp.ptr, mp.mem.size, (self, mp), mp.device_id)
        return cupy.cuda.MemoryPointer(mem, 0)


_stats: dict = {}
_tls = threading.local()  # .pool / .stream: the graph pool and stream this thread captures on
_graph_pools: weakref.WeakSet = weakref.WeakSet()
_pool = None
_captures = 0  # threads capturing now: a cheap early-out for check_not_capturing


def _stats_of(index: int) -> _DeviceStats:
    st = _stats.get(index)
    if st is None:
        st = _stats[index] = _DeviceStats()
    return st


def _usage():
    """(used, reserved) bytes on the current device over the default and graph pools."""
    used, reserved = _pool.used_bytes(), _pool.total_bytes()
    if _graph_pools:
        for gp in tuple(_graph_pools):
            used += gp.pool.used_bytes()
            reserved += gp.pool.total_bytes()
    return used, reserved


def _malloc(size):
    gpool = getattr(_tls, "pool", None)
    try:
        mem = _pool.malloc(size) if gpool is None else gpool.malloc(size)
    except cupy.cuda.memory.OutOfMemoryError:
        _stats_of(cupy.cuda.runtime.getDevice()).num_ooms += 1
        raise
    st = _stats_of(mem.device_id)
    st.num_alloc += 1
    st.allocated_bytes += mem.mem.size
    used, reserved = _usage()
    if used > st.peak_allocated:
        st.peak_allocated = used
    if reserved > st.peak_reserved:
        st.peak_reserved = reserved
    return mem


def _install_allocator() -> None:
    global _pool
    if _pool is None:
        _pool = cupy.get_default_memory_pool()
        cupy.cuda.set_allocator(_malloc)


def memory_usage(index: int) -> tuple:
    """(allocated, reserved) bytes on device ``index`` now."""
    with cupy.cuda.Device(index):
        return _usage()


def memory_stats(index: int) -> dict:
    """torch.cuda.memory_stats' most-read keys for device ``index`` (sorted, as torch)."""
    used, reserved = memory_usage(index)
    st = _stats_of(index)
    st.peak_allocated = max(st.peak_allocated, used)
    st.peak_reserved = max(st.peak_reserved, reserved)
    stats = {
        "allocated_bytes.all.current": used,
        "allocated_bytes.all.peak": st.peak_allocated,
        "allocated_bytes.all.allocated": st.allocated_bytes,
        "allocated_bytes.all.freed": max(st.allocated_bytes - used, 0),
        # CuPy has no separate 'active' state (blocks waiting on another stream): active = used
        "active_bytes.all.current": used,
        "active_bytes.all.peak": st.peak_allocated,
        "reserved_bytes.all.current": reserved,
        "reserved_bytes.all.peak": st.peak_reserved,
        "allocation.all.allocated": st.num_alloc,
        "num_ooms": st.num_ooms,
    }
    return dict(sorted(stats.items()))


def reset_peaks(index: int) -> None:
    used, reserved = memory_usage(index)
    st = _stats_of(index)
    st.peak_allocated, st.peak_reserved = used, reserved


def reset_accumulated(index: int) -> None:
    st = _stats_of(index)
    st.num_alloc = st.allocated_bytes = st.num_ooms = 0


def empty_cache() -> None:
    """Return the default pool's unused blocks to the driver on every device.

    Graph pools are left alone (their graphs still use the memory), and nothing is freed while
    this thread captures (cudaFree is not permitted then).
    """
    if _pool is None or getattr(_tls, "stream", None) is not None:
        return
    for index in range(_count):
        with cupy.cuda.Device(index):
            _pool.free_all_blocks()


# --------------------------------------------------------------------------- seeds

DEFAULT_SEED = 67280421310721  # torch's default CUDA generator seed
_U64 = (1 << 64) - 1


class PhiloxState:
    """The random state of one CUDA device: a 64-bit seed and a Philox counter offset.

    Kernels that draw (dropout) take ``(seed, offset)`` from :meth:`next_seed_offset`, which
    advances the offset past the counters they use, as torch's philox_cuda_state does.
    """

    __slots__ = ("index", "seed", "offset")

    def __init__(self, index: int, seed: int = DEFAULT_SEED):
        self.index = index
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> None:
        self.seed, self.offset = int(seed) & _U64, 0

    def next_seed_offset(self, increment: int) -> tuple:
        """(seed, offset) for a kernel that uses ``increment`` 32-bit draws per thread."""
        offset = self.offset
        self.offset += _round4(increment)
        return self.seed, offset

    def next_philox(self, increment: int) -> tuple:
        """``(seed, offset, state)`` for a kernel drawing ``increment`` words per thread.

        Eagerly ``state`` is None. While this thread captures a CUDA graph, ``state`` is the
        graph's device array ``(seed, base offset)``, which each replay fills with this
        generator's current values before advancing them (as torch's philox_cuda_state), and
        ``offset`` is relative to that base; ``seed`` is then unused (0).
        """
        rec = _graph_rng(self)
        if rec is None:
            return self.next_seed_offset(increment) + (None,)
        offset = rec.increment
        rec.increment += _round4(increment)
        return 0, offset, rec.buffer

    def get_state(self) -> bytes:
        return self.seed.to_bytes(8, "little") + self.offset.to_bytes(8, "little")

    def set_state(self, raw: bytes) -> None:
        if len(raw) != 16:
            raise RuntimeError(f"RNG state is wrong size: expected 16 bytes, got {len(raw)}")
        self.seed = int.from_bytes(raw[:8], "little")
        self.offset = int.from_bytes(raw[8:], "little")


_philox: dict = {}


def _round4(increment) -> int:
    return -(-int(increment) // 4) * 4


class GraphRng:
    """The Philox draws of one CUDA graph on one device: the device array its kernels read
    ``(seed, base offset)`` from, and how far the graph advances the offset per replay."""

    __slots__ = ("state", "buffer", "increment")

    def __init__(self, state: PhiloxState, buffer):
        self.state, self.buffer, self.increment = state, buffer, 0

    def before_replay(self) -> None:
        """Fill the buffer with the generator's (seed, offset) on the current stream and move
        the generator past the graph's draws, so that every replay draws fresh numbers."""
        state = self.state
        self.buffer[0] = np.uint64(state.seed)  # scalar fills: kernels, no host buffer
        self.buffer[1] = np.uint64(state.offset & _U64)
        state.offset += self.increment


def _rng_buffer(index: int):
    # empty, not zeros: a memset made during capture would be a graph node, run at each
    # replay after the fills of GraphRng.before_replay
    with cupy.cuda.Device(index):
        return cupy.empty(2, dtype=np.uint64)


def _graph_rng(state: PhiloxState):
    """This capture's GraphRng of ``state``'s device (made on first use); None eagerly."""
    if not capturing():
        return None
    rngs = _tls.rng
    rec = rngs.get(state.index)
    if rec is None:
        rec = rngs[state.index] = GraphRng(state, _rng_buffer(state.index))
    return rec


def philox_state(index: int) -> PhiloxState:
    """The random state of device ``index`` (created at the default seed on first use)."""
    state = _philox.get(index)
    if state is None:
        state = _philox[index] = PhiloxState(index)
    return state


# --------------------------------------------------------------------------- streams and events

def new_stream(index: int, priority: int = 0):
    """A new stream on device ``index``; like torch's, it does not sync with the null stream."""
    with cupy.cuda.Device(index):
        if priority:
            return cupy.cuda.Stream(non_blocking=True, priority=priority)
        return cupy.cuda.Stream(non_blocking=True)


def external_stream(ptr: int, index: int):
    with warnings.catch_warnings():  # deprecated in CuPy 14 for from_external(protocol obj)
        warnings.simplefilter("ignore", DeprecationWarning)
        return cupy.cuda.ExternalStream(ptr, index)


def current_stream(index: int):
    return cupy.cuda.get_current_stream(index)


def null_stream():
    return cupy.cuda.Stream.null


def stream_ptr(stream) -> int:
    return int(stream.ptr)


def enter_stream(stream) -> None:
    """Make ``stream`` current on the current device (undone by :func:`exit_stream`)."""
    stream.__enter__()


def exit_stream(stream) -> None:
    stream.__exit__(None, None, None)


def set_current_stream(stream) -> None:
    stream.use()


def stream_wait_event(stream, event) -> None:
    stream.wait_event(event)


def stream_query(stream) -> bool:
    check_not_capturing("torch.cuda.Stream.query()")
    return bool(stream.done)


def stream_synchronize(stream) -> None:
    check_not_capturing("torch.cuda.Stream.synchronize()")
    stream.synchronize()


def new_event(enable_timing: bool, blocking: bool, interprocess: bool):
    return cupy.cuda.Event(block=blocking, disable_timing=not enable_timing,
                           interprocess=interprocess)


def event_ptr(event) -> int:
    return int(event.ptr)


def event_record(event, stream) -> None:
    event.record(stream)


def event_query(event) -> bool:
    check_not_capturing("torch.cuda.Event.query()")
    return bool(event.done)


def event_synchronize(event) -> None:
    check_not_capturing("torch.cuda.Event.synchronize()")
    event.synchronize()


def elapsed_ms(start, end) -> float:
    check_not_capturing("torch.cuda.Event.elapsed_time()")
    return float(cupy.cuda.get_elapsed_time(start, end))


# --------------------------------------------------------------------------- graph capture

_CAPTURE_MODES = {"global": "streamCaptureModeGlobal",
                  "thread_local": "streamCaptureModeThreadLocal",
                  "relaxed": "streamCaptureModeRelaxed"}
CAPTURE_ERROR = "CUDA error: operation not permitted when stream is capturing"


def capture_mode(name: str) -> int:
    if name not in _CAPTURE_MODES:
        raise RuntimeError(f"Unknown capture_error_mode '{name}': expected one of "
                           f"{', '.join(_CAPTURE_MODES)}")
    return getattr(cupy.cuda.runtime, _CAPTURE_MODES[name])


def capturing_stream():
    """The stream this thread captures on through :func:`begin_capture` (None if none)."""
    return getattr(_tls, "stream", None)


def stream_is_capturing(stream) -> bool:
    """Whether CUDA reports ``stream`` capturing (captures begun elsewhere included)."""
    if stream.ptr in (0, 1):  # the legacy null stream is never captured
        return False
    try:
        return bool(stream.is_capturing())
    except RuntimeError:  # querying is itself illegal in some capture modes
        return True


def capturing() -> bool:
    """True while this thread captures a CUDA graph (cheap: a counter test when none does).

    Ops that check values on the host (``bool(array)``, ``.item()``) skip those checks while
    capturing, as torch checks them in-kernel; uploads go through :func:`upload`.
    """
    return bool(_captures) and getattr(_tls, "stream", None) is not None


def check_not_capturing(what: str) -> None:
    """torch's error for a CPU sync while this thread captures a CUDA graph.

    Cheap: a counter test unless some thread is capturing. Ops that copy to the host can call
    it before syncing, so that the user sees this instead of an invalidated capture.
    """
    if _captures and getattr(_tls, "stream", None) is not None:
        raise RuntimeError(f"{CAPTURE_ERROR}: {what} waits for the GPU, which a CUDA graph "
                           "capture cannot do. Move it out of the captured region.")


def keep_alive(obj) -> None:
    """Keep ``obj`` alive as long as the graph being captured (a no-op when not capturing):
    for host or device buffers that captured work reads at every replay."""
    if capturing():
        _tls.keep.append(obj)


def upload(host_array):
    """A device copy of NumPy ``host_array`` on the current device, safe under capture.

    Eagerly this is ``cupy.asarray``. While capturing, the data is staged in a pinned host
    buffer that lives as long as the graph, and the copy is captured as an async memcpy from
    it, so that every replay copies the same values (CuPy's own staging buffer would be
    recycled after capture).
    """
    host = np.ascontiguousarray(host_array)
    if not capturing():
        return cupy.asarray(host)
    out = cupy.empty(host.shape, dtype=host.dtype)
    if host.nbytes:
        mem = cupy.cuda.alloc_pinned_memory(host.nbytes)
        np.frombuffer(mem, host.dtype, host.size).reshape(host.shape)[...] = host
        out.data.copy_from_host_async(mem.ptr, host.nbytes)
        _tls.keep.append(mem)
    return out


class Captured:
    """A captured CuPy graph with what its replays need: the buffers it reads (kept alive)
    and the RNG states whose (seed, offset) it reads from device memory."""

    __slots__ = ("graph", "kept", "rngs")

    def __init__(self, graph, kept, rngs):
        self.graph, self.kept, self.rngs = graph, kept, rngs

    def launch(self, stream) -> None:
        with stream:  # the RNG fills go to the replay stream, ahead of the graph
            for rec in self.rngs:
                rec.before_replay()
        self.graph.launch(stream)


def begin_capture(stream, pool: GraphPool, mode: int) -> None:
    global _captures
    if getattr(_tls, "stream", None) is not None:
        raise RuntimeError("this thread is already capturing a CUDA graph; end that capture "
                           "first")
    stream.begin_capture(mode)
    _tls.stream, _tls.pool, _tls.keep, _tls.rng = stream, pool, [], {}
    _captures += 1


def end_capture(stream) -> Captured:
    """End this thread's capture on ``stream``; returns the graph and its replay needs."""
    global _captures
    kept, rngs = _tls.keep, list(_tls.rng.values())
    try:
        return Captured(stream.end_capture(), kept, rngs)
    except RuntimeError as err:
        raise RuntimeError(f"CUDA graph capture failed: {err}. An operation in the captured "
                           "region synchronized with the host (.item(), .cpu(), printing a "
                           "CUDA tensor, torch.cuda.synchronize()) or used another stream "
                           "without waiting on it.") from None
    finally:
        _tls.stream = _tls.pool = _tls.keep = _tls.rng = None
        _captures -= 1


def graph_launch(graph, stream) -> None:
    """Replay ``graph`` (from :func:`end_capture`) on ``stream``."""
    graph.launch(stream)
