"""torch.autocast: regions where listed ops run in a lower-precision dtype.

The op lists and the casting live in :mod:`dist_torch.amp._policy`; this module holds the
context manager / decorator and the custom autograd Function helpers.
"""

from __future__ import annotations

import collections.abc
import functools
import warnings

import numpy as np

from dist_torch import _dtype
from dist_torch.amp import _policy

__all__ = ["autocast_decorator", "autocast", "is_autocast_available", "custom_fwd",
           "custom_bwd"]


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can be used on ``device_type`` ('cpu', 'cuda', ...)."""
    return _policy.device_type(device_type) in _policy.AVAILABLE


def _cuda_unavailable() -> bool:
    from dist_torch import cuda
    return not cuda.is_available()


def autocast_decorator(autocast_instance, func):
    @functools.wraps(func)
    def decorate_autocast(*args, **kwargs):
        with autocast_instance:
            return func(*args, **kwargs)
    return decorate_autocast


class autocast:  # noqa: N801 - torch name
    """A region (context manager or decorator) where ops run in mixed precision.

    Ops on autocast's lists run in the lower-precision dtype (matmul, linear, conv, ...) or in
    float32 (losses, and on CUDA softmax, exp, norms, ...); others run in their inputs' dtype.
    The state is thread-local and per device type; regions nest, and
    ``autocast(..., enabled=False)`` switches it off inside one. Wrap only the forward pass
    and the loss: backward runs each op in the dtypes its forward used.

    Args:
        device_type: 'cuda' or 'cpu' (the ``type`` of a :class:`torch.device`).
        dtype: the lower-precision dtype; default ``torch.get_autocast_dtype(device_type)``
            (float16 on CUDA, bfloat16 on CPU).
        enabled: whether autocast is on in the region (default True).
        cache_enabled: whether casts of float32 parameters are cached inside the region
            (default: ``torch.is_autocast_cache_enabled()``).

    Example::

        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            loss = loss_fn(model(x), y)
        loss.backward()
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = _policy.get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = device_type
        if not is_autocast_available(self.device):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{self.device}'")
        supported = [_dtype.bfloat16, _dtype.float16]
        self._cache_enabled = (_policy.is_autocast_cache_enabled() if cache_enabled is None
                               else cache_enabled)
        if enabled:
            if self.device == "cuda":
                if _cuda_unavailable():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                                  "autocast.", stacklevel=2)
                    enabled = False
            elif self.fast_dtype not in supported:
                name = self.device.upper()
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{name} Autocast only supports dtypes of "
                    + ", ".join(map(str, supported)) + " currently.", stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self):
        self.prev_cache_enabled = _policy.is_autocast_cache_enabled()
        self.prev = _policy.is_autocast_enabled(self.device)
        self.prev_fastdtype = _policy.get_autocast_dtype(self.device)
        _policy.set_autocast_enabled(self.device, self._enabled)
        _policy.set_autocast_dtype(self.device, self.fast_dtype)
        _policy.autocast_increment_nesting()
        _policy.set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        # Drop the cache when leaving the outermost autocast region.
        if _policy.autocast_decrement_nesting() == 0:
            _policy.clear_autocast_cache()
        _policy.set_autocast_enabled(self.device, self.prev)
        _policy.set_autocast_dtype(self.device, self.prev_fastdtype)
        _policy.set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                f"Did you mean to use autocast as a context manager? For example:\n"
                f"    with torch.autocast(device_type=...):\n"
                f"        output = model(input)")
        return autocast_decorator(self, func)


def _cast(value, device_type: str, dtype):
    """Cast floating tensors (not float64) on ``device_type`` inside containers to ``dtype``."""
    from dist_torch._tensor import Tensor
    if isinstance(value, Tensor):
        eligible = (value.is_floating_point() and value.device.type == device_type
                    and value.dtype is not _dtype.float64)
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype)
                for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        iterable = (_cast(v, device_type, dtype) for v in value)
        return type(value)(iterable) if isinstance(value, (list, tuple)) else iterable
    return value


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorator for the ``forward`` of a custom autograd Function under autocast.

    With ``cast_inputs`` set, floating tensor inputs are cast to it and ``forward`` runs with
    autocast off (when called inside an autocast region); otherwise ``forward`` runs with the
    current autocast state, which :func:`custom_bwd` then restores for ``backward``.
    """
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = _policy.get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = _policy.is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        autocast_context = _policy.is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if autocast_context:
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, device_type, cast_inputs),
                           **_cast(kwargs, device_type, cast_inputs))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorator for the ``backward`` of a custom autograd Function: runs it with the autocast
    state its ``forward`` (decorated with :func:`custom_fwd`) saw."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast,
                      dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
