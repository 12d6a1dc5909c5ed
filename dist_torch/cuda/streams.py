"""torch.cuda streams and events over CuPy's.

Work is queued on the *current* stream of the current device (CuPy's current stream, which
every op uses). ``torch.cuda.stream(s)`` makes ``s`` current, and its device with it, for the
duration of a ``with`` block. Streams made here do not synchronize with the default stream (as
torch's pool streams); order work between them with ``wait_stream`` / events.
"""

from __future__ import annotations

from dist_torch._device import device as _device_cls
from dist_torch.backend import cuda as _backend
from dist_torch.cuda._utils import _get_device_index

__all__ = ["Stream", "ExternalStream", "Event", "StreamContext", "stream", "set_stream",
           "current_stream", "default_stream", "get_stream_from_external"]


def _index_of(device, what: str) -> int:
    _backend.require(what)
    index = _get_device_index(device, optional=True)
    _backend.check_index(index)
    return index


class Stream:
    """A CUDA stream: an ordered queue of GPU work (``torch.cuda.Stream``).

    Args:
        device: the device it belongs to (current device if None).
        priority: lower numbers run first; 0 is the default, negative is higher priority.

    Example::

        >>> s = torch.cuda.Stream()
        >>> s.wait_stream(torch.cuda.current_stream())
        >>> with torch.cuda.stream(s):
        ...     y = x * 2
        >>> torch.cuda.current_stream().wait_stream(s)
    """

    def __init__(self, device=None, priority: int = 0, **kwargs):
        index = _index_of(device, "torch.cuda.Stream")
        self._handle = _backend.new_stream(index, int(priority))
        self._index = index
        self._priority = int(priority)

    @classmethod
    def _wrap(cls, handle, index: int, priority: int = 0) -> Stream:
        out = cls.__new__(cls)
        out._handle, out._index, out._priority = handle, index, priority
        return out

    @property
    def cuda_stream(self) -> int:
        """The raw ``cudaStream_t`` as an int (0 for the default stream)."""
        return _backend.stream_ptr(self._handle)

    @property
    def device(self) -> _device_cls:
        return _device_cls("cuda", self._index)

    @property
    def device_index(self) -> int:
        return self._index

    @property
    def priority(self) -> int:
        return self._priority

    def wait_event(self, event: Event) -> None:
        """Make later work on this stream wait until ``event`` has happened."""
        event.wait(self)

    def wait_stream(self, stream: Stream) -> None:
        """Make later work on this stream wait for all work queued so far on ``stream``."""
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        """Record ``event`` (a new one if None) on this stream; returns it."""
        event = Event() if event is None else event
        event.record(self)
        return event

    def query(self) -> bool:
        """True when all work queued on this stream has finished."""
        return _backend.stream_query(self._handle)

    def synchronize(self) -> None:
        """Wait until all work queued on this stream has finished."""
        _backend.stream_synchronize(self._handle)

    def __cuda_stream__(self):
        return 0, self.cuda_stream

    def __enter__(self):
        self._ctx = StreamContext(self)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        return False

    def __eq__(self, other):
        return isinstance(other, Stream) and (self.cuda_stream, self._index) == \
            (other.cuda_stream, other._index)

    def __hash__(self):
        return hash((self.cuda_stream, self._index))

    def __repr__(self):
        return f"<torch.cuda.Stream device={self.device} cuda_stream={self.cuda_stream:#x}>"


class ExternalStream(Stream):
    """A stream made elsewhere (another library), given by its raw ``cudaStream_t``.

    The caller keeps it alive while it is used.
    """

    def __init__(self, stream_ptr: int, device=None, **kwargs):
        index = _index_of(device, "torch.cuda.ExternalStream")
        self._handle = _backend.external_stream(int(stream_ptr), index)
        self._index, self._priority = index, 0


def current_stream(device=None) -> Stream:
    """The stream work is queued on for ``device`` (current device if None)."""
    index = _index_of(device, "torch.cuda.current_stream()")
    return Stream._wrap(_backend.current_stream(index), index)


