"""Gradient clipping by total norm or by value."""

from __future__ import annotations

import math

from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd.grad_mode import no_grad
from dist_torch.backend import array_module


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-dim tensor), as torch does.

    Example::

        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        from dist_torch._creation import tensor
        return tensor(0.0)
    xp = array_module(grads[0]._data)
    if math.isinf(norm_type):
        per_grad = [xp.abs(g._data).max() if g._data.size else xp.zeros((), g._data.dtype)
                    for g in grads]
        total = xp.max(xp.stack(per_grad))
    else:
        per_grad = [xp.linalg.norm(g._data.ravel(), ord=norm_type) for g in grads]
        total = xp.linalg.norm(xp.stack(per_grad), ord=norm_type)
    total = xp.asarray(total, dtype=grads[0]._data.dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g._data *= g._data.dtype.type(coef)
            g._bump_version()
    return _wrap(total)


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of :func:`clip_grad_norm_`."""
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = array_module(g._data)
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._bump_version()


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (as if all were one vector).

    Differentiable; an empty list gives ``tensor(0.)``.
    """
    from dist_torch._creation import tensor
    from dist_torch.ops.join import stack
    from dist_torch.ops.linalg_norm import vector_norm
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    if not tensors:
        return tensor(0.0)
    norm_type = float(norm_type)
    total = vector_norm(stack([vector_norm(t, norm_type) for t in tensors]), norm_type)
    if error_if_nonfinite and not bool(total.isfinite().all()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm: float, total_norm, foreach=None) -> None:
    """Scale gradients in place by ``min(max_norm / (total_norm + 1e-6), 1)``."""
    grads = _grads(parameters)
    if not grads:
        return
    with no_grad():
        coef = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(device=g.device, dtype=g.dtype))
