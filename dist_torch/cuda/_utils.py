"""Device-argument parsing shared by the torch.cuda modules (torch.cuda._utils)."""

from __future__ import annotations

from dist_torch._device import device as _device_cls
from dist_torch.backend import cuda as _backend


def _get_device_index(device, optional: bool = False, allow_cpu: bool = False) -> int:
    """The CUDA device index of ``device`` (an int, ``'cuda:N'``, a torch.device or None).

    ``None`` and an index-less ``'cuda'`` mean the current device when ``optional``; a CPU
    device is ``-1`` when ``allow_cpu`` and a ValueError otherwise, as in torch.
    """
    if isinstance(device, bool):
        raise ValueError(f"Expected a cuda device, but got: {device}")
    if isinstance(device, int):
        return device
    if isinstance(device, str):
        device = _device_cls(device)
    index = None
    if isinstance(device, _device_cls):
        if allow_cpu:
            if device.type not in ("cuda", "cpu"):
                raise ValueError(f"Expected a cuda or cpu device, but got: {device}")
        elif device.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {device}")
        index = -1 if device.type == "cpu" else device.index
    elif device is not None:
        from dist_torch.cuda import device as _cuda_device
        if isinstance(device, _cuda_device):
            return device.idx
        raise ValueError(f"Expected a torch.device with a specified index or an integer, but "
                         f"got:{device}")
    if index is None:
        if not optional:
            raise ValueError(f"Expected a torch.device with a specified index or an integer, "
                             f"but got:{device}")
        index = _backend.current_device()
    return index


def _device_or_current(device, what: str) -> int:
    """``_get_device_index(device, optional=True)`` after checking CUDA is there."""
    _backend.require(what)
    index = _get_device_index(device, optional=True)
    _backend.check_index(index)
    return index
