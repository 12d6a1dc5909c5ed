"""optim.Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _addcdiv_,
    _bump_versions,
    _check_adam_family,
    _check_flags,
    _effective_grad,
    _lerp_,
    _to_scalar,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, as ``torch.optim.Adamax``.

    Keeps ``m`` (``exp_avg``) as Adam and ``u = max(beta2 * u, |g| + eps)`` (``exp_inf``), and
    steps ``p -= lr / (1 - beta1**t) * m / u``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 2e-3).
        betas: coefficients of the running average and of the infinity norm
            (default (0.9, 0.999)).
        eps: added to ``|g|`` (default 1e-8).
        weight_decay: L2 penalty (default 0).
        maximize: maximize the objective instead of minimizing it.
        capturable: keeps ``step`` on the parameter's device, as torch; the update reads it
            on the host (the same numbers as ``capturable=False``).
        foreach: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_family(lr, betas, eps, weight_decay)
        _check_flags(foreach, None, differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(foreach=None, maximize=False, differentiable=False,
                              capturable=False)

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        self._cuda_graph_capture_health_check()
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            exp_avgs, exp_infs, steps = self._lazy_state(
                params, step_on_device=group["capturable"], exp_avg=0, exp_inf=0)
            beta1, beta2 = group["betas"]
            _single_tensor_adamax([p._data for p in params], [p._grad._data for p in params],
                                  exp_avgs, exp_infs, steps, eps=group["eps"],
                                  beta1=_to_scalar(beta1), beta2=_to_scalar(beta2),
                                  lr=_to_scalar(group["lr"]),
                                  weight_decay=group["weight_decay"],
                                  maximize=group["maximize"])
            _bump_versions(params)
        return loss


def _single_tensor_adamax(params, grads, exp_avgs, exp_infs, steps, *, eps, beta1, beta2, lr,
                          weight_decay, maximize):
    """Adamax's update on arrays, in place, in torch's order of operations."""
    for i, param in enumerate(params):
        xp = array_module(param)
        step_t = steps[i]
        step_t += 1
        d, _ = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        exp_avg, exp_inf = exp_avgs[i], exp_infs[i]
        scratch = xp.empty_like(param)
        _lerp_(xp, exp_avg, d, 1 - beta1, scratch)
        exp_inf *= beta2
        xp.absolute(d, out=scratch)
        scratch += eps
        xp.maximum(exp_inf, scratch, out=exp_inf)
        clr = lr / (1 - beta1 ** float(step_t))
        _addcdiv_(xp, param, exp_avg, exp_inf, -clr, scratch)
