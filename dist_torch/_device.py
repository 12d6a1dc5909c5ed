"""torch.device: where a tensor's storage lives ('cpu' or 'cuda:N')."""

from __future__ import annotations

_TYPES = ("cpu", "cuda")


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


CPU = device("cpu")


def as_device(value) -> device:
    """Normalize a device argument (str, int, device or None -> cpu)."""
    if value is None:
        return CPU
    return value if isinstance(value, device) else device(value)
