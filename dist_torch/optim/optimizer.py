"""optim.Optimizer: parameter groups, per-parameter state, state dicts and step hooks.

Subclasses implement ``step``: they gather, per group, the arrays of the parameters that have a
gradient and their state, and hand them to an array-level update function (``_single_tensor_*``
in each optimizer's module) that writes the new values in place.
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from collections.abc import Iterable
from copy import deepcopy
from itertools import chain

import numpy as np

from dist_torch import _dtype
from dist_torch import backend as _backend
from dist_torch._tensor import Tensor, _HookHandle, _wrap
from dist_torch.autograd.grad_mode import enable_grad

__all__ = ["Optimizer", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Marks a constructor default that every parameter group must give."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_step_pre_hooks: dict = {}
_global_step_post_hooks: dict = {}


def register_optimizer_step_pre_hook(hook):
    """Run ``hook(optimizer, args, kwargs)`` before every optimizer's ``step``; it may return
    ``(new_args, new_kwargs)``. Returns a handle with ``remove()``."""
    return _HookHandle(_global_step_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """Run ``hook(optimizer, args, kwargs)`` after every optimizer's ``step``."""
    return _HookHandle(_global_step_post_hooks, hook)


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(type(obj), "__module__", "") or ""
    name = type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


def _to_scalar(value):
    """A learning rate or other option as a Python number (Tensors hold one element)."""
    return value.item() if isinstance(value, Tensor) else value


def _check_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_adam_family(lr, betas, eps, weight_decay) -> None:
    """The argument checks Adam, AdamW, Adamax, RAdam and NAdam share, in torch's order."""
    _check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _check_flags(foreach, fused, differentiable) -> None:
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        raise NotImplementedError("differentiable=True is not supported by dist_torch "
                                  "optimizers (double backward is not implemented)")


def _scalar_dtype():
    """The dtype of the ``step`` counters: float64 when that is the default dtype."""
    return np.float64 if _dtype.get_default_dtype() == _dtype.float64 else np.float32


def _step_counter(like=None, value=0) -> Tensor:
    """A 0-dim step counter (or other 0-dim state) holding ``value``: on the host, or on the
    device of array ``like`` (capturable)."""
    xp = np if like is None else _backend.array_module(like)
    return _wrap(xp.full((), value, dtype=_scalar_dtype()))


def _with_step_hooks(step):
    """Wrap a class's ``step`` so that the global and per-instance step hooks run around it."""

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        # as in torch, the hooks see ``args`` with the optimizer itself first
        self = args[0]
        self._opt_called = True  # lets a scheduler see that optimizer.step() ran first
        if _global_step_pre_hooks or self._optimizer_step_pre_hooks:
            for hook in tuple(chain(_global_step_pre_hooks.values(),
                                    self._optimizer_step_pre_hooks.values())):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"{step} must return None or a tuple of (new_args, "
                                           f"new_kwargs), but got {result}.")
                    args, kwargs = result
        params = self.param_groups[0]["params"] if self.param_groups else ()
        # parameters on a GPU that is not the current one: step there (state too)
        with _backend.device_guard([p._data for p in params[:1]]):
            out = step(*args, **kwargs)
        if _global_step_post_hooks or self._optimizer_step_post_hooks:
            for hook in tuple(chain(self._optimizer_step_post_hooks.values(),
                                    _global_step_post_hooks.values())):
                hook(self, args, kwargs)
        return out

    wrapper._hooked = True
    return wrapper


