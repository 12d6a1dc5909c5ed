"""optim.SGD: stochastic gradient descent with optional (Nesterov) momentum."""

from __future__ import annotations

from dist_torch import backend as _backend
from dist_torch._tensor import _wrap
from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_flags,
    _check_lr,
    _effective_grad,
    _foreach_on_gpu,
    _kernel_grads,
    _to_scalar,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    With momentum ``mu`` and dampening ``tau`` each step does
    ``b = mu * b + (1 - tau) * g`` (``b = g`` on the first step), then
    ``p -= lr * (g + mu * b if nesterov else b)``, where ``g`` is the gradient plus
    ``weight_decay * p`` (negated first when ``maximize``).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and zero dampening).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).

    Example::

        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_flags(foreach, fused, differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(nesterov=False, maximize=False, foreach=None,
                              differentiable=False, fused=False)

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            momentum = group["momentum"]
            bufs = None
            if momentum != 0:
                bufs = []
                for p in params:
                    buf = self.state[p].get("momentum_buffer")
                    bufs.append(None if buf is None else buf._data)
            arrays, grads = [p._data for p in params], [p._grad._data for p in params]
            update = _single_tensor_sgd
            if _foreach_on_gpu(group, arrays, bufs or ()):  # one kernel launch per dtype
                update, grads = _backend.kernels().sgd_step, _kernel_grads(arrays, grads)
            update(arrays, grads, bufs, lr=_to_scalar(group["lr"]), momentum=momentum,
                   dampening=group["dampening"], weight_decay=_to_scalar(group["weight_decay"]),
                   nesterov=group["nesterov"], maximize=group["maximize"])
            _bump_versions(params)
            if bufs is not None:
                for p, buf in zip(params, bufs):
                    state = self.state[p]
                    old = state.get("momentum_buffer")
                    if old is None or old._data is not buf:
                        state["momentum_buffer"] = _wrap(buf)
        return loss


def _single_tensor_sgd(params, grads, momentum_buffers, *, lr, momentum, dampening,
                       weight_decay, nesterov, maximize):
    """Update each array of ``params`` in place from ``grads``.

    ``momentum_buffers`` (a list, used when ``momentum != 0``) holds each parameter's buffer or
    None; new buffers are stored into it. The order of floating-point operations is torch's.
    """
    for i, param in enumerate(params):
        grad = grads[i]
        xp = array_module(param)
        d, owned = _effective_grad(xp, param, grad, weight_decay, maximize)
        if momentum != 0:
            buf = momentum_buffers[i]
            if buf is None:
                buf = d if owned and not nesterov else d.copy()
                momentum_buffers[i] = buf
            else:
                buf *= momentum
                if dampening == 0:
                    buf += d
                elif owned and not nesterov:
                    d *= 1 - dampening
                    buf += d
                else:
                    buf += xp.multiply(d, 1 - dampening)
            if nesterov:
                direction = xp.multiply(buf, momentum)
                direction += d
                owned = True
            else:
                direction, owned = buf, False
        else:
            direction = d
        if owned:
            direction *= -lr
            param += direction
        else:
            param += xp.multiply(direction, -lr)
