"""optim.Adam: adaptive moment estimation (with AMSGrad and decoupled weight decay)."""

from __future__ import annotations

from dist_torch import backend as _backend
from dist_torch._tensor import Tensor
from dist_torch.backend import array_module
from dist_torch.optim.optimizer import (
    Optimizer,
    _bump_versions,
    _check_adam_family,
    _check_flags,
    _effective_grad,
    _foreach_on_gpu,
    _kernel_grads,
    _lerp_,
    _to_scalar,
)

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``.

    Keeps running averages ``m`` (``exp_avg``) and ``v`` (``exp_avg_sq``) of the gradient and
    its square and steps ``p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)``.

    Args:
        params: parameters or parameter groups to optimize.
        lr: learning rate (default 1e-3).
        betas: coefficients of the running averages (default (0.9, 0.999)).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty added to the gradient, or with
            ``decoupled_weight_decay=True`` applied to the weights as in AdamW (default 0).
        amsgrad: use the maximum of past ``v`` (AMSGrad; state ``max_exp_avg_sq``).
        maximize: maximize the objective instead of minimizing it.
        capturable: keep each ``step`` counter on its parameter's device and compute the bias
            corrections there, so that the step can be captured in a CUDA graph (a step
            captured with ``capturable=False`` raises). Unlike torch, CPU parameters are
            accepted too (the same arithmetic, with NumPy).
        foreach, fused: accepted for compatibility; the update is the same.
        differentiable: not supported (raises NotImplementedError when True).

    Example::

        >>> opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_adam_args(lr, betas, eps, weight_decay, foreach, capturable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        _check_flags(foreach, fused, differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._setstate_groups(amsgrad=False, maximize=False, foreach=None, capturable=False,
                              differentiable=False, fused=None,
                              decoupled_weight_decay=self.defaults.get(
                                  "decoupled_weight_decay", False))

    def step(self, closure=None):
        """Perform one optimization step; returns ``closure()``'s loss when given."""
        self._cuda_graph_capture_health_check()
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            params = self._params_with_grad(group)
            if not params:
                continue
            amsgrad, capturable = group["amsgrad"], group["capturable"]
            exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = self._lazy_state(
                params, step_on_device=capturable, exp_avg=0, exp_avg_sq=0,
                max_exp_avg_sq=0 if amsgrad else None)
            beta1, beta2 = group["betas"]
            arrays = [p._data for p in params]
            if _foreach_on_gpu(group, arrays, exp_avgs, exp_avg_sqs, max_exp_avg_sqs):
                grads = _kernel_grads(arrays, [p._grad._data for p in params])
                _kernel_adam(group, arrays, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps)
                _bump_versions(params)
                continue
            _single_tensor_adam([p._data for p in params], [p._grad._data for p in params],
                                exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                                amsgrad=amsgrad, beta1=_to_scalar(beta1),
                                beta2=_to_scalar(beta2), lr=_to_scalar(group["lr"]),
                                weight_decay=group["weight_decay"], eps=group["eps"],
                                maximize=group["maximize"],
                                decoupled_weight_decay=group["decoupled_weight_decay"],
                                capturable=capturable)
            _bump_versions(params)
        return loss


def _check_adam_args(lr, betas, eps, weight_decay, foreach, capturable) -> None:
    if isinstance(lr, Tensor):
        if foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
    _check_adam_family(lr, betas, eps, weight_decay)


def _kernel_adam(group, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps):
    """Adam's update as the multi-tensor CUDA kernel (one launch per dtype); ``steps`` are
    0-dim counters, incremented here (on the device when capturable: the kernel wrapper then
    computes the bias corrections there too)."""
    for step_t in steps:
        step_t += 1
    beta1, beta2 = group["betas"]
    _backend.kernels().adam_step(
        params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs,
        steps if group["capturable"] else [float(s) for s in steps],
        lr=_to_scalar(group["lr"]), beta1=_to_scalar(beta1), beta2=_to_scalar(beta2),
        eps=group["eps"], weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
        maximize=group["maximize"], decoupled_weight_decay=group["decoupled_weight_decay"])


def _single_tensor_adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *,
                        amsgrad, beta1, beta2, lr, weight_decay, eps, maximize,
                        decoupled_weight_decay, capturable=False):
    """Adam's update on arrays, in place (``steps`` are 0-dim counters, incremented here).

    ``capturable``: the bias corrections are computed from the counters as arrays, in their
    dtype (torch's capturable formula), never read back to the host."""
    for i, param in enumerate(params):
        xp = array_module(param)
        step_t = steps[i]
        step_t += 1
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        if weight_decay != 0 and decoupled_weight_decay:
            param *= 1 - lr * weight_decay
            d, owned = _effective_grad(xp, param, grads[i], 0, maximize)
        else:
            d, owned = _effective_grad(xp, param, grads[i], weight_decay, maximize)
        scratch = xp.empty_like(param)
        _lerp_(xp, exp_avg, d, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        xp.multiply(d, 1 - beta2, out=scratch)
        scratch *= d
        exp_avg_sq += scratch
        if amsgrad:
            xp.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])
            second = max_exp_avg_sqs[i]
        else:
            second = exp_avg_sq
        if capturable:
            _capturable_update(xp, param, exp_avg, second, step_t, beta1, beta2, lr, eps,
                               scratch)
            continue
        step = float(step_t)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        denom = xp.sqrt(second, out=scratch)
        denom /= bias_correction2_sqrt
        denom += eps
        # param.addcdiv_(exp_avg, denom, value=-step_size): (value * exp_avg) / denom
        update = d if owned else xp.empty_like(param)
        xp.multiply(exp_avg, -step_size, out=update)
        update /= denom
        param += update


def _capturable_update(xp, param, exp_avg, second, step_t, beta1, beta2, lr, eps, scratch):
    """``param += exp_avg / denom`` with torch's capturable arithmetic: the bias corrections
    are 0-dim arrays computed from the counter ``step_t`` in its dtype, on its device."""
    bias_correction1 = 1 - beta1 ** step_t
    bias_correction2 = 1 - beta2 ** step_t
    step_size_neg = -(lr / bias_correction1)
    bias_correction2_sqrt = xp.sqrt(bias_correction2)
    denom = xp.sqrt(second, out=scratch)
    denom /= (bias_correction2_sqrt * step_size_neg).astype(param.dtype)
    denom += (eps / step_size_neg).astype(param.dtype)
    param += exp_avg / denom
