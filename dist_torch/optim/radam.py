"""optim.RAdam: Adam with the variance of the adaptive learning rate rectified."""

from __future__ import annotations

from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_adam_family,
    _check_flags,
    _effective_grad,
    _lerp_,
    _to_scalar,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam, as ``torch.optim.RAdam``.

    Adam whose adaptive step is multiplied by a rectification term once the length of the
    approximated simple moving average ``rho_t`` exceeds 5; before that it steps with the
    bias-corrected first moment alone (SGD with momentum).

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty, or with ``decoupled_weight_decay=True`` applied to the
            weights as in AdamW (default 0).
        maximize: maximize the objective instead of minimizing it.
        capturable: keeps ``step`` on the parameter's device, as torch; the update reads it
            on the host (the same numbers as ``capturable=False``).
        foreach: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_family(lr, betas, eps, weight_decay)
        _check_flags(foreach, None, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(foreach=None, maximize=False, differentiable=False,
                              decoupled_weight_decay=False, capturable=False)

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        self._cuda_graph_capture_health_check()
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            exp_avgs, exp_avg_sqs, steps = self._lazy_state(
                params, step_on_device=group["capturable"], exp_avg=0, exp_avg_sq=0)
            beta1, beta2 = group["betas"]
            _single_tensor_radam([p._data for p in params], [p._grad._data for p in params],
                                 exp_avgs, exp_avg_sqs, steps, beta1=_to_scalar(beta1),
                                 beta2=_to_scalar(beta2), lr=_to_scalar(group["lr"]),
                                 weight_decay=group["weight_decay"], eps=group["eps"],
                                 decoupled_weight_decay=group["decoupled_weight_decay"],
                                 maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_radam(params, grads, exp_avgs, exp_avg_sqs, steps, *, beta1, beta2, lr,
                         weight_decay, eps, decoupled_weight_decay, maximize):
    """RAdam's update on arrays, in place, in torch's order of operations."""
    rho_inf = 2 / (1 - beta2) - 1
    for i, param in enumerate(params):
        xp = array_module(param)
        step_t = steps[i]
        step_t += 1
        step = float(step_t)
        if weight_decay != 0 and decoupled_weight_decay:
            param *= 1 - lr * weight_decay
            d, _ = _effective_grad(xp, param, grads[i], 0, maximize)
        else:
            d, _ = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        scratch = xp.empty_like(param)
        _lerp_(xp, exp_avg, d, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        xp.multiply(d, 1 - beta2, out=scratch)
        scratch *= d
        exp_avg_sq += scratch
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        update = xp.divide(exp_avg, bias_correction1, out=scratch)
        update *= lr
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            # (bias_correction2 ** 0.5) / (sqrt(v) + eps): torch's scalar / tensor is
            # reciprocal(tensor) * scalar
            adaptive = xp.sqrt(exp_avg_sq, out=xp.empty_like(param))
            adaptive += eps
            xp.reciprocal(adaptive, out=adaptive)
            adaptive *= bias_correction2 ** 0.5
            update *= adaptive
            update *= ((rho_t - 4) * (rho_t - 2) * rho_inf
                       / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        param -= update
