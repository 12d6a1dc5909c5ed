"""optim.Adadelta: steps scaled by running RMS of past updates over that of gradients."""

from __future__ import annotations

from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_flags,
    _check_lr,
    _effective_grad,
    _to_scalar,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``.

    Keeps ``v = rho * v + (1 - rho) * g**2`` (``square_avg``), computes the update
    ``u = sqrt(a + eps) / sqrt(v + eps) * g``, then ``a = rho * a + (1 - rho) * u**2``
    (``acc_delta``) and ``p -= lr * u``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: coefficient that scales delta before it is applied (default 1.0).
        rho: coefficient of the running averages (default 0.9).
        eps: added inside the square roots (default 1e-6).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
        foreach, capturable: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        _check_flags(foreach, None, differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(foreach=None, maximize=False, differentiable=False,
                              capturable=False)

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            square_avgs, acc_deltas, steps = self._lazy_state(params, square_avg=0, acc_delta=0)
            _single_tensor_adadelta([p._data for p in params], [p._grad._data for p in params],
                                    square_avgs, acc_deltas, steps, lr=_to_scalar(group["lr"]),
                                    rho=group["rho"], eps=group["eps"],
                                    weight_decay=group["weight_decay"],
                                    maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_adadelta(params, grads, square_avgs, acc_deltas, steps, *, lr, rho, eps,
                            weight_decay, maximize):
    """Adadelta's update on arrays, in place, in torch's order of operations."""
    for i, param in enumerate(params):
        xp = array_module(param)
        steps[i] += 1
        d, _ = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        square_avg, acc_delta = square_avgs[i], acc_deltas[i]
        square_avg *= rho
        scratch = xp.multiply(d, 1 - rho, out=xp.empty_like(param))
        scratch *= d
        square_avg += scratch
        std = xp.add(square_avg, eps, out=scratch)
        xp.sqrt(std, out=std)
        delta = xp.add(acc_delta, eps, out=xp.empty_like(param))
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= d
        acc_delta *= rho
        xp.multiply(delta, 1 - rho, out=scratch)
        scratch *= delta
        acc_delta += scratch
        delta *= -lr
        param += delta
