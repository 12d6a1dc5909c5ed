"""optim.NAdam: Adam with Nesterov momentum (and optional decoupled weight decay)."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import _wrap
from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _addcdiv_,
    _bump_versions,
    _check_adam_family,
    _check_flags,
    _effective_grad,
    _lerp_,
    _scalar_dtype,
    _to_scalar,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam, as ``torch.optim.NAdam``.

    Adam whose first moment is looked ahead with the momentum schedule
    ``mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``; the product of the ``mu_t``
    is kept in the state (``mu_product``).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty, or with ``decoupled_weight_decay=True`` applied to the
            weights as in AdamW (NAdamW) (default 0).
        momentum_decay: momentum decay ``psi`` (default 4e-3).
        maximize: maximize the objective instead of minimizing it.
        capturable: keeps ``step`` and ``mu_product`` on the parameter's device, as torch;
            the update reads them on the host (the same numbers as ``capturable=False``).
        foreach: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_family(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        _check_flags(foreach, None, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(maximize=False, foreach=None, capturable=False,
                              differentiable=False, decoupled_weight_decay=False)
        for p_state in self.state.values():
            value = p_state.get("mu_product") if isinstance(p_state, dict) else None
            if value is not None and not hasattr(value, "_data"):
                p_state["mu_product"] = _wrap(np.asarray(float(value), dtype=_scalar_dtype()))

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        self._cuda_graph_capture_health_check()
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            exp_avgs, exp_avg_sqs, mu_products, steps = self._lazy_state(
                params, step_on_device=group["capturable"], scalars={"mu_product": 1},
                exp_avg=0, exp_avg_sq=0)
            beta1, beta2 = group["betas"]
            _single_tensor_nadam([p._data for p in params], [p._grad._data for p in params],
                                 exp_avgs, exp_avg_sqs, mu_products, steps,
                                 beta1=_to_scalar(beta1), beta2=_to_scalar(beta2),
                                 lr=_to_scalar(group["lr"]), weight_decay=group["weight_decay"],
                                 momentum_decay=group["momentum_decay"], eps=group["eps"],
                                 decoupled_weight_decay=group["decoupled_weight_decay"],
                                 maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_nadam(params, grads, exp_avgs, exp_avg_sqs, mu_products, steps, *, beta1,
                         beta2, lr, weight_decay, momentum_decay, eps, decoupled_weight_decay,
                         maximize):
    """NAdam's update on arrays, in place, in torch's order of operations (``steps`` and
    ``mu_products`` are 0-dim arrays, updated here)."""
    for i, param in enumerate(params):
        xp = array_module(param)
        step_t = steps[i]
        step_t += 1
        step = float(step_t)
        bias_correction2 = 1 - beta2 ** step
        if weight_decay != 0 and decoupled_weight_decay:
            param *= 1 - lr * weight_decay
            d, _ = _effective_grad(xp, param, grads[i], 0, maximize)
        else:
            d, _ = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        mu_products[i] *= mu
        mu_product = float(mu_products[i])
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        scratch = xp.empty_like(param)
        _lerp_(xp, exp_avg, d, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        xp.multiply(d, 1 - beta2, out=scratch)
        scratch *= d
        exp_avg_sq += scratch
        denom = xp.divide(exp_avg_sq, bias_correction2, out=scratch)
        xp.sqrt(denom, out=denom)
        denom += eps
        update = xp.empty_like(param)
        _addcdiv_(xp, param, d, denom, -lr * (1.0 - mu) / (1.0 - mu_product), update)
        _addcdiv_(xp, param, exp_avg, denom, (-lr * mu_next) / (1.0 - mu_product * mu_next),
                 update)
