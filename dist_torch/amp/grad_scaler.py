"""torch.amp.GradScaler: dynamic loss scaling for float16 training.

``scale(loss)`` multiplies the loss by the scale; ``step(optimizer)`` unscales the gradients
(checking them for inf/NaN with one reduction per tensor, no per-element Python) and skips
``optimizer.step()`` when any is found; ``update()`` backs the scale off after a skipped step
and grows it after ``growth_interval`` clean steps in a row.
"""

from __future__ import annotations

import inspect
import warnings
from collections import abc, defaultdict
from enum import Enum
from typing import Any

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, _wrap
from dist_torch.backend import array_module, to_device
from dist_torch.backend import cuda as _cuda

__all__ = ["OptState", "GradScaler"]


class OptState(Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


def _full(value, np_dtype, device) -> Tensor:
    return _wrap(to_device(np.full((), value, dtype=np_dtype), device))


class _MultiDeviceReplicator:
    """Serves copies of a tensor per device, made lazily and cached."""

    def __init__(self, master: Tensor):
        self.master = master
        self._per_device_tensors: dict = {}

    def get(self, device) -> Tensor:
        out = self._per_device_tensors.get(device)
        if out is None:
            out = _wrap(to_device(self.master._data, device).copy())
            self._per_device_tensors[device] = out
        return out


def _non_finite_check_and_unscale_(grads, found_inf: Tensor, inv_scale: Tensor) -> None:
    """Multiply ``grads`` in place by ``inv_scale``; set ``found_inf`` to 1 if any holds inf or
    NaN. One ``isfinite().all()`` reduction per tensor; the flags stay on the device."""
    if not grads:
        return
    xp = array_module(grads[0]._data)
    inv = inv_scale._data
    flags = []
    for g in grads:
        a = g._data
        flags.append(xp.isfinite(a).all())
        if a.dtype.itemsize < 4:  # half / bfloat16: multiply in float32, round once
            a[...] = (a.astype(np.float32) * inv.astype(np.float32)).astype(a.dtype)
        else:
            xp.multiply(a, inv.astype(a.dtype), out=a)
        g._bump_version()
    bad = xp.logical_not(xp.stack(flags).all()).astype(np.float32)
    found_inf._data[...] = xp.maximum(found_inf._data, bad)


def _amp_update_scale_(scale: Tensor, growth_tracker: Tensor, found_inf: Tensor,
                       growth_factor: float, backoff_factor: float,
                       growth_interval: int) -> None:
    """torch._amp_update_scale_: back off after inf/NaN, grow after enough clean steps."""
    _cuda.check_not_capturing("GradScaler.update() (it reads found_inf on the host)")
    s, tracker = scale._data, growth_tracker._data
    if float(found_inf._data):
        s[...] = np.float32(float(s) * backoff_factor)
        tracker[...] = 0
        return
    successful = int(tracker) + 1
    if successful == growth_interval:
        with np.errstate(over="ignore"):
            new_scale = np.float32(float(s) * growth_factor)
        if np.isfinite(new_scale):
            s[...] = new_scale
        tracker[...] = 0
    else:
        tracker[...] = successful


class GradScaler:
    """Scales the loss so small float16 gradients do not flush to zero, and undoes it.

    Args:
        device: 'cuda' (default) or 'cpu'.
        init_scale: initial scale factor (default ``2.**16``).
        growth_factor: multiplies the scale after ``growth_interval`` clean steps (2.0).
        backoff_factor: multiplies the scale after a step with inf/NaN gradients (0.5).
        growth_interval: clean steps in a row before the scale grows (2000).
        enabled: if False, ``step`` just calls ``optimizer.step()`` and the rest do nothing.

    Example::

        scaler = torch.amp.GradScaler("cuda")
        for x, y in data:
            optimizer.zero_grad()
            with torch.autocast("cuda"):
                loss = loss_fn(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if self._device == "cuda":
            from dist_torch import cuda
            if enabled and not cuda.is_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available."
                              "  Disabling.", stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Tensor | None = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: Tensor | None = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _check_scale_growth_tracker(self, funcname: str):
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) earlier "
               "in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, dev) -> None:
        if self._growth_tracker is not None:
            raise AssertionError("_growth_tracker initialized before _scale")
        self._scale = _full(self._init_scale, np.float32, dev)
        self._growth_tracker = _full(self._init_growth_tracker, np.int32, dev)

    def scale(self, outputs):
        """Multiply a tensor (or an iterable of tensors) by the scale factor.

        Returns the outputs unchanged when the scaler is disabled.
        """
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * _wrap(to_device(self._scale._data, outputs.device))
        stash: list[_MultiDeviceReplicator] = []

        def apply_scale(val):
            if isinstance(val, Tensor):
                if not stash:
                    if self._scale is None:
                        self._lazy_init_scale_growth_tracker(val.device)
                    stash.append(_MultiDeviceReplicator(self._scale))
                return val * stash[0].get(val.device)
            if isinstance(val, abc.Iterable):
                iterable = map(apply_scale, val)
                if isinstance(val, (list, tuple)):
                    return type(val)(iterable)
                return iterable
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale: Tensor, found_inf: Tensor,
                        allow_fp16: bool) -> dict:
        per_device_inv_scale = _MultiDeviceReplicator(inv_scale)
        per_device_found_inf = _MultiDeviceReplicator(found_inf)
        groups: dict = defaultdict(lambda: defaultdict(list))
        for group in optimizer.param_groups:
            for param in group["params"]:
                if not isinstance(param, Tensor):
                    raise AssertionError(
                        f"expected param to be torch.Tensor, got {type(param).__name__}")
                grad = param._grad
                if grad is None:
                    continue
                if not allow_fp16 and grad.dtype is _dtype.float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                groups[grad.device][grad.dtype].append(grad)
        for device, per_dtype in groups.items():
            for grads in per_dtype.values():
                _non_finite_check_and_unscale_(grads, per_device_found_inf.get(device),
                                               per_device_inv_scale.get(device))
        return per_device_found_inf._per_device_tensors

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale (in place), checking for inf/NaN.

        Optional: call it before clipping or inspecting gradients; ``step`` calls it
        otherwise. At most once per optimizer between ``update`` calls.
        """
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # The reciprocal is taken in float64, as torch does, then rounded to float32.
        s = self._scale._data
        xp = array_module(s)
        inv_scale = _wrap(xp.asarray(1.0 / s.astype(np.float64), dtype=np.float32))
        found_inf = _full(0.0, np.float32, self._scale.device)
        optimizer_state["found_inf_per_device"] = self._unscale_grads_(
            optimizer, inv_scale, found_inf, False)
        optimizer_state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, optimizer_state, *args, **kwargs):
        retval = None
        _cuda.check_not_capturing("GradScaler.step() (it reads found_inf on the host to decide "
                                  "whether to step)")
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            retval = optimizer.step(*args, **kwargs)
        return retval

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless ``unscale_`` already ran) and call ``optimizer.step(*args,
        **kwargs)`` unless a gradient holds inf/NaN; returns what ``optimizer.step`` returned.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scale_growth_tracker("step")
        optimizer_state = self._per_optimizer_states[id(optimizer)]
        if optimizer_state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if getattr(optimizer, "_step_supports_amp_scaling", False):
            return self._step_scaling_optimizer(optimizer, optimizer_state, args, kwargs)
        if optimizer_state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(optimizer_state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, optimizer_state, *args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        return retval

    def _step_scaling_optimizer(self, optimizer, optimizer_state, args, kwargs):
        """Optimizers that unscale and skip by themselves get ``grad_scale``/``found_inf``."""
        has_kwarg = "grad_scaler" in inspect.signature(optimizer.step).parameters
        if has_kwarg:
            warnings.warn(
                "GradScaler is going to stop passing itself as a keyword argument to the passed "
                "optimizer. In the near future GradScaler registers `grad_scale: Tensor` and "
                "`found_inf: Tensor` to the passed optimizer and let the optimizer use them "
                "directly.", FutureWarning, stacklevel=3)
            kwargs = {**kwargs, "grad_scaler": self}
        else:
            if optimizer_state["stage"] is OptState.READY:
                self._check_inf_per_device(optimizer)
            scaler = self._scale
            found = [_wrap(to_device(t._data, scaler.device))
                     for t in optimizer_state["found_inf_per_device"].values()]
            optimizer.found_inf = sum(found[1:], found[0]) if found else None
            optimizer.grad_scale = (getattr(optimizer, "grad_scale", None)
                                    if optimizer_state["stage"] == OptState.UNSCALED
                                    else scaler * getattr(optimizer, "grad_scale", 1))
        retval = optimizer.step(*args, **kwargs)
        optimizer_state["stage"] = OptState.STEPPED
        if not has_kwarg:
            del optimizer.grad_scale
            del optimizer.found_inf
        return retval

    def update(self, new_scale=None) -> None:
        """Update the scale: the given ``new_scale``, or back off / grow from this iteration's
        inf checks. Call once per iteration, after ``step`` for every optimizer."""
        if not self._enabled:
            return
        _scale, _growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                self._scale._data[...] = new_scale
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if new_scale.device.type != self._device:
                    raise AssertionError(reason)
                if new_scale.numel() != 1:
                    raise AssertionError(reason)
                if new_scale.requires_grad is True:
                    raise AssertionError(reason)
                self._scale._data[...] = to_device(new_scale._data, _scale.device).reshape(())
        else:
            found_infs = [to_device(found_inf._data, _scale.device)
                          for state in self._per_optimizer_states.values()
                          for found_inf in state["found_inf_per_device"].values()]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            combined = found_infs[0].copy()
            for extra in found_infs[1:]:
                combined += extra
            _amp_update_scale_(_scale, _growth_tracker, _wrap(combined), self._growth_factor,
                               self._backoff_factor, self._growth_interval)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    def _get_scale_async(self):
        return self._scale

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if self._enabled:
            scale = self._get_scale_async()
            return self._init_scale if scale is None else scale.item()
        return 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return (self._init_growth_tracker if self._growth_tracker is None
                    else self._growth_tracker.item())
        return 0

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """scale, growth_factor, backoff_factor, growth_interval, _growth_tracker ({} when
        disabled). Take it after ``update()``."""
        if self._enabled:
            return {
                "scale": self.get_scale(),
                "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker(),
            }
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by :meth:`state_dict` (no-op when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale._data[...] = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker._data[...] = state_dict["_growth_tracker"]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning "
                                     "of an iteration, or at the end after scaler.update().")
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _check_inf_per_device(self, optimizer) -> dict:
        _scale, _ = self._check_scale_growth_tracker("_check_inf_per_device")
        dummy_inv_scale = _full(1.0, np.float32, _scale.device)
        found_inf = _full(0.0, np.float32, _scale.device)
        self._per_optimizer_states[id(optimizer)]["found_inf_per_device"] = (
            self._unscale_grads_(optimizer, dummy_inv_scale, found_inf, True))
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]

    def _found_inf_per_device(self, optimizer) -> dict:
        return self._per_optimizer_states[id(optimizer)]["found_inf_per_device"]
