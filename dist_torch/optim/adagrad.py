"""optim.Adagrad: steps scaled by the root of the accumulated squared gradients."""

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

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    Accumulates ``s += g**2`` (state ``sum``, which starts at ``initial_accumulator_value``)
    and steps ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-2).
        lr_decay: learning rate decay (default 0).
        weight_decay: L2 penalty (default 0).
        initial_accumulator_value: starting value of the accumulated squares (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: maximize the objective instead of minimizing it.
        foreach, fused: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        _check_flags(foreach, fused, differentiable)
        super().__init__(params, defaults)
        for group in self.param_groups:
            self._lazy_state(group["params"], sum=initial_accumulator_value)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(foreach=None, maximize=False, differentiable=False, fused=None)

    def share_memory(self) -> None:
        """Kept for compatibility: dist_torch state needs no shared-memory move."""

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            # parameters added by add_param_group after construction get their state here
            sums, steps = self._lazy_state(
                params, sum=self.defaults["initial_accumulator_value"])
            _single_tensor_adagrad([p._data for p in params], [p._grad._data for p in params],
                                   sums, steps, lr=_to_scalar(group["lr"]),
                                   weight_decay=group["weight_decay"],
                                   lr_decay=group["lr_decay"], eps=group["eps"],
                                   maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_adagrad(params, grads, state_sums, steps, *, lr, weight_decay, lr_decay,
                           eps, maximize):
    """Adagrad's update on arrays, in place, in torch's order of operations."""
    for i, param in enumerate(params):
        xp = array_module(param)
        step_t = steps[i]
        step_t += 1
        step = float(step_t)
        d, owned = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        clr = lr / (1 + (step - 1) * lr_decay)
        scratch = xp.multiply(d, d, out=xp.empty_like(param))
        state_sums[i] += scratch
        std = xp.sqrt(state_sums[i], out=scratch)
        std += eps
        # param.addcdiv_(d, std, value=-clr): (-clr * d) / std
        update = d if owned else xp.empty_like(param)
        xp.multiply(d, -clr, out=update)
        update /= std
        param += update
