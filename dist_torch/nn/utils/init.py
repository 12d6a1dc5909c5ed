"""torch.nn.utils.skip_init."""

from __future__ import annotations

import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """Build ``module_cls(*args, **kwargs)`` whose parameters need not be initialized.

    dist_torch has no ``meta`` device, so the module is built directly on ``device`` (its
    values are the usual initialization rather than uninitialized memory).
    """
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs["device"] = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs)
