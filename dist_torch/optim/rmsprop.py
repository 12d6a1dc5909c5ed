"""optim.RMSprop: gradient steps scaled by a running RMS of the gradient."""

from __future__ import annotations

from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_flags,
    _check_lr,
    _effective_grad,
    _lerp_,
    _to_scalar,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Keeps ``v = alpha * v + (1 - alpha) * g**2`` (``square_avg``) and steps
    ``p -= lr * g / (sqrt(v) + eps)``. ``centered`` subtracts the square of a running mean of
    ``g`` (``grad_avg``) from ``v``; ``momentum > 0`` accumulates the scaled steps in
    ``momentum_buffer``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance.
        maximize: maximize the objective instead of minimizing it.
        capturable, foreach: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        _check_flags(foreach, None, differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(momentum=0, centered=False, foreach=None, maximize=False,
                              differentiable=False, capturable=False)

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            momentum, centered = group["momentum"], group["centered"]
            square_avgs, bufs, grad_avgs, steps = self._lazy_state(
                params, square_avg=0, momentum_buffer=0 if momentum > 0 else None,
                grad_avg=0 if centered else None)
            _single_tensor_rmsprop([p._data for p in params], [p._grad._data for p in params],
                                   square_avgs, grad_avgs, bufs, steps,
                                   lr=_to_scalar(group["lr"]), alpha=group["alpha"],
                                   eps=group["eps"], weight_decay=group["weight_decay"],
                                   momentum=momentum, centered=centered,
                                   maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffers, steps, *,
                           lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """RMSprop's update on arrays, in place, in torch's order of operations."""
    for i, param in enumerate(params):
        xp = array_module(param)
        steps[i] += 1
        d, owned = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        square_avg = square_avgs[i]
        scratch = xp.empty_like(param)
        square_avg *= alpha
        xp.multiply(d, 1 - alpha, out=scratch)
        scratch *= d
        square_avg += scratch
        if centered:
            grad_avg = grad_avgs[i]
            _lerp_(xp, grad_avg, d, 1 - alpha, scratch)
            # square_avg.addcmul(grad_avg, grad_avg, value=-1): v + (-a) * a == v - a * a
            xp.multiply(grad_avg, grad_avg, out=scratch)
            xp.subtract(square_avg, scratch, out=scratch)
            avg = xp.sqrt(scratch, out=scratch)
        else:
            avg = xp.sqrt(square_avg, out=scratch)
        avg += eps
        if momentum > 0:
            buf = momentum_buffers[i]
            buf *= momentum
            if owned:
                d /= avg
                buf += d
                xp.multiply(buf, -lr, out=d)
                param += d
            else:
                xp.divide(d, avg, out=avg)
                buf += avg
                xp.multiply(buf, -lr, out=avg)
                param += avg
        else:
            # param.addcdiv_(d, avg, value=-lr): (-lr * d) / avg
            update = d if owned else xp.empty_like(param)
            xp.multiply(d, -lr, out=update)
            update /= avg
            param += update