class Optimizer:
    """Base class of all optimizers, as ``torch.optim.Optimizer``.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
            groups: ``{'params': [...], 'lr': ..., ...}``; options missing from a group are
            taken from ``defaults``).
        defaults: the default value of every optimization option.

    ``state`` maps each parameter to a dict of its optimizer state (moment buffers, step
    counters); ``param_groups`` lists the groups with their options.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = {}
        self._optimizer_step_post_hooks = {}
        self._optimizer_state_dict_pre_hooks = {}
        self._optimizer_state_dict_post_hooks = {}
        self._optimizer_load_state_dict_pre_hooks = {}
        self._optimizer_load_state_dict_post_hooks = {}
        self._patch_step_function()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def _patch_step_function(self) -> None:
        cls = type(self)
        if not getattr(cls.step, "_hooked", False):
            cls.step = _with_step_hooks(cls.step)

    # ------------------------------------------------------------------ pickling and printing

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            self.__dict__.setdefault(name, {})
        self._patch_step_function()
        self.defaults.setdefault("differentiable", False)

    def _setstate_groups(self, **options) -> None:
        """Fill options that older state dicts lack; make plain-number step counters Tensors."""
        for group in self.param_groups:
            for key, value in options.items():
                group.setdefault(key, value)
            for p in group["params"]:
                p_state = self.state.get(p, {})
                step = p_state.get("step")
                if step is not None and not isinstance(step, Tensor):
                    p_state["step"] = _wrap(np.asarray(float(step), dtype=_scalar_dtype()))

    def __repr__(self):
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    # ------------------------------------------------------------------ hooks

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)`` runs before
        each ``step``. Returns a handle with ``remove()``."""
        return _HookHandle(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        return _HookHandle(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer)`` runs before ``state_dict()`` builds its result."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict) -> None or state_dict`` runs after ``state_dict()``."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False):
        """``hook(optimizer, state_dict) -> None or state_dict`` runs before loading."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False):
        """``hook(optimizer)`` runs after ``load_state_dict``."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    @staticmethod
    def _register(registry: dict, hook, prepend: bool):
        handle = _HookHandle(registry, hook)
        if prepend:
            value = registry.pop(handle.id)
            rest = list(registry.items())
            registry.clear()
            registry[handle.id] = value
            registry.update(rest)
        return handle

    # ------------------------------------------------------------------ groups

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with ``'params'`` and optional options), e.g. to
        unfreeze layers during fine-tuning. Options it lacks come from the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for param in params:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names
        for param in tensors:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and \
                    not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len({id(p) for p in tensors}) != len(tensors):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to None (default), or to zeros in
        place with ``set_to_none=False``."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if grad.grad_fn is not None:
                        grad.detach_()
                    else:
                        grad.requires_grad_(False)
                    grad._data.fill(0)
                    grad._bump_version()

    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the
        loss (some optimizers need it). Returns the closure's loss."""
        raise NotImplementedError

    @staticmethod
    def _closure_loss(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------------ state dicts

    def state_dict(self) -> dict:
        """The optimizer's state as ``{'state': {index: {...}}, 'param_groups': [...]}``.

        Parameters are replaced by their position in the groups (counted across groups); the
        state's tensors are the optimizer's own (not copies), as in torch.
        """
        for hook in tuple(self._optimizer_state_dict_pre_hooks.values()):
            hook(self)
        index_of = {}
        packed_groups = []
        start = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start += len(packed["params"])
            packed_groups.append(packed)
        packed_state = {(index_of[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": packed_groups}
        for hook in tuple(self._optimizer_state_dict_post_hooks.values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict made by :meth:`state_dict` of an optimizer with the same groups.

        State tensors are moved to each parameter's device; floating ones take the
        parameter's dtype, except the ``step`` counters.
        """
        state_dict = state_dict.copy()
        for hook in tuple(self._optimizer_load_state_dict_pre_hooks.values()):
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        special_step = {}
        for g in state_dict["param_groups"]:
            for i in g["params"]:
                special_step[i] = bool(g.get("fused", False) or g.get("capturable", False))

        def cast(param, value, key=None, pid=None):
            if isinstance(value, Tensor):
                if key == "step":
                    if special_step.get(pid):
                        return value.to(dtype=_dtype.float32, device=param.device)
                    return value
                if param.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device)
                return value.to(device=param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, k, pid) for k, v in value.items()}
            if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
                return type(value)(cast(param, v, None, pid) for v in value)
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v, None, k)
            else:
                state[k] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for hook in tuple(self._optimizer_load_state_dict_post_hooks.values()):
            hook(self)

    # ------------------------------------------------------------------ helpers for subclasses

    def _cuda_graph_capture_health_check(self) -> None:
        """torch's check before a step that may be captured: a step captured into a CUDA graph
        needs ``capturable=True`` in every group (counters and bias corrections on the
        device); a capturable step run eagerly warns once that it is slower than needed."""
        capturing = _backend.capturing()
        if capturing and not all(g["capturable"] for g in self.param_groups):
            raise RuntimeError("Attempting CUDA graph capture of step() for an instance of "
                               f"{type(self).__name__} but param_groups' capturable is False.")
        if not capturing and not getattr(self, "_warned_capturable_if_run_uncaptured", False) \
                and all(g["capturable"] for g in self.param_groups) and _backend.cuda_available():
            warnings.warn("This instance was constructed with capturable=True or some of all "
                          "the param_groups came with capturable=True, but step() is running "
                          "without CUDA graph capture. If you never intend to graph-capture "
                          "this instance, capturable=True can impair performance, and you "
                          "should set capturable=False.", stacklevel=3)
            self._warned_capturable_if_run_uncaptured = True

    @staticmethod
    def _params_with_grad(group):
        """The parameters of ``group`` that have a gradient (the ones a step updates)."""
        return [p for p in group["params"] if p._grad is not None]

    def _lazy_state(self, params, *, step_on_device=False, scalars=None, **buffers):
        """The state of ``params`` as lists of arrays, made first for parameters with none.

        A new state holds, in this order: ``step``, a 0-dim counter (see ``_step_counter``; on
        the parameter's device when ``step_on_device``, else on the host); the 0-dim
        ``scalars`` (``{name: initial value}``, kept where the counter is); then the
        ``buffers`` (``name=fill value``: an array like the parameter; ``name=None``: not
        kept). Returns one list per buffer (empty when not kept), then one per scalar, then
        the counters' list, each in the order of ``params``.
        """
        scalars = scalars or {}
        kept = [name for name, fill in buffers.items() if fill is not None]
        for p in params:
            state = self.state[p]
            if len(state) == 0:
                data = p._data
                like = data if step_on_device else None
                state["step"] = _step_counter(like)
                for name, value in scalars.items():
                    state[name] = _step_counter(like, value)
                xp = _backend.array_module(data)
                for name in kept:
                    fill = buffers[name]
                    state[name] = _wrap(xp.zeros_like(data) if fill == 0
                                        else xp.full_like(data, fill))
        return ([[self.state[p][name]._data for p in params] if name in kept else []
                 for name in buffers]
                + [[self.state[p][name]._data for p in params] for name in scalars]
                + [[self.state[p]["step"]._data for p in params]])


def _bump_versions(params) -> None:
    for p in params:
        p._bump_version()


def _foreach_on_gpu(group, params, *states) -> bool:
    """Whether a step of ``group`` runs as the multi-tensor CUDA kernels (one launch per
    dtype): ``foreach`` is not False, every parameter array is a C-contiguous CuPy float32 or
    float64 array, and every state array (None allowed: not made yet) matches its parameter's
    dtype, shape, device and layout."""
    if group.get("foreach") is False or not params:
        return False
    for p in params:
        if not _backend.use_kernels(p, "optim") or not p.flags.c_contiguous:
            return False
    for arrays in states:
        for p, a in zip(params, arrays):
            if a is not None and not (_backend.use_kernels(a) and a.dtype == p.dtype
                                      and a.shape == p.shape and a.flags.c_contiguous
                                      and _backend.device_of(a) == _backend.device_of(p)):
                return False
    return True


def _kernel_grads(params, grads):
    """The gradients as the multi-tensor kernels read them: contiguous, in the parameter's
    dtype (a copy only where needed)."""
    xp = _backend.array_module(params[0]) if params else np
    return [g if g.flags.c_contiguous and g.dtype == p.dtype
            else xp.ascontiguousarray(g, dtype=p.dtype) for p, g in zip(params, grads)]


def _effective_grad(xp, param, grad, weight_decay, maximize):
    """``(d, owned)``: the gradient with L2 decay (and sign for maximize) folded in, as torch's
    ``grad.add(param, alpha=weight_decay)``; ``owned`` is True when ``d`` is a fresh array the
    caller may overwrite. Always an array, 0-dim parameters included."""
    if weight_decay == 0 and not maximize:
        return grad, False
    d = xp.empty_like(param)
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=d)
        if maximize:
            xp.subtract(d, grad, out=d)  # -g + wd * p
        else:
            d += grad
    else:
        xp.negative(grad, out=d)
    return d, True


def _addcdiv_(xp, param, tensor1, tensor2, value, scratch) -> None:
    """``param.addcdiv_(tensor1, tensor2, value=value)``: ``param += (value * t1) / t2``."""
    xp.multiply(tensor1, value, out=scratch)
    scratch /= tensor2
    param += scratch


def _lerp_(xp, start, end, weight, scratch) -> None:
    """``start.lerp_(end, weight)`` with torch's two formulas (exact at both ends)."""
    xp.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= 1 - weight
        xp.subtract(end, scratch, out=start)
