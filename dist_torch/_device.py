"""torch.device: where a tensor's storage lives ('cpu' or 'cuda:N'); the default device of
the factory functions (``set_default_device``, ``with torch.device(...):``)."""

from __future__ import annotations

import threading

_TYPES = ("cpu", "cuda")


class _DefaultDevice(threading.local):
    """Per thread, as in torch: ``current`` is the device factories use when given none (None:
    CPU, the fast path); ``stack`` holds what each ``with device(...)`` block replaced."""

    current = None

    def __init__(self):
        self.stack = []


_default = _DefaultDevice()


class device:  # noqa: N801 - torch spells it lowercase
    """A device: ``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``, ``device('cuda', 1)``.

    Equal devices compare equal and hash alike; ``str`` gives ``'cuda:1'``, ``repr`` gives
    ``device(type='cuda', index=1)`` as in torch.
    """

    __slots__ = ("type", "index")

    def __init__(self, type_or_str, index=None):
        if isinstance(type_or_str, device):
            if index is not None:
                raise ValueError("device(): an index cannot be given with a torch.device")
            self.type, self.index = type_or_str.type, type_or_str.index
            return
        if isinstance(type_or_str, int) and not isinstance(type_or_str, bool):
            type_or_str, index = "cuda", type_or_str
        if not isinstance(type_or_str, str):
            raise TypeError(f"device() expected a string or int, got {type(type_or_str).__name__}")
        kind, sep, num = type_or_str.partition(":")
        if kind not in _TYPES:
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type_or_str}")
        if sep:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type_or_str}")
            if not num.isdigit():
                raise RuntimeError(f"Invalid device string: '{type_or_str}'")
            index = int(num)
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = kind, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return device, (str(self),)

    def __enter__(self):
        """``with torch.device('cuda'):`` makes this the default device of the factory functions
        inside the block (see :func:`set_default_device`)."""
        _default.stack.append(_default.current)
        _default.current = self
        return self

    def __exit__(self, *exc):
        _default.current = _default.stack.pop()
        return False


CPU = device("cpu")
_Device = device  # the class, for functions whose argument is named ``device`` as in torch


def as_device(value) -> device:
    """Normalize a device argument (str, int, device or None -> cpu)."""
    if value is None:
        return CPU
    return value if isinstance(value, device) else device(value)


def default_or(value):
    """``value``, or the default device when ``value`` is None (None when that is the CPU
    default): what a factory that follows ``set_default_device`` passes on."""
    return _default.current if value is None else value


def set_default_device(device) -> None:
    """Make factory functions (``zeros``, ``tensor``, ``rand``, ... and layers' parameters)
    create tensors on ``device`` when they are given none; ``None`` restores the CPU.

    Functions that share memory with their input (``from_numpy``, ``frombuffer``) and the
    ``*_like`` functions are not affected, as in torch. The setting is per thread.

    Example::

        >>> torch.set_default_device('cuda')
        >>> torch.zeros(2).device
        device(type='cuda', index=0)
    """
    if device is None:
        _default.current = None
        return
    if isinstance(device, int) and not isinstance(device, bool):
        from dist_torch.backend import cuda_available
        if not cuda_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        device = _Device("cuda", device)
    target = device if isinstance(device, _Device) else _Device(device)
    _default.current = None if target == CPU else target


def get_default_device():
    """The device factory functions use when given none: ``cpu``, or the one set by
    :func:`set_default_device` / a ``with torch.device(...)`` block (``cuda`` without an index
    is reported with the current GPU's index, as in torch)."""
    current = _default.current
    if current is None:
        return CPU
    if current.type == "cuda" and current.index is None:
        from dist_torch.backend import cuda
        return _Device("cuda", cuda.current_device())
    return current