def default_stream(device=None) -> Stream:
    """The default (null) stream of ``device`` (current device if None)."""
    index = _index_of(device, "torch.cuda.default_stream()")
    return Stream._wrap(_backend.null_stream(), index)


def get_stream_from_external(data_ptr: int, device=None) -> Stream:
    """A :class:`Stream` for a ``cudaStream_t`` made by another library."""
    return ExternalStream(data_ptr, device)


class StreamContext:
    """Context manager that makes ``stream`` (and its device) current; no-op for None."""

    def __init__(self, stream: Stream | None):
        self.stream = stream
        self._device = None

    def __enter__(self):
        s = self.stream
        if s is None:
            return
        self._device = _backend.using_device(s._index)
        self._device.__enter__()
        try:
            _backend.enter_stream(s._handle)
        except BaseException:
            self._device.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb):
        if self.stream is None:
            return False
        try:
            _backend.exit_stream(self.stream._handle)
        finally:
            self._device.__exit__(None, None, None)
        return False


def stream(stream: Stream | None) -> StreamContext:
    """Context manager: queue the work of a ``with`` block on ``stream`` (no-op for None).

    Example::

        >>> s = torch.cuda.Stream()
        >>> with torch.cuda.stream(s):
        ...     y = model(x)
    """
    return StreamContext(stream)


def set_stream(stream: Stream | None) -> None:
    """Make ``stream`` current for its device (and its device current); None: no-op.

    Prefer the :func:`stream` context manager, which restores the previous stream.
    """
    if stream is None:
        return
    _backend.set_device(stream._index)
    _backend.set_current_stream(stream._handle)


class Event:
    """A CUDA event: a marker in a stream, to wait on or to time (``torch.cuda.Event``).

    Args:
        enable_timing: record timestamps, for :meth:`elapsed_time`.
        blocking: :meth:`synchronize` blocks the thread instead of spinning.
        interprocess: shareable with other processes.

    The CUDA event is created at the first :meth:`record`, on the device of that stream; before
    that, :meth:`query` is True and :meth:`wait` and :meth:`synchronize` do nothing, as torch.

    Example::

        >>> start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        >>> start.record(); y = model(x); end.record()
        >>> end.synchronize(); start.elapsed_time(end)   # milliseconds
    """

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False, external: bool = False):
        _backend.require("torch.cuda.Event")
        self.enable_timing = bool(enable_timing)
        self.blocking = bool(blocking)
        self.interprocess = bool(interprocess)
        self._handle = None
        self._index = None

    def record(self, stream: Stream | None = None) -> None:
        """Record on ``stream`` (the current stream if None)."""
        stream = current_stream() if stream is None else stream
        if self._handle is None:
            with _backend.using_device(stream._index):
                self._handle = _backend.new_event(self.enable_timing, self.blocking,
                                                  self.interprocess)
            self._index = stream._index
        elif stream._index != self._index:
            raise RuntimeError(f"Event device {self.device} does not match recording stream's "
                               f"device {stream.device}.")
        _backend.event_record(self._handle, stream._handle)

    def wait(self, stream: Stream | None = None) -> None:
        """Make later work on ``stream`` (current if None) wait for this event."""
        if self._handle is None:
            return
        stream = current_stream() if stream is None else stream
        _backend.stream_wait_event(stream._handle, self._handle)

    def query(self) -> bool:
        """True when the work recorded before this event has finished."""
        return True if self._handle is None else _backend.event_query(self._handle)

    def synchronize(self) -> None:
        """Wait until the work recorded before this event has finished."""
        if self._handle is not None:
            _backend.event_synchronize(self._handle)

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between this event and ``end_event`` (both recorded, timing on)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument "
                               "'enable_timing=True'.")
        if self._handle is None or end_event._handle is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return _backend.elapsed_ms(self._handle, end_event._handle)

    @property
    def device(self):
        return None if self._index is None else _device_cls("cuda", self._index)

    @property
    def cuda_event(self) -> int:
        return 0 if self._handle is None else _backend.event_ptr(self._handle)

    def __repr__(self):
        if self._handle is None:
            return "<torch.cuda.Event uninitialized>"
        return f"<torch.cuda.Event {self.cuda_event:#x}>"
